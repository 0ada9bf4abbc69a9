import type { Address, Hex, TransactionReceipt, TypedDataDefinition } from 'viem'
import { batchGasLimit, type CairnClient, sent, simulated } from './client.js'
import type { Deployment } from './deployment.js'
import { type CairnContractError, decodeSkipReason } from './errors.js'
import { eventOf, eventsOf } from './events.js'
import { proofMarketplaceAbi } from './generated.js'
import type { Assignment } from './types.js'

// Mirrors src/libraries/AssignmentHashing.sol and ProofMarketplace._domainNameAndVersion; the e2e tests compare the
// resulting digest with the contract's assignmentDigest, so drift shows up there.
const assignmentTypes = {
  AssignmentBatch: [
    { name: 'assignments', type: 'Assignment[]' },
    { name: 'validUntil', type: 'uint64' },
  ],
  Assignment: [
    { name: 'requestId', type: 'uint256' },
    { name: 'prover', type: 'address' },
  ],
} as const

export type AssignmentBatch = { assignments: readonly Assignment[]; validUntil: bigint }
export type SignedAssignmentBatch = AssignmentBatch & { signature: Hex }

export function assignmentTypedData(
  deployment: Deployment,
  batch: AssignmentBatch,
): TypedDataDefinition<typeof assignmentTypes, 'AssignmentBatch'> {
  return {
    domain: {
      name: 'Cairn ProofMarketplace',
      version: '1',
      chainId: deployment.chainId,
      verifyingContract: deployment.contracts.proofMarketplace,
    },
    types: assignmentTypes,
    primaryType: 'AssignmentBatch',
    message: { assignments: batch.assignments, validUntil: batch.validUntil },
  }
}

/** Signs an assignment batch with the client's account, which must be an authorised matcher key. */
export async function signAssignments(client: CairnClient, batch: AssignmentBatch): Promise<SignedAssignmentBatch> {
  const signature = await client.wallet.signTypedData({
    account: client.wallet.account,
    ...assignmentTypedData(client.deployment, batch),
  })
  return { ...batch, signature }
}

export type AssignmentOutcome = {
  assigned: { requestId: bigint; prover: Address; price: bigint; taskDeadline: number }[]
  skipped: { requestId: bigint; prover: Address; reason: CairnContractError }[]
  receipt: TransactionReceipt
}

/** Submits a signed batch; anyone may. Items that no longer hold are skipped on chain and reported decoded. */
export async function submitAssignments(client: CairnClient, batch: SignedAssignmentBatch): Promise<AssignmentOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const simulate = (gas?: bigint) =>
    simulated(() =>
      client.public.simulateContract({
        account: client.wallet.account,
        address,
        abi: proofMarketplaceAbi,
        functionName: 'assign',
        args: [batch.assignments, batch.validUntil, batch.signature],
        gas,
      }),
    )
  const { request, result } = await simulate()
  const gas = await batchGasLimit({
    estimate: () => simulated(() => client.public.estimateContractGas(request)),
    processedAt: async (limit) => (await simulate(limit)).result,
    expected: result,
  })
  const receipt = await sent(client, () => client.wallet.writeContract({ ...request, gas }))
  return {
    assigned: eventsOf(receipt, address, proofMarketplaceAbi, 'TaskAssigned').map(({ args }) => ({
      requestId: args.requestId,
      prover: args.prover,
      price: args.price,
      taskDeadline: args.taskDeadline,
    })),
    skipped: eventsOf(receipt, address, proofMarketplaceAbi, 'AssignmentSkipped').map(({ args }) => ({
      requestId: args.requestId,
      prover: args.prover,
      reason: decodeSkipReason(args.reason),
    })),
    receipt,
  }
}

/** Takes an open request as its prover (msg.sender) once the market's fallback delay has passed without a match. */
export async function claim(
  client: CairnClient,
  requestId: bigint,
): Promise<{ price: bigint; taskDeadline: number; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'claim',
      args: [requestId],
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'TaskAssigned')
  return { price: args.price, taskDeadline: args.taskDeadline, receipt }
}
