/** A range of blocks for one eth_getLogs call, both ends included. */
export type BlockRange = { fromBlock: bigint; toBlock: bigint }

/** Consecutive ranges of at most `size` blocks covering [from, to]: a node answers eth_getLogs for bounded ranges. */
export function blockRanges(from: bigint, to: bigint, size: number | bigint): BlockRange[] {
  const step = BigInt(size)
  if (step <= 0n) throw new RangeError(`a block range holds at least one block, not ${size}`)
  const ranges: BlockRange[] = []
  for (let start = from; start <= to; start += step) {
    const end = start + step - 1n
    ranges.push({ fromBlock: start, toBlock: end < to ? end : to })
  }
  return ranges
}
