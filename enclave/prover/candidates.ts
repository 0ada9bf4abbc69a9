/**
 * Fallback candidates (claimFallback only): public-input requests in this runner's markets that may become
 * claimable, each with its inputs, which are loaded and checked before a claim: a claimed task whose inputs never
 * load can be neither proven nor attested, and is slashed. A candidate whose inputs can never load is dropped for
 * good; one taken on, unclaimable, or gone with a reorg is dropped with its inputs.
 */
import type { Logger } from 'pino'
import type { InputUriOptions } from '../../ts/input-uris.js'
import {
  createRequestInputsStore,
  type LoadedInputs,
  type RequestInputsState,
  type RequestInputsStore,
  type RequestInputsStoreParams,
} from '../../ts/request-inputs.js'
import type { Metrics } from './metrics.js'
import type { CreatedLog } from './tasks.js'

export type Candidates = {
  add(created: CreatedLog): void
  get(requestId: bigint): CreatedLog | undefined
  /** Live, in the order they were added: a candidate dropped meanwhile is not visited. */
  all(): IterableIterator<[bigint, CreatedLog]>
  drop(requestId: bigint): void
  /** Drops every candidate and stops every read. */
  clear(): void
  /** Starts loading the candidate's inputs, in the background (idempotent). */
  load(created: CreatedLog): void
  inputs(requestId: bigint): RequestInputsState<LoadedInputs> | undefined
}

type Store = RequestInputsStore<CreatedLog, LoadedInputs>

export type CandidatesParams = {
  bounds: Omit<InputUriOptions, 'signal'>
  metrics: Pick<Metrics, 'fallbackSkipped' | 'retries'>
  logger: Logger
  /** The inputs store; tests pass one of their own. */
  createStore?: (params: RequestInputsStoreParams<CreatedLog, LoadedInputs>) => Store
}

export function createCandidates(params: CandidatesParams): Candidates {
  const { metrics, logger } = params
  const candidates = new Map<bigint, CreatedLog>()
  const createStore = params.createStore ?? createRequestInputsStore<CreatedLog, LoadedInputs>
  const inputs: Store = createStore({
    posted: (created) => ({
      publicInputs: created.publicInputs,
      privateInputs: created.privateInputs,
      inputsDigest: created.request.inputsDigest,
    }),
    bounds: params.bounds,
    accept: (_, loaded) => loaded,
    onRejected(created, error) {
      drop(created.requestId)
      metrics.fallbackSkipped.inc({ reason: error.reason })
      logger.warn(
        { requestId: created.requestId.toString(), reason: error.reason, error: error.message },
        'inputs can never load: not claimed',
      )
    },
    onRetry(created, error, retryInMs) {
      metrics.retries.inc({ stage: 'inputs' })
      logger.warn({ requestId: created.requestId.toString(), err: error, retryInMs }, 'inputs fetch failed; retrying')
    },
  })

  function drop(requestId: bigint): void {
    candidates.delete(requestId)
    inputs.forget(requestId)
  }

  return {
    add: (created) => void candidates.set(created.requestId, created),
    get: (requestId) => candidates.get(requestId),
    all: () => candidates.entries(),
    drop,
    clear() {
      candidates.clear()
      inputs.clear()
    },
    load: (created) => inputs.load(created),
    inputs: (requestId) => inputs.get(requestId),
  }
}
