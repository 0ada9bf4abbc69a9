import { describe, expect, it } from 'vitest'
import { blockRanges } from '../ts/block-ranges.js'

describe('blockRanges', () => {
  it('covers [from, to] with consecutive ranges of at most `size` blocks, the last one cut at `to`', () => {
    expect(blockRanges(10n, 24n, 5)).toEqual([
      { fromBlock: 10n, toBlock: 14n },
      { fromBlock: 15n, toBlock: 19n },
      { fromBlock: 20n, toBlock: 24n },
    ])
    expect(blockRanges(10n, 22n, 5n).at(-1)).toEqual({ fromBlock: 20n, toBlock: 22n })
  })

  it('is one range of one block for from = to, and none for from > to', () => {
    expect(blockRanges(7n, 7n, 2_000)).toEqual([{ fromBlock: 7n, toBlock: 7n }])
    expect(blockRanges(8n, 7n, 2_000)).toEqual([])
  })

  it('refuses a size below one block, which would never advance', () => {
    expect(() => blockRanges(0n, 10n, 0)).toThrow('a block range holds at least one block, not 0')
  })
})
