/**
 * A task's way from its assignment to its settlement: tracked (task-book.ts), proven with its market's backend under
 * the market's current enclave key (scheduler.ts, job.ts), then settled on chain, alone or in a batch, with a proof
 * or an invalid-input attestation signed by that key (settle.ts).
 */
import type { Logger } from 'pino'
import { privateKeyToAccount } from 'viem/accounts'
import type { CairnClient } from '../../ts/client.js'
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
  /** Aborts proofs in progress, submits the proofs that are ready and waits for transactions in flight. */
  stop(): Promise<void>
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
  metrics: Metrics
  logger: Logger
}

export function createPipeline(params: PipelineParams): Pipeline {
  const { config, markets, job, metrics, logger } = params
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
    onProof: (task, fulfilment) => settler.proof(task, fulfilment),
    onInvalidInputs: (task, error) =>
      settler.reject(task, error.statement, error instanceof WrongInputKeyError ? error.inputKey : undefined),
    onFailed: (task, reason, error) => book.finish(task, { kind: 'failed', reason, error }),
    onSettled: () => settler.poke(),
  })
  const settler = createSettler({
    client: params.client,
    lane: params.lane,
    clock: params.clock,
    batchWindow: config.batchWindow,
    maxBatch: config.maxBatch,
    busy: () => scheduler.busy(),
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
    async stop() {
      for (const task of book.all()) task.abort.abort()
      await scheduler.stop()
      await settler.stop()
    },
  }
}
