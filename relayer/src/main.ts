import { runService } from '../../ts/service/run.js'
import { relayerCli } from './config.js'
import { createRelayer } from './relayer.js'

// Entry point: `cairn relayer run --ethereum-rpc-url ... ` (or RELAYER_* environment variables).
await runService({
  cli: relayerCli,
  name: 'cairn-relayer',
  async start(config, { logger }) {
    const relayer = await createRelayer(config, { logger })
    relayer.start()
    logger.info({ relayer: relayer.address, url: relayer.url }, 'relayer started')
    return relayer
  },
})
