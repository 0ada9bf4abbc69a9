/**
 * What the pages derive from the index at render time: a request's state as of the chain's time (the contract's
 * rules: Open past matchingExpiry is Expired, Assigned past the task deadline is DeadlineMissed), and each market's
 * figures. All of it is a pass over the index in memory, never a chain read.
 */
import type { Address } from 'viem'
import type { ExplorerIndex, ListingEntry, MarketEntry, RequestEntry } from './model.js'

export const explorerStates = [
  'Open',
  'Expired',
  'Assigned',
  'DeadlineMissed',
  'Fulfilled',
  'Slashed',
  'Cancelled',
  'InputsRejected',
] as const
export type ExplorerState = (typeof explorerStates)[number]

/** The request's state at chain time `now` (unix seconds), as RequestLens.requestState would give it. */
export function stateOf(entry: RequestEntry, now: number): ExplorerState {
  if (entry.ending !== undefined) return entry.ending.kind
  if (entry.task !== undefined) return now > entry.task.deadline ? 'DeadlineMissed' : 'Assigned'
  if (entry.request !== undefined) return now > entry.request.matchingExpiry ? 'Expired' : 'Open'
  // Only a key release or skip seen, never the creation: cannot happen on a chain indexed from the deployment block.
  return 'Open'
}

/**
 * What changed state as chain time went from `before` to `after` with no log of its own, so the pages showing it
 * refresh live: a request passing its matching expiry or its task's deadline (the request, its market and its task's
 * prover, lower-case), an enclave key passing its expiry (the `attestation` topic and, for a prover key, its prover).
 * Added to `into`; one pass over the requests not yet ended and the keys.
 */
export function crossedByTime(
  index: ExplorerIndex,
  before: number,
  after: number,
  into: { requests: Set<bigint>; markets: Set<bigint>; provers: Set<string>; topics: Set<string> },
): void {
  if (after <= before) return
  for (const entry of index.requests.values()) {
    if (entry.ending !== undefined || stateOf(entry, before) === stateOf(entry, after)) continue
    into.requests.add(entry.requestId)
    into.markets.add(entry.marketId)
    if (entry.task !== undefined) into.provers.add(entry.task.prover.toLowerCase())
  }
  // A key is expired once chain time is past its expiresAt (the attestation page's rule).
  for (const key of index.keys) {
    if (key.revoked !== undefined || key.expiresAt < before || key.expiresAt >= after) continue
    into.topics.add('attestation')
    if (key.role === 'Prover') into.provers.add(key.operator.toLowerCase())
  }
}

/** Seconds from posting to the proof landing; undefined unless fulfilled after an on-chain posting. */
export function timeToProof(entry: RequestEntry): number | undefined {
  if (entry.ending?.kind !== 'Fulfilled' || entry.posted === undefined) return undefined
  return entry.ending.at.time - entry.posted.time
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export type Range<T> = { min: T; max: T } | undefined

function rangeOf<T extends number | bigint>(values: readonly T[]): Range<T> {
  if (values.length === 0) return undefined
  let min = values[0] as T
  let max = values[0] as T
  for (const value of values) {
    if (value < min) min = value
    if (value > max) max = value
  }
  return { min, max }
}

export type MarketSummary = {
  market: MarketEntry
  listings: ListingEntry[]
  priceRange: Range<bigint>
  provingTimeRange: Range<number>
  counts: Record<ExplorerState, number>
  medianTimeToProof: number | undefined
  /** (posted time, seconds to proof) of every fulfilled request, oldest first. */
  proofTimes: { at: number; seconds: number; requestId: bigint }[]
  /** Prices paid, in posting order. */
  paid: bigint[]
}

export function listingsOf(index: ExplorerIndex, filter: { marketId?: bigint; prover?: Address }): ListingEntry[] {
  return [...index.listings.values()].filter(
    (listing) =>
      (filter.marketId === undefined || listing.marketId === filter.marketId) &&
      (filter.prover === undefined || listing.prover.toLowerCase() === filter.prover.toLowerCase()),
  )
}

export function summarizeMarket(index: ExplorerIndex, market: MarketEntry, now: number): MarketSummary {
  const listings = listingsOf(index, { marketId: market.marketId })
  const counts = Object.fromEntries(explorerStates.map((state) => [state, 0])) as Record<ExplorerState, number>
  const proofTimes: MarketSummary['proofTimes'] = []
  const paid: bigint[] = []
  for (const requestId of market.requestIds) {
    const entry = index.requests.get(requestId)
    if (entry === undefined) continue
    counts[stateOf(entry, now)] += 1
    const seconds = timeToProof(entry)
    if (seconds !== undefined && entry.posted !== undefined)
      proofTimes.push({ at: entry.posted.time, seconds, requestId })
    if (entry.ending?.kind === 'Fulfilled') paid.push(entry.ending.price)
  }
  const active = listings.filter((listing) => listing.state === 'Active')
  return {
    market,
    listings,
    priceRange: rangeOf(active.map((listing) => listing.price)),
    provingTimeRange: rangeOf(active.map((listing) => listing.provingTime)),
    counts,
    medianTimeToProof: median(proofTimes.map(({ seconds }) => seconds)),
    proofTimes,
    paid,
  }
}

/** The prover's active Prover-role enclave key in `marketId` at time `at`, if the TEE registry is indexed. */
export function proverKeyAt(
  index: ExplorerIndex,
  prover: Address,
  marketId: bigint,
  at: { blockNumber: bigint; time: number },
) {
  let found: ExplorerIndex['keys'][number] | undefined
  for (const key of index.keys) {
    if (key.role !== 'Prover' || key.marketId !== marketId) continue
    if (key.operator.toLowerCase() !== prover.toLowerCase()) continue
    if (key.registered.blockNumber > at.blockNumber || key.expiresAt < at.time) continue
    if (key.revoked !== undefined && key.revoked.blockNumber <= at.blockNumber) continue
    found = key
  }
  return found
}
