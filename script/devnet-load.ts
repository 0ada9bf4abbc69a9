// Runs the devnet smoke run (`script/devnet.ts --once`) several times in a row while other processes keep CPU cores
// busy, as on a laptop doing other work, and reports how many runs reached their proofs and how long each took.
//   npm run check:devnet-load                        # 10 runs, one core kept busy
//   npm run check:devnet-load -- --runs 3 --busy 2   # 3 runs, two cores kept busy
// Build first (`npm run build`, which `npm run devnet` also runs). Each run's output goes to
// .devnet-load/run-<n>.log. Exits 1 unless every run reached its proofs.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { repoRoot } from '../ts/devnet/paths.js'
import { keepCoresBusy, nonNegativeInteger, positiveInteger } from './load/busy.js'

type RunResult = { run: number; exitCode: number | null; seconds: number; firstProofSeconds: number | undefined }

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    busy: { type: 'string', default: '1' },
  },
})
const runs = positiveInteger(values.runs, '--runs')
const busyCores = nonNegativeInteger(values.busy, '--busy')
const logDir = join(repoRoot, '.devnet-load')

/** The devnet's own clock at its first "proof verified on chain" line, in seconds. */
function firstProofAt(log: string): number | undefined {
  const line = log.split('\n').find((text) => text.includes('proof verified on chain'))
  const seconds = line?.match(/^\s*([\d.]+) s/)?.[1]
  return seconds === undefined ? undefined : Number(seconds)
}

async function runOnce(run: number): Promise<RunResult> {
  const logPath = join(logDir, `run-${run}.log`)
  const log = createWriteStream(logPath)
  const started = performance.now()
  const child = spawn('npx', ['tsx', 'script/devnet.ts', '--once'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve))
  await new Promise<void>((resolve) => log.end(resolve))
  const seconds = (performance.now() - started) / 1000
  return { run, exitCode, seconds, firstProofSeconds: firstProofAt(await readFile(logPath, 'utf8')) }
}

async function main(): Promise<void> {
  await rm(logDir, { recursive: true, force: true })
  await mkdir(logDir, { recursive: true })
  const stopBusy = keepCoresBusy(busyCores)
  console.log(`devnet load check: ${runs} runs of script/devnet.ts --once, ${busyCores} core(s) kept busy`)
  const results: RunResult[] = []
  try {
    for (let run = 1; run <= runs; run++) {
      const result = await runOnce(run)
      results.push(result)
      const proof = result.firstProofSeconds === undefined ? 'no proof' : `first proof at ${result.firstProofSeconds} s`
      const verdict = result.exitCode === 0 ? 'ok' : `FAILED (exit ${result.exitCode}), see .devnet-load/run-${run}.log`
      console.log(`run ${run}: ${verdict}, ${result.seconds.toFixed(0)} s in all, ${proof}`)
    }
  } finally {
    stopBusy()
  }
  const passed = results.filter((result) => result.exitCode === 0).length
  const proofTimes = results.flatMap((result) => result.firstProofSeconds ?? []).sort((a, b) => a - b)
  const median = proofTimes[Math.floor(proofTimes.length / 2)]
  console.log(`${passed}/${runs} runs reached their proofs; median time to first proof ${median ?? '-'} s`)
  if (passed !== runs) process.exitCode = 1
}

await main()
