import { type Address, keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  addMarket,
  addRequest,
  type Book,
  createBook,
  holdBatch,
  matchBatch,
  type OpenRequest,
  setAvailableStake,
  setListing,
  setListingActive,
  setProver,
} from '../enclave/matcher/engine.js'
import { describeWait, explainWait, type WaitReason } from '../enclave/matcher/explain.js'

// explainWait must say "Queued" exactly when the engine would match the request now, and otherwise name the same
// obstacle the engine stops at: every case below also runs matchBatch on the same book.

const NOW = 1_800_000_000
const ETHER = 10n ** 18n
const MARKET = 1n
const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`
const stakeSource = address(0x5ce)
const PROVER = address(0xa1)
type HasKey = (prover: Address, marketId: bigint) => boolean
const noKeys: HasKey = () => false

function request(overrides: Partial<OpenRequest> = {}): OpenRequest {
  return {
    requestId: (MARKET << 64n) | 1n,
    marketId: MARKET,
    maxReward: 10n * ETHER,
    provingTime: 600,
    createdAt: NOW - 100,
    matchingExpiry: NOW + 300,
    deadline: NOW + 900,
    speedPreferenceBps: 0,
    createdBlockHash: keccak256(toHex('block 1')),
    hasPrivateInputs: false,
    ...overrides,
  }
}

/** A market locking 100 per task, one prover with capacity 2 listed at 1 ether / 300 s, and `open` in the book. */
function bookWith(open: OpenRequest, stake: bigint | undefined = 1_000n * ETHER): Book {
  const book = createBook()
  addMarket(book, { marketId: MARKET, stakePerTask: 100n * ETHER, stakeSource })
  setProver(book, { prover: PROVER, capacity: 2, computeInUse: 0 })
  setListing(book, { prover: PROVER, marketId: MARKET, price: ETHER, provingTime: 300, computePerRequest: 1 })
  if (stake !== undefined) setAvailableStake(book, { prover: PROVER, stakeSource, amount: stake })
  addRequest(book, open)
  return book
}

function explain(book: Book, open: OpenRequest, hasEnclaveKey: HasKey = noKeys): WaitReason {
  return explainWait(book, open, { now: NOW, minTimeToExpiry: 10, hasEnclaveKey })
}

/** What the engine does with the book now: the ids it would match. */
function matched(book: Book, hasEnclaveKey: HasKey = noKeys): bigint[] {
  const eligible = (open: OpenRequest, prover: Address, marketId: bigint) =>
    !open.hasPrivateInputs || hasEnclaveKey(prover, marketId)
  return matchBatch(book, { now: NOW, maxItems: 10, minTimeToExpiry: 10, eligible }).items.map((i) => i.requestId)
}

describe('why the matcher has not assigned a request', () => {
  it('Queued when a valid offer has room, and the engine matches it', () => {
    const open = request()
    const book = bookWith(open)
    expect(explain(book, open)).toEqual({ code: 'Queued' })
    expect(matched(book)).toEqual([open.requestId])
  })

  it('InsufficientStake with the prover, what it can lock and what the market needs; the engine does not match', () => {
    const open = request()
    const book = bookWith(open, 40n * ETHER)
    const reason = explain(book, open)
    expect(reason).toEqual({
      code: 'InsufficientStake',
      prover: PROVER,
      available: 40n * ETHER,
      required: 100n * ETHER,
      blockedOffers: 1,
    })
    expect(describeWait(reason)).toContain(`prover ${PROVER} can lock 40e18 of the 100e18 stake`)
    expect(matched(book)).toEqual([])
  })

  it('stake held by a batch in flight counts as used, as it does for the engine', () => {
    const first = request()
    const second = request({ requestId: (MARKET << 64n) | 2n, createdAt: NOW - 50 })
    const book = bookWith(first, 150n * ETHER)
    addRequest(book, second)
    holdBatch(book, matchBatch(book, { now: NOW, maxItems: 1 }).items)
    expect(explain(book, first)).toEqual({ code: 'InFlight' })
    expect(explain(book, second)).toMatchObject({ code: 'InsufficientStake', available: 50n * ETHER })
    expect(matched(book)).toEqual([])
  })

  it('CapacityFull when the prover has no compute left', () => {
    const open = request()
    const book = bookWith(open)
    setProver(book, { prover: PROVER, capacity: 2, computeInUse: 2 })
    expect(explain(book, open)).toEqual({
      code: 'CapacityFull',
      prover: PROVER,
      free: 0,
      required: 1,
      blockedOffers: 1,
    })
    expect(matched(book)).toEqual([])
  })

  it('NoEnclaveKey for private inputs until the prover has a key in the market', () => {
    const open = request({ hasPrivateInputs: true })
    const book = bookWith(open)
    expect(explain(book, open)).toMatchObject({ code: 'NoEnclaveKey', prover: PROVER })
    expect(matched(book)).toEqual([])
    const withKey: HasKey = () => true
    expect(explain(book, open, withKey)).toEqual({ code: 'Queued' })
    expect(matched(book, withKey)).toEqual([open.requestId])
  })

  it('NoOfferWithinBounds, NoListing, ExpiresTooSoon and Expired', () => {
    const cheap = request({ maxReward: ETHER / 2n })
    expect(explain(bookWith(cheap), cheap)).toMatchObject({ code: 'NoOfferWithinBounds', maxReward: ETHER / 2n })
    expect(matched(bookWith(cheap))).toEqual([])

    const open = request()
    const leaving = bookWith(open)
    setListingActive(leaving, { prover: PROVER, marketId: MARKET, active: false })
    expect(explain(leaving, open)).toEqual({ code: 'NoListing', marketId: MARKET })
    expect(matched(leaving)).toEqual([])

    const soon = request({ matchingExpiry: NOW + 5 })
    expect(explain(bookWith(soon), soon)).toMatchObject({ code: 'ExpiresTooSoon', minTimeToExpiry: 10 })
    expect(matched(bookWith(soon))).toEqual([])

    const past = request({ matchingExpiry: NOW - 1 })
    expect(explain(bookWith(past), past)).toEqual({ code: 'Expired', matchingExpiry: NOW - 1 })
    expect(describeWait(explain(bookWith(past), past))).toContain('cancel it')
  })
})
