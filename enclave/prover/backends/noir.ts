/**
 * Noir circuits proven with UltraHonk (Barretenberg through @aztec/bb.js), for markets whose verifier is an
 * UltraHonkVerifierAdapter over a bb.js-generated verifier (noir/README.md).
 *
 * Encodings (ts/noir.ts): a request's public inputs are the circuit's public parameters, in the order `main` declares
 * them, flattened to 32-byte field words; its private inputs plaintext is UTF-8 JSON of the private parameters by name,
 * as the circuit's ABI names them: {"preimage": "0x2a"}. The proof is the `proof` bytes bb.js proves for the market's
 * flavour (`zk`: keccak transcript with zero-knowledge masking, verifier target `evm`; `no-zk`: `evm-no-zk`), which
 * is what UltraHonkVerifierAdapter passes to the generated verifier.
 *
 * Inputs that do not fit the ABI (a missing, unknown or mistyped field: the error names it), and inputs whose circuit
 * assertions fail (noir_js cannot execute the witness), are invalid inputs: no proof can ever exist for them, and the
 * runner posts an invalid-input attestation, as for the other backends.
 *
 * A market entry `{ backend: 'noir', noir: { program, flavour, crs } }` names the compiled program (the dev preset
 * `poseidon2-preimage`, noir/build/poseidon2_preimage.json, or a path to a compiled program's JSON) and the CRS:
 * - `{ ignitionCrsPath }`: PRODUCTION. noir/barretenberg.mjs unmodified: bb.js' own WASM and Aztec's Ignition CRS
 *   from that folder (it refuses any other CRS).
 * - `"INSECURE-DEV-CRS"`: DEVELOPMENT ONLY (noir/dev-crs): a CRS whose τ is public and a patched bb.js WASM. Every
 *   proof of a verifier built on it is forgeable; only devnets and tests name it, and the runner logs it at start.
 * At start the program's public inputs must match the market verifier's `publicInputCount`, so a runner whose proofs
 * the market could never accept fails then, not on some request later.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import type { Barretenberg } from '@aztec/bb.js'
import { type CompiledCircuit, Noir } from '@noir-lang/noir_js'
import { bytesToHex, parseAbi } from 'viem'
import { z } from 'zod'
import {
  checkNoirInputs,
  decodeNoirPublicInputs,
  INSECURE_DEV_CRS,
  NoirInputError,
  type NoirInputMap,
  type NoirProgram,
  noirPublicInputCount,
  parseNoirProgram,
} from '../../../ts/noir.js'
import { repoRoot } from '../../../ts/root.js'
import { positive } from '../../../ts/service/schemas.js'
import {
  defineBackend,
  describeError,
  InvalidInputsError,
  type ProofJob,
  type ProofOutput,
  type ProverBackend,
  throwIfAborted,
} from './backend.js'

/** The dev circuit noir/poseidon2_preimage (public [digest, context], private preimage). */
export const POSEIDON2_PREIMAGE = 'poseidon2-preimage'

/** noir/build/poseidon2_preimage.json, the noir preset. */
export const poseidon2PreimageProgram = join(repoRoot, 'noir/build/poseidon2_preimage.json')

/** The market entry's `crs` naming the DEVELOPMENT CRS of noir/dev-crs (ts/noir.ts). */
export { INSECURE_DEV_CRS }

/** The proof flavours: bb.js verifier targets of the keccak transcript the EVM verifiers recompute. */
export const NOIR_FLAVOURS = { zk: 'evm', 'no-zk': 'evm-no-zk' } as const
export type NoirFlavour = keyof typeof NOIR_FLAVOURS

/** A market entry's `noir` field. */
const circuitSchema = z.object({
  /** The compiled program: the preset, or its JSON (relative to the working directory). */
  program: z.union([z.literal(POSEIDON2_PREIMAGE), z.string().min(1)]).default(POSEIDON2_PREIMAGE),
  /** The proof flavour the market's verifier checks (noir/README.md: which one a market should use). */
  flavour: z.enum(['zk', 'no-zk']).default('zk'),
  /** PRODUCTION: `{ ignitionCrsPath }`; DEVELOPMENT ONLY: "INSECURE-DEV-CRS". No default. */
  crs: z.union([z.literal(INSECURE_DEV_CRS), z.object({ ignitionCrsPath: z.string().min(1) })]),
  /** Barretenberg's WASM threads. */
  threads: positive.default(1),
})

export type NoirCrs = z.output<typeof circuitSchema>['crs']

/** The view of UltraHonkVerifierAdapter the loader checks the program against. */
const adapterAbi = parseAbi(['function publicInputCount() view returns (uint256)'])

/** Markets whose verifier is an UltraHonkVerifierAdapter. Keyless: one backend serves every enclave key. */
export const noirBackend = defineBackend({
  kind: 'noir',
  schema: z.object({ noir: circuitSchema }),
  async load({ noir: entry }, market) {
    const program = await readNoirProgram(
      entry.program === POSEIDON2_PREIMAGE ? poseidon2PreimageProgram : resolve(entry.program),
    )
    const expected = await market.reader.public.readContract({
      address: market.verifier,
      abi: adapterAbi,
      functionName: 'publicInputCount',
    })
    const count = noirPublicInputCount(program.abi)
    if (expected !== BigInt(count)) {
      throw new Error(
        `market ${market.marketId}'s verifier ${market.verifier} takes ${expected} public inputs, ` +
          `the program ${entry.program} has ${count}`,
      )
    }
    const backend = await createNoirBackend({ program, flavour: entry.flavour, crs: entry.crs, threads: entry.threads })
    return async () => backend
  },
})

/** Reads a compiled Noir program's JSON. */
export async function readNoirProgram(path: string): Promise<NoirProgram> {
  return parseNoirProgram(JSON.parse(await readFile(path, 'utf8')), path)
}

export type NoirBackendConfig = {
  program: NoirProgram
  flavour: NoirFlavour
  crs: NoirCrs
  threads?: number
}

export type NoirBackend = ProverBackend & {
  readonly kind: 'noir'
  readonly flavour: NoirFlavour
  /** The circuit's dyadic size (rows, a power of two): what the CRS must cover. */
  readonly dyadicSize: number
  /** Frees Barretenberg (its WASM memory and threads). */
  destroy(): Promise<void>
}

type ProductionBarretenberg = typeof import('../../../noir/barretenberg.mjs')
type DevCrsBarretenberg = typeof import('../../../noir/dev-crs/index.mjs')

/** The checkout's noir/ modules, by path (the compiled runner in dist/ has no copy of them). */
function noirModule<module>(path: string): Promise<module> {
  return import(pathToFileURL(join(repoRoot, 'noir', path)).href) as Promise<module>
}

/** A Barretenberg with `numPoints` points of the configured CRS: production's, or (named so) the dev one. */
async function openBarretenberg(crs: NoirCrs, numPoints: number, threads: number): Promise<Barretenberg> {
  if (crs === INSECURE_DEV_CRS) {
    const dev = await noirModule<DevCrsBarretenberg>('dev-crs/index.mjs')
    return dev.openDevBarretenberg({ numPoints, threads })
  }
  const production = await noirModule<ProductionBarretenberg>('barretenberg.mjs')
  return production.openBarretenberg({ crsPath: resolve(crs.ignitionCrsPath), numPoints, threads })
}

/** bb's proof settings of a flavour (bb.js' own mapping of the verifier target, which is not exported). */
function proofSettings(flavour: NoirFlavour) {
  return {
    ipaAccumulation: false,
    oracleHashType: 'keccak',
    disableZk: flavour === 'no-zk',
    optimizedSolidityVerifier: false,
  }
}

/** bb's smallest CRS: its KZG commitments need max(dyadic size, 512) + 1 points. */
const MIN_CRS_POINTS = 513

/**
 * A backend for one compiled program. Opens Barretenberg on the configured CRS with as many points as the circuit
 * needs and computes its verification key once (bb.js' generateProof recomputes it for every proof).
 */
export async function createNoirBackend(config: NoirBackendConfig): Promise<NoirBackend> {
  const { program, flavour } = config
  const threads = config.threads ?? 1
  const bytecode = gunzipSync(Buffer.from(program.bytecode, 'base64'))
  let api = await openBarretenberg(config.crs, MIN_CRS_POINTS, threads)
  let dyadicSize: number
  try {
    ;[, dyadicSize] = await api.acirGetCircuitSizes(bytecode, false, false)
    if (dyadicSize + 1 > MIN_CRS_POINTS) {
      await api.destroy()
      api = await openBarretenberg(config.crs, dyadicSize + 1, threads)
    }
  } catch (error) {
    await api.destroy()
    throw error
  }
  const settings = proofSettings(flavour)
  const circuit = { name: 'circuit', bytecode }
  const { bytes: verificationKey } = await api.circuitComputeVk({ circuit, settings })
  // noir_js executes from the ABI and bytecode; the debug symbols and file map it types as required only enrich
  // error locations, and compiled programs here carry none (they hold the building machine's absolute paths).
  const noir = new Noir(program as CompiledCircuit)
  // One Barretenberg instance: its calls run one at a time.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task)
    queue = run.catch(() => {})
    return run
  }

  async function prove(job: ProofJob, signal?: AbortSignal): Promise<ProofOutput> {
    throwIfAborted(signal)
    const inputs = noirInputs(program, job)
    let witness: Uint8Array
    try {
      ;({ witness } = await noir.execute(inputs))
    } catch (error) {
      // noir_js checked the inputs against the ABI and ran the ACVM: its failures are the inputs' (an assertion).
      throw new InvalidInputsError(`witness execution failed: ${describeError(error)}`, { cause: error })
    }
    throwIfAborted(signal)
    const { proof, publicInputs } = await serial(() =>
      api.circuitProve({
        witness: gunzipSync(witness),
        circuit: { ...circuit, verificationKey },
        settings,
      }),
    )
    const proven = bytesToHex(Buffer.concat(publicInputs.map((word) => Buffer.from(word))))
    if (proven !== job.publicInputs.toLowerCase()) {
      // Public inputs are fed from the request, so this is the program's or Barretenberg's fault, not the request's.
      throw new Error(`the proof's public inputs ${proven} differ from the request's ${job.publicInputs}`)
    }
    return { publicInputs: job.publicInputs, proof: bytesToHex(Buffer.concat(proof.map((word) => Buffer.from(word)))) }
  }

  return { kind: 'noir', flavour, dyadicSize, prove, destroy: () => serial(() => api.destroy()) }
}

/** The witness inputs of a job: its public inputs decoded by the ABI, its private inputs checked against it. */
export function noirInputs(program: NoirProgram, job: Pick<ProofJob, 'publicInputs' | 'privateInputs'>): NoirInputMap {
  try {
    const publicInputs = decodeNoirPublicInputs(program.abi, job.publicInputs)
    return { ...publicInputs, ...checkNoirInputs(program.abi, parsePrivateJson(job.privateInputs), 'private') }
  } catch (error) {
    if (error instanceof NoirInputError) throw new InvalidInputsError(error.message, { cause: error })
    throw error
  }
}

/** The private inputs plaintext as JSON; none (an empty object) for a request without private inputs. */
function parsePrivateJson(plaintext: Uint8Array | undefined): unknown {
  if (plaintext === undefined || plaintext.length === 0) return {}
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext))
  } catch (error) {
    throw new InvalidInputsError(`private inputs are not UTF-8 JSON: ${describeError(error)}`, { cause: error })
  }
}
