import type { Address, Hex, TransactionReceipt } from 'viem'
import type { CairnClient, CairnReader } from './client.js'
import type { Deployment } from './deployment.js'
import { type CairnContractError, decodeSkipReason } from './errors.js'
import { eventsOf } from './events.js'
import { proofMarketplaceAbi } from './generated.js'
import { getListing, requestRecords } from './readers.js'
import { cairnTypedData, type SignedTypedData } from './typed-data.js'
import {
  type Assignment,
  type MatchedRequest,
  marketIdOf,
  type Request,
  type RequestRef,
  type TaskRecords,
} from './types.js'
import { write } from './write.js'

/**
 * One matcher decision: the (requestId, prover, price, provingTime, inputKey) it signs, optionally with the
 * request's record, which travels with the batch unsigned (the contract checks it against storage). Without it,
 * submitAssignments loads it by id. `price` and `provingTime` are the prover's listing the matcher matched on: the
 * marketplace assigns at exactly those terms, or skips the item (ListingChanged) when the prover changed its listing
 * since. `inputKey` is the private-input data key re-wrapped to the prover's enclave (absent for public requests).
 */
export type BatchAssignment = Assignment & { request?: Request }
/** A matcher decision whose listing terms are still to be read: see withListedTerms. */
export type UnpricedAssignment = Omit<BatchAssignment, 'price' | 'provingTime'>
export type AssignmentBatch = { assignments: readonly BatchAssignment[]; validUntil: bigint }
export type SignedAssignmentBatch = AssignmentBatch & { signature: Hex }

/**
 * What a matcher signs for a batch (AssignmentBatch, src/types/Assignment.sol): the marketplace recovers the matcher
 * from exactly this digest.
 */
export function assignmentTypedData(
  deployment: Deployment,
  batch: AssignmentBatch,
): SignedTypedData<'assignmentBatch'> {
  return cairnTypedData(
    'assignmentBatch',
    { chainId: deployment.chainId, address: deployment.contracts.proofMarketplace },
    {
      assignments: batch.assignments.map(({ requestId, prover, price, provingTime, inputKey }) => ({
        requestId,
        prover,
        price,
        provingTime,
        inputKey: inputKey ?? '0x',
      })),
      validUntil: batch.validUntil,
    },
  )
}

/**
 * Completes decisions with each prover's listing in the request's market as it stands now, read from the registry:
 * for signers without a book of listings (scripts, tests, benches). The matcher service signs the listing it matched
 * on instead, from its own book.
 */
export async function withListedTerms(
  reader: CairnReader,
  assignments: readonly UnpricedAssignment[],
): Promise<BatchAssignment[]> {
  return Promise.all(
    assignments.map(async (assignment) => {
      const { price, provingTime } = await getListing(reader, assignment.prover, marketIdOf(assignment.requestId))
      return { ...assignment, price, provingTime }
    }),
  )
}

/** Signs an assignment batch with the client's account, which must be an authorised matcher key. */
export async function signAssignments(client: CairnClient, batch: AssignmentBatch): Promise<SignedAssignmentBatch> {
  const signature = await client.wallet.signTypedData({
    account: client.wallet.account,
    ...assignmentTypedData(client.deployment, batch),
  })
  return { ...batch, signature }
}

/** A task created by assign or claim: both records, ready for fulfil or slash. */
export type AssignedTask = TaskRecords & { prover: Address; byMatcher: boolean }

export type AssignmentOutcome = {
  assigned: AssignedTask[]
  skipped: { requestId: bigint; prover: Address; reason: CairnContractError }[]
  receipt: TransactionReceipt
}

/**
 * Submits a signed batch; anyone may. Items that no longer hold are skipped on chain and reported decoded. The gas
 * limit is the node's estimate: the marketplace reverts the whole call when an item runs short of gas, so no
 * estimate can turn an assignable item into a skipped one.
 */
export async function submitAssignments(client: CairnClient, batch: SignedAssignmentBatch): Promise<AssignmentOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const matches: MatchedRequest[] = await Promise.all(
    batch.assignments.map(async ({ requestId, prover, price, provingTime, request }) => ({
      requestId,
      prover,
      price,
      provingTime,
      request: request ?? (await requestRecords(client, requestId)).request,
    })),
  )
  const inputKeys = batchInputKeys(batch.assignments)
  const receipt = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'assign',
    args: [matches, inputKeys, batch.validUntil, batch.signature],
  })
  // Every item emits exactly one TaskAssigned or AssignmentSkipped, in batch order: pairing them by position gives
  // each task the record it was committed with, even when a batch names a request twice.
  const events = [
    ...eventsOf(receipt, address, proofMarketplaceAbi, 'TaskAssigned'),
    ...eventsOf(receipt, address, proofMarketplaceAbi, 'AssignmentSkipped'),
  ].sort((a, b) => a.logIndex - b.logIndex)
  if (events.length !== matches.length) {
    throw new Error(`${events.length} assignment events for ${matches.length} items in ${receipt.transactionHash}`)
  }
  const outcome: AssignmentOutcome = { assigned: [], skipped: [], receipt }
  for (const [i, event] of events.entries()) {
    const match = matches[i]
    if (match === undefined) break
    if (event.eventName === 'TaskAssigned') {
      const { requestId, prover, task, byMatcher } = event.args
      outcome.assigned.push({ requestId, prover, request: match.request, task, byMatcher })
    } else {
      const { requestId, prover, reason } = event.args
      outcome.skipped.push({ requestId, prover, reason: decodeSkipReason(reason) })
    }
  }
  return outcome
}

/** The batch's input keys as assign takes them: none at all when no item carries one, else one per item. */
export function batchInputKeys(assignments: readonly Assignment[]): Hex[] {
  if (assignments.every(({ inputKey }) => inputKey === undefined || inputKey === '0x')) return []
  return assignments.map(({ inputKey }) => inputKey ?? '0x')
}

/**
 * Takes an open request as its prover (msg.sender) once the market's fallback delay has passed without a match.
 * Given only an id, the request's record is loaded from logs. Returns both records, ready for fulfil.
 */
export async function claim(
  client: CairnClient,
  ref: RequestRef,
): Promise<AssignedTask & { receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const { requestId, request: record } = await requestRecords(client, ref)
  const { receipt, event } = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'claim',
    args: [requestId, record],
    eventName: 'TaskAssigned',
  })
  const { prover, task, byMatcher } = event.args
  return { requestId, prover, request: record, task, byMatcher, receipt }
}
