import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const anvilBin = fileURLToPath(new URL('../../node_modules/.bin/anvil', import.meta.url))
export const forgeBin = fileURLToPath(new URL('../../node_modules/.bin/forge', import.meta.url))

/**
 * Environment for the @foundry-rs npm shims: each shim sets TARGET_TOOL for itself and a leaked value would make
 * the next shim start the wrong tool, so it is never passed on.
 */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { TARGET_TOOL: _, ...env } = process.env
  return { ...env, ...extra }
}
