import {
  type Address,
  BaseError,
  encodeFunctionData,
  type Hash,
  type Hex,
  keccak256,
  RpcRequestError,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
} from 'viem'
import { batchInputKeys, type SignedAssignmentBatch, signAssignments } from '../../ts/assignment.js'
import { type CairnClient, simulated } from '../../ts/client.js'
import { type CairnContractError, decodeCairnError, decodeSkipReason } from '../../ts/errors.js'
import { eventsOf } from '../../ts/events.js'
import { proofMarketplaceAbi } from '../../ts/generated.js'
import type { MatchedRequest } from '../../ts/types.js'
import type { SubmitterPorts } from './submitter.js'

/*
 * Sending a signed batch without waiting for it: the service polls for the receipt between blocks, so it keeps
 * indexing while the transaction is pending and never has two of its batches in flight.
 */

export type SentBatch = {
  /** Known before sending: the hash of the signed transaction. */
  hash: Hash
  /** The node did not confirm it took the transaction (a transport failure): it may still be mined. */
  uncertain: unknown
}

/**
 * Simulates `assign` (a refusal throws a CairnContractError and nothing is sent), then signs the transaction
 * locally and sends it raw. Its hash is fixed before it leaves, so a send that fails in transport is not taken for
 * a batch that was never sent: the caller tracks it like any pending batch until it is mined or its signature
 * expires, and never sends the same items twice.
 */
export async function sendBatch(client: CairnClient, batch: SignedAssignmentBatch): Promise<SentBatch> {
  const matches: MatchedRequest[] = batch.assignments.map(({ requestId, prover, price, provingTime, request }) => {
    if (request === undefined) throw new Error(`batch item ${requestId} has no request record`)
    return { requestId, prover, price, provingTime, request }
  })
  const args = [matches, batchInputKeys(batch.assignments), batch.validUntil, batch.signature] as const
  const address = client.deployment.contracts.proofMarketplace
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'assign',
      args,
    }),
  )
  return sendCalldata(client, encodeFunctionData({ abi: proofMarketplaceAbi, functionName: 'assign', args }))
}

/**
 * Signs a call to the marketplace locally (with `gas` when given, else the node's estimate) and sends it raw; its
 * hash is known before it leaves (see sendBatch).
 */
export async function sendCalldata(client: CairnClient, data: Hex, gas?: bigint): Promise<SentBatch> {
  const to = client.deployment.contracts.proofMarketplace
  const prepared = await simulated(() =>
    client.wallet.prepareTransactionRequest(gas === undefined ? { to, data } : { to, data, gas }),
  )
  const serializedTransaction = await client.wallet.signTransaction(prepared)
  const hash = keccak256(serializedTransaction)
  try {
    await client.wallet.sendRawTransaction({ serializedTransaction })
  } catch (error) {
    const decoded = decodeCairnError(error)
    if (decoded !== undefined || isRejection(error)) throw decoded ?? error
    return { hash, uncertain: error }
  }
  return { hash, uncertain: undefined }
}

/** The node answered and refused the transaction (nonce, funds, underpriced…): it will not be mined. */
function isRejection(error: unknown): boolean {
  return error instanceof BaseError && error.walk((cause) => cause instanceof RpcRequestError) !== null
}

export type BatchOutcome = {
  assigned: { requestId: bigint; prover: Address }[]
  skipped: { requestId: bigint; prover: Address; reason: CairnContractError }[]
}

/** What a mined assign did, item by item: each emitted exactly one TaskAssigned or AssignmentSkipped. */
export function outcomeOf(receipt: TransactionReceipt, marketplace: Address): BatchOutcome {
  return {
    assigned: eventsOf(receipt, marketplace, proofMarketplaceAbi, 'TaskAssigned').map(({ args }) => ({
      requestId: args.requestId,
      prover: args.prover,
    })),
    skipped: eventsOf(receipt, marketplace, proofMarketplaceAbi, 'AssignmentSkipped').map(({ args }) => ({
      requestId: args.requestId,
      prover: args.prover,
      reason: decodeSkipReason(args.reason),
    })),
  }
}

/** The receipt of a sent transaction; undefined while it is not mined. */
export async function receiptOf(client: CairnClient, hash: Hash): Promise<TransactionReceipt | undefined> {
  try {
    return await client.public.getTransactionReceipt({ hash })
  } catch (error) {
    if (error instanceof TransactionReceiptNotFoundError) return undefined
    throw error
  }
}

/** The batch submitter's chain (submitter.ts): sent and read by the `submitter` account, signed by `signer`. */
export function batchPorts(
  submitter: CairnClient,
  signer: CairnClient,
): Pick<SubmitterPorts, 'receipt' | 'sign' | 'send' | 'outcome'> {
  const marketplace = submitter.deployment.contracts.proofMarketplace
  return {
    receipt: (hash) => receiptOf(submitter, hash),
    sign: (assignments, validUntil) => signAssignments(signer, { assignments, validUntil }),
    send: (batch) => sendBatch(submitter, batch),
    outcome: (receipt) => outcomeOf(receipt, marketplace),
  }
}
