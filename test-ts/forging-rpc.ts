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
import { startRpcProxy } from './rpc-proxy.js'

/*
 * A JSON-RPC node as a dishonest host serves it: every call goes to a real node, and the RequestCreated logs it
 * returns are rewritten on the way back. The enclave reads the chain only through its host, so this is exactly what
 * a malicious operator can show it.
 */

type RpcLog = { address: Address; topics: [Hex, ...Hex[]]; data: Hex } & Record<string, unknown>

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

  const proxy = await startRpcProxy(params.upstream, async (request, forward) => {
    const reply = await forward(request)
    if (request.method !== 'eth_getLogs' || !Array.isArray(reply.result)) return reply
    return { ...reply, result: (reply.result as RpcLog[]).map(rewrite) }
  })
  return { url: proxy.url, forged: () => forged, close: proxy.close }
}
