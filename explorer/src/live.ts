/**
 * The live stream: Server-Sent Events to every open page. `index` events name what a sync changed (`request:<id>`,
 * `market:<id>`, `prover:<address>`) so a page refreshes only when it shows one of them; `rpc` events carry the banner.
 * A comment line every 15 s keeps proxies from closing an idle stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Changes } from '../index/apply.js'

export type LiveHub = {
  /** Answers a GET /live: the stream stays open until the page goes away or the hub closes. */
  subscribe: (request: IncomingMessage, response: ServerResponse, first: { event: string; data: unknown }[]) => void
  publish: (event: string, data: unknown) => void
  readonly subscribers: number
  close: () => void
}

export function changedKeys(changes: Changes): string[] {
  return [
    ...[...changes.requests].map((id) => `request:${id}`),
    ...[...changes.markets].map((id) => `market:${id}`),
    ...[...changes.provers].map((address) => `prover:${address}`),
    ...changes.topics,
  ]
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

export function createLiveHub(heartbeatMs = 15_000): LiveHub {
  const streams = new Set<ServerResponse>()
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n')
  }, heartbeatMs)
  heartbeat.unref()
  return {
    subscribe(request, response, first) {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      })
      response.write('retry: 2000\n\n')
      for (const { event, data } of first) response.write(frame(event, data))
      streams.add(response)
      request.on('close', () => streams.delete(response))
    },
    publish(event, data) {
      const text = frame(event, data)
      for (const stream of streams) stream.write(text)
    },
    get subscribers() {
      return streams.size
    },
    close() {
      clearInterval(heartbeat)
      for (const stream of streams) stream.end()
      streams.clear()
    },
  }
}
