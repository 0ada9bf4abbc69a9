import type { Address, Hash, TransactionReceipt } from 'viem'
import type { CairnClient, CairnReader } from './client.js'
import { proofMarketplaceAbi } from './generated.js'
import { getMarket } from './readers.js'
import type { Market, MarketParams } from './types.js'
import { address, bps, InvalidParameterError, smallUint, uint } from './validation.js'
import { write } from './write.js'

/** ProofMarketplace's bounds on market parameters (its MAX_COMPENSATION_BPS and MAX_FALLBACK_DELAY constants). */
export const MAX_COMPENSATION_BPS = 9_500
export const MAX_FALLBACK_DELAY = 86_400

/**
 * Checks market parameters as createMarket will (field sizes, penalty ≤ stake per task, the compensation and
 * fallback-delay bounds) and returns them normalised. What only the chain knows (the verifier and token are
 * contracts, the stake source is approved) is left to the simulation, which reports it decoded.
 */
export function validateMarketParams(params: MarketParams): MarketParams {
  const stakePerTask = uint('stakePerTask', params.stakePerTask, 96)
  const slashPenalty = uint('slashPenalty', params.slashPenalty, 96)
  if (slashPenalty > stakePerTask) {
    throw new InvalidParameterError(
      'slashPenalty',
      `the penalty (${slashPenalty}) cannot exceed the stake locked per task (${stakePerTask})`,
    )
  }
  if (typeof params.metadataURI !== 'string') throw new InvalidParameterError('metadataURI', 'expected a string')
  return {
    verifier: address('verifier', params.verifier),
    paymentToken: address('paymentToken', params.paymentToken),
    stakeSource: address('stakeSource', params.stakeSource),
    stakePerTask,
    slashPenalty,
    requesterCompensationBps: bps('requesterCompensationBps', params.requesterCompensationBps, MAX_COMPENSATION_BPS),
    fallbackDelay: fallbackDelay(params.fallbackDelay),
    metadataURI: params.metadataURI,
  }
}

function fallbackDelay(value: number): number {
  const delay = smallUint('fallbackDelay', value, 32)
  if (delay > MAX_FALLBACK_DELAY) {
    throw new InvalidParameterError('fallbackDelay', `at most ${MAX_FALLBACK_DELAY} seconds (1 day), got ${delay}`)
  }
  return delay
}

/** Creates a market, paying the current creation fee; the client's account becomes its creator. */
export async function createMarket(
  client: CairnClient,
  params: MarketParams,
): Promise<{ marketId: bigint; fee: bigint; receipt: TransactionReceipt }> {
  const checked = validateMarketParams(params)
  const address = client.deployment.contracts.proofMarketplace
  const fee = await client.public.readContract({ address, abi: proofMarketplaceAbi, functionName: 'marketCreationFee' })
  const { receipt, event } = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'createMarket',
    args: [checked],
    value: fee,
    eventName: 'MarketCreated',
  })
  return { marketId: event.args.marketId, fee, receipt }
}

/** Replaces a market's metadata URI (emitted, not stored); its creator only. */
export async function setMarketMetadata(
  client: CairnClient,
  params: { marketId: bigint; metadataURI: string },
): Promise<TransactionReceipt> {
  return write(client, {
    address: client.deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    functionName: 'setMarketMetadata',
    args: [params.marketId, params.metadataURI],
  })
}

/** A market as its logs describe it: the parameters it was created with and its current metadata URI. */
export type MarketListing = {
  marketId: bigint
  creator: Address
  params: MarketParams
  /** The latest MarketMetadataUpdated URI, else the one it was created with. */
  metadataURI: string
  createdInBlock: bigint
  transactionHash: Hash
}

export type LogRange = { fromBlock?: bigint; toBlock?: bigint }

/** Every market created in the range (default: since the deployment), oldest first, with its current metadata URI. */
export async function listMarkets(reader: CairnReader, range: LogRange = {}): Promise<MarketListing[]> {
  return marketsFromLogs(reader, range)
}

/** A market's stored state with what its logs add (creation parameters, metadata URI, creation block). */
export type MarketDetails = MarketListing & { market: Market }

/** One market, stored state and logs together; undefined when no market has this id. */
export async function getMarketDetails(
  reader: CairnReader,
  marketId: bigint,
  range: LogRange = {},
): Promise<MarketDetails | undefined> {
  const [listing] = await marketsFromLogs(reader, range, marketId)
  if (listing === undefined) return undefined
  return { ...listing, market: await getMarket(reader, marketId) }
}

async function marketsFromLogs(reader: CairnReader, range: LogRange, marketId?: bigint): Promise<MarketListing[]> {
  const contract = { address: reader.deployment.contracts.proofMarketplace, abi: proofMarketplaceAbi } as const
  const blocks = {
    fromBlock: range.fromBlock ?? reader.deployment.deployBlock,
    toBlock: range.toBlock ?? (await reader.public.getBlockNumber({ cacheTime: 0 })),
    strict: true,
  } as const
  const args = marketId === undefined ? {} : { args: { marketId } }
  const [created, updated] = await Promise.all([
    reader.public.getContractEvents({ ...contract, eventName: 'MarketCreated', ...args, ...blocks }),
    reader.public.getContractEvents({ ...contract, eventName: 'MarketMetadataUpdated', ...args, ...blocks }),
  ])
  // Logs come in chain order, so the last update of each market wins.
  const uris = new Map(updated.map(({ args }) => [args.marketId, args.metadataURI]))
  return created.map(({ args, blockNumber, transactionHash }) => ({
    marketId: args.marketId,
    creator: args.creator,
    params: args.params,
    metadataURI: uris.get(args.marketId) ?? args.params.metadataURI,
    createdInBlock: blockNumber,
    transactionHash,
  }))
}
