// Throughput of the matcher's in-memory engine (enclave/matcher/engine.ts) on one core, without the chain.
//   npm run bench:matcher            → a table
//   npm run bench:matcher -- --json  → the same figures as JSON
//
// A seeded synthetic book: 50 markets of uneven popularity, 500 provers each listed in 3–8 markets on a coarse
// price/speed grid (so equal offers, and fairness ties, are common), stake tracked in a third of the markets,
// 100 000 open requests with mixed preferences, a tenth with private inputs (only provers holding an enclave key
// may take those), some priced below every offer. Rounds then run as the service would: matchBatch, holdBatch,
// TaskAssigned for every item, and tasks ending a few rounds later so capacity frees up, until nothing more can
// be matched. Only engine calls are timed.
import { type Address, type Hex, keccak256, toHex } from 'viem'
import {
  addMarket,
  addRequest,
  applyTaskAssigned,
  applyTaskEnded,
  type Book,
  bookStats,
  createBook,
  type Eligibility,
  holdBatch,
  type MatchItem,
  matchBatch,
  noteTaskAssigned,
  noteTaskEnded,
  type OpenRequest,
  privateInputsNeedEnclaveKey,
  setAvailableStake,
  setListing,
  setProver,
} from '../../enclave/matcher/engine.js'

const MARKETS = 50
const PROVERS = 500
const REQUESTS = 100_000
const BATCH = 250
const NOW = 1_800_000_000
/** Seconds of chain time per round: tasks end after their proving time, counted in rounds. */
const ROUND_SECONDS = 30
const UNIT = 10n ** 15n
const STAKE_SOURCE: Address = '0x00000000000000000000000000000000005ce5ce'
const MAX_ROUNDS = 5_000
const STAKE_PER_TASK = 50n * UNIT

function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const random = mulberry32(0xca1e)
const pick = <value>(values: readonly value[]): value => values[Math.floor(random() * values.length)] as value
const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))
const proverAddress = (n: number): Address => keccak256(toHex(`prover ${n}`)).slice(0, 42) as Address

type Scenario = {
  book: Book
  enclaveKeys: Set<string>
  /** Available stake the bench mirrors for provers whose stake the engine tracks. */
  stake: Map<Address, bigint>
  setupMs: number
  addMs: number
}

function generateRequests(basePrice: bigint[]): OpenRequest[] {
  const blockHashes: Hex[] = []
  return Array.from({ length: REQUESTS }, (_, i) => {
    // Uneven popularity: low market ids are busiest.
    const marketId = 1 + Math.floor(MARKETS * random() ** 2)
    const base = basePrice[marketId - 1] as bigint
    const preference = random()
    const block = Math.floor(i / 20)
    blockHashes[block] ??= keccak256(toHex(`block ${block}`))
    return {
      requestId: (BigInt(marketId) << 64n) | BigInt(i + 1),
      marketId: BigInt(marketId),
      maxReward: (base * BigInt(between(60, 250))) / 100n,
      provingTime: pick([300, 600, 900, 1_800]),
      createdAt: NOW - 3_600 + Math.floor((i * 3_600) / REQUESTS),
      matchingExpiry: NOW + 10 * 86_400,
      deadline: NOW + 11 * 86_400,
      speedPreferenceBps: preference < 0.4 ? 0 : preference < 0.6 ? 10_000 : between(0, 10_000),
      createdBlockHash: blockHashes[block] as Hex,
      hasPrivateInputs: random() < 0.1,
    }
  })
}

function buildBook(): Scenario {
  const started = performance.now()
  const book = createBook()
  const basePrice = Array.from({ length: MARKETS }, () => BigInt(between(5, 200)) * UNIT)
  for (let m = 0; m < MARKETS; m++) {
    addMarket(book, {
      marketId: BigInt(m + 1),
      stakePerTask: m % 3 === 0 ? STAKE_PER_TASK : 0n,
      stakeSource: STAKE_SOURCE,
    })
  }
  const enclaveKeys = new Set<string>()
  const stake = new Map<Address, bigint>()
  for (let n = 0; n < PROVERS; n++) {
    const prover = proverAddress(n)
    setProver(book, { prover, capacity: between(16, 64), computeInUse: 0 })
    if (random() < 0.5) {
      const amount = BigInt(between(5, 40)) * STAKE_PER_TASK
      stake.set(prover, amount)
      setAvailableStake(book, { prover, stakeSource: STAKE_SOURCE, amount })
    }
    const markets = new Set<number>()
    const count = between(3, 8)
    while (markets.size < count) markets.add(between(1, MARKETS))
    for (const marketId of markets) {
      // Faster offers cost more; both on a coarse grid.
      const speed = between(0, 4)
      const provingTime = [900, 600, 300, 120, 60][speed] as number
      const multiplier = BigInt(pick([80, 90, 100, 110, 125]) + speed * 15)
      const price = ((basePrice[marketId - 1] as bigint) * multiplier) / 100n
      setListing(book, { prover, marketId: BigInt(marketId), price, provingTime, computePerRequest: between(1, 4) })
      if (random() < 0.3) enclaveKeys.add(`${prover}:${marketId}`)
    }
  }
  const requests = generateRequests(basePrice)
  const adding = performance.now()
  for (const request of requests) addRequest(book, request)
  const addMs = performance.now() - adding
  return { book, enclaveKeys, stake, setupMs: adding - started, addMs }
}

type RoundFigures = {
  requests: number
  rounds: number
  matched: number
  leftOpen: number
  matchMs: number
  bookkeepingMs: number
  matchesPerSecond: number
  matchesPerSecondWithBookkeeping: number
  firstRoundMs: number
  roundMsP50: number
  roundMsP99: number
  roundMsMax: number
  visitedPerMatch: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

/**
 * Rounds as the service runs them, until nothing more can be matched: match, hold, TaskAssigned for every item,
 * tasks ending after their proving time (their stake unlocked and re-read, as the service would).
 */
function simulate(book: Book, eligible: Eligibility | undefined, stake: Map<Address, bigint>): RoundFigures {
  const requests = bookStats(book).open
  const ending = new Map<number, MatchItem[]>()
  const roundMs: number[] = []
  let matched = 0
  let visited = 0
  let bookkeepingMs = 0
  let idle = 0
  let round = 0
  for (; round < MAX_ROUNDS && idle < 2; round++) {
    const now = NOW + round * ROUND_SECONDS
    const started = performance.now()
    const batch = matchBatch(book, { now, maxItems: BATCH, minTimeToExpiry: 60, eligible })
    roundMs.push(performance.now() - started)
    matched += batch.items.length
    visited += batch.visited

    const kept = performance.now()
    for (const item of holdBatch(book, batch.items)) {
      applyTaskAssigned(book, { requestId: item.requestId, prover: item.prover, compute: item.compute })
      // The liveness bookkeeping the indexer does for every task (every prover here answers in time).
      noteTaskAssigned(book, {
        requestId: item.requestId,
        prover: item.prover,
        marketId: item.marketId,
        assignedAt: now,
        deadline: now + item.request.provingTime,
        grace: 60,
        byMatcher: true,
      })
      const tracked = stake.get(item.prover)
      if (item.stake !== 0n && tracked !== undefined) stake.set(item.prover, tracked - item.stake)
      const endsAt = round + Math.ceil(item.provingTime / ROUND_SECONDS)
      const list = ending.get(endsAt) ?? []
      list.push(item)
      ending.set(endsAt, list)
    }
    for (const item of ending.get(round) ?? []) {
      applyTaskEnded(book, { prover: item.prover, compute: item.compute })
      noteTaskEnded(book, { requestId: item.requestId, prover: item.prover, answered: true, at: now })
      const tracked = stake.get(item.prover)
      if (item.stake === 0n || tracked === undefined) continue
      stake.set(item.prover, tracked + item.stake)
      setAvailableStake(book, { prover: item.prover, stakeSource: STAKE_SOURCE, amount: tracked + item.stake })
    }
    ending.delete(round)
    bookkeepingMs += performance.now() - kept
    // Done once nothing matches and no task is left to free capacity.
    idle = batch.items.length === 0 && ending.size === 0 ? idle + 1 : 0
  }
  const matchMs = roundMs.reduce((sum, ms) => sum + ms, 0)
  const sorted = [...roundMs].sort((a, b) => a - b)
  return {
    requests,
    rounds: round,
    matched,
    leftOpen: bookStats(book).open,
    matchMs,
    bookkeepingMs,
    matchesPerSecond: (matched / matchMs) * 1_000,
    matchesPerSecondWithBookkeeping: (matched / (matchMs + bookkeepingMs)) * 1_000,
    firstRoundMs: roundMs[0] ?? 0,
    roundMsP50: percentile(sorted, 0.5),
    roundMsP99: percentile(sorted, 0.99),
    roundMsMax: sorted[sorted.length - 1] ?? 0,
    visitedPerMatch: visited / Math.max(1, matched),
  }
}

const TIED_PROVERS = 20
const TIED_REQUESTS = 20_000

/** Worst case for tie-breaking: every offer in the market is the same, so each match hashes every free prover. */
function tiedBook(): Book {
  const book = createBook()
  for (let n = 0; n < TIED_PROVERS; n++) {
    const prover = proverAddress(10_000 + n)
    setProver(book, { prover, capacity: 1_000_000, computeInUse: 0 })
    setListing(book, { prover, marketId: 1n, price: 100n * UNIT, provingTime: 300, computePerRequest: 1 })
  }
  for (let i = 0; i < TIED_REQUESTS; i++) {
    addRequest(book, {
      requestId: (1n << 64n) | BigInt(i + 1),
      marketId: 1n,
      maxReward: 200n * UNIT,
      provingTime: 600,
      createdAt: NOW - 3_600 + Math.floor(i / 10),
      matchingExpiry: NOW + 86_400,
      deadline: NOW + 2 * 86_400,
      speedPreferenceBps: between(0, 10_000),
      createdBlockHash: keccak256(toHex(`tied block ${Math.floor(i / 10)}`)),
      hasPrivateInputs: false,
    })
  }
  return book
}

type Figures = {
  book: { markets: number; provers: number; listings: number; requests: number }
  batchSize: number
  setupMs: number
  addRequestsMs: number
  addRequestsPerSecond: number
  realistic: RoundFigures
  tied: RoundFigures & { tiedProvers: number }
}

function run(): Figures {
  const { book, enclaveKeys, stake, setupMs, addMs } = buildBook()
  const stats = bookStats(book)
  const eligible = privateInputsNeedEnclaveKey<OpenRequest>((prover, marketId) =>
    enclaveKeys.has(`${prover}:${marketId}`),
  )
  const realistic = simulate(book, eligible, stake)
  const tied = { ...simulate(tiedBook(), undefined, new Map()), tiedProvers: TIED_PROVERS }
  return {
    book: { markets: stats.markets, provers: stats.provers, listings: stats.listings, requests: stats.open },
    batchSize: BATCH,
    setupMs,
    addRequestsMs: addMs,
    addRequestsPerSecond: (REQUESTS / addMs) * 1_000,
    realistic,
    tied,
  }
}

function table(figures: Figures): string {
  const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits })
  const scenario = (name: string, f: RoundFigures): [string, string][] => [
    [`${name}: rounds (batch ≤ ${figures.batchSize})`, n(f.rounds)],
    [`${name}: matched / left open`, `${n(f.matched)} of ${n(f.requests)} / ${n(f.leftOpen)}`],
    [`${name}: matches/s, matchBatch alone`, n(f.matchesPerSecond)],
    [`${name}: matches/s, with hold + TaskAssigned + task end`, n(f.matchesPerSecondWithBookkeeping)],
    [
      `${name}: round ms, first / p50 / p99 / max`,
      [f.firstRoundMs, f.roundMsP50, f.roundMsP99, f.roundMsMax].map((ms) => n(ms, 2)).join(' / '),
    ],
    [`${name}: requests visited per match`, n(f.visitedPerMatch, 2)],
  ]
  const { book } = figures
  const rows: [string, string][] = [
    [
      'book',
      `${book.markets} markets, ${book.provers} provers, ${n(book.listings)} listings, ${n(book.requests)} requests`,
    ],
    ['addRequest', `${n(figures.addRequestsMs)} ms (${n(figures.addRequestsPerSecond)}/s)`],
    ...scenario('realistic', figures.realistic),
    ...scenario(`${figures.tied.tiedProvers}-way ties`, figures.tied),
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

const figures = run()
if (process.argv.includes('--json')) console.log(JSON.stringify(figures, null, 2))
else console.log(table(figures))
