/**
 * Follows the marketplace's logs: each round reads the head, checks that the blocks scanned so far are still
 * canonical (if not, a reorg or a devnet reverted to a snapshot, `onReorg` forgets what came from them and the scan
 * starts again from the first block, as a restart would), then hands the logs of every new block range up to
 * `confirmations` behind the head to `onLogs`, in order. The cursor passes a range only once its logs were handled,
 * so a round that fails part-way reads the rest again next round.
 */
import type { Address } from 'viem'
import { type BlockRange, blockRanges } from '../../ts/block-ranges.js'
import { type HeadBlock, headOf, stillCanonical } from '../../ts/chain-head.js'
import type { CairnReader } from '../../ts/client.js'
import type { ChainClock } from './clock.js'
import type { Metrics } from './metrics.js'
import { type ScannedLogs, scanRange } from './tasks.js'

/** The chain as the scan reads it. */
export type ScanChain = {
  head(): Promise<HeadBlock>
  block(number: bigint): Promise<HeadBlock>
  /** Whether `scanned` is still on the chain whose head is `head` (ts/chain-head.ts). */
  stillCanonical(scanned: HeadBlock, head: HeadBlock): Promise<boolean>
  logs(range: BlockRange): Promise<ScannedLogs>
}

/** The scan's chain over RPC: this prover's logs, and RequestCreated in the `watched` markets (fallback claims). */
export function scanChainOf(reader: CairnReader, params: { prover: Address; watched(): bigint[] }): ScanChain {
  return {
    head: async () => headOf(await reader.public.getBlock({ blockTag: 'latest' })),
    block: async (blockNumber) => headOf(await reader.public.getBlock({ blockNumber })),
    stillCanonical: (scanned, head) => stillCanonical(reader.public, scanned, head),
    logs: (range) => scanRange(reader, { prover: params.prover, markets: params.watched(), ...range }),
  }
}

export type ScannerParams = {
  chain: ScanChain
  /** Where a scan from the start begins. */
  fromBlock: bigint
  confirmations: number
  logRange: number
  clock: Pick<ChainClock, 'observe'>
  onLogs(logs: ScannedLogs): Promise<void>
  /** The blocks scanned up to `lost` are no longer canonical: forget what came from them. */
  onReorg(lost: HeadBlock): Promise<void>
  metrics: Pick<Metrics, 'lastBlock'>
}

export type Scanner = {
  /** One round, up to the confirmed head. */
  scan(): Promise<void>
  /** The next block to scan. */
  cursor(): bigint
}

export function createScanner(params: ScannerParams): Scanner {
  const { chain } = params
  let cursor = params.fromBlock
  /** The last block scanned (cursor - 1) as it was then: checked against each new head to notice reorgs. */
  let scanned: HeadBlock | undefined

  async function scan(): Promise<void> {
    const head = await chain.head()
    params.clock.observe(head.timestamp)
    if (scanned !== undefined && !(await chain.stillCanonical(scanned, head))) {
      await params.onReorg(scanned)
      cursor = params.fromBlock
      scanned = undefined
    }
    const target = head.number - BigInt(params.confirmations)
    // Read before the logs: if the block changes under the scan, the next round sees it and scans again.
    const last = target < cursor ? scanned : target === head.number ? head : await chain.block(target)
    for (const range of blockRanges(cursor, target, params.logRange)) {
      await params.onLogs(await chain.logs(range))
      cursor = range.toBlock + 1n
      params.metrics.lastBlock.set(Number(range.toBlock))
    }
    scanned = last
  }

  return { scan, cursor: () => cursor }
}
