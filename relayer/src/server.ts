import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { type HttpService, startHttpService } from '../../ts/service/http.js'
import type { SignatureStore } from './signatures.js'

/**
 * The relayer's HTTP face: Prometheus metrics, a liveness probe (GET /healthz) and its signatures for peers
 * (GET /signatures/<digest>). Peers reach it over the network, so it answers anything they send with a status.
 */
export async function startServer(params: {
  host: string
  port: number
  registry: Registry
  signatures: SignatureStore
  logger: Logger
}): Promise<HttpService> {
  return startHttpService({
    host: params.host,
    port: params.port,
    registry: params.registry,
    health: () => ({ ok: true }),
    logger: params.logger,
    routes: [
      {
        method: 'GET',
        path: /^\/signatures\/(0x[0-9a-fA-F]{64})$/,
        handler: (_request, [digest]) => {
          const signed = digest ? params.signatures.get(digest) : undefined
          return signed ? { status: 200, body: signed } : { status: 404, body: { error: 'not signed' } }
        },
      },
    ],
  })
}
