// The prover runner's parts (enclave/prover/runtime.ts wires them), each against fakes of the chain it reads: no
// anvil. prover-runner.test.ts runs them together on a real chain.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { type Address, type Hex, keccak256, stringToBytes, zeroAddress, zeroHash } from 'viem'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { afterReorg, createAssignments, reassigned } from '../enclave/prover/assignments.js'
import { loadBreaker } from '../enclave/prover/breaker.js'
import { createBreakerControl } from '../enclave/prover/breaker-control.js'
import { createCandidates } from '../enclave/prover/candidates.js'
import { type ClaimsChain, claimability, claimFailure, createClaims } from '../enclave/prover/claims.js'
import { type MarketConfig, marketSchema } from '../enclave/prover/config.js'
import { createKeyRotation, keyUnused, rotationDue } from '../enclave/prover/key-rotation.js'
import { type EnclaveKey, openKeyring } from '../enclave/prover/keys.js'
import { createListings } from '../enclave/prover/listings.js'
import { createMetrics, type Metrics } from '../enclave/prover/metrics.js'
import { createScanner, type ScanChain } from '../enclave/prover/scan.js'
import type { TrackedTask } from '../enclave/prover/scheduler.js'
import { tightInputBounds, unkeptStake } from '../enclave/prover/setup.js'
import { type Assigned, createTaskBook, trackedTask } from '../enclave/prover/task-book.js'
import type { AssignedLog, CreatedLog, ScannedLogs, SlashedLog } from '../enclave/prover/tasks.js'
import type { BlockRange } from '../ts/block-ranges.js'
import type { HeadBlock } from '../ts/chain-head.js'
import { CairnContractError } from '../ts/errors.js'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../ts/input-uris.js'
import {
  InputsRejectedError,
  type LoadedInputs,
  type RequestInputsState,
  type RequestInputsStoreParams,
} from '../ts/request-inputs.js'
import { inlineInputs, noInputs, type RequestStatus, remoteInputs, type Task } from '../ts/types.js'

// ------------------------------------------------------------------------------------------------ fixtures

const MARKET = 3n
const OTHER_MARKET = 4n
const PROVER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
const idIn = (market: bigint, index: bigint) => (market << 64n) | index

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: { msg: string; level: number; [field: string]: unknown }[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { logger, lines, messages: () => lines.map((line) => line.msg) }
}

/** A metric's value for these labels (0 when never set). */
async function metricValue(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get()
  const found = values.find((v) => Object.entries(labels).every(([name, value]) => v.labels[name] === value))
  return found?.value ?? 0
}

const request = {
  refundAddress: zeroAddress,
  maxReward: 100n,
  createdAt: 1_000,
  matchingExpiry: 2_000,
  provingTime: 600,
  inputsDigest: zeroHash,
}

function createdLog(index: bigint, overrides: Partial<CreatedLog> = {}): CreatedLog {
  return {
    requestId: idIn(MARKET, index),
    marketId: MARKET,
    requester: zeroAddress,
    request,
    deadline: 2_600,
    speedPreferenceBps: 0,
    publicInputs: remoteInputs('https://inputs.example/1', zeroHash),
    privateInputs: noInputs,
    blockNumber: 10n,
    transactionHash: zeroHash,
    logIndex: 0,
    ...overrides,
  }
}

const taskOf = (deadline = 2_000, price = 10n): Task => ({ prover: PROVER, price, deadline, compute: 1 })

function assignedLog(requestId: bigint, task = taskOf(), blockNumber = 12n): AssignedLog {
  return { requestId, prover: PROVER, task, byMatcher: true, blockNumber, transactionHash: zeroHash, logIndex: 0 }
}

function slashedLog(requestId: bigint, blockNumber: bigint): SlashedLog {
  return { requestId, penalty: 5n, slasher: zeroAddress, blockNumber, transactionHash: zeroHash, logIndex: 0 }
}

const logsOf = (logs: Partial<ScannedLogs>): ScannedLogs => ({
  assigned: [],
  inputKeys: new Map(),
  slashed: [],
  created: [],
  ...logs,
})

const marketConfig = (marketId: bigint, offer: { price?: string; provingTime?: number } = {}): MarketConfig =>
  marketSchema.parse({ marketId: Number(marketId), backend: 'groth16', price: '10', provingTime: 300, ...offer })

/**
 * A fallback candidates' inputs store that loads nothing by itself: the test says when a candidate's inputs are
 * ready, or rejects them for good (as a read that fails for good calls back). Like the real store, loading a
 * forgotten request again starts a new read.
 */
function fakeInputs() {
  const states = new Map<bigint, RequestInputsState<LoadedInputs>>()
  const loads: bigint[] = []
  let params: RequestInputsStoreParams<CreatedLog, LoadedInputs> | undefined
  return {
    loads,
    createStore(storeParams: RequestInputsStoreParams<CreatedLog, LoadedInputs>) {
      params = storeParams
      return {
        load(created: CreatedLog) {
          if (states.has(created.requestId)) return
          loads.push(created.requestId)
          states.set(created.requestId, { state: 'loading' })
        },
        get: (requestId: bigint) => states.get(requestId),
        forget: (requestId: bigint) => void states.delete(requestId),
        ids: () => [...states.keys()],
        clear: () => states.clear(),
      }
    },
    ready(requestId: bigint, publicInputs: Uint8Array) {
      states.set(requestId, { state: 'ready', value: { publicInputs, envelope: undefined } })
    },
    reject(created: CreatedLog, reason = 'TooLarge') {
      states.set(created.requestId, { state: 'failed', reason, message: 'too large' })
      params?.onRejected(created, new InputsRejectedError(reason, 'the inputs exceed the bounds'))
    },
  }
}

function candidatesFixture(metrics: Metrics = createMetrics()) {
  const inputs = fakeInputs()
  const log = capturedLogger()
  const bounds = { maxBytes: 1_000, timeoutMs: 1_000, allowFileUris: false }
  const candidates = createCandidates({ bounds, metrics, logger: log.logger, createStore: inputs.createStore })
  return { candidates, inputs, log, metrics }
}

// ------------------------------------------------------------------------------------------------ task book

describe('the task book', () => {
  const creation = createdLog(1n, { publicInputs: inlineInputs('0x01') })

  it('tracks a task queued, assigned at its deadline less the proving time, and hands it on', () => {
    const record = trackedTask(
      { requestId: creation.requestId, task: taskOf(2_000), byMatcher: false },
      creation,
      'groth16',
    )
    expect(record).toMatchObject({
      marketId: MARKET,
      assignedAt: 1_400,
      state: 'queued',
      attempts: 0,
      byMatcher: false,
    })
    expect(record).not.toHaveProperty('inputKey')

    const handed: TrackedTask[] = []
    const metrics = createMetrics()
    const log = capturedLogger()
    const book = createTaskBook({
      kindOf: () => 'tee-wasm',
      onTracked: (task) => handed.push(task),
      onFinished: () => {},
      metrics,
      logger: log.logger,
    })
    book.track({ requestId: creation.requestId, task: taskOf(), byMatcher: true }, creation, '0xabcd')
    expect(handed).toHaveLength(1)
    expect(handed[0]).toMatchObject({ backend: 'tee-wasm', inputKey: '0xabcd' })
    expect(book.get(creation.requestId)).toBe(handed[0])
    expect(log.messages()).toEqual(['task assigned'])
  })

  it('holds a private fallback claim until its requester releases the key, then hands it on once', () => {
    const log = capturedLogger()
    const handed: TrackedTask[] = []
    const book = createTaskBook({
      kindOf: () => 'groth16',
      onTracked: (task) => handed.push(task),
      onFinished: () => {},
      metrics: createMetrics(),
      logger: log.logger,
    })
    const privateCreation = createdLog(2n, { privateInputs: inlineInputs('0x02c0ffee') })
    book.track({ requestId: privateCreation.requestId, task: taskOf(), byMatcher: false }, privateCreation)
    expect(handed).toEqual([])
    expect(book.awaitingKey().map((task) => task.requestId)).toEqual([privateCreation.requestId])
    book.keyReleased(privateCreation.requestId, '0xabcd')
    book.keyReleased(privateCreation.requestId, '0xef01')
    expect(handed).toHaveLength(1)
    expect(handed[0]).toMatchObject({ inputKey: '0xabcd', byMatcher: false })
    expect(book.awaitingKey()).toEqual([])
    // A matcher assignment of a private request is handed on at once (its key came in the batch).
    const matched = createdLog(3n, { privateInputs: inlineInputs('0x02c0ffee') })
    book.track({ requestId: matched.requestId, task: taskOf(), byMatcher: true }, matched, '0x1234')
    expect(handed).toHaveLength(2)
  })

  it('finishes a task once: aborts it, counts how it ended and lets waiting proofs go', async () => {
    const metrics = createMetrics()
    const log = capturedLogger()
    let finished = 0
    const book = createTaskBook({
      kindOf: () => 'groth16',
      onTracked: () => {},
      onFinished: () => finished++,
      metrics,
      logger: log.logger,
    })
    const assigned = (index: bigint): Assigned => ({ requestId: idIn(MARKET, index), task: taskOf(), byMatcher: true })
    for (const index of [1n, 2n, 3n]) book.track(assigned(index), creation)
    const [first, second, third] = [...book.all()] as [TrackedTask, TrackedTask, TrackedTask]
    book.finish(first, { kind: 'failed', reason: 'deadline' })
    book.finish(first, { kind: 'failed', reason: 'deadline' })
    book.finish(second, { kind: 'already-settled', status: 'Fulfilled' })
    book.finish(third, { kind: 'fulfilled' })
    expect(first.abort.signal.aborted).toBe(true)
    expect(book.size()).toBe(0)
    expect(finished).toBe(3)
    expect(await metricValue(metrics.tasksFailed, { reason: 'deadline' })).toBe(1)
    expect(await metricValue(metrics.tasksAlreadySettled)).toBe(1)
    expect(await metricValue(metrics.tasksInFlight)).toBe(0)
    expect(log.messages().slice(3)).toEqual(['task given up', 'task already settled on chain', 'task settled'])

    // A task replaced under the same id (assigned again) is not ended by the old one's outcome.
    book.track(assigned(1n), creation)
    book.finish(first, { kind: 'fulfilled' })
    expect(book.has(first.requestId)).toBe(true)
  })
})

// ------------------------------------------------------------------------------------------------ scan

/** Blocks of one fork: hashes differ per fork, each block's parent is the one before in the same fork. */
const blockOf = (number: bigint, fork: string): HeadBlock => ({
  number,
  hash: keccak256(stringToBytes(`${fork}${number}`)),
  parentHash: keccak256(stringToBytes(`${fork}${number - 1n}`)),
  timestamp: 10_000n + number,
})

function fakeScanChain(head: bigint) {
  const blocks = new Map<bigint, HeadBlock>()
  const ranges: BlockRange[] = []
  const state = { head, failAt: undefined as bigint | undefined }
  const grow = (to: bigint, fork: string, from = 0n) => {
    for (let n = from; n <= to; n++) blocks.set(n, blockOf(n, fork))
    state.head = to
  }
  grow(head, 'a')
  const chain: ScanChain = {
    head: async () => blocks.get(state.head) as HeadBlock,
    block: async (number) => blocks.get(number) as HeadBlock,
    stillCanonical: async (scanned) => blocks.get(scanned.number)?.hash === scanned.hash,
    logs: async (range) => {
      if (state.failAt !== undefined && range.fromBlock <= state.failAt && state.failAt <= range.toBlock) {
        state.failAt = undefined
        throw new Error('node dropped the request')
      }
      ranges.push(range)
      return logsOf({})
    },
  }
  return { chain, ranges, state, grow }
}

describe('the scan', () => {
  function scannerOn(fake: ReturnType<typeof fakeScanChain>, confirmations = 0) {
    const metrics = createMetrics()
    const reorgs: HeadBlock[] = []
    const observed: bigint[] = []
    const handled: number[] = []
    const scanner = createScanner({
      chain: fake.chain,
      fromBlock: 1n,
      confirmations,
      logRange: 10,
      clock: { observe: (timestamp) => void observed.push(BigInt(timestamp)) },
      onLogs: async () => void handled.push(fake.ranges.length),
      onReorg: async (lost) => void reorgs.push(lost),
      metrics,
    })
    return { scanner, metrics, reorgs, observed, handled }
  }

  it('hands on the logs of every range up to the confirmed head, in order, and moves past them', async () => {
    const fake = fakeScanChain(25n)
    const { scanner, metrics, observed, handled } = scannerOn(fake, 2)
    await scanner.scan()
    expect(fake.ranges).toEqual([
      { fromBlock: 1n, toBlock: 10n },
      { fromBlock: 11n, toBlock: 20n },
      { fromBlock: 21n, toBlock: 23n },
    ])
    expect(handled).toEqual([1, 2, 3])
    expect(scanner.cursor()).toBe(24n)
    expect(await metricValue(metrics.lastBlock)).toBe(23)
    expect(observed).toEqual([10_025n])

    // Nothing new confirmed: nothing read.
    await scanner.scan()
    expect(fake.ranges).toHaveLength(3)
    fake.grow(27n, 'a', 26n)
    await scanner.scan()
    expect(fake.ranges.at(-1)).toEqual({ fromBlock: 24n, toBlock: 25n })
  })

  it('reads a range again next round when its logs could not be read', async () => {
    const fake = fakeScanChain(25n)
    const { scanner } = scannerOn(fake)
    fake.state.failAt = 15n
    await expect(scanner.scan()).rejects.toThrow('node dropped the request')
    expect(scanner.cursor()).toBe(11n)
    await scanner.scan()
    expect(fake.ranges.map((range) => range.fromBlock)).toEqual([1n, 11n, 21n])
    expect(scanner.cursor()).toBe(26n)
  })

  it('after a reorg under the scanned blocks, says which block was lost and scans again from the start', async () => {
    const fake = fakeScanChain(20n)
    const { scanner, reorgs } = scannerOn(fake, 2)
    await scanner.scan()
    const confirmed = blockOf(18n, 'a')
    // Blocks from 17 up are replaced, and the chain grows past them.
    fake.grow(22n, 'b', 17n)
    await scanner.scan()
    expect(reorgs).toEqual([confirmed])
    expect(fake.ranges.slice(2)).toEqual([
      { fromBlock: 1n, toBlock: 10n },
      { fromBlock: 11n, toBlock: 20n },
    ])
    expect(scanner.cursor()).toBe(21n)
    await scanner.scan()
    expect(reorgs).toHaveLength(1)
  })
})

// ------------------------------------------------------------------------------------------------ assignments

describe('what the scanned logs mean for tasks', () => {
  function assignmentsFixture(statuses: Map<bigint, RequestStatus>) {
    const metrics = createMetrics()
    const log = capturedLogger()
    const { candidates, inputs } = candidatesFixture(metrics)
    const tracked: TrackedTask[] = []
    const book = createTaskBook({
      kindOf: () => 'groth16',
      onTracked: (task) => tracked.push(task),
      onFinished: () => {},
      metrics,
      logger: log.logger,
    })
    const searched: bigint[] = []
    const slashes: SlashedLog[][] = []
    /** What was read or handled, in order. */
    const order: string[] = []
    const assignments = createAssignments({
      chain: {
        status: async (requestId) => {
          order.push('status')
          return statuses.get(requestId) ?? 'None'
        },
        creation: async (requestId) => {
          searched.push(requestId)
          return createdLog(requestId & 0xffn, { requestId, publicInputs: inlineInputs('0x02') })
        },
      },
      book,
      candidates,
      markets: new Map([[MARKET, {}]]),
      onSlashed: async (slashed) => {
        order.push('slashes')
        slashes.push([...slashed])
      },
      metrics,
      logger: log.logger,
    })
    return { assignments, book, candidates, inputs, tracked, searched, slashes, order, metrics, log }
  }

  it('makes candidates of requests in its markets only, private ones too (claimed with claimPrivate)', async () => {
    const f = assignmentsFixture(new Map())
    const mine = createdLog(1n)
    const secret = createdLog(2n, { privateInputs: inlineInputs('0x1234') })
    const elsewhere = createdLog(3n, { marketId: OTHER_MARKET, requestId: idIn(OTHER_MARKET, 3n) })
    await f.assignments.onLogs(logsOf({ created: [mine, secret, elsewhere] }))
    expect([...f.candidates.all()].map(([requestId]) => requestId)).toEqual([mine.requestId, secret.requestId])
  })

  it('starts a task still Assigned on chain, from its candidate or its creation searched back, with its input key', async () => {
    const fromCandidate = createdLog(1n)
    const searchedFor = idIn(MARKET, 2n)
    const settled = idIn(MARKET, 3n)
    const f = assignmentsFixture(
      new Map([
        [fromCandidate.requestId, 'Assigned'],
        [searchedFor, 'Assigned'],
        [settled, 'Fulfilled'],
      ]),
    )
    const slash = slashedLog(idIn(MARKET, 9n), 11n)
    await f.assignments.onLogs(
      logsOf({
        created: [fromCandidate],
        slashed: [slash],
        assigned: [assignedLog(fromCandidate.requestId), assignedLog(searchedFor), assignedLog(settled)],
        inputKeys: new Map([[searchedFor, '0xbeef' as Hex]]),
      }),
    )
    // Slashes are handled before the range's assignments are checked on chain.
    expect(f.slashes).toEqual([[slash]])
    expect(f.order).toEqual(['slashes', 'status', 'status', 'status'])
    expect(f.searched).toEqual([searchedFor])
    expect(f.tracked.map((task) => task.requestId)).toEqual([fromCandidate.requestId, searchedFor])
    expect(f.tracked[0]?.publicInputs).toEqual(fromCandidate.publicInputs)
    expect(f.tracked[1]).toMatchObject({ inputKey: '0xbeef', publicInputs: inlineInputs('0x02') })

    // Never twice: the same assignment read again (a rescan) leaves the task as it is.
    await f.assignments.onLogs(logsOf({ assigned: [assignedLog(searchedFor)] }))
    expect(f.tracked).toHaveLength(2)
  })

  it('counts and reports a task in a market it does not serve', async () => {
    const foreign = idIn(OTHER_MARKET, 1n)
    const f = assignmentsFixture(new Map([[foreign, 'Assigned']]))
    await f.assignments.onLogs(logsOf({ assigned: [assignedLog(foreign)] }))
    expect(f.tracked).toEqual([])
    expect(await metricValue(f.metrics.tasksFailed, { reason: 'unknown-market' })).toBe(1)
    expect(f.log.messages()).toContain('task in an unconfigured market')
  })

  it('gives up a task assigned again at other terms, and takes the new assignment', async () => {
    const requestId = idIn(MARKET, 1n)
    const f = assignmentsFixture(new Map([[requestId, 'Assigned']]))
    await f.assignments.onLogs(logsOf({ assigned: [assignedLog(requestId, taskOf(2_000))] }))
    const old = f.book.get(requestId) as TrackedTask
    expect(reassigned(old, assignedLog(requestId, taskOf(2_000)))).toBe(false)
    expect(reassigned(old, assignedLog(requestId, taskOf(2_000, 11n)))).toBe(true)
    await f.assignments.onLogs(logsOf({ assigned: [assignedLog(requestId, taskOf(2_100))] }))
    expect(old.abort.signal.aborted).toBe(true)
    expect(await metricValue(f.metrics.tasksFailed, { reason: 'reorged-out' })).toBe(1)
    expect(f.book.get(requestId)?.task.deadline).toBe(2_100)
  })

  it('after a reorg gives up the tasks whose assignment was lost, ends the settled ones and forgets candidates', async () => {
    expect(afterReorg('Open')).toEqual({ kind: 'failed', reason: 'reorged-out' })
    expect(afterReorg('Fulfilled')).toEqual({ kind: 'already-settled', status: 'Fulfilled' })
    expect(afterReorg('Assigned')).toBeUndefined()

    const [lost, settled, kept] = [1n, 2n, 3n].map((index) => idIn(MARKET, index)) as [bigint, bigint, bigint]
    const statuses = new Map<bigint, RequestStatus>([lost, settled, kept].map((id) => [id, 'Assigned']))
    const f = assignmentsFixture(statuses)
    const candidate = createdLog(4n)
    await f.assignments.onLogs(
      logsOf({ created: [candidate], assigned: [lost, settled, kept].map((id) => assignedLog(id)) }),
    )
    f.candidates.load(candidate)
    statuses.set(lost, 'Open')
    statuses.set(settled, 'Fulfilled')
    await f.assignments.onReorg(blockOf(30n, 'a'))
    expect([...f.book.all()].map((task) => task.requestId)).toEqual([kept])
    expect(await metricValue(f.metrics.tasksFailed, { reason: 'reorged-out' })).toBe(1)
    expect(await metricValue(f.metrics.tasksAlreadySettled)).toBe(1)
    expect(f.candidates.get(candidate.requestId)).toBeUndefined()
    expect(f.candidates.inputs(candidate.requestId)).toBeUndefined()
    const warning = f.log.lines.find((line) => line.msg.startsWith('chain reorganised'))
    expect(warning).toMatchObject({ lostBlock: 30, reorgedOut: 1 })
  })
})

// ------------------------------------------------------------------------------------------------ claims

describe('fallback claims', () => {
  const market = { config: marketConfig(MARKET), fallbackDelay: 60 }

  it('claim a candidate once the fallback delay passed, never one out of reach of the listing or expired', () => {
    const created = createdLog(1n)
    expect(claimability(created, market, 1_059, false)).toBe('later')
    expect(claimability(created, market, 1_060, false)).toBe('now')
    expect(claimability(created, market, 1_060, true)).toBe('never')
    expect(claimability(created, market, 2_001, false)).toBe('never')
    const cheap = createdLog(2n, { request: { ...request, maxReward: 9n } })
    expect(claimability(cheap, market, 1_060, false)).toBe('never')
    const quick = createdLog(3n, { request: { ...request, provingTime: 299 } })
    expect(claimability(quick, market, 1_060, false)).toBe('never')
  })

  it('tell a claim made too early from a node error and from a revert that rules the request out', () => {
    const revert = (name: string) => new CairnContractError({ name, args: {}, data: '0x12345678', message: name })
    expect(claimFailure(revert('FallbackNotOpen'))).toEqual({ kind: 'early' })
    expect(claimFailure(new Error('socket hang up'))).toEqual({ kind: 'transient' })
    expect(claimFailure(revert('NotListed'))).toEqual({ kind: 'unclaimable', reason: 'NotListed' })
  })

  function claimsFixture(
    options: { tripped?: boolean; enabled?: boolean; enclaveActive?: boolean; awaitingKey?: TrackedTask[] } = {},
  ) {
    const abandoned: bigint[] = []
    const finished: { requestId: bigint; kind: string }[] = []
    const f = candidatesFixture()
    const statuses = new Map<bigint, RequestStatus>()
    const calls = { status: [] as bigint[], available: [] as bigint[], claims: [] as bigint[] }
    const tracked: { claimed: Assigned; publicInputs: unknown }[] = []
    const clock = { time: 1_100 }
    const chain: ClaimsChain = {
      status: async (requestId) => {
        calls.status.push(requestId)
        return statuses.get(requestId) ?? 'Open'
      },
      available: async (marketId) => {
        calls.available.push(marketId)
        return true
      },
      enclaveActive: async () => options.enclaveActive ?? true,
      claim: async (created) => {
        calls.claims.push(created.requestId)
        return { requestId: created.requestId, task: taskOf(), byMatcher: false }
      },
      abandon: async (task) => {
        abandoned.push(task.requestId)
      },
    }
    const claims = createClaims({
      enabled: options.enabled ?? true,
      candidates: f.candidates,
      markets: new Map([
        [MARKET, market],
        [OTHER_MARKET, { ...market, config: marketConfig(OTHER_MARKET) }],
      ]),
      chain,
      clock: { now: () => clock.time },
      tripped: () => options.tripped === true,
      tracked: () => false,
      track: (claimed, creation) => tracked.push({ claimed, publicInputs: creation.publicInputs }),
      awaitingKey: () => options.awaitingKey ?? [],
      finish: (task, outcome) => finished.push({ requestId: task.requestId, kind: outcome.kind }),
      metrics: f.metrics,
      logger: f.log.logger,
    })
    return { ...f, claims, chain, statuses, calls, tracked, clock, abandoned, finished }
  }

  const envelope = inlineInputs('0x02c0ffee')

  it('claims a private request only early enough to leave the requester its key release window', () => {
    const created = createdLog(1n, { privateInputs: envelope })
    // matchingExpiry 2_000 less the 300 s window.
    expect(claimability(created, market, 1_700, false)).toBe('now')
    expect(claimability(created, market, 1_701, false)).toBe('never')
  })

  it('claims a private request only in a market where this prover holds an active enclave key', async () => {
    for (const enclaveActive of [false, true]) {
      const f = claimsFixture({ enclaveActive })
      const created = createdLog(1n, { privateInputs: envelope })
      f.candidates.add(created)
      f.inputs.ready(created.requestId, new Uint8Array([1]))
      await f.claims.claimDue()
      expect(f.calls.claims).toEqual(enclaveActive ? [created.requestId] : [])
    }
  })

  it('abandons a private claim whose key did not come within the window, not before', async () => {
    // Deadline 2_000, proving time 600: the key was due by 1_400.
    const task = trackedTask(
      { requestId: idIn(MARKET, 1n), task: taskOf(2_000), byMatcher: false },
      createdLog(1n, { privateInputs: envelope }),
      'groth16',
    )
    const f = claimsFixture({ awaitingKey: [task] })
    f.clock.time = 1_400
    await f.claims.abandonUnkeyed()
    expect(f.abandoned).toEqual([])
    f.clock.time = 1_401
    await f.claims.abandonUnkeyed()
    expect(f.abandoned).toEqual([task.requestId])
    expect(f.finished).toEqual([{ requestId: task.requestId, kind: 'abandoned' }])
  })

  it('claims a due candidate in the round after its inputs are ready, proving the bytes it checked', async () => {
    const f = claimsFixture()
    const created = createdLog(1n)
    f.candidates.add(created)
    await f.claims.claimDue()
    expect(f.inputs.loads).toEqual([created.requestId])
    expect(f.calls.claims).toEqual([])

    f.inputs.ready(created.requestId, new Uint8Array([0xca, 0xfe]))
    await f.claims.claimDue()
    expect(f.calls.claims).toEqual([created.requestId])
    expect(f.tracked).toEqual([
      {
        claimed: { requestId: created.requestId, task: taskOf(), byMatcher: false },
        publicInputs: inlineInputs('0xcafe'),
      },
    ])
    expect(await metricValue(f.metrics.claims)).toBe(1)
    expect(f.log.messages()).toContain('claimed through the fallback')
  })

  it('skips a candidate whose inputs were rejected for good while its status was read: no second read, no claim', async () => {
    const f = claimsFixture()
    const created = createdLog(1n)
    f.candidates.add(created)
    await f.claims.claimDue()
    expect(f.inputs.loads).toEqual([created.requestId])

    // The next round waits on the chain for the request's status...
    let answer: (status: RequestStatus) => void = () => {}
    f.chain.status = () =>
      new Promise((resolve) => {
        answer = resolve
      })
    const round = f.claims.claimDue()
    // ...while the read started in the round before fails for good, dropping the candidate; then the chain answers.
    f.inputs.reject(created)
    answer('Open')
    await round

    expect(f.inputs.loads).toEqual([created.requestId])
    expect(f.calls.claims).toEqual([])
    expect(f.candidates.get(created.requestId)).toBeUndefined()
    expect(await metricValue(f.metrics.fallbackSkipped, { reason: 'TooLarge' })).toBe(1)
    expect(f.log.messages().filter((msg) => msg === 'inputs can never load: not claimed')).toHaveLength(1)
  })

  it('drops candidates no longer Open or out of reach, and stops at a market without room', async () => {
    const f = claimsFixture()
    const [gone, full1, full2, other] = [
      createdLog(1n),
      createdLog(2n),
      createdLog(3n),
      createdLog(4n, { marketId: OTHER_MARKET, requestId: idIn(OTHER_MARKET, 4n) }),
    ]
    const expensive = createdLog(5n, { request: { ...request, maxReward: 1n } })
    for (const created of [gone, expensive, full1, full2, other]) {
      f.candidates.add(created)
      f.inputs.ready(created.requestId, new Uint8Array([1]))
    }
    f.statuses.set(gone.requestId, 'Cancelled')
    f.chain.available = async (marketId) => {
      f.calls.available.push(marketId)
      return marketId !== MARKET
    }
    await f.claims.claimDue()
    expect(f.candidates.get(gone.requestId)).toBeUndefined()
    expect(f.candidates.get(expensive.requestId)).toBeUndefined()
    // The market had no room for full1: full2 was not even looked at on chain; the other market was.
    expect(f.calls.status).toEqual([gone.requestId, full1.requestId, other.requestId])
    expect(f.calls.available).toEqual([MARKET, OTHER_MARKET])
    expect(f.calls.claims).toEqual([other.requestId])
    expect(f.candidates.get(full2.requestId)).toBe(full2)
  })

  it('tries a claim made too early next round, counts a node error as a retry, and drops one ruled out', async () => {
    const f = claimsFixture()
    const created = createdLog(1n)
    f.candidates.add(created)
    f.inputs.ready(created.requestId, new Uint8Array([1]))
    const failures = [
      new CairnContractError({ name: 'FallbackNotOpen', args: {}, data: '0x12345678', message: 'early' }),
      new Error('socket hang up'),
      new CairnContractError({ name: 'InsufficientStake', args: {}, data: '0x12345678', message: 'stake' }),
    ]
    f.chain.claim = async () => {
      throw failures.shift()
    }
    await f.claims.claimDue()
    await f.claims.claimDue()
    expect(f.candidates.get(created.requestId)).toBe(created)
    expect(await metricValue(f.metrics.retries, { stage: 'claim' })).toBe(1)
    await f.claims.claimDue()
    expect(f.candidates.get(created.requestId)).toBeUndefined()
    expect(f.log.lines.find((line) => line.msg === 'not claimable')).toMatchObject({ reason: 'InsufficientStake' })
  })

  it('claims nothing while the breaker is tripped or the fallback is off', async () => {
    for (const options of [{ tripped: true }, { enabled: false }]) {
      const f = claimsFixture(options)
      f.candidates.add(createdLog(1n))
      await f.claims.claimDue()
      expect(f.calls.status).toEqual([])
      expect(f.inputs.loads).toEqual([])
    }
  })
})

// ------------------------------------------------------------------------------------------------ listings

describe('listings', () => {
  function listingsFixture() {
    const log = capturedLogger()
    const sent: { marketId: bigint; leaving: boolean }[] = []
    const state = { tripped: false, fail: false, gate: undefined as Promise<void> | undefined }
    const listings = createListings({
      markets: new Map([MARKET, OTHER_MARKET].map((id) => [id, { config: marketConfig(id) }])),
      async ensure(market, leaving) {
        await state.gate
        if (state.fail) throw new Error('node down')
        sent.push({ marketId: market.marketId, leaving })
      },
      tripped: () => state.tripped,
      logger: log.logger,
    })
    return { listings, sent, state, log }
  }

  it('brings every listing in line once, and again only once marked dirty: leaving while tripped', async () => {
    const f = listingsFixture()
    await f.listings.sync()
    await f.listings.sync()
    expect(f.sent).toEqual([
      { marketId: MARKET, leaving: false },
      { marketId: OTHER_MARKET, leaving: false },
    ])
    f.state.tripped = true
    f.listings.markDirty()
    await f.listings.sync()
    expect(f.sent.slice(2).map((listing) => listing.leaving)).toEqual([true, true])
  })

  it('runs one sync at a time, and one marked dirty during it runs again for whoever waits', async () => {
    const f = listingsFixture()
    let open: () => void = () => {}
    f.state.gate = new Promise((resolve) => {
      open = resolve
    })
    const first = f.listings.sync()
    const second = f.listings.sync()
    // A trip while the first sync waits on the chain: every listing goes on leave in another pass.
    f.state.tripped = true
    f.listings.markDirty()
    open()
    await Promise.all([first, second])
    expect(f.sent).toEqual([
      { marketId: MARKET, leaving: false },
      { marketId: OTHER_MARKET, leaving: true },
      { marketId: MARKET, leaving: true },
      { marketId: OTHER_MARKET, leaving: true },
    ])
  })

  it('stays dirty after a failed sync, and the next one goes again', async () => {
    const f = listingsFixture()
    f.state.fail = true
    await expect(f.listings.sync()).rejects.toThrow('node down')
    f.state.fail = false
    await f.listings.sync()
    expect(f.sent).toHaveLength(2)
  })

  it('puts every listing on leave for a stop, and a failure to do so never fails the stop', async () => {
    const f = listingsFixture()
    await f.listings.sync()
    await f.listings.pause()
    expect(f.sent.slice(2).map((listing) => listing.leaving)).toEqual([true, true])
    expect(f.log.messages()).toContain('listings paused while stopped: the next start resumes them')

    const failing = listingsFixture()
    failing.state.fail = true
    await failing.listings.pause()
    expect(failing.log.messages()).toEqual(['could not pause the listings: assignments may still come'])
  })
})

// ------------------------------------------------------------------------------------------------ keys, breaker

describe('enclave keys and the breaker', () => {
  let directory: string
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cairn-prover-parts-'))
  })
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true })
  })

  const key = (times: { registeredAt?: number; expiresAt?: number }): EnclaveKey => ({
    marketId: MARKET,
    signer: zeroAddress,
    signerKey: zeroHash,
    eciesKey: zeroHash,
    eciesPublicKey: '0x',
    ...times,
  })

  it('rotate a key once its share of validity has passed, and drop it only once no task can need it', () => {
    expect(rotationDue(key({}), 0, 2 / 3)).toBe(true)
    expect(rotationDue(key({ registeredAt: 0, expiresAt: 300 }), 199, 2 / 3)).toBe(false)
    expect(rotationDue(key({ registeredAt: 0, expiresAt: 300 }), 200, 2 / 3)).toBe(true)
    const expired = key({ registeredAt: 0, expiresAt: 300 })
    expect(keyUnused(expired, 400, 100, [])).toBe(false)
    expect(keyUnused(expired, 401, 100, [])).toBe(true)
    expect(keyUnused(expired, 401, 100, [{ marketId: MARKET, assignedAt: 400 }])).toBe(false)
    expect(keyUnused(expired, 401, 100, [{ marketId: OTHER_MARKET, assignedAt: 400 }])).toBe(true)
    expect(keyUnused(key({}), 10_000, 100, [])).toBe(false)
  })

  async function rotationFixture(registry: { signer?: Address } = {}) {
    const keyring = await openKeyring(join(directory, 'keys.json'), { chainId: 31337, operator: PROVER })
    const metrics = createMetrics()
    const log = capturedLogger()
    const clock = { time: 1_000, wallMs: 0 }
    const registered: Address[] = []
    const state = { fail: false }
    const keys = createKeyRotation({
      wallClock: () => clock.wallMs,
      keyring,
      markets: new Map([[MARKET, {}]]),
      clock: { now: () => clock.time },
      rotationFraction: 2 / 3,
      keyRetention: 50,
      tasks: () => [],
      registeredSigner: async () => registry.signer,
      async register(enclaveKey) {
        if (state.fail) throw new Error('quote refused')
        registered.push(enclaveKey.signer)
        return { registeredAt: clock.time, expiresAt: clock.time + 300 }
      },
      metrics,
      logger: log.logger,
    })
    return { keys, keyring, metrics, log, clock, registered, state }
  }

  it('registers a key at start, keeps it while current and rotates it once due by the chain clock', async () => {
    const f = await rotationFixture()
    await f.keys.ensure(MARKET, true)
    const first = f.keyring.current(MARKET) as EnclaveKey
    expect(f.registered).toEqual([first.signer])
    expect(await metricValue(f.metrics.keyExpiry, { market: '3' })).toBe(1_300)

    f.clock.time = 1_199
    await f.keys.maintain()
    expect(f.registered).toHaveLength(1)
    f.clock.time = 1_200
    await f.keys.maintain()
    const second = f.keyring.current(MARKET) as EnclaveKey
    expect(second.signer).not.toBe(first.signer)
    expect(f.registered).toEqual([first.signer, second.signer])
    expect(f.log.lines.at(-1)).toMatchObject({ msg: 'enclave key attested and registered', rotated: first.signer })
    // The previous key stays for inputs wrapped to it, until expired for the retention and no task needs it.
    expect(f.keyring.keys(MARKET)).toHaveLength(2)
    f.clock.time = 1_350
    await f.keys.maintain()
    expect(f.keyring.keys(MARKET)).toHaveLength(2)
    f.clock.time = 1_351
    await f.keys.maintain()
    expect(f.keyring.keys(MARKET).map((k) => k.signer)).toEqual([second.signer])
  })

  it('at start replaces a key the registry does not hold, and after a failure registers the same key again', async () => {
    const f = await rotationFixture({ signer: '0x0000000000000000000000000000000000000001' })
    await f.keys.ensure(MARKET, true)
    const held = f.keyring.current(MARKET) as EnclaveKey
    await f.keys.ensure(MARKET, true)
    expect(f.log.messages()).toContain('registry holds another key')
    expect(f.registered).toHaveLength(2)

    // A round's failure is counted and logged; rounds within the backoff leave the registry alone (a refusing
    // registry is not asked every poll), and the first round after it registers the key that was generated.
    f.clock.time = 1_250
    f.state.fail = true
    await f.keys.maintain()
    expect(await metricValue(f.metrics.retries, { stage: 'register' })).toBe(1)
    await f.keys.maintain()
    expect(await metricValue(f.metrics.retries, { stage: 'register' })).toBe(1)
    f.clock.wallMs = 2_000
    await f.keys.maintain()
    expect(await metricValue(f.metrics.retries, { stage: 'register' })).toBe(2)
    const pending = f.keyring.newest(MARKET) as EnclaveKey
    expect(pending.expiresAt).toBeUndefined()
    expect(f.keyring.current(MARKET)?.signer).not.toBe(held.signer)
    f.state.fail = false
    f.clock.wallMs = 5_999
    await f.keys.maintain()
    expect(f.registered).toHaveLength(2)
    f.clock.wallMs = 6_000
    await f.keys.maintain()
    expect(f.registered.at(-1)).toBe(pending.signer)
    expect(f.keyring.keys(MARKET).filter((k) => k.expiresAt === undefined)).toEqual([])
  })

  async function breakerFixture() {
    const breaker = await loadBreaker(join(directory, 'breaker.json'), 100n)
    const metrics = createMetrics()
    const log = capturedLogger()
    const listings = { dirty: 0, syncs: 0 }
    const ended: { requestId: bigint; reason: string }[] = []
    const task = { requestId: idIn(MARKET, 1n) } as TrackedTask
    const head = { number: 110n }
    const control = createBreakerControl({
      breaker,
      book: {
        get: (requestId) => (requestId === task.requestId ? task : undefined),
        finish: (finished, outcome) =>
          ended.push({
            requestId: finished.requestId,
            reason: outcome.kind === 'failed' ? outcome.reason : outcome.kind,
          }),
      },
      listings: {
        markDirty: () => void listings.dirty++,
        sync: async () => void listings.syncs++,
      },
      headNumber: async () => head.number,
      metrics,
      logger: log.logger,
    })
    return { breaker, control, metrics, log, listings, ended, task, head }
  }

  it('trips on a slash after the last reset, once, gives the task up and has the listings leave', async () => {
    const f = await breakerFixture()
    await f.control.onSlashed([slashedLog(idIn(MARKET, 7n), 90n)])
    expect(f.breaker.tripped()).toBe(false)
    expect(f.log.messages()).toEqual(['slashed before the last breaker reset'])

    await f.control.onSlashed([slashedLog(f.task.requestId, 120n), slashedLog(idIn(MARKET, 8n), 121n)])
    expect(f.ended).toEqual([{ requestId: f.task.requestId, reason: 'slashed' }])
    expect(f.breaker.trip()?.requestId).toBe(f.task.requestId)
    expect(await metricValue(f.metrics.breakerTripped)).toBe(1)
    expect(await metricValue(f.metrics.slashes)).toBe(2)
    expect(f.listings.dirty).toBe(1)

    // The same slashes read again (a scan after a reorg) count once.
    await f.control.onSlashed([slashedLog(f.task.requestId, 120n)])
    expect(await metricValue(f.metrics.slashes)).toBe(2)
  })

  it('resets at the head: slashes up to it are forgiven and the listings come back, only if it was tripped', async () => {
    const f = await breakerFixture()
    expect(await f.control.reset()).toEqual({ wasTripped: false })
    expect(f.listings.syncs).toBe(0)

    await f.control.onSlashed([slashedLog(f.task.requestId, 120n)])
    f.head.number = 150n
    expect(await f.control.reset()).toEqual({ wasTripped: true })
    expect(f.breaker.tripped()).toBe(false)
    expect(f.breaker.counts(150n)).toBe(false)
    expect(f.breaker.counts(151n)).toBe(true)
    expect(await metricValue(f.metrics.breakerTripped)).toBe(0)
    expect(f.listings).toEqual({ dirty: 2, syncs: 1 })
    expect(f.log.lines.find((line) => line.msg === 'circuit breaker reset by the operator')).toMatchObject({
      resetBlock: 150,
    })
  })
})

// ------------------------------------------------------------------------------------------------ setup

describe('the start-up warnings', () => {
  it('warn of input bounds below the matchers’ defaults', () => {
    const defaults = { maxInputBytes: DEFAULT_MAX_INPUT_BYTES, fetchTimeout: DEFAULT_INPUT_TIMEOUT_MS }
    expect(tightInputBounds(defaults)).toBe(false)
    expect(tightInputBounds({ ...defaults, maxInputBytes: DEFAULT_MAX_INPUT_BYTES - 1 })).toBe(true)
    expect(tightInputBounds({ ...defaults, fetchTimeout: DEFAULT_INPUT_TIMEOUT_MS - 1 })).toBe(true)
  })

  it('warn of markets locking stake that is neither native nor the mirror this runner keeps proven', () => {
    const nativeStaking = '0x00000000000000000000000000000000000000aa' as const
    const mirror = '0x00000000000000000000000000000000000000bb' as const
    const other = '0x00000000000000000000000000000000000000cc' as const
    const markets = [zeroAddress, nativeStaking, mirror, other].map((stakeSource) => ({ stakeSource }))
    expect(unkeptStake(markets, { nativeStaking, mirror })).toEqual([{ stakeSource: other }])
    expect(unkeptStake(markets, { nativeStaking, mirror: undefined })).toEqual([
      { stakeSource: mirror },
      { stakeSource: other },
    ])
  })
})
