import type { Address, TransactionReceipt } from 'viem'
import type { CairnClient } from './client.js'
import { nativeStakingAbi, proverRegistryAbi } from './generated.js'
import { ensureAllowance } from './tokens.js'
import { address, smallUint, uint } from './validation.js'
import { write } from './write.js'

/** The ProverRegistry, whose calls the client's account (the prover machine) makes. */
const registry = (client: CairnClient) =>
  ({ address: client.deployment.contracts.proverRegistry, abi: proverRegistryAbi }) as const

/** The NativeStaking contract. */
const staking = (client: CairnClient) =>
  ({ address: client.deployment.contracts.nativeStaking, abi: nativeStakingAbi }) as const

/** Registers the client's account as a prover machine with `capacity` compute units. */
export async function register(
  client: CairnClient,
  params: { capacity: number; rewardAddress?: Address },
): Promise<TransactionReceipt> {
  const rewardAddress = address('rewardAddress', params.rewardAddress ?? client.wallet.account.address)
  return write(client, {
    ...registry(client),
    functionName: 'register',
    args: [rewardAddress, smallUint('capacity', params.capacity, 32, 1)],
  })
}

/** Removes the client's registration; it must have no listings (see requestLeave) and no running task. */
export async function deregister(client: CairnClient): Promise<TransactionReceipt> {
  return write(client, { ...registry(client), functionName: 'deregister' })
}

/** Changes the machine's declared compute capacity; running tasks keep theirs. */
export async function setCapacity(client: CairnClient, params: { capacity: number }): Promise<TransactionReceipt> {
  return write(client, {
    ...registry(client),
    functionName: 'setCapacity',
    args: [smallUint('capacity', params.capacity, 32, 1)],
  })
}

/** Changes where the prover's future earnings are credited. */
export async function setRewardAddress(
  client: CairnClient,
  params: { rewardAddress: Address },
): Promise<TransactionReceipt> {
  return write(client, {
    ...registry(client),
    functionName: 'setRewardAddress',
    args: [address('rewardAddress', params.rewardAddress)],
  })
}

export type ListingParams = {
  marketId: bigint
  /** Price per proof in the market's payment token. */
  price: bigint
  /** Seconds per proof; requests with a shorter proving time are not assigned to this listing. */
  provingTime: number
  /** Compute units one task of this market holds (default 1); at most the machine's capacity. */
  computePerRequest?: number
}

function listingArgs(params: ListingParams): readonly [bigint, bigint, number, number] {
  return [
    uint('marketId', params.marketId, 256, 1n),
    uint('price', params.price, 96),
    smallUint('provingTime', params.provingTime, 32, 1),
    smallUint('computePerRequest', params.computePerRequest ?? 1, 32, 1),
  ]
}

/** Lists the client's (registered) account in a market. */
export async function list(client: CairnClient, params: ListingParams): Promise<TransactionReceipt> {
  return write(client, { ...registry(client), functionName: 'list', args: listingArgs(params) })
}

/** Changes the client's offer in a market it is listed in; applies to assignments from now on. */
export async function updateListing(client: CairnClient, params: ListingParams): Promise<TransactionReceipt> {
  return write(client, { ...registry(client), functionName: 'updateListing', args: listingArgs(params) })
}

/**
 * Stops new assignments in a market at once; the listing can be removed with completeLeave once the registry's
 * exit delay has passed. Returns when that is.
 */
export async function requestLeave(
  client: CairnClient,
  params: { marketId: bigint },
): Promise<{ availableAt: number; receipt: TransactionReceipt }> {
  const { receipt, event } = await write(client, {
    ...registry(client),
    functionName: 'requestLeave',
    args: [uint('marketId', params.marketId, 256, 1n)],
    eventName: 'LeaveRequested',
  })
  return { availableAt: event.args.availableAt, receipt }
}

/** Returns a leaving listing to active. */
export async function cancelLeave(client: CairnClient, params: { marketId: bigint }): Promise<TransactionReceipt> {
  return write(client, {
    ...registry(client),
    functionName: 'cancelLeave',
    args: [uint('marketId', params.marketId, 256, 1n)],
  })
}

/** Removes a leaving listing once its exit delay has passed. */
export async function completeLeave(client: CairnClient, params: { marketId: bigint }): Promise<TransactionReceipt> {
  return write(client, {
    ...registry(client),
    functionName: 'completeLeave',
    args: [uint('marketId', params.marketId, 256, 1n)],
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Native stake (src/staking/NativeStaking.sol)

/** Deposits `amount` stake tokens into NativeStaking for `prover` (default: the client's account). */
export async function stake(
  client: CairnClient,
  params: { amount: bigint; prover?: Address },
): Promise<{ receipt: TransactionReceipt; approval: TransactionReceipt | undefined }> {
  const { nativeStaking, stakeToken } = client.deployment.contracts
  const amount = uint('amount', params.amount, 128, 1n)
  const prover = address('prover', params.prover ?? client.wallet.account.address)
  const approval = await ensureAllowance(client, stakeToken, nativeStaking, amount)
  const receipt = await write(client, { ...staking(client), functionName: 'deposit', args: [prover, amount] })
  return { receipt, approval }
}

/**
 * Starts unbonding `amount` of the client's unlocked stake: it stops backing tasks at once and can be withdrawn
 * (withdrawStake) after the unbonding period. A new request restarts the period for everything unbonding.
 */
export async function unstake(
  client: CairnClient,
  params: { amount: bigint },
): Promise<{ unbonding: bigint; availableAt: bigint; receipt: TransactionReceipt }> {
  const { receipt, event } = await write(client, {
    ...staking(client),
    functionName: 'requestWithdrawal',
    args: [uint('amount', params.amount, 256, 1n)],
    eventName: 'WithdrawalRequested',
  })
  return { unbonding: event.args.totalUnbonding, availableAt: event.args.availableAt, receipt }
}

/** Returns everything unbonding to active stake. */
export async function cancelUnstake(client: CairnClient): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
  const { receipt, event } = await write(client, {
    ...staking(client),
    functionName: 'cancelWithdrawal',
    eventName: 'WithdrawalCancelled',
  })
  return { amount: event.args.amount, receipt }
}

/** Sends the client's fully unbonded stake to `to` (default: itself). */
export async function withdrawStake(
  client: CairnClient,
  params: { to?: Address } = {},
): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
  const { receipt, event } = await write(client, {
    ...staking(client),
    functionName: 'withdraw',
    args: [addressOrSelf(client, params.to)],
    eventName: 'Withdrawn',
  })
  return { amount: event.args.amount, receipt }
}

function addressOrSelf(client: CairnClient, to: Address | undefined): Address {
  return address('to', to ?? client.wallet.account.address)
}
