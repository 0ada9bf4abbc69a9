/**
 * The tasks this runner works on, by request id, from their assignment (a TaskAssigned log, or a claim's receipt)
 * until they are settled or given up. A task is handed on (to the scheduler) when tracked, and finished once: its
 * proof attempts are aborted and its outcome counted and logged.
 */
import type { Logger } from 'pino'
import type { Hex } from 'viem'
import { KEY_RELEASE_WINDOW } from '../../ts/private-claims.js'
import { hasInputs } from '../../ts/request-inputs.js'
import { marketIdOf, type RequestCreation, type Task } from '../../ts/types.js'
import type { ProverBackendKind } from './backends/registry.js'
import type { Metrics } from './metrics.js'
import type { TrackedTask } from './scheduler.js'
import type { TaskOutcome } from './settle.js'
import { assignedAt } from './tasks.js'

/** An assignment to this prover, from its TaskAssigned log or a claim's receipt. */
export type Assigned = { requestId: bigint; task: Task; byMatcher: boolean }

export type TaskBook = {
  get(requestId: bigint): TrackedTask | undefined
  has(requestId: bigint): boolean
  size(): number
  all(): IterableIterator<TrackedTask>
  track(assigned: Assigned, creation: RequestCreation, inputKey?: Hex): void
  /**
   * A private fallback claim's input key arrived (the requester's InputKeyReleased): work on the task starts. A task
   * that holds its key already, or is not tracked, is left alone.
   */
  keyReleased(requestId: bigint, inputKey: Hex): void
  /** Private fallback claims still waiting for their requester's input key (not handed on yet). */
  awaitingKey(): TrackedTask[]
  /** Ends a task with its outcome; a task already finished (or replaced) is left alone. */
  finish(task: TrackedTask, outcome: TaskOutcome): void
}

export type TaskBookParams = {
  kindOf(marketId: bigint): ProverBackendKind
  /** A task is tracked: start working on it. */
  onTracked(task: TrackedTask): void
  /** A task ended: a ready proof waiting for it, to share a batch, need wait no longer. */
  onFinished(): void
  metrics: Pick<Metrics, 'tasksInFlight' | 'tasksFailed' | 'tasksAlreadySettled'>
  logger: Logger
}

/**
 * Whether a task waits for its requester's input key before it can be proven: a fallback claim of a private request
 * (claimPrivate) whose key has not been released. A matcher assignment brings its key in its own batch.
 */
export function awaitsInputKey(task: Pick<TrackedTask, 'byMatcher' | 'privateInputs' | 'inputKey'>): boolean {
  return !task.byMatcher && hasInputs(task.privateInputs) && task.inputKey === undefined
}

/** Chain time by which the requester of a private claim must release its key: the task deadline less its proving time. */
export function keyDueBy(task: Pick<TrackedTask, 'task' | 'request'>): number {
  return task.task.deadline - task.request.provingTime
}

/** A new task's record, queued and not yet attempted. */
export function trackedTask(
  assigned: Assigned,
  creation: RequestCreation,
  backend: ProverBackendKind,
  inputKey?: Hex,
): TrackedTask {
  return {
    requestId: assigned.requestId,
    marketId: marketIdOf(assigned.requestId),
    requester: creation.requester,
    request: creation.request,
    task: assigned.task,
    publicInputs: creation.publicInputs,
    privateInputs: creation.privateInputs,
    ...(inputKey === undefined ? {} : { inputKey }),
    backend,
    // A private claim's deadline also holds the key release window: it was assigned that much earlier.
    assignedAt:
      assignedAt(assigned.task, creation.request.provingTime) -
      (!assigned.byMatcher && hasInputs(creation.privateInputs) ? KEY_RELEASE_WINDOW : 0),
    byMatcher: assigned.byMatcher,
    state: 'queued',
    attempts: 0,
    abort: new AbortController(),
  }
}

export function createTaskBook(params: TaskBookParams): TaskBook {
  const { metrics, logger } = params
  const tasks = new Map<bigint, TrackedTask>()

  function track(assigned: Assigned, creation: RequestCreation, inputKey?: Hex): void {
    const marketId = marketIdOf(assigned.requestId)
    const task = trackedTask(assigned, creation, params.kindOf(marketId), inputKey)
    tasks.set(task.requestId, task)
    metrics.tasksInFlight.set(tasks.size)
    logger.info(
      {
        requestId: task.requestId.toString(),
        marketId: marketId.toString(),
        deadline: assigned.task.deadline,
        byMatcher: assigned.byMatcher,
        privateInputs: hasInputs(creation.privateInputs),
      },
      'task assigned',
    )
    if (awaitsInputKey(task)) {
      logger.info(
        { requestId: task.requestId.toString(), keyDueBy: keyDueBy(task) },
        'waiting for the requester to release the input key',
      )
      return
    }
    params.onTracked(task)
  }

  function keyReleased(requestId: bigint, inputKey: Hex): void {
    const task = tasks.get(requestId)
    if (task === undefined || !awaitsInputKey(task)) return
    task.inputKey = inputKey
    logger.info({ requestId: requestId.toString() }, 'input key released by the requester')
    params.onTracked(task)
  }

  function finish(task: TrackedTask, outcome: TaskOutcome): void {
    if (tasks.get(task.requestId) !== task) return
    tasks.delete(task.requestId)
    task.abort.abort()
    metrics.tasksInFlight.set(tasks.size)
    const log = logger.child({ requestId: task.requestId.toString(), marketId: task.marketId.toString() })
    if (outcome.kind === 'failed') {
      metrics.tasksFailed.inc({ reason: outcome.reason })
      log.error({ reason: outcome.reason, err: outcome.error }, 'task given up')
    } else if (outcome.kind === 'already-settled') {
      metrics.tasksAlreadySettled.inc()
      log.info({ status: outcome.status }, 'task already settled on chain')
    } else {
      log.info({ outcome: outcome.kind, attempts: task.attempts }, 'task settled')
    }
    params.onFinished()
  }

  return {
    get: (requestId) => tasks.get(requestId),
    has: (requestId) => tasks.has(requestId),
    size: () => tasks.size,
    all: () => tasks.values(),
    track,
    keyReleased,
    awaitingKey: () => [...tasks.values()].filter(awaitsInputKey),
    finish,
  }
}
