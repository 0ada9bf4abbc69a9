// `npm test`: every check CI runs, each with its wall time, and a table of the times at the end (so a slow run says
// where its minutes went). Two phases, each run by two workers that take the phase's steps in order, one at a time:
// first the build beside the checks that need none of it (lint, the layer check, the circuit, Noir and program rebuilds,
// the attestation fixtures); then the TypeScript suites (the longest step, first) beside the contract suites, the
// typecheck and the devnet smoke run. The build's and the TypeScript suites' output streams as it comes; every other
// step prints its output in one block when it ends.
// The first failing step stops the run (the other worker's running step is ended) with that step's exit code.
//
//   npm test                          everything
//   npm test -- --from test:ts        starts at a step (after fixing it, without redoing the ones before)
//   npm test -- --serial              one step at a time, in the order listed below (a machine short of memory)
import { spawn } from 'node:child_process'

const build = 'build'
/**
 * Each phase starts when the one before has passed. Its steps are taken in this order by `workers` workers, so the
 * longest step goes first and the others fill the second core around it.
 */
const phases = [
  [build, 'lint', 'check:layers', 'test:circuits', 'test:noir', 'test:programs', 'test:fixtures'],
  ['test:ts', 'test:invariants', 'test:forge', 'typecheck', 'test:gas', 'test:devnet'],
]
const steps = phases.flat()
const streamed = new Set([build, 'test:ts'])

const args = process.argv.slice(2)
const fromFlag = args.indexOf('--from')
const from = fromFlag === -1 ? steps[0] : args[fromFlag + 1]
const serial = args.includes('--serial')
const unknown = args.filter((arg, i) => arg !== '--serial' && arg !== '--from' && args[i - 1] !== '--from')
if (!steps.includes(from) || unknown.length > 0) {
  if (unknown.length > 0) console.error(`unknown argument ${unknown[0]}: npm test takes --from <step> and --serial`)
  else console.error(`--from ${from ?? '(missing)'}: not a step of npm test; pick one of ${steps.join(', ')}`)
  process.exit(2)
}
const wanted = (step) => steps.indexOf(step) >= steps.indexOf(from)

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
const times = new Map()
const running = new Set()
const started = performance.now()
let failure

/** Runs `npm run <step>` in its own process group (so a failure elsewhere, or Ctrl-C, ends all of it). */
function run(step) {
  if (failure !== undefined) return Promise.resolve(false)
  const live = serial || streamed.has(step)
  console.log(`\n▶ npm run ${step}${live ? '' : ' (its output follows when it ends)'}`)
  const stepStarted = performance.now()
  const child = spawn('npm', ['run', '--silent', step], {
    stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  running.add(child)
  let output = ''
  const collect = (chunk) => {
    output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child)
      const took = performance.now() - stepStarted
      const ended = failure !== undefined && code !== 0
      if (!live && !ended) process.stdout.write(`\n── ${step} ──\n${output}`)
      if (ended) {
        console.log(`■ ${step} ended after ${seconds(took)}: ${failure} failed`)
        return resolve(false)
      }
      times.set(step, took)
      const passed = code === 0
      console.log(`${passed ? '✓' : '✗'} ${step} ${passed ? 'passed' : 'failed'} in ${seconds(took)}`)
      if (!passed) {
        failure = step
        process.exitCode = code ?? (signal === null ? 1 : 128)
        stopAll('SIGTERM')
      }
      resolve(passed)
    })
  })
}

function stopAll(signal) {
  for (const child of running) {
    try {
      process.kill(-child.pid, signal)
    } catch {
      // Already gone: its close event reports it.
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    failure ??= `interrupted (${signal})`
    process.exitCode = 130
    stopAll(signal)
  })
}

const workers = serial ? 1 : 2

/** Runs a phase's wanted steps, each worker taking the next step when its last one passed. */
async function runPhase(phase) {
  const queue = phase.filter(wanted)
  const worker = async () => {
    for (let step = queue.shift(); step !== undefined; step = queue.shift()) {
      if (!(await run(step))) return
    }
  }
  await Promise.all(Array.from({ length: workers }, worker))
}

for (const phase of phases) {
  if (failure !== undefined) break
  await runPhase(phase)
}

if (failure !== undefined) {
  if (steps.includes(failure)) {
    console.error(`\nnpm test stopped at ${failure}; after fixing it, resume with: npm test -- --from ${failure}`)
  } else {
    console.error(`\nnpm test ${failure}`)
  }
} else {
  console.log(`\nnpm test passed${serial ? '' : ' (two phases, two steps at a time)'}. Time per step:`)
  for (const [step, took] of times) console.log(`  ${step.padEnd(16)} ${seconds(took).padStart(8)}`)
  console.log(`  ${'total'.padEnd(16)} ${seconds(performance.now() - started).padStart(8)}`)
}
