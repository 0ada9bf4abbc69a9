import { pino } from 'pino'
import { configFromCommandLine } from '../../ts/service/config.js'
import { matcherCli } from './config.js'
import { startMatcher } from './service.js'

// Entry point: `cairn matcher run --rpc-url ... --key-file ...` (or MATCHER_* environment variables).
const config = configFromCommandLine(matcherCli)
const logger = pino({ level: config.logLevel, base: { service: 'cairn-matcher' } })
const matcher = await startMatcher(config, { logger }).catch((error: unknown) => {
  logger.fatal({ err: error }, 'matcher failed to start')
  process.exit(1)
})

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    matcher
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  })
}
