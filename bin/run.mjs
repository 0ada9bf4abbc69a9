// Runs one of Cairn's TypeScript entry points in this process, compiled when dist/ is current (see compiled.mjs):
//   node bin/run.mjs enclave/prover/main.ts [arguments]
import { runEntry } from './compiled.mjs'

const entry = process.argv[2]
if (entry === undefined || !entry.endsWith('.ts')) {
  process.stderr.write('usage: node bin/run.mjs <entry point .ts, relative to the checkout> [arguments]\n')
  process.exit(2)
}
// The entry point sees only its own arguments, as when node starts it directly.
process.argv.splice(2, 1)
await runEntry(entry)
