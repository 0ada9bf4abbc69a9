/**
 * Chain time, as the runner estimates it between polls: task deadlines and key expiries are judged by block
 * timestamps, and a devnet's clock can run ahead of the machine's (evm_increaseTime). The estimate is the local
 * clock plus the largest lead a block's timestamp has shown over it; a chain behind the local clock (an old head)
 * reads as the local clock, which errs on the side of giving up early.
 */
export type ChainClock = {
  /** Estimated chain time, in seconds (fractional). */
  now(): number
  /** Feeds a block timestamp just read. */
  observe(timestamp: bigint | number): void
}

export function createChainClock(local: () => number = Date.now): ChainClock {
  let lead = 0
  return {
    now: () => local() / 1000 + lead,
    observe(timestamp) {
      lead = Math.max(lead, Number(timestamp) - local() / 1000)
    },
  }
}
