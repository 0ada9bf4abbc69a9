import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The checkout's root directory (where foundry.toml is), found the same way from the TypeScript sources (ts/) and
 * from their compiled copy (dist/ts/), which sit at different depths.
 */
export const repoRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)))

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'foundry.toml'))) return dir
    if (dirname(dir) === dir) throw new Error(`no foundry.toml above ${from}: Cairn runs from its checkout`)
  }
}

/**
 * Node's arguments to run one of the checkout's TypeScript entry points (relative to the root) in its own process:
 * bin/run.mjs runs the compiled JavaScript in dist/ while it is current, else the sources through tsx.
 */
export function entryPointArgs(entry: string, args: readonly string[] = []): string[] {
  return [join(repoRoot, 'bin/run.mjs'), entry, ...args]
}
