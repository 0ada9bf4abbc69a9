// CPU time of `cairn --help` as a user starts it (bin/cairn), the figure README quotes against the ≤ 0.3 s target.
//   npm run bench:cli                 → N runs (default 10) and the mean CPU time per run
//   npm run bench:cli -- --runs 20 --json
//   npm run bench:cli -- --args 'market --help'
//   npm run bench:cli -- --source     → from the TypeScript sources through tsx (how bin/cairn ran before dist/)
//
// CPU (user + system) rather than wall time: on a busy machine wall time measures the other processes. The shell's
// `times` builtin reports its finished children's CPU, which Node does not expose for a child process.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freshCompiled } from '../../bin/compiled.mjs'
import { repoRoot } from '../../ts/devnet/paths.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    args: { type: 'string', default: '--help' },
    json: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
  },
})
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive integer, got ${values.runs}`)

const cairn = join(repoRoot, 'bin', 'cairn')
const script = `for i in $(seq ${runs}); do "$0" ${values.args} >/dev/null || exit 1; done; times`
// `times` prints two lines: this shell's CPU, then its children's: "0m1.234s 0m0.567s".
const env = { ...process.env, CAIRN_FROM_SOURCE: values.source ? '1' : '0' }
const output = execFileSync('sh', ['-c', script, cairn], { cwd: repoRoot, encoding: 'utf8', env })
const childLine = output.trim().split('\n').at(-1) ?? ''
const seconds = [...childLine.matchAll(/(\d+)m([\d.]+)s/g)].map(([, m, s]) => Number(m) * 60 + Number(s))
if (seconds.length !== 2) throw new Error(`unexpected \`times\` output: ${JSON.stringify(output)}`)
const [user = 0, system = 0] = seconds
const perRun = (user + system) / runs
const result = {
  command: `cairn ${values.args}`,
  runs,
  cpuSecondsPerRun: Number(perRun.toFixed(3)),
  userSeconds: user,
  systemSeconds: system,
  from: values.source || freshCompiled('ts/cli/main.ts') === undefined ? 'TypeScript sources (tsx)' : 'compiled dist/',
  target: 0.3,
}
if (values.json) console.log(JSON.stringify(result, null, 2))
else {
  console.log(`${result.command}: ${perRun.toFixed(3)} s CPU per run (mean of ${runs}; target ≤ 0.3 s)`)
  console.log(`from ${result.from}`)
}
