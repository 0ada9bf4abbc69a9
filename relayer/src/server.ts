import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { SignatureStore } from './signatures.js'

/** The relayer's HTTP face: Prometheus metrics, its signatures for peers, and a liveness probe. */
export async function startServer(params: {
  host: string
  port: number
  registry: Registry
  signatures: SignatureStore
  logger: Logger
}): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://relayer').pathname
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
    if (path === '/health') return reply(200, '{"ok":true}')
    const match = /^\/signatures\/(0x[0-9a-fA-F]{64})$/.exec(path)
    if (match?.[1]) {
      const signed = params.signatures.get(match[1])
      return signed ? reply(200, JSON.stringify(signed)) : reply(404, '{"error":"not signed"}')
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
  return { server, url, close }
}
