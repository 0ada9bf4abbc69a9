import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, getAddress, keccak256, recoverTypedDataAddress, zeroHash } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainView, dropRequest, type MatcherRequest, type SyncNotes } from '../enclave/matcher/chain.js'
import {
  addRequest,
  applyTaskAssigned,
  type MatchItem,
  proverLoad,
  requestStatus,
  setListing,
  setProver,
} from '../enclave/matcher/engine.js'
import { createFastLane } from '../enclave/matcher/fast-lane.js'
import { createFastOffers } from '../enclave/matcher/fast-offers.js'
import { laneOf } from '../enclave/matcher/fast-policy.js'
import { fastAssignmentsRoute } from '../enclave/matcher/fast-route.js'
import type { OrderChainView } from '../enclave/matcher/order-checks.js'
import { createJournal, decodeRecord, replayText } from '../enclave/matcher/order-journal.js'
import { createOrderStore } from '../enclave/matcher/order-store.js'
import { createOrderStream, type OrderStream } from '../enclave/matcher/order-stream.js'
import { createRound } from '../enclave/matcher/round.js'
import type { Prepared } from '../enclave/matcher/submitter.js'
import { waitReasonOf } from '../enclave/matcher/wait-reasons.js'
import type { Deployment } from '../ts/deployment.js'
import { fastAssignmentTypedData, openFulfilment, parseFastAssignments } from '../ts/fast-assignments.js'
import { combinedInputsDigest } from '../ts/types.js'
import {
  address,
  captureLog,
  createMetrics,
  ETHER,
  head,
  MARKET,
  matcherRequest,
  metricValue,
  NOW,
  notes,
  PROVER,
  privateInputs,
  viewWith,
} from './matcher-fakes.js'

// The fast lane for on-chain requests (fulfilOpen) without a chain: the policy over both kinds, an Open request's
// offer held against the prover's capacity and served in the route's `open` list, its journal replay after a restart,
// a lapse falling back to `assign` without the lapsed prover, and the offer ending as the chain ends its request
// (fulfilled while Open: used; assigned by another path or cancelled: dropped).

const deployment = {
  chainId: 31337,
  contracts: { proofMarketplace: '0x00000000000000000000000000000000000000aa' },
} as unknown as Deployment
const matcherKey = privateKeyToAccount(generatePrivateKey())
const PROVER_2 = address(0xa2)
const CHECKSUMMED = getAddress(PROVER)
/** What fulfilOpen recomputes for public inputs 0x01 and no private inputs. */
const PUBLIC_ONLY = combinedInputsDigest(keccak256('0x01'), zeroHash)

/** An on-chain request with public inputs only, Open, whose window (300 s listing + 30 s margin) leaves `assign` room. */
function openRequest(overrides: Partial<MatcherRequest> = {}): MatcherRequest {
  const base = matcherRequest({ matchingExpiry: NOW + 400, deadline: NOW + 1000 })
  return {
    ...base,
    record: {
      ...base.record,
      // As the chain's logs carry it (checksummed), the way the route's parser gives it back.
      refundAddress: getAddress(base.record.refundAddress),
      matchingExpiry: NOW + 400,
      inputsDigest: PUBLIC_ONLY,
    },
    ...overrides,
  }
}

const chain: OrderChainView = {
  market: async () => undefined,
  validatePublicInputs: async () => true,
  hasCode: async () => false,
  isValidSignature: async () => undefined,
  nonceWord: async () => 0n,
  requestStatus: async () => 0,
  balance: async () => 0n,
}

function listSecondProver(view: ChainView): void {
  setProver(view.book, { prover: PROVER_2, capacity: 8, computeInUse: 0 })
  setListing(view.book, {
    prover: PROVER_2,
    marketId: MARKET,
    price: 2n * ETHER,
    provingTime: 300,
    computePerRequest: 1,
  })
}

/**
 * The matcher without a chain: the view of matcher-fakes (PROVER at 1 ether / 300 s) holding `requests` Open, the
 * order stream (no orders) over a real journal at `path`, the fast lane signing with `matcherKey`, and a round whose
 * submitter keeps what it is handed (the `assign` lane).
 */
function harness(path: string, requests: readonly MatcherRequest[], options: { block?: bigint } = {}) {
  const view = viewWith(requests)
  view.block = head(options.block ?? 1n)
  const journal = createJournal(path)
  const metrics = createMetrics()
  const { log } = captureLog()
  let stream: OrderStream | undefined
  const lane = createFastLane({
    rule: { enabled: true, margin: 30, minTimeToExpiry: 5 },
    offers: createFastOffers(),
    store: createOrderStore(),
    orders: () => stream as OrderStream,
    journal,
    view: () => view,
    sign: (assignment) => matcherKey.signTypedData(fastAssignmentTypedData(deployment, assignment)),
    balance: async () => 0n,
    fulfilledOnChain: async () => false,
    metrics,
    log,
  })
  stream = createOrderStream({
    deployment,
    journal,
    store: createOrderStore(),
    view: () => view,
    chain: () => (view.block === undefined ? undefined : { head: view.block, reader: chain }),
    inputs: { load: () => undefined, forget: () => undefined },
    checkEnvelope: () => undefined,
    minTimeToExpiry: 5,
    metrics,
    log,
    fast: lane.hooks,
  })
  const submitted: MatchItem[][] = []
  const round = createRound({
    view: () => view,
    inputs: { get: () => undefined, ids: () => [], forget: () => undefined },
    noteGone: () => undefined,
    prepare: async (held) => held.map((item) => ({ item }) as Prepared),
    submitter: { submit: async (held) => void submitted.push([...held]) },
    maxBatch: 10,
    minTimeToExpiry: 5,
    metrics,
    matchable: stream.matchable,
    fast: lane,
  })
  /** A round at block `number` (chain time NOW + number). */
  const at = async (number: bigint) => {
    view.block = head(number)
    await round.run(head(number))
  }
  const see = (seen: Partial<SyncNotes>) => {
    lane.onNotes(notes(seen))
    stream?.onNotes(notes(seen))
  }
  const assigned = () => submitted.flat().map((item) => [item.requestId, item.prover])
  return { view, journal, metrics, lane, stream, submitted, assigned, at, see }
}

/** Waits until the journal's text satisfies `done` (appends that are not waited for land a moment later). */
async function journalled(path: string, done: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = await readFile(path, 'utf8').catch(() => '')
    if (done(text)) return text
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`journal ${path} never got there`)
}

describe('the fast lane policy over both kinds', () => {
  const rule = { enabled: true, margin: 30, minTimeToExpiry: 5, now: NOW, lapsed: false }
  const reason = (request: MatcherRequest, extra: Partial<typeof rule> = {}) => {
    const lane = laneOf(request, { provingTime: 300 }, { ...rule, ...extra })
    return lane.lane === 'chain' ? lane.reason : lane.lane
  }

  it('offers an Open request with public inputs only fast when `assign` still fits after its window', () => {
    expect(laneOf(openRequest(), { provingTime: 300 }, rule)).toEqual({
      lane: 'fast',
      kind: 'open',
      validUntil: NOW + 330,
    })
    expect(reason(openRequest({ matchingExpiry: NOW + 336 }))).toBe('fast')
    expect(reason(openRequest({ matchingExpiry: NOW + 335 }))).toBe('NoRoomForFallback')
    expect(reason(openRequest({ deadline: NOW + 329 }))).toBe('NoRoomForFallback')
  })

  it('sends it to `assign`: the lane off, private inputs, a record not committing to public inputs alone, a lapse', () => {
    expect(reason(openRequest(), { enabled: false })).toBe('Disabled')
    expect(reason(openRequest(privateInputs))).toBe('PrivateInputs')
    // fulfilOpen recomputes keccak256(keccak256(publicInputs) ‖ 0): any other commitment is WrongInputs there.
    const other = openRequest()
    expect(reason({ ...other, record: { ...other.record, inputsDigest: zeroHash } })).toBe('PrivateInputs')
    expect(reason(openRequest(), { lapsed: true })).toBe('Lapsed')
    expect(laneOf(openRequest(), { provingTime: 300 }, { ...rule, enabled: false })).toMatchObject({ kind: 'open' })
  })
})

describe('fast assignments of on-chain requests', () => {
  let dir: string
  let files = 0
  const file = () => join(dir, `orders-${files++}.jsonl`)
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-fast-open-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('signs an offer, holds the prover’s compute, serves it in `open`, and explains the wait as FastAssigned', async () => {
    const request = openRequest()
    const h = harness(file(), [request])
    await h.at(2n)
    expect(h.submitted.flat()).toEqual([])
    const [offer] = h.lane.openOffersOf(PROVER)
    expect(offer).toEqual({
      requestId: request.requestId,
      record: request.record,
      prover: CHECKSUMMED,
      price: ETHER,
      validUntil: BigInt(NOW + 332),
      matcherSignature: expect.stringMatching(/^0x/),
    })
    const signer = await recoverTypedDataAddress({
      ...fastAssignmentTypedData(deployment, {
        requestId: request.requestId,
        prover: PROVER,
        price: ETHER,
        validUntil: BigInt(NOW + 332),
      }),
      signature: offer?.matcherSignature ?? '0x',
    })
    expect(signer).toBe(matcherKey.address)
    // The signed-order list does not carry it; the fulfilOpen argument is built from it as is.
    expect(h.lane.offersOf(PROVER)).toEqual([])
    if (offer !== undefined) expect(openFulfilment(offer, '0x01', '0xbeef').request).toEqual(request.record)
    expect(requestStatus(h.view.book, request.requestId)).toBe('held')
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(1)
    const reason = waitReasonOf(request.requestId, {
      rejected: { get: () => undefined },
      view: h.view,
      inputs: { get: () => undefined },
      follower: { state: { chainTime: NOW + 2 } } as never,
      round: { hasActiveKey: () => true },
      minTimeToExpiry: 5,
      fastOffer: h.lane.hooks.describe,
    })
    expect(reason).toEqual({ code: 'FastAssigned', prover: CHECKSUMMED, price: ETHER, validUntil: NOW + 332 })
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_total', { kind: 'open' })).toBe(1)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_outstanding', { kind: 'open' })).toBe(1)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_outstanding', { kind: 'signed' })).toBe(0)
    // Journalled before it was served.
    const [line] = replayText(await readFile(join(dir, `orders-${files - 1}.jsonl`), 'utf8')).offers
    expect(line).toMatchObject({ requestId: request.requestId, fastKind: 'open', prover: CHECKSUMMED })
    // Past the window it is no longer served.
    h.view.block = head(333n)
    expect(h.lane.openOffersOf(PROVER)).toEqual([])
  })

  it('counts an outstanding offer against the prover’s capacity until the request is fulfilled while Open', async () => {
    const first = openRequest()
    const second = openRequest()
    const h = harness(file(), [first])
    setProver(h.view.book, { prover: PROVER, capacity: 1, computeInUse: 0 })
    await h.at(2n)
    addRequest(h.view.book, second)
    h.view.open.set(second.requestId, second)
    await h.at(3n)
    expect(h.lane.openOffersOf(PROVER).map((offer) => offer.requestId)).toEqual([first.requestId])
    expect(requestStatus(h.view.book, second.requestId)).toBe('open')
    expect(h.submitted.flat()).toEqual([])
    // fulfilOpen lands: the indexer takes the request out of the book (its hold ends) and notes the fast use.
    dropRequest(h.view, first.requestId)
    h.see({ openFulfilled: [{ requestId: first.requestId, prover: PROVER, price: ETHER }] })
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_used_total', { kind: 'open' })).toBe(1)
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(0)
    await h.at(4n)
    expect(h.lane.openOffersOf(PROVER).map((offer) => offer.requestId)).toEqual([second.requestId])
    expect(h.submitted.flat()).toEqual([])
  })

  it('lets a lapsed offer fall back to `assign`, excluding the prover that let it lapse', async () => {
    const request = openRequest()
    const path = file()
    const h = harness(path, [request])
    listSecondProver(h.view)
    await h.at(2n)
    expect(h.lane.openOffersOf(PROVER)).toHaveLength(1)
    // At validUntil itself the prover may still use it: no fallback yet.
    await h.at(332n)
    expect(h.submitted.flat()).toEqual([])
    await h.at(333n)
    expect(h.assigned()).toEqual([[request.requestId, PROVER_2]])
    expect(h.lane.excludes(request.requestId, PROVER)).toBe(true)
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(0)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_lapsed_total', { kind: 'open' })).toBe(1)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_outstanding', { kind: 'open' })).toBe(0)
    const text = await journalled(path, (text) => text.includes('"lapse"'))
    expect(replayText(text).lapses).toEqual([
      { kind: 'lapse', requestId: request.requestId, prover: CHECKSUMMED, fastKind: 'open' },
    ])
  })

  it('replays its open offers after a restart while the request is still Open, and forgets them once it is not', async () => {
    const request = openRequest()
    const path = file()
    const first = harness(path, [request])
    await first.at(2n)
    const [offered] = first.lane.openOffersOf(PROVER)
    expect(offered).toBeDefined()

    // kill -9: the book rebuilt from the chain holds the request Open; PROVER_2 is listed and free too.
    const second = harness(path, [request], { block: 10n })
    listSecondProver(second.view)
    await second.stream?.start()
    expect(second.lane.openOffersOf(PROVER)).toEqual([offered])
    expect(requestStatus(second.view.book, request.requestId)).toBe('held')
    expect(proverLoad(second.view.book, PROVER)?.computeHeld).toBe(1)
    await second.at(11n)
    expect(second.submitted.flat()).toEqual([])
    // The start compacted the journal and kept the outstanding offer (no order line: the chain holds the request).
    const compacted = replayText(await readFile(path, 'utf8'))
    expect(compacted.live).toEqual([])
    expect(compacted.offers.map((record) => [record.requestId, record.fastKind])).toEqual([[request.requestId, 'open']])

    // Fulfilled while the matcher was down: the rebuilt book no longer holds it, the offer is not served again.
    const used = harness(path, [], { block: 20n })
    await used.stream?.start()
    expect(used.lane.openOffersOf(PROVER)).toEqual([])
    expect(replayText(await readFile(path, 'utf8')).offers).toEqual([])
  })

  it('a restart past the window lapses the replayed offer: `assign` to another prover', async () => {
    const request = openRequest()
    const path = file()
    const first = harness(path, [request])
    await first.at(2n)
    const later = harness(path, [request], { block: 340n })
    listSecondProver(later.view)
    await later.stream?.start()
    expect(later.lane.openOffersOf(PROVER)).toEqual([])
    await later.at(341n)
    expect(later.assigned()).toEqual([[request.requestId, PROVER_2]])
  })

  it('reads journals written before on-chain offers: a line without fastKind is a signed order’s', () => {
    const old = decodeRecord(
      JSON.stringify({
        kind: 'offer',
        requestId: '5',
        prover: PROVER,
        price: '1',
        validUntil: 9,
        compute: 1,
        matcherSignature: '0x12',
        madeAt: 1,
      }),
    )
    expect(old).toMatchObject({ kind: 'offer', fastKind: 'signed' })
    expect(decodeRecord(JSON.stringify({ kind: 'lapse', requestId: '5', prover: PROVER }))).toMatchObject({
      fastKind: 'signed',
    })
    expect(decodeRecord(JSON.stringify({ kind: 'lapse', requestId: '5', prover: PROVER, fastKind: 'x' }))).toBe(
      undefined,
    )
    // A signed order's offer without its order line is not replayed; an on-chain request's is, and a torn tail is not.
    const line = (fastKind: string, requestId: string) =>
      JSON.stringify({
        kind: 'offer',
        requestId,
        fastKind,
        prover: PROVER,
        price: '1',
        validUntil: 9,
        compute: 1,
        matcherSignature: '0x12',
        madeAt: 1,
      })
    const text = `${line('signed', '5')}\n${line('open', '6')}\n${line('open', '7').slice(0, 40)}`
    const replayed = replayText(text)
    expect(replayed.offers.map((offer) => offer.requestId)).toEqual([6n])
    expect(replayed.unreadable).toBe(1)
  })

  it('drops the offer when the chain assigns the request otherwise, or it is cancelled or leaves the book', async () => {
    const assigned = openRequest()
    const cancelled = openRequest()
    const gone = openRequest()
    const h = harness(file(), [assigned, cancelled, gone])
    await h.at(2n)
    expect(h.lane.openOffersOf(PROVER)).toHaveLength(3)
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(3)
    // A prover's fallback claim (or another matcher's assign): TaskAssigned, applied by the indexer.
    applyTaskAssigned(h.view.book, { requestId: assigned.requestId, prover: PROVER_2, compute: 1 })
    h.view.open.delete(assigned.requestId)
    const note = {
      requestId: assigned.requestId,
      prover: PROVER_2,
      byMatcher: false,
      blockNumber: 3n,
      createdBlock: 1n,
      transactionHash: zeroHash,
    }
    h.see({ assigned: [note] })
    dropRequest(h.view, cancelled.requestId)
    h.see({ cancelled: [cancelled.requestId] })
    const dropped = (reason: string) =>
      metricValue(h.metrics, 'cairn_matcher_fast_offers_dropped_total', { kind: 'open', reason })
    expect(await dropped('Assigned')).toBe(1)
    expect(await dropped('Cancelled')).toBe(1)
    expect(h.lane.openOffersOf(PROVER).map((offer) => offer.requestId)).toEqual([gone.requestId])
    // Out of the book without an event seen (a rebuild): the next round drops the offer.
    dropRequest(h.view, gone.requestId)
    await h.at(3n)
    expect(await dropped('Gone')).toBe(1)
    expect(h.lane.openOffersOf(PROVER)).toEqual([])
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(0)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_outstanding', { kind: 'open' })).toBe(0)
    expect(h.submitted.flat()).toEqual([])
  })

  it('serves both lists on GET /provers/<address>/fast-assignments', async () => {
    const request = openRequest()
    const h = harness(file(), [request])
    await h.at(2n)
    const { log } = captureLog()
    const route = fastAssignmentsRoute({ offersOf: h.lane.offersOf, openOffersOf: h.lane.openOffersOf, log })
    const reply = await route.handler({} as never, [PROVER.toLowerCase() as Address])
    expect(reply.status).toBe(200)
    const parsed = parseFastAssignments(JSON.parse(reply.body as string))
    expect(parsed.success).toBe(true)
    expect(parsed.data).toEqual({ assignments: [], open: h.lane.openOffersOf(PROVER) })
    const other = await route.handler({} as never, [PROVER_2])
    expect(JSON.parse(other.body as string)).toEqual({ open: [], assignments: [] })
  })
})
