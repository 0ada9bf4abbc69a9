import { join } from 'node:path'
import { type CircuitInput, type Groth16SnarkjsProof, groth16, type MemFile, wtns } from 'snarkjs'
import { concat, encodeAbiParameters, type Hex, numberToHex, parseAbiParameters } from 'viem'
import { repoRoot } from './root.js'

/** Artifacts of circuits/poseidon_preimage.circom: public signals [digest = Poseidon(preimage), context]. */
export const poseidonPreimageCircuit = {
  wasm: join(repoRoot, 'circuits/build/poseidon_preimage.wasm'),
  zkey: join(repoRoot, 'circuits/build/poseidon_preimage.zkey'),
  vkey: join(repoRoot, 'circuits/build/poseidon_preimage.vkey.json'),
} as const

/** A proof in the Groth16 verifiers' encoding (Groth16BatchVerifier, Groth16VerifierAdapter), plus the public signals it proves. */
export type Groth16Proof = {
  /** The public signals, each a 32-byte big-endian word, concatenated. */
  publicInputs: Hex
  /** abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c), G2 coordinates in EVM order. */
  proof: Hex
  publicSignals: bigint[]
}

const proofParameters = parseAbiParameters('uint256[2] a, uint256[2][2] b, uint256[2] c')

export function encodePublicSignals(signals: readonly bigint[]): Hex {
  return concat(signals.map((signal) => numberToHex(signal, { size: 32 })))
}

export function encodeGroth16Proof(proof: Groth16SnarkjsProof): Hex {
  const [a0, a1] = proof.pi_a
  const [[b00, b01], [b10, b11]] = proof.pi_b
  const [c0, c1] = proof.pi_c
  // The EIP-197 pairing precompile takes G2 points as (imaginary, real); snarkjs JSON lists (real, imaginary).
  return encodeAbiParameters(proofParameters, [
    [BigInt(a0), BigInt(a1)],
    [
      [BigInt(b01), BigInt(b00)],
      [BigInt(b11), BigInt(b10)],
    ],
    [BigInt(c0), BigInt(c1)],
  ])
}

/**
 * Computes the witness and a Groth16 proof with snarkjs. Single-threaded: the circuits are tiny, and snarkjs'
 * worker threads would otherwise keep the process (devnet --once, tests) alive after proving.
 */
export async function proveWithSnarkjs(wasmPath: string, zkeyPath: string, input: CircuitInput): Promise<Groth16Proof> {
  const { proof, publicSignals } = await groth16.fullProve(input, wasmPath, zkeyPath, undefined, undefined, {
    singleThread: true,
  })
  const signals = publicSignals.map((signal) => BigInt(signal))
  return { publicInputs: encodePublicSignals(signals), proof: encodeGroth16Proof(proof), publicSignals: signals }
}

/**
 * Poseidon(preimage) as the circuit computes it, from the witness alone (no proving): witness[0] is the constant 1
 * and witness[1] the first output, the digest.
 */
export async function poseidonDigest(
  preimage: bigint,
  wasmPath: string = poseidonPreimageCircuit.wasm,
): Promise<bigint> {
  const witness: MemFile = { type: 'mem' }
  await wtns.calculate({ preimage, context: 0n }, wasmPath, witness)
  const values = await wtns.exportJson(witness)
  const digest = values[1]
  if (digest === undefined) throw new Error(`${wasmPath}: witness has no output signal`)
  return digest
}

/** Proves knowledge of `preimage` for a request whose public inputs are [Poseidon(preimage), context]. */
export async function provePoseidonPreimage(preimage: bigint, context: bigint): Promise<Groth16Proof> {
  return proveWithSnarkjs(poseidonPreimageCircuit.wasm, poseidonPreimageCircuit.zkey, { preimage, context })
}
