/**
 * The HTTP face every Cairn service shares (matcher, prover runner, relayer): GET /healthz, GET /metrics and the
 * service's own routes, with one rule for bad input. A request the server cannot parse answers 400, an unknown path
 * 404, a known path with the wrong method 405, and a handler that throws or rejects 500: nothing a client sends can
 * take the process down. Part of the service kit: it imports only the SDK, and the three services import it.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

/** A readiness probe's answer: 200 when `ok`, 503 otherwise, the whole object as the JSON body either way. */
export type Health = { ok: boolean } & Record<string, unknown>

/** What a route answers: a status and a body (JSON-encoded unless it is a string sent as `type`). */
export type Reply = { status: number; body: unknown; type?: string }

/** A route's handler; `match` holds the path's pattern groups when the route is a pattern. */
export type Handler = (request: IncomingMessage, match: string[]) => Reply | Promise<Reply>

/** A route: `GET /metrics`, or a method with a path pattern (anchored by the caller). */
export type Route = { method: 'GET' | 'POST'; path: string | RegExp; handler: Handler }

export type HttpService = { server: Server; url: string; close: () => Promise<void> }

/** Parses a request target to its path; undefined when it is not a URL (e.g. `GET http://[ HTTP/1.1`). */
export function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://service.invalid').pathname
  } catch {
    return undefined
  }
}

function matchRoute(route: Route, path: string): string[] | undefined {
  if (typeof route.path === 'string') return route.path === path ? [] : undefined
  const match = route.path.exec(path)
  return match ? match.slice(1).map((group) => group ?? '') : undefined
}

/** Answers one request from the routes; every failure becomes a status code, never an exception. */
async function answer(routes: Route[], request: IncomingMessage, logger: Logger): Promise<Reply> {
  const path = pathOf(request.url)
  if (path === undefined) return { status: 400, body: { error: 'the request target is not a valid URL path' } }
  const known = routes.flatMap((route) => {
    const match = matchRoute(route, path)
    return match ? [{ route, match }] : []
  })
  if (known.length === 0) return { status: 404, body: { error: `no such endpoint: ${path}` } }
  const chosen = known.find(({ route }) => route.method === request.method)
  if (!chosen) {
    const allowed = known.map(({ route }) => route.method).join(', ')
    return { status: 405, body: { error: `${path} accepts ${allowed} only` } }
  }
  try {
    return await chosen.route.handler(request, chosen.match)
  } catch (error) {
    logger.error({ err: error, path }, 'http handler failed')
    return { status: 500, body: { error: 'internal error: see the service log' } }
  }
}

function send(response: ServerResponse, reply: Reply): void {
  if (response.headersSent) return
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
  response.writeHead(reply.status, { 'content-type': reply.type ?? 'application/json' })
  response.end(text)
}

/** The base URL of a listening server; an IPv6 host is bracketed. */
export function serviceUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/**
 * Starts a service's HTTP server on `host:port` (port 0 picks a free one) with GET /healthz from `health`, GET /metrics
 * from `registry`, and `routes`. Resolves once it listens.
 */
export async function startHttpService(params: {
  host: string
  port: number
  registry: Registry
  health: () => Health
  routes?: Route[]
  logger: Logger
}): Promise<HttpService> {
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/healthz',
      handler: () => {
        const health = params.health()
        return { status: health.ok ? 200 : 503, body: health }
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async () => ({
        status: 200,
        body: await params.registry.metrics(),
        type: params.registry.contentType,
      }),
    },
    ...(params.routes ?? []),
  ]
  const server = createServer((request, response) => {
    answer(routes, request, params.logger)
      .then((reply) => send(response, reply))
      .catch((error: unknown) => {
        params.logger.error({ err: error }, 'http reply failed')
        response.destroy()
      })
  })
  // A request Node's parser rejects (bad header, oversized head) closes that socket only.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  server.listen(params.port, params.host)
  await once(server, 'listening')
  const url = serviceUrl(params.host, (server.address() as AddressInfo).port)
  params.logger.info({ url }, 'http server listening')
  const close = async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { server, url, close }
}
