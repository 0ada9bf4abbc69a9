import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A JSON-RPC endpoint in front of a real node, as the host of an enclave controls it: every request goes through
 * `intercept`, which may forward it (changed or not) or answer it itself. Tests use it to play the malicious RPC an
 * operator points its enclave at.
 */

export type RpcRequest = { jsonrpc: '2.0'; id: number | string | null; method: string; params?: unknown[] }
export type RpcResponse = { jsonrpc: '2.0'; id: number | string | null; result?: unknown; error?: unknown }

/** Sends one request to the real node. */
export type Forward = (request: RpcRequest) => Promise<RpcResponse>
export type Intercept = (request: RpcRequest, forward: Forward) => Promise<RpcResponse>

export type RpcProxy = {
  url: string
  /** Every request the proxy received, in order, as received. */
  requests: RpcRequest[]
  close: () => Promise<void>
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startRpcProxy(upstream: string, intercept: Intercept): Promise<RpcProxy> {
  const requests: RpcRequest[] = []
  const forward: Forward = async (request) => {
    const response = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    })
    return (await response.json()) as RpcResponse
  }
  const handle = (request: RpcRequest) => {
    requests.push(request)
    return intercept(request, forward)
  }
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const payload = JSON.parse(await bodyOf(incoming)) as RpcRequest | RpcRequest[]
      const answer = Array.isArray(payload) ? await Promise.all(payload.map(handle)) : await handle(payload)
      outgoing.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    })().catch((error: unknown) => {
      outgoing.writeHead(500).end(String(error))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
