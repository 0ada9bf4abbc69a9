import { type Address, type Hex, type LocalAccount, parseEventLogs, type TransactionReceipt, zeroHash } from 'viem'
import { type CairnClient, type CairnReader, resent, simulated } from './client.js'
import type { Deployment } from './deployment.js'
import { type CairnContractError, decodeSkipReason } from './errors.js'
import { eventOf, eventsOf } from './events.js'
import { iInputRejectionsAbi, proofMarketplaceAbi, stakeMirrorAbi } from './generated.js'
import { loadRequest, taskRecords } from './readers.js'
import type { SendOptions } from './sending.js'
import { cairnTypedData, type SignedTypedData } from './typed-data.js'
import {
  emptyTask,
  type Fulfilment,
  inputsDigest,
  type Request,
  type Task,
  type TaskRecords,
  type TaskRef,
} from './types.js'
import { uint } from './validation.js'
import { write } from './write.js'

export type FulfilParams = {
  requestId: bigint
  /** The request's record as emitted in RequestCreated; loaded from logs when it or `task` is absent. */
  request?: Request
  /** The task's record as emitted in TaskAssigned (assign and claim return it); loaded from logs when absent. */
  task?: Task
  publicInputs: Hex
  /**
   * Digest of the private-input ciphertext posted with the request: zero when it had none. When the records are
   * loaded from logs it defaults to the digest of the posted private inputs.
   */
  privateInputsDigest?: Hex
  proof: Hex
}

/** The fulfilment the contract takes, loading whichever records `params` lacks. */
export async function fulfilmentOf(reader: CairnReader, params: FulfilParams): Promise<Fulfilment> {
  const { requestId, publicInputs, proof } = params
  if (params.request !== undefined && params.task !== undefined) {
    const { request, task, privateInputsDigest = zeroHash } = params
    return { requestId, request, task, publicInputs, privateInputsDigest, proof }
  }
  const loaded = await loadRequest(reader, requestId)
  return {
    requestId,
    request: params.request ?? loaded.request,
    // Unassigned: the all-zero task lets the contract say why (RequestNotAssigned).
    task: params.task ?? loaded.task ?? emptyTask,
    publicInputs,
    privateInputsDigest: params.privateInputsDigest ?? inputsDigest(loaded.privateInputs),
    proof,
  }
}

/**
 * Submits the proof of a request assigned to the client's account. The transaction is sent again (same nonce) if
 * the node drops it; pass the task's deadline in `options` to bound the wait by it.
 */
export async function fulfil(
  client: CairnClient,
  params: FulfilParams,
  options: SendOptions = {},
): Promise<{ requestId: bigint; price: bigint; refund: bigint; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const fulfilment = await fulfilmentOf(client, params)
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'fulfil',
      args: [fulfilment],
    }),
  )
  const receipt = await resent(
    client,
    (slot) =>
      client.wallet.writeContract({
        address,
        abi: proofMarketplaceAbi,
        functionName: 'fulfil',
        args: [fulfilment],
        ...slot,
      }),
    options,
  )
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'RequestFulfilled')
  return { requestId: args.requestId, price: args.price, refund: args.refund, receipt }
}

export type FulfilmentOutcome = {
  fulfilled: { requestId: bigint; price: bigint; refund: bigint }[]
  skipped: { requestId: bigint; reason: CairnContractError }[]
  receipt: TransactionReceipt
}

/**
 * Submits several proofs at once; failing items are skipped on chain and reported decoded. The gas limit is the
 * node's estimate: the marketplace reverts the whole call when a verification runs short of gas instead of
 * skipping the item, so an estimate that lands the transaction lands every valid item.
 */
export async function fulfilBatch(
  client: CairnClient,
  items: readonly FulfilParams[],
  options: SendOptions = {},
): Promise<FulfilmentOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const fulfilments = await Promise.all(items.map((item) => fulfilmentOf(client, item)))
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'fulfilBatch',
      args: [fulfilments],
    }),
  )
  const receipt = await resent(
    client,
    (slot) =>
      client.wallet.writeContract({
        address,
        abi: proofMarketplaceAbi,
        functionName: 'fulfilBatch',
        args: [fulfilments],
        ...slot,
      }),
    options,
  )
  return {
    fulfilled: eventsOf(receipt, address, proofMarketplaceAbi, 'RequestFulfilled').map(({ args }) => ({
      requestId: args.requestId,
      price: args.price,
      refund: args.refund,
    })),
    skipped: eventsOf(receipt, address, proofMarketplaceAbi, 'FulfilmentSkipped').map(({ args }) => ({
      requestId: args.requestId,
      reason: decodeSkipReason(args.reason),
    })),
    receipt,
  }
}

export type SlashOutcome = {
  requestId: bigint
  prover: Address
  /** Paid out on this chain (zero for restaked stake: the penalty is taken from the vault on Ethereum). */
  penalty: bigint
  compensation: bigint
  slasherReward: bigint
  /**
   * For a market backed by restaked stake (a StakeMirror): the slash it queued for Ethereum, taken from `vault` as of
   * the capture the task's stake was read at. Its outcome comes back to the mirror (getQueuedSlash).
   */
  queued?: { orderId: Hex; vault: Address; amount: bigint; captureTimestamp: number }
  receipt: TransactionReceipt
}

/**
 * Slashes the prover of a task past its deadline; the client's account earns the slasher reward. Given only an id,
 * the records are loaded from logs.
 */
export async function slash(client: CairnClient, ref: TaskRef): Promise<SlashOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const { requestId, request: record, task } = await taskRecords(client, ref)
  const { receipt, event } = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'slash',
    args: [requestId, record, task],
    eventName: 'TaskSlashed',
  })
  const { args } = event
  const [queued] = parseEventLogs({ abi: stakeMirrorAbi, logs: receipt.logs, eventName: 'SlashQueued', strict: true })
    .map((log) => log.args)
    .filter((queuedSlash) => queuedSlash.taskId === requestId)
  return {
    requestId,
    prover: args.prover,
    penalty: args.penalty,
    compensation: args.compensation,
    slasherReward: args.slasherReward,
    ...(queued === undefined
      ? {}
      : {
          queued: {
            orderId: queued.orderId,
            vault: queued.vault,
            amount: queued.amount,
            captureTimestamp: queued.captureTimestamp,
          },
        }),
    receipt,
  }
}

/**
 * Withdraws `amount` of the client's marketplace balance of `token` (zero address = native) to `to` (default: itself);
 * without `amount`, the whole balance. More than the balance, or an empty balance, reverts with InsufficientBalance.
 */
export async function withdraw(
  client: CairnClient,
  token: Address,
  options: { to?: Address; amount?: bigint } = {},
): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
  const to = options.to ?? client.wallet.account.address
  // On chain 0 means the whole balance: an explicit amount must be at least 1 so that 0n is never read as "all".
  const amount = options.amount === undefined ? 0n : uint('amount', options.amount, 256, 1n)
  const address = client.deployment.contracts.proofMarketplace
  const { receipt, event } = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'withdraw',
    args: [token, to, amount],
    eventName: 'Withdrawn',
  })
  return { amount: event.args.amount, receipt }
}

// ---------------------------------------------------------------------------------------------------------------
// Invalid inputs (IInputRejections.rejectInputs, served at the marketplace)

/**
 * What a prover's enclave signs to attest that a request's inputs cannot be proven. `inputsDigest` is the request
 * record's `inputsDigest` (keccak256 of the public-inputs digest ‖ private-inputs digest), as RequestCreated emits it.
 */
export function invalidInputsTypedData(
  deployment: Deployment,
  params: { requestId: bigint; inputsDigest: Hex },
): SignedTypedData<'invalidInputs'> {
  return cairnTypedData(
    'invalidInputs',
    { chainId: deployment.chainId, address: deployment.contracts.proofMarketplace },
    { requestId: params.requestId, inputsDigest: params.inputsDigest },
  )
}

/** Signs an invalid-inputs attestation with the enclave's key (an active Prover-role key of the task's prover). */
export async function signInvalidInputs(
  enclave: LocalAccount,
  deployment: Deployment,
  params: { requestId: bigint; inputsDigest: Hex },
): Promise<Hex> {
  return enclave.signTypedData(invalidInputsTypedData(deployment, params))
}

export type InputsRejectedOutcome = { requestId: bigint; price: bigint; refund: bigint; receipt: TransactionReceipt }

/**
 * Settles an assigned request whose inputs the prover's enclave found unprovable: the assigned prover (the
 * client's account) only, before the task deadline, with the enclave's signature (signInvalidInputs). The prover is
 * paid its price for the check, the rest is refunded, nobody is slashed. Given only an id, the records are loaded
 * from logs.
 */
export async function rejectInputs(
  client: CairnClient,
  params: (TaskRecords | { requestId: bigint }) & { signature: Hex },
  options: SendOptions = {},
): Promise<InputsRejectedOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const ref: TaskRef = 'task' in params && 'request' in params ? params : params.requestId
  const { requestId, request: record, task } = await taskRecords(client, ref)
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: iInputRejectionsAbi,
      functionName: 'rejectInputs',
      args: [requestId, record, task, params.signature],
    }),
  )
  const args = [requestId, record, task, params.signature] as const
  const receipt = await resent(
    client,
    (slot) =>
      client.wallet.writeContract({ address, abi: iInputRejectionsAbi, functionName: 'rejectInputs', args, ...slot }),
    options,
  )
  const { args: rejected } = eventOf(receipt, address, proofMarketplaceAbi, 'InputsRejected')
  return { requestId, price: rejected.price, refund: rejected.refund, receipt }
}
