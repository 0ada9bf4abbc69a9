// Cairn's services (relayers, matcher, prover runner) as child processes: each writes its JSON logs to its own file
// and answers a health probe once ready. The devnet and the end-to-end tests run them exactly as an operator would.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { entryPointArgs } from '../root.js'
import { repoRoot, toolEnv } from './paths.js'

export type ServiceSpec = {
  name: string
  /** Entry point relative to the repo root: a TypeScript file, run compiled while dist/ is current. */
  script: string
  args?: readonly string[]
  env?: Record<string, string>
  /** Answers 200 once the service is ready. */
  healthUrl: string
  /** Where stdout and stderr (JSON log lines) go; appended across restarts. */
  logFile: string
  readyTimeoutMs?: number
}

export type Service = {
  name: string
  pid: number
  logFile: string
  healthUrl: string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
  /** SIGKILL at once: a crash, with no chance to clean up. */
  kill: () => Promise<void>
}

export class ServiceStartError extends Error {
  override name = 'ServiceStartError'
}

/** Starts a service and waits until its health probe answers; its log tail explains a failed start. */
export async function startService(spec: ServiceSpec): Promise<Service> {
  await mkdir(dirname(spec.logFile), { recursive: true })
  const log = createWriteStream(spec.logFile, { flags: 'a' })
  await once(log, 'open')
  // One process per service (bin/run.mjs loads it in-process), so a signal reaches the service itself.
  const child = spawn(process.execPath, entryPointArgs(spec.script, spec.args), {
    cwd: repoRoot,
    env: toolEnv(spec.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.pipe(log, { end: false })
  child.stderr?.pipe(log, { end: false })
  const exited = exitOf(child).finally(() => log.end())
  let hasExited = false
  void exited.then(() => {
    hasExited = true
  })

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 120_000)
  while (!(await healthy(spec.healthUrl))) {
    if (hasExited) {
      throw new ServiceStartError(`${spec.name} exited before it was ready:\n${await tail(spec.logFile)}`)
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new ServiceStartError(`${spec.name} was not ready within the timeout:\n${await tail(spec.logFile)}`)
    }
    await sleep(200)
  }

  const stop = async (graceMs = 15_000) => {
    if (hasExited) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  const kill = async () => {
    if (hasExited) return
    child.kill('SIGKILL')
    await exited
  }
  return { name: spec.name, pid: child.pid ?? -1, logFile: spec.logFile, healthUrl: spec.healthUrl, exited, stop, kill }
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const [code] = (await once(child, 'exit')) as [number | null]
  return code
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) })
    return response.ok
  } catch {
    return false
  }
}

/** The last lines of a log file, for error messages. */
export async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Every JSON log line of a service's log file, parsed (non-JSON lines are skipped). */
export async function logLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const lines: Record<string, unknown>[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      // A line cut off by a crash: nothing to learn from it.
    }
  }
  return lines
}
