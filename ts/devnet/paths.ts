import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
// bin/ launchers run the platform binaries and keep their exit status (the npm packages' own launchers exit 0).
export const anvilBin = fileURLToPath(new URL('../../bin/anvil', import.meta.url))
export const forgeBin = fileURLToPath(new URL('../../bin/forge', import.meta.url))

/**
 * Environment for Foundry tools started from here: the @foundry-rs npm launchers export TARGET_TOOL, and a leaked
 * value must never reach another tool.
 */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { TARGET_TOOL: _, ...env } = process.env
  return { ...env, ...extra }
}
