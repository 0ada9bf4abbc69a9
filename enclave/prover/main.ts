import { pino } from 'pino'
import { configFromCommandLine } from '../../ts/service/config.js'
import { proverCli } from './config.js'
import { startProverRunner } from './runner.js'

// Entry point: `cairn prover run --rpc-url ... --markets '[...]'` (or PROVER_* environment variables).
const config = configFromCommandLine(proverCli)
const logger = pino({ level: config.logLevel, base: { service: 'cairn-prover' } })

let runner: Awaited<ReturnType<typeof startProverRunner>> | undefined
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    // A signal during start-up exits at once: nothing is in flight yet that a restart would not redo.
    if (runner === undefined) process.exit(0)
    // Paused listings get no new assignments while the runner is away: tasks it could not prove in time are slashable.
    runner
      .stop({ pauseListings: true })
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  })
}

try {
  runner = await startProverRunner(config, { logger })
} catch (error) {
  logger.fatal({ err: error }, 'start failed')
  process.exit(1)
}
