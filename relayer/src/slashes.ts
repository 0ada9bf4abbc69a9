import type { Address, Chain, Hex, PublicClient, Transport, TypedDataDefinition } from 'viem'
import { hashTypedData } from 'viem'
import {
  cairnNetworkMiddlewareAbi,
  iVaultAbi,
  iVetoSlasherAbi,
  slashInboxAbi,
  stakeMirrorAbi,
} from '../../ts/generated.js'

export type SlashOrder = {
  orderId: Hex
  taskId: bigint
  prover: Address
  vault: Address
  amount: bigint
  captureTimestamp: number
  blockNumber: bigint
}

/** One item of SlashInbox.deliver. */
export type InboxSlash = Pick<SlashOrder, 'taskId' | 'prover' | 'vault' | 'amount' | 'captureTimestamp'>

const batchTypes = {
  SlashBatch: [
    { name: 'sourceChainId', type: 'uint256' },
    { name: 'sourceMirror', type: 'address' },
    { name: 'slashes', type: 'Slash[]' },
  ],
  Slash: [
    { name: 'taskId', type: 'uint256' },
    { name: 'prover', type: 'address' },
    { name: 'vault', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'captureTimestamp', type: 'uint48' },
  ],
} as const

/** What relayers sign for a batch, as SlashInbox.batchDigest hashes it. */
export function slashBatchTypedData(
  slashes: readonly InboxSlash[],
  inbox: { chainId: number; address: Address; sourceChainId: number; sourceMirror: Address },
): TypedDataDefinition<typeof batchTypes, 'SlashBatch'> {
  return {
    domain: { name: 'Cairn SlashInbox', version: '1', chainId: inbox.chainId, verifyingContract: inbox.address },
    types: batchTypes,
    primaryType: 'SlashBatch',
    message: {
      sourceChainId: BigInt(inbox.sourceChainId),
      sourceMirror: inbox.sourceMirror,
      slashes: slashes.map(({ taskId, prover, vault, amount, captureTimestamp }) => ({
        taskId,
        prover,
        vault,
        amount,
        captureTimestamp,
      })),
    },
  }
}

export const slashBatchDigest = (...args: Parameters<typeof slashBatchTypedData>): Hex =>
  hashTypedData(slashBatchTypedData(...args))

const LOG_RANGE = 5_000n

/** SlashQueued orders of the mirror in [fromBlock, toBlock], in chain order. */
export async function queuedSlashes(
  client: PublicClient<Transport, Chain>,
  params: { mirror: Address; fromBlock: bigint; toBlock: bigint },
): Promise<SlashOrder[]> {
  const orders: SlashOrder[] = []
  for (let from = params.fromBlock; from <= params.toBlock; from += LOG_RANGE) {
    const to = from + LOG_RANGE - 1n < params.toBlock ? from + LOG_RANGE - 1n : params.toBlock
    const logs = await client.getContractEvents({
      address: params.mirror,
      abi: stakeMirrorAbi,
      eventName: 'SlashQueued',
      fromBlock: from,
      toBlock: to,
      strict: true,
    })
    for (const log of logs) orders.push({ ...log.args, blockNumber: log.blockNumber })
  }
  return orders
}

/**
 * Order ids the inbox tried and skipped with a revert reason (already seen, outside the vault's window, unbound
 * prover): those are final and not retried. A skip without reason is an inner call run out of gas, which anyone can
 * cause by submitting a signed batch with too little gas: those stay pending.
 */
export async function skippedOrders(
  client: PublicClient<Transport, Chain>,
  params: { inbox: Address; fromBlock: bigint; toBlock: bigint },
): Promise<Set<Hex>> {
  const skipped = new Set<Hex>()
  for (let from = params.fromBlock; from <= params.toBlock; from += LOG_RANGE) {
    const to = from + LOG_RANGE - 1n < params.toBlock ? from + LOG_RANGE - 1n : params.toBlock
    const logs = await client.getContractEvents({
      address: params.inbox,
      abi: slashInboxAbi,
      eventName: 'SlashSkipped',
      fromBlock: from,
      toBlock: to,
      strict: true,
    })
    for (const log of logs) if (log.args.reason !== '0x') skipped.add(log.args.orderId)
  }
  return skipped
}

/** The middleware's state of each order: 0 None, 1 Requested, 2 Executed, 3 Vetoed. */
export async function orderStates(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; orderIds: readonly Hex[] },
): Promise<number[]> {
  return Promise.all(
    params.orderIds.map(async (orderId) => {
      const [, , state] = await client.readContract({
        address: params.middleware,
        abi: cairnNetworkMiddlewareAbi,
        functionName: 'slashes',
        args: [orderId],
      })
      return state
    }),
  )
}

// ------------------------------------------------------------------------------------------------ outcomes

/** One item of StakeMirror.reportSlashOutcomes: a queued slash's final outcome on Ethereum. */
export type SlashOutcome = {
  orderId: Hex
  /** The vault the middleware settled it on (the mirror checks it is the one it queued). */
  vault: Address
  vetoed: boolean
  /** Collateral the vault lost (0 when vetoed). */
  slashed: bigint
  /** Timestamp of the Ethereum block that settled it. */
  settledAt: number
}

/** A settlement seen on Ethereum, with the block it is in. */
export type Settlement = SlashOutcome & { blockNumber: bigint }

const outcomeTypes = {
  SlashOutcomes: [{ name: 'outcomes', type: 'SlashOutcome[]' }],
  SlashOutcome: [
    { name: 'orderId', type: 'bytes32' },
    { name: 'vault', type: 'address' },
    { name: 'vetoed', type: 'bool' },
    { name: 'slashed', type: 'uint256' },
    { name: 'settledAt', type: 'uint48' },
  ],
} as const

/** What relayers sign for a batch of outcomes, as StakeMirror.slashOutcomesDigest hashes it. */
export function slashOutcomesTypedData(
  outcomes: readonly SlashOutcome[],
  mirror: { chainId: number; address: Address },
): TypedDataDefinition<typeof outcomeTypes, 'SlashOutcomes'> {
  return {
    domain: { name: 'Cairn StakeMirror', version: '1', chainId: mirror.chainId, verifyingContract: mirror.address },
    types: outcomeTypes,
    primaryType: 'SlashOutcomes',
    message: {
      outcomes: outcomes.map(({ orderId, vault, vetoed, slashed, settledAt }) => ({
        orderId,
        vault,
        vetoed,
        slashed,
        settledAt,
      })),
    },
  }
}

export const slashOutcomesDigest = (...args: Parameters<typeof slashOutcomesTypedData>): Hex =>
  hashTypedData(slashOutcomesTypedData(...args))

/**
 * Orders the middleware settled in [fromBlock, toBlock]: executed (SlashExecuted, with the amount the vault lost) or
 * vetoed (SlashVetoed), each with its block's timestamp.
 */
export async function settledOrders(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; fromBlock: bigint; toBlock: bigint },
): Promise<Settlement[]> {
  const found: Settlement[] = []
  const timestamps = new Map<bigint, number>()
  const timestampOf = async (blockNumber: bigint) => {
    let timestamp = timestamps.get(blockNumber)
    if (timestamp === undefined) {
      timestamp = Number((await client.getBlock({ blockNumber })).timestamp)
      timestamps.set(blockNumber, timestamp)
    }
    return timestamp
  }
  for (let from = params.fromBlock; from <= params.toBlock; from += LOG_RANGE) {
    const to = from + LOG_RANGE - 1n < params.toBlock ? from + LOG_RANGE - 1n : params.toBlock
    const logs = await client.getContractEvents({
      address: params.middleware,
      abi: cairnNetworkMiddlewareAbi,
      fromBlock: from,
      toBlock: to,
      strict: true,
    })
    for (const log of logs) {
      if (log.eventName !== 'SlashExecuted' && log.eventName !== 'SlashVetoed') continue
      const vetoed = log.eventName === 'SlashVetoed'
      found.push({
        orderId: log.args.orderId,
        vault: log.args.vault,
        vetoed,
        slashed: log.eventName === 'SlashExecuted' ? log.args.amount : 0n,
        settledAt: await timestampOf(log.blockNumber),
        blockNumber: log.blockNumber,
      })
    }
  }
  return found
}

/** The mirror's status of each order: 0 None, 1 Queued (outcome not reported), 2 Executed, 3 Vetoed. */
export async function mirrorStatuses(
  client: PublicClient<Transport, Chain>,
  params: { mirror: Address; orderIds: readonly Hex[] },
): Promise<number[]> {
  return Promise.all(
    params.orderIds.map(async (orderId) => {
      const [, , , status] = await client.readContract({
        address: params.mirror,
        abi: stakeMirrorAbi,
        functionName: 'slashes',
        args: [orderId],
      })
      return status
    }),
  )
}

/** A requested veto slash as its vault's VetoSlasher holds it: the veto deadline and whether it is completed. */
export async function vetoRequest(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; orderId: Hex },
): Promise<{ vault: Address; slashIndex: bigint; vetoDeadline: number; completed: boolean }> {
  const [vault, slashIndex] = await client.readContract({
    address: params.middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'slashes',
    args: [params.orderId],
  })
  const slasher = await client.readContract({ address: vault, abi: iVaultAbi, functionName: 'slasher' })
  const [, , , , vetoDeadline, completed] = await client.readContract({
    address: slasher,
    abi: iVetoSlasherAbi,
    functionName: 'slashRequests',
    args: [slashIndex],
  })
  return { vault, slashIndex, vetoDeadline, completed }
}
