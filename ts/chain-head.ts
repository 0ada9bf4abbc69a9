import type { Chain, Hex, PublicClient, Transport } from 'viem'

/**
 * A mined block as a log follower remembers it: enough to tell, at the next head, whether what it indexed up to
 * that block is still the canonical chain (a reorg, or a devnet reverted to a snapshot, replaces it).
 */
export type HeadBlock = { number: bigint; hash: Hex; parentHash: Hex; timestamp: bigint }

export function headOf(block: {
  number: bigint | null
  hash: Hex | null
  parentHash: Hex
  timestamp: bigint
}): HeadBlock {
  if (block.number === null || block.hash === null) throw new Error('pending block where a mined one was expected')
  return { number: block.number, hash: block.hash, parentHash: block.parentHash, timestamp: block.timestamp }
}

/**
 * Whether `indexed` is still on the chain whose head is `head`: the same block, head's parent, or (further back) a
 * fresh read of that height. A head below `indexed` means the chain was rolled back past it.
 */
export async function stillCanonical(
  client: PublicClient<Transport, Chain>,
  indexed: HeadBlock,
  head: HeadBlock,
): Promise<boolean> {
  if (head.number <= indexed.number) return head.number === indexed.number && head.hash === indexed.hash
  if (head.number === indexed.number + 1n) return head.parentHash === indexed.hash
  const block = await client.getBlock({ blockNumber: indexed.number })
  return block.hash === indexed.hash
}
