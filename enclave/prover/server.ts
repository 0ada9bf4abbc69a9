import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

export type Health = { ready: boolean; breaker: 'closed' | 'tripped'; [detail: string]: unknown }

/** Whether a request comes from this machine: POST /reset is an operator action, never a remote one. */
export function isLoopback(request: IncomingMessage): boolean {
  const address = request.socket.remoteAddress ?? ''
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

/**
 * The runner's HTTP face: GET /metrics (Prometheus), GET /healthz (200 once ready with the breaker closed, 503
 * otherwise, JSON details either way) and POST /reset (resets a tripped circuit breaker; loopback clients only).
 */
export async function startServer(params: {
  host: string
  port: number
  registry: Registry
  health: () => Health
  reset: () => Promise<{ wasTripped: boolean }>
  logger: Logger
}): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://prover').pathname
    const reply = (status: number, body: unknown, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type })
      response.end(typeof body === 'string' ? body : JSON.stringify(body))
    }
    const route = `${request.method} ${path}`
    if (route === 'GET /metrics') {
      params.registry
        .metrics()
        .then((text) => reply(200, text, params.registry.contentType))
        .catch((error: unknown) => reply(500, { error: String(error) }))
      return
    }
    if (route === 'GET /healthz') {
      const health = params.health()
      return reply(health.ready && health.breaker === 'closed' ? 200 : 503, health)
    }
    if (route === 'POST /reset') {
      if (!isLoopback(request)) return reply(403, { error: 'reset is accepted from this machine only' })
      params
        .reset()
        .then(({ wasTripped }) => reply(200, { breaker: 'closed', wasTripped }))
        .catch((error: unknown) => reply(500, { error: String(error) }))
      return
    }
    if (path === '/metrics' || path === '/healthz' || path === '/reset') return reply(405, { error: 'wrong method' })
    reply(404, { error: 'not found' })
  })
  server.listen(params.port, params.host)
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const host = params.host.includes(':') ? `[${params.host}]` : params.host
  const url = `http://${host}:${port}`
  params.logger.info({ url }, 'http server listening')
  const close = async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { server, url, close }
}
