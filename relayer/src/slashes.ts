import type { Address, Chain, Hex, PublicClient, Transport } from 'viem'
import { hashTypedData } from 'viem'
import { cairnNetworkMiddlewareAbi, iVaultAbi, iVetoSlasherAbi, stakeMirrorAbi } from '../../ts/generated.js'
import { cairnTypedData, type SignedTypedData } from '../../ts/typed-data.js'

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

/** What relayers sign for a batch, as SlashInbox.batchDigest hashes it. */
export function slashBatchTypedData(
  slashes: readonly InboxSlash[],
  inbox: { chainId: number; address: Address; sourceChainId: number; sourceMirror: Address },
): SignedTypedData<'slashBatch'> {
  return cairnTypedData('slashBatch', inbox, {
    sourceChainId: BigInt(inbox.sourceChainId),
    sourceMirror: inbox.sourceMirror,
    slashes: slashes.map(({ taskId, prover, vault, amount, captureTimestamp }) => ({
      taskId,
      prover,
      vault,
      amount,
      captureTimestamp,
    })),
  })
}

export const slashBatchDigest = (...args: Parameters<typeof slashBatchTypedData>): Hex =>
  hashTypedData(slashBatchTypedData(...args))

/** Blocks per eth_getLogs call. */
export const LOG_RANGE = 5_000n

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

/** The middleware's state of each order: 0 None, 1 Requested, 2 Executed, 3 Vetoed, 4 Failed. */
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
