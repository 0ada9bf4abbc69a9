// Runs the `cairn` CLI (ts/cli/main.ts): compiled from dist/ when it is current, else from source (see compiled.mjs).
// CAIRN_FROM_SOURCE=1 always runs the sources (npm run bench:cli -- --source).
import { loadEntry } from './compiled.mjs'

const { main } = await loadEntry('ts/cli/main.ts')
const code = await main(process.argv.slice(2))
// Exit once stdout has drained: idle HTTP keep-alive sockets must not hold the process open.
process.stdout.write('', () => process.exit(code))
