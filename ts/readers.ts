import type { Address } from 'viem'
import type { CairnReader } from './client.js'
import { nativeStakingAbi, proofMarketplaceAbi, proverRegistryAbi } from './generated.js'
import {
  type Listing,
  type Market,
  type Prover,
  type Request,
  type RequestState,
  requestStates,
  type Task,
} from './types.js'

function marketplace(reader: CairnReader) {
  return { address: reader.deployment.contracts.proofMarketplace, abi: proofMarketplaceAbi } as const
}

export async function getMarket(reader: CairnReader, marketId: bigint): Promise<Market> {
  return reader.public.readContract({ ...marketplace(reader), functionName: 'market', args: [marketId] })
}

export async function getRequest(reader: CairnReader, requestId: bigint): Promise<Request> {
  return reader.public.readContract({ ...marketplace(reader), functionName: 'request', args: [requestId] })
}

export async function getTask(reader: CairnReader, requestId: bigint): Promise<Task> {
  return reader.public.readContract({ ...marketplace(reader), functionName: 'task', args: [requestId] })
}

/** The request's state as of the latest block, including the time-derived Expired and DeadlineMissed. */
export async function getRequestState(reader: CairnReader, requestId: bigint): Promise<RequestState> {
  const state = await reader.public.readContract({
    ...marketplace(reader),
    functionName: 'requestState',
    args: [requestId],
  })
  const name = requestStates[state]
  if (name === undefined) throw new Error(`unknown RequestState ${state}: the SDK is older than the contracts`)
  return name
}

export async function getClaimable(reader: CairnReader, account: Address, token: Address): Promise<bigint> {
  return reader.public.readContract({ ...marketplace(reader), functionName: 'claimable', args: [account, token] })
}

export async function getProver(reader: CairnReader, prover: Address): Promise<Prover> {
  return reader.public.readContract({
    address: reader.deployment.contracts.proverRegistry,
    abi: proverRegistryAbi,
    functionName: 'prover',
    args: [prover],
  })
}

export async function getListing(reader: CairnReader, prover: Address, marketId: bigint): Promise<Listing> {
  return reader.public.readContract({
    address: reader.deployment.contracts.proverRegistry,
    abi: proverRegistryAbi,
    functionName: 'listing',
    args: [prover, marketId],
  })
}

export async function getStake(reader: CairnReader, prover: Address): Promise<{ staked: bigint; locked: bigint }> {
  const [staked, locked] = await reader.public.readContract({
    address: reader.deployment.contracts.nativeStaking,
    abi: nativeStakingAbi,
    functionName: 'stakeOf',
    args: [prover],
  })
  return { staked, locked }
}

/** The latest block's timestamp: request schedules are judged by chain time, which devnets can move. */
export async function chainTime(reader: CairnReader): Promise<bigint> {
  const block = await reader.public.getBlock({ blockTag: 'latest' })
  return block.timestamp
}
