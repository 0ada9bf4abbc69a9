// Overhead of the prover runner's Noir proving over bare bb.js proving of the same circuit (noir/poseidon2_preimage,
// UltraHonk, ZK flavour by default, on the DEVELOPMENT CRS).
//   npm run bench:noir                               → a table
//   npm run bench:noir -- --json                     → the same figures as JSON
//   npm run bench:noir -- --proofs 30 --flavour no-zk
//
// Method. The same statements (random preimage, its Poseidon2 digest, a random context) are proven four ways, in
// rotating order after a warm-up, each on its own Barretenberg (patched dev WASM, dev CRS, --threads threads):
// - bare bb.js: what a Noir app does with the documented API: `new Noir(program).execute(inputs)` (noir_js), then
//   `new UltraHonkBackend(bytecode, api).generateProof(witness, { verifierTarget })`. bb.js prints a line per proof
//   from generateProof; console.log is silenced for the run so the terminal is not part of the measure.
// - bare bb.js with the key: the same, but `api.circuitProve` given the verification key computed once (what
//   generateProof does minus recomputing the key; what the runner's backend calls).
// - the Noir backend's prove() alone, on the plaintext private inputs: where the runner's time goes.
// - runner: the statement as a task through the runner's scheduler and job path (enclave/prover/scheduler.ts,
//   job.ts): deadline signal, inputs checked against the request's inputsDigest, the data key unwrapped with the
//   enclave keyring and the private inputs decrypted (ECIES + AES-GCM), the Noir backend (ABI checks, noir_js
//   witness, bb.js proof, public-input check), the Fulfilment and its fulfilBatch calldata; no chain.
// Overhead = (runner − bare) / bare, of means and of medians; the target is ≤ 5 % over bare bb.js.
// Paired: every statement is proven all four ways back to back, so each gives a ratio runner / keyed taken under the
// same load; the median of those ratios, with a 95 % bootstrap interval, is the steady figure on a busy machine (the
// spread of single proofs there is several times the overhead being measured). The runner's own work, the part of a
// task spent outside the backend's prove() (scheduler, decryption, calldata), is timed directly in every task.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { UltraHonkBackend } from '@aztec/bb.js'
import { type CompiledCircuit, Noir } from '@noir-lang/noir_js'
import { toHex, zeroAddress, zeroHash } from 'viem'
import {
  createNoirBackend,
  INSECURE_DEV_CRS,
  NOIR_FLAVOURS,
  type NoirFlavour,
  poseidon2PreimageProgram,
  readNoirProgram,
} from '../../enclave/prover/backends/noir.js'
import { openDevBarretenberg } from '../../noir/dev-crs/index.mjs'
import { randomFieldElement } from '../../ts/devnet/scenario.js'
import { type NoirProgram, noirRequestInputs, poseidon2Hash } from '../../ts/noir.js'
import { createBenchRunner } from './runner-path.js'
import { type Summary, summary } from './summary.js'

const { values: flags } = parseArgs({
  options: {
    proofs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    flavour: { type: 'string', default: 'zk' },
    threads: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
})
const PROOFS = Number(flags.proofs)
const WARMUP = Number(flags.warmup)
const THREADS = Number(flags.threads)
if (!(flags.flavour in NOIR_FLAVOURS)) throw new Error(`--flavour: zk or no-zk, not ${flags.flavour}`)
const FLAVOUR = flags.flavour as NoirFlavour
const VERIFIER_TARGET = NOIR_FLAVOURS[FLAVOUR]
const MARKET_ID = 1n

type Statement = { digest: bigint; context: bigint; preimage: bigint }
type Figures = {
  circuit: string
  flavour: NoirFlavour
  threads: number
  proofs: number
  bareMs: Summary
  bareWithKeyMs: Summary
  /** The Noir backend's prove() alone, plaintext inputs. */
  backendMs: Summary
  runnerMs: Summary
  /** (runner mean − bare mean) / bare mean, in percent. */
  overheadPercent: number
  overheadPercentMedian: number
  /** The same against bare bb.js given the verification key. */
  overheadOverKeyedPercent: number
  overheadOverKeyedPercentMedian: number
  /** Median over statements of runner / keyed (each pair proven back to back), in percent, with a 95 % interval. */
  pairedOverKeyedPercent: { median: number; low: number; high: number }
  /** Per task, the runner's time outside the backend's prove(). */
  runnerOwnMs: Summary
}

const fieldInputs = (s: Statement) => ({
  digest: toHex(s.digest),
  context: toHex(s.context),
  preimage: toHex(s.preimage),
})

/** Bare bb.js, as its documentation shows: noir_js witness, then generateProof (the key recomputed every time). */
async function barePath(program: NoirProgram) {
  const api = await openDevBarretenberg({ numPoints: 513, threads: THREADS })
  const noir = new Noir(program as CompiledCircuit)
  const backend = new UltraHonkBackend(program.bytecode, api)
  const bytecode = gunzipSync(Buffer.from(program.bytecode, 'base64'))
  const settings = {
    ipaAccumulation: false,
    oracleHashType: 'keccak',
    disableZk: FLAVOUR === 'no-zk',
    optimizedSolidityVerifier: false,
  }
  const { bytes: verificationKey } = await api.circuitComputeVk({ circuit: { name: 'circuit', bytecode }, settings })
  const log = console.log
  return {
    async run(s: Statement): Promise<number> {
      console.log = () => {}
      try {
        const started = performance.now()
        const { witness } = await noir.execute(fieldInputs(s))
        await backend.generateProof(witness, { verifierTarget: VERIFIER_TARGET })
        return performance.now() - started
      } finally {
        console.log = log
      }
    },
    async runWithKey(s: Statement): Promise<number> {
      const started = performance.now()
      const { witness } = await noir.execute(fieldInputs(s))
      await api.circuitProve({
        witness: gunzipSync(witness),
        circuit: { name: 'circuit', bytecode, verificationKey },
        settings,
      })
      return performance.now() - started
    },
    stop: () => api.destroy(),
  }
}

/** The runner's proving path over the Noir backend, and the backend's prove() alone. */
async function runnerPath(program: NoirProgram, directory: string) {
  const backend = await createNoirBackend({ program, flavour: FLAVOUR, crs: INSECURE_DEV_CRS, threads: THREADS })
  // The same backend, its prove() timed: what a task spends outside it is the runner's own work.
  let proving = 0
  const timed: typeof backend = {
    ...backend,
    prove: async (job) => {
      const started = performance.now()
      try {
        return await backend.prove(job)
      } finally {
        proving += performance.now() - started
      }
    },
  }
  const runner = await createBenchRunner({ directory, backend: timed, kind: 'noir' })
  /** The task's milliseconds, and of those the runner's own (outside the backend's prove()). */
  const run = async (s: Statement): Promise<{ ms: number; ownMs: number }> => {
    const inputs = noirRequestInputs(program.abi, fieldInputs(s))
    proving = 0
    const ms = await runner.run({
      publicInputs: inputs.publicInputs,
      privateInputs: inputs.privateInputs as Uint8Array,
    })
    return { ms, ownMs: ms - proving }
  }

  /** Milliseconds of the Noir backend's prove() alone, on the plaintext private inputs (no scheduler, no decryption). */
  async function runBackend(s: Statement): Promise<number> {
    const inputs = noirRequestInputs(program.abi, fieldInputs(s))
    const started = performance.now()
    await backend.prove({
      requestId: 1n,
      marketId: MARKET_ID,
      statement: { requestId: 1n, prover: zeroAddress, inputsDigest: zeroHash },
      publicInputs: inputs.publicInputs,
      privateInputs: inputs.privateInputs as Uint8Array,
    })
    return performance.now() - started
  }

  return {
    run,
    runBackend,
    stop: async () => {
      runner.stop()
      await backend.destroy()
    },
  }
}

async function run(): Promise<Figures> {
  const program = await readNoirProgram(poseidon2PreimageProgram)
  const statements: Statement[] = []
  for (let i = 0; i < PROOFS + WARMUP; i++) {
    const preimage = randomFieldElement()
    statements.push({ preimage, context: randomFieldElement(), digest: await poseidon2Hash([preimage]) })
  }
  const directory = await mkdtemp(join(tmpdir(), 'cairn-bench-noir-'))
  const bare = await barePath(program)
  const runner = await runnerPath(program, directory)
  const samples = { bare: [] as number[], keyed: [] as number[], backend: [] as number[], runner: [] as number[] }
  const ownMs: number[] = []
  try {
    for (const [i, s] of statements.entries()) {
      // Rotate the order, so none always runs first (or on the warmest cache).
      const ways = [
        ['bare', () => bare.run(s)],
        ['keyed', () => bare.runWithKey(s)],
        ['backend', () => runner.runBackend(s)],
        [
          'runner',
          async () => {
            const timing = await runner.run(s)
            if (i >= WARMUP) ownMs.push(timing.ownMs)
            return timing.ms
          },
        ],
      ] as const
      for (let k = 0; k < ways.length; k++) {
        const [name, work] = ways[(i + k) % ways.length] as (typeof ways)[number]
        const ms = await work()
        if (i >= WARMUP) samples[name].push(ms)
      }
    }
  } finally {
    await runner.stop()
    await bare.stop()
    await rm(directory, { recursive: true, force: true })
  }
  const [bareMs, bareWithKeyMs, backendMs, runnerMs] = [
    summary(samples.bare),
    summary(samples.keyed),
    summary(samples.backend),
    summary(samples.runner),
  ]
  const percent = (a: number, b: number) => ((a - b) / b) * 100
  const ratios = samples.runner.map((ms, i) => ms / (samples.keyed[i] as number))
  return {
    circuit: 'noir/poseidon2_preimage',
    flavour: FLAVOUR,
    threads: THREADS,
    proofs: PROOFS,
    bareMs,
    bareWithKeyMs,
    backendMs,
    runnerMs,
    overheadPercent: percent(runnerMs.mean, bareMs.mean),
    overheadPercentMedian: percent(runnerMs.median, bareMs.median),
    overheadOverKeyedPercent: percent(runnerMs.mean, bareWithKeyMs.mean),
    overheadOverKeyedPercentMedian: percent(runnerMs.median, bareWithKeyMs.median),
    pairedOverKeyedPercent: pairedOverhead(ratios),
    runnerOwnMs: summary(ownMs),
  }
}

/** Median of the paired ratios as an overhead in percent, with a 95 % bootstrap interval of that median. */
function pairedOverhead(ratios: number[]): { median: number; low: number; high: number } {
  const median = (values: number[]) => summary(values).median
  const medians: number[] = []
  for (let round = 0; round < 2_000; round++) {
    const resampled = ratios.map(() => ratios[Math.floor(Math.random() * ratios.length)] as number)
    medians.push(median(resampled))
  }
  medians.sort((a, b) => a - b)
  const at = (q: number) => ((medians[Math.floor(q * (medians.length - 1))] as number) - 1) * 100
  return { median: (median(ratios) - 1) * 100, low: at(0.025), high: at(0.975) }
}

function table(f: Figures): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`
  const line = (s: Summary) => `mean ${ms(s.mean)}, median ${ms(s.median)}, min ${ms(s.min)}, max ${ms(s.max)}`
  const pct = (mean: number, median: number) => `${mean.toFixed(2)} % (mean), ${median.toFixed(2)} % (median)`
  const rows: [string, string][] = [
    [`proofs (${f.circuit}, ${f.flavour}, ${f.threads} thread(s), DEV CRS)`, String(f.proofs)],
    ['bare bb.js: noir_js execute + generateProof', line(f.bareMs)],
    ['bare bb.js given the key: execute + circuitProve', line(f.bareWithKeyMs)],
    ['Noir backend prove() alone (plaintext inputs)', line(f.backendMs)],
    ['runner: scheduler, job path, Noir backend', line(f.runnerMs)],
    ['runner overhead over bare bb.js', pct(f.overheadPercent, f.overheadPercentMedian)],
    [
      'runner overhead over bare bb.js given the key',
      pct(f.overheadOverKeyedPercent, f.overheadOverKeyedPercentMedian),
    ],
    [
      'same, paired: median of runner / keyed per statement',
      `${f.pairedOverKeyedPercent.median.toFixed(2)} % (95 % interval ${f.pairedOverKeyedPercent.low.toFixed(2)} to ${f.pairedOverKeyedPercent.high.toFixed(2)} %)`,
    ],
    ['runner’s own work per task (outside prove())', line(f.runnerOwnMs)],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

const figures = await run()
if (flags.json) console.log(JSON.stringify(figures, null, 2))
else console.log(table(figures))
process.exit(0)
