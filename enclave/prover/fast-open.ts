/**
 * What the runner checks of an open offer (a fast assignment of an on-chain request still Open, settled with
 * fulfilOpen: fast-open-lane.ts) before it spends any work on it. The matcher is not trusted: the request's record
 * and inputs are taken from its RequestCreated log on chain (as for any task), never from the offer, and the offer
 * is taken only if it is this runner's, names that very record, in a market it is listed in with a backend, for
 * public inputs, at no less than its listed price and within the request's max reward, with the listing's proving
 * time still left before it expires (the earlier of validUntil and the matching expiry). Anything else is dropped
 * with its reason (a metric label). A taken offer becomes a TrackedTask built from the RequestCreated log, proven
 * exactly like an assigned task (job.ts checks the inputs against the record's digest).
 */
import { type Address, isAddressEqual } from 'viem'
import type { OpenOffer } from '../../ts/fast-assignments.js'
import { openOfferExpiry } from '../../ts/fast-fulfil.js'
import { hasInputs } from '../../ts/request-inputs.js'
import type { RequestCreation } from '../../ts/types.js'
import type { ProverBackendKind } from './backends/registry.js'
import type { OfferMarket } from './fast-offers.js'
import type { TrackedTask } from './scheduler.js'

/** Why an open offer is given up: a metric label (plus contract error names at submission). */
export type OpenOfferDrop =
  | 'not-mine'
  | 'unknown-request'
  | 'record-mismatch'
  | 'unknown-market'
  | 'private-inputs'
  | 'above-max-reward'
  | 'below-listed-price'
  | 'no-time'
  | 'not-open'

/** Whether the offer's record is the one RequestCreated emitted (fulfilOpen reverts RecordMismatch otherwise). */
export function sameRecord(record: OpenOffer['record'], created: RequestCreation['request']): boolean {
  return (
    isAddressEqual(record.refundAddress, created.refundAddress) &&
    record.maxReward === created.maxReward &&
    record.createdAt === created.createdAt &&
    record.matchingExpiry === created.matchingExpiry &&
    record.provingTime === created.provingTime &&
    record.inputsDigest.toLowerCase() === created.inputsDigest.toLowerCase()
  )
}

/**
 * Checks an open offer against its request's RequestCreated log (undefined: none found), this runner and chain time
 * `now` (seconds), without further reads; undefined: take it (once the chain shows the request still Open).
 */
export function openOfferDrop(
  offer: OpenOffer,
  creation: RequestCreation | undefined,
  context: { me: Address; markets: Pick<ReadonlyMap<bigint, OfferMarket>, 'get'>; now: number },
): OpenOfferDrop | undefined {
  if (!isAddressEqual(offer.prover, context.me)) return 'not-mine'
  if (creation === undefined || creation.requestId !== offer.requestId) return 'unknown-request'
  if (!sameRecord(offer.record, creation.request)) return 'record-mismatch'
  const market = context.markets.get(creation.marketId)
  if (market === undefined) return 'unknown-market'
  // Private inputs need the on-chain assignment, which releases their key: fulfilOpen takes public inputs only.
  if (hasInputs(creation.privateInputs)) return 'private-inputs'
  if (offer.price > creation.request.maxReward) return 'above-max-reward'
  if (offer.price < market.config.price) return 'below-listed-price'
  if (context.now + market.config.provingTime > Number(openOfferExpiry(offer))) return 'no-time'
  return undefined
}

/**
 * The task the scheduler proves for an open offer: the request's records as RequestCreated emitted them and an
 * assignment to this runner until the offer's expiry, holding the listing's compute. fulfilOpen checks the proof
 * for (request id, prover, inputs digest), as fulfil does, so the proof is the one an assigned task would get.
 */
export function openTask(
  offer: OpenOffer,
  creation: RequestCreation,
  market: OfferMarket & { kind: ProverBackendKind },
  now: number,
): TrackedTask {
  return {
    requestId: offer.requestId,
    marketId: creation.marketId,
    requester: creation.requester,
    request: creation.request,
    task: {
      prover: offer.prover,
      price: offer.price,
      deadline: Number(openOfferExpiry(offer)),
      compute: market.config.computePerRequest,
    },
    publicInputs: creation.publicInputs,
    privateInputs: creation.privateInputs,
    backend: market.kind,
    assignedAt: Math.floor(now),
    byMatcher: true,
    state: 'queued',
    attempts: 0,
    abort: new AbortController(),
    open: offer,
  }
}
