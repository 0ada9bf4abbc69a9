/**
 * The explorer's indexer: follows the marketplace's logs in bounded block ranges into the in-memory index. Each sync
 * fetches every log of its range first and only then applies them, so a failed RPC call leaves the index untouched and
 * the same range is fetched again. The last block indexed must still be canonical (head's parent, or a fresh read of
 * its height); when it is not (a reorg, or a devnet reverted to a snapshot) the index is rebuilt from the deployment
 * block.
 */
import { type Address, type Chain, type Log, type PublicClient, ResponseBodyTooLargeError, type Transport } from 'viem'
import { type BlockRange, blockRanges } from '../../ts/block-ranges.js'
import { type HeadBlock, headOf, stillCanonical } from '../../ts/chain-head.js'
import type { Deployment } from '../../ts/deployment.js'
import { nativeStakingAbi } from '../../ts/generated.js'
import { tokenInfo } from '../../ts/tokens.js'
import { applyEvents, type Changes, noChanges, proverOf } from './apply.js'
import { decodeLogs, type WatchedContracts, watchedAddresses } from './decode.js'
import { readMarketFacts } from './market-facts.js'
import { type ExplorerIndex, emptyIndex } from './model.js'
import { crossedByTime } from './stats.js'

export type IndexerParams = {
  client: PublicClient<Transport, Chain>
  deployment: Deployment
  /** The TeeRegistry whose keys to index (the attestation deployment's), if any. */
  teeRegistry?: Address
  /** The StakeMirror whose epochs, leaves and slashes to index (the restaking deployment's), if any. */
  stakeMirror?: Address
  /** Blocks per eth_getLogs call. */
  logRange: bigint
  /** Blocks per sync (bounds memory and the time between two renders' views while catching up). */
  maxSyncBlocks?: bigint
}

export type SyncResult = { changes: Changes; rebuilt: boolean; from: bigint; to: bigint }

export type Indexer = {
  readonly index: ExplorerIndex
  /** Indexes from the last block indexed towards `head` (at most maxSyncBlocks). */
  sync: (head: HeadBlock) => Promise<SyncResult>
}

export function createIndexer(params: IndexerParams): Indexer {
  const { client, deployment } = params
  const maxSyncBlocks = params.maxSyncBlocks ?? params.logRange * 10n
  const contracts: WatchedContracts = {
    marketplace: deployment.contracts.proofMarketplace,
    registry: deployment.contracts.proverRegistry,
    nativeStaking: deployment.contracts.nativeStaking,
    teeRegistry: params.teeRegistry,
    stakeMirror: params.stakeMirror,
  }
  let index = emptyIndex()

  async function sync(head: HeadBlock): Promise<SyncResult> {
    const rebuilt = index.block !== undefined && !(await stillCanonical(client, index.block, head))
    const current = rebuilt ? emptyIndex() : index
    const from = current.block === undefined ? deployment.deployBlock : current.block.number + 1n
    if (head.number < from) {
      index = current
      return { changes: noChanges(), rebuilt, from, to: head.number }
    }
    const to = head.number - from + 1n > maxSyncBlocks ? from + maxSyncBlocks - 1n : head.number
    const target = to === head.number ? head : headOf(await client.getBlock({ blockNumber: to }))
    const logs = await fetchLogs(from, to)
    const times = await blockTimes(logs)
    // Fetched in full: from here on nothing awaits until the index is consistent at `to`.
    const changes = applyEvents(current, decodeLogs(logs, contracts), (blockNumber) => {
      const time = times.get(blockNumber)
      if (time === undefined) throw new Error(`no time for block ${blockNumber}`)
      return time
    })
    // Chain time moved on: requests it expired or tasks it made overdue change state without a log of their own.
    if (current.block !== undefined) {
      crossedByTime(current, Number(current.block.timestamp), Number(target.timestamp), changes)
    }
    current.block = target
    index = current
    // Facts that need a read: a failure leaves them unknown and the next sync tries again.
    await Promise.allSettled([...enrichMarkets(current), ...refreshStakes(current, changes, to), stakeToken(current)])
    return { changes, rebuilt, from, to }
  }

  async function fetchLogs(from: bigint, to: bigint): Promise<Log[]> {
    const address = watchedAddresses(contracts)
    const logs: Log[] = []
    for (const range of blockRanges(from, to, params.logRange)) logs.push(...(await logsSplitting(address, range)))
    return logs
  }

  /**
   * One range's logs; a range whose answer is too large (viem's 10 MiB body limit, a provider's cap on results) is
   * fetched as two halves instead, down to single blocks. A busy stretch of blocks costs more calls, never a failure.
   */
  async function logsSplitting(address: Address[], range: BlockRange): Promise<Log[]> {
    try {
      return await client.getLogs({ address, ...range })
    } catch (error) {
      if (range.fromBlock >= range.toBlock || !tooLarge(error)) throw error
      const middle = (range.fromBlock + range.toBlock) / 2n
      const lower = await logsSplitting(address, { fromBlock: range.fromBlock, toBlock: middle })
      const upper = await logsSplitting(address, { fromBlock: middle + 1n, toBlock: range.toBlock })
      return [...lower, ...upper]
    }
  }

  /** The time of every block a log is in, from the log itself where the node gives it, else read once per block. */
  async function blockTimes(logs: readonly Log[]): Promise<Map<bigint, number>> {
    const times = new Map<bigint, number>()
    const missing = new Set<bigint>()
    for (const log of logs) {
      if (log.blockNumber === null) continue
      if (log.blockTimestamp !== undefined && log.blockTimestamp !== null) {
        times.set(log.blockNumber, Number(log.blockTimestamp))
      } else missing.add(log.blockNumber)
    }
    for (const blockNumber of missing) {
      if (times.has(blockNumber)) continue
      const block = await client.getBlock({ blockNumber })
      times.set(blockNumber, Number(block.timestamp))
    }
    return times
  }

  function enrichMarkets(current: ExplorerIndex): Promise<void>[] {
    return [...current.markets.values()]
      .filter((market) => market.verifierKind === undefined || market.token === undefined)
      .map((market) => readMarketFacts(client, deployment, market))
  }

  async function stakeToken(current: ExplorerIndex): Promise<void> {
    if (current.stakeToken !== undefined) return
    const { symbol, decimals } = await tokenInfo({ public: client }, deployment.contracts.stakeToken)
    current.stakeToken = { symbol, decimals }
  }

  /** Provers whose stake moved and has not been read since (a failed read is retried at the next sync). */
  const stakeStale = new Set<Address>()

  function refreshStakes(current: ExplorerIndex, changes: Changes, blockNumber: bigint): Promise<void>[] {
    for (const address of changes.stakeMoved) stakeStale.add(address)
    return [...stakeStale].map(async (address) => {
      const [staked, locked] = await client.readContract({
        address: deployment.contracts.nativeStaking,
        abi: nativeStakingAbi,
        functionName: 'stakeOf',
        args: [address],
        blockNumber,
      })
      const prover = proverOf(current, address, noChanges())
      if (prover.nativeStake === undefined || prover.nativeStake.blockNumber <= blockNumber) {
        prover.nativeStake = { staked, locked, blockNumber }
      }
      stakeStale.delete(address)
    })
  }

  return {
    get index() {
      return index
    },
    sync,
  }
}

/** Whether a getLogs failure means the answer was too large (to retry in smaller ranges), not a failing RPC. */
export function tooLarge(error: unknown): boolean {
  if (error instanceof ResponseBodyTooLargeError) return true
  const text =
    error instanceof Error ? `${error.message} ${(error as { details?: string }).details ?? ''}` : String(error)
  return /response size|too large|too many|more than \d+ (results|logs)|limit exceeded|exceeds? (the )?(max|limit)/i.test(
    text,
  )
}
