import { type Address, type Hex, zeroAddress } from 'viem'
import type { CairnClient } from './client.js'
import type { AttestationDeployment } from './deployment.js'
import { encryptPrivateInputs, type PrivateInputsContext } from './privacy.js'
import { getBalance, getMarket } from './readers.js'
import { type CreatedRequest, createRequest } from './requests.js'
import { getActiveMatcherKeys, type MatcherKey } from './tee.js'
import { balanceOf } from './tokens.js'
import { type Inputs, inlineInputs, inputsDigest, noInputs, type RequestParams, remoteInputs } from './types.js'
import { address, bps, hexBytes, InvalidParameterError, smallUint, uint } from './validation.js'

/** ProofMarketplace.MAX_REQUEST_LIFETIME: a deadline is at most this far from the request's creation. */
export const MAX_REQUEST_LIFETIME = 90 * 86_400
/** How long a request stays assignable when neither its matching expiry nor its deadline is given. */
export const DEFAULT_MATCHING_WINDOW = 600
/** The matcher's default trade-off: halfway between the cheapest and the fastest prover. */
export const DEFAULT_SPEED_PREFERENCE_BPS = 5_000

export type ScheduleParams = {
  /** Seconds the assigned prover gets from assignment to proof. */
  provingTime: number
  /** Unix time after which a proof is worthless (default: matchingExpiry + provingTime). */
  deadline?: number | bigint
  /** Unix time after which the request can no longer be assigned (default: deadline − provingTime, the latest). */
  matchingExpiry?: number | bigint
  /** Seconds from now the request stays assignable when neither time is given (default 600). */
  matchingWindow?: number
}

export type Schedule = { provingTime: number; matchingExpiry: number; deadline: number }

/**
 * A request's schedule from chain time `now`, with createRequest's rules checked here so that a bad schedule is
 * refused with a readable message before anything is sent: now < matchingExpiry, matchingExpiry + provingTime ≤
 * deadline, deadline ≤ now + 90 days.
 */
export function resolveSchedule(now: bigint, params: ScheduleParams): Schedule {
  const provingTime = smallUint('provingTime', params.provingTime, 32, 1)
  const given = (name: 'deadline' | 'matchingExpiry') =>
    params[name] === undefined ? undefined : smallUint(name, params[name], 32)
  let deadline = given('deadline')
  let matchingExpiry = given('matchingExpiry')
  if (matchingExpiry === undefined) {
    matchingExpiry =
      deadline === undefined
        ? Number(now) + smallUint('matchingWindow', params.matchingWindow ?? DEFAULT_MATCHING_WINDOW, 32, 1)
        : deadline - provingTime
  }
  deadline ??= matchingExpiry + provingTime
  if (BigInt(matchingExpiry) <= now) {
    throw new InvalidParameterError(
      'matchingExpiry',
      `${matchingExpiry} is not after chain time ${now}: the request could never be assigned` +
        (params.deadline === undefined ? '' : ` (the deadline leaves less than the proving time of ${provingTime}s)`),
    )
  }
  if (matchingExpiry + provingTime > deadline) {
    throw new InvalidParameterError(
      'deadline',
      `${deadline} is earlier than matchingExpiry ${matchingExpiry} + provingTime ${provingTime}: a late assignment would not leave the whole proving time`,
    )
  }
  const latest = now + BigInt(MAX_REQUEST_LIFETIME)
  if (BigInt(deadline) > latest) {
    throw new InvalidParameterError(
      'deadline',
      `${deadline} is more than 90 days after chain time ${now} (at most ${latest})`,
    )
  }
  return { provingTime, matchingExpiry, deadline }
}

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
  /** What createRequest was called with. */
  params: RequestParams
  /** The private inputs' encryption, when there were any. */
  encrypted?: EncryptedRequestInputs
}

/** A client that may carry the attestation deployment, which private inputs need. */
export type RequesterClient = CairnClient & { attestation?: AttestationDeployment }

/**
 * Posts a proof request with defaults from chain time (see resolveSchedule), checking the market exists and the
 * account can fund the escrow first. With private inputs, they are encrypted to all active matcher keys. The
 * escrow comes from the marketplace balance first, the shortfall through transferFrom (approved when needed).
 */
export async function requestProof(client: RequesterClient, params: ProofRequestParams): Promise<ProofRequest> {
  const marketId = uint('marketId', params.marketId, 32, 1n)
  const maxReward = uint('maxReward', params.maxReward, 96, 1n)
  const market = await getMarket(client, marketId)
  if (market.verifier === zeroAddress) throw new InvalidParameterError('marketId', `no market ${marketId}`)
  const now = (await client.public.getBlock({ blockTag: 'latest' })).timestamp
  const schedule = resolveSchedule(now, params)
  await checkFunds(client, market.paymentToken, maxReward)
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
  const created = await createRequest(client, request)
  return { ...created, params: request, ...(encrypted === undefined ? {} : { encrypted }) }
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

async function checkFunds(client: CairnClient, token: Address, required: bigint): Promise<void> {
  const account = client.wallet.account.address
  const marketplace = await getBalance(client, account, token)
  if (marketplace >= required) return
  const wallet = await balanceOf(client, token, account)
  if (marketplace + wallet < required) throw new InsufficientFundsError(token, required, { marketplace, wallet })
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
