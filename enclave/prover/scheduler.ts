/**
 * Runs proofs: at most `maxConcurrent` at once, earliest deadline first, each under its task's deadline (less the
 * submit margin). A finished attempt goes one of four ways: a proof (to the submitter), invalid inputs (to the
 * invalid-input attestation, with the statement the enclave checked), a permanent failure (given up and reported),
 * or a transient failure (retried with exponential backoff while the deadline still allows another attempt).
 */
import type { Logger } from 'pino'
import type { FastAssignmentOffer, OpenOffer } from '../../ts/fast-assignments.js'
import { InputsUnavailableError } from '../../ts/request-inputs.js'
import type { Fulfilment } from '../../ts/types.js'
import { describeError, proverFailureKind } from './backends/backend.js'
import type { ProverBackendKind } from './backends/registry.js'
import type { ChainClock } from './clock.js'
import { InconsistentTaskError, type TaskRecord, UndecryptableInputsError, UnprovableInputsError } from './job.js'
import type { Metrics } from './metrics.js'

export type TaskState = 'queued' | 'proving' | 'backoff' | 'ready' | 'settling'

/** A task this runner works on, from its TaskAssigned until it is settled or given up. */
export type TrackedTask = TaskRecord & {
  backend: ProverBackendKind
  /** Chain time of the assignment: the task's deadline less the request's proving time. */
  assignedAt: number
  byMatcher: boolean
  state: TaskState
  /** Proof attempts started. */
  attempts: number
  /** Aborted when the task is dropped (settled elsewhere, slashed) or the runner stops. */
  abort: AbortController
  /**
   * A fast assignment (fast-lane.ts), proven like a task but settled with fulfilSigned: no on-chain record, so `request`
   * and `task` are built from the signed request and the offer (fast-offers.ts).
   */
  fast?: FastAssignmentOffer
  /**
   * A fast assignment of an on-chain request still Open (fast-open-lane.ts), proven like a task but settled with
   * fulfilOpen: its records are the RequestCreated log's, its `task` built from the offer (fast-open.ts).
   */
  open?: OpenOffer
}

export type FailureKind =
  | 'invalid-inputs'
  | 'unchecked-invalid-inputs'
  | 'inconsistent-task'
  | 'undecryptable'
  | 'inputs-unavailable'
  | 'aborted'
  | 'limit-exceeded'
  | 'transient'

/** Failures no retry can fix: the task is given up (and never attested). */
const PERMANENT = new Set<FailureKind>([
  'unchecked-invalid-inputs',
  'inconsistent-task',
  'undecryptable',
  'inputs-unavailable',
])

/** How a failed attempt is handled; `signal` is the attempt's (task or deadline) abort signal. */
export function failureKind(error: unknown, signal: AbortSignal): FailureKind {
  const kind = proverFailureKind(error)
  // Only a verdict on inputs the enclave checked (proveTask's) may be attested; any other is given up.
  if (kind === 'invalid-inputs') {
    return error instanceof UnprovableInputsError ? 'invalid-inputs' : 'unchecked-invalid-inputs'
  }
  if (error instanceof InconsistentTaskError) return 'inconsistent-task'
  if (error instanceof UndecryptableInputsError) return 'undecryptable'
  if (error instanceof InputsUnavailableError && error.permanent) return 'inputs-unavailable'
  // A fetch cut short by the deadline fails with the signal's reason, not a ProvingAbortedError.
  if (kind === 'aborted' || signal.aborted) return 'aborted'
  return kind
}

export type SchedulerDeps = {
  maxConcurrent: number
  /** Seconds before a task's deadline when proving is abandoned. */
  submitMargin: number
  clock: ChainClock
  prove(task: TrackedTask, signal: AbortSignal): Promise<Fulfilment>
  onProof(task: TrackedTask, fulfilment: Fulfilment): void
  /** The backend found the checked inputs unprovable: `error.statement` is what the enclave may attest. */
  onInvalidInputs(task: TrackedTask, error: UnprovableInputsError): void
  onFailed(task: TrackedTask, reason: string, error?: unknown): void
  /** Called after every attempt, when the number of busy tasks may have dropped. */
  onSettled?(): void
  metrics: Metrics
  logger: Logger
  backoff?: { initialMs: number; maxMs: number }
}

export type Scheduler = {
  add(task: TrackedTask): void
  /**
   * Tasks queued or proving (those `which` selects): a ready proof may wait for them, to share a batch. Fast offers
   * and assigned tasks settle with different calls, so each side waits for its own kind only.
   */
  busy(which?: (task: TrackedTask) => boolean): number
  /** Stops starting attempts and waits for the running ones. */
  stop(): Promise<void>
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { clock, metrics } = deps
  const backoff = deps.backoff ?? { initialMs: 1_000, maxMs: 30_000 }
  const queue: TrackedTask[] = []
  const running = new Set<Promise<void>>()
  const proving = new Set<TrackedTask>()
  const timers = new Set<NodeJS.Timeout>()
  let stopped = false

  const secondsLeft = (task: TrackedTask) => task.task.deadline - deps.submitMargin - clock.now()

  function add(task: TrackedTask): void {
    if (stopped || task.abort.signal.aborted) return
    task.state = 'queued'
    queue.push(task)
    pump()
  }

  function pump(): void {
    queue.sort((a, b) => a.task.deadline - b.task.deadline)
    while (!stopped && running.size < deps.maxConcurrent && queue.length > 0) {
      const task = queue.shift() as TrackedTask
      if (task.abort.signal.aborted) continue
      proving.add(task)
      const run: Promise<void> = attempt(task).finally(() => {
        running.delete(run)
        proving.delete(task)
        pump()
        deps.onSettled?.()
      })
      running.add(run)
    }
  }

  async function attempt(task: TrackedTask): Promise<void> {
    const left = secondsLeft(task)
    if (left <= 0) {
      deps.onFailed(task, 'deadline')
      return
    }
    const signal = AbortSignal.any([task.abort.signal, AbortSignal.timeout(Math.ceil(left * 1000))])
    task.state = 'proving'
    task.attempts += 1
    const labels = { backend: task.backend }
    metrics.proofsStarted.inc(labels)
    const done = metrics.provingSeconds.startTimer(labels)
    try {
      const fulfilment = await deps.prove(task, signal)
      done()
      metrics.proofsSucceeded.inc(labels)
      // Dropped meanwhile (settled or slashed elsewhere): nothing to submit.
      if (task.abort.signal.aborted && !stopped) return
      task.state = 'ready'
      deps.onProof(task, fulfilment)
    } catch (error) {
      done()
      failed(task, error, signal)
    }
  }

  function failed(task: TrackedTask, error: unknown, signal: AbortSignal): void {
    const kind = failureKind(error, signal)
    metrics.proofsFailed.inc({ backend: task.backend, kind })
    const log = deps.logger.child({ requestId: task.requestId.toString(), attempt: task.attempts })
    if (kind === 'invalid-inputs') {
      task.state = 'settling'
      log.info({ reason: describeError(error) }, 'inputs cannot be proven')
      deps.onInvalidInputs(task, error as UnprovableInputsError)
    } else if (PERMANENT.has(kind)) {
      deps.onFailed(task, kind, error)
    } else if (kind === 'aborted') {
      // Dropped or stopping: the task is someone else's concern now. Otherwise the deadline cut it short.
      if (!task.abort.signal.aborted) deps.onFailed(task, 'deadline', error)
    } else {
      retryLater(task, kind, error, log)
    }
  }

  function retryLater(task: TrackedTask, kind: FailureKind, error: unknown, log: Logger): void {
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (task.attempts - 1))
    if (secondsLeft(task) <= delay / 1000) {
      deps.onFailed(task, 'deadline', error)
      return
    }
    metrics.retries.inc({ stage: 'prove' })
    log.warn({ kind, err: error, retryInMs: delay }, 'proof attempt failed; retrying')
    task.state = 'backoff'
    const timer = setTimeout(() => {
      timers.delete(timer)
      add(task)
    }, delay)
    timers.add(timer)
  }

  async function stop(): Promise<void> {
    stopped = true
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    queue.length = 0
    await Promise.all(running)
  }

  function busy(which: (task: TrackedTask) => boolean = () => true): number {
    return [...proving, ...queue].filter(which).length
  }

  return { add, busy, stop }
}
