import type { Logger } from 'pino'
import type { Submitter } from './submitter.js'

/*
 * A graceful stop: the poll loop ends after the poll in flight, the batch in flight is given a bounded time to
 * settle (its items must not be matched again by a successor while it may still land), then the inputs being read
 * are dropped and the HTTP server closes. Idempotent.
 */

const STOP_WAIT_MS = 30_000

export type StopPorts = {
  /** Says /healthz is going down and stops the poll loop. */
  stopLoop: () => Promise<void>
  submitter: Pick<Submitter, 'pending' | 'settle'>
  /** The chain time of the head now. */
  headTime: () => Promise<number>
  pause: () => Promise<unknown>
  /** Releases what is left (inputs being read, the HTTP server). */
  close: () => Promise<void>
  log: Logger
  /** Wall clock in ms; tests pass their own. */
  now?: () => number
  waitMs?: number
}

export function createStop(ports: StopPorts): () => Promise<void> {
  const { submitter, log } = ports
  const now = ports.now ?? Date.now
  async function stop(): Promise<void> {
    await ports.stopLoop()
    const deadline = now() + (ports.waitMs ?? STOP_WAIT_MS)
    while (submitter.pending !== undefined && now() < deadline) {
      try {
        await submitter.settle(await ports.headTime())
      } catch (error) {
        log.warn({ err: error }, 'could not settle the batch in flight')
      }
      if (submitter.pending !== undefined) await ports.pause()
    }
    if (submitter.pending !== undefined) log.warn({ tx: submitter.pending.hash }, 'stopping with a batch still pending')
    await ports.close()
    log.info('matcher stopped')
  }
  let stopped: Promise<void> | undefined
  return () => {
    stopped ??= stop()
    return stopped
  }
}
