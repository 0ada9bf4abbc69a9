import { pino } from 'pino'
import { configFromCommandLine } from '../../ts/service/config.js'
import { relayerCli } from './config.js'
import { createRelayer } from './relayer.js'

// Entry point: `cairn relayer run --ethereum-rpc-url ... ` (or RELAYER_* environment variables).
const config = configFromCommandLine(relayerCli)
const logger = pino({ level: config.logLevel, base: { service: 'cairn-relayer' } })
const relayer = await createRelayer(config, { logger }).catch((error: unknown) => {
  // The message says what to fix (it never carries a key); the stack and revert data stay out of it.
  logger.fatal({ err: (error as Error).message }, 'relayer failed to start')
  process.exit(1)
})
relayer.start()
logger.info({ relayer: relayer.address, url: relayer.url }, 'relayer started')

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    relayer
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  })
}
