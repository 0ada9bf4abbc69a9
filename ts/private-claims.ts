/**
 * Private requests through the censorship fallback (IPrivateClaims, served at the marketplace's address). With no
 * matcher to re-wrap a private request's data key, a prover claims it with claimPrivate; the requester (its refund
 * address) wraps the data key to that prover's attested enclave key and publishes it with releaseInputKey within
 * KEY_RELEASE_WINDOW; a claim whose key never comes is abandoned (escrow refunded, prover unslashed), and a released
 * key that does not open the inputs is rejected by the prover's enclave (rejectInputKey, InputsRejected).
 */
import {
  type Address,
  type Hex,
  isAddressEqual,
  keccak256,
  type LocalAccount,
  type TransactionReceipt,
  zeroAddress,
} from 'viem'
import type { CairnClient, CairnReader } from './client.js'
import type { Deployment } from './deployment.js'
import { eventOf } from './events.js'
import { iPrivateClaimsAbi, proofMarketplaceAbi, teeRegistryAbi } from './generated.js'
import { keyCommitmentOf, parseEnvelope, wrapDataKey } from './privacy.js'
import { loadRequest } from './readers.js'
import type { SendOptions } from './sending.js'
import type { RegistryReader } from './tee.js'
import { cairnTypedData, type SignedTypedData } from './typed-data.js'
import type { Inputs, Request, RequestRecords, Task, TaskRecords } from './types.js'
import { write } from './write.js'

/** Seconds a requester has from a private claim to release its key (SignedRequestModule.KEY_RELEASE_WINDOW). */
export const KEY_RELEASE_WINDOW = 300

/** What the marketplace holds of a claim's key (IPrivateClaims.inputKeyWait). */
export type InputKeyWait =
  /** No key is awaited: not a private claim (a matcher assignment, a plain claim) or abandoned. */
  | { kind: 'none' }
  /** The requester may release the key until `keyDueBy` (unix seconds). */
  | { kind: 'awaited'; keyDueBy: bigint }
  /** The requester released the key whose keccak256 is `inputKeyHash`. */
  | { kind: 'released'; inputKeyHash: Hex }

const MAX_UINT32 = 2n ** 32n - 1n

function claims(reader: CairnReader) {
  return { address: reader.deployment.contracts.proofMarketplace, abi: iPrivateClaimsAbi } as const
}

/** The marketplace's record of a claim's input key, read from its one slot. */
export async function getInputKeyWait(reader: CairnReader, requestId: bigint): Promise<InputKeyWait> {
  const slot = BigInt(
    await reader.public.readContract({ ...claims(reader), functionName: 'inputKeyWait', args: [requestId] }),
  )
  if (slot === 0n) return { kind: 'none' }
  if (slot <= MAX_UINT32) return { kind: 'awaited', keyDueBy: slot }
  return { kind: 'released', inputKeyHash: `0x${slot.toString(16).padStart(64, '0')}` }
}

/** The digest the marketplace takes of inputs: keccak256 of inline bytes, else the posted digest (zero when absent). */
export function inputsDigestOf(inputs: Inputs): Hex {
  return inputs.data !== '0x' ? keccak256(inputs.data) : inputs.digest
}

/** A private request's records and the two digests claimPrivate checks against its inputsDigest. */
export type PrivateClaimParams = RequestRecords & { publicInputsDigest: Hex; privateInputsDigest: Hex }

export type PrivateClaimed = TaskRecords & { prover: Address; keyDueBy: bigint; receipt: TransactionReceipt }

/**
 * Claims an open private request as its listed prover (the client's account) once the market's fallback delay has
 * passed: like `claim`, with the requester's key release window added before the proving time (the task deadline is
 * now + KEY_RELEASE_WINDOW + provingTime), so it must come by matchingExpiry - KEY_RELEASE_WINDOW. Given only an id,
 * the records and digests are read from the request's RequestCreated log. Returns both records, ready for fulfil.
 */
export async function claimPrivateRequest(
  client: CairnClient,
  ref: bigint | PrivateClaimParams,
): Promise<PrivateClaimed> {
  const params = typeof ref === 'bigint' ? await privateClaimParams(client, ref) : ref
  const { receipt, event } = await write(client, {
    ...claims(client),
    functionName: 'claimPrivate',
    args: [params.requestId, params.request, params.publicInputsDigest, params.privateInputsDigest],
    eventName: 'PrivateClaimed',
  })
  const { args } = eventOf(receipt, client.deployment.contracts.proofMarketplace, proofMarketplaceAbi, 'TaskAssigned')
  return {
    requestId: params.requestId,
    request: params.request,
    task: args.task,
    prover: event.args.prover,
    keyDueBy: BigInt(event.args.keyDueBy),
    receipt,
  }
}

/** claimPrivate's arguments for `requestId`, from its RequestCreated log. */
export async function privateClaimParams(reader: CairnReader, requestId: bigint): Promise<PrivateClaimParams> {
  const { request, publicInputs, privateInputs } = await loadRequest(reader, requestId)
  return {
    requestId,
    request,
    publicInputsDigest: inputsDigestOf(publicInputs),
    privateInputsDigest: inputsDigestOf(privateInputs),
  }
}

/** A released input key: the data key wrapped to the claiming prover's enclave, published on chain. */
export type InputKeyRelease = {
  requestId: bigint
  prover: Address
  /** The prover's enclave key the data key was wrapped to. */
  enclave: { signer: Address; eciesPublicKey: Hex }
  inputKey: Hex
  receipt: TransactionReceipt
}

/** The request's key cannot be released now; the message says why and what follows. */
export class InputKeyReleaseError extends Error {
  override readonly name = 'InputKeyReleaseError'
  constructor(
    readonly requestId: bigint,
    readonly reason:
      | 'not-claimed-privately'
      | 'already-released'
      | 'window-closed'
      | 'wrong-data-key'
      | 'no-enclave-key',
    message: string,
  ) {
    super(message)
  }
}

export function isInputKeyReleaseError(error: unknown): error is InputKeyReleaseError {
  return error instanceof InputKeyReleaseError
}

/**
 * The requester's step of a private claim: reads the claim, checks the data key against the envelope's key
 * commitment (when the envelope is inline), fetches the claiming prover's ACTIVE attested enclave key in the market
 * from the TeeRegistry (checking that the registry binds it to that prover, as the matcher does before re-wrapping),
 * wraps the data key to it and sends releaseInputKey. The client's account must be the request's refund address.
 * Throws InputKeyReleaseError when the request awaits no key from it, or the prover has no active enclave key (the
 * claim is then abandoned after the window and the escrow refunded).
 */
export async function releaseInputKeyToClaimant(
  client: CairnClient & { attestation: { contracts: { teeRegistry: Address } } },
  params: { requestId: bigint; dataKey: Hex },
): Promise<InputKeyRelease> {
  const { requestId, dataKey } = params
  const loaded = await loadRequest(client, requestId)
  const wait = await getInputKeyWait(client, requestId)
  const task = loaded.task
  if (task === undefined || wait.kind === 'none') {
    throw new InputKeyReleaseError(
      requestId,
      'not-claimed-privately',
      `request ${requestId} awaits no input key: it is not a private fallback claim (claimPrivate); a matcher assignment carries its key in the matcher's batch`,
    )
  }
  if (wait.kind === 'released') {
    throw new InputKeyReleaseError(
      requestId,
      'already-released',
      `the input key of request ${requestId} is already released`,
    )
  }
  const now = (await client.public.getBlock({ blockNumber: loaded.blockNumber })).timestamp
  if (now > wait.keyDueBy) {
    throw new InputKeyReleaseError(
      requestId,
      'window-closed',
      `the key release window of request ${requestId} closed at ${wait.keyDueBy} (chain time ${now}): the claim can only be abandoned now (abandonUnkeyedClaim), which refunds the escrow`,
    )
  }
  if (
    loaded.privateInputs.data !== '0x' &&
    parseEnvelope(loaded.privateInputs.data).keyCommitment !== keyCommitmentOf(dataKey)
  ) {
    throw new InputKeyReleaseError(
      requestId,
      'wrong-data-key',
      `the data key given for request ${requestId} is not the one its envelope commits to: pass the dataKey encryptPrivateInputs returned for this request`,
    )
  }
  const enclave = await activeProverEnclave(client, loaded.marketId, task.prover)
  if (enclave === undefined) {
    throw new InputKeyReleaseError(
      requestId,
      'no-enclave-key',
      `prover ${task.prover} has no active attested enclave key in market ${loaded.marketId}: the data key is not released to it; the claim will be abandoned after ${wait.keyDueBy} and the escrow refunded`,
    )
  }
  const inputKey = wrapDataKey(dataKey, enclave.eciesPublicKey)
  const receipt = await sendRelease(client, { requestId, request: loaded.request, task }, inputKey)
  return { requestId, prover: task.prover, enclave, inputKey, receipt }
}

async function sendRelease(
  client: CairnClient,
  records: { requestId: bigint; request: Request; task: Task },
  inputKey: Hex,
): Promise<TransactionReceipt> {
  return write(client, {
    ...claims(client),
    functionName: 'releaseInputKey',
    args: [records.requestId, records.request, records.task, inputKey],
  })
}

/**
 * The prover's current attested enclave key in a market, when it is active and the registry binds it to that prover
 * (enclave/matcher/inputs.ts checks the same before re-wrapping a key); undefined otherwise.
 */
export async function activeProverEnclave(
  reader: RegistryReader,
  marketId: bigint,
  prover: Address,
): Promise<{ signer: Address; eciesPublicKey: Hex } | undefined> {
  const registry = { address: reader.attestation.contracts.teeRegistry, abi: teeRegistryAbi } as const
  const [signer, eciesPublicKey] = await reader.public.readContract({
    ...registry,
    functionName: 'proverEnclave',
    args: [marketId, prover],
  })
  if (isAddressEqual(signer, zeroAddress) || eciesPublicKey === '0x') return undefined
  const operator = await reader.public.readContract({
    ...registry,
    functionName: 'enclaveOperator',
    args: [marketId, signer],
  })
  return isAddressEqual(operator, prover) ? { signer, eciesPublicKey } : undefined
}

/**
 * Ends a private claim whose key never came, once its window has closed; anyone may (the prover's runner does). The
 * request is cancelled with its escrow refunded in full; the prover is released without slash.
 */
export async function abandonUnkeyedClaim(
  client: CairnClient,
  records: TaskRecords,
  options: SendOptions = {},
): Promise<TransactionReceipt> {
  return write(
    client,
    {
      ...claims(client),
      functionName: 'abandonUnkeyedClaim',
      args: [records.requestId, records.request, records.task],
    },
    options,
  )
}

/**
 * Settles a private claim whose released key does not open the inputs: the assigned prover only, with its enclave's
 * EIP-712 InvalidInputKey signature over the hash of the released key (signInvalidInputKey in settlement.ts).
 */
export async function rejectInputKey(
  client: CairnClient,
  records: TaskRecords & { signature: Hex },
  options: SendOptions = {},
): Promise<{ price: bigint; refund: bigint; receipt: TransactionReceipt }> {
  const receipt = await write(
    client,
    {
      ...claims(client),
      functionName: 'rejectInputKey',
      args: [records.requestId, records.request, records.task, records.signature],
    },
    options,
  )
  const { args } = eventOf(receipt, client.deployment.contracts.proofMarketplace, proofMarketplaceAbi, 'InputsRejected')
  return { price: args.price, refund: args.refund, receipt }
}

/**
 * What a prover's enclave signs to attest that the input key released for a private claim does not open the
 * request's inputs: bound to keccak256 of that exact key (InputKeyReleased's `inputKey`), so a key the prover's host
 * made up and fed to its enclave gives a signature the marketplace refuses.
 */
export function invalidInputKeyTypedData(
  deployment: Deployment,
  params: { requestId: bigint; inputsDigest: Hex; inputKey: Hex },
): SignedTypedData<'invalidInputKey'> {
  return cairnTypedData(
    'invalidInputKey',
    { chainId: deployment.chainId, address: deployment.contracts.proofMarketplace },
    { requestId: params.requestId, inputsDigest: params.inputsDigest, inputKeyHash: keccak256(params.inputKey) },
  )
}

/** Signs an invalid-input-key attestation with the enclave's key (an active Prover-role key of the task's prover). */
export async function signInvalidInputKey(
  enclave: LocalAccount,
  deployment: Deployment,
  params: { requestId: bigint; inputsDigest: Hex; inputKey: Hex },
): Promise<Hex> {
  return enclave.signTypedData(invalidInputKeyTypedData(deployment, params))
}
