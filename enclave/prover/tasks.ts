/**
 * The marketplace logs the runner follows, read by block ranges (at most `logRange` blocks per eth_getLogs call):
 * TaskAssigned, InputKeyReleased and TaskSlashed for this prover and, for fallback claims, RequestCreated in its
 * markets. A start reads the same logs from the deploy block, so a restarted runner rebuilds its unfinished tasks
 * and its breaker state from the chain alone.
 */
import type { Address, Hex } from 'viem'
import { blockRanges } from '../../ts/block-ranges.js'
import type { CairnReader } from '../../ts/client.js'
import { proofMarketplaceAbi } from '../../ts/generated.js'
import type { RequestCreation, Task, TaskAssignment } from '../../ts/types.js'

export type Located = { blockNumber: bigint; transactionHash: Hex; logIndex: number }

export type AssignedLog = TaskAssignment & Located
export type SlashedLog = { requestId: bigint; penalty: bigint; slasher: Address } & Located
export type CreatedLog = RequestCreation & Located

export type ScannedLogs = {
  assigned: AssignedLog[]
  /** InputKeyReleased keys for this prover, by request. */
  inputKeys: Map<bigint, Hex>
  slashed: SlashedLog[]
  created: CreatedLog[]
}

export type ScanParams = {
  prover: Address
  /** Markets whose RequestCreated logs are read; none skips them (no fallback claims). */
  markets: readonly bigint[]
  fromBlock: bigint
  toBlock: bigint
}

function marketplace(reader: CairnReader) {
  return { address: reader.deployment.contracts.proofMarketplace, abi: proofMarketplaceAbi } as const
}

function located<log extends { blockNumber: bigint; transactionHash: Hex; logIndex: number }>(log: log): Located {
  return { blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.logIndex }
}

/** The logs of one block range (the caller keeps it within the node's getLogs limit). */
export async function scanRange(reader: CairnReader, params: ScanParams): Promise<ScannedLogs> {
  const range = { fromBlock: params.fromBlock, toBlock: params.toBlock, strict: true } as const
  const mine = { prover: params.prover }
  const [assigned, keys, slashed, created] = await Promise.all([
    reader.public.getContractEvents({ ...marketplace(reader), eventName: 'TaskAssigned', args: mine, ...range }),
    reader.public.getContractEvents({ ...marketplace(reader), eventName: 'InputKeyReleased', args: mine, ...range }),
    reader.public.getContractEvents({ ...marketplace(reader), eventName: 'TaskSlashed', args: mine, ...range }),
    params.markets.length === 0
      ? Promise.resolve([])
      : reader.public.getContractEvents({
          ...marketplace(reader),
          eventName: 'RequestCreated',
          args: { marketId: [...params.markets] },
          ...range,
        }),
  ])
  return {
    assigned: assigned.map((log) => ({ ...log.args, ...located(log) })),
    inputKeys: new Map(keys.map((log) => [log.args.requestId, log.args.inputKey])),
    slashed: slashed.map((log) => ({
      requestId: log.args.requestId,
      penalty: log.args.penalty,
      slasher: log.args.slasher,
      ...located(log),
    })),
    created: created.map((log) => ({ ...log.args, ...located(log) })),
  }
}

/** The RequestCreated log of a request, searched backwards from `toBlock` in ranges; undefined if none. */
export async function findCreation(
  reader: CairnReader,
  requestId: bigint,
  params: { fromBlock: bigint; toBlock: bigint; logRange: number },
): Promise<RequestCreation | undefined> {
  for (const range of blockRanges(params.fromBlock, params.toBlock, params.logRange).reverse()) {
    const [log] = await reader.public.getContractEvents({
      ...marketplace(reader),
      eventName: 'RequestCreated',
      args: { requestId },
      ...range,
      strict: true,
    })
    if (log) return log.args
  }
  return undefined
}

/** Chain time a task was assigned: its deadline is the assignment's timestamp plus the request's proving time. */
export function assignedAt(task: Task, provingTime: number): number {
  return task.deadline - provingTime
}
