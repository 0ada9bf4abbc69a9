import { type Address, type Hex, hexToBytes } from 'viem'
import { marketIdOf } from '../../ts/types.js'
import { type Liveness, newLiveness } from './liveness.js'

/*
 * The matcher's order book: open requests, provers and their listings, rebuilt from chain events by the service
 * through the update functions below (one per event kind). The book is a plain state object; treat its fields as
 * private and change it only through these functions, which keep its indexes consistent.
 *
 * Besides the chain's view, the book tracks holds: items of a batch the matcher has signed but whose TaskAssigned
 * (or AssignmentSkipped) has not been seen yet. A held request is not matched again, and the prover's compute and
 * stake it would take count as used, so consecutive rounds never double-book while a batch is in flight.
 */

/** An open request as the engine needs it (from RequestCreated and its block). */
export type OpenRequest = {
  requestId: bigint
  marketId: bigint
  /** Wei of the market's payment token; a listing's price must not exceed it. */
  maxReward: bigint
  /** Seconds; a listing's proving time must not exceed it. */
  provingTime: number
  /** Unix seconds (the creating block's timestamp). */
  createdAt: number
  /** Unix seconds; the request cannot be assigned once the chain's clock is past it. */
  matchingExpiry: number
  /** Not checked: createRequest guarantees matchingExpiry + provingTime ≤ deadline, so a task always fits. */
  deadline: number
  /** 0 = cheapest prover … 10 000 = fastest prover. */
  speedPreferenceBps: number
  /** Hash of the block RequestCreated was mined in: the request's tie-break seed (see fairness.ts). */
  createdBlockHash: Hex
  hasPrivateInputs: boolean
}

/** A market's stake terms (MarketCreated). Markets first seen through a request or listing lock no stake. */
export type MarketTerms = { marketId: bigint; stakePerTask: bigint; stakeSource?: Address | undefined }

/** ProverRegistered / CapacityUpdated, or a read of ProverRegistry.prover. */
export type ProverUpdate = { prover: Address; capacity: number; computeInUse?: number | undefined }

/** Listed / ListingUpdated, or a read of ProverRegistry.listing. `active` defaults to unchanged (Active if new). */
export type ListingUpdate = {
  prover: Address
  marketId: bigint
  price: bigint
  provingTime: number
  computePerRequest: number
  active?: boolean | undefined
}

/** One decision of a batch: the pair the matcher signs plus what it reserves. */
export type MatchItem<request extends OpenRequest = OpenRequest> = {
  requestId: bigint
  prover: Address
  marketId: bigint
  request: request
  /** The listing's price: what the prover will be paid. */
  price: bigint
  provingTime: number
  /** Compute units the task will hold. */
  compute: number
  /** Stake the market will lock (zero when it locks none). */
  stake: bigint
}

// ---------------------------------------------------------------------------------------------------------------
// State (internal to the matcher modules)

export type Hold = { prover: ProverState; compute: number; stake: bigint; stakeSource: string | undefined }

export type ProverState = {
  readonly address: Address
  readonly addressBytes: Uint8Array
  capacity: number
  computeInUse: number
  computeHeld: number
  /** Available stake per stake source (lowercase address); a source absent here is not checked. */
  readonly stake: Map<string, bigint>
  readonly stakeHeld: Map<string, bigint>
  readonly listings: Map<bigint, ListingState>
  /** What the batch being built takes, valid while `round` is the book's current round. */
  round: number
  roundCompute: number
  roundStake: Map<string, bigint> | undefined
  /** What the chain shows of whether the prover is still there (liveness.ts). */
  readonly liveness: Liveness
}

/** A market's terms and its per-round availability, shared with its listings. */
export type MarketCore = {
  readonly marketId: bigint
  stakePerTask: bigint
  stakeSource: string | undefined
  round: number
  /** Listings of this market that can take a request in the current round. */
  availableCount: number
}

export type ListingState = {
  readonly prover: ProverState
  readonly market: MarketCore
  price: bigint
  priceF: number
  provingTime: number
  computePerRequest: number
  active: boolean
  round: number
  available: boolean
}

/** Active listings with the same (price, provingTime), ordered by prover address. */
export type OfferLevel = { price: bigint; priceF: number; provingTime: number; listings: ListingState[] }

export type RequestStatus = 'queued' | 'parked' | 'held' | 'removed'

export type RequestEntry<request extends OpenRequest> = {
  readonly request: request
  readonly market: MarketState<request>
  readonly maxRewardF: number
  status: RequestStatus
  /** seedBytes, built the first time a tie needs it. */
  seed: Uint8Array | undefined
  hold: Hold | undefined
}

export type MarketState<request extends OpenRequest> = MarketCore & {
  readonly listings: Map<string, ListingState>
  /** Active offers by price then proving time: a request's candidates are a prefix (price ≤ maxReward). */
  levels: OfferLevel[]
  /** Pareto-minimal (price, provingTime) of active offers: price ascending, proving time strictly descending. */
  frontier: { price: bigint; provingTime: number }[]
  levelsDirty: boolean
  /** Requests in serving order; entries no longer queued stay as tombstones until compaction. */
  queue: RequestEntry<request>[]
  dead: number
  /** Requests no active offer could ever serve; re-examined when the market's offers change. */
  parked: RequestEntry<request>[]
}

export type Book<request extends OpenRequest = OpenRequest> = {
  readonly markets: Map<bigint, MarketState<request>>
  readonly provers: Map<string, ProverState>
  readonly requests: Map<bigint, RequestEntry<request>>
  round: number
}

export function createBook<request extends OpenRequest = OpenRequest>(): Book<request> {
  return { markets: new Map(), provers: new Map(), requests: new Map(), round: 0 }
}

// ---------------------------------------------------------------------------------------------------------------
// Markets, provers, listings, stake

/** MarketCreated. Stake terms apply to batches matched from now on. */
export function addMarket<request extends OpenRequest>(book: Book<request>, terms: MarketTerms): void {
  const market = ensureMarket(book, terms.marketId)
  market.stakePerTask = terms.stakePerTask
  market.stakeSource = terms.stakeSource?.toLowerCase()
}

/** ProverRegistered, CapacityUpdated, or a fresh read (with computeInUse). */
export function setProver<request extends OpenRequest>(book: Book<request>, update: ProverUpdate): void {
  const prover = ensureProver(book, update.prover)
  prover.capacity = update.capacity
  if (update.computeInUse !== undefined) prover.computeInUse = update.computeInUse
}

/** ProverDeregistered: the prover and any listing it still has leave the book. */
export function removeProver<request extends OpenRequest>(book: Book<request>, proverAddress: Address): void {
  const prover = book.provers.get(proverAddress.toLowerCase())
  if (prover === undefined) return
  for (const marketId of [...prover.listings.keys()]) removeListing(book, { prover: proverAddress, marketId })
  book.provers.delete(proverAddress.toLowerCase())
}

/** Listed or ListingUpdated. */
export function setListing<request extends OpenRequest>(book: Book<request>, update: ListingUpdate): void {
  const market = ensureMarket(book, update.marketId)
  const prover = ensureProver(book, update.prover)
  const key = update.prover.toLowerCase()
  const existing = market.listings.get(key)
  const listing: ListingState = existing ?? {
    prover,
    market,
    price: 0n,
    priceF: 0,
    provingTime: 0,
    computePerRequest: 0,
    active: true,
    round: 0,
    available: false,
  }
  listing.price = update.price
  listing.priceF = Number(update.price)
  listing.provingTime = update.provingTime
  listing.computePerRequest = update.computePerRequest
  if (update.active !== undefined) listing.active = update.active
  market.listings.set(key, listing)
  prover.listings.set(update.marketId, listing)
  market.levelsDirty = true
}

/** LeaveRequested (inactive: a leaving listing cannot be assigned) or LeaveCancelled (active again). */
export function setListingActive<request extends OpenRequest>(
  book: Book<request>,
  params: { prover: Address; marketId: bigint; active: boolean },
): void {
  const market = book.markets.get(params.marketId)
  const listing = market?.listings.get(params.prover.toLowerCase())
  if (market === undefined || listing === undefined) return
  listing.active = params.active
  market.levelsDirty = true
}

/** Delisted. */
export function removeListing<request extends OpenRequest>(
  book: Book<request>,
  params: { prover: Address; marketId: bigint },
): void {
  const market = book.markets.get(params.marketId)
  const key = params.prover.toLowerCase()
  if (market === undefined || !market.listings.delete(key)) return
  book.provers.get(key)?.listings.delete(params.marketId)
  market.levelsDirty = true
}

/**
 * A prover's stake that `stakeSource` can still lock (IStakeSource.availableStake), read at the block the book has
 * caught up to. Without it the engine does not check stake for that source, and the chain skips short items.
 */
export function setAvailableStake<request extends OpenRequest>(
  book: Book<request>,
  params: { prover: Address; stakeSource: Address; amount: bigint },
): void {
  ensureProver(book, params.prover).stake.set(params.stakeSource.toLowerCase(), params.amount)
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and tasks

/** RequestCreated. Returns false for a request already in the book (replayed logs are harmless). */
export function addRequest<request extends OpenRequest>(book: Book<request>, request: request): boolean {
  if (book.requests.has(request.requestId)) return false
  const bps = request.speedPreferenceBps
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError(`speedPreferenceBps ${bps} out of range`)
  const market = ensureMarket(book, request.marketId)
  const entry: RequestEntry<request> = {
    request,
    market,
    maxRewardF: Number(request.maxReward),
    status: 'queued',
    seed: undefined,
    hold: undefined,
  }
  book.requests.set(request.requestId, entry)
  insertQueued(market, entry)
  return true
}

/** RequestCancelled, or a request the service gives up on. Returns the request if it was in the book. */
export function removeRequest<request extends OpenRequest>(
  book: Book<request>,
  requestId: bigint,
): request | undefined {
  const entry = book.requests.get(requestId)
  if (entry === undefined) return undefined
  dropEntry(book, entry)
  return entry.request
}

/**
 * TaskAssigned, by this matcher or any other path (a prover's fallback claim): the request leaves the book, its
 * hold (if any) ends, and the task's compute (and the market's stake, where tracked) becomes the prover's in use.
 */
export function applyTaskAssigned<request extends OpenRequest>(
  book: Book<request>,
  task: { requestId: bigint; prover: Address; compute: number },
): void {
  const entry = book.requests.get(task.requestId)
  if (entry !== undefined) dropEntry(book, entry)
  const prover = ensureProver(book, task.prover)
  prover.computeInUse += task.compute
  const market = book.markets.get(marketIdOf(task.requestId))
  const source = market?.stakeSource
  if (market === undefined || source === undefined || market.stakePerTask === 0n) return
  const available = prover.stake.get(source)
  if (available !== undefined) prover.stake.set(source, max0(available - market.stakePerTask))
}

/** A task ended (fulfilled or slashed): its compute is free again. Refresh stake with setAvailableStake. */
export function applyTaskEnded<request extends OpenRequest>(
  book: Book<request>,
  task: { prover: Address; compute: number },
): void {
  const prover = book.provers.get(task.prover.toLowerCase())
  if (prover !== undefined) prover.computeInUse = Math.max(0, prover.computeInUse - task.compute)
}

/**
 * Marks a freshly matched batch as in flight. Call it right after matchBatch, before anything else touches the
 * book; items whose request is no longer queued are left out. Returns the items held: the ones to sign.
 */
export function holdBatch<request extends OpenRequest>(
  book: Book<request>,
  items: readonly MatchItem<request>[],
): MatchItem<request>[] {
  const held: MatchItem<request>[] = []
  for (const item of items) {
    const entry = book.requests.get(item.requestId)
    const prover = book.provers.get(item.prover.toLowerCase())
    if (entry === undefined || entry.status !== 'queued' || prover === undefined) continue
    const stakeSource = item.stake === 0n ? undefined : entry.market.stakeSource
    entry.status = 'held'
    entry.hold = { prover, compute: item.compute, stake: item.stake, stakeSource }
    entry.market.dead++
    prover.computeHeld += item.compute
    if (stakeSource !== undefined) addTo(prover.stakeHeld, stakeSource, item.stake)
    held.push(item)
  }
  return held
}

/**
 * AssignmentSkipped, a failed transaction, or a batch whose signature expired unsubmitted: the request is open
 * again and its hold ends. Returns whether the request was held.
 */
export function releaseHold<request extends OpenRequest>(book: Book<request>, requestId: bigint): boolean {
  const entry = book.requests.get(requestId)
  if (entry === undefined || entry.status !== 'held') return false
  unhold(entry)
  entry.status = 'queued'
  insertQueued(entry.market, entry)
  return true
}

/** Removes requests past their matching expiry (held ones too, ending their holds) and returns them. */
export function pruneExpired<request extends OpenRequest>(book: Book<request>, now: number): request[] {
  const expired: request[] = []
  for (const entry of book.requests.values()) {
    if (entry.request.matchingExpiry >= now) continue
    expired.push(entry.request)
    dropEntry(book, entry)
  }
  return expired
}

// ---------------------------------------------------------------------------------------------------------------
// Views

export type BookStats = {
  markets: number
  provers: number
  listings: number
  /** Waiting for a prover: queued or parked. */
  open: number
  /** Open requests no active offer of their market could serve. */
  parked: number
  held: number
}

export function bookStats<request extends OpenRequest>(book: Book<request>): BookStats {
  const stats: BookStats = {
    markets: book.markets.size,
    provers: book.provers.size,
    listings: 0,
    open: 0,
    parked: 0,
    held: 0,
  }
  for (const market of book.markets.values()) stats.listings += market.listings.size
  for (const entry of book.requests.values()) {
    if (entry.status === 'held') stats.held++
    else stats.open++
    if (entry.status === 'parked') stats.parked++
  }
  return stats
}

/** A prover's compute as the engine sees it; undefined for an unknown prover. */
export function proverLoad<request extends OpenRequest>(
  book: Book<request>,
  proverAddress: Address,
): { capacity: number; computeInUse: number; computeHeld: number } | undefined {
  const prover = book.provers.get(proverAddress.toLowerCase())
  if (prover === undefined) return undefined
  return { capacity: prover.capacity, computeInUse: prover.computeInUse, computeHeld: prover.computeHeld }
}

/** Whether a request is in the book and where: waiting, held in flight, or absent. */
export function requestStatus<request extends OpenRequest>(
  book: Book<request>,
  requestId: bigint,
): 'open' | 'held' | undefined {
  const status = book.requests.get(requestId)?.status
  if (status === undefined || status === 'removed') return undefined
  return status === 'held' ? 'held' : 'open'
}

// ---------------------------------------------------------------------------------------------------------------
// Internals shared with the engine

/** Serving order: oldest first (creation time, then request id). */
export function compareEntries(a: RequestEntry<OpenRequest>, b: RequestEntry<OpenRequest>): number {
  const byTime = a.request.createdAt - b.request.createdAt
  if (byTime !== 0) return byTime
  const x = a.request.requestId
  const y = b.request.requestId
  return x < y ? -1 : x > y ? 1 : 0
}

function insertQueued<request extends OpenRequest>(market: MarketState<request>, entry: RequestEntry<request>): void {
  const queue = market.queue
  const last = queue[queue.length - 1]
  // Logs arrive in creation order, so this is almost always an append.
  if (last === undefined || compareEntries(last, entry) < 0) {
    queue.push(entry)
    return
  }
  let low = 0
  let high = queue.length
  while (low < high) {
    const mid = (low + high) >>> 1
    const at = queue[mid]
    if (at !== undefined && compareEntries(at, entry) < 0) low = mid + 1
    else high = mid
  }
  queue.splice(low, 0, entry)
}

/** Puts `entries` (in any order) back into the queue in one merge. */
export function mergeQueued<request extends OpenRequest>(
  market: MarketState<request>,
  entries: RequestEntry<request>[],
): void {
  if (entries.length === 0) return
  entries.sort(compareEntries)
  const merged: RequestEntry<request>[] = []
  let i = 0
  let j = 0
  const queue = market.queue
  while (i < queue.length || j < entries.length) {
    const a = queue[i]
    const b = entries[j]
    if (a !== undefined && a.status !== 'queued') {
      i++
    } else if (b === undefined || (a !== undefined && compareEntries(a, b) < 0)) {
      if (a !== undefined) merged.push(a)
      i++
    } else {
      merged.push(b)
      j++
    }
  }
  market.queue = merged
  market.dead = 0
}

/** Drops tombstones once they are the bulk of a queue. */
export function compactQueue<request extends OpenRequest>(market: MarketState<request>): void {
  if (market.dead < 64 || market.dead * 2 < market.queue.length) return
  market.queue = market.queue.filter((entry) => entry.status === 'queued')
  market.dead = 0
}

function dropEntry<request extends OpenRequest>(book: Book<request>, entry: RequestEntry<request>): void {
  if (entry.status === 'held') unhold(entry)
  else if (entry.status === 'queued') entry.market.dead++
  // Parked entries are filtered out of the parked list when it is next re-examined.
  entry.status = 'removed'
  book.requests.delete(entry.request.requestId)
}

function unhold(entry: RequestEntry<OpenRequest>): void {
  const hold = entry.hold
  if (hold === undefined) return
  hold.prover.computeHeld = Math.max(0, hold.prover.computeHeld - hold.compute)
  if (hold.stakeSource !== undefined) addTo(hold.prover.stakeHeld, hold.stakeSource, -hold.stake)
  entry.hold = undefined
}

function ensureMarket<request extends OpenRequest>(book: Book<request>, marketId: bigint): MarketState<request> {
  let market = book.markets.get(marketId)
  if (market === undefined) {
    market = {
      marketId,
      stakePerTask: 0n,
      stakeSource: undefined,
      round: 0,
      availableCount: 0,
      listings: new Map(),
      levels: [],
      frontier: [],
      levelsDirty: false,
      queue: [],
      dead: 0,
      parked: [],
    }
    book.markets.set(marketId, market)
  }
  return market
}

function ensureProver<request extends OpenRequest>(book: Book<request>, address: Address): ProverState {
  const key = address.toLowerCase()
  let prover = book.provers.get(key)
  if (prover === undefined) {
    // A prover first seen through a listing or task has no known capacity until its registration is applied.
    prover = {
      address,
      addressBytes: hexToBytes(address),
      capacity: 0,
      computeInUse: 0,
      computeHeld: 0,
      stake: new Map(),
      stakeHeld: new Map(),
      listings: new Map(),
      round: 0,
      roundCompute: 0,
      roundStake: undefined,
      liveness: newLiveness(),
    }
    book.provers.set(key, prover)
  }
  return prover
}

export function addTo(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount)
}

function max0(value: bigint): bigint {
  return value < 0n ? 0n : value
}
