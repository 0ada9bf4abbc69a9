/**
 * A Cairn service's process, the same for the matcher, the prover runner and the relayer: its config from flags and
 * environment (`--help`, and exit 2 naming each flag to fix), JSON logs, then `start`. SIGINT or SIGTERM stops it
 * gracefully (exit 0; 1 if stopping fails); one during start-up exits at once, since nothing is in flight yet that a
 * restart would not redo. A start that fails logs what went wrong, without a stack or revert data, and exits 1.
 */
import { type Logger, pino } from 'pino'
import type { z } from 'zod'
import { configFromCommandLine, type ServiceCli } from './config.js'

/** What a started service gives back: how to stop it. */
export type RunningService = { stop: () => Promise<void> }

export type ServiceProcess<Schema extends z.ZodObject> = {
  cli: ServiceCli<Schema>
  /** The `service` field of every log line: `cairn-matcher`. */
  name: string
  start: (config: z.infer<Schema>, context: { logger: Logger }) => Promise<RunningService>
}

/** Runs a service until a signal stops it. */
export async function runService<Schema extends z.ZodObject>(service: ServiceProcess<Schema>): Promise<void> {
  const config = configFromCommandLine(service.cli)
  const logger = pino({ level: (config as { logLevel?: string }).logLevel ?? 'info', base: { service: service.name } })
  let running: RunningService | undefined
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down')
      if (running === undefined) process.exit(0)
      running
        .stop()
        .then(() => process.exit(0))
        .catch((error: unknown) => {
          logger.error({ err: messageOf(error) }, 'shutdown failed')
          process.exit(1)
        })
    })
  }
  try {
    running = await service.start(config, { logger })
  } catch (error) {
    // The message says what to fix (it never carries a key); the stack and revert data stay out of it.
    logger.fatal({ err: messageOf(error) }, 'start failed')
    process.exit(1)
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
