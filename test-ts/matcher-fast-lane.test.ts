import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, getAddress, recoverTypedDataAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SyncNotes } from '../enclave/matcher/chain.js'
import { loadConfig } from '../enclave/matcher/config.js'
import { type MatchItem, proverLoad, requestStatus, setListing, setProver } from '../enclave/matcher/engine.js'
import { describeWait } from '../enclave/matcher/explain.js'
import { createFastLane } from '../enclave/matcher/fast-lane.js'
import { createFastOffers } from '../enclave/matcher/fast-offers.js'
import { laneOf } from '../enclave/matcher/fast-policy.js'
import { fastAssignmentsRoute } from '../enclave/matcher/fast-route.js'
import type { OrderChainView } from '../enclave/matcher/order-checks.js'
import { createJournal, replayText } from '../enclave/matcher/order-journal.js'
import { createOrderStore } from '../enclave/matcher/order-store.js'
import { createOrderStream, type OrderStream } from '../enclave/matcher/order-stream.js'
import { createRound } from '../enclave/matcher/round.js'
import type { Prepared } from '../enclave/matcher/submitter.js'
import { waitReasonOf } from '../enclave/matcher/wait-reasons.js'
import type { Deployment } from '../ts/deployment.js'
import { fastAssignmentsPath, fastAssignmentTypedData, parseFastAssignments } from '../ts/fast-assignments.js'
import type { OrderBody } from '../ts/orders.js'
import { startHttpService } from '../ts/service/http.js'
import { type SignedRequest, signedRequestId, signedRequestTypedData } from '../ts/signed-requests.js'
import { inlineInputs, noInputs } from '../ts/types.js'
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
  viewWith,
} from './matcher-fakes.js'

// The matcher's fast lane without a chain: the lane policy, offers held against the prover's capacity, the journal
// replay of offers after a restart, GET /provers/<address>/fast-assignments, a lapse falling back to assignSigned
// without the lapsed prover, a fast use, and requesters taking back nonce or deposit (dropped, struck).

const deployment = {
  chainId: 31337,
  contracts: { proofMarketplace: '0x00000000000000000000000000000000000000aa' },
} as unknown as Deployment
const requester = privateKeyToAccount(generatePrivateKey())
const matcherKey = privateKeyToAccount(generatePrivateKey())
const TOKEN: Address = '0x00000000000000000000000000000000000000cc'
const VERIFIER: Address = '0x00000000000000000000000000000000000000dd'
const PROVER_2 = address(0xa2)
/** PROVER as offers carry it. */
const CHECKSUMMED = getAddress(PROVER)

/** A public signed request the fast lane takes: matched at 300 s (the listing), its window ends well before expiry. */
function request(overrides: Partial<SignedRequest> = {}): SignedRequest {
  return {
    requester: requester.address,
    nonce: 7n,
    marketId: Number(MARKET),
    maxReward: 10n * ETHER,
    provingTime: 600,
    matchingExpiry: NOW + 400,
    deadline: NOW + 1000,
    speedPreferenceBps: 0,
    refundAddress: requester.address,
    publicInputs: inlineInputs('0x01'),
    privateInputs: noInputs,
    ...overrides,
  }
}

async function sign(body: SignedRequest): Promise<OrderBody> {
  return { request: body, signature: await requester.signTypedData(signedRequestTypedData(deployment, body)) }
}

const idOf = (order: OrderBody) => signedRequestId(deployment, order.request)

type Chain = OrderChainView & { balances: Map<string, bigint> }

function fakeChain(): Chain {
  const balances = new Map<string, bigint>([[requester.address.toLowerCase(), 100n * ETHER]])
  return {
    balances,
    market: async (marketId) => (marketId === MARKET ? { verifier: VERIFIER, paymentToken: TOKEN } : undefined),
    validatePublicInputs: async () => true,
    hasCode: async () => false,
    isValidSignature: async () => undefined,
    nonceWord: async () => 0n,
    requestStatus: async () => 0,
    balance: async (account) => balances.get(account.toLowerCase()) ?? 0n,
  }
}

/**
 * A matcher's order side without a chain: the view of matcher-fakes (PROVER at 1 ether / 300 s), the order stream
 * over a fake chain and a real journal at `path`, the fast lane signing with `matcherKey`, and a round whose
 * submitter keeps what it is handed (the assignSigned lane).
 */
function harness(path: string, options: { block?: bigint; enabled?: boolean; fulfilled?: Set<bigint> } = {}) {
  const view = viewWith([])
  view.block = head(options.block ?? 1n)
  const chain = fakeChain()
  const store = createOrderStore()
  const journal = createJournal(path)
  const offers = createFastOffers()
  const metrics = createMetrics()
  const { log, messages } = captureLog()
  let stream: OrderStream | undefined
  const lane = createFastLane({
    rule: { enabled: options.enabled ?? true, margin: 30, minTimeToExpiry: 5 },
    offers,
    store,
    orders: () => stream as OrderStream,
    journal,
    view: () => view,
    sign: (assignment) => matcherKey.signTypedData(fastAssignmentTypedData(deployment, assignment)),
    balance: (account, token) => chain.balance(account, token),
    fulfilledOnChain: async (requestId) => options.fulfilled?.has(requestId) === true,
    metrics,
    log,
  })
  stream = createOrderStream({
    deployment,
    journal,
    store,
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
  /** A sync's notes, as the service hands them: the fast lane first, then the order stream. */
  const see = (seen: Partial<SyncNotes>) => {
    lane.onNotes(notes(seen))
    stream?.onNotes(notes(seen))
  }
  return { path, view, chain, store, journal, offers, metrics, messages, lane, stream, submitted, at, see }
}

describe('the fast lane policy', () => {
  const signed = (overrides: Parameters<typeof matcherRequest>[0] = {}) =>
    matcherRequest({
      matchingExpiry: NOW + 400,
      deadline: NOW + 1000,
      signed: { request: request(), signature: '0x', wallet: false },
      ...overrides,
    })
  const rule = { enabled: true, margin: 30, minTimeToExpiry: 5, now: NOW, lapsed: false }

  it('offers a public signed order fast when assignSigned still fits after its window', () => {
    expect(laneOf(signed(), { provingTime: 300 }, rule)).toEqual({
      lane: 'fast',
      kind: 'signed',
      validUntil: NOW + 330,
    })
    // Exactly room for the fallback: a batch one second past the window, minTimeToExpiry before the expiry.
    expect(laneOf(signed({ matchingExpiry: NOW + 336 }), { provingTime: 300 }, rule).lane).toBe('fast')
    expect(laneOf(signed({ matchingExpiry: NOW + 335 }), { provingTime: 300 }, rule)).toEqual({
      lane: 'chain',
      kind: 'signed',
      reason: 'NoRoomForFallback',
    })
    expect(laneOf(signed({ deadline: NOW + 329 }), { provingTime: 300 }, rule).lane).toBe('chain')
    expect(laneOf(signed(), { provingTime: 300 }, { ...rule, margin: 100 }).lane).toBe('chain')
  })

  it('sends to assignSigned: the lane off, private inputs, wallets, an order that lapsed', () => {
    const reason = (request: ReturnType<typeof signed>, extra: Partial<typeof rule> = {}) => {
      const lane = laneOf(request, { provingTime: 300 }, { ...rule, ...extra })
      return lane.lane === 'chain' ? lane.reason : lane.lane
    }
    expect(reason(signed(), { enabled: false })).toBe('Disabled')
    expect(reason(signed({ hasPrivateInputs: true }))).toBe('PrivateInputs')
    expect(reason(signed({ signed: { request: request(), signature: '0x', wallet: true } }))).toBe('WalletRequester')
    expect(reason(signed(), { lapsed: true })).toBe('Lapsed')
  })
})

describe('the fast lane flags', () => {
  const required = {
    MATCHER_RPC_URL: 'http://127.0.0.1:8545',
    MATCHER_CHAIN_ID: '31337',
    MATCHER_KEY_FILE: '/tmp/matcher.json',
    MATCHER_SUBMITTER_PRIVATE_KEY: generatePrivateKey(),
  }

  it('is on by default with a 30 s margin; --fast-lane and MATCHER_FAST_LANE turn it off, flags winning', () => {
    expect(loadConfig([], required)).toMatchObject({ fastLane: true, fastLaneMargin: 30 })
    expect(loadConfig([], { ...required, MATCHER_FAST_LANE: 'false' }).fastLane).toBe(false)
    expect(loadConfig(['--fast-lane', 'true'], { ...required, MATCHER_FAST_LANE: 'false' }).fastLane).toBe(true)
    expect(loadConfig(['--fast-lane-margin', '45'], required).fastLaneMargin).toBe(45)
  })

  it('names the flag of a malformed value', () => {
    expect(() => loadConfig(['--fast-lane', 'maybe'], required)).toThrow(/--fast-lane \(or MATCHER_FAST_LANE\)/)
    expect(() => loadConfig([], { ...required, MATCHER_FAST_LANE_MARGIN: '-1' })).toThrow(
      /--fast-lane-margin \(or MATCHER_FAST_LANE_MARGIN\)/,
    )
  })
})

describe('fast assignments in the matcher', () => {
  let dir: string
  let files = 0
  const file = () => join(dir, `orders-${files++}.jsonl`)
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-fast-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('signs an offer, holds the prover’s compute, serves it, and reports it on GET /orders and /requests', async () => {
    const h = harness(file())
    const order = await sign(request())
    expect((await h.stream?.accept(order))?.status).toBe(200)
    await h.at(2n)
    const requestId = idOf(order)
    // Nothing went to the submitter: the offer is off chain.
    expect(h.submitted.flat()).toEqual([])
    const [offer] = h.lane.offersOf(PROVER)
    expect(offer).toMatchObject({
      requestId,
      prover: CHECKSUMMED,
      price: ETHER,
      validUntil: BigInt(NOW + 2 + 300 + 30),
    })
    expect(offer?.request).toEqual(order.request)
    expect(offer?.signature).toBe(order.signature)
    const signer = await recoverTypedDataAddress({
      ...fastAssignmentTypedData(deployment, {
        requestId,
        prover: PROVER,
        price: ETHER,
        validUntil: BigInt(NOW + 332),
      }),
      signature: offer?.matcherSignature ?? '0x',
    })
    expect(signer).toBe(matcherKey.address)
    expect(requestStatus(h.view.book, requestId)).toBe('held')
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(1)
    expect(h.stream?.status(requestId)).toEqual({
      requestId: requestId.toString(),
      state: 'assigning',
      reason: 'FastAssignment',
      details: { prover: CHECKSUMMED, price: ETHER.toString(), validUntil: String(NOW + 332) },
    })
    const reason = waitReasonOf(requestId, {
      rejected: { get: () => undefined },
      view: h.view,
      inputs: { get: () => undefined },
      follower: { state: { chainTime: NOW + 2 } } as never,
      round: { hasActiveKey: () => true },
      minTimeToExpiry: 5,
      fastOffer: h.lane.hooks.describe,
    })
    expect(reason).toEqual({ code: 'FastAssigned', prover: CHECKSUMMED, price: ETHER, validUntil: NOW + 332 })
    expect(describeWait(reason as never)).toContain(CHECKSUMMED)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_total', { kind: 'signed' })).toBe(1)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_outstanding', { kind: 'signed' })).toBe(1)
    // Another prover has none; past the window the offer is no longer served.
    expect(h.lane.offersOf(PROVER_2)).toEqual([])
    h.view.block = head(333n)
    expect(h.lane.offersOf(PROVER)).toEqual([])
  })

  it('counts an outstanding offer against the prover’s capacity until it is used on chain', async () => {
    const h = harness(file())
    setProver(h.view.book, { prover: PROVER, capacity: 1, computeInUse: 0 })
    const first = await sign(request({ nonce: 1n }))
    const second = await sign(request({ nonce: 2n }))
    // One at a time: orders acknowledged at one chain time are served by id, which is random here.
    expect((await h.stream?.accept(first))?.status).toBe(200)
    await h.at(2n)
    expect((await h.stream?.accept(second))?.status).toBe(200)
    await h.at(3n)
    expect(h.lane.offersOf(PROVER).map((offer) => offer.requestId)).toEqual([idOf(first)])
    expect(requestStatus(h.view.book, idOf(second))).toBe('open')
    expect(proverLoad(h.view.book, PROVER)).toMatchObject({ capacity: 1, computeHeld: 1 })
    // The prover uses the first one on chain: its room is back, and the next round offers it the second.
    h.see({
      signedFulfilled: [
        { requestId: idOf(first), requester: requester.address, prover: PROVER, nonce: 1n, price: ETHER },
      ],
    })
    expect(h.stream?.status(idOf(first))?.state).toBe('used')
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_used_total', { kind: 'signed' })).toBe(1)
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(0)
    await h.at(4n)
    expect(h.lane.offersOf(PROVER).map((offer) => offer.requestId)).toEqual([idOf(second)])
    expect(h.submitted.flat()).toEqual([])
  })

  it('a fast use spends the nonce: another pending order of that nonce is dropped, without a strike', async () => {
    const h = harness(file())
    setProver(h.view.book, { prover: PROVER, capacity: 1, computeInUse: 0 })
    const used = await sign(request())
    const twin = await sign(request({ maxReward: 9n * ETHER }))
    expect((await h.stream?.accept(used))?.status).toBe(200)
    await h.at(2n)
    expect((await h.stream?.accept(twin))?.status).toBe(200)
    await h.at(3n)
    expect(h.lane.offersOf(PROVER).map((offer) => offer.requestId)).toEqual([idOf(used)])
    expect(h.lane.excludes(idOf(used), PROVER_2)).toBe(true)
    h.see({
      signedFulfilled: [
        { requestId: idOf(used), requester: requester.address, prover: PROVER, nonce: 7n, price: ETHER },
      ],
    })
    expect(h.stream?.status(idOf(used))?.state).toBe('used')
    expect(h.stream?.status(idOf(twin))).toMatchObject({ state: 'dropped', reason: 'NonceUsed' })
    expect(h.store.strikes()).toEqual([])
  })

  it('goes to assignSigned with the lane off, or when the schedule leaves no room for the fallback', async () => {
    const off = harness(file(), { enabled: false })
    const order = await sign(request())
    await off.stream?.accept(order)
    await off.at(2n)
    expect(off.submitted.flat().map((item) => item.requestId)).toEqual([idOf(order)])
    expect(off.lane.offersOf(PROVER)).toEqual([])
    const tight = harness(file())
    const late = await sign(request({ nonce: 8n, matchingExpiry: NOW + 300 }))
    await tight.stream?.accept(late)
    await tight.at(2n)
    expect(tight.submitted.flat().map((item) => item.requestId)).toEqual([idOf(late)])
  })

  it('replays its offers after a restart: the same offer served, held for the same prover, never given to another', async () => {
    const path = file()
    const first = harness(path)
    setListing(first.view.book, {
      prover: PROVER_2,
      marketId: MARKET,
      price: 2n * ETHER,
      provingTime: 300,
      computePerRequest: 1,
    })
    const order = await sign(request())
    await first.stream?.accept(order)
    await first.at(2n)
    const [offered] = first.lane.offersOf(PROVER)
    expect(offered).toBeDefined()

    // kill -9: a new matcher on the same journal, its book rebuilt from the chain (PROVER_2 listed and free too).
    const second = harness(path, { block: 10n })
    setProver(second.view.book, { prover: PROVER_2, capacity: 8, computeInUse: 0 })
    setListing(second.view.book, {
      prover: PROVER_2,
      marketId: MARKET,
      price: 2n * ETHER,
      provingTime: 300,
      computePerRequest: 1,
    })
    await second.stream?.start()
    expect(second.lane.offersOf(PROVER)).toEqual([offered])
    expect(requestStatus(second.view.book, idOf(order))).toBe('held')
    expect(proverLoad(second.view.book, PROVER)?.computeHeld).toBe(1)
    await second.at(11n)
    expect(second.submitted.flat()).toEqual([])
    expect(second.lane.offersOf(PROVER_2)).toEqual([])
    // The start compacted the journal and kept the outstanding offer.
    const replayed = replayText(await readFile(path, 'utf8'))
    expect(replayed.live.map((record) => record.requestId)).toEqual([idOf(order)])
    expect(replayed.offers.map((record) => [record.requestId, record.prover])).toEqual([[idOf(order), CHECKSUMMED]])

    // A restart after the window: the offer lapsed while down, the order goes to the other prover with assignSigned.
    const third = harness(path, { block: 340n })
    setProver(third.view.book, { prover: PROVER_2, capacity: 8, computeInUse: 0 })
    setListing(third.view.book, {
      prover: PROVER_2,
      marketId: MARKET,
      price: 2n * ETHER,
      provingTime: 300,
      computePerRequest: 1,
    })
    await third.stream?.start()
    expect(third.lane.offersOf(PROVER)).toEqual([])
    await third.at(341n)
    expect(third.submitted.flat().map((item) => [item.requestId, item.prover])).toEqual([[idOf(order), PROVER_2]])
  })

  it('remembers an order used on the fast lane while the matcher was down as used', async () => {
    const path = file()
    const first = harness(path)
    const order = await sign(request())
    await first.stream?.accept(order)
    await first.at(2n)
    const second = harness(path, { block: 20n, fulfilled: new Set([idOf(order)]) })
    second.chain.nonceWord = async () => 1n << 7n
    await second.stream?.start()
    expect(second.stream?.status(idOf(order))?.state).toBe('used')
    expect(second.lane.offersOf(PROVER)).toEqual([])
  })

  it('lets a lapsed offer fall back to assignSigned, excluding the prover that let it lapse', async () => {
    const h = harness(file())
    setProver(h.view.book, { prover: PROVER_2, capacity: 8, computeInUse: 0 })
    setListing(h.view.book, {
      prover: PROVER_2,
      marketId: MARKET,
      price: 2n * ETHER,
      provingTime: 300,
      computePerRequest: 1,
    })
    const order = await sign(request())
    await h.stream?.accept(order)
    await h.at(2n)
    expect(h.lane.offersOf(PROVER)).toHaveLength(1)
    // At validUntil itself the prover may still use it: no fallback yet.
    await h.at(332n)
    expect(h.submitted.flat()).toEqual([])
    await h.at(333n)
    expect(h.submitted.flat().map((item) => [item.requestId, item.prover])).toEqual([[idOf(order), PROVER_2]])
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_lapsed_total', { kind: 'signed' })).toBe(1)
    expect(await metricValue(h.metrics, 'cairn_matcher_fast_offers_outstanding', { kind: 'signed' })).toBe(0)
    expect(h.lane.excludes(idOf(order), PROVER)).toBe(true)
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(0)
  })

  it('a lapsed order with no other prover waits, and expires as today when its schedule runs out', async () => {
    const h = harness(file())
    const order = await sign(request())
    await h.stream?.accept(order)
    await h.at(2n)
    await h.at(333n)
    expect(h.submitted.flat()).toEqual([])
    expect(h.stream?.status(idOf(order))?.state).toBe('pending')
    h.view.block = head(401n)
    h.see({})
    expect(h.stream?.status(idOf(order))?.state).toBe('expired')
  })

  it('drops an offered order whose requester invalidates its nonce, with a strike', async () => {
    const h = harness(file())
    const order = await sign(request())
    await h.stream?.accept(order)
    await h.at(2n)
    h.see({ noncesInvalidated: [{ requester: requester.address, wordPos: 0n, mask: 1n << 7n }] })
    expect(h.stream?.status(idOf(order))).toMatchObject({ state: 'dropped', reason: 'NonceInvalidated' })
    expect(h.store.strikes()).toEqual([[requester.address, 1]])
    expect(h.lane.offersOf(PROVER)).toEqual([])
    expect(proverLoad(h.view.book, PROVER)?.computeHeld).toBe(0)
    expect(
      await metricValue(h.metrics, 'cairn_matcher_fast_offers_dropped_total', {
        kind: 'signed',
        reason: 'NonceInvalidated',
      }),
    ).toBe(1)
    // The strike and the end are journalled: a restart keeps the strike and does not replay the order.
    for (let i = 0; i < 100 && replayText(await readFile(h.path, 'utf8')).live.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const replayed = replayText(await readFile(h.path, 'utf8'))
    expect(replayed.strikes).toEqual([{ kind: 'strike', requester: requester.address }])
    expect(replayed.live).toEqual([])
    expect(replayed.offers).toEqual([])
  })

  it('drops an offered order whose requester spends its nonce on another request, with a strike', async () => {
    const h = harness(file())
    const order = await sign(request())
    await h.stream?.accept(order)
    await h.at(2n)
    h.see({ signedUsed: [{ requestId: 123n, requester: requester.address, nonce: 7n }] })
    expect(h.stream?.status(idOf(order))).toMatchObject({ state: 'dropped', reason: 'NonceUsed' })
    expect(h.store.strikes()).toEqual([[requester.address, 1]])
  })

  it('drops an offered order whose requester’s deposit fell below its price, with a strike; a deposit that covers it keeps it', async () => {
    const h = harness(file())
    const order = await sign(request())
    await h.stream?.accept(order)
    await h.at(2n)
    h.chain.balances.set(requester.address.toLowerCase(), ETHER)
    h.see({ balanceLowered: [requester.address] })
    await h.at(3n)
    expect(h.lane.offersOf(PROVER)).toHaveLength(1)
    h.chain.balances.set(requester.address.toLowerCase(), ETHER - 1n)
    h.see({ balanceLowered: [requester.address] })
    await h.at(4n)
    expect(h.stream?.status(idOf(order))).toMatchObject({ state: 'dropped', reason: 'DepositWithdrawn' })
    expect(h.store.strikes()).toEqual([[requester.address, 1]])
    expect(h.lane.offersOf(PROVER)).toEqual([])
    expect(h.messages()).toContain('requester took back a fast-assigned order: dropped, requester struck')
  })

  it('serves GET /provers/<address>/fast-assignments: the offers, an empty list, 400 MalformedAddress', async () => {
    const h = harness(file())
    const order = await sign(request())
    await h.stream?.accept(order)
    await h.at(2n)
    const { log } = captureLog()
    const server = await startHttpService({
      host: '127.0.0.1',
      port: 0,
      registry: h.metrics.registry,
      health: () => ({ ok: true }),
      routes: [fastAssignmentsRoute({ offersOf: h.lane.offersOf, log })],
      logger: log,
    })
    try {
      const get = async (path: string) => {
        const response = await fetch(`${server.url}${path}`)
        return { status: response.status, json: (await response.json()) as unknown }
      }
      const mine = await get(fastAssignmentsPath(PROVER.toLowerCase() as Address))
      expect(mine.status).toBe(200)
      const parsed = parseFastAssignments(mine.json)
      expect(parsed.success).toBe(true)
      expect(parsed.data?.assignments).toEqual(h.lane.offersOf(PROVER))
      expect(await get(fastAssignmentsPath(PROVER_2))).toEqual({ status: 200, json: { open: [], assignments: [] } })
      for (const bad of ['0x1234', 'not-an-address', '%E0%A4%A', '']) {
        const reply = await get(`/provers/${bad}/fast-assignments`)
        expect(reply.status).toBe(400)
        expect(reply.json).toMatchObject({ error: { code: 'MalformedAddress' } })
      }
      const failing = fastAssignmentsRoute({
        offersOf: () => {
          throw new Error('boom')
        },
        log,
      })
      expect((await failing.handler({} as never, [PROVER])).status).toBe(503)
    } finally {
      await server.close()
    }
  })
})
