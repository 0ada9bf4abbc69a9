import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { repoRoot } from '../ts/devnet/paths.js'

const cairn = join(repoRoot, 'bin', 'cairn')

export type CairnRun = { code: number | null; stdout: string; stderr: string }

/** Starts `cairn` as a user would (through bin/cairn) with `env` added to this process's environment. */
export function startCairn(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(cairn, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const done = once(child, 'exit').then(([code]): CairnRun => ({ code: code as number | null, stdout, stderr }))
  return { child, done }
}

/** Runs a `--json` command that must succeed and returns its document; --json leaves stderr empty. */
export async function cairnJson(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  const result = await startCairn([...args, '--json'], env).done
  if (result.code !== 0) throw new Error(`cairn ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  if (result.stderr !== '') throw new Error(`cairn ${args.join(' ')} --json wrote to stderr: ${result.stderr}`)
  return JSON.parse(result.stdout) as Record<string, unknown>
}
