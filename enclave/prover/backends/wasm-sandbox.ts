/**
 * Where a market's WASM program runs: a child process per run, never the runner's own process. The process is
 * started with a V8 heap limit (`--max-old-space-size`), so a program that allocates on the V8 heap (tables it grows,
 * anything the engine keeps for it) ends with the sandbox's fatal out-of-memory abort, which takes down that child
 * and nothing else; and it is killed with SIGKILL at the run's time limit or when the caller aborts, which stops a
 * program even inside a long runtime call (a worker thread's terminate() waits for those). The runner sees a death
 * as a ProvingLimitError: a resource limit ran out, which says nothing about the inputs.
 *
 * Each run gets a fresh instance of the module, as the ABI promises, but not necessarily a fresh process: a
 * sandbox that completed a run cleanly (an output, a trap, an ABI violation) goes back to an idle pool and runs the
 * next input of the same program, which saves the ~50 ms of starting a process per run. A sandbox that timed out,
 * was aborted or died is never reused. Idle sandboxes exit after a minute, or as soon as the runner goes away (the
 * IPC channel closes). The child inherits no environment (the runner's holds its operator key) and no loader
 * (plain JS, run with `-e`, so no file has to be located next to a compiled build).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { describeError, InvalidInputsError, ProvingAbortedError, ProvingLimitError, throwIfAborted } from './backend.js'

export type SandboxLimits = {
  /** Wall-clock milliseconds of one run, from handing the input to the sandbox to its answer. */
  timeoutMs: number
  /** V8 heap of the sandbox process, in MiB (the module's linear memory is bounded separately, by its maximum). */
  maxHeapMiB: number
  signal?: AbortSignal | undefined
}

/** The sandboxes of one program: `run` takes an idle one or starts one. */
export type SandboxPool = {
  run(input: Uint8Array, limits: SandboxLimits): Promise<Uint8Array>
}

/** Idle sandboxes kept per program and heap limit; more concurrent runs start more and retire the surplus. */
const MAX_IDLE = 4
const IDLE_MS = 60_000
/** Starting node and compiling the module; not the program's time, so not under its time limit. */
const START_TIMEOUT_MS = 30_000
/**
 * V8's stack limit in the sandbox (KiB), as a worker thread had it (4 MiB less Node's 192 KiB margin): how deep a
 * program may recurse before it traps is part of its result, so it stays what it was. The main thread's stack
 * (8 MiB by default) holds it; were it smaller, a deep recursion would kill the sandbox, reported as a limit.
 */
const STACK_KIB = 3_904

// The sandbox's program (plain JS). Every failure it reports as 'trap' or 'abi' is the program's deterministic
// behaviour on this input; 'host' is anything else. One run at a time: the parent never sends two.
const SANDBOX_SOURCE = `
'use strict'
let module
const abi = (message) => Object.assign(new Error(message), { kind: 'abi' })
function execute(input) {
  const { memory, alloc, run } = new WebAssembly.Instance(module, {}).exports
  const ptr = alloc(input.length) >>> 0
  if (ptr + input.length > memory.buffer.byteLength) throw abi('alloc returned memory out of bounds')
  new Uint8Array(memory.buffer).set(input, ptr)
  const packed = run(ptr, input.length)
  if (typeof packed !== 'bigint') throw abi('run must return an i64')
  const outPtr = Number(BigInt.asUintN(32, packed))
  const outLen = Number(BigInt.asUintN(32, packed >> 32n))
  if (outPtr + outLen > memory.buffer.byteLength) throw abi('run returned an output out of bounds')
  return new Uint8Array(memory.buffer.slice(outPtr, outPtr + outLen))
}
process.on('disconnect', () => process.exit(0))
process.on('message', (message) => {
  if (message.module !== undefined) {
    try {
      module = new WebAssembly.Module(message.module)
      process.send({ ready: true })
    } catch (error) {
      process.send({ ready: false, message: String(error && error.message || error) })
    }
    return
  }
  try {
    process.send({ ok: true, output: execute(message.input) })
  } catch (error) {
    const trap = error instanceof WebAssembly.RuntimeError || error instanceof WebAssembly.LinkError ||
      (error instanceof RangeError && /call stack/.test(error.message))
    const kind = error && error.kind === 'abi' ? 'abi' : trap ? 'trap' : 'host'
    process.send({ ok: false, kind, message: String(error && error.message || error) })
  }
})
`

type Reply = { ok: true; output: Uint8Array } | { ok: false; kind: 'trap' | 'abi' | 'host'; message: string }
type Started = { ready: true } | { ready: false; message: string }

type Sandbox = {
  child: ChildProcess
  maxHeapMiB: number
  /** V8's fatal error line, if it printed one (it names what ran out). */
  fatalError(): string | undefined
  idleTimer?: NodeJS.Timeout
}

/** The sandboxes of the program `module` (bytes that compiled and passed the ABI checks). */
export function createSandboxPool(module: Uint8Array): SandboxPool {
  const idle: Sandbox[] = []

  async function acquire(maxHeapMiB: number, signal: AbortSignal | undefined): Promise<Sandbox> {
    for (;;) {
      const index = idle.findIndex((sandbox) => sandbox.maxHeapMiB === maxHeapMiB)
      if (index < 0) break
      const [sandbox] = idle.splice(index, 1) as [Sandbox]
      clearTimeout(sandbox.idleTimer)
      if (sandbox.child.connected) return sandbox
    }
    return start(module, maxHeapMiB, signal)
  }

  function release(sandbox: Sandbox): void {
    if (!sandbox.child.connected || idle.length >= MAX_IDLE) {
      kill(sandbox)
      return
    }
    sandbox.idleTimer = setTimeout(() => {
      const at = idle.indexOf(sandbox)
      if (at >= 0) idle.splice(at, 1)
      kill(sandbox)
    }, IDLE_MS).unref()
    idle.push(sandbox)
  }

  async function run(input: Uint8Array, limits: SandboxLimits): Promise<Uint8Array> {
    throwIfAborted(limits.signal)
    const sandbox = await acquire(limits.maxHeapMiB, limits.signal)
    return new Promise((resolve, reject) => {
      const { child } = sandbox
      const { timeoutMs, signal } = limits
      let settled = false
      const settle = (keep: boolean, finish: () => void): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        child.off('message', onReply)
        child.off('close', onExit)
        if (keep) release(sandbox)
        else kill(sandbox)
        finish()
      }
      const timer = setTimeout(
        () => settle(false, () => reject(new ProvingLimitError(`the program ran longer than ${timeoutMs} ms`))),
        timeoutMs,
      )
      const onAbort = (): void =>
        settle(false, () => reject(new ProvingAbortedError('proving was aborted', { cause: signal?.reason })))
      const onReply = (reply: Reply): void => {
        if (reply.ok) settle(true, () => resolve(reply.output))
        // After a host failure the sandbox's state is unknown: it is not reused.
        else settle(reply.kind !== 'host', () => reject(replyError(reply)))
      }
      const onExit = (code: number | null, killedBy: NodeJS.Signals | null): void =>
        settle(false, () => reject(deathError(sandbox, code, killedBy)))
      signal?.addEventListener('abort', onAbort, { once: true })
      child.on('message', onReply)
      // 'close', not 'exit': the fatal error line V8 printed as it died may still be in the stderr pipe at 'exit'.
      child.on('close', onExit)
      child.send({ input }, (error) => {
        if (error) settle(false, () => reject(new Error(`the program's sandbox took no input: ${error.message}`)))
      })
    })
  }

  return { run }
}

/** Starts a sandbox process and has it compile the module; resolves once it is ready for inputs. */
function start(module: Uint8Array, maxHeapMiB: number, signal: AbortSignal | undefined): Promise<Sandbox> {
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${maxHeapMiB}`, `--stack-size=${STACK_KIB}`, '-e', SANDBOX_SOURCE],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', env: {}, cwd: tmpdir() },
  )
  // Only the fatal error line is kept; the rest (GC traces, a native stack) is read and dropped.
  let tail = ''
  let fatalError: string | undefined
  child.stderr?.on('data', (chunk: Buffer) => {
    if (fatalError !== undefined) return
    // Searched before trimming: on a busy machine one chunk may carry the line and kilobytes of native stack after it.
    const text = tail + chunk.toString()
    fatalError = /FATAL ERROR[^\n]*(?=\n)/.exec(text)?.[0]
    tail = text.slice(-1_024)
  })
  // Idle or busy, a sandbox never keeps the runner's process alive: a run's own timer does while it lasts.
  child.unref()
  child.channel?.unref()
  ;(child.stderr as Socket | null)?.unref()
  const sandbox: Sandbox = { child, maxHeapMiB, fatalError: () => fatalError }
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (finish: () => void, failed: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      child.off('message', onStarted)
      child.off('exit', onExit)
      child.off('error', onError)
      if (failed) kill(sandbox)
      finish()
    }
    const timer = setTimeout(
      () => settle(() => reject(new Error(`the program's sandbox did not start in ${START_TIMEOUT_MS} ms`)), true),
      START_TIMEOUT_MS,
    )
    const onAbort = (): void =>
      settle(() => reject(new ProvingAbortedError('proving was aborted', { cause: signal?.reason })), true)
    const onStarted = (message: Started): void => {
      if (message.ready) settle(() => resolve(sandbox), false)
      else settle(() => reject(new Error(`the program's sandbox cannot compile it: ${message.message}`)), true)
    }
    const onExit = (code: number | null, killedBy: NodeJS.Signals | null): void =>
      settle(() => reject(new Error(`the program's sandbox exited as it started (${exitOf(code, killedBy)})`)), true)
    const onError = (error: Error): void =>
      settle(() => reject(new Error(`the program's sandbox did not start: ${describeError(error)}`)), true)
    signal?.addEventListener('abort', onAbort, { once: true })
    child.on('message', onStarted)
    child.on('exit', onExit)
    child.on('error', onError)
    child.send({ module })
  })
}

function kill(sandbox: Sandbox): void {
  clearTimeout(sandbox.idleTimer)
  const { child } = sandbox
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

function replyError(reply: Extract<Reply, { ok: false }>): Error {
  if (reply.kind === 'trap') return new InvalidInputsError(`the program trapped: ${reply.message}`)
  if (reply.kind === 'abi') return new InvalidInputsError(`the program broke the ABI: ${reply.message}`)
  return new Error(`the program's host failed: ${reply.message}`)
}

/** A sandbox that died mid-run ran out of a limit (V8 aborts at its heap limit; the OS may kill it for memory). */
function deathError(sandbox: Sandbox, code: number | null, killedBy: NodeJS.Signals | null): ProvingLimitError {
  const fatal = sandbox.fatalError()
  return new ProvingLimitError(
    `the program's sandbox died (${exitOf(code, killedBy)}) at its heap limit of ${sandbox.maxHeapMiB} MiB or ` +
      `another resource limit${fatal ? `: ${fatal.trim()}` : ''}`,
  )
}

function exitOf(code: number | null, killedBy: NodeJS.Signals | null): string {
  return killedBy === null ? `exit code ${code}` : `signal ${killedBy}`
}
