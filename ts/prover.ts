import type { Address, TransactionReceipt } from 'viem'
import { type CairnClient, sent, simulated } from './client.js'
import { nativeStakingAbi, proverRegistryAbi } from './generated.js'
import { ensureAllowance } from './tokens.js'

/** Registers the client's account as a prover machine with `capacity` compute units. */
export async function register(
  client: CairnClient,
  params: { capacity: number; rewardAddress?: Address },
): Promise<TransactionReceipt> {
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address: client.deployment.contracts.proverRegistry,
      abi: proverRegistryAbi,
      functionName: 'register',
      args: [params.rewardAddress ?? client.wallet.account.address, params.capacity],
    }),
  )
  return sent(client, () => client.wallet.writeContract(request))
}

export type ListingParams = {
  marketId: bigint
  /** Price per proof in the market's payment token. */
  price: bigint
  /** Seconds per proof; requests with a shorter proving time are not assigned to this listing. */
  provingTime: number
  computePerRequest?: number
}

/** Lists the client's (registered) account in a market. */
export async function list(client: CairnClient, params: ListingParams): Promise<TransactionReceipt> {
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address: client.deployment.contracts.proverRegistry,
      abi: proverRegistryAbi,
      functionName: 'list',
      args: [params.marketId, params.price, params.provingTime, params.computePerRequest ?? 1],
    }),
  )
  return sent(client, () => client.wallet.writeContract(request))
}

/** Deposits `amount` stake tokens into NativeStaking for `prover` (default: the client's account). */
export async function stake(
  client: CairnClient,
  params: { amount: bigint; prover?: Address },
): Promise<{ receipt: TransactionReceipt; approval: TransactionReceipt | undefined }> {
  const { nativeStaking, stakeToken } = client.deployment.contracts
  const approval = await ensureAllowance(client, stakeToken, nativeStaking, params.amount)
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address: nativeStaking,
      abi: nativeStakingAbi,
      functionName: 'deposit',
      args: [params.prover ?? client.wallet.account.address, params.amount],
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  return { receipt, approval }
}
