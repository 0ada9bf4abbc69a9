import type { Hash } from 'viem'
import type { Health } from '../../ts/service/http.js'
import type { KeyRegistration } from '../../ts/service/key-registration.js'
import { type BookStats, bookStats } from './book.js'
import type { ChainView } from './chain.js'
import type { Follower } from './follow.js'
import type { MatcherKey } from './key-lifecycle.js'

/*
 * What /healthz and status() say. Healthy: the key is registered and unexpired by the chain's clock, the book is in
 * sync (follow.ts), the key was not revoked and the matcher is not stopping.
 */

export type MatcherStatus = {
  /** The last block indexed and its chain time. */
  block: bigint | undefined
  chainTime: number | undefined
  keyExpiresAt: number | undefined
  pendingBatch: Hash | undefined
  book: BookStats
}

/** What health and status read: the key, the follower, the view, and whether the matcher is stopping. */
export type HealthSources = {
  key: Pick<MatcherKey, 'registration' | 'revoked'>
  follower: Pick<Follower, 'state' | 'synced' | 'lag'>
  view: Pick<ChainView, 'block' | 'book'>
  stopping: boolean
}

/** Whether the key is registered and unexpired at chain time `chainTime` (unknown before the first block). */
export function registered(registration: KeyRegistration | undefined, chainTime: number | undefined): boolean {
  return registration !== undefined && chainTime !== undefined && chainTime < registration.expiresAt
}

export function matcherHealth({ key, follower, view, stopping }: HealthSources): Health {
  const isRegistered = registered(key.registration, follower.state.chainTime)
  const synced = follower.synced()
  return {
    ok: isRegistered && synced && !key.revoked && !stopping,
    registered: isRegistered,
    synced,
    lag: follower.lag(),
    revoked: key.revoked,
    block: view.block?.number.toString(),
    keyExpiresAt: key.registration?.expiresAt,
  }
}

export function matcherStatus(
  { key, follower, view }: Omit<HealthSources, 'stopping'>,
  pendingBatch: Hash | undefined,
): MatcherStatus {
  return {
    block: view.block?.number,
    chainTime: follower.state.chainTime,
    keyExpiresAt: key.registration?.expiresAt,
    pendingBatch,
    book: bookStats(view.book),
  }
}
