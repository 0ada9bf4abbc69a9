/**
 * Groth16 proving with snarkjs, for markets whose verifier is a Groth16VerifierAdapter.
 *
 * Encodings (circuits/README.md): a request's public inputs are the circuit's public signals in snarkjs order
 * (outputs first, then public inputs), each a 32-byte big-endian word, concatenated; the proof is
 * Groth16VerifierAdapter's abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c). The private inputs plaintext
 * is UTF-8 JSON of the remaining circuit inputs, by name: {"preimage": "42"}, values as decimal or 0x-hex strings,
 * safe integers, or (nested) arrays of those.
 *
 * The public *input* signals are fed to the witness from the request; the public *output* signals are computed by
 * the circuit, and the proof is only returned when every public signal equals the requested word, so a proof
 * always matches the request's inputs digest on chain.
 *
 * A market entry `{ backend: 'groth16', groth16: … }` names the circuit: the dev preset `poseidon-preimage` (the
 * default), or its witness generator, proving key and public signal names.
 */
import { access } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type CircuitInput, type Groth16SnarkjsProof, groth16, type MemFile, wtns } from 'snarkjs'
import { type Hex, hexToBigInt, isHex, size, slice } from 'viem'
import { z } from 'zod'
import { encodeGroth16Proof, encodePublicSignals, poseidonPreimageCircuit } from '../../../ts/groth16.js'
import {
  defineBackend,
  describeError,
  InvalidInputsError,
  type ProofJob,
  type ProofOutput,
  type ProverBackend,
  throwIfAborted,
} from './backend.js'

/** The dev circuit circuits/poseidon_preimage.circom, with snarkjs's public signal order. */
export const POSEIDON_PREIMAGE = 'poseidon-preimage'

/** A market entry's `groth16` field. */
const circuitSchema = z.union([
  z.literal(POSEIDON_PREIMAGE),
  z.object({
    /** Witness generator (.wasm), relative to the working directory. */
    wasm: z.string().min(1),
    /** Proving key (.zkey). */
    zkey: z.string().min(1),
    /** Public signal names in snarkjs order: the circuit's outputs, then its public inputs. */
    publicSignals: z.object({ outputs: z.array(z.string()), inputs: z.array(z.string()) }),
  }),
])

/** Markets whose verifier is a Groth16VerifierAdapter. Keyless: one backend serves every enclave key. */
export const groth16Backend = defineBackend({
  kind: 'groth16',
  schema: z.object({ groth16: circuitSchema.default(POSEIDON_PREIMAGE) }),
  async load({ groth16: circuit }) {
    const backend = await (circuit === POSEIDON_PREIMAGE
      ? createPoseidonPreimageBackend()
      : createGroth16Backend({
          wasm: resolve(circuit.wasm),
          zkey: resolve(circuit.zkey),
          publicSignals: circuit.publicSignals,
        }))
    return async () => backend
  },
})

/** The BN254 scalar field: a signal is an element of it, so a word at or above it can never be a public signal. */
export const BN254_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

export type Groth16BackendConfig = {
  /** Path of the circuit's witness generator (.wasm). */
  wasm: string
  /** Path of the Groth16 proving key (.zkey). */
  zkey: string
  /** Names of the public signals, in snarkjs order: the circuit's outputs, then its public inputs. */
  publicSignals: { outputs: readonly string[]; inputs: readonly string[] }
}

export type Groth16Backend = ProverBackend & { readonly kind: 'groth16'; readonly config: Groth16BackendConfig }

type Groth16Prove = (
  zkey: string,
  witness: MemFile,
  logger?: unknown,
  options?: { singleThread?: boolean },
) => Promise<{ proof: Groth16SnarkjsProof; publicSignals: string[] }>
// ts/snarkjs.d.ts declares only fullProve; prove is its second half (from a computed witness), in the same API.
// Proving separately lets a witness failure (invalid inputs) be told apart from a proving failure (transient).
const proveFromWitness = (groth16 as typeof groth16 & { prove: Groth16Prove }).prove

/**
 * A backend for one circuit. The artifacts are checked to exist up front, so a missing file is a configuration
 * error at startup rather than a failure blamed on some request's inputs.
 */
export async function createGroth16Backend(config: Groth16BackendConfig): Promise<Groth16Backend> {
  await Promise.all([access(config.wasm), access(config.zkey)])
  const names = [...config.publicSignals.outputs, ...config.publicSignals.inputs]
  if (names.length === 0) throw new Error('a Groth16 market needs at least one public signal')
  if (new Set(names).size !== names.length) throw new Error(`public signal names repeat: ${names.join(', ')}`)
  return {
    kind: 'groth16',
    config,
    prove: (job, signal) => proveJob(config, job, signal),
  }
}

/** The backend of the dev circuit circuits/poseidon_preimage.circom: public signals [digest, context]. */
export function createPoseidonPreimageBackend(): Promise<Groth16Backend> {
  return createGroth16Backend({
    wasm: poseidonPreimageCircuit.wasm,
    zkey: poseidonPreimageCircuit.zkey,
    publicSignals: { outputs: ['digest'], inputs: ['context'] },
  })
}

async function proveJob(config: Groth16BackendConfig, job: ProofJob, signal?: AbortSignal): Promise<ProofOutput> {
  throwIfAborted(signal)
  const { outputs, inputs } = config.publicSignals
  const requested = decodePublicSignals(job.publicInputs, outputs.length + inputs.length)
  const input: CircuitInput = parsePrivateInputs(job.privateInputs, [...outputs, ...inputs])
  inputs.forEach((name, i) => {
    input[name] = requested[outputs.length + i] as bigint
  })

  const witness: MemFile = { type: 'mem' }
  try {
    await wtns.calculate(input, config.wasm, witness)
  } catch (error) {
    // A system error (the artifact vanished, out of file descriptors) says nothing about the inputs.
    if (isSystemError(error)) throw error
    throw new InvalidInputsError(`witness generation failed: ${describeError(error)}`, { cause: error })
  }
  throwIfAborted(signal)

  const { proof, publicSignals } = await proveFromWitness(config.zkey, witness, undefined, { singleThread: true })
  const proven = publicSignals.map((value) => BigInt(value))
  checkPublicSignals(proven, requested, [...outputs, ...inputs])
  return { publicInputs: encodePublicSignals(proven), proof: encodeGroth16Proof(proof) }
}

function checkPublicSignals(proven: bigint[], requested: bigint[], names: readonly string[]): void {
  if (proven.length !== requested.length) {
    // The backend's configuration, not the request, is wrong: no request of this market could be proven.
    throw new Error(`the circuit has ${proven.length} public signals, the backend is configured with ${names.length}`)
  }
  const i = proven.findIndex((value, j) => value !== requested[j])
  if (i !== -1) {
    throw new InvalidInputsError(
      `the private inputs prove ${names[i]} = ${proven[i]}, the request asks for ${names[i]} = ${requested[i]}`,
    )
  }
}

/** The request's public inputs as field elements: `count` 32-byte words, each below the BN254 scalar field. */
export function decodePublicSignals(publicInputs: Hex, count: number): bigint[] {
  if (!isHex(publicInputs, { strict: true }) || publicInputs.length % 2 !== 0) {
    throw new InvalidInputsError('public inputs are not hex of whole bytes')
  }
  if (size(publicInputs) !== count * 32) {
    throw new InvalidInputsError(
      `public inputs are ${size(publicInputs)} bytes, the circuit has ${count} 32-byte signals`,
    )
  }
  return Array.from({ length: count }, (_, i) => {
    const word = hexToBigInt(slice(publicInputs, i * 32, (i + 1) * 32))
    if (word >= BN254_SCALAR_FIELD) throw new InvalidInputsError(`public signal ${i} is not below the BN254 field`)
    return word
  })
}

/** The circuit inputs in a private inputs plaintext (a UTF-8 JSON object); none for a request without any. */
export function parsePrivateInputs(plaintext: Uint8Array | undefined, publicNames: readonly string[]): CircuitInput {
  if (plaintext === undefined || plaintext.length === 0) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext))
  } catch (error) {
    throw new InvalidInputsError(`private inputs are not UTF-8 JSON: ${describeError(error)}`, { cause: error })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidInputsError('private inputs must be a JSON object of circuit signal names to values')
  }
  const input: CircuitInput = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (publicNames.includes(name)) {
      throw new InvalidInputsError(`private inputs set ${name}, a public signal: it comes from the public inputs`)
    }
    input[name] = Array.isArray(value)
      ? value.flat(Infinity).map((item) => signalValue(item, name))
      : signalValue(value, name)
  }
  return input
}

/**
 * One signal value. Multi-dimensional signals are given as nested arrays and flattened row-major, the order in
 * which circom lays them out.
 */
function signalValue(value: unknown, name: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|-?[0-9]+)$/.test(value)) return BigInt(value)
  throw new InvalidInputsError(
    `private input ${name}: ${JSON.stringify(value)?.slice(0, 40)} is not an integer ` +
      '(a decimal or 0x-hex string, or a safe integer)',
  )
}

function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string'
}
