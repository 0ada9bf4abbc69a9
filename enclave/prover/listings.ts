/**
 * Keeps every listing in line with the runner's state: active, or on leave while the breaker is tripped or the
 * runner is stopping with its listings paused. A trip, a reset or a pause marks the listings dirty; one sync runs at
 * a time, and whoever waits for it goes round again until they are clean. A failed sync leaves them dirty.
 */
import type { Logger } from 'pino'
import { decodeCairnError } from '../../ts/errors.js'
import type { MarketConfig } from './config.js'

export type ListingsParams = {
  markets: ReadonlyMap<bigint, { config: MarketConfig }>
  /** Brings one listing in line (onchain.ts ensureListing, in the runner's transaction lane). */
  ensure(market: MarketConfig, leaving: boolean): Promise<unknown>
  /** The breaker is tripped: leave every market. */
  tripped(): boolean
  logger: Logger
}

export type Listings = {
  /** Syncs while dirty; resolves once clean (or throws what the sync threw). */
  sync(): Promise<void>
  markDirty(): void
  /**
   * Puts every listing on leave for a stop, whatever the breaker says; a failure is logged and never blocks the stop
   * (a restart rebuilds).
   */
  pause(): Promise<void>
}

export function createListings(params: ListingsParams): Listings {
  const { markets, logger } = params
  let dirty = true
  let paused = false
  let syncing: Promise<void> | undefined

  async function sync(): Promise<void> {
    for (;;) {
      if (syncing) {
        await syncing.catch(() => undefined)
        continue
      }
      if (!dirty) return
      dirty = false
      syncing = syncOnce().finally(() => {
        syncing = undefined
      })
      try {
        await syncing
      } catch (error) {
        dirty = true
        throw error
      }
    }
  }

  async function syncOnce(): Promise<void> {
    for (const market of markets.values()) await params.ensure(market.config, params.tripped() || paused)
  }

  async function pause(): Promise<void> {
    paused = true
    dirty = true
    try {
      await sync()
      logger.info(
        { markets: [...markets.keys()].map(String) },
        'listings paused while stopped: the next start resumes them',
      )
    } catch (error) {
      logger.error(
        { err: decodeCairnError(error) ?? error },
        'could not pause the listings: assignments may still come',
      )
    }
  }

  return {
    sync,
    markDirty: () => {
      dirty = true
    },
    pause,
  }
}
