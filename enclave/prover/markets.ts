/**
 * The configured markets as the runner works them: the market as stored on chain (its fallback delay, its
 * verifier) and a backend. A TEE-WASM backend signs with the market's current enclave key, so it is built per key;
 * a Groth16 backend is keyless.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type Address, isAddressEqual, zeroAddress } from 'viem'
import type { CairnReader } from '../../ts/client.js'
import { teeProofVerifierAbi } from '../../ts/generated.js'
import { getMarket } from '../../ts/readers.js'
import { repoRoot } from '../../ts/root.js'
import { TEE_DIGEST_EIP712 } from '../../ts/tee.js'
import type { ProverBackend, ProverBackendKind } from './backends/backend.js'
import { createGroth16Backend, createPoseidonPreimageBackend } from './backends/groth16.js'
import { createTeeWasmBackend } from './backends/tee-wasm.js'
import { type MarketConfig, POSEIDON_PREIMAGE, SHA256_PREIMAGE } from './config.js'
import type { EnclaveKey } from './keys.js'

/** programs/sha256_preimage.wasm, the tee-wasm preset. */
export const sha256PreimageProgram = join(repoRoot, 'programs/sha256_preimage.wasm')

export type MarketRuntime = {
  marketId: bigint
  config: MarketConfig
  kind: ProverBackendKind
  /** Seconds after a request's creation before listed provers may claim it. */
  fallbackDelay: number
  verifier: Address
  /** Where the market locks its provers' stake; zero when it locks none. */
  stakeSource: Address
  /** The backend to prove with while `key` is the market's current enclave key. */
  backend(key: EnclaveKey | undefined): Promise<ProverBackend>
}

/** Reads the market from chain and prepares its backend; a misconfigured market fails here, at start. */
export async function loadMarket(reader: CairnReader, config: MarketConfig): Promise<MarketRuntime> {
  const market = await getMarket(reader, config.marketId)
  if (market.verifier === zeroAddress) throw new Error(`market ${config.marketId} does not exist`)
  const base = {
    marketId: config.marketId,
    config,
    kind: config.backend,
    fallbackDelay: market.fallbackDelay,
    verifier: market.verifier,
    stakeSource: market.stakePerTask === 0n ? zeroAddress : market.stakeSource,
  }
  if (config.backend === 'groth16') {
    const backend = await groth16Backend(config.groth16)
    return { ...base, backend: async () => backend }
  }
  return { ...base, ...(await teeWasmMarket(reader, config, market.verifier)) }
}

function groth16Backend(circuit: Extract<MarketConfig, { backend: 'groth16' }>['groth16']) {
  if (circuit === POSEIDON_PREIMAGE) return createPoseidonPreimageBackend()
  return createGroth16Backend({
    wasm: resolve(circuit.wasm),
    zkey: resolve(circuit.zkey),
    publicSignals: circuit.publicSignals,
  })
}

async function teeWasmMarket(
  reader: CairnReader,
  config: Extract<MarketConfig, { backend: 'tee-wasm' }>,
  marketVerifier: Address,
): Promise<Pick<MarketRuntime, 'verifier' | 'backend'>> {
  const custom = config.teeWasm === SHA256_PREIMAGE ? undefined : config.teeWasm
  const verifier = custom?.verifier ?? marketVerifier
  if (!isAddressEqual(verifier, marketVerifier)) {
    throw new Error(`market ${config.marketId} verifies with ${marketVerifier}, the config names ${verifier}`)
  }
  const contract = { address: verifier, abi: teeProofVerifierAbi } as const
  const [programId, verifierMarket, verifierMarketplace] = await Promise.all([
    reader.public.readContract({ ...contract, functionName: 'programId' }),
    reader.public.readContract({ ...contract, functionName: 'marketId' }),
    reader.public.readContract({ ...contract, functionName: 'marketplace' }),
  ])
  if (verifierMarket !== config.marketId) {
    throw new Error(`market ${config.marketId}'s verifier ${verifier} accepts keys of market ${verifierMarket}`)
  }
  const marketplace = reader.deployment.contracts.proofMarketplace
  if (!isAddressEqual(verifierMarketplace, marketplace)) {
    throw new Error(
      `market ${config.marketId}'s verifier ${verifier} accepts proofs for marketplace ${verifierMarketplace}, ` +
        `this deployment's is ${marketplace}: deploy the market's verifier for this marketplace`,
    )
  }
  const options = {
    module: new Uint8Array(await readFile(custom ? resolve(custom.module) : sha256PreimageProgram)),
    verifier,
    chainId: reader.public.chain.id,
    marketplace,
    programId,
    digestKind: custom?.digestKind ?? TEE_DIGEST_EIP712,
    timeoutMs: custom?.timeoutMs,
    maxTableElements: custom?.maxTableElements,
    maxHeapMiB: custom?.maxHeapMiB,
  }
  // Checks the module against the market's program id and the ABI now, with a throwaway key.
  await createTeeWasmBackend({ ...options, signer: `0x${'11'.repeat(32)}` })
  const bySigner = new Map<Address, Promise<ProverBackend>>()
  return {
    verifier,
    backend(key) {
      if (key === undefined) return Promise.reject(new Error(`market ${config.marketId} has no enclave key yet`))
      let backend = bySigner.get(key.signer)
      if (backend === undefined) {
        backend = createTeeWasmBackend({ ...options, signer: key.signerKey })
        // A key is current for one rotation period: the cache holds the current one and the one before.
        if (bySigner.size >= 2) bySigner.delete(bySigner.keys().next().value as Address)
        bySigner.set(key.signer, backend)
      }
      return backend
    },
  }
}
