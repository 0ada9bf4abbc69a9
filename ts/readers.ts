import { type Address, zeroAddress } from 'viem'
import { type CairnReader, simulated } from './client.js'
import { CairnContractError } from './errors.js'
import { devTokenAbi, nativeStakingAbi, proofMarketplaceAbi, proverRegistryAbi, requestLensAbi } from './generated.js'
import {
  emptyTask,
  enumName,
  type Listing,
  type ListingState,
  listingStates,
  type Market,
  type Prover,
  type RequestCreation,
  type RequestRecords,
  type RequestRef,
  type RequestState,
  type RequestStatus,
  requestStates,
  requestStatuses,
  type Task,
  type TaskRecords,
  type TaskRef,
} from './types.js'

function lens(reader: CairnReader) {
  return { address: reader.deployment.contracts.requestLens, abi: requestLensAbi } as const
}

function marketplace(reader: CairnReader) {
  return { address: reader.deployment.contracts.proofMarketplace, abi: proofMarketplaceAbi } as const
}

export async function getMarket(reader: CairnReader, marketId: bigint): Promise<Market> {
  return reader.public.readContract({ ...marketplace(reader), functionName: 'market', args: [marketId] })
}

/** A request as an indexer sees it: what RequestCreated emitted, its task once assigned, and where it stands. */
export type LoadedRequest = RequestCreation & {
  /** The record TaskAssigned emitted; absent while the request was never assigned. */
  task?: Task
  /** Whether the task came from a matcher batch (false: a fallback claim); absent while unassigned. */
  byMatcher?: boolean
  /** The stored status. */
  status: RequestStatus
  /** The state as of `blockNumber`, including the time-derived Expired and DeadlineMissed. */
  state: RequestState
  /** The block the logs and views were read at, so all of the above is one consistent snapshot. */
  blockNumber: bigint
}

/** No RequestCreated log for this id: an unknown request, or `fromBlock` is after its creation. */
export class RequestNotFoundError extends Error {
  override readonly name = 'RequestNotFoundError'
  constructor(
    readonly requestId: bigint,
    readonly fromBlock: bigint,
    readonly toBlock: bigint,
  ) {
    super(`no RequestCreated log for request ${requestId} in blocks ${fromBlock}-${toBlock}`)
  }
}

export type LoadRequestOptions = {
  /** First block to search for logs (default: the deployment block). */
  fromBlock?: bigint
  /** Block to read at (default: the latest). */
  blockNumber?: bigint
}

/**
 * Reconstructs a request's records from the marketplace's logs (RequestCreated and TaskAssigned, filtered by the
 * indexed request id) and reads its status and state at the same block. The contract checks the records against
 * its commitment while computing the state, so a result is never built on forged or mismatched logs: that reverts
 * with RecordMismatch instead.
 */
export async function loadRequest(
  reader: CairnReader,
  requestId: bigint,
  options: LoadRequestOptions = {},
): Promise<LoadedRequest> {
  const fromBlock = options.fromBlock ?? reader.deployment.deployBlock
  if (options.blockNumber !== undefined) return loadRequestAt(reader, requestId, fromBlock, options.blockNumber)
  // Logs and state are separate reads: a reorg between them pairs one chain's log with the other's commitment, which
  // the contract refuses with RecordMismatch. Read again at the new head; a mismatch that persists is a lying node.
  for (let attempt = 1; ; attempt++) {
    // cacheTime 0: viem caches the block number for a polling interval, which would hide a just-mined request.
    const blockNumber = await reader.public.getBlockNumber({ cacheTime: 0 })
    try {
      return await loadRequestAt(reader, requestId, fromBlock, blockNumber)
    } catch (error) {
      if (!(error instanceof CairnContractError && error.name === 'RecordMismatch') || attempt >= RECORD_READS) {
        throw error
      }
    }
  }
}

/** How many times loadRequest reads a request whose logs and state disagree before it reports RecordMismatch. */
const RECORD_READS = 3

async function loadRequestAt(
  reader: CairnReader,
  requestId: bigint,
  fromBlock: bigint,
  blockNumber: bigint,
): Promise<LoadedRequest> {
  const range = { fromBlock, toBlock: blockNumber, strict: true } as const
  const [created, assigned] = await Promise.all([
    reader.public.getContractEvents({
      ...marketplace(reader),
      eventName: 'RequestCreated',
      args: { requestId },
      ...range,
    }),
    reader.public.getContractEvents({
      ...marketplace(reader),
      eventName: 'TaskAssigned',
      args: { requestId },
      ...range,
    }),
  ])
  const creation = created[0]?.args
  if (creation === undefined) throw new RequestNotFoundError(requestId, fromBlock, blockNumber)
  // A request is assigned at most once: a finished request is never reopened.
  const assignment = assigned[0]?.args
  const [status, state] = await Promise.all([
    reader.public.readContract({
      ...marketplace(reader),
      functionName: 'requestStatus',
      args: [requestId],
      blockNumber,
    }),
    simulated(() =>
      reader.public.readContract({
        ...lens(reader),
        functionName: 'requestState',
        args: [requestId, creation.request, assignment?.task ?? emptyTask],
        blockNumber,
      }),
    ),
  ])
  return {
    ...creation,
    ...(assignment === undefined ? {} : { task: assignment.task, byMatcher: assignment.byMatcher }),
    status: enumName(requestStatuses, status, 'RequestStatus'),
    state: enumName(requestStates, state, 'RequestState'),
    blockNumber,
  }
}

/** The records of `ref`, loaded from logs when only its id is given. */
export async function requestRecords(reader: CairnReader, ref: RequestRef): Promise<RequestRecords> {
  if (typeof ref !== 'bigint') return ref
  const { requestId, request } = await loadRequest(reader, ref)
  return { requestId, request }
}

/**
 * The records of `ref`, loaded from logs when only its id is given. An unassigned request gets the all-zero task,
 * so the contract itself reports why it cannot be fulfilled or slashed.
 */
export async function taskRecords(reader: CairnReader, ref: TaskRef): Promise<TaskRecords> {
  if (typeof ref !== 'bigint') return ref
  const { requestId, request, task = emptyTask } = await loadRequest(reader, ref)
  return { requestId, request, task }
}

/** The request's stored status (no records needed). */
export async function getRequestStatus(reader: CairnReader, requestId: bigint): Promise<RequestStatus> {
  const status = await reader.public.readContract({
    ...marketplace(reader),
    functionName: 'requestStatus',
    args: [requestId],
  })
  return enumName(requestStatuses, status, 'RequestStatus')
}

/**
 * The request's state as of the latest block, including the time-derived Expired and DeadlineMissed. Given only
 * an id, its records are loaded from logs; given records, a forged or stale one fails with RecordMismatch.
 */
export async function getRequestState(
  reader: CairnReader,
  ref: bigint | (RequestRecords & { task?: Task }),
): Promise<RequestState> {
  if (typeof ref === 'bigint') return (await loadRequest(reader, ref)).state
  const state = await simulated(() =>
    reader.public.readContract({
      ...lens(reader),
      functionName: 'requestState',
      args: [ref.requestId, ref.request, ref.task ?? emptyTask],
    }),
  )
  return enumName(requestStates, state, 'RequestState')
}

/** The marketplace balance of `token` that `account` may withdraw or spend on requests. */
export async function getBalance(reader: CairnReader, account: Address, token: Address): Promise<bigint> {
  return reader.public.readContract({ ...marketplace(reader), functionName: 'balanceOf', args: [account, token] })
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

/** NativeStaking's view of a prover: staked (including locked), locked, free, and what is unbonding until when. */
export type NativeStake = {
  staked: bigint
  locked: bigint
  /** staked − locked: what can back new tasks or start unbonding. */
  available: bigint
  unbonding: bigint
  /** When the unbonding amount can be withdrawn (0 when nothing is unbonding). */
  unbondingAvailableAt: bigint
}

export async function getNativeStake(reader: CairnReader, prover: Address): Promise<NativeStake> {
  const staking = { address: reader.deployment.contracts.nativeStaking, abi: nativeStakingAbi } as const
  const [[staked, locked], [unbonding, availableAt]] = await Promise.all([
    reader.public.readContract({ ...staking, functionName: 'stakeOf', args: [prover] }),
    reader.public.readContract({ ...staking, functionName: 'unbondingOf', args: [prover] }),
  ])
  return { staked, locked, available: staked - locked, unbonding, unbondingAvailableAt: availableAt }
}

/** A listing with the prover and market it belongs to. */
export type ProverListing = Omit<Listing, 'state'> & { prover: Address; marketId: bigint; state: ListingState }

/**
 * Every market `prover` is listed in now (active or leaving), found from its Listed logs and checked against the
 * registry's current state (a completed leave removes the listing).
 */
export async function getProverListings(
  reader: CairnReader,
  prover: Address,
  options: { fromBlock?: bigint } = {},
): Promise<ProverListing[]> {
  const logs = await listedLogs(reader, { prover }, options.fromBlock)
  const markets = [...new Set(logs.map(({ args }) => args.marketId))]
  return currentListings(
    reader,
    markets.map((marketId) => ({ prover, marketId })),
  )
}

/** Every prover listed in `marketId` now (active or leaving), from the registry's Listed logs. */
export async function getMarketProvers(
  reader: CairnReader,
  marketId: bigint,
  options: { fromBlock?: bigint } = {},
): Promise<ProverListing[]> {
  const logs = await listedLogs(reader, { marketId }, options.fromBlock)
  const provers = [...new Set(logs.map(({ args }) => args.prover))]
  return currentListings(
    reader,
    provers.map((prover) => ({ prover, marketId })),
  )
}

async function listedLogs(reader: CairnReader, args: { prover?: Address; marketId?: bigint }, fromBlock?: bigint) {
  return reader.public.getContractEvents({
    address: reader.deployment.contracts.proverRegistry,
    abi: proverRegistryAbi,
    eventName: 'Listed',
    args,
    fromBlock: fromBlock ?? reader.deployment.deployBlock,
    toBlock: await reader.public.getBlockNumber({ cacheTime: 0 }),
    strict: true,
  })
}

async function currentListings(
  reader: CairnReader,
  pairs: readonly { prover: Address; marketId: bigint }[],
): Promise<ProverListing[]> {
  const listings = await Promise.all(
    pairs.map(async ({ prover, marketId }) => {
      const listing = await getListing(reader, prover, marketId)
      return { ...listing, prover, marketId, state: enumName(listingStates, listing.state, 'ListingState') }
    }),
  )
  return listings.filter(({ state }) => state !== 'None')
}

/** An account's marketplace balance and wallet balance of one token. */
export type TokenBalance = { token: Address; marketplace: bigint; wallet: bigint }

/**
 * `account`'s balances of `tokens` (default: the deployment's payment and stake tokens and the native currency,
 * the zero address), both in the marketplace (withdrawable, spendable on requests) and in its wallet.
 */
export async function getBalances(
  reader: CairnReader,
  account: Address,
  tokens: readonly Address[] = [
    reader.deployment.contracts.paymentToken,
    reader.deployment.contracts.stakeToken,
    zeroAddress,
  ],
): Promise<TokenBalance[]> {
  return Promise.all(
    tokens.map(async (token) => ({
      token,
      marketplace: await getBalance(reader, account, token),
      wallet:
        token === zeroAddress
          ? await reader.public.getBalance({ address: account })
          : await reader.public.readContract({
              address: token,
              abi: devTokenAbi,
              functionName: 'balanceOf',
              args: [account],
            }),
    })),
  )
}
