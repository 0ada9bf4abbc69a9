import { runService } from '../../ts/service/run.js'
import { matcherCli } from './config.js'
import { startMatcher } from './service.js'

// Entry point: `cairn matcher run --rpc-url ... --key-file ...` (or MATCHER_* environment variables).
await runService({ cli: matcherCli, name: 'cairn-matcher', start: startMatcher })
