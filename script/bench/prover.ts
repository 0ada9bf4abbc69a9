// Overhead of the prover runner's job path over bare snarkjs, on the Poseidon-preimage circuit.
//   npm run bench:prover                         → a table
//   npm run bench:prover -- --json               → the same figures as JSON
//   npm run bench:prover -- --proofs 40 --chain  → more proofs, plus fulfil / fulfilBatch latency on anvil
//
// Bare: groth16.fullProve(input, wasm, zkey) single-threaded, nothing else. Runner: the same statement as a task
// through the runner's scheduler and job path (enclave/prover/scheduler.ts, job.ts): deadline signal, inputs
// checked against the request's inputsDigest, the private inputs unwrapped with the enclave keyring and decrypted (ECIES + AES-GCM), the Groth16 backend
// (witness, proof, public-signal check), the Fulfilment, its fulfilBatch calldata, and the per-task bookkeeping
// (metrics, task state). Both run the same statements, alternating, after a warm-up; chain latency is excluded
// (--chain measures it separately on a devnet: mined fulfil and fulfilBatch transactions of proofs made beforehand).
// TEE-WASM: one prove() of the tee-wasm backend on the sha256_preimage program (a 1 KiB private preimage), end to
// end: the program's sandbox run, the output check and the signature; its cost is almost all sandbox overhead.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { groth16 } from 'snarkjs'
import { concat, type Hex, keccak256, parseEther, sha256, stringToBytes, zeroAddress, zeroHash } from 'viem'
import { createPoseidonPreimageBackend } from '../../enclave/prover/backends/groth16.js'
import { createTeeWasmBackend } from '../../enclave/prover/backends/tee-wasm.js'
import { sha256PreimageProgram } from '../../enclave/prover/markets.js'
import { signAssignments, submitAssignments, withListedTerms } from '../../ts/assignment.js'
import { freePort } from '../../ts/devnet/anvil.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../../ts/devnet/scenario.js'
import { startDevnet } from '../../ts/devnet/stack.js'
import { poseidonPreimageCircuit, provePoseidonPreimage } from '../../ts/groth16.js'
import { createMarket } from '../../ts/market.js'
import { list, register, stake } from '../../ts/prover.js'
import { chainTime } from '../../ts/readers.js'
import { createRequest } from '../../ts/requests.js'
import { fulfil, fulfilBatch } from '../../ts/settlement.js'
import { mintDevToken } from '../../ts/tokens.js'
import type { TaskRecords } from '../../ts/types.js'
import { createBenchRunner } from './runner-path.js'
import { type Summary, summary } from './summary.js'

const { values: flags } = parseArgs({
  options: {
    proofs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    chain: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})
const PROOFS = Number(flags.proofs)
const WARMUP = Number(flags.warmup)
const CHAIN_ID = 31337
const MARKETPLACE = '0x00000000000000000000000000000000000c0ffe'
const MARKET_ID = 1n

type Statement = Awaited<ReturnType<typeof preimageStatement>>

type Figures = {
  proofs: number
  bareMs: Summary
  runnerMs: Summary
  /** (runner mean − bare mean) / bare mean, in percent. */
  overheadPercent: number
  /** The same, from medians. */
  overheadPercentMedian: number
  /** One tee-wasm prove() of the sha256_preimage program. */
  teeWasmMs: Summary
  chain?: ChainFigures
}
type ChainFigures = { fulfilMs: Summary; fulfilBatchMs: Summary; batchSize: number; batchMsPerProof: number }

async function bare(statement: Statement): Promise<number> {
  const started = performance.now()
  await groth16.fullProve(
    { preimage: statement.preimage, context: statement.context },
    poseidonPreimageCircuit.wasm,
    poseidonPreimageCircuit.zkey,
    undefined,
    undefined,
    { singleThread: true },
  )
  return performance.now() - started
}

/** The runner's proving path over the Groth16 backend; the preimage travels as the backend reads it (JSON). */
async function runnerPath(directory: string) {
  const runner = await createBenchRunner({ directory, backend: await createPoseidonPreimageBackend(), kind: 'groth16' })
  const run = (statement: Statement) =>
    runner.run({
      publicInputs: statement.publicInputs,
      privateInputs: stringToBytes(JSON.stringify({ preimage: statement.preimage.toString() })),
    })
  return { run, stop: runner.stop }
}

/** Milliseconds per tee-wasm prove() (sandboxed run, output check, signature), after the warm-up. */
async function teeWasm(): Promise<number[]> {
  const backend = await createTeeWasmBackend({
    module: new Uint8Array(await readFile(sha256PreimageProgram)),
    signer: `0x${'11'.repeat(32)}`,
    verifier: zeroAddress,
    chainId: CHAIN_ID,
    marketplace: MARKETPLACE,
  })
  const preimage = new Uint8Array(1_024).map((_, i) => i & 0xff)
  const publicInputs = concat([zeroHash, sha256(preimage)])
  const statement = { requestId: 1n, prover: zeroAddress, inputsDigest: keccak256(publicInputs) }
  const job = { requestId: 1n, marketId: MARKET_ID, statement, publicInputs }
  const samples: number[] = []
  for (let i = 0; i < PROOFS + WARMUP; i++) {
    const started = performance.now()
    await backend.prove({ ...job, privateInputs: preimage })
    if (i >= WARMUP) samples.push(performance.now() - started)
  }
  return samples
}

/** Mined fulfil (one proof each) and fulfilBatch (all the rest at once) transactions on a fresh devnet. */
async function chainLatency(count: number): Promise<ChainFigures> {
  const port = await freePort()
  const devnet = await startDevnet({ port, deploymentOut: `deployments/bench-${port}.json`, throwaway: true })
  try {
    const { actors, deployment, reader } = devnet
    const prover = actors.prover.wallet.account.address
    const requester = actors.requester.wallet.account.address
    const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
    await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, parseEther('100000'))
    await register(actors.prover, { capacity: 2 * count })
    await stake(actors.prover, { amount: parseEther('100000') })
    await list(actors.prover, { marketId, price: parseEther('1'), provingTime: 600 })
    await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, parseEther('2') * BigInt(count))

    const tasks: { records: TaskRecords; publicInputs: Hex; proof: Hex }[] = []
    for (let i = 0; i < count; i++) {
      const statement = await preimageStatement()
      const params = preimageRequest({
        marketId,
        now: await chainTime(reader),
        publicInputs: statement.publicInputs,
        maxReward: parseEther('2'),
        refundAddress: requester,
      })
      const created = await createRequest(actors.requester, params)
      const batch = await signAssignments(actors.matcher, {
        assignments: await withListedTerms(reader, [
          { requestId: created.requestId, prover, request: created.request },
        ]),
        validUntil: (await chainTime(reader)) + 300n,
      })
      const [assigned] = (await submitAssignments(actors.bystander, batch)).assigned
      if (!assigned) throw new Error('not assigned')
      const proof = await provePoseidonPreimage(statement.preimage, statement.context)
      tasks.push({ records: assigned, publicInputs: proof.publicInputs, proof: proof.proof })
    }
    const single = tasks.slice(0, Math.ceil(count / 2))
    const batched = tasks.slice(single.length)
    const fulfilMs: number[] = []
    for (const { records, publicInputs, proof } of single) {
      const started = performance.now()
      await fulfil(actors.prover, { ...records, publicInputs, proof })
      fulfilMs.push(performance.now() - started)
    }
    const started = performance.now()
    const outcome = await fulfilBatch(
      actors.prover,
      batched.map(({ records, publicInputs, proof }) => ({ ...records, publicInputs, proof })),
    )
    const batchMs = performance.now() - started
    if (outcome.fulfilled.length !== batched.length) throw new Error('a batched fulfilment was skipped')
    return {
      fulfilMs: summary(fulfilMs),
      fulfilBatchMs: summary([batchMs]),
      batchSize: batched.length,
      batchMsPerProof: batchMs / batched.length,
    }
  } finally {
    await devnet.stop()
  }
}

async function run(): Promise<Figures> {
  const statements = await Promise.all(Array.from({ length: PROOFS + WARMUP }, () => preimageStatement()))
  const directory = await mkdtemp(join(tmpdir(), 'cairn-bench-prover-'))
  const runner = await runnerPath(directory)
  const bareMs: number[] = []
  const runnerMs: number[] = []
  try {
    for (const [i, statement] of statements.entries()) {
      // Alternate which goes first, so neither always runs on a warmer cache.
      const [first, second] =
        i % 2 === 0
          ? [() => bare(statement), () => runner.run(statement)]
          : [() => runner.run(statement), () => bare(statement)]
      const a = await first()
      const b = await second()
      if (i < WARMUP) continue
      bareMs.push(i % 2 === 0 ? a : b)
      runnerMs.push(i % 2 === 0 ? b : a)
    }
  } finally {
    await runner.stop()
    await rm(directory, { recursive: true, force: true })
  }
  const bareSummary = summary(bareMs)
  const runnerSummary = summary(runnerMs)
  return {
    proofs: PROOFS,
    bareMs: bareSummary,
    runnerMs: runnerSummary,
    overheadPercent: ((runnerSummary.mean - bareSummary.mean) / bareSummary.mean) * 100,
    overheadPercentMedian: ((runnerSummary.median - bareSummary.median) / bareSummary.median) * 100,
    teeWasmMs: summary(await teeWasm()),
    ...(flags.chain ? { chain: await chainLatency(Math.max(2, Math.min(PROOFS, 10))) } : {}),
  }
}

function table(figures: Figures): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`
  const line = (s: Summary) => `mean ${ms(s.mean)}, median ${ms(s.median)}, min ${ms(s.min)}, max ${ms(s.max)}`
  const rows: [string, string][] = [
    ['proofs (poseidon_preimage)', String(figures.proofs)],
    ['bare snarkjs fullProve', line(figures.bareMs)],
    ['runner job path', line(figures.runnerMs)],
    [
      'runner overhead',
      `${figures.overheadPercent.toFixed(2)} % (mean), ${figures.overheadPercentMedian.toFixed(2)} % (median)`,
    ],
    ['tee-wasm prove (sha256_preimage)', line(figures.teeWasmMs)],
  ]
  if (figures.chain) {
    rows.push(['anvil: fulfil, mined', line(figures.chain.fulfilMs)])
    rows.push([
      `anvil: fulfilBatch of ${figures.chain.batchSize}, mined`,
      `${ms(figures.chain.fulfilBatchMs.mean)} (${ms(figures.chain.batchMsPerProof)} per proof)`,
    ])
  }
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

const figures = await run()
if (flags.json) console.log(JSON.stringify(figures, null, 2))
else console.log(table(figures))
// snarkjs leaves its curve workers' handles open; the figures are out.
process.exit(0)
