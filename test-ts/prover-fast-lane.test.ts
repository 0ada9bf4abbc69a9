// The prover runner's fast lane (enclave/prover/fast-*.ts) without a chain: the offer checks, the batching decision,
// and the lane itself against a fake matcher and a fake chain. prover-fast-lane.e2e.test.ts runs it on anvil.
import type { ServerResponse } from 'node:http'
import { pino } from 'pino'
import { type Address, encodeErrorResult, type Hex, type TransactionReceipt, zeroHash } from 'viem'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { coveredByDeposits, fastBatchStep, fastSubmission } from '../enclave/prover/fast-batch.js'
import { createFastLane, type FastLaneChain, type FastMarket } from '../enclave/prover/fast-lane.js'
import { chainDrop, fastTask, offerDrop } from '../enclave/prover/fast-offers.js'
import { openOfferDrop, openTask } from '../enclave/prover/fast-open.js'
import { createOpenLane, type OpenLaneChain, UNSEEN_REQUEST_POLLS } from '../enclave/prover/fast-open-lane.js'
import { createMetrics } from '../enclave/prover/metrics.js'
import type { TrackedTask } from '../enclave/prover/scheduler.js'
import { createTxLane } from '../enclave/prover/settle.js'
import type { Deployment } from '../ts/deployment.js'
import { decodeRevertData } from '../ts/errors.js'
import { encodeFastAssignments, type FastAssignmentOffer, type OpenOffer } from '../ts/fast-assignments.js'
import { FastAssignmentsUnavailableError, fetchFastAssignments, fetchFastOffers } from '../ts/fast-assignments-fetch.js'
import type { FastProof } from '../ts/fast-fulfil.js'
import { iSignedRequestsAbi, proofMarketplaceAbi } from '../ts/generated.js'
import { type SignedRequest, signedRequestId } from '../ts/signed-requests.js'
import {
  combinedInputsDigest,
  type Fulfilment,
  inlineInputs,
  noInputs,
  type RequestCreation,
  type RequestStatus,
  remoteInputs,
} from '../ts/types.js'
import { type LocalServer, serveLocally } from './local-server.js'

// ------------------------------------------------------------------------------------------------ fixtures

const ME = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
const OTHER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as const
const REQUESTER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as const
const MARKET = 1n
const TOKEN = '0x00000000000000000000000000000000000000c0' as const
const deployment = {
  chainId: 31337,
  contracts: { proofMarketplace: '0x00000000000000000000000000000000000000aa' },
} as unknown as Deployment
const NOW = 10_000
const market: FastMarket = {
  config: { price: 25n, provingTime: 60, computePerRequest: 1 },
  kind: 'groth16',
  paymentToken: TOKEN,
}
const markets = new Map([[MARKET, market]])

function request(nonce: bigint, overrides: Partial<SignedRequest> = {}): SignedRequest {
  return {
    requester: REQUESTER,
    nonce,
    marketId: Number(MARKET),
    maxReward: 40n,
    provingTime: 600,
    matchingExpiry: NOW + 600,
    deadline: NOW + 1_200,
    speedPreferenceBps: 5_000,
    refundAddress: REQUESTER,
    publicInputs: inlineInputs('0x0102'),
    privateInputs: noInputs,
    ...overrides,
  }
}

function offer(nonce: bigint, overrides: Partial<FastAssignmentOffer> = {}, req: Partial<SignedRequest> = {}) {
  const r = request(nonce, req)
  return {
    requestId: signedRequestId(deployment, r),
    request: r,
    signature: `0x${'11'.repeat(65)}` as Hex,
    prover: ME as Address,
    price: 25n,
    validUntil: BigInt(NOW + 300),
    matcherSignature: `0x${'22'.repeat(65)}` as Hex,
    ...overrides,
  } satisfies FastAssignmentOffer
}

const context = { me: ME, deployment, markets, now: NOW }

/** Retries an assertion until it holds (the lane works in the background). */
const until = (assertion: () => unknown) => vi.waitFor(assertion, { timeout: 5_000, interval: 10 })

// ------------------------------------------------------------------------------------------------ checks

describe('the offer checks', () => {
  it('takes an offer that is its own, for its request, in a listed market, with time to prove', () => {
    expect(offerDrop(offer(1n), context)).toBeUndefined()
  })

  it('drops what it must not prove, naming why', () => {
    expect(offerDrop(offer(1n, { prover: OTHER }), context)).toBe('not-mine')
    expect(offerDrop(offer(1n, { requestId: 42n }), context)).toBe('wrong-request-id')
    expect(offerDrop(offer(1n, {}, { marketId: 9 }), context)).toBe('unknown-market')
    expect(offerDrop(offer(1n, {}, { privateInputs: inlineInputs('0x99') }), context)).toBe('private-inputs')
    expect(offerDrop(offer(1n, { price: 41n }), context)).toBe('above-max-reward')
    expect(offerDrop(offer(1n, { price: 24n }), context)).toBe('below-listed-price')
  })

  it('needs the listing’s proving time before the earlier of validUntil and the request’s deadline', () => {
    // validUntil now + 60: exactly the proving time left.
    expect(offerDrop(offer(1n, { validUntil: BigInt(NOW + 60) }), context)).toBeUndefined()
    expect(offerDrop(offer(1n, { validUntil: BigInt(NOW + 59) }), context)).toBe('no-time')
    // The request's deadline bounds it too.
    expect(offerDrop(offer(1n, {}, { deadline: NOW + 59 }), context)).toBe('no-time')
    expect(offerDrop(offer(1n, { validUntil: BigInt(NOW - 1) }), context)).toBe('no-time')
  })

  it('reads the nonce and the deposit, counting the requester’s other offers in hand', async () => {
    const chain = (spent: boolean, deposit: bigint) => ({
      nonceSpent: async () => spent,
      deposit: async () => deposit,
    })
    expect(await chainDrop(offer(1n), chain(false, 25n))).toBeUndefined()
    expect(await chainDrop(offer(1n), chain(true, 100n))).toBe('nonce-spent')
    expect(await chainDrop(offer(1n), chain(false, 24n))).toBe('deposit-short')
    expect(await chainDrop(offer(1n), chain(false, 49n), 25n)).toBe('deposit-short')
    expect(await chainDrop(offer(1n), chain(false, 50n), 25n)).toBeUndefined()
  })

  it('proves an offer as a task built from the signed request, due by the offer’s expiry', () => {
    const o = offer(1n, {}, { publicInputs: remoteInputs('https://inputs.example/1', `0x${'ab'.repeat(32)}`) })
    const task = fastTask(o, market, NOW)
    expect(task).toMatchObject({
      requestId: o.requestId,
      marketId: MARKET,
      task: { prover: ME, price: 25n, deadline: NOW + 300, compute: 1 },
      publicInputs: o.request.publicInputs,
      fast: o,
    })
    // The digest job.ts checks the fetched bytes against: keccak256(public digest ‖ zero).
    expect(task.request.inputsDigest).toBe(combinedInputsDigest(`0x${'ab'.repeat(32)}`, zeroHash))
  })
})

describe('the fast batching decision', () => {
  const look = { ready: 1, proving: 0, maxBatch: 20, windowPassed: false, stopping: false }

  it('sends at once when nothing else is proving; waits for proofs in progress up to the window', () => {
    expect(fastBatchStep({ ...look, ready: 0 })).toBe('idle')
    expect(fastBatchStep(look)).toBe('send')
    expect(fastBatchStep({ ...look, proving: 1 })).toBe('wait')
    expect(fastBatchStep({ ...look, proving: 1, windowPassed: true })).toBe('send')
    expect(fastBatchStep({ ...look, proving: 1, ready: 20 })).toBe('send')
    expect(fastBatchStep({ ...look, proving: 1, stopping: true })).toBe('send')
  })

  it('one proof is a fulfilSigned, several one fulfilSignedBatch', () => {
    expect(fastSubmission(1)).toBe('fulfilSigned')
    expect(fastSubmission(2)).toBe('fulfilSignedBatch')
  })

  it('a deposit pays for the proofs it covers, in order; the rest are dropped before sending', () => {
    const items = [{ offer: { price: 10n } }, { offer: { price: 20n } }, { offer: { price: 5n } }]
    const { covered, short } = coveredByDeposits(items, new Map([['r', 16n]]), () => 'r')
    expect(covered).toEqual([items[0], items[2]])
    expect(short).toEqual([items[1]])
  })
})

// ------------------------------------------------------------------------------------------------ the lane

type Sent = { items: FastProof[] }

/** A fast lane over fakes: the matcher's offers, the chain's nonces and deposits, the sends recorded. */
function fakeLane(options: { capacity?: number; tasksCompute?: number; deposit?: bigint } = {}) {
  const offers: FastAssignmentOffer[] = []
  const spent = new Set<bigint>()
  const deposits = { value: options.deposit ?? 1_000n }
  const sent: Sent[] = []
  const proving: TrackedTask[] = []
  let submitFails: Error | undefined
  const chain: FastLaneChain = {
    nonceSpent: async (r) => spent.has(r.nonce),
    deposit: async () => deposits.value,
    async submit(items, onSent) {
      onSent()
      if (submitFails) throw submitFails
      sent.push({ items: [...items] })
      for (const item of items) spent.add(item.offer.request.nonce)
      return {
        fulfilled: items.map(({ offer: o }) => ({
          requestId: o.requestId,
          requester: o.request.requester,
          prover: o.prover,
          nonce: o.request.nonce,
          price: o.price,
        })),
        skipped: [],
        receipt: { transactionHash: zeroHash } as unknown as TransactionReceipt,
      }
    },
  }
  const metrics = createMetrics()
  const lines: { msg: string; reason?: string }[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  const lane = createFastLane({
    me: ME,
    deployment,
    fetchOffers: async () => [...offers],
    chain,
    lane: createTxLane(),
    markets,
    clock: { now: () => NOW, observe: () => {} },
    capacity: options.capacity ?? 4,
    tasksCompute: () => options.tasksCompute ?? 0,
    tripped: () => false,
    prove: (task) => void proving.push(task),
    proving: () => proving.length,
    batchWindow: 60_000,
    maxBatch: 20,
    metrics,
    logger,
    backoff: { initialMs: 10, maxMs: 10 },
  })
  /** The scheduler's proof of a task: it leaves the proving set first, as the scheduler's attempt ends. */
  const prove = (task: TrackedTask) => {
    proving.splice(proving.indexOf(task), 1)
    lane.proof(task, { proof: `0x${'ee'.repeat(8)}`, publicInputs: '0x0102' } as unknown as Fulfilment)
  }
  const failWith = (error: Error | undefined) => {
    submitFails = error
  }
  return { lane, offers, spent, deposits, sent, proving, prove, metrics, lines, failWith }
}

async function count(metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }, labels = {}) {
  const { values } = await metric.get()
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => (v.labels as never)[k] === l))
  return found?.value ?? 0
}

describe('the fast lane', () => {
  it('takes a new offer once, proves it, and fulfils it alone with fulfilSigned', async () => {
    const f = fakeLane()
    f.offers.push(offer(1n))
    await f.lane.poll()
    await f.lane.poll()
    expect(f.proving).toHaveLength(1)
    expect(await count(f.metrics.fastOffersSeen)).toBe(1)
    f.prove(f.proving[0] as TrackedTask)
    await until(() => expect(f.sent).toHaveLength(1))
    // Inline inputs are not sent again: the contract reads them from the request.
    expect(f.sent[0]?.items).toEqual([{ offer: f.offers[0], proof: `0x${'ee'.repeat(8)}` }])
    await until(async () => expect(await count(f.metrics.fastOffersFulfilled)).toBe(1))
    expect(await count(f.metrics.submissions, { method: 'fulfilSigned' })).toBe(1)
    expect(f.lane.held()).toEqual([])
  })

  it('proofs ready together share one fulfilSignedBatch', async () => {
    const f = fakeLane()
    f.offers.push(offer(1n), offer(2n))
    await f.lane.poll()
    const [a, b] = f.proving as [TrackedTask, TrackedTask]
    // The first waits for the second, still proving; the second's end sends both.
    f.prove(a)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(f.sent).toHaveLength(0)
    f.prove(b)
    await until(() => expect(f.sent).toHaveLength(1))
    expect(f.sent[0]?.items.map((item) => item.offer.request.nonce)).toEqual([1n, 2n])
    expect(await count(f.metrics.submissions, { method: 'fulfilSignedBatch' })).toBe(1)
  })

  it('counts offers against its capacity beside the assigned tasks: the rest wait for room', async () => {
    const f = fakeLane({ capacity: 2, tasksCompute: 1 })
    f.offers.push(offer(1n), offer(2n))
    await f.lane.poll()
    expect(f.proving).toHaveLength(1)
    f.prove(f.proving[0] as TrackedTask)
    await until(() => expect(f.sent).toHaveLength(1))
    await until(() => expect(f.lane.held()).toEqual([]))
    await f.lane.poll()
    expect(f.proving.map((task) => task.fast?.request.nonce)).toEqual([2n])
  })

  it('drops, logs and counts a proof whose requester withdrew before it was sent', async () => {
    const f = fakeLane()
    f.offers.push(offer(1n))
    await f.lane.poll()
    f.deposits.value = 10n
    f.prove(f.proving[0] as TrackedTask)
    await until(async () => expect(await count(f.metrics.fastOffersDropped, { reason: 'deposit-short' })).toBe(1))
    expect(f.sent).toHaveLength(0)
    expect(f.lines.some((line) => line.msg === 'fast assignment dropped' && line.reason === 'deposit-short')).toBe(true)
  })

  it('after a restart, an offer used on chain already is skipped by its nonce', async () => {
    const f = fakeLane()
    f.offers.push(offer(1n))
    f.spent.add(1n)
    await f.lane.poll()
    expect(f.proving).toHaveLength(0)
    expect(await count(f.metrics.fastOffersDropped, { reason: 'nonce-spent' })).toBe(1)
  })

  it('a revert of a lone proof drops it by name; a transport failure is retried', async () => {
    const f = fakeLane()
    f.offers.push(offer(1n), offer(2n))
    await f.lane.poll()
    const nonceUsed = decodeRevertData(
      encodeErrorResult({ abi: iSignedRequestsAbi, errorName: 'NonceUsed', args: [REQUESTER, 1n] }),
    )
    f.failWith(new Error('socket hang up'))
    const [a, b] = f.proving as [TrackedTask, TrackedTask]
    f.prove(a)
    f.prove(b)
    // A transport failure: the batch is sent again, together (the fake keeps failing until told otherwise).
    await until(async () => expect(await count(f.metrics.retries, { stage: 'fast-submit' })).toBeGreaterThan(0))
    f.failWith(undefined)
    await until(() => expect(f.sent).toHaveLength(1))
    expect(f.sent[0]?.items).toHaveLength(2)

    const g = fakeLane()
    g.offers.push(offer(3n))
    await g.lane.poll()
    g.failWith(nonceUsed)
    g.prove(g.proving[0] as TrackedTask)
    await until(async () => expect(await count(g.metrics.fastOffersDropped, { reason: 'nonce-spent' })).toBe(1))
  })

  it('stop sends the ready proofs at once and waits for them', async () => {
    const f = fakeLane()
    f.offers.push(offer(1n), offer(2n))
    await f.lane.poll()
    f.prove(f.proving[0] as TrackedTask)
    // The other is still proving: the ready one waits for it, but not past the stop.
    await f.lane.stop()
    expect(f.sent).toHaveLength(1)
    expect(f.proving[0]?.abort.signal.aborted).toBe(true)
  })
})

// ------------------------------------------------------------------------------------------------ the matcher's list

describe('fetchFastAssignments', () => {
  let server: LocalServer | undefined
  afterEach(() => server?.close())

  const serve = async (status: number, body: string) => {
    server = await serveLocally((_req, res: ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(body)
    })
    return server.base
  }

  it('reads the list the matcher serves at /provers/<address>/fast-assignments', async () => {
    let path = ''
    server = await serveLocally((req, res) => {
      path = req.url ?? ''
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(encodeFastAssignments([offer(1n)]))
    })
    expect(await fetchFastAssignments(server.base, ME)).toEqual([offer(1n)])
    expect(path).toBe(`/provers/${ME}/fast-assignments`)
  })

  it('names the URL and what is wrong: an error status, not JSON, not the list, no reply in time', async () => {
    const failure = (base: string, options = {}) =>
      fetchFastAssignments(base, ME, options).then(
        () => undefined,
        (error: unknown) => error as FastAssignmentsUnavailableError,
      )
    const url = (base: string) => `${base}/provers/${ME}/fast-assignments`
    let base = await serve(404, JSON.stringify({ error: { code: 'NotFound', message: 'no such endpoint' } }))
    let error = await failure(base)
    expect(error).toBeInstanceOf(FastAssignmentsUnavailableError)
    expect(error?.message).toContain(url(base))
    expect(error?.message).toContain('404 NotFound: no such endpoint')
    server?.close()
    base = await serve(200, 'not json')
    expect((await failure(base))?.message).toContain('not JSON')
    server?.close()
    base = await serve(200, JSON.stringify({ assignments: [{ requestId: 'x' }] }))
    expect((await failure(base))?.message).toContain('not a list of fast assignments (assignments.0.requestId')
    server?.close()
    server = await serveLocally(() => {})
    error = await failure(server.base, { timeoutMs: 100 })
    expect(error?.message).toContain('no reply within 100 ms')
    expect(error?.message).toContain(url(server.base))
    expect((await failure('ftp://127.0.0.1'))?.message).toContain('ftp: is not http or https')
  })

  it('never shows the URL’s credentials', async () => {
    const base = await serve(500, '{}')
    const withCredentials = base.replace('http://', 'http://user:secret@')
    const error = await fetchFastAssignments(withCredentials, ME).catch((e: Error) => e)
    expect(String(error)).not.toContain('secret')
  })
})

// ------------------------------------------------------------------------------------------------ open offers

const OPEN_ID = (MARKET << 64n) | 7n
const openRecord = {
  refundAddress: REQUESTER,
  maxReward: 40n,
  createdAt: NOW - 10,
  matchingExpiry: NOW + 600,
  provingTime: 600,
  inputsDigest: combinedInputsDigest(`0x${'ab'.repeat(32)}`, zeroHash),
} as const

function openOffer(overrides: Partial<OpenOffer> = {}): OpenOffer {
  return {
    requestId: OPEN_ID,
    record: { ...openRecord },
    prover: ME,
    price: 25n,
    validUntil: BigInt(NOW + 300),
    matcherSignature: `0x${'22'.repeat(65)}` as Hex,
    ...overrides,
  }
}

/** The RequestCreated log of the open offer's request, as the chain emitted it. */
function creation(overrides: Partial<RequestCreation> = {}): RequestCreation {
  return {
    requestId: OPEN_ID,
    marketId: MARKET,
    requester: REQUESTER,
    request: { ...openRecord },
    deadline: NOW + 1_200,
    speedPreferenceBps: 5_000,
    publicInputs: remoteInputs('https://inputs.example/7', `0x${'ab'.repeat(32)}`),
    privateInputs: noInputs,
    ...overrides,
  }
}

const openContext = { me: ME, markets, now: NOW }

describe('the open offer checks', () => {
  it('takes an offer that is its own, for the record RequestCreated emitted, with time to prove', () => {
    expect(openOfferDrop(openOffer(), creation(), openContext)).toBeUndefined()
  })

  it('drops what it must not prove, naming why', () => {
    expect(openOfferDrop(openOffer({ prover: OTHER }), creation(), openContext)).toBe('not-mine')
    expect(openOfferDrop(openOffer(), undefined, openContext)).toBe('unknown-request')
    expect(openOfferDrop(openOffer(), creation({ requestId: OPEN_ID + 1n }), openContext)).toBe('unknown-request')
    const forged = openOffer({ record: { ...openRecord, maxReward: 1_000n } })
    expect(openOfferDrop(forged, creation(), openContext)).toBe('record-mismatch')
    expect(openOfferDrop(openOffer(), creation({ marketId: 9n }), openContext)).toBe('unknown-market')
    const hidden = creation({ privateInputs: inlineInputs('0x99') })
    expect(openOfferDrop(openOffer(), hidden, openContext)).toBe('private-inputs')
    expect(openOfferDrop(openOffer({ price: 41n }), creation(), openContext)).toBe('above-max-reward')
    expect(openOfferDrop(openOffer({ price: 24n }), creation(), openContext)).toBe('below-listed-price')
  })

  it('needs the listing’s proving time before the earlier of validUntil and the matching expiry', () => {
    expect(openOfferDrop(openOffer({ validUntil: BigInt(NOW + 60) }), creation(), openContext)).toBeUndefined()
    expect(openOfferDrop(openOffer({ validUntil: BigInt(NOW + 59) }), creation(), openContext)).toBe('no-time')
    const soon = { ...openRecord, matchingExpiry: NOW + 59 }
    const expiring = openOfferDrop(openOffer({ record: soon }), creation({ request: soon }), openContext)
    expect(expiring).toBe('no-time')
  })

  it('proves an offer as a task of the RequestCreated records, due by the offer’s expiry', () => {
    const task = openTask(openOffer(), creation(), market, NOW)
    expect(task).toMatchObject({
      requestId: OPEN_ID,
      marketId: MARKET,
      request: openRecord,
      task: { prover: ME, price: 25n, deadline: NOW + 300, compute: 1 },
      publicInputs: creation().publicInputs,
      open: openOffer(),
    })
    expect(task.fast).toBeUndefined()
  })
})

/** An open lane over fakes: the chain's logs and statuses, the sends recorded. */
function fakeOpenLane(options: { capacity?: number; otherCompute?: number; created?: boolean } = {}) {
  const statuses = new Map<bigint, RequestStatus>([[OPEN_ID, 'Open']])
  let created = options.created ?? true
  const sent: { offer: OpenOffer; publicInputs: Hex; proof: Hex }[] = []
  const proving: TrackedTask[] = []
  let submitFails: Error | undefined
  const chain: OpenLaneChain = {
    creation: async (requestId) => (created && requestId === OPEN_ID ? creation() : undefined),
    status: async (requestId) => statuses.get(requestId) ?? 'None',
    async submit(o, publicInputs, proof, onSent) {
      onSent()
      if (submitFails) throw submitFails
      sent.push({ offer: o, publicInputs, proof })
      statuses.set(o.requestId, 'Fulfilled')
      return { requestId: o.requestId, prover: o.prover, price: o.price, refund: o.record.maxReward - o.price }
    },
  }
  const metrics = createMetrics()
  const lines: { msg: string; reason?: string }[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  const lane = createOpenLane({
    me: ME,
    chain,
    lane: createTxLane(),
    markets,
    clock: { now: () => NOW, observe: () => {} },
    capacity: options.capacity ?? 4,
    otherCompute: () => options.otherCompute ?? 0,
    tripped: () => false,
    prove: (task) => void proving.push(task),
    metrics,
    logger,
    backoff: { initialMs: 10, maxMs: 10 },
  })
  const prove = (task: TrackedTask) => {
    proving.splice(proving.indexOf(task), 1)
    lane.proof(task, { proof: `0x${'ee'.repeat(8)}`, publicInputs: '0x0102' } as unknown as Fulfilment)
  }
  const failWith = (error: Error | undefined) => {
    submitFails = error
  }
  const create = () => {
    created = true
  }
  return { lane, statuses, sent, proving, prove, metrics, lines, failWith, create }
}

describe('the open lane', () => {
  it('takes a new offer once, proves it from the logged inputs, and settles it with fulfilOpen', async () => {
    const f = fakeOpenLane()
    await f.lane.take([openOffer()])
    await f.lane.take([openOffer()])
    expect(f.proving).toHaveLength(1)
    expect(await count(f.metrics.fastOffersSeen)).toBe(1)
    f.prove(f.proving[0] as TrackedTask)
    await until(() => expect(f.sent).toHaveLength(1))
    // The bytes the proof is for are always sent: fulfilOpen checks them against the record's digest.
    expect(f.sent[0]).toEqual({ offer: openOffer(), publicInputs: '0x0102', proof: `0x${'ee'.repeat(8)}` })
    await until(async () => expect(await count(f.metrics.fastOffersFulfilled)).toBe(1))
    expect(await count(f.metrics.submissions, { method: 'fulfilOpen' })).toBe(1)
    expect(f.lane.held()).toEqual([])
  })

  it('drops an offer of a request no longer Open, before and after proving it', async () => {
    const f = fakeOpenLane()
    f.statuses.set(OPEN_ID, 'Assigned')
    await f.lane.take([openOffer()])
    expect(f.proving).toHaveLength(0)
    expect(await count(f.metrics.fastOffersDropped, { reason: 'not-open' })).toBe(1)

    const g = fakeOpenLane()
    await g.lane.take([openOffer()])
    // The matcher's fallback assign (or a claim) lands while the proof is made.
    g.statuses.set(OPEN_ID, 'Assigned')
    g.prove(g.proving[0] as TrackedTask)
    await until(async () => expect(await count(g.metrics.fastOffersDropped, { reason: 'not-open' })).toBe(1))
    expect(g.sent).toHaveLength(0)
    expect(g.lines.some((line) => line.msg === 'open fast assignment dropped' && line.reason === 'not-open')).toBe(true)
  })

  it('a RequestNotOpen revert counts as not-open; a transport failure is retried', async () => {
    const f = fakeOpenLane()
    await f.lane.take([openOffer()])
    f.failWith(new Error('socket hang up'))
    f.prove(f.proving[0] as TrackedTask)
    await until(async () => expect(await count(f.metrics.retries, { stage: 'fast-open-submit' })).toBeGreaterThan(0))
    f.failWith(undefined)
    await until(() => expect(f.sent).toHaveLength(1))

    const g = fakeOpenLane()
    await g.lane.take([openOffer()])
    g.failWith(
      decodeRevertData(
        encodeErrorResult({ abi: proofMarketplaceAbi, errorName: 'RequestNotOpen', args: [OPEN_ID, 2] }),
      ),
    )
    g.prove(g.proving[0] as TrackedTask)
    await until(async () => expect(await count(g.metrics.fastOffersDropped, { reason: 'not-open' })).toBe(1))
  })

  it('looks again for a request its node has not shown yet, and drops it as unknown only after that', async () => {
    const f = fakeOpenLane({ created: false })
    await f.lane.take([openOffer()])
    await f.lane.take([openOffer()])
    expect(f.proving).toHaveLength(0)
    expect(await count(f.metrics.fastOffersDropped)).toBe(0)
    // The node catches up with the matcher: the next poll takes the offer.
    f.create()
    await f.lane.take([openOffer()])
    expect(f.proving).toHaveLength(1)
    expect(await count(f.metrics.fastOffersSeen)).toBe(1)

    const g = fakeOpenLane({ created: false })
    for (let poll = 1; poll < UNSEEN_REQUEST_POLLS; poll++) await g.lane.take([openOffer()])
    expect(await count(g.metrics.fastOffersDropped)).toBe(0)
    await g.lane.take([openOffer()])
    expect(await count(g.metrics.fastOffersDropped, { reason: 'unknown-request' })).toBe(1)
    g.create()
    await g.lane.take([openOffer()])
    expect(g.proving).toHaveLength(0)
  })

  it('holds capacity beside the assigned tasks and the signed offers; drops offers not its own', async () => {
    const f = fakeOpenLane({ capacity: 1, otherCompute: 1 })
    await f.lane.take([openOffer()])
    expect(f.proving).toHaveLength(0)
    expect(await count(f.metrics.fastOffersDropped)).toBe(0)
    expect(f.lane.heldCompute()).toBe(0)

    const g = fakeOpenLane()
    await g.lane.take([openOffer({ prover: OTHER })])
    expect(await count(g.metrics.fastOffersDropped, { reason: 'not-mine' })).toBe(1)

    const h = fakeOpenLane()
    await h.lane.take([openOffer()])
    expect(h.lane.heldCompute()).toBe(1)
  })
})

describe('fetchFastOffers', () => {
  let server: LocalServer | undefined
  afterEach(async () => server?.close())

  it('reads both lists of one reply', async () => {
    server = await serveLocally((_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(encodeFastAssignments([offer(1n)], [openOffer()]))
    })
    expect(await fetchFastOffers(server.base, ME)).toEqual({ assignments: [offer(1n)], open: [openOffer()] })
  })
})
