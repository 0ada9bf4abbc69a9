/**
 * The configured markets as the runner works them: the market as stored on chain (its fallback delay, its
 * verifier, where it locks stake) and its backend, loaded by the kind the entry names (backends/registry.ts).
 */
import { type Address, zeroAddress } from 'viem'
import type { CairnReader } from '../../ts/client.js'
import { getMarket } from '../../ts/readers.js'
import type { ProverBackend } from './backends/backend.js'
import { loadBackend, type ProverBackendKind } from './backends/registry.js'
import type { MarketConfig } from './config.js'
import type { EnclaveKey } from './keys.js'

/** The tee-wasm preset's module (script/bench reads it from here). */
export { sha256PreimageProgram } from './backends/tee-wasm.js'

export type MarketRuntime = {
  marketId: bigint
  config: MarketConfig
  kind: ProverBackendKind
  /** Seconds after a request's creation before listed provers may claim it. */
  fallbackDelay: number
  verifier: Address
  /** The token its requests pay in (a fast offer's price comes from the requester's deposit of it). */
  paymentToken: Address
  /** Where the market locks its provers' stake; zero when it locks none. */
  stakeSource: Address
  /** The backend to prove with while `key` is the market's current enclave key. */
  backend(key: EnclaveKey | undefined): Promise<ProverBackend>
}

/** Reads the market from chain and prepares its backend; a misconfigured market fails here, at start. */
export async function loadMarket(reader: CairnReader, config: MarketConfig): Promise<MarketRuntime> {
  const market = await getMarket(reader, config.marketId)
  if (market.verifier === zeroAddress) throw new Error(`market ${config.marketId} does not exist`)
  return {
    marketId: config.marketId,
    config,
    kind: config.backend,
    fallbackDelay: market.fallbackDelay,
    verifier: market.verifier,
    paymentToken: market.paymentToken,
    stakeSource: market.stakePerTask === 0n ? zeroAddress : market.stakeSource,
    backend: await loadBackend(config, { reader, marketId: config.marketId, verifier: market.verifier }),
  }
}
