/**
 * One task's proving path, chain-free: the request's inputs as bytes (fetched and digest-checked when behind a URI),
 * the private inputs opened with the released input key, the backend's proof, and the Fulfilment that
 * ProofMarketplace.fulfil / fulfilBatch take. The runner and the overhead benchmark run exactly this.
 *
 * Private inputs that cannot be opened are not the requester's fault: the matcher re-wraps the data key only after
 * checking that the ciphertext authenticates under it (rewrapForProver), so an input key that opens under none of
 * this enclave's keys, or a data key that does not authenticate the envelope, means the matcher or this enclave
 * (a lost key) failed. Such a task fails with UndecryptableInputsError and is never attested as invalid inputs:
 * that attestation refunds the requester only partly and is reserved for inputs that were read and cannot be proven.
 */
import type { Address, Hex } from 'viem'
import type { InputUriOptions } from '../../ts/input-uris.js'
import { decryptPrivateInputs, isPrivateInputsError } from '../../ts/privacy.js'
import { type Fulfilment, type Inputs, inputsDigest, type Request, type Task } from '../../ts/types.js'
import type { ProofJob, ProofOutput, ProverBackend } from './backend.js'
import { hasInputs, resolveInputs } from './inputs.js'
import { type Keyring, NoDecryptingKeyError } from './keys.js'

/** What the runner knows of an assigned task: its records as emitted and its inputs as posted. */
export type TaskRecord = {
  requestId: bigint
  marketId: bigint
  request: Request
  task: Task
  publicInputs: Inputs
  privateInputs: Inputs
  /** The InputKeyReleased key of a private-input request: the data key wrapped to this enclave's ECIES key. */
  inputKey?: Hex
}

export type JobContext = {
  chainId: number
  marketplace: Address
  keyring: Keyring
  /** Bounds on reading inputs behind a URI. */
  inputUris: Omit<InputUriOptions, 'signal'>
}

/** The private inputs cannot be opened with what the matcher released; see the header. */
export class UndecryptableInputsError extends Error {
  override readonly name = 'UndecryptableInputsError'
}

/** The backend's job for a task: inputs resolved, private inputs decrypted. */
export async function prepareProofJob(
  record: TaskRecord,
  context: JobContext,
  signal?: AbortSignal,
): Promise<ProofJob> {
  const options = { ...context.inputUris, signal }
  const publicInputs = await resolveInputs(record.publicInputs, options)
  const job: ProofJob = { requestId: record.requestId, marketId: record.marketId, publicInputs }
  if (!hasInputs(record.privateInputs)) return job
  const envelope = await resolveInputs(record.privateInputs, options)
  return { ...job, privateInputs: openPrivateInputs(record, envelope, context) }
}

function openPrivateInputs(record: TaskRecord, envelope: Hex, context: JobContext): Uint8Array {
  if (record.inputKey === undefined) {
    throw new UndecryptableInputsError(`request ${record.requestId} has private inputs but no input key was released`)
  }
  try {
    const { dataKey } = context.keyring.unwrap(record.marketId, record.inputKey)
    return decryptPrivateInputs(envelope, dataKey, {
      chainId: context.chainId,
      marketplace: context.marketplace,
      marketId: record.marketId,
    })
  } catch (error) {
    if (error instanceof NoDecryptingKeyError || isPrivateInputsError(error)) {
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

/** The whole path: inputs, decryption, proof, fulfilment. */
export async function proveTask(
  record: TaskRecord,
  backend: ProverBackend,
  context: JobContext,
  signal?: AbortSignal,
): Promise<Fulfilment> {
  const job = await prepareProofJob(record, context, signal)
  const output = await backend.prove(job, signal)
  return fulfilmentOf(record, output)
}
