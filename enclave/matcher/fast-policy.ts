import type { MatcherRequest } from './chain.js'

/*
 * Which lane a matched signed order takes: the fast lane (an off-chain FastAssignment the prover uses with its proof in
 * one transaction, ISignedFulfilments) or assignSigned (on chain, stake-backed). The fast lane promises the requester
 * nothing on chain: a prover that never delivers costs it only the window, because once validUntil passes the matcher
 * assigns the order with assignSigned. So an order goes fast only when that fallback still fits after the window:
 *
 *   validUntil = now + P + M   (P: the chosen listing's proving time, M: --fast-lane-margin, for inclusion)
 *   validUntil ≤ deadline and validUntil + 1 + minTimeToExpiry ≤ matchingExpiry
 *
 * The fallback batch can only land at a chain time past validUntil (the contract still accepts the fast use at
 * validUntil itself) and the engine leaves alone requests whose matching expiry is within minTimeToExpiry, hence the
 * `+ 1 + minTimeToExpiry`. Not fast either: private inputs (their key release needs the on-chain assignment: the
 * contract refuses them, PrivateInputsNotFast), an order whose earlier offer lapsed (it goes to assignSigned, stake
 * at risk), and an ERC-1271 wallet requester: its answer can change after the prover proved, which fails the prover's
 * transaction in simulation, leaving the matcher no event to charge the wallet with.
 */

/** Seconds a fast assignment leaves beyond the prover's listed proving time for its transaction to be included. */
export const DEFAULT_FAST_LANE_MARGIN = 30

export type FastLaneRule = {
  /** --fast-lane: off sends every signed order to assignSigned. */
  enabled: boolean
  /** --fast-lane-margin, seconds. */
  margin: number
  /** --min-time-to-expiry, seconds: what the fallback batch needs before the matching expiry. */
  minTimeToExpiry: number
}

export type LaneReason = 'Disabled' | 'NotSigned' | 'PrivateInputs' | 'WalletRequester' | 'Lapsed' | 'NoRoomForFallback'

export type Lane = { lane: 'fast'; validUntil: number } | { lane: 'assignSigned'; reason: LaneReason }

/** The lane of `request` matched to a listing of `provingTime` at chain time `now`. */
export function laneOf(
  request: Pick<MatcherRequest, 'signed' | 'hasPrivateInputs' | 'matchingExpiry' | 'deadline'>,
  offer: { provingTime: number },
  params: FastLaneRule & { now: number; lapsed: boolean },
): Lane {
  if (request.signed === undefined) return { lane: 'assignSigned', reason: 'NotSigned' }
  if (!params.enabled) return { lane: 'assignSigned', reason: 'Disabled' }
  if (request.hasPrivateInputs) return { lane: 'assignSigned', reason: 'PrivateInputs' }
  if (request.signed.wallet) return { lane: 'assignSigned', reason: 'WalletRequester' }
  if (params.lapsed) return { lane: 'assignSigned', reason: 'Lapsed' }
  const validUntil = params.now + offer.provingTime + params.margin
  const fallbackFits = validUntil + 1 + params.minTimeToExpiry <= request.matchingExpiry
  if (!fallbackFits || validUntil > request.deadline) return { lane: 'assignSigned', reason: 'NoRoomForFallback' }
  return { lane: 'fast', validUntil }
}
