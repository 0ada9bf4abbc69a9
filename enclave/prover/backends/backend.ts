/**
 * What the prover runner asks of a proving backend: turn an assigned request (its public inputs and, for private
 * requests, the decrypted private inputs) into the `publicInputs` and `proof` that ProofMarketplace.fulfil takes.
 *
 * Failures fall in four kinds, told apart by `proverFailureKind`:
 * - invalid-inputs (InvalidInputsError): no proof can ever exist for these inputs (witness generation fails, the
 *   encoding is malformed, the program traps or computes other public values). Deterministic: retrying is useless,
 *   and the runner posts an invalid-input attestation instead of a proof.
 * - limit-exceeded (ProvingLimitError): the backend's own budget (e.g. wall-clock time) ran out. Not evidence that
 *   the inputs are invalid (a wall-clock budget depends on the machine and its load), so the runner must not attest
 *   invalid inputs on it; whether to retry before the task deadline is its policy.
 * - aborted (ProvingAbortedError): the caller's AbortSignal fired.
 * - transient: anything else (I/O, a sandbox that would not start, ...): retry.
 */
import type { Address, Hex } from 'viem'
import type { z } from 'zod'
import type { CairnReader } from '../../../ts/client.js'

/**
 * What the enclave established a task to be before running anything: the only statement it may sign for (an
 * invalid-input attestation) or bind a proof to. Never taken from a log as served: `inputsDigest` is recomputed from
 * the very bytes the backend is given (see job.ts).
 */
export type ProofStatement = {
  requestId: bigint
  /** The assigned prover: this runner's own operator account. */
  prover: Address
  /** Request.inputsDigest, keccak256(keccak256(public input bytes) ‖ keccak256(envelope bytes) or zero). */
  inputsDigest: Hex
}

export type ProofJob = {
  requestId: bigint
  marketId: bigint
  statement: ProofStatement
  /** The request's public inputs, exactly as posted: fulfil() must be given these same bytes. */
  publicInputs: Hex
  /** The decrypted private inputs (see ts/privacy.ts), when the request has any. */
  privateInputs?: Uint8Array
}

export type ProofOutput = {
  /** Exactly what fulfil() must receive as publicInputs (byte-equal to the job's). */
  publicInputs: Hex
  proof: Hex
}

export type ProverBackend = {
  /** The kind of its definition (see registry.ts), the `backend` label of the runner's metrics. */
  readonly kind: string
  prove(job: ProofJob, signal?: AbortSignal): Promise<ProofOutput>
}

/** The market's current enclave key, which a backend may sign with (a keyless one ignores it). */
export type EnclaveSigner = { signer: Address; signerKey: Hex }

/** What a backend's loader learns of its market at start. */
export type BackendMarket = {
  reader: CairnReader
  marketId: bigint
  /** The market's IProofVerifier as stored on chain: what every proof of the market must satisfy. */
  verifier: Address
}

/** A market's loaded backend: the one to prove with while `key` is the market's current enclave key. */
export type BackendForKey = (key: EnclaveSigner | undefined) => Promise<ProverBackend>

/**
 * A proving backend as the runner's configuration knows it, one per file, listed in registry.ts. A market entry
 * `{ marketId, price, provingTime, backend: kind, ...fields }` is parsed with `schema` (its fields; defaults let an
 * entry name the kind alone), and `load` prepares it at start: a misconfigured market (artifacts missing, another
 * program than the verifier's) fails there, not on some request later.
 */
export type BackendDefinition<kind extends string = string, shape extends z.core.$ZodShape = z.core.$ZodShape> = {
  readonly kind: kind
  readonly schema: z.ZodObject<shape>
  load(config: z.output<z.ZodObject<shape>>, market: BackendMarket): Promise<BackendForKey>
}

/** The inputs can never be proven: the runner posts an invalid-input attestation instead of a proof. */
export class InvalidInputsError extends Error {
  override readonly name: string = 'InvalidInputsError'
}

/** The backend's own budget (e.g. wall-clock time) ran out; says nothing about the inputs. */
export class ProvingLimitError extends Error {
  override readonly name = 'ProvingLimitError'
}

/** The caller aborted the proof. */
export class ProvingAbortedError extends Error {
  override readonly name = 'ProvingAbortedError'
}

export type ProverFailureKind = 'invalid-inputs' | 'limit-exceeded' | 'aborted' | 'transient'

/** How the runner should treat a failed prove(): see the header of this module. */
export function proverFailureKind(error: unknown): ProverFailureKind {
  if (error instanceof InvalidInputsError) return 'invalid-inputs'
  if (error instanceof ProvingLimitError) return 'limit-exceeded'
  if (error instanceof ProvingAbortedError) return 'aborted'
  return 'transient'
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ProvingAbortedError('proving was aborted', { cause: signal.reason })
}

/** A short, printable form of a thrown value, for error messages. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A definition with its kind and fields inferred, so `load` is typed by its own schema. */
export function defineBackend<const kind extends string, shape extends z.core.$ZodShape>(
  definition: BackendDefinition<kind, shape>,
): BackendDefinition<kind, shape> {
  return definition
}
