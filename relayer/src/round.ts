import type { Hex } from 'viem'

/** The relayer's rounds, in the order the loop runs them; each name is its `errors{loop}` label too. */
export const ROUND_NAMES = ['keys', 'snapshots', 'slashes', 'outcomes'] as const
export type RoundName = (typeof ROUND_NAMES)[number]

/** What one round did: nothing to do (and why), a digest waiting for its quorum, or a digest landed on chain. */
export type RoundOutcome =
  | { status: 'idle'; reason: string }
  | { status: 'waiting'; digest: Hex; signatures: number }
  | { status: 'submitted'; digest: Hex }
  | { status: 'settled'; digest: Hex }

export type Round = () => Promise<RoundOutcome>
