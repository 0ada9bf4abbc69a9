import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { type HttpService, startHttpService } from '../../ts/service/http.js'
import { refuseOperatorRequest } from './operator-token.js'

export type Health = { ok: boolean; ready: boolean; breaker: 'closed' | 'tripped'; [detail: string]: unknown }

/**
 * The runner's HTTP face: GET /metrics (Prometheus), GET /healthz (200 once ready with the breaker closed, 503
 * otherwise, JSON details either way) and POST /reset (resets a tripped circuit breaker; an operator action that
 * needs the operator token as a bearer credential and is refused from browser pages).
 */
export async function startServer(params: {
  host: string
  port: number
  registry: Registry
  health: () => Health
  reset: () => Promise<{ wasTripped: boolean }>
  operatorToken: string
  logger: Logger
}): Promise<HttpService> {
  return startHttpService({
    host: params.host,
    port: params.port,
    registry: params.registry,
    health: params.health,
    logger: params.logger,
    routes: [
      {
        method: 'POST',
        path: '/reset',
        handler: async (request) => {
          const refused = refuseOperatorRequest(request, params.operatorToken)
          if (refused) return { status: refused.status, body: { error: refused.error } }
          const { wasTripped } = await params.reset()
          return { status: 200, body: { breaker: 'closed', wasTripped } }
        },
      },
    ],
  })
}
