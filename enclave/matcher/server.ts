import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

export type Health = { ok: boolean } & Record<string, unknown>

/** The matcher's HTTP face: Prometheus metrics and a readiness probe (200 once registered and synced). */
export async function startServer(params: {
  host: string
  port: number
  registry: Registry
  health: () => Health
  logger: Logger
}): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://matcher').pathname
    const reply = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type })
      response.end(body)
    }
    if (request.method !== 'GET') return reply(405, '{"error":"GET only"}')
    if (path === '/metrics') {
      params.registry
        .metrics()
        .then((text) => reply(200, text, params.registry.contentType))
        .catch((error: unknown) => reply(500, JSON.stringify({ error: String(error) })))
      return
    }
    if (path === '/healthz') {
      const health = params.health()
      return reply(health.ok ? 200 : 503, JSON.stringify(health))
    }
    reply(404, '{"error":"not found"}')
  })
  server.listen(params.port, params.host)
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const url = `http://${params.host}:${port}`
  params.logger.info({ url }, 'http server listening')
  const close = async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { url, close }
}
