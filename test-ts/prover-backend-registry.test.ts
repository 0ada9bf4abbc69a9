import { readFile } from 'node:fs/promises'
import { type Hex, keccak256, stringToBytes } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineBackend, type ProofJob, type ProverBackend } from '../enclave/prover/backends/backend.js'
import { POSEIDON_PREIMAGE } from '../enclave/prover/backends/groth16.js'
import { INSECURE_DEV_CRS, type NoirBackend, POSEIDON2_PREIMAGE } from '../enclave/prover/backends/noir.js'
import { loadBackend, proverBackends } from '../enclave/prover/backends/registry.js'
import { programIdOf, SHA256_PREIMAGE, sha256PreimageProgram } from '../enclave/prover/backends/tee-wasm.js'
import { marketSchema } from '../enclave/prover/config.js'
import type { CairnReader } from '../ts/client.js'

const offer = { marketId: 7, price: '5', provingTime: 60 }
const marketplace = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' as const
const verifier = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const

/** A chain that serves only what a TeeProofVerifier answers about itself. */
async function verifierReader(
  answers: { marketId?: bigint; marketplace?: `0x${string}`; publicInputCount?: bigint } = {},
): Promise<CairnReader> {
  const programId = programIdOf(new Uint8Array(await readFile(sha256PreimageProgram)))
  const reads: Record<string, unknown> = {
    programId,
    marketId: answers.marketId ?? 7n,
    marketplace: answers.marketplace ?? marketplace,
    // What an UltraHonkVerifierAdapter answers (noir/poseidon2_preimage: [digest, context]).
    publicInputCount: answers.publicInputCount ?? 2n,
  }
  const readContract = async ({ functionName }: { functionName: string }) => reads[functionName]
  return {
    public: { chain: { id: 31337 }, readContract },
    deployment: { contracts: { proofMarketplace: marketplace } },
  } as unknown as CairnReader
}

describe('the prover backend registry', () => {
  it('derives the market entry from its list: each kind with its own fields and their defaults', () => {
    expect(proverBackends.map((backend) => backend.kind)).toEqual(['groth16', 'tee-wasm', 'noir'])
    expect(marketSchema.parse({ ...offer, backend: 'groth16' })).toMatchObject({
      backend: 'groth16',
      groth16: POSEIDON_PREIMAGE,
      marketId: 7n,
      price: 5n,
    })
    expect(marketSchema.parse({ ...offer, backend: 'tee-wasm' })).toMatchObject({ teeWasm: SHA256_PREIMAGE })
    expect(marketSchema.parse({ ...offer, backend: 'tee-wasm', teeWasm: { module: 'p.wasm' } })).toMatchObject({
      teeWasm: { module: 'p.wasm', digestKind: 0 },
    })
    expect(marketSchema.safeParse({ ...offer, backend: 'plonk' }).success).toBe(false)
    // A Noir market names its CRS: the development one only by its unmistakable name, never by default.
    expect(marketSchema.safeParse({ ...offer, backend: 'noir', noir: {} }).success).toBe(false)
    expect(marketSchema.safeParse({ ...offer, backend: 'noir', noir: { crs: 'dev' } }).success).toBe(false)
    expect(marketSchema.parse({ ...offer, backend: 'noir', noir: { crs: INSECURE_DEV_CRS } })).toMatchObject({
      noir: { program: POSEIDON2_PREIMAGE, flavour: 'zk', crs: INSECURE_DEV_CRS, threads: 1 },
    })
    expect(
      marketSchema.parse({
        ...offer,
        backend: 'noir',
        noir: { program: 'c.json', flavour: 'no-zk', crs: { ignitionCrsPath: '/srv/crs' } },
      }),
    ).toMatchObject({ noir: { program: 'c.json', flavour: 'no-zk', crs: { ignitionCrsPath: '/srv/crs' } } })
    // A backend's fields belong to its kind only: another kind's are not read.
    expect(marketSchema.parse({ ...offer, backend: 'groth16', teeWasm: { module: 'p.wasm' } })).not.toHaveProperty(
      'teeWasm',
    )
    expect(marketSchema.safeParse({ ...offer, backend: 'tee-wasm', teeWasm: { module: '' } }).success).toBe(false)
  })

  it('loads the backend an entry names, keyless or per enclave key', async () => {
    const reader = await verifierReader()
    const market = { reader, marketId: 7n, verifier }
    const groth16 = await loadBackend(marketSchema.parse({ ...offer, backend: 'groth16' }), market)
    expect((await groth16(undefined)).kind).toBe('groth16')

    const teeWasm = await loadBackend(marketSchema.parse({ ...offer, backend: 'tee-wasm' }), market)
    await expect(teeWasm(undefined)).rejects.toThrow('market 7 has no enclave key yet')
    const signerKey = keccak256(stringToBytes('registry test enclave key'))
    const signer = privateKeyToAccount(signerKey).address
    const backend = await teeWasm({ signer, signerKey })
    expect(backend).toMatchObject({ kind: 'tee-wasm', signer })
    // One backend per key, kept while the key is current.
    expect(await teeWasm({ signer, signerKey })).toBe(backend)
  })

  it('loads a Noir market whose verifier takes the program’s public inputs, and refuses one that does not', async () => {
    const entry = marketSchema.parse({ ...offer, backend: 'noir', noir: { crs: INSECURE_DEV_CRS } })
    const market = { marketId: 7n, verifier }
    await expect(
      loadBackend(entry, { ...market, reader: await verifierReader({ publicInputCount: 3n }) }),
    ).rejects.toThrow(`market 7's verifier ${verifier} takes 3 public inputs, the program poseidon2-preimage has 2`)
    const noir = await loadBackend(entry, { ...market, reader: await verifierReader() })
    const backend = (await noir(undefined)) as NoirBackend
    expect(backend).toMatchObject({ kind: 'noir', flavour: 'zk', dyadicSize: 256 })
    await backend.destroy()
  }, 60_000)

  it('refuses at load a TEE market whose verifier serves another market or marketplace, or is not the market’s', async () => {
    const entry = marketSchema.parse({ ...offer, backend: 'tee-wasm' })
    const market = { marketId: 7n, verifier }
    await expect(loadBackend(entry, { ...market, reader: await verifierReader({ marketId: 8n }) })).rejects.toThrow(
      'accepts keys of market 8',
    )
    const other = '0x0000000000000000000000000000000000000001'
    await expect(
      loadBackend(entry, { ...market, reader: await verifierReader({ marketplace: other }) }),
    ).rejects.toThrow(`accepts proofs for marketplace ${other}`)
    const named = marketSchema.parse({ ...offer, backend: 'tee-wasm', teeWasm: { module: 'x.wasm', verifier: other } })
    await expect(loadBackend(named, { ...market, reader: await verifierReader() })).rejects.toThrow(
      `verifies with ${verifier}, the config names ${other}`,
    )
  })

  it('takes a backend as its kind, its fields (zod) and its loader, typed by its own schema', async () => {
    const echo = defineBackend({
      kind: 'echo',
      schema: z.object({ echoProof: z.string().startsWith('0x').default('0x00') }),
      async load({ echoProof }) {
        const backend: ProverBackend = {
          kind: 'echo',
          prove: async (job) => ({ publicInputs: job.publicInputs, proof: echoProof as Hex }),
        }
        return async () => backend
      },
    })
    const forKey = await echo.load(echo.schema.parse({}), { reader: await verifierReader(), marketId: 7n, verifier })
    const job = { requestId: 1n, marketId: 7n, publicInputs: '0x01', statement: {} } as unknown as ProofJob
    expect(await (await forKey(undefined)).prove(job)).toEqual({ publicInputs: '0x01', proof: '0x00' })
  })
})
