import { type Address, encodePacked, hexToBytes, keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  addMarket,
  addRequest,
  applyTaskAssigned,
  applyTaskEnded,
  type Book,
  bookStats,
  createBook,
  holdBatch,
  type ListingUpdate,
  type MatchItem,
  matchBatch,
  type OpenRequest,
  offerScore,
  pickTied,
  privateInputsNeedEnclaveKey,
  proverLoad,
  pruneExpired,
  releaseHold,
  removeListing,
  removeRequest,
  requestStatus,
  setAvailableStake,
  setListing,
  setListingActive,
  setProver,
  tieRank,
} from '../enclave/matcher/engine.js'
import { seedBytes, tieRankBytes } from '../enclave/matcher/fairness.js'

const NOW = 1_800_000_000
const ETHER = 10n ** 18n
const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`
const stakeSource = address(0x5ce)

function requestIdOf(marketId: bigint, index: number): bigint {
  return (marketId << 64n) | BigInt(index)
}

let nextIndex = 1
/** A request in `marketId`; ids count up, so later calls are younger unless createdAt says otherwise. */
function request(marketId: bigint, overrides: Partial<OpenRequest> = {}): OpenRequest {
  const index = nextIndex++
  return {
    requestId: requestIdOf(marketId, index),
    marketId,
    maxReward: 10n * ETHER,
    provingTime: 600,
    createdAt: NOW - 100,
    matchingExpiry: NOW + 300,
    deadline: NOW + 300 + 600,
    speedPreferenceBps: 0,
    createdBlockHash: keccak256(toHex(`block ${index}`)),
    hasPrivateInputs: false,
    ...overrides,
  }
}

function prover(book: Book, n: number, capacity: number, computeInUse = 0): Address {
  const who = address(n)
  setProver(book, { prover: who, capacity, computeInUse })
  return who
}

function listing(book: Book, who: Address, marketId: bigint, offer: Partial<ListingUpdate> = {}): void {
  setListing(book, { prover: who, marketId, price: ETHER, provingTime: 300, computePerRequest: 1, ...offer })
}

function match(book: Book, params: Partial<Parameters<typeof matchBatch>[1]> = {}): MatchItem[] {
  return matchBatch(book, { now: NOW, maxItems: 1_000, ...params }).items
}

/** The prover one request goes to in a book with nothing else open. */
function soleMatch(book: Book, req: OpenRequest): Address | undefined {
  addRequest(book, req)
  const items = match(book)
  expect(items.length).toBeLessThanOrEqual(1)
  return items[0]?.prover
}

describe('validity: what ProverRegistry.reserve and the marketplace would reject is never produced', () => {
  it('listing must be active: a leaving or delisted prover gets nothing, a cancelled leave restores it', () => {
    const book = createBook()
    const a = prover(book, 1, 10)
    listing(book, a, 1n)
    setListingActive(book, { prover: a, marketId: 1n, active: false })
    const req = request(1n)
    expect(soleMatch(book, req)).toBeUndefined()
    setListingActive(book, { prover: a, marketId: 1n, active: true })
    expect(match(book).map((item) => item.prover)).toEqual([a])
    removeListing(book, { prover: a, marketId: 1n })
    expect(match(book)).toEqual([])
  })

  it('price must not exceed maxReward (equal is fine)', () => {
    const book = createBook()
    const a = prover(book, 1, 10)
    listing(book, a, 1n, { price: 5n * ETHER })
    expect(soleMatch(book, request(1n, { maxReward: 5n * ETHER - 1n }))).toBeUndefined()
    const exact = createBook()
    listing(exact, prover(exact, 1, 10), 1n, { price: 5n * ETHER })
    expect(soleMatch(exact, request(1n, { maxReward: 5n * ETHER }))).toBe(a)
  })

  it("proving time must not exceed the request's (equal is fine)", () => {
    const book = createBook()
    const a = prover(book, 1, 10)
    listing(book, a, 1n, { provingTime: 601 })
    expect(soleMatch(book, request(1n, { provingTime: 600 }))).toBeUndefined()
    listing(book, a, 1n, { provingTime: 600 })
    expect(match(book).map((item) => item.prover)).toEqual([a])
  })

  it('computePerRequest must fit in capacity minus compute in use, also when capacity fell below it', () => {
    const book = createBook()
    const a = prover(book, 1, 10, 8)
    listing(book, a, 1n, { computePerRequest: 3 })
    expect(soleMatch(book, request(1n))).toBeUndefined()
    applyTaskEnded(book, { prover: a, compute: 1 })
    expect(match(book).map((item) => item.compute)).toEqual([3])
    setProver(book, { prover: a, capacity: 5, computeInUse: 9 })
    addRequest(book, request(1n))
    expect(match(book)).toEqual([])
  })

  it('stake must cover stakePerTask where the service tracks it; untracked stake is left to the chain', () => {
    const book = createBook()
    addMarket(book, { marketId: 1n, stakePerTask: 100n, stakeSource })
    const [a, b] = [prover(book, 1, 10), prover(book, 2, 10)]
    listing(book, a, 1n, { price: ETHER })
    listing(book, b, 1n, { price: 2n * ETHER })
    setAvailableStake(book, { prover: a, stakeSource, amount: 250n })
    for (let i = 0; i < 4; i++) addRequest(book, request(1n))
    const items = match(book)
    // a (cheaper) can back two tasks; b's stake is untracked, so it takes the rest.
    expect(items.map((item) => item.prover)).toEqual([a, a, b, b])
    expect(items.every((item) => item.stake === 100n)).toBe(true)
  })

  it('matching expiry: expired requests are reported, ones that could not land in time are left, pruneExpired drops them', () => {
    const book = createBook()
    listing(book, prover(book, 1, 10), 1n)
    const gone = request(1n, { matchingExpiry: NOW - 1 })
    const tight = request(1n, { matchingExpiry: NOW + 10 })
    const onTheDot = request(1n, { matchingExpiry: NOW })
    for (const req of [gone, tight, onTheDot]) addRequest(book, req)
    const batch = matchBatch(book, { now: NOW, maxItems: 10, minTimeToExpiry: 0 })
    expect(batch.expired).toEqual([gone])
    // The chain rejects only block.timestamp > matchingExpiry, so a request expiring exactly now is still valid.
    expect(batch.items.map((item) => item.requestId).sort()).toEqual([tight.requestId, onTheDot.requestId].sort())

    const later = createBook()
    listing(later, prover(later, 1, 10), 1n)
    for (const req of [gone, tight, onTheDot]) addRequest(later, req)
    const cautious = matchBatch(later, { now: NOW, maxItems: 10, minTimeToExpiry: 30 })
    expect(cautious.items).toEqual([])
    expect(pruneExpired(later, NOW + 5)).toEqual([gone, onTheDot])
    expect(bookStats(later).open).toBe(1)
  })
})

describe('capacity is one pool across markets', () => {
  it('a batch never books a prover beyond its capacity, counting earlier items in every market', () => {
    const book = createBook()
    const a = prover(book, 1, 5)
    const b = prover(book, 2, 100)
    listing(book, a, 1n, { price: ETHER, computePerRequest: 2 })
    listing(book, a, 2n, { price: ETHER, computePerRequest: 1 })
    listing(book, b, 1n, { price: 3n * ETHER, computePerRequest: 2 })
    listing(book, b, 2n, { price: 3n * ETHER, computePerRequest: 1 })
    // Oldest first, alternating markets: a takes 2 (m1) + 1 (m2) + 2 (m1) = 5, then is full everywhere.
    for (let i = 0; i < 6; i++) addRequest(book, request(i % 2 === 0 ? 1n : 2n, { createdAt: NOW - 100 + i }))
    const items = match(book)
    expect(items.map((item) => [item.marketId, item.prover])).toEqual([
      [1n, a],
      [2n, a],
      [1n, a],
      [2n, b],
      [1n, b],
      [2n, b],
    ])
    const onA = items.filter((item) => item.prover === a).reduce((sum, item) => sum + item.compute, 0)
    expect(onA).toBe(5)
  })

  it('held batches count as used until TaskAssigned or a skip settles them', () => {
    const book = createBook()
    const a = prover(book, 1, 2)
    listing(book, a, 1n)
    listing(book, a, 2n)
    const [r1, r2, r3] = [1n, 2n, 1n].map((marketId, i) => request(marketId, { createdAt: NOW - 100 + i })) as [
      OpenRequest,
      OpenRequest,
      OpenRequest,
    ]
    for (const req of [r1, r2, r3]) addRequest(book, req)
    const held = holdBatch(book, match(book))
    expect(held.map((item) => item.requestId)).toEqual([r1.requestId, r2.requestId])
    expect(proverLoad(book, a)).toEqual({ capacity: 2, computeInUse: 0, computeHeld: 2 })
    // In flight: neither the held requests nor more work for a.
    expect(match(book)).toEqual([])
    expect(requestStatus(book, r1.requestId)).toBe('held')

    applyTaskAssigned(book, { requestId: r1.requestId, prover: a, compute: 1 })
    expect(requestStatus(book, r1.requestId)).toBeUndefined()
    expect(proverLoad(book, a)).toEqual({ capacity: 2, computeInUse: 1, computeHeld: 1 })

    // r2 was skipped on chain: it is open again and, being older than r3, served first.
    expect(releaseHold(book, r2.requestId)).toBe(true)
    expect(match(book).map((item) => item.requestId)).toEqual([r2.requestId])
  })

  it('a claim by another path frees the held request and books the claimer', () => {
    const book = createBook()
    const [a, b] = [prover(book, 1, 4), prover(book, 2, 4)]
    listing(book, a, 1n)
    const req = request(1n)
    addRequest(book, req)
    holdBatch(book, match(book))
    applyTaskAssigned(book, { requestId: req.requestId, prover: b, compute: 3 })
    expect(proverLoad(book, a)).toEqual({ capacity: 4, computeInUse: 0, computeHeld: 0 })
    expect(proverLoad(book, b)).toEqual({ capacity: 4, computeInUse: 3, computeHeld: 0 })
    expect(bookStats(book)).toMatchObject({ open: 0, held: 0 })
  })
})

describe('price-vs-time preference', () => {
  function threeOffers(): { book: Book; cheap: Address; middle: Address; fast: Address } {
    const book = createBook()
    const [cheap, middle, fast] = [prover(book, 1, 10), prover(book, 2, 10), prover(book, 3, 10)]
    listing(book, cheap, 1n, { price: 1n * ETHER, provingTime: 600 })
    listing(book, middle, 1n, { price: 4n * ETHER, provingTime: 200 })
    listing(book, fast, 1n, { price: 9n * ETHER, provingTime: 60 })
    return { book, cheap, middle, fast }
  }

  it('0 bps picks the cheapest prover, 10 000 bps the fastest', () => {
    const cheapest = threeOffers()
    expect(soleMatch(cheapest.book, request(1n, { speedPreferenceBps: 0 }))).toBe(cheapest.cheap)
    const fastest = threeOffers()
    expect(soleMatch(fastest.book, request(1n, { speedPreferenceBps: 10_000 }))).toBe(fastest.fast)
  })

  it('in between, the lowest blended score wins', () => {
    // maxReward 10, provingTime 600: at s = 0.5, cheap = .5(.1)+.5(1) = .55, middle = .5(.4)+.5(1/3) ≈ .367,
    // fast = .5(.9)+.5(.1) = .5.
    const { book, middle } = threeOffers()
    const req = request(1n, { speedPreferenceBps: 5_000 })
    expect(soleMatch(book, req)).toBe(middle)
    expect(offerScore(req, { price: 4n * ETHER, provingTime: 200 })).toBeLessThan(
      offerScore(req, { price: 9n * ETHER, provingTime: 60 }),
    )
  })

  it('at the extremes a dominated offer never wins the tie', () => {
    const book = createBook()
    const [slow, quick] = [prover(book, 1, 100), prover(book, 2, 100)]
    listing(book, slow, 1n, { price: ETHER, provingTime: 500 })
    listing(book, quick, 1n, { price: ETHER, provingTime: 100 })
    for (let i = 0; i < 20; i++) addRequest(book, request(1n, { speedPreferenceBps: 0 }))
    expect(new Set(match(book).map((item) => item.prover))).toEqual(new Set([quick]))

    const timed = createBook()
    const [dear, thrifty] = [prover(timed, 1, 100), prover(timed, 2, 100)]
    listing(timed, dear, 1n, { price: 5n * ETHER, provingTime: 100 })
    listing(timed, thrifty, 1n, { price: 2n * ETHER, provingTime: 100 })
    for (let i = 0; i < 20; i++) addRequest(timed, request(1n, { speedPreferenceBps: 10_000 }))
    expect(new Set(match(timed).map((item) => item.prover))).toEqual(new Set([thrifty]))
  })

  it('falls back to the next best offer when the best has no room', () => {
    const { book, cheap, middle } = threeOffers()
    setProver(book, { prover: cheap, capacity: 10, computeInUse: 10 })
    expect(soleMatch(book, request(1n, { speedPreferenceBps: 0 }))).toBe(middle)
  })
})

describe('fairness among equal provers', () => {
  function equalProvers(order: number[]): { book: Book; provers: Address[] } {
    const book = createBook()
    const provers = order.map((n) => prover(book, 0x1000 + n, 1_000_000))
    for (const who of provers) listing(book, who, 7n, { price: 2n * ETHER, provingTime: 120 })
    return { book, provers }
  }

  it('equal provers get near-equal shares over many requests', () => {
    const { book, provers } = equalProvers([0, 1, 2, 3, 4])
    const requests = Array.from({ length: 5_000 }, () => request(7n))
    for (const req of requests) addRequest(book, req)
    const items = match(book, { maxItems: 10_000 })
    expect(items).toHaveLength(5_000)
    const shares = new Map<Address, number>()
    for (const item of items) shares.set(item.prover, (shares.get(item.prover) ?? 0) + 1)
    // Each share is Binomial(5000, 1/5): mean 1000, σ ≈ 28; ±150 is over 5σ.
    for (const who of provers) expect(Math.abs((shares.get(who) ?? 0) - 1_000)).toBeLessThan(150)
  })

  it('every pick is reproducible by anyone from the request id, its block hash and the tied provers', () => {
    const first = equalProvers([0, 1, 2, 3, 4])
    const second = equalProvers([4, 2, 0, 3, 1])
    const requests = Array.from({ length: 200 }, () => request(7n))
    for (const req of requests) addRequest(first.book, req)
    for (const req of [...requests].reverse()) addRequest(second.book, req)
    const items = match(first.book)
    // Another matcher with the same book, built in another order, makes the same choices.
    expect(match(second.book).map((item) => [item.requestId, item.prover])).toEqual(
      items.map((item) => [item.requestId, item.prover]),
    )
    for (const item of items) {
      expect(item.prover).toBe(pickTied(item.requestId, item.request.createdBlockHash, first.provers))
    }
  })

  it('ranks are the documented hash, keccak256(requestId ‖ createdBlockHash ‖ prover)', () => {
    const req = request(7n)
    const who = address(0xbeef)
    const rank = tieRank(req.requestId, req.createdBlockHash, who)
    expect(rank).toBe(
      keccak256(encodePacked(['uint256', 'bytes32', 'address'], [req.requestId, req.createdBlockHash, who])),
    )
    expect(toHex(tieRankBytes(seedBytes(req.requestId, req.createdBlockHash), hexToBytes(who)))).toBe(rank)
  })

  it('a prover that is not the winner dropping out never changes the winner', () => {
    const provers = Array.from({ length: 6 }, (_, i) => address(0x2000 + i))
    for (let i = 0; i < 300; i++) {
      const blockHash = keccak256(toHex(i))
      const winner = pickTied(BigInt(i), blockHash, provers)
      for (const gone of provers) {
        if (gone === winner) continue
        expect(
          pickTied(
            BigInt(i),
            blockHash,
            provers.filter((who) => who !== gone),
          ),
        ).toBe(winner)
      }
    }
  })
})

describe('eligibility predicate', () => {
  it('private inputs go only to provers with an enclave key in the market, even when others are better', () => {
    const book = createBook()
    const [plain, enclave] = [prover(book, 1, 10), prover(book, 2, 10)]
    listing(book, plain, 1n, { price: ETHER })
    listing(book, enclave, 1n, { price: 3n * ETHER })
    const secret = request(1n, { hasPrivateInputs: true })
    const open = request(1n)
    addRequest(book, secret)
    addRequest(book, open)
    const keys = new Set([`${enclave}:1`])
    const eligible = privateInputsNeedEnclaveKey((who, marketId) => keys.has(`${who}:${marketId}`))
    const items = match(book, { eligible })
    expect(items.map((item) => [item.requestId, item.prover])).toEqual([
      [secret.requestId, enclave],
      [open.requestId, plain],
    ])
  })

  it('a request with no eligible prover stays open', () => {
    const book = createBook()
    listing(book, prover(book, 1, 10), 1n)
    const secret = request(1n, { hasPrivateInputs: true })
    addRequest(book, secret)
    expect(match(book, { eligible: privateInputsNeedEnclaveKey(() => false) })).toEqual([])
    expect(requestStatus(book, secret.requestId)).toBe('open')
  })
})

describe('batches and serving order', () => {
  it('caps a batch at maxItems and serves the rest oldest first in later rounds', () => {
    const book = createBook()
    listing(book, prover(book, 1, 1_000), 1n)
    listing(book, prover(book, 2, 1_000), 2n)
    // Created in shuffled order across two markets.
    const requests = Array.from({ length: 25 }, (_, i) =>
      request(i % 2 === 0 ? 1n : 2n, { createdAt: NOW - 1_000 + ((i * 7) % 25) }),
    )
    for (const req of requests) addRequest(book, req)
    const byAge = [...requests].sort((x, y) => x.createdAt - y.createdAt).map((req) => req.requestId)
    const served: bigint[] = []
    for (let round = 0; round < 3; round++) {
      const items = holdBatch(book, match(book, { maxItems: 10 }))
      expect(items.length).toBe(round < 2 ? 10 : 5)
      served.push(...items.map((item) => item.requestId))
    }
    expect(served).toEqual(byAge)
  })

  it('when capacity is short, the oldest requests are the ones served', () => {
    const book = createBook()
    const a = prover(book, 1, 3)
    listing(book, a, 1n)
    listing(book, a, 2n)
    const young = request(1n, { createdAt: NOW - 10 })
    const old = request(2n, { createdAt: NOW - 50 })
    const middle = request(1n, { createdAt: NOW - 30 })
    const oldest = request(1n, { createdAt: NOW - 90 })
    for (const req of [young, old, middle, oldest]) addRequest(book, req)
    expect(match(book).map((item) => item.requestId)).toEqual([oldest.requestId, old.requestId, middle.requestId])
  })

  it('requests no offer could serve wait parked and are matched once a suitable listing appears', () => {
    const book = createBook()
    const a = prover(book, 1, 10)
    listing(book, a, 1n, { price: 5n * ETHER })
    const lowball = request(1n, { maxReward: ETHER })
    addRequest(book, lowball)
    expect(match(book)).toEqual([])
    expect(bookStats(book)).toMatchObject({ open: 1, parked: 1 })
    listing(book, a, 1n, { price: ETHER })
    expect(match(book).map((item) => item.requestId)).toEqual([lowball.requestId])
    expect(removeRequest(book, lowball.requestId)).toBe(lowball)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// A randomized book checked against a direct transcription of the contracts' rules.

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

type Offer = { price: bigint; provingTime: number; computePerRequest: number; active: boolean }

describe('randomized books', () => {
  it('every item is valid in sequence and takes a best-scoring valid offer', () => {
    const random = mulberry32(42)
    const pick = <value>(values: readonly value[]): value => values[Math.floor(random() * values.length)] as value
    let fullBatches = 0
    let matched = 0
    let leftOut = 0
    for (let trial = 0; trial < 20; trial++) {
      const book = createBook()
      const capacity = new Map<Address, number>()
      const inUse = new Map<Address, number>()
      const stake = new Map<Address, bigint>()
      const offers = new Map<string, Offer>()
      const markets = [1n, 2n, 3n]
      for (const marketId of markets)
        addMarket(book, { marketId, stakePerTask: marketId === 3n ? 10n : 0n, stakeSource })
      for (let n = 1; n <= 12; n++) {
        const who = address(n)
        capacity.set(who, 2 + Math.floor(random() * 14))
        inUse.set(who, Math.floor(random() * 3))
        setProver(book, { prover: who, capacity: capacity.get(who) ?? 0, computeInUse: inUse.get(who) })
        if (random() < 0.5) {
          stake.set(who, BigInt(Math.floor(random() * 40)))
          setAvailableStake(book, { prover: who, stakeSource, amount: stake.get(who) ?? 0n })
        }
        for (const marketId of markets) {
          if (random() < 0.4) continue
          const offer: Offer = {
            price: BigInt(pick([1, 2, 3, 5, 8])) * ETHER,
            provingTime: pick([60, 120, 300, 600]),
            computePerRequest: 1 + Math.floor(random() * 3),
            active: random() < 0.85,
          }
          offers.set(`${who}:${marketId}`, offer)
          setListing(book, { prover: who, marketId, ...offer })
        }
      }
      const requests = Array.from({ length: 150 }, (_, i) =>
        request(pick(markets), {
          maxReward: BigInt(pick([1, 2, 4, 6, 10])) * ETHER,
          provingTime: pick([60, 200, 600]),
          speedPreferenceBps: pick([0, 2_500, 5_000, 7_500, 10_000, Math.floor(random() * 10_001)]),
          createdAt: NOW - 500 + i,
          matchingExpiry: NOW + pick([-5, 0, 20, 300]),
          hasPrivateInputs: random() < 0.2,
        }),
      )
      for (const req of requests) addRequest(book, req)
      const keyHolders = new Set([address(2), address(5), address(9)])
      const eligible = privateInputsNeedEnclaveKey((who) => keyHolders.has(who))
      const minTimeToExpiry = 10
      const maxItems = trial % 3 === 0 ? 12 : 60
      const batch = matchBatch(book, { now: NOW, maxItems, minTimeToExpiry, eligible })

      const usedCompute = new Map(inUse)
      const usedStake = new Map<Address, bigint>()
      const assigned = new Set<bigint>()
      /** Reference rules: listing Active, price, time, capacity, stake, expiry, eligibility. */
      const valid = (req: OpenRequest, who: Address): Offer | undefined => {
        const offer = offers.get(`${who}:${req.marketId}`)
        if (offer === undefined || !offer.active) return undefined
        if (offer.price > req.maxReward || offer.provingTime > req.provingTime) return undefined
        if ((capacity.get(who) ?? 0) - (usedCompute.get(who) ?? 0) < offer.computePerRequest) return undefined
        const tracked = stake.get(who)
        if (req.marketId === 3n && tracked !== undefined && tracked - (usedStake.get(who) ?? 0n) < 10n) return undefined
        if (!eligible(req, who, req.marketId)) return undefined
        return offer
      }
      for (const item of batch.items) {
        const req = item.request
        expect(assigned.has(req.requestId)).toBe(false)
        expect(req.matchingExpiry).toBeGreaterThanOrEqual(NOW + minTimeToExpiry)
        const offer = valid(req, item.prover)
        expect(offer).toBeDefined()
        if (offer === undefined) continue
        const chosen = offerScore(req, offer)
        const better = [...capacity.keys()]
          .map((who) => valid(req, who))
          .filter((other) => other !== undefined && offerScore(req, other) < chosen)
        expect(better).toEqual([])
        usedCompute.set(item.prover, (usedCompute.get(item.prover) ?? 0) + offer.computePerRequest)
        if (req.marketId === 3n) usedStake.set(item.prover, (usedStake.get(item.prover) ?? 0n) + 10n)
        assigned.add(req.requestId)
      }
      // Serving is oldest first and room only shrinks during a batch, so a request left out that is older than the
      // last one served (or any, when the batch is not full) must have no valid prover left at the end.
      const last = batch.items[batch.items.length - 1]?.request.createdAt ?? Number.NEGATIVE_INFINITY
      const full = batch.items.length === maxItems
      for (const req of requests) {
        if (assigned.has(req.requestId) || req.matchingExpiry < NOW + minTimeToExpiry) continue
        if (full && req.createdAt > last) continue
        expect([...capacity.keys()].some((who) => valid(req, who) !== undefined)).toBe(false)
        leftOut++
      }
      matched += batch.items.length
      if (full) fullBatches++
    }
    // The trials exercise both full batches and batches cut short by capacity, with plenty matched and left out.
    expect(fullBatches).toBeGreaterThan(0)
    expect(fullBatches).toBeLessThan(20)
    expect(matched).toBeGreaterThan(300)
    expect(leftOut).toBeGreaterThan(300)
  })
})
