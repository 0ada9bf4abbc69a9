import { type Address, type Hex, type TransactionReceipt, zeroAddress } from 'viem'
import type { CairnClient } from './client.js'
import type { AttestationDeployment } from './deployment.js'
import { DEFAULT_ACK_TIMEOUT_MS, type MatcherUnavailableError } from './order-stream.js'
import { submitToppingUp } from './order-top-up.js'
import type { OrderAccepted } from './orders.js'
import { encryptPrivateInputs, type PrivateInputsContext } from './privacy.js'
import { getBalance, getMarket } from './readers.js'
import { DEFAULT_SPEED_PREFERENCE_BPS, resolveSchedule, type ScheduleParams } from './request-params.js'
import { type CreatedRequest, createRequest, deposit } from './requests.js'
import { type PostedRequest, sendSignedRequest } from './signed-path.js'
import {
  postSignedRequest,
  type SignedRequestWithSignature,
  signedRequestState,
  signRequest,
} from './signed-requests.js'
import { getActiveMatcherKeys, type MatcherKey } from './tee.js'
import { balanceOf } from './tokens.js'
import {
  type Inputs,
  inlineInputs,
  inputsDigest,
  noInputs,
  type RequestParams,
  type RequestStatus,
  remoteInputs,
} from './types.js'
import { address, bps, hexBytes, InvalidParameterError, uint } from './validation.js'

export {
  DEFAULT_MATCHING_WINDOW,
  DEFAULT_SPEED_PREFERENCE_BPS,
  MAX_REQUEST_LIFETIME,
  resolveSchedule,
  type Schedule,
  type ScheduleParams,
} from './request-params.js'

/** The account cannot cover a request's escrow from its marketplace balance and wallet together. */
export class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError'
  constructor(
    readonly token: Address,
    readonly required: bigint,
    readonly available: { marketplace: bigint; wallet: bigint },
  ) {
    super(
      `the escrow needs ${required} of token ${token}, the account has ${available.marketplace} in its marketplace balance and ${available.wallet} in its wallet`,
    )
  }
}

export type PrivateInputsSetupErrorCode = 'NoAttestationDeployment' | 'NoActiveMatcherKey'

/** Private inputs cannot be encrypted: no attestation deployment to find matcher keys in, or no active key. */
export class PrivateInputsSetupError extends Error {
  override readonly name = 'PrivateInputsSetupError'
  constructor(
    readonly code: PrivateInputsSetupErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export type ProofRequestParams = ScheduleParams & {
  marketId: bigint | number
  /** Escrowed in full; the prover is paid its listed price and the rest is refunded. */
  maxReward: bigint
  /** 0 = the cheapest prover, 10 000 = the fastest (default 5 000). */
  speedPreferenceBps?: number
  /** Receives refunds and slash compensation (default: the client's account). */
  refundAddress?: Address
  /** Inline bytes, or inputs behind a URI (remoteInputs). */
  publicInputs: Hex | Inputs
  /**
   * Plaintext private inputs: encrypted to every active matcher key of the attestation deployment, bound to this
   * request (chain, marketplace, market, the client's account as requester, the public inputs; see
   * privateInputsContextFor). Needs the client to carry the attestation deployment (withAttestation).
   */
  privateInputs?: Uint8Array
  /**
   * Post only the envelope's digest and this URI instead of the envelope inline: the caller stores the envelope
   * (returned as encrypted.envelope) behind the URI.
   */
  privateInputsUri?: string
  /** Further ECIES recipients of the data key (64-byte x ‖ y keys), e.g. the requester's own. */
  extraRecipients?: readonly Hex[]
  /**
   * The matcher's HTTP base URL. With it (and `path` not 'onchain') the request is signed off chain and sent to the
   * matcher's order stream instead of posted with createRequest: see requestProof.
   */
  matcherUrl?: string
  /** 'onchain' forces createRequest even with a matcherUrl; 'signed' (the default with a matcherUrl) needs one. */
  path?: 'signed' | 'onchain'
  /** How long the matcher may take to acknowledge before the SDK posts the request on chain itself (default 5 s). */
  ackTimeoutMs?: number
  /** The signed request's nonce (default: nextNonce, the next of this process's random nonce word: ts/nonces.ts). */
  nonce?: bigint
}

export type EncryptedRequestInputs = {
  /** The envelope: posted inline, or to be stored behind `uri`. */
  envelope: Hex
  digest: Hex
  /** The data key; keep it to decrypt the inputs later, it is not posted anywhere. */
  dataKey: Hex
  /** The matcher keys the data key was wrapped to. */
  matchers: MatcherKey[]
  uri?: string
}

export type ProofRequest = CreatedRequest & {
  /** Posted with createRequest. */
  path: 'onchain'
  /** What createRequest was called with. */
  params: RequestParams
  /** The private inputs' encryption, when there were any. */
  encrypted?: EncryptedRequestInputs
}

/**
 * A request that went the signed path. `path` says how far it got: `signed` (the matcher acknowledged it, `accepted`,
 * and it is used when the matcher assigns it: follow it with waitForProof's `signed` option, which also posts it if it
 * stays unused; or the chain showed it used already, `used`) or `posted` (the matcher could not be asked, so it was
 * posted on chain, `posted`, an Open request like any other). Its id is known either way: signedRequestId.
 */
export type SignedProofRequest = {
  path: 'signed' | 'posted'
  requestId: bigint
  marketId: bigint
  requester: Address
  /** The request as signed (RequestParams plus requester and nonce) with its signature. */
  signed: SignedRequestWithSignature
  params: RequestParams
  encrypted?: EncryptedRequestInputs
  /** The matcher's acknowledgement (path 'signed'). */
  accepted?: OrderAccepted
  /** The on-chain status it had when the SDK found it used already (path 'signed' without an acknowledgement). */
  used?: RequestStatus
  /** Its RequestCreated record and receipt (path 'posted'). */
  posted?: PostedRequest
  /** Why the matcher was not used (path 'posted'). */
  unavailable?: MatcherUnavailableError
  /** The deposit sent first because the marketplace balance was short of maxReward. */
  deposited?: { amount: bigint; receipt: TransactionReceipt; approval: TransactionReceipt | undefined }
}

/** A client that may carry the attestation deployment, which private inputs need. */
export type RequesterClient = CairnClient & { attestation?: AttestationDeployment }

type OnchainParams = ProofRequestParams & ({ matcherUrl?: undefined } | { path: 'onchain' })

/**
 * Requests a proof with defaults from chain time (see resolveSchedule), checking the market exists and the account
 * can fund the escrow first. With private inputs, they are encrypted to all active matcher keys, bound to the client's
 * account as the requester (on both paths).
 *
 * Without `matcherUrl` (or with `path: 'onchain'`) it posts with createRequest: the escrow comes from the marketplace
 * balance first, the shortfall through transferFrom (approved when needed).
 *
 * With `matcherUrl`, the signed path: a signed request takes its escrow only from the marketplace balance (never
 * with transferFrom), so a shortfall is deposited first from the wallet (approving when needed; InsufficientFundsError
 * when both together fall short). The request is signed (a random nonce) and sent to the matcher. Acknowledged: it
 * returns with `path: 'signed'`. Refused (OrderRejectedError): thrown, nothing sent on chain; the matcher's message
 * says what is wrong. Unavailable or no acknowledgement within `ackTimeoutMs`: the same signed request (same id) is
 * posted on chain with postSignedRequest, `path: 'posted'`.
 */
export async function requestProof(client: RequesterClient, params: OnchainParams): Promise<ProofRequest>
export async function requestProof(
  client: RequesterClient,
  params: ProofRequestParams,
): Promise<ProofRequest | SignedProofRequest>
export async function requestProof(
  client: RequesterClient,
  params: ProofRequestParams,
): Promise<ProofRequest | SignedProofRequest> {
  const signedPath = params.matcherUrl !== undefined && params.path !== 'onchain'
  if (params.path === 'signed' && params.matcherUrl === undefined) {
    throw new InvalidParameterError('path', "'signed' needs the matcherUrl to send the signed request to")
  }
  const marketId = uint('marketId', params.marketId, 32, 1n)
  const maxReward = uint('maxReward', params.maxReward, 96, 1n)
  const market = await getMarket(client, marketId)
  if (market.verifier === zeroAddress) throw new InvalidParameterError('marketId', `no market ${marketId}`)
  const now = (await client.public.getBlock({ blockTag: 'latest' })).timestamp
  const schedule = resolveSchedule(now, params)
  const available = await checkFunds(client, market.paymentToken, maxReward)
  const publicInputs = publicInputsOf(params.publicInputs)
  const encrypted =
    params.privateInputs === undefined
      ? undefined
      : await encryptForMatchers(client, privateInputsContextFor(client, { marketId, publicInputs }), params)
  const request: RequestParams = {
    marketId: Number(marketId),
    maxReward,
    ...schedule,
    speedPreferenceBps: bps('speedPreferenceBps', params.speedPreferenceBps ?? DEFAULT_SPEED_PREFERENCE_BPS),
    refundAddress: address('refundAddress', params.refundAddress ?? client.wallet.account.address),
    publicInputs,
    privateInputs: privateInputsOf(encrypted),
  }
  const withEncrypted = encrypted === undefined ? {} : { encrypted }
  if (!signedPath || params.matcherUrl === undefined) {
    const created = await createRequest(client, request)
    return { ...created, path: 'onchain', params: request, ...withEncrypted }
  }
  // Signed first (its checks refuse a bad request before any transaction), then the deposit it will need.
  const signed = await signRequest(client, request, params.nonce)
  let deposited =
    available.marketplace >= maxReward
      ? undefined
      : await deposit(client, market.paymentToken, maxReward - available.marketplace)
  const matcherUrl = params.matcherUrl
  const orderOptions = { timeoutMs: params.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS }
  const outcome = await sendSignedRequest(signed, {
    submit: async (s) => {
      const topUp = async (amount: bigint) => {
        deposited = await deposit(client, market.paymentToken, amount)
      }
      const wallet = () => balanceOf(client, market.paymentToken, client.wallet.account.address)
      const balance = () => getBalance(client, client.wallet.account.address, market.paymentToken)
      return submitToppingUp(matcherUrl, s, orderOptions, { wallet, topUp, deposited: balance })
    },
    post: (s) => postSignedRequest(client, s),
    state: (r) => signedRequestState(client, r),
  })
  return {
    ...outcome,
    requestId: signed.requestId,
    marketId,
    requester: signed.request.requester,
    signed,
    params: request,
    ...withEncrypted,
    ...(deposited === undefined ? {} : { deposited }),
  }
}

/**
 * The request that private inputs are encrypted for when `client` posts them with `publicInputs` in `marketId`:
 * this chain and marketplace, the client's account as the requester (createRequest's sender, which RequestCreated
 * emits as `requester`) and the digest the marketplace commits to for the public inputs. Matchers and provers open
 * the envelope only under exactly this request, so encrypt with it and post from the same account.
 */
export function privateInputsContextFor(
  client: CairnClient,
  request: { marketId: bigint; publicInputs: Inputs },
): PrivateInputsContext {
  return {
    chainId: client.deployment.chainId,
    marketplace: client.deployment.contracts.proofMarketplace,
    marketId: request.marketId,
    requester: client.wallet.account.address,
    publicInputsDigest: inputsDigest(request.publicInputs),
  }
}

function publicInputsOf(inputs: Hex | Inputs): Inputs {
  if (typeof inputs === 'string') return inlineInputs(hexBytes('publicInputs', inputs, { nonEmpty: true }))
  if (inputs.data.length > 2 || inputs.uri !== '') return inputs
  throw new InvalidParameterError('publicInputs', 'a request needs public inputs, inline or behind a URI')
}

function privateInputsOf(encrypted: EncryptedRequestInputs | undefined): Inputs {
  if (encrypted === undefined) return noInputs
  return encrypted.uri === undefined ? inlineInputs(encrypted.envelope) : remoteInputs(encrypted.uri, encrypted.digest)
}

/** The account's marketplace balance, checked with its wallet to cover `required` (InsufficientFundsError). */
async function checkFunds(client: CairnClient, token: Address, required: bigint): Promise<{ marketplace: bigint }> {
  const account = client.wallet.account.address
  const marketplace = await getBalance(client, account, token)
  if (marketplace >= required) return { marketplace }
  const wallet = await balanceOf(client, token, account)
  if (marketplace + wallet < required) throw new InsufficientFundsError(token, required, { marketplace, wallet })
  return { marketplace }
}

async function encryptForMatchers(
  client: RequesterClient,
  context: PrivateInputsContext,
  params: ProofRequestParams,
): Promise<EncryptedRequestInputs> {
  const { attestation } = client
  if (attestation === undefined) {
    throw new PrivateInputsSetupError(
      'NoAttestationDeployment',
      'private inputs are encrypted to the attested matchers, which needs the attestation deployment (deployments/<chainId>.attestation.json): pass the client through withAttestation',
    )
  }
  if (params.privateInputsUri === '') throw new InvalidParameterError('privateInputsUri', 'must not be empty')
  const matchers = await getActiveMatcherKeys({ ...client, attestation })
  if (matchers.length === 0) {
    throw new PrivateInputsSetupError(
      'NoActiveMatcherKey',
      `no active matcher key in the TeeRegistry at ${attestation.contracts.teeRegistry}: nobody could decrypt the private inputs`,
    )
  }
  const keys = [...matchers.map(({ eciesPublicKey }) => eciesPublicKey), ...(params.extraRecipients ?? [])]
  const recipients = [...new Set(keys.map((key) => key.toLowerCase() as Hex))]
  const { envelope, digest, dataKey } = encryptPrivateInputs({
    plaintext: params.privateInputs ?? new Uint8Array(),
    context,
    recipients,
  })
  return {
    envelope,
    digest,
    dataKey,
    matchers,
    ...(params.privateInputsUri === undefined ? {} : { uri: params.privateInputsUri }),
  }
}
