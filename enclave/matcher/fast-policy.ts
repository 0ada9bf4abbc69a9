import { zeroHash } from 'viem'
import { combinedInputsDigest } from '../../ts/types.js'
import type { MatcherRequest } from './chain.js'

/*
 * Which lane a matched request takes: the fast lane (an off-chain FastAssignment the prover uses with its proof in
 * one transaction, ISignedFulfilments: fulfilSigned for a signed order, fulfilOpen for an on-chain request still
 * Open) or the chain's assignment (assignSigned, or assign for an on-chain request; stake-backed). The fast lane
 * promises the requester nothing on chain: a prover that never delivers costs it only the window, because once
 * validUntil passes the matcher assigns the request on chain. So a request goes fast only when that fallback still
 * fits after the window:
 *
 *   validUntil = now + P + M   (P: the chosen listing's proving time, M: --fast-lane-margin, for inclusion)
 *   validUntil ≤ deadline and validUntil + 1 + minTimeToExpiry ≤ matchingExpiry
 *
 * The fallback batch can only land at a chain time past validUntil (the contract still accepts the fast use at
 * validUntil itself) and the engine leaves alone requests whose matching expiry is within minTimeToExpiry, hence the
 * `+ 1 + minTimeToExpiry`. Not fast either: private inputs (their key release needs the on-chain assignment: the
 * contract refuses them, PrivateInputsNotFast or WrongInputs), a request whose earlier offer lapsed (it goes on chain,
 * stake at risk), and an ERC-1271 wallet requester of a signed order: its answer can change after the prover proved,
 * which fails the prover's transaction in simulation, leaving the matcher no event to charge the wallet with. An
 * on-chain request goes fast only if its record commits to public inputs alone (inputsDigest =
 * keccak256(publicDigest ‖ 0)): fulfilOpen recomputes exactly that and refuses anything else (WrongInputs).
 */

/** Seconds a fast assignment leaves beyond the prover's listed proving time for its transaction to be included. */
export const DEFAULT_FAST_LANE_MARGIN = 30

export type FastLaneRule = {
  /** --fast-lane: off sends every request to the chain's assignment. */
  enabled: boolean
  /** --fast-lane-margin, seconds. */
  margin: number
  /** --min-time-to-expiry, seconds: what the fallback batch needs before the matching expiry. */
  minTimeToExpiry: number
}

/** Which fast use a request's offer is for: fulfilSigned (a signed order) or fulfilOpen (an on-chain request). */
export type FastKind = 'signed' | 'open'

export type LaneReason = 'Disabled' | 'PrivateInputs' | 'WalletRequester' | 'Lapsed' | 'NoRoomForFallback'

export type Lane =
  | { lane: 'fast'; kind: FastKind; validUntil: number }
  | { lane: 'chain'; kind: FastKind; reason: LaneReason }

export type LaneRequest = Pick<
  MatcherRequest,
  'signed' | 'hasPrivateInputs' | 'matchingExpiry' | 'deadline' | 'publicInputsDigest' | 'record'
>

/** The fast use a request would take: a signed order not used on chain yet, or an on-chain request. */
export const fastKindOf = (request: Pick<MatcherRequest, 'signed'>): FastKind =>
  request.signed === undefined ? 'open' : 'signed'

/** Whether the request's inputs are public only, as its fast use checks them. */
function publicOnly(request: LaneRequest): boolean {
  if (request.hasPrivateInputs) return false
  // A signed order's record is derived from its signed request; an on-chain one is checked as fulfilOpen does.
  return (
    request.signed !== undefined ||
    request.record.inputsDigest === combinedInputsDigest(request.publicInputsDigest, zeroHash)
  )
}

/** The lane of `request` matched to a listing of `provingTime` at chain time `now`. */
export function laneOf(
  request: LaneRequest,
  offer: { provingTime: number },
  params: FastLaneRule & { now: number; lapsed: boolean },
): Lane {
  const kind = fastKindOf(request)
  if (!params.enabled) return { lane: 'chain', kind, reason: 'Disabled' }
  if (!publicOnly(request)) return { lane: 'chain', kind, reason: 'PrivateInputs' }
  if (request.signed?.wallet) return { lane: 'chain', kind, reason: 'WalletRequester' }
  if (params.lapsed) return { lane: 'chain', kind, reason: 'Lapsed' }
  const validUntil = params.now + offer.provingTime + params.margin
  const fallbackFits = validUntil + 1 + params.minTimeToExpiry <= request.matchingExpiry
  if (!fallbackFits || validUntil > request.deadline) return { lane: 'chain', kind, reason: 'NoRoomForFallback' }
  return { lane: 'fast', kind, validUntil }
}
