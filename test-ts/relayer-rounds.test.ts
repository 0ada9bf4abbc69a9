import { pino } from 'pino'
import {
  type Address,
  encodeAbiParameters,
  encodeErrorResult,
  encodeEventTopics,
  type Hex,
  keccak256,
  type Log,
  toHex,
  zeroHash,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { createRelayerKeys } from '../relayer/src/keys.js'
import { createMetrics } from '../relayer/src/metrics.js'
import {
  decideReport,
  finalizeRetried,
  finalizeTurn,
  openOrders,
  unsettledOrders,
} from '../relayer/src/outcome-round.js'
import { EXECUTED, FAILED, QUEUED, type SlashOutcome, VETOED } from '../relayer/src/outcomes.js'
import { decideQuorum, type QuorumView, targetChain } from '../relayer/src/quorum-gathering.js'
import { RelayerOperatorError } from '../relayer/src/registration.js'
import type { SignedDigest } from '../relayer/src/signatures.js'
import { decideSlashBatch, deliveryReport } from '../relayer/src/slash-round.js'
import type { SlashOrder } from '../relayer/src/slashes.js'
import { decideSnapshot, epochBoundary, raceVerdict, type SnapshotView } from '../relayer/src/snapshot-round.js'
import { cairnNetworkMiddlewareAbi, slashInboxAbi } from '../ts/generated.js'
import type { KeyRegistration } from '../ts/service/key-registration.js'

/*
 * The relayer's rounds decided without a chain: every decide step is a pure function of chain reads (the rounds
 * against anvil are in restaking.e2e.test.ts).
 */

const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`
const silent = pino({ level: 'silent' })

const order = (taskId: bigint, blockNumber = 1n): SlashOrder => ({
  orderId: keccak256(toHex(`order ${taskId}`)),
  taskId,
  prover: address(0x11),
  vault: address(0xd0),
  amount: 50n,
  captureTimestamp: 1_000,
  blockNumber,
})

describe('the snapshot round decides', () => {
  const view: SnapshotView = {
    head: { epoch: 3n, captureTimestamp: 7_200 },
    finalNumber: 100n,
    deployBlock: 10n,
  }
  const newer = { number: 90n, timestamp: 10_800n }

  it('names the next read, in order, and reads nothing once the outcome is known', () => {
    expect(decideSnapshot({ ...view, finalNumber: 9n })).toEqual({
      kind: 'idle',
      reason: 'no final block since deployment',
    })
    expect(decideSnapshot(view)).toEqual({ kind: 'find-capture' })
    expect(decideSnapshot({ ...view, capture: null })).toEqual({
      kind: 'idle',
      reason: 'no block before the epoch boundary',
    })
    // A capture at the mirror's own second is no newer: no further read.
    expect(decideSnapshot({ ...view, capture: { number: 80n, timestamp: 7_200n } })).toEqual({
      kind: 'idle',
      reason: 'mirror is up to date',
    })
    expect(decideSnapshot({ ...view, capture: newer })).toEqual({ kind: 'check-capture', capture: newer })
  })

  it('captures the next epoch only where the middleware existed and the marketplace chain is past the capture', () => {
    const checked = (middlewareDeployed: boolean, marketplaceNow: bigint) =>
      decideSnapshot({ ...view, capture: newer, checks: { middlewareDeployed, marketplaceNow } })
    expect(checked(false, 20_000n)).toEqual({ kind: 'idle', reason: 'no middleware at the capture block' })
    expect(checked(true, 10_800n)).toEqual({ kind: 'idle', reason: 'capture not yet in the marketplace chain past' })
    expect(checked(true, 10_801n)).toEqual({ kind: 'capture', epoch: 4n, capture: newer })
    // The first snapshot: the mirror's capture is zero.
    expect(
      decideSnapshot({
        ...view,
        head: { epoch: 0n, captureTimestamp: 0 },
        capture: newer,
        checks: { middlewareDeployed: true, marketplaceNow: 20_000n },
      }),
    ).toEqual({ kind: 'capture', epoch: 1n, capture: newer })
  })

  it('captures at the epoch boundary at or before the final block, so every relayer picks the same block', () => {
    expect(epochBoundary(3_599n, 3_600)).toBe(0n)
    expect(epochBoundary(7_200n, 3_600)).toBe(7_200n)
    expect(epochBoundary(10_799n, 3_600)).toBe(7_200n)
  })

  it('after a lost commit race: settled only when the epoch holds our root', () => {
    const ours = keccak256(toHex('ours'))
    expect(raceVerdict(zeroHash, ours)).toBe('uncommitted')
    expect(raceVerdict(ours, ours)).toBe('ours')
    expect(raceVerdict(keccak256(toHex('theirs')), ours)).toBe('other')
  })
})

describe('the slash round decides', () => {
  it('delivers the orders the middleware never saw, by task id, at most a batch; forgets those it recorded', () => {
    const [a, b, c, d] = [4n, 1n, 3n, 2n].map((taskId) => order(taskId)) as [
      SlashOrder,
      SlashOrder,
      SlashOrder,
      SlashOrder,
    ]
    // None, Requested, None, Failed: a recorded order (requested, executed or failed) is delivered for good.
    const decision = decideSlashBatch({ known: [a, b, c, d], states: [0, 1, 0, 4], maxBatch: 50 })
    expect(decision.pending).toEqual([a, c])
    expect(decision.delivered).toEqual([b.orderId, d.orderId])
    expect(decision.batch).toEqual(
      [c, a].map(({ taskId, prover, vault, amount, captureTimestamp }) => ({
        taskId,
        prover,
        vault,
        amount,
        captureTimestamp,
      })),
    )
    const capped = decideSlashBatch({ known: [a, b, c, d], states: [0, 0, 0, 0], maxBatch: 2 })
    expect(capped.batch.map((s) => s.taskId)).toEqual([1n, 2n])
    expect(capped.pending).toHaveLength(4)
    expect(decideSlashBatch({ known: [], states: [], maxBatch: 2 })).toEqual({ pending: [], delivered: [], batch: [] })
  })

  it('reads a delivery’s receipt: delivered, skipped as seen before or refused for now, and failed for good', () => {
    const inbox = address(0x1b)
    const middleware = address(0xe0)
    const [o1, o2, o3, o4] = ['o1', 'o2', 'o3', 'o4'].map((o) => keccak256(toHex(o))) as [Hex, Hex, Hex, Hex]
    const vault = address(0xd0)
    const log = (at: Address, topics: Hex[], data: Hex = '0x') => ({ address: at, topics, data }) as unknown as Log
    const delivered = (orderId: Hex, at = inbox) =>
      log(
        at,
        encodeEventTopics({ abi: slashInboxAbi, eventName: 'SlashDelivered', args: { orderId, taskId: 1n } }) as Hex[],
      )
    const skipped = (orderId: Hex, taskId: bigint, reason: Hex) =>
      log(
        inbox,
        encodeEventTopics({ abi: slashInboxAbi, eventName: 'SlashSkipped', args: { orderId, taskId } }) as Hex[],
        encodeAbiParameters([{ type: 'bytes' }], [reason]),
      )
    const seen = encodeErrorResult({ abi: cairnNetworkMiddlewareAbi, errorName: 'SlashOrderAlreadySeen', args: [o2] })
    const notOptedIn = encodeErrorResult({
      abi: cairnNetworkMiddlewareAbi,
      errorName: 'VaultNotOptedIn',
      args: [vault],
    })
    const failed = log(
      middleware,
      encodeEventTopics({
        abi: cairnNetworkMiddlewareAbi,
        eventName: 'SlashFailed',
        args: { orderId: o4, vault },
      }) as Hex[],
      encodeAbiParameters([{ type: 'bytes' }], ['0x1425ea42']),
    )
    const report = deliveryReport(
      [
        delivered(o1),
        skipped(o2, 2n, seen),
        skipped(o3, 3n, notOptedIn),
        failed,
        delivered(o4),
        delivered(o1, address(9)),
      ],
      inbox,
    )
    // Another contract's events of the same shape are not the inbox's.
    expect(report.delivered).toBe(2)
    expect(report.skipped).toMatchObject([
      { orderId: o2, taskId: 2n, alreadyDelivered: true },
      { orderId: o3, taskId: 3n, alreadyDelivered: false },
    ])
    expect(report.skipped[1]?.reason).toMatch(/^VaultNotOptedIn\(/)
    // Decoded, never the raw data: Symbiotic's FailedInnerCall() by name.
    expect(report.failed).toEqual([
      { orderId: o4, vault, reason: 'FailedInnerCall() (an inner call failed without data)' },
    ])
  })
})

describe('the outcome round decides', () => {
  const [a, b, c] = [1n, 2n, 3n].map((taskId) => order(taskId)) as [SlashOrder, SlashOrder, SlashOrder]

  it('keeps the orders the mirror still holds queued; the others are done for good', () => {
    expect(openOrders([a, b, c], [QUEUED, EXECUTED, QUEUED])).toEqual({ open: [a, c], recorded: [b.orderId] })
    expect(openOrders([], [])).toEqual({ open: [], recorded: [] })
  })

  it('looks for veto requests only among orders neither settled on Ethereum nor given up on', () => {
    const settlements = new Map([[a.orderId, {}]])
    expect(unsettledOrders([a, b, c], settlements, new Set([c.orderId]))).toEqual([b])
  })

  it('finalizes once vetoed or past the window: the lowest relayer at once, the others after the delay', () => {
    const [low, high] = [address(0x0a), address(0x0b)]
    const turn = (params: Partial<Parameters<typeof finalizeTurn>[0]>) =>
      finalizeTurn({
        request: { completed: false, vetoDeadline: 1_000 },
        chainNow: 1_000n,
        me: low,
        relayers: [high],
        dueSince: undefined,
        wallNow: 50_000,
        submitDelay: 30_000,
        ...params,
      })
    expect(turn({ chainNow: 999n })).toEqual({ kind: 'not-due' })
    // Vetoed before its deadline: due at once.
    expect(turn({ chainNow: 999n, request: { completed: true, vetoDeadline: 1_000 } })).toEqual({
      kind: 'finalize',
      dueSince: 50_000,
    })
    expect(turn({})).toEqual({ kind: 'finalize', dueSince: 50_000 })
    expect(turn({ me: high, relayers: [low] })).toEqual({ kind: 'wait', dueSince: 50_000 })
    expect(turn({ me: high, relayers: [low], dueSince: 20_001 })).toEqual({ kind: 'wait', dueSince: 20_001 })
    expect(turn({ me: high, relayers: [low], dueSince: 20_000 })).toEqual({ kind: 'finalize', dueSince: 20_000 })
    // Alone (no peer seen signing yet): first.
    expect(turn({ me: high, relayers: [] })).toMatchObject({ kind: 'finalize' })
  })

  it('retries a finalize refused for a reason that may pass, and gives up on any other revert', () => {
    for (const reason of ['SlashOrderNotPending', 'VetoPeriodNotEnded', 'EarlierSlashPending', 'SlashNotExecutable'])
      expect(finalizeRetried(reason)).toBe(true)
    expect(finalizeRetried('SlashOrderUnknown')).toBe(false)
    expect(finalizeRetried(undefined)).toBe(false)
  })

  it('reports vetoes and failures at once and holds executions for a later snapshot, saying why it is idle', () => {
    const outcome = (o: SlashOrder, status: SlashOutcome['status'], settledAt: number): SlashOutcome => ({
      orderId: o.orderId,
      vault: o.vault,
      status,
      slashed: status === EXECUTED ? o.amount : 0n,
      settledAt,
    })
    const settlements = new Map(
      [outcome(a, EXECUTED, 2_000), outcome(b, VETOED, 5_000), outcome(c, FAILED, 5_000)].map(
        (o) => [o.orderId, o] as const,
      ),
    )
    expect(decideReport({ open: [a], settlements, mirrorCapture: 1_999, maxBatch: 50 })).toEqual({
      kind: 'idle',
      reason: 'executions wait for a later snapshot',
      held: [outcome(a, EXECUTED, 2_000)],
    })
    expect(decideReport({ open: [], settlements, mirrorCapture: 1_999, maxBatch: 50 })).toEqual({
      kind: 'idle',
      reason: 'no outcome to report',
      held: [],
    })
    const report = decideReport({ open: [a, b, c], settlements, mirrorCapture: 1_999, maxBatch: 50 })
    expect(report).toMatchObject({ kind: 'report', held: [{ orderId: a.orderId }] })
    expect(report.kind === 'report' && report.outcomes.map((o) => o.orderId)).toEqual([b.orderId, c.orderId])
  })
})

describe('quorum gathering decides', () => {
  const [me, peer1, peer2, stranger] = [0xa1, 0xa2, 0xa3, 0xa4].map(address) as [Address, Address, Address, Address]
  const [opLow, opMid, opHigh] = [0xf1, 0xf2, 0xf3].map(address) as [Address, Address, Address]
  const signed = (signer: Address): SignedDigest => ({
    kind: 'snapshot',
    digest: zeroHash,
    signer,
    signature: keccak256(toHex(signer)),
  })
  const view = (params: Partial<QuorumView>): QuorumView => ({
    me,
    candidates: [signed(me), signed(peer1), signed(peer2)],
    operators: [opHigh, opLow, opMid],
    admittedOperators: 3,
    threshold: 2,
    firstSeen: Date.now(),
    submitDelay: 60_000,
    ...params,
  })

  it('counts only keys the target chain holds active, once per operator, ordered by operator', () => {
    const candidates = [signed(me), signed(peer1), signed(stranger)]
    // The stranger's key is no active relayer key there: two operators sign, two are required.
    const inactive = decideQuorum(view({ candidates, operators: [opHigh, opLow, undefined] }))
    expect(inactive.count).toBe(2)
    expect(inactive.signed?.map((s) => s.signer)).toEqual([peer1, me])
    // Who else relays: active peers' keys only, never this relayer's own.
    expect(inactive.peerKeys).toEqual([peer1])
    expect(decideQuorum(view({ candidates })).peerKeys).toEqual([peer1, stranger])
    // Two keys of one operator count once: this relayer's own signature wins.
    const sameOperator = decideQuorum(view({ operators: [opLow, opLow, undefined] }))
    expect(sameOperator).toMatchObject({ signed: undefined, count: 1, myTurn: false, ownKeyActive: true })
    const oneOperator = decideQuorum(view({ operators: [opLow, opLow, opMid] }))
    expect(oneOperator.signed?.map((s) => s.signer)).toEqual([me, peer2])
  })

  it('needs the threshold and never fewer than a strict majority of the admitted operators', () => {
    expect(decideQuorum(view({ admittedOperators: 4 })).signed).toHaveLength(3)
    expect(decideQuorum(view({ admittedOperators: 5, operators: [opHigh, opLow, undefined] }))).toMatchObject({
      signed: undefined,
      count: 2,
      myTurn: false,
    })
    expect(decideQuorum(view({ threshold: 3, admittedOperators: 1 })).signed).toHaveLength(3)
  })

  it('submits at once where its key comes first, the others only after the delay', () => {
    const first = decideQuorum(view({ operators: [opLow, opMid, opHigh] }))
    expect(first).toMatchObject({ count: 3, myTurn: true, ownKeyActive: true })
    expect(first.signed?.map((s) => s.signer)).toEqual([me, peer1])
    expect(decideQuorum(view({})).myTurn).toBe(false)
    expect(decideQuorum(view({ firstSeen: Date.now() - 60_001 })).myTurn).toBe(true)
  })

  it('says when its own key is not active on the target chain, whose registry is the submitting chain’s', () => {
    expect(decideQuorum(view({ operators: [undefined, opLow, opMid] }))).toMatchObject({
      ownKeyActive: false,
      count: 2,
      myTurn: false,
    })
    expect(targetChain('slashBatch')).toBe('ethereum')
    expect(targetChain('snapshot')).toBe('marketplace')
    expect(targetChain('slashOutcomes')).toBe('marketplace')
  })
})

describe('the relayer key on both chains', () => {
  const registration = (registeredAt: number): KeyRegistration => ({
    registeredAt,
    expiresAt: registeredAt + 300,
    renewAt: registeredAt + 200,
  })

  function harness(register: (chain: string) => Promise<KeyRegistration>) {
    let wall = 0
    const clock = { ethereum: 0, marketplace: 0 }
    const reads: string[] = []
    const metrics = createMetrics()
    const keys = createRelayerKeys({
      register,
      chainTime: async (chain) => {
        reads.push(chain)
        return clock[chain]
      },
      metrics,
      log: silent,
      now: () => wall,
    })
    const registered = async (chain: string) =>
      (await metrics.keyRegistrations.get()).values.find((v) => v.labels.chain === chain)?.value ?? 0
    return { keys, clock, reads, registered, setWall: (ms: number) => (wall = ms) }
  }

  it('registers on both chains at start, then again by each chain’s own clock two thirds in', async () => {
    const calls: string[] = []
    const { keys, clock, reads, registered } = harness(async (chain) => {
      calls.push(chain)
      return registration(chain === 'ethereum' ? 1_000 : 5_000)
    })
    await keys.registerAtStart()
    expect(calls).toEqual(['ethereum', 'marketplace'])
    expect(reads).toEqual([])
    expect(keys.registrations()).toEqual({ ethereum: registration(1_000), marketplace: registration(5_000) })
    expect(await registered('ethereum')).toBe(1)

    clock.ethereum = 1_199
    clock.marketplace = 5_199
    expect(await keys.round()).toEqual({ status: 'idle', reason: 'key registered' })
    expect(calls).toHaveLength(2)
    clock.ethereum = 1_200
    await keys.round()
    expect(calls).toEqual(['ethereum', 'marketplace', 'ethereum'])
    expect(await registered('ethereum')).toBe(2)
    expect(await registered('marketplace')).toBe(1)
  })

  it('stops the start with the operator error as is, and any other failure as a key registration failure', async () => {
    const refused = new RelayerOperatorError('marketplace: OperatorNotAdmitted')
    const operator = harness(async (chain) => {
      if (chain === 'marketplace') throw refused
      return registration(0)
    })
    await expect(operator.keys.registerAtStart()).rejects.toBe(refused)
    const down = harness(async () => {
      throw new Error('connection refused')
    })
    await expect(down.keys.registerAtStart()).rejects.toThrow('relayer key registration failed: connection refused')
  })

  it('throws a failed renewal (the round’s error), then backs off without reading the chain or registering', async () => {
    let fail = false
    let calls = 0
    const { keys, clock, reads, setWall } = harness(async () => {
      calls++
      if (fail) throw new Error('registry down')
      return registration(0)
    })
    await keys.registerAtStart()
    fail = true
    clock.ethereum = 200
    await expect(keys.round()).rejects.toThrow('registry down')
    expect(reads).toEqual(['ethereum'])
    // Two seconds of backoff on Ethereum: its clock is not read, the marketplace key (not due) still is.
    setWall(1_999)
    expect(await keys.round()).toEqual({ status: 'idle', reason: 'key registered' })
    expect(reads).toEqual(['ethereum', 'marketplace'])
    expect(calls).toBe(3)
    fail = false
    setWall(2_000)
    await keys.round()
    expect(calls).toBe(4)
    expect(keys.registrations().ethereum).toEqual(registration(0))
  })
})
