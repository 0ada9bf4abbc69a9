// Runs CI (`.ci/run`: `npm ci`, then `npm test`) on fresh clones of this checkout's HEAD several times in a row while
// other processes keep CPU cores busy, and reports each run's result, wall time and slowest steps.
//   npm run check:test-load                        # 3 runs, one core kept busy
//   npm run check:test-load -- --runs 1 --busy 0   # one run on an otherwise quiet machine
// Each run's output goes to .test-load/run-<n>.log; a failed run's clone is kept (its path is printed).
// Exits 1 unless every run passed.
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { repoRoot } from '../ts/devnet/paths.js'
import { keepCoresBusy, nonNegativeInteger, positiveInteger } from './load/busy.js'

type RunResult = { run: number; exitCode: number | null; seconds: number; steps: [string, number][]; clone: string }

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    busy: { type: 'string', default: '1' },
  },
})
const runs = positiveInteger(values.runs, '--runs')
const busyCores = nonNegativeInteger(values.busy, '--busy')
const logDir = join(repoRoot, '.test-load')

/** The "Time per step" table npm test prints at the end (script/test.mjs). */
function stepTimes(log: string): [string, number][] {
  const table = log.slice(log.lastIndexOf('Time per step:'))
  return [...table.matchAll(/^ {2}(\S+)\s+([\d.]+) s$/gm)].map((match) => [match[1] as string, Number(match[2])])
}

async function runOnce(run: number, commit: string): Promise<RunResult> {
  const clone = join(await mkdtemp(join(tmpdir(), `cairn-test-load-${run}-`)), 'cairn')
  const cloned = spawnSync('git', ['clone', '--quiet', repoRoot, clone], { stdio: 'inherit' })
  if (cloned.status !== 0) throw new Error(`git clone ${repoRoot} failed (exit ${cloned.status})`)
  spawnSync('git', ['-C', clone, 'checkout', '--quiet', commit], { stdio: 'inherit' })
  const logPath = join(logDir, `run-${run}.log`)
  const log = createWriteStream(logPath)
  const started = performance.now()
  const child = spawn('bash', ['.ci/run'], { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve))
  await new Promise<void>((resolve) => log.end(resolve))
  const seconds = (performance.now() - started) / 1000
  if (exitCode === 0) await rm(join(clone, '..'), { recursive: true, force: true })
  return { run, exitCode, seconds, steps: stepTimes(await readFile(logPath, 'utf8')), clone }
}

async function main(): Promise<void> {
  const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' })
  const commit = head.stdout.trim()
  if (head.status !== 0 || commit === '') throw new Error(`${repoRoot} is not a git checkout with a commit`)
  await rm(logDir, { recursive: true, force: true })
  await mkdir(logDir, { recursive: true })
  const stopBusy = keepCoresBusy(busyCores)
  console.log(`npm test load check: ${runs} fresh-clone CI runs of ${commit.slice(0, 10)}, ${busyCores} core(s) busy`)
  const results: RunResult[] = []
  try {
    for (let run = 1; run <= runs; run++) {
      const result = await runOnce(run, commit)
      results.push(result)
      const slowest = [...result.steps]
        .filter(([step]) => step !== 'total')
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([step, seconds]) => `${step} ${seconds.toFixed(0)} s`)
        .join(', ')
      const verdict =
        result.exitCode === 0
          ? 'passed'
          : `FAILED (exit ${result.exitCode}), see .test-load/run-${run}.log; the clone is kept at ${result.clone}`
      const npmTest = result.steps.find(([step]) => step === 'total')?.[1]
      const testTime = npmTest === undefined ? '' : `, npm test ${npmTest.toFixed(0)} s (slowest: ${slowest})`
      console.log(`run ${run}: ${verdict}, ${result.seconds.toFixed(0)} s with npm ci${testTime}`)
    }
  } finally {
    stopBusy()
  }
  const passed = results.filter((result) => result.exitCode === 0).length
  console.log(`${passed}/${runs} runs passed`)
  if (passed !== runs) process.exitCode = 1
}

await main()
