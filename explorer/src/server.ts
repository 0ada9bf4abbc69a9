/**
 * The explorer's HTTP server: the pages (whole, or only their main part for a live refresh), /live, /healthz and
 * /metrics. Pages render from the index in memory; every render's time is measured into the
 * `explorer_page_render_seconds` histogram and sent back as a Server-Timing header. Bad input never throws past a
 * route: an unknown path or id is a 404 page, a failing render a 500 page.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { Histogram, type Registry } from 'prom-client'
import { pathOf, serviceUrl } from '../../ts/service/http.js'
import { attestationPage } from '../pages/attestation.js'
import { html } from '../pages/html.js'
import { documentHtml, mainHtml, type Page, type PageContext } from '../pages/layout.js'
import { marketPage } from '../pages/market.js'
import { marketsPage } from '../pages/markets.js'
import { notFoundPage } from '../pages/not-found.js'
import { proverPage } from '../pages/prover.js'
import { requestPage } from '../pages/request.js'
import { restakingPage } from '../pages/restaking.js'
import { searchMissPage, searchTarget } from '../pages/search.js'
import type { LiveHub } from './live.js'

type PageRoute = { name: string; path: RegExp; render: (context: PageContext, match: string[]) => Page }

const pages: PageRoute[] = [
  { name: 'markets', path: /^\/$/, render: (context) => marketsPage(context) },
  { name: 'market', path: /^\/market\/([^/]+)$/, render: (context, [id]) => marketPage(context, id ?? '') },
  { name: 'request', path: /^\/request\/([^/]+)$/, render: (context, [id]) => requestPage(context, id ?? '') },
  { name: 'attestation', path: /^\/attestation$/, render: (context) => attestationPage(context) },
  { name: 'restaking', path: /^\/restaking$/, render: (context) => restakingPage(context) },
  { name: 'prover', path: /^\/prover\/([^/]+)$/, render: (context, [address]) => proverPage(context, address ?? '') },
]

export type ServerParams = {
  host: string
  port: number
  context: () => PageContext
  live: LiveHub
  /** The first events a new /live subscriber gets (the banner's current state). */
  liveGreeting: () => { event: string; data: unknown }[]
  health: () => { ok: boolean } & Record<string, unknown>
  registry: Registry
  logger: Logger
}

export type ExplorerServer = { server: Server; url: string; close: () => Promise<void> }

export async function startServer(params: ServerParams): Promise<ExplorerServer> {
  const renderSeconds = new Histogram({
    name: 'explorer_page_render_seconds',
    help: 'time to render a page from the index',
    labelNames: ['page'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [params.registry],
  })

  function renderPage(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    fixed?: (context: PageContext) => Page,
  ): void {
    const started = performance.now()
    const context = params.context()
    let name = 'not-found'
    let page: Page
    try {
      const route = pages.find((candidate) => candidate.path.test(path))
      if (fixed !== undefined) {
        name = 'search'
        page = fixed(context)
      } else if (route === undefined)
        page = notFoundPage(
          context,
          `No page at ${path}`,
          html`The explorer has <a href="/">markets</a>, <code>/market/&lt;id&gt;</code>, <code>/request/&lt;id&gt;</code> and <code>/prover/&lt;address&gt;</code>.`,
        )
      else {
        name = route.name
        page = route.render(
          context,
          (route.path.exec(path) ?? []).slice(1).map((part) => decodeURIComponent(part)),
        )
      }
    } catch (error) {
      params.logger.error({ err: error, path }, 'page render failed')
      page = {
        status: 500,
        title: 'Error',
        watch: 'all',
        body: html`<h1>Something went wrong</h1><p>See the explorer's log.</p>`,
      }
    }
    const fragment = request.headers['x-explorer-fragment'] === 'main'
    const text = (fragment ? mainHtml(page) : documentHtml(page, context)).html
    const seconds = (performance.now() - started) / 1000
    renderSeconds.observe({ page: name }, seconds)
    response.writeHead(page.status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'server-timing': `render;dur=${(seconds * 1000).toFixed(2)}`,
    })
    response.end(text)
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request.url)
    if (path === undefined) {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('the request target is not a valid URL path')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end('the explorer only reads: GET')
      return
    }
    if (path === '/live') return params.live.subscribe(request, response, params.liveGreeting())
    if (path === '/healthz') {
      const health = params.health()
      response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(health))
      return
    }
    if (path === '/metrics') {
      const body = await params.registry.metrics()
      response.writeHead(200, { 'content-type': params.registry.contentType }).end(body)
      return
    }
    if (path === '/search') {
      const query = new URL(request.url ?? '/', 'http://explorer.invalid').searchParams.get('q') ?? ''
      const target = searchTarget(params.context(), query)
      if (target !== undefined) {
        response.writeHead(303, { location: target }).end()
        return
      }
      return renderPage(request, response, path, (context) => searchMissPage(context, query))
    }
    renderPage(request, response, path)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      params.logger.error({ err: error }, 'http reply failed')
      response.destroy()
    })
  })
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  server.listen(params.port, params.host)
  await once(server, 'listening')
  const url = serviceUrl(params.host, (server.address() as AddressInfo).port)
  return {
    server,
    url,
    async close() {
      params.live.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
