// What the load checks share: cores kept busy as on a laptop doing other work, and their flags.
import { type ChildProcess, spawn } from 'node:child_process'

export function positiveInteger(value: string, flag: string): number {
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`)
  return parsed
}

export function nonNegativeInteger(value: string, flag: string): number {
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${flag} must be 0 or more, got ${value}`)
  return parsed
}

/** Spins `cores` cores until the returned function is called (or this process exits). */
export function keepCoresBusy(cores: number): () => void {
  const busy: ChildProcess[] = Array.from({ length: cores }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  )
  const stop = () => {
    for (const child of busy) child.kill('SIGKILL')
  }
  process.on('exit', stop)
  return stop
}
