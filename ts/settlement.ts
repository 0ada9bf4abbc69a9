import { type Address, type Hex, type TransactionReceipt, zeroHash } from 'viem'
import { batchGasLimit, type CairnClient, sent, simulated } from './client.js'
import { type CairnContractError, decodeSkipReason } from './errors.js'
import { eventOf, eventsOf } from './events.js'
import { proofMarketplaceAbi } from './generated.js'
import type { Fulfilment } from './types.js'

export type FulfilParams = {
  requestId: bigint
  publicInputs: Hex
  /** Digest of the private-input ciphertext posted with the request; zero when it had none. */
  privateInputsDigest?: Hex
  proof: Hex
}

/** Submits the proof of a request assigned to the client's account. */
export async function fulfil(
  client: CairnClient,
  params: FulfilParams,
): Promise<{ price: bigint; refund: bigint; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'fulfil',
      args: [params.requestId, params.publicInputs, params.privateInputsDigest ?? zeroHash, params.proof],
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'RequestFulfilled')
  return { price: args.price, refund: args.refund, receipt }
}

export type FulfilmentOutcome = {
  fulfilled: { requestId: bigint; price: bigint; refund: bigint }[]
  skipped: { requestId: bigint; reason: CairnContractError }[]
  receipt: TransactionReceipt
}

/** Submits several proofs at once; failing items are skipped on chain and reported decoded. */
export async function fulfilBatch(client: CairnClient, items: readonly FulfilParams[]): Promise<FulfilmentOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const fulfilments: Fulfilment[] = items.map((item) => ({
    requestId: item.requestId,
    publicInputs: item.publicInputs,
    privateInputsDigest: item.privateInputsDigest ?? zeroHash,
    proof: item.proof,
  }))
  const simulate = (gas?: bigint) =>
    simulated(() =>
      client.public.simulateContract({
        account: client.wallet.account,
        address,
        abi: proofMarketplaceAbi,
        functionName: 'fulfilBatch',
        args: [fulfilments],
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
  prover: Address
  penalty: bigint
  compensation: bigint
  slasherReward: bigint
  receipt: TransactionReceipt
}

/** Slashes the prover of a task past its deadline; the client's account earns the slasher reward. */
export async function slash(client: CairnClient, requestId: bigint): Promise<SlashOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'slash',
      args: [requestId],
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'TaskSlashed')
  return {
    prover: args.prover,
    penalty: args.penalty,
    compensation: args.compensation,
    slasherReward: args.slasherReward,
    receipt,
  }
}

/** Withdraws the client's whole claimable balance of `token` (zero address = native) to `to` (default: itself). */
export async function withdraw(
  client: CairnClient,
  token: Address,
  to: Address = client.wallet.account.address,
): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'withdraw',
      args: [token, to],
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'Withdrawn')
  return { amount: args.amount, receipt }
}
