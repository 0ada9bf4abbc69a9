/**
 * What the scanned logs mean for this runner's work. RequestCreated in its markets makes a fallback candidate (a
 * private one is claimed with claimPrivate, its key released by the requester: InputKeyReleased starts its work). TaskSlashed goes to the breaker. TaskAssigned starts a
 * task, unless its request is no longer Assigned on chain (an earlier run, or this one's claim, may have settled it):
 * never work twice on a task. After a reorg, tasks whose assignment went with the lost blocks are given up.
 */
import type { Logger } from 'pino'
import type { HeadBlock } from '../../ts/chain-head.js'
import type { CairnReader } from '../../ts/client.js'
import { marketIdOf, type RequestCreation, type RequestStatus } from '../../ts/types.js'
import type { Candidates } from './candidates.js'
import type { Metrics } from './metrics.js'
import { requestStatusOf } from './onchain.js'
import type { TrackedTask } from './scheduler.js'
import type { TaskOutcome } from './settle.js'
import type { TaskBook } from './task-book.js'
import { type AssignedLog, findCreation, type ScannedLogs, type SlashedLog } from './tasks.js'

/**
 * What becomes of a task whose blocks a reorg took, by its request's status now: Open again (the assignment went
 * with the lost blocks) gives it up, settled (by us, say: its receipt tells the rest) ends it, still Assigned keeps it.
 */
export function afterReorg(status: RequestStatus): TaskOutcome | undefined {
  if (status === 'Open') return { kind: 'failed', reason: 'reorged-out' }
  if (status !== 'Assigned') return { kind: 'already-settled', status }
  return undefined
}

/** Assigned again on the chain a reorg left, at other terms: the records the held task would settle with are void. */
export function reassigned(held: TrackedTask, log: AssignedLog): boolean {
  return held.task.deadline !== log.task.deadline || held.task.price !== log.task.price
}

/** The chain as assignments need it. */
export type AssignmentsChain = {
  status(requestId: bigint): Promise<RequestStatus>
  /** The request's RequestCreated log, searched back from `toBlock`. */
  creation(requestId: bigint, toBlock: bigint): Promise<RequestCreation | undefined>
}

/** The assignments' chain over RPC: creations are searched back to the marketplace's deploy block. */
export function assignmentsChainOf(reader: CairnReader, logRange: number): AssignmentsChain {
  const fromBlock = reader.deployment.deployBlock
  return {
    status: (requestId) => requestStatusOf(reader, requestId),
    creation: (requestId, toBlock) => findCreation(reader, requestId, { fromBlock, toBlock, logRange }),
  }
}

export type AssignmentsParams = {
  chain: AssignmentsChain
  book: TaskBook
  candidates: Candidates
  markets: Pick<ReadonlyMap<bigint, unknown>, 'has'>
  onSlashed(slashes: SlashedLog[]): Promise<void>
  metrics: Pick<Metrics, 'tasksFailed'>
  logger: Logger
}

export type Assignments = {
  /** The logs of one block range, in order: creations, slashes, assignments. */
  onLogs(logs: ScannedLogs): Promise<void>
  /** Gives up the tasks a reorg took and forgets the candidates (the scan from the start finds the ones still there). */
  onReorg(lost: HeadBlock): Promise<void>
}

export function createAssignments(params: AssignmentsParams): Assignments {
  const { chain, book, candidates, markets, metrics, logger } = params

  function onCreated(logs: ScannedLogs): void {
    for (const created of logs.created) {
      if (!markets.has(BigInt(created.marketId))) continue
      candidates.add(created)
    }
  }

  async function onAssigned(logs: ScannedLogs): Promise<void> {
    for (const log of logs.assigned) {
      const held = book.get(log.requestId)
      if (held && reassigned(held, log)) book.finish(held, { kind: 'failed', reason: 'reorged-out' })
    }
    const fresh = logs.assigned.filter((log) => !book.has(log.requestId))
    const statuses = await Promise.all(fresh.map((log) => chain.status(log.requestId)))
    for (const [i, log] of fresh.entries()) {
      const requestId = log.requestId
      if (statuses[i] !== 'Assigned' || book.has(requestId)) continue
      const marketId = marketIdOf(requestId)
      if (!markets.has(marketId)) {
        metrics.tasksFailed.inc({ reason: 'unknown-market' })
        logger.error(
          { requestId: requestId.toString(), marketId: marketId.toString() },
          'task in an unconfigured market',
        )
        continue
      }
      const creation = candidates.get(requestId) ?? (await chain.creation(requestId, log.blockNumber))
      if (creation === undefined) throw new Error(`no RequestCreated log for assigned request ${requestId}`)
      book.track(log, creation, logs.inputKeys.get(requestId))
    }
    // Keys released after their task's assignment was scanned: the requester's release of a private claim.
    for (const [requestId, inputKey] of logs.inputKeys) book.keyReleased(requestId, inputKey)
  }

  async function onReorg(lost: HeadBlock): Promise<void> {
    const tracked = [...book.all()]
    const statuses = await Promise.all(tracked.map((task) => chain.status(task.requestId)))
    for (const [i, task] of tracked.entries()) {
      const outcome = afterReorg(statuses[i] as RequestStatus)
      if (outcome) book.finish(task, outcome)
    }
    logger.warn(
      {
        lostBlock: Number(lost.number),
        lostHash: lost.hash,
        reorgedOut: statuses.filter((status) => status === 'Open').length,
      },
      'chain reorganised under the scanned blocks: scanning again from the start',
    )
    candidates.clear()
  }

  return {
    async onLogs(logs) {
      onCreated(logs)
      await params.onSlashed(logs.slashed)
      await onAssigned(logs)
    },
    onReorg,
  }
}
