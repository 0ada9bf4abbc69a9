import type { Hex } from 'viem'
import type { RelayerContext } from './context.js'
import { queuedSlashes, type SlashOrder } from './slashes.js'

/** The mirror's queued slashes seen so far: shared by the slash round (delivery) and the outcome round (reporting). */
export type SlashQueue = {
  /** Reads the mirror's SlashQueued events up to the final marketplace block; returns the marketplace tip. */
  scan: () => Promise<bigint>
  /** Orders not yet known delivered (the slash round drops those the middleware records). */
  undelivered: Map<Hex, SlashOrder>
  /** Orders whose outcome the mirror has not recorded yet (the outcome round drops those it has). */
  awaiting: Map<Hex, SlashOrder>
  /** The last marketplace block scanned. */
  scannedTo: () => bigint
}

/** Starts from the mirror's deploy block: the queue is rebuilt from the chain on every start. */
export function createSlashQueue(ctx: RelayerContext): SlashQueue {
  const undelivered = new Map<Hex, SlashOrder>()
  const awaiting = new Map<Hex, SlashOrder>()
  // The first marketplace block not yet scanned.
  let cursor = ctx.marketplace.deployBlock

  async function scan(): Promise<bigint> {
    const tip = await ctx.mkt.public.getBlockNumber({ cacheTime: 0 })
    const finalNumber = tip - BigInt(ctx.config.finalityDepth)
    if (finalNumber >= cursor) {
      const found = await queuedSlashes(ctx.mkt.public, {
        mirror: ctx.mirror.address,
        fromBlock: cursor,
        toBlock: finalNumber,
      })
      ctx.log.debug({ from: Number(cursor), to: Number(finalNumber), found: found.length }, 'scanned')
      for (const order of found) {
        undelivered.set(order.orderId, order)
        awaiting.set(order.orderId, order)
      }
      cursor = finalNumber + 1n
    }
    return tip
  }

  return { scan, undelivered, awaiting, scannedTo: () => cursor - 1n }
}
