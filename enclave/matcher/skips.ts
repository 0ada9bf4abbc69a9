import type { Logger } from 'pino'
import type { Hex } from 'viem'
import type { PrivateInputsContext } from '../../ts/privacy.js'
import { type ChainView, dropRequest, type MatcherRequest } from './chain.js'
import { createMatcherInputsStore, type MatcherInputsStore } from './inputs.js'
import type { Metrics } from './metrics.js'
import type { RejectedRequests } from './wait-reasons.js'

/*
 * Requests the matcher never assigns: inputs that can never load or do not open for the request (found by the inputs
 * store), or private inputs it cannot re-wrap (found by a round). Each is taken out of the book for good (it expires
 * and its requester can cancel it), its reason remembered for GET /requests/<id> and counted by reason.
 */

export type SkipPorts = {
  view: () => ChainView
  rejected: Pick<RejectedRequests, 'remember'>
  metrics: Pick<Metrics, 'requestsSkipped'>
  /** Told of each request skipped (the order stream drops a signed order). */
  onSkipped?: (requestId: bigint, reason: string) => void
}

export function skipRequest(ports: SkipPorts, requestId: bigint, reason: { code: string; message: string }): void {
  dropRequest(ports.view(), requestId)
  ports.rejected.remember(requestId, { code: 'InputsRejected', reason: reason.code, message: reason.message })
  ports.metrics.requestsSkipped.inc({ reason: reason.code })
  ports.onSkipped?.(requestId, reason.code)
}

/** The inputs store of a running matcher: a rejection skips the request, a failed read is counted and retried. */
export function createSkippingInputsStore(
  ports: SkipPorts & {
    /** The matcher's enclave key: envelopes are opened with it. */
    privateKey: Hex
    context: (request: MatcherRequest) => PrivateInputsContext
    bounds: { fetchTimeout: number; maxInputBytes: number; allowFileUris: boolean }
    metrics: Pick<Metrics, 'requestsSkipped' | 'errors'>
    log: Logger
  },
): MatcherInputsStore {
  const { log } = ports
  return createMatcherInputsStore({
    matcherPrivateKey: ports.privateKey,
    context: ports.context,
    fetchTimeout: ports.bounds.fetchTimeout,
    maxBytes: ports.bounds.maxInputBytes,
    allowFileUris: ports.bounds.allowFileUris,
    onRejected(request, error) {
      skipRequest(ports, request.requestId, { code: error.reason, message: error.message })
      log.warn(
        { requestId: request.requestId.toString(), reason: error.reason, error: error.message },
        'inputs cannot load or open: request skipped (it will expire and can be cancelled)',
      )
    },
    onRetry(request, error, retryInMs) {
      ports.metrics.errors.inc({ stage: 'fetch' })
      log.warn({ requestId: request.requestId.toString(), err: error, retryInMs }, 'inputs fetch failed; retrying')
    },
  })
}
