import {
  type Address,
  type Hex,
  hexToBigInt,
  hexToBytes,
  isAddressEqual,
  keccak256,
  recoverAddress,
  size,
  slice,
  zeroAddress,
  zeroHash,
} from 'viem'
import type { OrderBody } from '../../ts/orders.js'
import type { PrivateInputsContext } from '../../ts/privacy.js'
import { isBehindUri } from '../../ts/request-inputs.js'
import { type Inputs, inputsDigest, requestInputsDigest } from '../../ts/types.js'
import { hasPrivateInputs } from './chain.js'

/*
 * The intake checks of a signed order (POST /orders), pure over a port to the chain read at the matcher's synced head.
 * They run in the order and with the meaning of the marketplace's own (SignedRequestModule._use: _checkTerms with
 * _checkSchedule and _inputsDigest, then _checkSignature, the nonce, the id, the balance), and reuse its error names as
 * rejection codes, so an order refused here would revert there and one accepted here would be used, unless the chain
 * changes between (a deposit withdrawn, a nonce invalidated, a wallet that changes its answer): the batch's simulation
 * catches those (signed-batches.ts). Beyond the contract: `ExpiresTooSoon` (matching expiry within
 * --min-time-to-expiry) and the matcher's own check of inline private inputs (the envelope opens with its wrap under
 * the signed request's context).
 */

/** A refusal: HTTP status, code (ts/orders.ts), a sentence saying what to do, and the figures. */
export type OrderFailure = { status: number; code: string; message: string; details?: Record<string, string> }

/** What the checks read from the chain, at the matcher's synced head. */
export type OrderChainView = {
  /** The market's verifier and payment token; undefined when the market does not exist. */
  market: (marketId: bigint) => Promise<{ verifier: Address; paymentToken: Address } | undefined>
  validatePublicInputs: (verifier: Address, data: Hex) => Promise<boolean>
  /** Whether the account has code (then its signature is checked by ERC-1271). */
  hasCode: (account: Address) => Promise<boolean>
  /**
   * isValidSignature(digest, signature) called on the wallet as the marketplace calls it (a staticcall from the
   * marketplace) within a gas cap: the raw return data, or undefined when it reverted or ran out of gas.
   */
  isValidSignature: (wallet: Address, digest: Hex, signature: Hex) => Promise<Hex | undefined>
  nonceWord: (requester: Address, wordPos: bigint) => Promise<bigint>
  /** The stored RequestStatus (0 = None). */
  requestStatus: (requestId: bigint) => Promise<number>
  balance: (account: Address, token: Address) => Promise<bigint>
}

/** ProofMarketplace.MAX_REQUEST_LIFETIME (MarketplaceBase): a deadline at most this far from its use. */
export const MAX_REQUEST_LIFETIME = 90 * 86_400

/** bytes4(keccak256("isValidSignature(bytes32,bytes)")), left-aligned in the 32-byte word an ERC-1271 wallet returns. */
export const ERC1271_MAGIC_WORD: Hex = '0x1626ba7e00000000000000000000000000000000000000000000000000000000'

const fail = (status: number, code: string, message: string, details?: Record<string, string>): OrderFailure =>
  details === undefined ? { status, code, message } : { status, code, message, details }
const invalid = (code: string, message: string, details?: Record<string, string>) => fail(422, code, message, details)

/** _checkSchedule at chain time `now`, then ExpiresTooSoon against `minTimeToExpiry`. */
export function scheduleFailure(
  request: Pick<OrderBody['request'], 'provingTime' | 'matchingExpiry' | 'deadline'>,
  now: number,
  minTimeToExpiry: number,
): OrderFailure | undefined {
  const { provingTime, matchingExpiry, deadline } = request
  const times = { now: String(now), deadline: String(deadline), matchingExpiry: String(matchingExpiry) }
  if (provingTime === 0) return invalid('ZeroProvingTime', 'provingTime is 0: give the prover time to prove')
  if (deadline <= now) return invalid('DeadlineInPast', 'the deadline has passed: sign a later one', times)
  const latest = now + MAX_REQUEST_LIFETIME
  if (deadline > latest) {
    return invalid('DeadlineTooFar', `the deadline is more than ${MAX_REQUEST_LIFETIME} s away: sign a nearer one`, {
      ...times,
      latestDeadline: String(latest),
    })
  }
  if (deadline - now < provingTime) {
    return invalid('DeadlineShorterThanProvingTime', 'less than provingTime is left before the deadline', times)
  }
  if (matchingExpiry < now) return invalid('MatchingExpiryInPast', 'the matching expiry has passed', times)
  if (matchingExpiry > deadline - provingTime) {
    return invalid('MatchingExpiryTooLate', 'matchingExpiry must be at most deadline - provingTime', {
      ...times,
      latestExpiry: String(deadline - provingTime),
    })
  }
  if (matchingExpiry < now + minTimeToExpiry) {
    return invalid(
      'ExpiresTooSoon',
      `the matching expiry is less than ${minTimeToExpiry} s away: the matcher could not assign it in time; sign a later one`,
      { ...times, minTimeToExpiry: String(minTimeToExpiry) },
    )
  }
  return undefined
}

/** _inputsDigest's rules for one part: inline bytes must match a given digest; a URI needs a digest and back. */
export function inputsFailure(inputs: Inputs, part: 'publicInputs' | 'privateInputs'): OrderFailure | undefined {
  if (inputs.data !== '0x') {
    const digest = keccak256(inputs.data)
    if (inputs.digest !== zeroHash && inputs.digest !== digest) {
      return invalid('InputsDigestMismatch', `${part}.digest is not keccak256 of ${part}.data: leave it zero`, {
        given: inputs.digest,
        computed: digest,
      })
    }
    return undefined
  }
  if ((inputs.digest !== zeroHash) !== (inputs.uri !== '')) {
    return invalid('MissingInputs', `${part} behind a URI needs both the uri and the digest of its bytes`)
  }
  return undefined
}

/** _checkTerms without the market (checked first, from the chain) and the verifier's view. */
export function termsFailure(
  request: OrderBody['request'],
  now: number,
  minTimeToExpiry: number,
): OrderFailure | undefined {
  if (request.maxReward === 0n) return invalid('ZeroReward', 'maxReward is 0: offer a reward')
  if (request.refundAddress === zeroAddress) return invalid('ZeroAddress', 'refundAddress is the zero address')
  if (request.speedPreferenceBps > 10_000) {
    return invalid('SpeedPreferenceOutOfRange', 'speedPreferenceBps is at most 10000', {
      speedPreferenceBps: String(request.speedPreferenceBps),
    })
  }
  const schedule = scheduleFailure(request, now, minTimeToExpiry)
  if (schedule !== undefined) return schedule
  if (inputsDigest(request.publicInputs) === zeroHash) {
    return invalid('MissingInputs', 'publicInputs are missing: inline data, or a uri and its digest')
  }
  return inputsFailure(request.publicInputs, 'publicInputs') ?? inputsFailure(request.privateInputs, 'privateInputs')
}

/** ECDSA as the ecrecover precompile under solady's SignatureCheckerLib: 65 bytes (v 27 or 28) or 64 (EIP-2098). */
export async function ecdsaSigner(digest: Hex, signature: Hex): Promise<Address | undefined> {
  const length = size(signature)
  let r: Hex
  let s: bigint
  let v: number
  if (length === 65) {
    r = slice(signature, 0, 32)
    s = hexToBigInt(slice(signature, 32, 64))
    v = hexToBytes(signature)[64] ?? 0
  } else if (length === 64) {
    r = slice(signature, 0, 32)
    const vs = hexToBigInt(slice(signature, 32, 64))
    v = Number(vs >> 255n) + 27
    s = vs & ((1n << 255n) - 1n)
  } else {
    return undefined
  }
  if (v !== 27 && v !== 28) return undefined
  try {
    const sHex = `0x${s.toString(16).padStart(64, '0')}` as Hex
    return await recoverAddress({ hash: digest, signature: { r, s: sHex, yParity: v - 27 } })
  } catch {
    return undefined
  }
}

/** Whether `signature` is `requester`'s own ECDSA signature of `digest` (MarketplaceBase._isRequesterSignature's first check). */
export async function ecdsaSigns(requester: Address, digest: Hex, signature: Hex): Promise<boolean> {
  const signer = await ecdsaSigner(digest, signature)
  return signer !== undefined && isAddressEqual(signer, requester)
}

/**
 * MarketplaceBase._isRequesterSignature: the requester's own ECDSA signature; failing that, for an account with code,
 * ERC-1271 (capped, from the marketplace's address).
 */
export async function signatureValid(
  chain: Pick<OrderChainView, 'hasCode' | 'isValidSignature'>,
  requester: Address,
  digest: Hex,
  signature: Hex,
): Promise<boolean> {
  if (requester === zeroAddress) return false
  if (await ecdsaSigns(requester, digest, signature)) return true
  if (!(await chain.hasCode(requester))) return false
  const answer = await chain.isValidSignature(requester, digest, signature)
  return answer !== undefined && size(answer) >= 32 && slice(answer, 0, 32) === ERC1271_MAGIC_WORD
}

/** The deposit rule: the balance covers this order and every other acknowledged, unused order of the same token. */
export function depositFailure(params: {
  balance: bigint
  committed: bigint
  maxReward: bigint
  token: Address
}): OrderFailure | undefined {
  const { balance, committed, maxReward, token } = params
  if (balance >= committed + maxReward) return undefined
  return invalid(
    'InsufficientDeposit',
    'the requester’s marketplace balance does not cover maxReward on top of its other pending orders: deposit more (ProofMarketplace.deposit) or wait for them to be used',
    {
      token,
      balance: balance.toString(),
      committed: committed.toString(),
      needed: (committed + maxReward).toString(),
    },
  )
}

export type CheckedOrder = {
  requestId: bigint
  digest: Hex
  paymentToken: Address
  /** The requester's balance at the head: the store checks it against its other orders when it takes the order. */
  balance: bigint
}

export type CheckParams = {
  chain: OrderChainView
  /** Chain time of the synced head. */
  now: number
  minTimeToExpiry: number
  /** The request's EIP-712 digest and derived id (ts/signed-requests.ts). */
  digest: Hex
  requestId: bigint
  /** Opens an inline private-input envelope under the request's context; throws a coded error when it does not. */
  checkEnvelope: (
    envelope: Uint8Array,
    context: Pick<PrivateInputsContext, 'requester' | 'marketId'> & {
      publicInputsDigest: Hex
      inputsDigest: Hex
    },
  ) => void
}

/** Every intake check but the deposit's last step (the store's, against its other orders); the first failure. */
export async function checkOrder(order: OrderBody, params: CheckParams): Promise<CheckedOrder | OrderFailure> {
  const { request, signature } = order
  const { chain, now } = params
  const market = await chain.market(BigInt(request.marketId))
  if (market === undefined) {
    return invalid('UnknownMarket', `market ${request.marketId} does not exist on this chain`, {
      marketId: String(request.marketId),
    })
  }
  const terms = termsFailure(request, now, params.minTimeToExpiry)
  if (terms !== undefined) return terms
  const publicData = request.publicInputs.data
  if (publicData !== '0x' && !(await chain.validatePublicInputs(market.verifier, publicData))) {
    return invalid('InvalidPublicInputs', 'the market’s verifier refuses these public inputs (validatePublicInputs)')
  }
  if (!(await signatureValid(chain, request.requester, params.digest, signature))) {
    return invalid(
      'BadSignature',
      'the signature is not the requester’s over this SignedRequest under this marketplace’s EIP-712 domain (or its ERC-1271 wallet refused it within the gas cap): sign signedRequestTypedData',
      { requester: request.requester },
    )
  }
  const word = await chain.nonceWord(request.requester, request.nonce >> 8n)
  if ((word >> (request.nonce & 255n)) & 1n) {
    return invalid('NonceUsed', 'the nonce was spent or invalidated: sign with an unused nonce', {
      nonce: request.nonce.toString(),
    })
  }
  if ((await chain.requestStatus(params.requestId)) !== 0) {
    return fail(409, 'AlreadyUsed', 'the request is on chain already: follow it by its id', {
      requestId: params.requestId.toString(),
    })
  }
  const balance = await chain.balance(request.requester, market.paymentToken)
  const short = depositFailure({ balance, committed: 0n, maxReward: request.maxReward, token: market.paymentToken })
  if (short !== undefined) return short
  if (hasPrivateInputs(request.privateInputs) && !isBehindUri(request.privateInputs)) {
    try {
      params.checkEnvelope(hexToBytes(request.privateInputs.data), {
        requester: request.requester,
        marketId: BigInt(request.marketId),
        publicInputsDigest: inputsDigest(request.publicInputs),
        inputsDigest: requestInputsDigest(request.publicInputs, request.privateInputs),
      })
    } catch (error) {
      const reason = (error as { reason?: string; code?: string }).reason ?? (error as { code?: string }).code
      return invalid(
        'InputsRejected',
        `the private inputs do not open for this matcher under this request (${error instanceof Error ? error.message : String(error)}): encrypt them to the matcher's key for this requester, market and public inputs`,
        { reason: reason ?? 'InvalidEnvelope' },
      )
    }
  }
  return { requestId: params.requestId, digest: params.digest, paymentToken: market.paymentToken, balance }
}

export function isOrderFailure(result: CheckedOrder | OrderFailure): result is OrderFailure {
  return 'code' in result
}
