import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createSignatureStore } from '../relayer/src/signatures.js'
import { signaturesRoute } from '../relayer/src/signatures-route.js'
import { type HttpService, startHttpService } from '../ts/service/http.js'
import { MALFORMED_REQUEST_LINE, rawStatus } from './raw-http.js'

const logger = pino({ level: 'silent' })
const started: HttpService[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.close()))
})

async function serve(params: Omit<Parameters<typeof startHttpService>[0], 'logger'>): Promise<HttpService> {
  const service = await startHttpService({ ...params, logger })
  started.push(service)
  return service
}

describe('the shared service HTTP kit', () => {
  it('answers a request target that is no URL with 400 and keeps serving /healthz and /metrics', async () => {
    const service = await serve({ host: '127.0.0.1', port: 0, registry: new Registry(), health: () => ({ ok: true }) })
    expect(await rawStatus(service.url, MALFORMED_REQUEST_LINE)).toBe(400)
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200)
  })

  it('answers 404 for an unknown path, 405 for a wrong method, 503 when unhealthy', async () => {
    const service = await serve({ host: '127.0.0.1', port: 0, registry: new Registry(), health: () => ({ ok: false }) })
    expect((await fetch(`${service.url}/nope`)).status).toBe(404)
    const wrongMethod = await fetch(`${service.url}/metrics`, { method: 'POST' })
    expect(wrongMethod.status).toBe(405)
    expect(await wrongMethod.json()).toEqual({ error: '/metrics accepts GET only' })
    const health = await fetch(`${service.url}/healthz`)
    expect(health.status).toBe(503)
    expect(await health.json()).toEqual({ ok: false })
  })

  it('turns a handler that throws or rejects into a 500 and keeps running', async () => {
    const service = await serve({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      health: () => ({ ok: true }),
      routes: [
        {
          method: 'GET',
          path: '/throws',
          handler: () => {
            throw new TypeError('boom')
          },
        },
        { method: 'POST', path: '/rejects', handler: async () => Promise.reject(new Error('boom')) },
      ],
    })
    expect((await fetch(`${service.url}/throws`)).status).toBe(500)
    expect((await fetch(`${service.url}/rejects`, { method: 'POST' })).status).toBe(500)
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200)
  })

  it('listens on IPv6 and names the URL with the host bracketed', async () => {
    const service = await serve({ host: '::1', port: 0, registry: new Registry(), health: () => ({ ok: true }) })
    expect(service.url).toMatch(/^http:\/\/\[::1\]:\d+$/)
    expect(await rawStatus(service.url, MALFORMED_REQUEST_LINE)).toBe(400)
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200)
  })
})

describe('the relayer server (reachable by its peers)', () => {
  it('survives a malformed request line and still serves /healthz, /metrics and signatures', async () => {
    const service = await startHttpService({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      health: () => ({ ok: true }),
      routes: [signaturesRoute(createSignatureStore())],
      logger,
    })
    started.push(service)
    expect(await rawStatus(service.url, MALFORMED_REQUEST_LINE)).toBe(400)
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200)
    expect((await fetch(`${service.url}/signatures/0x${'ab'.repeat(32)}`)).status).toBe(404)
  })
})
