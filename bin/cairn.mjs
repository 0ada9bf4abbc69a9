// Runs the `cairn` CLI: the compiled JavaScript in dist/ (built by `npm install` and `npm run build`, see
// tsconfig.cli.json) when it is at least as new as every source in ts/, else the TypeScript sources through tsx, so an
// edited checkout never runs stale code. CAIRN_CLI_FROM_SOURCE=1 always runs the sources (npm run bench:cli -- --source).
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const compiled = join(root, 'dist', 'cli', 'main.js')

/** The newest modification time of a .ts file under `dir`. */
function newestSource(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

function fresh() {
  if (process.env.CAIRN_CLI_FROM_SOURCE === '1' || !existsSync(compiled)) return false
  // Bindings generated after the CLI was compiled (the first `npm run build`) must be compiled too.
  if (existsSync(join(root, 'ts', 'generated.ts')) && !existsSync(join(root, 'dist', 'generated.js'))) return false
  return statSync(compiled).mtimeMs >= newestSource(join(root, 'ts'))
}

let main
if (fresh()) {
  ;({ main } = await import(pathToFileURL(compiled).href))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../ts/cli/main.ts'))
}
const code = await main(process.argv.slice(2))
// Exit once stdout has drained: idle HTTP keep-alive sockets must not hold the process open.
process.stdout.write('', () => process.exit(code))
