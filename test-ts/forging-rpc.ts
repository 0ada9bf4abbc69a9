import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type Address,
  decodeEventLog,
  encodeAbiParameters,
  getAbiItem,
  type Hex,
  isAddressEqual,
  toEventSelector,
} from 'viem'
import { proofMarketplaceAbi } from '../ts/generated.js'
import type { Inputs } from '../ts/types.js'

/*
 * A JSON-RPC node as a dishonest host serves it: every call goes to a real node, and the RequestCreated logs it
 * returns are rewritten on the way back. The enclave reads the chain only through its host, so this is exactly what
 * a malicious operator can show it.
 */

type RpcLog = { address: Address; topics: [Hex, ...Hex[]]; data: Hex } & Record<string, unknown>
type RpcMessage = { id: unknown; method?: string; result?: unknown } & Record<string, unknown>

const requestCreated = getAbiItem({ abi: proofMarketplaceAbi, name: 'RequestCreated' })
const requestCreatedTopic = toEventSelector(requestCreated)
const dataParameters = requestCreated.inputs.filter((input) => !input.indexed)

export type PublicInputsForgery = (posted: Inputs) => Inputs | undefined

export type ForgingRpc = {
  url: string
  /** RequestCreated logs rewritten so far. */
  forged(): number
  close(): Promise<void>
}

/** Serves `upstream`, with the public inputs of the marketplace's RequestCreated logs replaced where `forge` says. */
export async function startForgingRpc(params: {
  upstream: string
  marketplace: Address
  forge: PublicInputsForgery
}): Promise<ForgingRpc> {
  let forged = 0

  function rewrite(log: RpcLog): RpcLog {
    if (!isAddressEqual(log.address, params.marketplace) || log.topics[0] !== requestCreatedTopic) return log
    const { args } = decodeEventLog({ abi: proofMarketplaceAbi, eventName: 'RequestCreated', ...log })
    const publicInputs = params.forge(args.publicInputs)
    if (publicInputs === undefined) return log
    forged += 1
    const values = [args.request, args.deadline, args.speedPreferenceBps, publicInputs, args.privateInputs] as const
    return { ...log, data: encodeAbiParameters(dataParameters, values) }
  }

  function rewriteReply(call: RpcMessage, reply: RpcMessage): RpcMessage {
    if (call.method !== 'eth_getLogs' || !Array.isArray(reply.result)) return reply
    return { ...reply, result: (reply.result as RpcLog[]).map(rewrite) }
  }

  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request)
      const upstream = await fetch(params.upstream, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      const calls = JSON.parse(body) as RpcMessage | RpcMessage[]
      const replies = (await upstream.json()) as RpcMessage | RpcMessage[]
      const rewritten = Array.isArray(replies)
        ? replies.map((reply) => rewriteReply((calls as RpcMessage[]).find((c) => c.id === reply.id) ?? reply, reply))
        : rewriteReply(calls as RpcMessage, replies)
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rewritten))
    } catch (error) {
      response.writeHead(502).end(String(error))
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    forged: () => forged,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
