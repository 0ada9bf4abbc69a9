/**
 * POST /reset on the runner's HTTP server: resets a tripped circuit breaker. An operator action, so it needs the
 * operator token as a bearer credential and is refused from browser pages (operator-token.ts).
 */
import type { Route } from '../../ts/service/http.js'
import { refuseOperatorRequest } from './operator-token.js'

export function resetRoute(reset: () => Promise<{ wasTripped: boolean }>, operatorToken: string): Route {
  return {
    method: 'POST',
    path: '/reset',
    handler: async (request) => {
      const refused = refuseOperatorRequest(request, operatorToken)
      if (refused) return { status: refused.status, body: { error: refused.error } }
      const { wasTripped } = await reset()
      return { status: 200, body: { breaker: 'closed', wasTripped } }
    },
  }
}
