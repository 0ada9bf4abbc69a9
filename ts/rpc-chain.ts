import { type Chain, defineChain } from 'viem'

/** A viem chain for an RPC URL someone configured: its chain id, that URL, ether as the native currency. */
export function rpcChain(id: number, rpcUrl: string, name = `chain ${id}`): Chain {
  return defineChain({
    id,
    name,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
}
