import { join } from 'node:path'
import { repoRoot } from '../root.js'

export { repoRoot }
// bin/ launchers run the platform binaries and keep their exit status (the npm packages' own launchers exit 0).
export const anvilBin = join(repoRoot, 'bin/anvil')
export const forgeBin = join(repoRoot, 'bin/forge')

/**
 * Environment for Foundry tools started from here: the @foundry-rs npm launchers export TARGET_TOOL, and a leaked
 * value must never reach another tool.
 */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { TARGET_TOOL: _, ...env } = process.env
  return { ...env, ...extra }
}
