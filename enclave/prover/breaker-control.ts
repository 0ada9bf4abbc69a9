/**
 * The circuit breaker at work (its state is breaker.ts): a slash in a block after the last reset trips it, and the
 * runner leaves every market; the operator's reset (POST /reset) closes it, and the listings come back. Slashes from
 * before the last reset, read again at every start, are only noted. A slashed task is given up either way.
 */
import type { Logger } from 'pino'
import type { Breaker } from './breaker.js'
import type { Metrics } from './metrics.js'
import type { TaskBook } from './task-book.js'
import type { SlashedLog } from './tasks.js'

export type BreakerControlParams = {
  breaker: Breaker
  book: Pick<TaskBook, 'get' | 'finish'>
  /** The listings follow the breaker (listings.ts). */
  listings: { markDirty(): void; sync(): Promise<void> }
  /** The chain's head block number, fresh: where a reset forgives slashes up to. */
  headNumber(): Promise<bigint>
  metrics: Pick<Metrics, 'slashes' | 'breakerTripped'>
  logger: Logger
}

export type BreakerControl = {
  onSlashed(slashes: readonly SlashedLog[]): Promise<void>
  /** The operator's reset of a tripped breaker. */
  reset(): Promise<{ wasTripped: boolean }>
}

export function createBreakerControl(params: BreakerControlParams): BreakerControl {
  const { breaker, book, listings, metrics, logger } = params
  const slashesSeen = new Set<bigint>()

  async function onSlashed(slashes: readonly SlashedLog[]): Promise<void> {
    for (const slash of slashes) {
      const task = book.get(slash.requestId)
      if (task) book.finish(task, { kind: 'failed', reason: 'slashed' })
      // A scan again after a reorg reads the same slashes: count and report each once.
      if (slashesSeen.has(slash.requestId)) continue
      slashesSeen.add(slash.requestId)
      const details = {
        requestId: slash.requestId.toString(),
        penalty: slash.penalty.toString(),
        tx: slash.transactionHash,
      }
      if (!breaker.counts(slash.blockNumber)) {
        logger.debug(details, 'slashed before the last breaker reset')
        continue
      }
      metrics.slashes.inc()
      logger.error(details, 'slashed')
      if (await breaker.open(slash)) {
        metrics.breakerTripped.set(1)
        listings.markDirty()
        logger.error(
          { ...details, breakerFile: breaker.path },
          'circuit breaker tripped: leaving every market until POST /reset',
        )
      }
    }
  }

  async function reset(): Promise<{ wasTripped: boolean }> {
    const head = await params.headNumber()
    const wasTripped = await breaker.reset(head)
    metrics.breakerTripped.set(0)
    if (wasTripped) {
      logger.warn({ resetBlock: Number(head) }, 'circuit breaker reset by the operator')
      listings.markDirty()
      await listings.sync()
    }
    return { wasTripped }
  }

  return { onSlashed, reset }
}
