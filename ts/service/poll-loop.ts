/**
 * A service's poll loop: its rounds in a fixed order, then a pause, until stopped. A round that throws is counted
 * under its stage (a round may name finer stages as it goes: `head`, `sync`, `receipt`) and logged, and the next round
 * still runs: one failing chain read never stops the others. Stopping cuts the pause short and waits for the round in
 * flight, so nothing is abandoned half sent.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'

/** One round of the loop. `stage` renames where it is, for the error count and log of a failure. */
export type PollRound = { name: string; run: (stage: (name: string) => void) => Promise<void> }

export type PollLoopParams = {
  rounds: readonly PollRound[]
  intervalMs: number
  /** Counts a failure of `stage` (the service's own per-stage error counter). */
  countError: (stage: string) => void
  log: Logger
  /** What a failure logs in place of the raw error (e.g. a decoded revert, never revert data). */
  describeError?: (error: unknown) => unknown
  /** Told of every failure after it is counted and logged (e.g. to track a sync that keeps failing). */
  onError?: (stage: string, error: unknown) => void
  /** Pause before the first round too (a service whose start-up already did one). */
  pauseFirst?: boolean
}

export type PollLoop = {
  /** Runs every round once, as the loop does (tests and `--once` commands). */
  runOnce: () => Promise<void>
  stop: () => Promise<void>
}

/** Starts the loop. */
export function startPollLoop(params: PollLoopParams): PollLoop {
  const abort = new AbortController()
  const describe = params.describeError ?? ((error: unknown) => error)

  async function runOnce(): Promise<void> {
    for (const round of params.rounds) {
      let stage = round.name
      try {
        await round.run((name) => {
          stage = name
        })
      } catch (error) {
        params.countError(stage)
        params.log.warn({ err: describe(error), stage }, 'poll round failed; retrying')
        params.onError?.(stage, error)
      }
      if (abort.signal.aborted) return
    }
  }

  const pause = () => sleep(params.intervalMs, undefined, { signal: abort.signal }).catch(() => undefined)
  const done = (async () => {
    if (params.pauseFirst) await pause()
    while (!abort.signal.aborted) {
      await runOnce()
      if (!abort.signal.aborted) await pause()
    }
  })()

  return {
    runOnce,
    async stop() {
      abort.abort()
      await done
    },
  }
}
