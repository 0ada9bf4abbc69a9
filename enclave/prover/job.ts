/**
 * One task's proving path, chain-free: the request's inputs as bytes (fetched and digest-checked when behind a URI),
 * checked against the request's commitment, the private inputs opened with the released input key, the backend's
 * proof, and the Fulfilment that ProofMarketplace.fulfil / fulfilBatch take. The runner and the overhead benchmark
 * run exactly this.
 *
 * The task's records and inputs come from logs the host serves, and the host may forge them. So before it decrypts,
 * proves or signs anything, the enclave recomputes Request.inputsDigest from the exact bytes it will evaluate,
 * keccak256(keccak256(public input bytes) ‖ keccak256(envelope bytes), or zero without private inputs), and refuses
 * a task whose bytes do not hash to the request's digest, or that is assigned to another prover
 * (InconsistentTaskError): that is the host feeding it inconsistent data, never invalid inputs. What it checked becomes the job's ProofStatement, and an invalid-input
 * attestation is signed over that statement's digest only (UnprovableInputsError carries it to the settler), so the
 * enclave never attests inputs it did not evaluate; a forged request record fails on chain, where the marketplace
 * checks the record against its commitment. The envelope commits to its data key (ts/privacy.ts), so this digest
 * also pins the plaintext every matcher and this prover open.
 *
 * Private inputs that cannot be opened are not the requester's fault: the matcher re-wraps the data key only after
 * checking it against the envelope's key commitment and that the ciphertext authenticates under the request
 * (rewrapForProver), so an input key that opens under none of this enclave's keys, or a data key that does not open
 * the envelope, means the matcher or this enclave (a lost key) failed. Such a task fails with
 * UndecryptableInputsError and is never attested as invalid inputs: that attestation refunds the requester only
 * partly and is reserved for inputs that were read and cannot be proven.
 */
import { type Address, bytesToHex, type Hex, isAddressEqual, keccak256, zeroHash } from 'viem'
import type { InputUriOptions } from '../../ts/input-uris.js'
import { decryptPrivateInputs, isPrivateInputsError, type PrivateInputsContext } from '../../ts/privacy.js'
import { hasInputs, readPostedInputs } from '../../ts/request-inputs.js'
import {
  combinedInputsDigest,
  type Fulfilment,
  type Inputs,
  inputsDigest,
  type Request,
  type Task,
} from '../../ts/types.js'
import {
  describeError,
  InvalidInputsError,
  type ProofJob,
  type ProofOutput,
  type ProofStatement,
  type ProverBackend,
  proverFailureKind,
} from './backends/backend.js'
import { type Keyring, NoDecryptingKeyError } from './keys.js'

/** What the runner knows of an assigned task: its records as emitted and its inputs as posted. */
export type TaskRecord = {
  requestId: bigint
  marketId: bigint
  /** RequestCreated's `requester`: the account whose request the private inputs were encrypted for. */
  requester: Address
  request: Request
  task: Task
  publicInputs: Inputs
  privateInputs: Inputs
  /** The InputKeyReleased key of a private-input request: the data key wrapped to this enclave's ECIES key. */
  inputKey?: Hex
  /**
   * False for a fallback claim: its input key, if any, came from the requester (IPrivateClaims.releaseInputKey), so
   * a key that does not open the inputs is the requester's fault and is attested (WrongInputKeyError).
   */
  byMatcher?: boolean
}

export type JobContext = {
  chainId: number
  marketplace: Address
  /** This runner's operator account: the only prover it works and attests for. */
  operator: Address
  keyring: Keyring
  /** Bounds on reading inputs behind a URI. */
  inputUris: Omit<InputUriOptions, 'signal'>
}

/**
 * The task as served is not the request the chain committed to, or not this prover's (see the header): never proven,
 * never attested.
 */
export class InconsistentTaskError extends Error {
  override readonly name = 'InconsistentTaskError'
}

/** The private inputs cannot be opened with what the matcher released; see the header. */
export class UndecryptableInputsError extends Error {
  override readonly name = 'UndecryptableInputsError'
}

/** The backend found checked inputs unprovable: the enclave may attest exactly `statement`, nothing else. */
export class UnprovableInputsError extends InvalidInputsError {
  override readonly name: string = 'UnprovableInputsError'

  constructor(
    readonly statement: ProofStatement,
    cause: unknown,
  ) {
    super(`request ${statement.requestId}: ${describeError(cause)}`, { cause })
  }
}

/**
 * The requester of a private fallback claim released an input key that does not open the inputs (it unwraps under
 * none of this enclave's keys, is not the committed data key, or does not authenticate the envelope under this
 * request). The enclave may attest exactly this, bound to the released key (IPrivateClaims.rejectInputKey): a key
 * the host made up gets a signature the marketplace refuses, since its hash is not the one recorded on chain.
 */
export class WrongInputKeyError extends UnprovableInputsError {
  override readonly name = 'WrongInputKeyError'

  constructor(
    statement: ProofStatement,
    readonly inputKey: Hex,
    cause: unknown,
  ) {
    super(statement, cause)
  }
}

/**
 * The task's request, its assigned prover and the inputsDigest of exactly these bytes, as createRequest commits it
 * for inline inputs: keccak256(keccak256(public inputs) ‖ keccak256(envelope)), the private part zero when the
 * request has none. What a TEE proof or an invalid-input attestation is signed over.
 */
export function proofStatementOf(record: TaskRecord, publicInputs: Hex, envelope: Hex | undefined): ProofStatement {
  const privateDigest = envelope === undefined ? zeroHash : keccak256(envelope)
  return {
    requestId: record.requestId,
    prover: record.task.prover,
    inputsDigest: combinedInputsDigest(keccak256(publicInputs), privateDigest),
  }
}

/** The backend's job for a task: inputs resolved and checked against the request, private inputs decrypted. */
export async function prepareProofJob(
  record: TaskRecord,
  context: JobContext,
  signal?: AbortSignal,
): Promise<ProofJob> {
  if (!isAddressEqual(record.task.prover, context.operator)) {
    throw new InconsistentTaskError(
      `request ${record.requestId} is assigned to ${record.task.prover}, not to this runner's ${context.operator}: the host served another prover's task`,
    )
  }
  const options = { ...context.inputUris, signal }
  const publicInputs = bytesToHex(await readPostedInputs(record.publicInputs, options))
  const envelope = hasInputs(record.privateInputs)
    ? bytesToHex(await readPostedInputs(record.privateInputs, options))
    : undefined
  const statement = proofStatementOf(record, publicInputs, envelope)
  const digest = statement.inputsDigest
  if (digest !== record.request.inputsDigest) {
    throw new InconsistentTaskError(
      `request ${record.requestId}: the inputs served hash to ${digest}, the request commits to ${record.request.inputsDigest}: the host's RPC or storage serves other bytes than were posted; use a node that serves the chain as it is`,
    )
  }
  const job: ProofJob = { requestId: record.requestId, marketId: record.marketId, statement, publicInputs }
  if (envelope === undefined) return job
  const opened = openPrivateInputs(
    record,
    envelope,
    context.keyring,
    privateInputsContext(record, context, publicInputs),
    statement,
  )
  return { ...job, privateInputs: opened }
}

/** The request the envelope must have been encrypted for, from the task's own fields and the bytes evaluated. */
function privateInputsContext(record: TaskRecord, context: JobContext, publicInputs: Hex): PrivateInputsContext {
  return {
    chainId: context.chainId,
    marketplace: context.marketplace,
    marketId: record.marketId,
    requester: record.requester,
    publicInputsDigest: keccak256(publicInputs),
  }
}

function openPrivateInputs(
  record: TaskRecord,
  envelope: Hex,
  keyring: Keyring,
  context: PrivateInputsContext,
  statement: ProofStatement,
): Uint8Array {
  if (record.inputKey === undefined) {
    throw new UndecryptableInputsError(`request ${record.requestId} has private inputs but no input key was released`)
  }
  try {
    const { dataKey } = keyring.unwrap(record.marketId, record.inputKey)
    return decryptPrivateInputs(envelope, dataKey, context)
  } catch (error) {
    if (error instanceof NoDecryptingKeyError || isPrivateInputsError(error)) {
      // The requester's own release (a private fallback claim): its wrong key is attested, not the prover's fault.
      if (record.byMatcher === false) throw new WrongInputKeyError(statement, record.inputKey, error)
      throw new UndecryptableInputsError(`request ${record.requestId}: ${(error as Error).message}`, { cause: error })
    }
    throw error
  }
}

/** The fulfilment of a task from its backend's output. */
export function fulfilmentOf(record: TaskRecord, output: ProofOutput): Fulfilment {
  return {
    requestId: record.requestId,
    request: record.request,
    task: record.task,
    publicInputs: output.publicInputs,
    privateInputsDigest: inputsDigest(record.privateInputs),
    proof: output.proof,
  }
}

/**
 * The whole path: inputs checked, decryption, proof, fulfilment. A backend's invalid-inputs verdict leaves as an
 * UnprovableInputsError carrying the statement the enclave checked: the only thing it may attest.
 */
export async function proveTask(
  record: TaskRecord,
  backend: ProverBackend,
  context: JobContext,
  signal?: AbortSignal,
): Promise<Fulfilment> {
  const job = await prepareProofJob(record, context, signal)
  let output: ProofOutput
  try {
    output = await backend.prove(job, signal)
  } catch (error) {
    if (proverFailureKind(error) === 'invalid-inputs') throw new UnprovableInputsError(job.statement, error)
    throw error
  }
  return fulfilmentOf(record, output)
}
