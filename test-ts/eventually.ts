import { setTimeout as sleep } from 'node:timers/promises'
import { onTestFailed, onTestFinished } from 'vitest'

export type EventuallyOptions = {
  /** Between probes (default 100 ms). */
  intervalMs?: number
  /** What the state looked like, added to the failure report when the test fails while this wait is pending. */
  explain?: () => Promise<string> | string
}

/**
 * Polls `probe` until it returns a value (anything but `undefined` or `false`) and returns it.
 *
 * It has no deadline of its own: the test's (or hook's) timeout bounds it, so a slow machine only makes it take
 * longer, never fail. If the test fails while the wait is pending (its timeout included), the report names what
 * never happened and, with `explain`, the state it was in; polling stops when the test ends.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  options: EventuallyOptions = {},
): Promise<T> {
  let pending = true
  let ended = false
  const inTest = registerInTest(
    () => {
      ended = true
    },
    async () => {
      if (!pending) return
      const state = options.explain === undefined ? '' : `\n${await options.explain()}`
      console.error(`still waiting for: ${what}${state}`)
    },
  )
  try {
    for (;;) {
      const value = await probe()
      if (value !== undefined && value !== false) return value
      if (ended) throw new Error(`the test ended while waiting for: ${what}`)
      await sleep(options.intervalMs ?? 100)
    }
  } catch (error) {
    if (!inTest && options.explain !== undefined) {
      const message = error instanceof Error ? error.message : String(error)
      throw new Error(`${message}\nwhile waiting for: ${what}\n${await options.explain()}`, { cause: error })
    }
    throw error
  } finally {
    pending = false
  }
}

/** Registers the handlers on the running test; false inside a hook (vitest has no per-hook handlers). */
function registerInTest(onFinished: () => void, onFailed: () => Promise<void>): boolean {
  try {
    onTestFinished(onFinished)
    onTestFailed(onFailed)
    return true
  } catch {
    return false
  }
}
