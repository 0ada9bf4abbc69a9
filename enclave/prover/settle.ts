/**
 * Getting tasks settled on chain: proofs (fulfil for one, fulfilBatch for several that are ready together) and
 * invalid-input attestations (rejectInputs). Every transaction is broadcast from one lane, so the operator account
 * never races itself for a nonce, and every submission first reads the request's status: a task already settled (by
 * an earlier run of this runner, say) is never submitted twice.
 *
 * A settlement holds the lane only until its transaction is broadcast: the next one goes out under the next nonce
 * while it waits for its receipt, so a slow transaction delays no other task. The SDK follows each one block by
 * block and sends it again under its nonce if the node drops it (a rollback, an evicted pool entry), with higher
 * fees if it stays pending, up to the task's deadline rather than a fixed timeout.
 *
 * Batching: a ready proof is submitted at once when no other proof is queued or in progress; otherwise it waits for
 * them, up to `batchWindow` ms (or until `maxBatch` proofs are ready), so that proofs finishing close together share
 * one fulfilBatch.
 */
import type { Logger } from 'pino'
import type { Hex, LocalAccount } from 'viem'
import type { CairnClient } from '../../ts/client.js'
import { decodeCairnError } from '../../ts/errors.js'
import { rejectInputKey, signInvalidInputKey } from '../../ts/private-claims.js'
import type { SendOptions } from '../../ts/sending.js'
import { fulfil, fulfilBatch, rejectInputs, signInvalidInputs } from '../../ts/settlement.js'
import type { Fulfilment } from '../../ts/types.js'
import type { ProofStatement } from './backends/backend.js'
import type { ChainClock } from './clock.js'
import type { Metrics } from './metrics.js'
import { requestStatusOf } from './onchain.js'
import type { TrackedTask } from './scheduler.js'

/** Runs chain writes one after another; a failed one does not block the next. */
export type TxLane = <result>(work: () => Promise<result>) => Promise<result>

export function createTxLane(): TxLane {
  let tail: Promise<unknown> = Promise.resolve()
  return (work) => {
    const run = tail.then(work)
    tail = run.catch(() => undefined)
    return run
  }
}

/**
 * Runs `send` in the lane until it broadcasts its transaction (it calls `onSent`) or ends without one: `sent`
 * resolves then, freeing the lane, and `done` with the outcome once the transaction has its receipt.
 */
export function sendInLane<result>(
  lane: TxLane,
  send: (onSent: () => void) => Promise<result>,
): { sent: Promise<void>; done: Promise<result> } {
  let outcome: Promise<result> | undefined
  const sent = lane(
    () =>
      new Promise<void>((resolve) => {
        outcome = send(resolve)
        outcome.then(
          () => resolve(),
          () => resolve(),
        )
      }),
  )
  return { sent, done: sent.then(() => outcome as Promise<result>) }
}

export type TaskOutcome =
  | { kind: 'fulfilled' }
  | { kind: 'rejected' }
  /** A private claim whose requester released no key in time, abandoned: refunded, nobody slashed. */
  | { kind: 'abandoned' }
  | { kind: 'already-settled'; status: string }
  | { kind: 'failed'; reason: string; error?: unknown }

/** Reverts meaning the task is settled already (by us earlier, or slashed): nothing to do. */
const SETTLED = new Set(['RequestAlreadyFulfilled', 'RequestNotAssigned'])
/** Reverts that a retry may get past: a verifier short of gas, an enclave key not (yet, or no longer) active. */
const TRANSIENT = new Set(['CalleeOutOfGas', 'NotProverEnclave', 'EmptyRevert'])

type Verdict = { kind: 'settled'; status: string } | { kind: 'permanent'; reason: string } | { kind: 'transient' }

/** What a failed submission means for its task. */
export function submissionVerdict(error: unknown): Verdict {
  const decoded = decodeCairnError(error)
  if (decoded === undefined) return { kind: 'transient' }
  if (SETTLED.has(decoded.name)) return { kind: 'settled', status: decoded.name }
  if (decoded.name === 'TaskDeadlinePassed') return { kind: 'permanent', reason: 'deadline' }
  if (TRANSIENT.has(decoded.name)) return { kind: 'transient' }
  return { kind: 'permanent', reason: decoded.name }
}

export type SettlerDeps = {
  client: CairnClient
  lane: TxLane
  clock: ChainClock
  batchWindow: number
  maxBatch: number
  /** Proofs queued or in progress. */
  busy(): number
  /** The market's current enclave key, which signs invalid-input attestations. */
  enclave(marketId: bigint): LocalAccount | undefined
  finish(task: TrackedTask, outcome: TaskOutcome): void
  metrics: Metrics
  logger: Logger
  backoff?: { initialMs: number; maxMs: number }
}

export type Settler = {
  /** A proof is ready: submit it, alone or with others. */
  proof(task: TrackedTask, fulfilment: Fulfilment): void
  /**
   * The inputs cannot be proven: post the enclave's attestation of `statement`, the request and inputs digest the
   * enclave checked itself (job.ts), never the digest of a record as the host served it.
   */
  /** `inputKey`: the requester's released key of a private claim, when it is what the enclave found wrong. */
  reject(task: TrackedTask, statement: ProofStatement, inputKey?: Hex): void
  /** Re-checks whether ready proofs should stop waiting (a proof attempt ended). */
  poke(): void
  /** Submits every ready proof now and waits for all submissions in flight. */
  stop(): Promise<void>
}

type ReadyProof = { task: TrackedTask; fulfilment: Fulfilment; attempts: number }

export function createSettler(deps: SettlerDeps): Settler {
  const { client, metrics } = deps
  const backoff = deps.backoff ?? { initialMs: 1_000, maxMs: 30_000 }
  const ready = new Map<bigint, ReadyProof>()
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  let windowTimer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let stopped = false

  const log = (task: TrackedTask) => deps.logger.child({ requestId: task.requestId.toString() })
  const late = (task: TrackedTask) => deps.clock.now() > task.task.deadline

  function track(work: Promise<void>): void {
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work))
  }

  function later(run: () => void, delay: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!stopped) run()
    }, delay)
    timers.add(timer)
  }

  function delayOf(attempts: number): number {
    return Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempts)
  }

  // ------------------------------------------------------------------------------------------------ proofs

  function schedule(force = false): void {
    if (ready.size === 0 || flushing !== undefined) return
    if (!force && !stopped && ready.size < deps.maxBatch && deps.busy() > 0) {
      windowTimer ??= setTimeout(() => {
        windowTimer = undefined
        schedule(true)
      }, deps.batchWindow)
      return
    }
    clearTimeout(windowTimer)
    windowTimer = undefined
    const items = [...ready.values()].slice(0, deps.maxBatch)
    for (const item of items) ready.delete(item.task.requestId)
    const { sent, done } = sendInLane(deps.lane, (onSent) => submit(items, onSent))
    flushing = sent.finally(() => {
      flushing = undefined
      schedule()
    })
    track(done)
  }

  async function submit(items: ReadyProof[], onSent: () => void): Promise<void> {
    let live: ReadyProof[]
    try {
      live = await stillAssigned(items)
    } catch (error) {
      return retry(items, error)
    }
    if (live.length === 1) return submitOne(live[0] as ReadyProof, sending(live, onSent))
    if (live.length > 1) return submitBatch(live, sending(live, onSent))
  }

  /** A transaction settling `items` is worth following until the earliest of their deadlines, and no longer. */
  function sending(items: ReadyProof[], onSent: () => void): SendOptions {
    const deadline = Math.min(...items.map(({ task }) => task.task.deadline))
    return { onSent, deadline: BigInt(deadline) }
  }

  /** Drops (as settled, or failed when past the deadline) every item that is not ours to submit any more. */
  async function stillAssigned(items: ReadyProof[]): Promise<ReadyProof[]> {
    const statuses = await Promise.all(items.map(({ task }) => requestStatusOf(client, task.requestId)))
    return items.filter(({ task }, i) => {
      const status = statuses[i] as string
      if (status !== 'Assigned') deps.finish(task, { kind: 'already-settled', status })
      else if (late(task)) deps.finish(task, { kind: 'failed', reason: 'deadline' })
      else return true
      return false
    })
  }

  async function submitOne(item: ReadyProof, options: SendOptions): Promise<void> {
    try {
      await fulfil(client, item.fulfilment, options)
    } catch (error) {
      return failed(item, error)
    }
    metrics.submissions.inc({ method: 'fulfil' })
    metrics.fulfilments.inc({ outcome: 'fulfilled' })
    deps.finish(item.task, { kind: 'fulfilled' })
  }

  async function submitBatch(items: ReadyProof[], options: SendOptions): Promise<void> {
    let outcome: Awaited<ReturnType<typeof fulfilBatch>>
    try {
      outcome = await fulfilBatch(
        client,
        items.map(({ fulfilment }) => fulfilment),
        options,
      )
    } catch (error) {
      return retry(items, error)
    }
    metrics.submissions.inc({ method: 'fulfilBatch' })
    const byId = new Map(items.map((item) => [item.task.requestId, item]))
    for (const { requestId } of outcome.fulfilled) {
      const item = byId.get(requestId)
      if (!item) continue
      metrics.fulfilments.inc({ outcome: 'fulfilled' })
      deps.finish(item.task, { kind: 'fulfilled' })
    }
    for (const { requestId, reason } of outcome.skipped) {
      const item = byId.get(requestId)
      if (!item) continue
      metrics.fulfilments.inc({ outcome: 'skipped' })
      failed(item, reason)
    }
  }

  function failed(item: ReadyProof, error: unknown): void {
    const verdict = submissionVerdict(error)
    if (verdict.kind === 'settled') deps.finish(item.task, { kind: 'already-settled', status: verdict.status })
    else if (verdict.kind === 'permanent') deps.finish(item.task, { kind: 'failed', reason: verdict.reason, error })
    else retry([item], error)
  }

  function retry(items: ReadyProof[], error: unknown): void {
    for (const item of items) {
      const delay = delayOf(item.attempts)
      if (stopped || deps.clock.now() + delay / 1000 > item.task.task.deadline) {
        deps.finish(item.task, { kind: 'failed', reason: stopped ? 'stopped' : 'deadline', error })
        continue
      }
      metrics.retries.inc({ stage: 'submit' })
      log(item.task).warn({ err: error, retryInMs: delay }, 'submission failed; retrying')
      later(() => {
        ready.set(item.task.requestId, { ...item, attempts: item.attempts + 1 })
        schedule(true)
      }, delay)
    }
  }

  function proof(task: TrackedTask, fulfilment: Fulfilment): void {
    ready.set(task.requestId, { task, fulfilment, attempts: 0 })
    schedule()
  }

  // ------------------------------------------------------------------------------------------------ attestations

  function reject(task: TrackedTask, statement: ProofStatement, inputKey?: Hex, attempts = 0): void {
    track(
      sendInLane(deps.lane, (onSent) => attest(task, statement, inputKey, onSent)).done.catch((error: unknown) => {
        const verdict = submissionVerdict(error)
        if (verdict.kind === 'settled') return deps.finish(task, { kind: 'already-settled', status: verdict.status })
        if (verdict.kind === 'permanent') return deps.finish(task, { kind: 'failed', reason: verdict.reason, error })
        const delay = delayOf(attempts)
        if (stopped || deps.clock.now() + delay / 1000 > task.task.deadline) {
          return deps.finish(task, { kind: 'failed', reason: stopped ? 'stopped' : 'deadline', error })
        }
        metrics.retries.inc({ stage: 'reject' })
        log(task).warn({ err: error, retryInMs: delay }, 'invalid-input attestation failed; retrying')
        later(() => reject(task, statement, inputKey, attempts + 1), delay)
      }),
    )
  }

  async function attest(
    task: TrackedTask,
    statement: ProofStatement,
    inputKey: Hex | undefined,
    onSent: () => void,
  ): Promise<void> {
    const status = await requestStatusOf(client, task.requestId)
    if (status !== 'Assigned') return deps.finish(task, { kind: 'already-settled', status })
    const enclave = deps.enclave(task.marketId)
    if (enclave === undefined) throw new Error(`market ${task.marketId} has no registered enclave key`)
    if (inputKey !== undefined) return attestWrongKey(task, statement, inputKey, enclave, onSent)
    const signature = await signInvalidInputs(enclave, client.deployment, {
      requestId: statement.requestId,
      inputsDigest: statement.inputsDigest,
    })
    const { price, refund } = await rejectInputs(
      client,
      { requestId: task.requestId, request: task.request, task: task.task, signature },
      { onSent, deadline: BigInt(task.task.deadline) },
    )
    metrics.invalidInputs.inc()
    log(task).info({ price: price.toString(), refund: refund.toString() }, 'invalid inputs attested')
    deps.finish(task, { kind: 'rejected' })
  }

  /** The requester released a key that does not open the inputs: attested over that key's hash (rejectInputKey). */
  async function attestWrongKey(
    task: TrackedTask,
    statement: ProofStatement,
    inputKey: Hex,
    enclave: LocalAccount,
    onSent: () => void,
  ): Promise<void> {
    const { requestId, inputsDigest } = statement
    const signature = await signInvalidInputKey(enclave, client.deployment, { requestId, inputsDigest, inputKey })
    const records = { requestId: task.requestId, request: task.request, task: task.task, signature }
    const { price, refund } = await rejectInputKey(client, records, { onSent, deadline: BigInt(task.task.deadline) })
    metrics.invalidInputs.inc()
    log(task).info({ price: price.toString(), refund: refund.toString() }, 'wrong released input key attested')
    deps.finish(task, { kind: 'rejected' })
  }

  async function stop(): Promise<void> {
    stopped = true
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    schedule(true)
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  }

  return { proof, reject, poke: () => schedule(), stop }
}
