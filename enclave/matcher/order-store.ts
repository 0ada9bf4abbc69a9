import { type Address, getAddress, type Hex, isAddressEqual } from 'viem'
import type { OrderBody } from '../../ts/orders.js'
import { inputsDigest, requestInputsDigest } from '../../ts/types.js'
import { hasPrivateInputs, type MatcherRequest } from './chain.js'
import { depositFailure, type OrderFailure } from './order-checks.js'

/*
 * The signed orders the matcher acknowledged, in memory (the journal is their copy on disk): each pending one until it
 * is used on chain, expires or is dropped, then remembered (boundedly) to answer GET /orders/<id>. The store keeps the
 * deposit rule across orders (a requester's balance must cover all its pending orders of a token at once, so one
 * deposit never backs many orders) and the per-requester bounds: at most MAX_PENDING_PER_REQUESTER pending orders, and
 * strikes for batches its orders made fail (a wallet that changes its answer or burns gas): at MAX_STRIKES its orders
 * are dropped and new ones refused. Admission is synchronous, so concurrent intakes of one requester cannot both pass
 * the deposit rule against the same balance.
 */

export type OrderState = 'pending' | 'used' | 'expired' | 'dropped'

export type OrderEntry = {
  requestId: bigint
  order: OrderBody
  /** The request's EIP-712 digest: its tie-break seed in the book. */
  digest: Hex
  /** Chain time of the head it was acknowledged at: its place in the serving order. */
  acceptedAt: number
  paymentToken: Address
  /** The requester had code at intake: an ERC-1271 wallet, whose answer may change. */
  wallet: boolean
  state: OrderState
  reason?: string | undefined
  /** Not matched before this chain time: a transient refusal (InsufficientDeposit) backs off. */
  benchedUntil: number
  /** Transient refusals so far. */
  refusals: number
}

/** Most pending orders of one requester: a flood of small orders cannot fill the book. */
export const MAX_PENDING_PER_REQUESTER = 256
/** Failed batches (simulated or mined) charged to a requester before its orders are dropped and refused. */
export const MAX_STRIKES = 3
/** Ended orders remembered for GET /orders/<id> (the oldest forgotten first; the chain answers for used ones). */
export const ENDED_REMEMBERED = 10_000

export type OrderStore = {
  get: (requestId: bigint) => OrderEntry | undefined
  /** Pending orders, in acknowledgement order. */
  pending: () => OrderEntry[]
  /** The requester's pending orders. */
  pendingOf: (requester: Address) => OrderEntry[]
  /** maxReward of the requester's pending orders of `token`, but those in `spent`. */
  committed: (requester: Address, token: Address, spent?: ReadonlySet<bigint>) => bigint
  /**
   * Checks the per-requester bounds and the deposit rule against `balance`, then takes the order as pending. `spent`:
   * pending orders whose nonce the chain showed spent before `balance` was read, so their payment is already out of
   * it (used, or fast-fulfilled, before this matcher's follow loop ended them): they do not count against it again.
   */
  admit: (entry: OrderEntry, balance: bigint, spent?: ReadonlySet<bigint>) => OrderFailure | undefined
  /** Takes a replayed order back as pending, unchecked (it was acknowledged before the restart). */
  restore: (entry: OrderEntry) => void
  /** Forgets an order that was never acknowledged (its journal write failed). */
  forget: (requestId: bigint) => void
  /** Ends a pending order; returns it, or undefined when it was not pending. */
  end: (requestId: bigint, state: Exclude<OrderState, 'pending'>, reason?: string) => OrderEntry | undefined
  /** Charges a failed batch to the requester; true when this reached MAX_STRIKES. */
  strike: (requester: Address) => boolean
  blocked: (requester: Address) => boolean
  /** Each struck requester with its strikes (what the journal keeps across a compaction). */
  strikes: () => [Address, number][]
}

export function createOrderStore(limits: { maxPending?: number; maxStrikes?: number } = {}): OrderStore {
  const maxPending = limits.maxPending ?? MAX_PENDING_PER_REQUESTER
  const maxStrikes = limits.maxStrikes ?? MAX_STRIKES
  const pending = new Map<bigint, OrderEntry>()
  const ended = new Map<bigint, OrderEntry>()
  const strikes = new Map<string, number>()
  const ofRequester = (requester: Address) =>
    [...pending.values()].filter((entry) => isAddressEqual(entry.order.request.requester, requester))
  const committed = (requester: Address, token: Address, spent: ReadonlySet<bigint> = new Set()) =>
    ofRequester(requester)
      .filter((entry) => isAddressEqual(entry.paymentToken, token) && !spent.has(entry.requestId))
      .reduce((sum, entry) => sum + entry.order.request.maxReward, 0n)
  const blocked = (requester: Address) => (strikes.get(requester.toLowerCase()) ?? 0) >= maxStrikes

  return {
    get: (requestId) => pending.get(requestId) ?? ended.get(requestId),
    pending: () => [...pending.values()],
    pendingOf: ofRequester,
    committed,
    admit(entry, balance, spent) {
      const { requester, maxReward } = entry.order.request
      if (blocked(requester)) {
        return {
          status: 429,
          code: 'RequesterBlocked',
          message: `orders of ${requester} made ${maxStrikes} batches fail (a signature that changed or burned gas): this matcher takes none of its orders`,
        }
      }
      if (ofRequester(requester).length >= maxPending) {
        return {
          status: 429,
          code: 'TooManyOrders',
          message: `${requester} has ${maxPending} orders pending at this matcher: wait for some to be used or expire`,
          details: { pending: String(maxPending) },
        }
      }
      const short = depositFailure({
        balance,
        committed: committed(requester, entry.paymentToken, spent),
        maxReward,
        token: entry.paymentToken,
      })
      if (short !== undefined) return short
      pending.set(entry.requestId, entry)
      return undefined
    },
    restore: (entry) => void pending.set(entry.requestId, entry),
    forget: (requestId) => void pending.delete(requestId),
    end(requestId, state, reason) {
      const entry = pending.get(requestId)
      if (entry === undefined) return undefined
      pending.delete(requestId)
      entry.state = state
      entry.reason = reason
      ended.set(requestId, entry)
      if (ended.size > ENDED_REMEMBERED) ended.delete(ended.keys().next().value as bigint)
      return entry
    },
    strike(requester) {
      const key = requester.toLowerCase()
      const count = (strikes.get(key) ?? 0) + 1
      strikes.set(key, count)
      return count === maxStrikes
    },
    blocked,
    strikes: () => [...strikes.entries()].map(([requester, count]) => [getAddress(requester), count]),
  }
}

/**
 * A pending order as the book holds it: the request its use would create, created at its acknowledgement (its place
 * in the serving order) and seeded for ties by its EIP-712 digest, which anyone can recompute from the signed request.
 */
export function orderRequest(
  entry: Pick<OrderEntry, 'requestId' | 'order' | 'digest' | 'acceptedAt' | 'wallet'>,
): MatcherRequest {
  const { request, signature } = entry.order
  const publicInputsDigest = inputsDigest(request.publicInputs)
  return {
    requestId: entry.requestId,
    marketId: BigInt(request.marketId),
    maxReward: request.maxReward,
    provingTime: request.provingTime,
    createdAt: entry.acceptedAt,
    matchingExpiry: request.matchingExpiry,
    deadline: request.deadline,
    speedPreferenceBps: request.speedPreferenceBps,
    createdBlockHash: entry.digest,
    hasPrivateInputs: hasPrivateInputs(request.privateInputs),
    record: {
      refundAddress: request.refundAddress,
      maxReward: request.maxReward,
      createdAt: entry.acceptedAt,
      matchingExpiry: request.matchingExpiry,
      provingTime: request.provingTime,
      inputsDigest: requestInputsDigest(request.publicInputs, request.privateInputs),
    },
    requester: request.requester,
    publicInputs: request.publicInputs,
    publicInputsDigest,
    privateInputs: request.privateInputs,
    createdBlock: 0n,
    signed: { request, signature, wallet: entry.wallet },
  }
}

/** _recordOf: the record a signed request's use at chain time `now` creates (what assignSigned records it with). */
export function recordAt(request: OrderBody['request'], now: number): MatcherRequest['record'] {
  return {
    refundAddress: request.refundAddress,
    maxReward: request.maxReward,
    createdAt: now,
    matchingExpiry: request.matchingExpiry,
    provingTime: request.provingTime,
    inputsDigest: requestInputsDigest(request.publicInputs, request.privateInputs),
  }
}
