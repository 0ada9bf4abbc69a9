// `npm test`: every check CI runs, one after another, each with its wall time, and a table of the times at the end
// (so a slow run says where its minutes went). Stops at the first failing step with that step's exit code.
// `npm test -- --from test:ts` starts at a step (after fixing it, without redoing the ones before).
import { spawnSync } from 'node:child_process'

const steps = [
  'build',
  'lint',
  'typecheck',
  'test:forge',
  'test:invariants',
  'test:gas',
  'test:circuits',
  'test:programs',
  'test:fixtures',
  'test:ts',
  'test:devnet',
]

const fromFlag = process.argv.indexOf('--from')
const from = fromFlag === -1 ? steps[0] : process.argv[fromFlag + 1]
if (!steps.includes(from)) {
  console.error(`--from ${from ?? '(missing)'}: not a step of npm test; pick one of ${steps.join(', ')}`)
  process.exit(2)
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
const times = []
const started = performance.now()
for (const step of steps.slice(steps.indexOf(from))) {
  console.log(`\n▶ npm run ${step}`)
  const stepStarted = performance.now()
  const run = spawnSync('npm', ['run', '--silent', step], { stdio: 'inherit' })
  const took = performance.now() - stepStarted
  times.push([step, took])
  const failed = run.status !== 0
  console.log(`${failed ? '✗' : '✓'} ${step} ${failed ? 'failed' : 'passed'} in ${seconds(took)}`)
  if (failed) {
    console.error(`\nnpm test stopped at ${step}; after fixing it, resume with: npm test -- --from ${step}`)
    process.exit(run.status ?? 1)
  }
}
console.log('\nnpm test passed. Time per step:')
for (const [step, took] of times) console.log(`  ${step.padEnd(16)} ${seconds(took).padStart(8)}`)
console.log(`  ${'total'.padEnd(16)} ${seconds(performance.now() - started).padStart(8)}`)
