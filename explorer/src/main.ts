import { runService } from '../../ts/service/run.js'
import { explorerCli } from './config.js'
import { startExplorer } from './explorer.js'

// Entry point: `cairn explorer --rpc-url … --port …` (or EXPLORER_* environment variables).
await runService({
  cli: explorerCli,
  name: 'cairn-explorer',
  async start(config, { logger }) {
    const explorer = await startExplorer(config, { logger })
    logger.info({ url: explorer.url }, `explorer serving ${explorer.url}`)
    return explorer
  },
})
