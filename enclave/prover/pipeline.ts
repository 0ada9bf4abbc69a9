/**
 * A task's way from its assignment to its settlement: tracked (task-book.ts), proven with its market's backend under
 * the market's current enclave key (scheduler.ts, job.ts), then settled on chain, alone or in a batch, with a proof
 * or an invalid-input attestation signed by that key (settle.ts).
 */
import type { Logger } from 'pino'
import { privateKeyToAccount } from 'viem/accounts'
import type { CairnClient } from '../../ts/client.js'
import type { Fulfilment } from '../../ts/types.js'
import type { ChainClock } from './clock.js'
import type { ProverRunnerConfig } from './config.js'
import { type JobContext, proveTask, WrongInputKeyError } from './job.js'
import type { MarketRuntime } from './markets.js'
import type { Metrics } from './metrics.js'
import { createScheduler, type TrackedTask } from './scheduler.js'
import { createSettler, type TxLane } from './settle.js'
import { createTaskBook, type TaskBook } from './task-book.js'

export type Pipeline = {
  book: TaskBook
  /** Proves a fast offer's task (fast-lane.ts) with the assigned tasks, under the same limits. */
  prove(task: TrackedTask): void
  /** Fast offers (signed and open) queued or proving. */
  fastBusy(): number
  /** Aborts proofs in progress, submits the proofs that are ready and waits for transactions in flight. */
  stop(): Promise<void>
}

/** The fast lane's side of the scheduler. */
export type FastSink = {
  proof(task: TrackedTask, fulfilment: Fulfilment): void
  failed(task: TrackedTask, reason: string, error?: unknown): void
  poke(): void
}

export type PipelineParams = {
  config: Pick<ProverRunnerConfig, 'maxConcurrentProofs' | 'submitMargin' | 'batchWindow' | 'maxBatch'>
  client: CairnClient
  lane: TxLane
  clock: ChainClock
  markets: ReadonlyMap<bigint, MarketRuntime>
  job: JobContext
  /** A task is tracked, before it is proven. */
  onTracked(task: TrackedTask): void
  /** Where a fast offer's task goes once proven or given up (it is settled with fulfilSigned, not fulfil). */
  fast: FastSink
  metrics: Metrics
  logger: Logger
}

export function createPipeline(params: PipelineParams): Pipeline {
  const { config, markets, job, metrics, logger } = params
  // Both fast lanes' tasks (signed offers, open offers): proven here, settled by their lane, not the settler.
  const isFast = (task: TrackedTask) => task.fast !== undefined || task.open !== undefined
  const book = createTaskBook({
    kindOf: (marketId) => (markets.get(marketId) as MarketRuntime).kind,
    onTracked(task) {
      params.onTracked(task)
      scheduler.add(task)
    },
    onFinished: () => settler.poke(),
    metrics,
    logger,
  })
  const scheduler = createScheduler({
    maxConcurrent: config.maxConcurrentProofs,
    submitMargin: config.submitMargin,
    clock: params.clock,
    metrics,
    logger,
    async prove(task, signal) {
      const market = markets.get(task.marketId) as MarketRuntime
      return proveTask(task, await market.backend(job.keyring.current(task.marketId)), job, signal)
    },
    onProof: (task, fulfilment) =>
      isFast(task) ? params.fast.proof(task, fulfilment) : settler.proof(task, fulfilment),
    // A fast offer has no on-chain assignment to attest against: its invalid inputs only end it.
    onInvalidInputs: (task, error) =>
      isFast(task)
        ? params.fast.failed(task, 'invalid-inputs', error)
        : settler.reject(task, error.statement, error instanceof WrongInputKeyError ? error.inputKey : undefined),
    onFailed: (task, reason, error) =>
      isFast(task) ? params.fast.failed(task, reason, error) : book.finish(task, { kind: 'failed', reason, error }),
    onSettled: () => {
      settler.poke()
      params.fast.poke()
    },
  })
  const settler = createSettler({
    client: params.client,
    lane: params.lane,
    clock: params.clock,
    batchWindow: config.batchWindow,
    maxBatch: config.maxBatch,
    busy: () => scheduler.busy((task) => !isFast(task)),
    enclave(marketId) {
      const key = job.keyring.current(marketId)
      return key ? privateKeyToAccount(key.signerKey) : undefined
    },
    finish: book.finish,
    metrics,
    logger,
  })
  return {
    book,
    prove: (task) => scheduler.add(task),
    fastBusy: () => scheduler.busy(isFast),
    async stop() {
      for (const task of book.all()) task.abort.abort()
      await scheduler.stop()
      await settler.stop()
    },
  }
}
