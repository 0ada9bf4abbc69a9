import type { Address } from 'viem'
import type { ChainView } from './chain.js'
import { explainWait, type WaitReason } from './explain.js'
import type { Follower } from './follow.js'
import { loadsInputs, type MatcherInputsStore } from './inputs.js'
import type { Round } from './round.js'

/*
 * Why an open request is not assigned yet, for GET /requests/<id>: a request whose inputs the matcher gave up on is
 * taken out of the book, so the reason it gave up is remembered apart (boundedly: the oldest is forgotten first);
 * otherwise the inputs' state, then the engine's own rules (explain.ts).
 */

/** Requests whose inputs the matcher gave up on, remembered to answer why they stay unassigned. */
export const REJECTED_REMEMBERED = 10_000

export type RejectedRequests = {
  remember: (requestId: bigint, reason: WaitReason) => void
  get: (requestId: bigint) => WaitReason | undefined
  readonly size: number
}

export function createRejectedRequests(limit: number = REJECTED_REMEMBERED): RejectedRequests {
  const rejected = new Map<bigint, WaitReason>()
  return {
    remember(requestId, reason) {
      rejected.set(requestId, reason)
      if (rejected.size > limit) rejected.delete(rejected.keys().next().value as bigint)
    },
    get: (requestId) => rejected.get(requestId),
    get size() {
      return rejected.size
    },
  }
}

export type WaitSources = {
  rejected: Pick<RejectedRequests, 'get'>
  /** The open requests and the book. */
  view: Pick<ChainView, 'open' | 'book'>
  inputs: Pick<MatcherInputsStore, 'get'>
  /** Its chain time: of the last block read (undefined before the first). */
  follower: Pick<Follower, 'state'>
  /** Whether a prover's enclave key counts as active: as the rounds judge it. */
  round: Pick<Round, 'hasActiveKey'>
  minTimeToExpiry: number
  /** Until when a signed order waits after an InsufficientDeposit refusal (chain time), if it does. */
  benchedUntil?: (requestId: bigint) => number | undefined
  /** A signed order's or an on-chain request's outstanding fast assignment, if it has one. */
  fastOffer?: (requestId: bigint) => { prover: Address; price: bigint; validUntil: number } | undefined
}

/** Why a request is not assigned yet; undefined when it is not open in the book (unknown, assigned or ended). */
export function waitReasonOf(requestId: bigint, sources: WaitSources): WaitReason | undefined {
  const gaveUp = sources.rejected.get(requestId)
  if (gaveUp !== undefined) return gaveUp
  const request = sources.view.open.get(requestId)
  if (request === undefined) return undefined
  const offer = sources.fastOffer?.(requestId)
  if (offer !== undefined) return { code: 'FastAssigned', ...offer }
  const until = sources.benchedUntil?.(requestId)
  if (until !== undefined && until > (sources.follower.state.chainTime ?? 0)) return { code: 'DepositShort', until }
  if (loadsInputs(request)) {
    const loaded = sources.inputs.get(requestId)
    if (loaded?.state === 'failed') return { code: 'InputsRejected', reason: loaded.reason, message: loaded.message }
    if (loaded?.state !== 'ready') return { code: 'InputsLoading' }
  }
  return explainWait(sources.view.book, request, {
    now: sources.follower.state.chainTime ?? 0,
    minTimeToExpiry: sources.minTimeToExpiry,
    hasEnclaveKey: sources.round.hasActiveKey,
  })
}
