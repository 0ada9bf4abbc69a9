import { runService } from '../../ts/service/run.js'
import { proverCli } from './config.js'
import { startProverRunner } from './runner.js'

// Entry point: `cairn prover run --rpc-url ... --markets '[...]'` (or PROVER_* environment variables).
await runService({
  cli: proverCli,
  name: 'cairn-prover',
  async start(config, { logger }) {
    const runner = await startProverRunner(config, { logger })
    // Paused listings get no new assignments while the runner is away: tasks it could not prove in time are slashable.
    return { stop: () => runner.stop({ pauseListings: true }) }
  },
})
