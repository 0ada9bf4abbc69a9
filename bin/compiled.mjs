// Cairn's runnable entry points (the CLI, the services, the dev quote tool) run as compiled JavaScript from dist/
// (tsconfig.build.json; built by `npm install` and `npm run build`) when dist/ is at least as new as every
// TypeScript source it is built from, else from the sources through tsx, so an edited checkout never runs stale code.
// CAIRN_FROM_SOURCE=1 always runs the sources.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const root = fileURLToPath(new URL('../', import.meta.url))
/** The folders dist/ is compiled from (tsconfig.build.json's entry points import only these). */
const sourceDirs = ['ts', 'enclave', 'relayer', 'explorer']

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

/** Where `entry` (a .ts path relative to the checkout) is compiled to. */
export function compiledPathOf(entry) {
  return join(root, 'dist', entry.replace(/\.ts$/, '.js'))
}

/** The compiled file of `entry` when it may run: present, and no source newer than it. */
export function freshCompiled(entry) {
  const compiled = compiledPathOf(entry)
  if (process.env.CAIRN_FROM_SOURCE === '1' || !existsSync(compiled)) return undefined
  // Bindings generated after the first compile (`npm install` runs before any forge artifact exists) need a compile.
  if (existsSync(join(root, 'ts', 'generated.ts')) && !existsSync(join(root, 'dist', 'ts', 'generated.js'))) {
    return undefined
  }
  const built = statSync(compiled).mtimeMs
  return sourceDirs.every((dir) => newestSource(join(root, dir)) <= built) ? compiled : undefined
}

/** Imports the module of `entry` into this process, compiled or from source. */
export async function loadEntry(entry) {
  return import(pathToFileURL(await resolveEntry(entry)).href)
}

/**
 * Runs `entry` in this process as if node had been started on it: process.argv[1] names the file that runs, so an
 * entry point that checks whether it is the main module behaves as when started directly.
 */
export async function runEntry(entry) {
  const file = await resolveEntry(entry)
  process.argv.splice(1, 1, file)
  return import(pathToFileURL(file).href)
}

/** The file to load for `entry`: its compiled copy, or its source with tsx's loader registered. */
async function resolveEntry(entry) {
  const compiled = freshCompiled(entry)
  if (compiled !== undefined) return compiled
  const { register } = await import('tsx/esm/api')
  register()
  return join(root, entry)
}
