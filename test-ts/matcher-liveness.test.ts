import { type Address, keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  addRequest,
  answerBy,
  applyTaskAssigned,
  type Book,
  createBook,
  goneProvers,
  type MatchItem,
  matchBatch,
  noteProverAlive,
  noteTaskAssigned,
  noteTaskEnded,
  type OpenRequest,
  proverGoneSince,
  setListing,
  setProver,
} from '../enclave/matcher/engine.js'

// The engine's evidence that a prover is gone (enclave/matcher/liveness.ts), without a chain: the book is fed the
// events the indexer would apply.

const NOW = 1_800_000_000
const ETHER = 10n ** 18n
const MARKET = 1n
const LISTED_PROVING_TIME = 60
const REQUEST_PROVING_TIME = 600
const GRACE = 30
const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`

let nextIndex = 1
function request(): OpenRequest {
  const index = nextIndex++
  return {
    requestId: (MARKET << 64n) | BigInt(index),
    marketId: MARKET,
    maxReward: 10n * ETHER,
    provingTime: REQUEST_PROVING_TIME,
    createdAt: NOW - 1_000,
    matchingExpiry: NOW + 300,
    deadline: NOW + 300 + REQUEST_PROVING_TIME,
    speedPreferenceBps: 0,
    createdBlockHash: keccak256(toHex(`block ${index}`)),
    hasPrivateInputs: false,
  }
}

/** A prover listed in MARKET at `price` ether, capacity 10, one compute unit per task. */
function prover(book: Book, n: number, price: bigint): Address {
  const who = address(n)
  setProver(book, { prover: who, capacity: 10 })
  setListing(book, {
    prover: who,
    marketId: MARKET,
    price: price * ETHER,
    provingTime: LISTED_PROVING_TIME,
    computePerRequest: 1,
  })
  return who
}

/** TaskAssigned of a fresh request to `who` at `assignedAt`, as the indexer applies it. */
function assignTask(book: Book, who: Address, assignedAt: number, byMatcher = true): bigint {
  const { requestId } = request()
  applyTaskAssigned(book, { requestId, prover: who, compute: 1 })
  noteTaskAssigned(book, {
    requestId,
    prover: who,
    marketId: MARKET,
    assignedAt,
    deadline: assignedAt + REQUEST_PROVING_TIME,
    grace: GRACE,
    byMatcher,
  })
  return requestId
}

function matchOne(book: Book, now = NOW): MatchItem | undefined {
  addRequest(book, request())
  const items = matchBatch(book, { now, maxItems: 1 }).items
  return items[0]
}

/** Chain time at which a task assigned at `assignedAt` becomes evidence. */
const dueOf = (assignedAt: number) => assignedAt + LISTED_PROVING_TIME + GRACE

describe('the matcher stops matching a prover the chain shows gone', () => {
  it('a task unanswered past listed proving time + grace: the prover gets nothing more, the next best does', () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    const dear = prover(book, 2, 2n)
    const assignedAt = NOW - 200
    assignTask(book, cheap, assignedAt)
    expect(proverGoneSince(book, cheap, NOW)).toBe(dueOf(assignedAt))
    expect(goneProvers(book, NOW)).toEqual([{ prover: cheap, since: dueOf(assignedAt) }])
    expect(matchOne(book)?.prover).toBe(dear)
  })

  it('before the answer-by time a busy prover is matched as usual', () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    prover(book, 2, 2n)
    const assignedAt = NOW - LISTED_PROVING_TIME - GRACE + 1
    assignTask(book, cheap, assignedAt)
    expect(proverGoneSince(book, cheap, NOW)).toBeUndefined()
    expect(matchOne(book)?.prover).toBe(cheap)
    // One second later the same task is evidence.
    expect(matchOne(book, NOW + 1)?.prover).not.toBe(cheap)
  })

  it('answer-by is capped at the task deadline, and without a listing the deadline alone counts', () => {
    expect(answerBy({ assignedAt: NOW, listedProvingTime: 60, grace: 30, deadline: NOW + 600 })).toBe(NOW + 90)
    expect(answerBy({ assignedAt: NOW, listedProvingTime: 60, grace: 3_600, deadline: NOW + 600 })).toBe(NOW + 600)
    const book = createBook()
    const who = address(7)
    setProver(book, { prover: who, capacity: 10 })
    applyTaskAssigned(book, { requestId: 99n, prover: who, compute: 1 })
    noteTaskAssigned(book, {
      requestId: 99n,
      prover: who,
      marketId: MARKET,
      assignedAt: NOW - 1_000,
      deadline: NOW - 1_000 + REQUEST_PROVING_TIME,
      grace: GRACE,
      byMatcher: true,
    })
    expect(proverGoneSince(book, who, NOW)).toBe(NOW - 1_000 + REQUEST_PROVING_TIME)
  })

  it('a fulfil after the evidence brings the prover back; one before it does not clear it', () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    prover(book, 2, 2n)
    const first = assignTask(book, cheap, NOW - 500)
    const stuck = assignTask(book, cheap, NOW - 300)
    // Answered the first task in time, then went silent: the second task is evidence all the same.
    noteTaskEnded(book, { requestId: first, prover: cheap, answered: true, at: NOW - 450 })
    expect(proverGoneSince(book, cheap, NOW)).toBe(dueOf(NOW - 300))
    expect(matchOne(book)?.prover).not.toBe(cheap)
    // A late answer is a sign of life: matched again.
    noteTaskEnded(book, { requestId: stuck, prover: cheap, answered: true, at: NOW - 10 })
    expect(proverGoneSince(book, cheap, NOW)).toBeUndefined()
    expect(matchOne(book)?.prover).toBe(cheap)
  })

  it('a prover that answers other work while one task is stuck stays matched', () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    prover(book, 2, 2n)
    assignTask(book, cheap, NOW - 300)
    const other = assignTask(book, cheap, NOW - 100)
    noteTaskEnded(book, { requestId: other, prover: cheap, answered: true, at: NOW - 20 })
    expect(proverGoneSince(book, cheap, NOW)).toBeUndefined()
    expect(matchOne(book)?.prover).toBe(cheap)
  })

  it('a slash keeps its evidence after the task is gone, until the prover announces itself', () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    const dear = prover(book, 2, 2n)
    const task = assignTask(book, cheap, NOW - 1_000)
    noteTaskEnded(book, { requestId: task, prover: cheap, answered: false, at: NOW - 300 })
    expect(proverGoneSince(book, cheap, NOW)).toBe(dueOf(NOW - 1_000))
    expect(matchOne(book)?.prover).toBe(dear)
    // The restarted runner's CapacityUpdated (or a listing, or a resume): matched again.
    noteProverAlive(book, { prover: cheap, at: NOW - 5 })
    expect(matchOne(book)?.prover).toBe(cheap)
  })

  it('a restart announced before the evidence does not hide a task left unanswered after it', () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    prover(book, 2, 2n)
    noteProverAlive(book, { prover: cheap, at: NOW - 400 })
    assignTask(book, cheap, NOW - 300)
    expect(matchOne(book)?.prover).not.toBe(cheap)
  })

  it("a fallback claim is the prover's own call: a sign of life at the claim", () => {
    const book = createBook()
    const cheap = prover(book, 1, 1n)
    prover(book, 2, 2n)
    assignTask(book, cheap, NOW - 300)
    assignTask(book, cheap, NOW - 50, false)
    expect(proverGoneSince(book, cheap, NOW)).toBeUndefined()
    expect(matchOne(book)?.prover).toBe(cheap)
  })

  it("another prover's misses, slashes and answers never change whether this prover is matched", () => {
    const book = createBook()
    const honest = prover(book, 1, 1n)
    const rogue = prover(book, 2, 2n)
    // The rogue takes work and leaves it, gets slashed, answers late: all of it its own record only.
    const left = assignTask(book, rogue, NOW - 1_000)
    assignTask(book, rogue, NOW - 900)
    noteTaskEnded(book, { requestId: left, prover: rogue, answered: false, at: NOW - 200 })
    // Ending a task under the wrong prover's name (no such event exists on chain) cannot touch the honest one.
    const honestTask = assignTask(book, honest, NOW - 10)
    noteTaskEnded(book, { requestId: honestTask, prover: rogue, answered: false, at: NOW - 5 })
    expect(proverGoneSince(book, honest, NOW)).toBeUndefined()
    expect(proverGoneSince(book, rogue, NOW)).toBeDefined()
    expect(matchOne(book)?.prover).toBe(honest)
  })
})
