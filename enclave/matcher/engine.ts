import type { Address } from 'viem'
import {
  addTo,
  type Book,
  compactQueue,
  compareEntries,
  type ListingState,
  type MarketState,
  type MatchItem,
  mergeQueued,
  type OfferLevel,
  type OpenRequest,
  type RequestEntry,
} from './book.js'
import { compareHashes, seedBytes, tieRankBytes } from './fairness.js'
import { proverLive } from './liveness.js'

export {
  addMarket,
  addRequest,
  applyTaskAssigned,
  applyTaskEnded,
  type Book,
  type BookStats,
  bookStats,
  createBook,
  holdBatch,
  type ListingUpdate,
  type MarketTerms,
  type MatchItem,
  type OpenRequest,
  type ProverUpdate,
  proverLoad,
  pruneExpired,
  releaseHold,
  removeListing,
  removeProver,
  removeRequest,
  requestStatus,
  setAvailableStake,
  setListing,
  setListingActive,
  setProver,
} from './book.js'
export { pickTied, tieRank } from './fairness.js'
export {
  answerBy,
  goneProvers,
  noteProverAlive,
  noteTaskAssigned,
  noteTaskEnded,
  proverGoneSince,
} from './liveness.js'

/*
 * One matching round: which open request goes to which prover, now.
 *
 * Validity. An item is only produced when the marketplace would accept it at the time given: the request is open
 * and `now + minTimeToExpiry ≤ matchingExpiry`; the prover's listing in the request's market is Active (not
 * leaving); listing price ≤ maxReward; listing provingTime ≤ the request's provingTime; the listing's
 * computePerRequest fits in capacity − computeInUse − compute held by batches in flight − compute taken by earlier
 * items of this batch (capacity is one pool across all the prover's markets); where the service tracks the
 * prover's available stake in the market's stake source, stakePerTask fits likewise; and the optional eligibility
 * predicate accepts the pair; and the chain does not show the prover gone (an unanswered task past its answer-by
 * time with no sign of life since: liveness.ts).
 *
 * Preference. Each valid offer gets a score, lower is better:
 *
 *     score = (1 − s) · price / maxReward + s · offerProvingTime / requestProvingTime,   s = speedPreferenceBps / 10 000
 *
 * Both terms lie in [0, 1] for valid offers, so s = 0 picks the cheapest offer and s = 1 the fastest, with a
 * linear trade-off between. Normalising by the request's own bounds (rather than by the offers currently free)
 * keeps a request's ranking of two offers independent of the rest of the book, so anyone can check a choice from
 * the request and the two listings alone, and it is independent of token decimals and time units. It is compared
 * exactly, as the integer score · 10 000 · maxReward · requestProvingTime (offerScore). At s = 0 offers of equal
 * price are further ordered by proving time, and at s = 1 offers of equal proving time by price, so a dominated
 * offer never wins a tie. Offers still tied (in practice: the same price and proving time) go to the prover that
 * comes first in the request's fixed random order (fairness.ts).
 *
 * Serving order. When there is not enough capacity for everyone, requests are served oldest first (createdAt, then
 * request id), across all markets. Age cannot be bought or faked, unlike a higher maxReward (it costs nothing:
 * the prover is paid its own price) or an early matchingExpiry (a requester could set one to jump the queue).
 *
 * Cost. Per round: O(markets + listings) to take stock of who has room, then per request visited a walk over its
 * market's offer levels up to its maxReward. A market whose listings have no room left drops out of the round at
 * once, the round stops at maxItems, and requests no active offer could ever serve are parked until the market's
 * offers change, so a large backlog that cannot be served is not rescanned every round. A tie costs one keccak256
 * per tied prover with room, which dominates when many provers post identical offers.
 */

export type Eligibility<request extends OpenRequest = OpenRequest> = (
  request: request,
  prover: Address,
  marketId: bigint,
) => boolean

export type MatchParams<request extends OpenRequest = OpenRequest> = {
  /** The chain time the batch is matched for (unix seconds). */
  now: number
  /** Most items in the batch: what fits the assign transaction's gas budget. */
  maxItems: number
  /** Seconds the batch may take to land: requests whose matching expiry is nearer are left out. Default 0. */
  minTimeToExpiry?: number | undefined
  /** Extra per-pair rule, e.g. private inputs only to provers with an enclave key in the market. */
  eligible?: Eligibility<request> | undefined
}

export type MatchBatch<request extends OpenRequest = OpenRequest> = {
  /** In serving order. Pass them to holdBatch before signing. */
  items: MatchItem<request>[]
  /** Requests met this round already past their matching expiry (removeRequest them, or pruneExpired). */
  expired: request[]
  /** Requests examined, matched or not. */
  visited: number
}

/** The request's score of an offer, exactly: score · 10 000 · maxReward · provingTime. Lower is better. */
export function offerScore(
  request: Pick<OpenRequest, 'maxReward' | 'provingTime' | 'speedPreferenceBps'>,
  offer: { price: bigint; provingTime: number },
): bigint {
  const bps = BigInt(request.speedPreferenceBps)
  return (
    (10_000n - bps) * offer.price * BigInt(request.provingTime) + bps * BigInt(offer.provingTime) * request.maxReward
  )
}

/** Eligibility that sends requests with private inputs only to provers holding an enclave key in the market. */
export function privateInputsNeedEnclaveKey<request extends OpenRequest>(
  hasEnclaveKey: (prover: Address, marketId: bigint) => boolean,
): Eligibility<request> {
  return (request, prover, marketId) => !request.hasPrivateInputs || hasEnclaveKey(prover, marketId)
}

/** Matches open requests to provers for a batch at `params.now`. Reads the book; only its caches change. */
export function matchBatch<request extends OpenRequest>(
  book: Book<request>,
  params: MatchParams<request>,
): MatchBatch<request> {
  if (!Number.isInteger(params.maxItems) || params.maxItems < 0) {
    throw new RangeError(`maxItems must be a non-negative integer, got ${params.maxItems}`)
  }
  const round = ++book.round
  const state: Round<request> = {
    round,
    now: params.now,
    latestLanding: params.now + (params.minTimeToExpiry ?? 0),
    eligible: params.eligible,
    batch: { items: [], expired: [], visited: 0 },
  }
  const heap: Cursor<request>[] = []
  for (const market of book.markets.values()) {
    const cursor = startMarket(market, round, params.now)
    if (cursor !== undefined) heap.push(cursor)
  }
  heapify(heap)
  const items = state.batch.items
  while (items.length < params.maxItems) {
    const cursor = heap[0]
    if (cursor === undefined) break
    const market = cursor.market
    if (market.availableCount > 0) {
      const entry = market.queue[cursor.pos]
      if (entry !== undefined) visit(state, entry)
    }
    cursor.pos = nextQueued(market.queue, cursor.pos + 1)
    if (market.availableCount === 0 || cursor.pos >= market.queue.length) popHeap(heap)
    else siftDown(heap, 0)
  }
  return state.batch
}

// ---------------------------------------------------------------------------------------------------------------

type Round<request extends OpenRequest> = {
  round: number
  now: number
  latestLanding: number
  eligible: Eligibility<request> | undefined
  batch: MatchBatch<request>
}

type Cursor<request extends OpenRequest> = { market: MarketState<request>; pos: number }

/** Brings a market up to date for the round; a cursor at its oldest queued request if it can match anything. */
function startMarket<request extends OpenRequest>(
  market: MarketState<request>,
  round: number,
  now: number,
): Cursor<request> | undefined {
  if (market.levelsDirty) {
    rebuildLevels(market)
    unpark(market)
  }
  compactQueue(market)
  const pos = nextQueued(market.queue, 0)
  if (pos >= market.queue.length) return undefined
  let available = 0
  for (const listing of market.listings.values()) {
    listing.round = round
    // A prover the chain shows gone (liveness.ts) gets nothing until it shows a sign of life.
    listing.available = listing.active && proverLive(listing.prover, now) && hasRoom(listing, round)
    if (listing.available) available++
  }
  market.round = round
  market.availableCount = available
  return available > 0 ? { market, pos } : undefined
}

function visit<request extends OpenRequest>(round: Round<request>, entry: RequestEntry<request>): void {
  const request = entry.request
  round.batch.visited++
  if (request.matchingExpiry < round.now) {
    round.batch.expired.push(request)
    return
  }
  if (request.matchingExpiry < round.latestLanding) return
  const market = entry.market
  if (!servable(market, request)) {
    entry.status = 'parked'
    market.parked.push(entry)
    market.dead++
    return
  }
  const listing = choose(round, entry)
  if (listing !== undefined) commit(round, entry, listing)
}

// Scratch for choose(): one request is matched at a time.
const fitLevels: OfferLevel[] = []
const fitScores: number[] = []

/** The listing the request goes to this round, or undefined when no valid, eligible one has room. */
function choose<request extends OpenRequest>(
  round: Round<request>,
  entry: RequestEntry<request>,
): ListingState | undefined {
  const request = entry.request
  const bps = request.speedPreferenceBps
  // offerScore in floating point, to find the best offers quickly; ties and near-ties are settled exactly.
  const priceWeight = (10_000 - bps) * request.provingTime
  const timeWeight = bps * entry.maxRewardF
  let n = 0
  for (const level of entry.market.levels) {
    if (level.price > request.maxReward) break
    if (level.provingTime > request.provingTime || !levelAvailable(level)) continue
    fitLevels[n] = level
    fitScores[n] = priceWeight * level.priceF + timeWeight * level.provingTime
    n++
  }
  while (n > 0) {
    const tied = bestLevels(request, n)
    const candidates = eligibleListings(round, request, tied)
    if (candidates.length === 1) return candidates[0]
    if (candidates.length > 1) return firstInTieOrder(entry, candidates)
    // Every best offer is ineligible for this request: drop them and look at the next best.
    let kept = 0
    for (let i = 0; i < n; i++) {
      const level = fitLevels[i] as OfferLevel
      if (tied.includes(level)) continue
      fitLevels[kept] = level
      fitScores[kept] = fitScores[i] as number
      kept++
    }
    n = kept
  }
  return undefined
}

/** Among the first `n` fitting levels, the ones with the best score (after the dominance rule at s = 0 and 1). */
function bestLevels(request: OpenRequest, n: number): OfferLevel[] {
  let min = Number.POSITIVE_INFINITY
  for (let i = 0; i < n; i++) min = Math.min(min, fitScores[i] as number)
  // Scores are sums of non-negative products, so float error is a few ulps: 1e-9 relative is a safe margin.
  const margin = min * 1e-9
  const near: OfferLevel[] = []
  for (let i = 0; i < n; i++) if ((fitScores[i] as number) <= min + margin) near.push(fitLevels[i] as OfferLevel)
  if (near.length === 1) return near
  let best: bigint | undefined
  let tied: OfferLevel[] = []
  for (const level of near) {
    const score = offerScore(request, level)
    if (best === undefined || score < best) {
      best = score
      tied = [level]
    } else if (score === best) {
      tied.push(level)
    }
  }
  if (tied.length === 1) return tied
  const bps = request.speedPreferenceBps
  if (bps === 0) return keepMin(tied, (level) => BigInt(level.provingTime))
  if (bps === 10_000) return keepMin(tied, (level) => level.price)
  return tied
}

function keepMin(levels: OfferLevel[], key: (level: OfferLevel) => bigint): OfferLevel[] {
  let best: bigint | undefined
  let kept: OfferLevel[] = []
  for (const level of levels) {
    const value = key(level)
    if (best === undefined || value < best) {
      best = value
      kept = [level]
    } else if (value === best) {
      kept.push(level)
    }
  }
  return kept
}

function eligibleListings<request extends OpenRequest>(
  round: Round<request>,
  request: request,
  levels: OfferLevel[],
): ListingState[] {
  const eligible = round.eligible
  const candidates: ListingState[] = []
  for (const level of levels) {
    for (const listing of level.listings) {
      if (!listing.available) continue
      if (eligible !== undefined && !eligible(request, listing.prover.address, request.marketId)) continue
      candidates.push(listing)
    }
  }
  return candidates
}

/** The candidate whose prover ranks first in the request's tie order (fairness.ts). */
function firstInTieOrder<request extends OpenRequest>(
  entry: RequestEntry<request>,
  candidates: ListingState[],
): ListingState | undefined {
  entry.seed ??= seedBytes(entry.request.requestId, entry.request.createdBlockHash)
  let winner: ListingState | undefined
  let best: Uint8Array | undefined
  for (const listing of candidates) {
    const rank = tieRankBytes(entry.seed, listing.prover.addressBytes)
    if (best === undefined || compareHashes(rank, best) < 0) {
      best = rank
      winner = listing
    }
  }
  return winner
}

function commit<request extends OpenRequest>(
  round: Round<request>,
  entry: RequestEntry<request>,
  listing: ListingState,
): void {
  const prover = listing.prover
  if (prover.round !== round.round) {
    prover.round = round.round
    prover.roundCompute = 0
    prover.roundStake = undefined
  }
  prover.roundCompute += listing.computePerRequest
  const market = entry.market
  const stake = market.stakePerTask
  if (stake !== 0n && market.stakeSource !== undefined) {
    prover.roundStake ??= new Map()
    addTo(prover.roundStake, market.stakeSource, stake)
  }
  round.batch.items.push({
    requestId: entry.request.requestId,
    prover: prover.address,
    marketId: entry.request.marketId,
    request: entry.request,
    price: listing.price,
    provingTime: listing.provingTime,
    compute: listing.computePerRequest,
    stake,
  })
  // The prover's room shrank in every market it is listed in, not only this one.
  for (const other of prover.listings.values()) {
    if (other.round === round.round && other.available && !hasRoom(other, round.round)) {
      other.available = false
      other.market.availableCount--
    }
  }
}

/** Whether the listing's prover can take one more of its market's requests in this round. */
function hasRoom(listing: ListingState, round: number): boolean {
  const prover = listing.prover
  const thisRound = prover.round === round
  const used = prover.computeInUse + prover.computeHeld + (thisRound ? prover.roundCompute : 0)
  if (prover.capacity - used < listing.computePerRequest) return false
  const market = listing.market
  const source = market.stakeSource
  if (market.stakePerTask === 0n || source === undefined) return true
  const available = prover.stake.get(source)
  if (available === undefined) return true
  const taken = (prover.stakeHeld.get(source) ?? 0n) + ((thisRound ? prover.roundStake?.get(source) : undefined) ?? 0n)
  return available - taken >= market.stakePerTask
}

function levelAvailable(level: OfferLevel): boolean {
  for (const listing of level.listings) if (listing.available) return true
  return false
}

/** Whether some active offer of the market meets the request's price and time bounds, room or not. */
function servable<request extends OpenRequest>(market: MarketState<request>, request: OpenRequest): boolean {
  const frontier = market.frontier
  let low = 0
  let high = frontier.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((frontier[mid] as { price: bigint }).price <= request.maxReward) low = mid + 1
    else high = mid
  }
  // The frontier's proving time falls as its price rises: the dearest affordable point is the fastest one.
  const point = frontier[low - 1]
  return point !== undefined && point.provingTime <= request.provingTime
}

function rebuildLevels<request extends OpenRequest>(market: MarketState<request>): void {
  const active = [...market.listings.entries()].filter(([, listing]) => listing.active)
  active.sort(
    ([keyA, a], [keyB, b]) =>
      (a.price < b.price ? -1 : a.price > b.price ? 1 : 0) ||
      a.provingTime - b.provingTime ||
      (keyA < keyB ? -1 : keyA > keyB ? 1 : 0),
  )
  const levels: OfferLevel[] = []
  for (const [, listing] of active) {
    const last = levels[levels.length - 1]
    if (last !== undefined && last.price === listing.price && last.provingTime === listing.provingTime) {
      last.listings.push(listing)
    } else {
      levels.push({
        price: listing.price,
        priceF: listing.priceF,
        provingTime: listing.provingTime,
        listings: [listing],
      })
    }
  }
  const frontier: { price: bigint; provingTime: number }[] = []
  let fastest = Number.POSITIVE_INFINITY
  for (const level of levels) {
    if (level.provingTime >= fastest) continue
    frontier.push({ price: level.price, provingTime: level.provingTime })
    fastest = level.provingTime
  }
  market.levels = levels
  market.frontier = frontier
  market.levelsDirty = false
}

function unpark<request extends OpenRequest>(market: MarketState<request>): void {
  const back: RequestEntry<request>[] = []
  const still: RequestEntry<request>[] = []
  for (const entry of market.parked) {
    if (entry.status !== 'parked') continue
    if (servable(market, entry.request)) back.push(entry)
    else still.push(entry)
  }
  market.parked = still
  if (back.length === 0) return
  // A parked entry still sits in the queue as a tombstone: drop those before it comes back, or it would be twice.
  market.queue = market.queue.filter((entry) => entry.status === 'queued')
  for (const entry of back) entry.status = 'queued'
  mergeQueued(market, back)
}

function nextQueued(queue: readonly RequestEntry<OpenRequest>[], from: number): number {
  let pos = from
  while (pos < queue.length && queue[pos]?.status !== 'queued') pos++
  return pos
}

// A binary min-heap of market cursors by their current request's serving order.

function before<request extends OpenRequest>(a: Cursor<request>, b: Cursor<request>): boolean {
  return (
    compareEntries(
      a.market.queue[a.pos] as RequestEntry<OpenRequest>,
      b.market.queue[b.pos] as RequestEntry<OpenRequest>,
    ) < 0
  )
}

function heapify<request extends OpenRequest>(heap: Cursor<request>[]): void {
  for (let i = (heap.length >>> 1) - 1; i >= 0; i--) siftDown(heap, i)
}

function siftDown<request extends OpenRequest>(heap: Cursor<request>[], start: number): void {
  let i = start
  for (;;) {
    const left = 2 * i + 1
    const right = left + 1
    let smallest = i
    if (left < heap.length && before(heap[left] as Cursor<request>, heap[smallest] as Cursor<request>)) smallest = left
    if (right < heap.length && before(heap[right] as Cursor<request>, heap[smallest] as Cursor<request>)) {
      smallest = right
    }
    if (smallest === i) return
    const swap = heap[i] as Cursor<request>
    heap[i] = heap[smallest] as Cursor<request>
    heap[smallest] = swap
    i = smallest
  }
}

function popHeap<request extends OpenRequest>(heap: Cursor<request>[]): void {
  const last = heap.pop()
  if (last === undefined || heap.length === 0) return
  heap[0] = last
  siftDown(heap, 0)
}
