#!/usr/bin/env node
// Cairn's build, as a newcomer sees it: one line per step with its time, a heartbeat while solc-js compiles (a cold
// compile takes minutes), and the tools' own output only when it says something: a tool's warnings and errors are
// shown as the tool printed them, its routine progress lines are not.
//   node script/build.mjs   # contracts (forge build), TypeScript bindings (wagmi), the compiled CLI and services (tsc)
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const started = performance.now()
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`
const say = (text) => console.log(`build  ${text}`)

/** forge's routine lines: which files it compiles and that it finished. Anything else it prints is shown. */
const forgeRoutine = [
  /^Compiling \d+ files? with /,
  /^Solc [\d.]+ finished in /,
  /^Compiler run successful!?$/,
  /^No files changed, compilation skipped$/,
  /^Nothing to compile$/,
]
/** wagmi's spinner lines for its steps (`- Resolving contracts`, `✔ Resolving contracts`). */
const wagmiRoutine = [/^[-✔] (Validating plugins|Resolving contracts|Running plugins|Writing to .+)$/]

const steps = [
  {
    name: 'contracts',
    command: ['bin/forge', 'build'],
    routine: forgeRoutine,
    done: 'compiled',
    // solc-js compiles in one silent call: say what it compiles and keep a clock running meanwhile.
    onLine(line, step) {
      const compiling = /^Compiling (\d+) files? with (.+)$/.exec(line)
      if (compiling) {
        say(`contracts: compiling ${compiling[1]} files with ${compiling[2]} (solc-js: a cold compile takes minutes)`)
        step.heartbeat = true
      }
      if (/^No files changed/.test(line)) step.note = 'up to date'
    },
  },
  {
    name: 'bindings',
    command: ['node_modules/.bin/wagmi', 'generate'],
    routine: wagmiRoutine,
    done: 'ts/generated.ts',
  },
  { name: 'javascript', command: ['node_modules/.bin/tsc', '-p', 'tsconfig.build.json'], routine: [], done: 'dist/' },
]

/** Runs one step; resolves with its exit code. Lines that are not routine go to the screen as they come. */
function run(step) {
  return new Promise((resolvePromise) => {
    const since = performance.now()
    const child = spawn(step.command[0], step.command.slice(1), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Piped output carries no colour codes, so the routine patterns match; tools that honour NO_COLOR agree.
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    })
    const heartbeatEvery = process.stdout.isTTY ? 1_000 : 30_000
    const timer = setInterval(() => {
      if (!step.heartbeat) return
      const text = `${step.name}: still compiling, ${seconds(since)}`
      if (process.stdout.isTTY) process.stdout.write(`\rbuild  ${text}`)
      else say(text)
    }, heartbeatEvery)
    const endHeartbeatLine = () => {
      if (step.heartbeat && process.stdout.isTTY) process.stdout.write('\r\x1b[K')
    }
    const onData = (stream) => {
      let pending = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => {
        pending += chunk
        const lines = pending.split(/\r?\n/)
        pending = lines.pop() ?? ''
        for (const raw of lines) onLineOf(raw)
      })
      stream.on('end', () => {
        if (pending) onLineOf(pending)
      })
    }
    const onLineOf = (raw) => {
      const line = raw.trimEnd()
      step.onLine?.(line, step)
      if (line === '' || step.routine.some((pattern) => pattern.test(line))) return
      endHeartbeatLine()
      console.log(line)
    }
    onData(child.stdout)
    onData(child.stderr)
    child.on('error', (error) => {
      clearInterval(timer)
      endHeartbeatLine()
      say(`${step.name}: could not start ${step.command[0]} (${error.message}); run npm install first`)
      resolvePromise(1)
    })
    child.on('close', (code) => {
      clearInterval(timer)
      endHeartbeatLine()
      const what = step.note ?? step.done ?? 'done'
      if (code === 0) say(`${step.name}: ${what} in ${seconds(since)}`)
      else say(`${step.name}: failed (${step.command.join(' ')} exited ${code}); its output is above`)
      resolvePromise(code ?? 1)
    })
  })
}

for (const step of steps) {
  const code = await run(step)
  if (code !== 0) process.exit(code)
}
say(`done in ${seconds(started)}`)
