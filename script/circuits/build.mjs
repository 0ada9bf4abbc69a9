#!/usr/bin/env node
// Reproducible, offline build of the Cairn dev circuit (circuits/poseidon_preimage.circom).
//
//   node script/circuits/build.mjs                  build every artifact, then regenerate the proof fixtures
//   node script/circuits/build.mjs --fixtures-only  regenerate circuits/build/fixtures.json and batch-fixtures.json
//                                                   from the committed artifacts (FIXTURE_SET=<path>: only that one)
//   node script/circuits/build.mjs --check          rebuild into a temp dir and compare with circuits/build/manifest.json
//
// Pipeline: circom2 (wasm compiler) -> r1cs + witness wasm; powers of tau (bn128, 2^12) with one public beacon
// contribution -> phase 2; Groth16 setup with one public beacon contribution -> zkey, verification key and
// Solidity verifier. Every step is deterministic (the only "randomness" is a ChaCha stream seeded from a fixed beacon
// hash), so re-running produces byte-identical wasm/zkey/vkey/verifier. Proof fixtures are randomized by the prover
// (Groth16 r, s blinding) and are not byte-reproducible; they are checked against the verification key instead.
//
// THE DEV SETUP IS NOT SECURE: the toxic waste is derivable from the public beacon hashes below. See circuits/README.md.

import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as snarkjs from 'snarkjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CIRCUIT_NAME = 'poseidon_preimage'
const CIRCUIT = 'circuits/poseidon_preimage.circom'
const CONTRACT_NAME = 'PoseidonPreimageGroth16Verifier'
const SOLIDITY_PRAGMA = 'pragma solidity 0.8.30;'
// circom simplification level, pinned explicitly so a change of circom's default cannot silently change the r1cs.
const CIRCOM_OPTIMIZATION = '--O2'
const PTAU_POWER = 12
const BEACON_SEED = 'cairn dev ceremony'
const BEACON_ITERATIONS_EXP = 10
const PHASE1_BEACON = sha256Hex(`${BEACON_SEED}: phase 1`)
const PHASE2_BEACON = sha256Hex(`${BEACON_SEED}: phase 2`)
// Poseidon([1]) over bn128 (t = 2), the circomlib / circomlibjs reference vector: a known-answer test for the circuit.
const POSEIDON_OF_ONE = '18586133768512220936620570745912940619677854269274689475585506675881198879027'
// The proof fixtures: `count` proofs of preimages first..first+count-1 with contexts context0+preimage. The second set
// feeds the batch-verification tests (Groth16BatchVerifier: batches of up to 32 proofs of one verifying key).
const FIXTURE_SETS = [
  { path: 'circuits/build/fixtures.json', count: 10, first: 1, context0: 1000 },
  { path: 'circuits/build/batch-fixtures.json', count: 32, first: 101, context0: 2000 },
]

// Repository-relative output paths (these are what the manifest records).
const OUT = {
  wasm: 'circuits/build/poseidon_preimage.wasm',
  zkey: 'circuits/build/poseidon_preimage.zkey',
  vkey: 'circuits/build/poseidon_preimage.vkey.json',
  verifier: 'src/verifiers/generated/PoseidonPreimageGroth16Verifier.sol',
}
const MANIFEST = 'circuits/build/manifest.json'

const CIRCOM_BIN = join(ROOT, 'node_modules', '.bin', 'circom2')
// bin/foundry.mjs keeps forge's exit status (the npm launcher always exits 0).
const FOUNDRY = join(ROOT, 'bin', 'foundry.mjs')
const GROTH16_TEMPLATE = join(ROOT, 'node_modules', 'snarkjs', 'templates', 'verifier_groth16.sol.ejs')

const started = performance.now()
const tempDirs = []

// snarkjs' zkey verification (zkey_verify_frominit.js) leaves a ptau FileHandle open, which Node reports as a
// DEP0137 warning once it is garbage collected. It is harmless (the file is read-only and in our temp dir): hide only it.
process.removeAllListeners('warning')
process.on('warning', (w) => {
  if (w.code === 'DEP0137' || /^Closing file descriptor \d+ on garbage collection$/.test(w.message)) return
  console.warn(`${w.name}: ${w.message}`)
})

function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex')
}

const sha256File = (path) => sha256Hex(readFileSync(path))
const abs = (rel) => join(ROOT, rel)
const ms = (since) => `${Math.round(performance.now() - since)} ms`
const toWord = (value) => BigInt(value).toString(16).padStart(64, '0')
const writeJson = (path, value) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)

function makeTempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-circuits-'))
  tempDirs.push(dir)
  return dir
}

/** Runs one named pipeline step and logs its duration. */
async function step(name, fn) {
  const t = performance.now()
  const result = await fn()
  console.log(`[circuits] ${name} (${ms(t)})`)
  return result
}

/** Runs a Node tool script with cwd = repository root and fails loudly on a non-zero exit. */
function run(bin, args, input) {
  const res = spawnSync(process.execPath, [bin, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (res.error) throw res.error
  if (res.status !== 0) {
    throw new Error(`${relative(ROOT, bin)} ${args.join(' ')} exited with ${res.status}\n${res.stdout}\n${res.stderr}`)
  }
  return res.stdout
}

/** Throws unless snarkjs reported success (several snarkjs functions return false instead of throwing). */
function expectOk(result, what) {
  if (result === false) throw new Error(`snarkjs: ${what} failed`)
  return result
}

function toolchain() {
  const circom = run(CIRCOM_BIN, ['--version']).match(/circom compiler (\S+)/)?.[1]
  const circom2 = JSON.parse(readFileSync(abs('node_modules/circom2/package.json'), 'utf8')).version
  const snarkjsVersion = JSON.parse(readFileSync(abs('node_modules/snarkjs/package.json'), 'utf8')).version
  const forge = run(FOUNDRY, ['forge', '--version']).match(/Version:\s*(\S+)/)?.[1]
  if (!circom || !forge) throw new Error('could not determine the circom / forge versions')
  return { circom, circom2, snarkjs: snarkjsVersion, forge }
}

/** Turns the snarkjs template output into the committed verifier source. */
function postProcessVerifier(source) {
  const replaceOnce = (text, pattern, replacement, what) => {
    const count = text.match(new RegExp(pattern.source, 'g'))?.length ?? 0
    if (count !== 1) throw new Error(`verifier template: expected exactly one ${what}, found ${count}`)
    return text.replace(pattern, replacement)
  }
  let out = replaceOnce(source, /contract Groth16Verifier\b/, `contract ${CONTRACT_NAME}`, 'contract declaration')
  out = replaceOnce(out, /pragma solidity [^;]+;/, SOLIDITY_PRAGMA, 'pragma')
  out = replaceOnce(
    out,
    /^(\/\/ SPDX-License-Identifier: [^\n]+\n)/,
    `$1// Generated by script/circuits/build.mjs from ${CIRCUIT} (snarkjs Groth16 template). DO NOT EDIT.\n` +
      '// Rebuild with `npm run build:circuits`; CI checks it with `node script/circuits/build.mjs --check`.\n',
    'SPDX line',
  )
  // Formatted with the repository's forge fmt settings so `forge fmt --check` passes (uint -> uint256 etc.).
  return run(FOUNDRY, ['forge', 'fmt', '--raw', '-'], out)
}

/**
 * Builds every deterministic artifact into `outDir` (flat file names) and returns the manifest describing them.
 * The manifest is keyed by the repository paths the artifacts are committed under.
 */
async function buildArtifacts(outDir) {
  const work = makeTempDir()
  const compileDir = join(work, 'compile')
  mkdirSync(compileDir)
  const r1cs = join(compileDir, `${CIRCUIT_NAME}.r1cs`)
  const pot0 = join(work, 'pot_0000.ptau')
  const pot1 = join(work, 'pot_0001.ptau')
  const potFinal = join(work, 'pot_final.ptau')
  const zkey0 = join(work, `${CIRCUIT_NAME}_0000.zkey`)
  const files = {
    wasm: join(outDir, `${CIRCUIT_NAME}.wasm`),
    zkey: join(outDir, `${CIRCUIT_NAME}.zkey`),
    vkey: join(outDir, `${CIRCUIT_NAME}.vkey.json`),
    verifier: join(outDir, `${CONTRACT_NAME}.sol`),
  }

  const tools = await step('toolchain versions', () => toolchain())

  // circom2 runs under WASI and only sees the cwd and its ancestors, so the circuit path and `-l` are cwd-relative.
  await step(`compile ${CIRCUIT} (circom ${tools.circom}, ${CIRCOM_OPTIMIZATION})`, () =>
    run(CIRCOM_BIN, [CIRCUIT, '--r1cs', '--wasm', CIRCOM_OPTIMIZATION, '-l', 'node_modules', '-o', compileDir]),
  )
  copyFileSync(join(compileDir, `${CIRCUIT_NAME}_js`, `${CIRCUIT_NAME}.wasm`), files.wasm)

  const info = await step('r1cs info', () => snarkjs.r1cs.info(r1cs))
  if (info.nPubInputs !== 1 || info.nOutputs !== 1 || info.nPrvInputs !== 1) {
    throw new Error(`unexpected circuit interface: ${info.nPubInputs} public inputs, ${info.nOutputs} outputs`)
  }
  if (2 ** PTAU_POWER < info.nConstraints + info.nPubInputs + info.nOutputs + 1) {
    throw new Error(`2^${PTAU_POWER} powers of tau are too few for ${info.nConstraints} constraints`)
  }
  console.log(`[circuits]   ${info.nConstraints} constraints, ${info.nVars} wires`)

  const curve = await snarkjs.curves.getCurveFromName('bn128')
  await step(`powers of tau: new accumulator (bn128, 2^${PTAU_POWER})`, () =>
    snarkjs.powersOfTau.newAccumulator(curve, PTAU_POWER, pot0),
  )
  await step('powers of tau: beacon contribution', async () =>
    expectOk(
      await snarkjs.powersOfTau.beacon(pot0, pot1, 'cairn dev phase 1 beacon', PHASE1_BEACON, BEACON_ITERATIONS_EXP),
      'powersOfTau.beacon',
    ),
  )
  await step('powers of tau: prepare phase 2', () => snarkjs.powersOfTau.preparePhase2(pot1, potFinal))
  await step('groth16 setup (zkey new)', () => snarkjs.zKey.newZKey(r1cs, potFinal, zkey0))
  await step('zkey: beacon contribution', async () =>
    expectOk(
      await snarkjs.zKey.beacon(zkey0, files.zkey, 'cairn dev phase 2 beacon', PHASE2_BEACON, BEACON_ITERATIONS_EXP),
      'zKey.beacon',
    ),
  )
  await step('zkey: verify against r1cs + ptau', async () => {
    if (!(await snarkjs.zKey.verifyFromR1cs(r1cs, potFinal, files.zkey))) throw new Error('zkey verification failed')
  })

  const vkey = await step('export verification key', () => snarkjs.zKey.exportVerificationKey(files.zkey))
  writeJson(files.vkey, vkey)

  await step('export Solidity verifier', async () => {
    const rendered = await snarkjs.zKey.exportSolidityVerifier(files.zkey, {
      groth16: readFileSync(GROTH16_TEMPLATE, 'utf8'),
    })
    writeFileSync(files.verifier, postProcessVerifier(rendered))
  })

  // Phase-1/2 intermediates (ptau files are tens of MB) never leave the temp dir.
  rmSync(work, { recursive: true, force: true })

  const manifest = {
    circuit: CIRCUIT,
    circuitSha256: sha256File(abs(CIRCUIT)),
    toolchain: tools,
    circomOptimization: CIRCOM_OPTIMIZATION.replace(/^--/, ''),
    curve: 'bn128',
    protocol: 'groth16',
    constraints: info.nConstraints,
    wires: info.nVars,
    ptauPower: PTAU_POWER,
    setup: {
      secure: false,
      note: 'Dev setup: single public-beacon contributions; the toxic waste is derivable. Not for production.',
      phase1Beacon: { seed: `${BEACON_SEED}: phase 1`, sha256: PHASE1_BEACON, numIterationsExp: BEACON_ITERATIONS_EXP },
      phase2Beacon: { seed: `${BEACON_SEED}: phase 2`, sha256: PHASE2_BEACON, numIterationsExp: BEACON_ITERATIONS_EXP },
    },
    contract: CONTRACT_NAME,
    artifacts: Object.fromEntries(Object.entries(OUT).map(([k, rel]) => [rel, sha256File(files[k])])),
  }
  return { files, manifest }
}

/** Encodes a snarkjs Groth16 proof as abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c) for verifyProof. */
function encodeProof(proof) {
  const a = [proof.pi_a[0], proof.pi_a[1]]
  // G2 points: snarkjs stores Fp2 elements as [c0, c1]; the EVM pairing precompile wants [c1, c0].
  const b = [
    [proof.pi_b[0][1], proof.pi_b[0][0]],
    [proof.pi_b[1][1], proof.pi_b[1][0]],
  ]
  const c = [proof.pi_c[0], proof.pi_c[1]]
  return `0x${[...a, ...b.flat(), ...c].map(toWord).join('')}`
}

async function generateFixtures() {
  for (const rel of [OUT.wasm, OUT.zkey, OUT.vkey]) {
    if (!existsSync(abs(rel))) throw new Error(`${rel} is missing: run \`npm run build:circuits\` first`)
  }
  // FIXTURE_SET=<path> regenerates only that set (the proofs are randomized, so the others stay byte-identical).
  const only = process.env.FIXTURE_SET
  for (const set of FIXTURE_SETS) if (only === undefined || only === set.path) await generateFixtureSet(set)
}

async function generateFixtureSet({ path, count, first, context0 }) {
  const wasm = abs(OUT.wasm)
  const zkey = abs(OUT.zkey)
  const vkey = JSON.parse(readFileSync(abs(OUT.vkey), 'utf8'))
  const fixtures = []
  await step(`prove + verify ${count} fixtures (${path})`, async () => {
    for (let i = first; i < first + count; i++) {
      const preimage = String(i)
      const context = String(context0 + i)
      const { proof, publicSignals } = await snarkjs.groth16.fullProve({ preimage, context }, wasm, zkey)
      if (publicSignals.length !== 2 || publicSignals[1] !== context) {
        throw new Error(`fixture ${i}: unexpected public signals ${JSON.stringify(publicSignals)}`)
      }
      if (i === 1 && publicSignals[0] !== POSEIDON_OF_ONE) {
        throw new Error(`fixture 1: digest ${publicSignals[0]} is not Poseidon(1) = ${POSEIDON_OF_ONE}`)
      }
      if (!(await snarkjs.groth16.verify(vkey, publicSignals, proof))) {
        throw new Error(`fixture ${i}: proof does not verify`)
      }
      fixtures.push({
        preimage,
        context,
        publicSignals,
        proof: encodeProof(proof),
        publicInputs: `0x${publicSignals.map(toWord).join('')}`,
      })
    }
  })
  writeJson(abs(path), {
    description:
      'Groth16 proofs for circuits/poseidon_preimage.circom. publicSignals = [digest, context]; proof = ' +
      'abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c) (G2 coordinates swapped for the EVM); ' +
      'publicInputs = abi.encode(uint256[2] publicSignals). Regenerate with `node script/circuits/build.mjs --fixtures-only`.',
    zkeySha256: sha256File(zkey),
    vkeySha256: sha256File(abs(OUT.vkey)),
    fixtures,
  })
  console.log(`[circuits] wrote ${path}`)
}

async function build() {
  const outDir = makeTempDir()
  const { files, manifest } = await buildArtifacts(outDir)
  for (const [key, rel] of Object.entries(OUT)) {
    mkdirSync(dirname(abs(rel)), { recursive: true })
    copyFileSync(files[key], abs(rel))
  }
  writeJson(abs(MANIFEST), manifest)
  for (const [rel, hash] of Object.entries(manifest.artifacts)) console.log(`[circuits]   ${hash}  ${rel}`)
  console.log(`[circuits] wrote ${MANIFEST}`)
  await generateFixtures()
}

async function check() {
  if (!existsSync(abs(MANIFEST))) throw new Error(`${MANIFEST} is missing: run \`npm run build:circuits\``)
  const committed = JSON.parse(readFileSync(abs(MANIFEST), 'utf8'))
  const problems = []

  // 1. The committed artifacts are the ones the manifest describes.
  for (const rel of Object.values(OUT)) {
    const expected = committed.artifacts?.[rel]
    if (!expected) problems.push(`${rel}: not listed in ${MANIFEST}`)
    else if (!existsSync(abs(rel))) problems.push(`${rel}: missing`)
    else if (sha256File(abs(rel)) !== expected) {
      problems.push(`${rel}: committed file sha256 ${sha256File(abs(rel))} != manifest ${expected}`)
    }
  }

  // 2. A from-scratch rebuild reproduces them byte for byte.
  const { manifest: fresh } = await buildArtifacts(makeTempDir())
  for (const rel of Object.values(OUT)) {
    if (fresh.artifacts[rel] !== committed.artifacts?.[rel]) {
      problems.push(`${rel}: rebuild sha256 ${fresh.artifacts[rel]} != manifest ${committed.artifacts?.[rel]}`)
    }
  }
  const freshText = JSON.stringify(fresh, null, 2)
  if (freshText !== JSON.stringify(committed, null, 2)) {
    for (const key of new Set([...Object.keys(fresh), ...Object.keys(committed)])) {
      if (key !== 'artifacts' && JSON.stringify(fresh[key]) !== JSON.stringify(committed[key])) {
        problems.push(
          `manifest.${key}: rebuild ${JSON.stringify(fresh[key])} != committed ${JSON.stringify(committed[key])}`,
        )
      }
    }
  }

  // 3. The committed fixtures still verify against the committed verification key.
  for (const { path: FIXTURES } of FIXTURE_SETS) {
    if (!existsSync(abs(FIXTURES)) || !existsSync(abs(OUT.vkey))) {
      problems.push(`${FIXTURES} is missing`)
      continue
    }
    await step(`verify committed fixtures (${FIXTURES})`, async () => {
      const vkey = JSON.parse(readFileSync(abs(OUT.vkey), 'utf8'))
      const { fixtures } = JSON.parse(readFileSync(abs(FIXTURES), 'utf8'))
      for (const f of fixtures ?? []) {
        const words = f.proof
          .slice(2)
          .match(/.{64}/g)
          .map((w) => BigInt(`0x${w}`).toString())
        const proof = {
          protocol: 'groth16',
          curve: 'bn128',
          pi_a: [words[0], words[1], '1'],
          pi_b: [
            [words[3], words[2]],
            [words[5], words[4]],
            ['1', '0'],
          ],
          pi_c: [words[6], words[7], '1'],
        }
        if (!(await snarkjs.groth16.verify(vkey, f.publicSignals, proof))) {
          problems.push(`${FIXTURES}: fixture preimage=${f.preimage} context=${f.context} does not verify`)
        }
      }
    })
  }

  if (problems.length > 0) {
    console.error('[circuits] CHECK FAILED: the committed circuit artifacts are not reproducible from source.')
    for (const p of problems) console.error(`[circuits]   - ${p}`)
    console.error(
      '[circuits] Rebuild with `npm run build:circuits` and commit the result (or fix the toolchain drift).',
    )
    return 1
  }
  console.log('[circuits] check OK: rebuild is byte-identical to circuits/build/manifest.json')
  return 0
}

async function main() {
  const args = process.argv.slice(2)
  const known = new Set(['--check', '--fixtures-only', '--help'])
  const unknown = args.filter((a) => !known.has(a))
  if (unknown.length > 0 || args.includes('--help') || (args.includes('--check') && args.includes('--fixtures-only'))) {
    if (unknown.length > 0) console.error(`unknown argument(s): ${unknown.join(' ')}`)
    console.error('usage: node script/circuits/build.mjs [--check | --fixtures-only]')
    return args.includes('--help') && unknown.length === 0 ? 0 : 2
  }
  if (args.includes('--check')) return check()
  if (args.includes('--fixtures-only')) {
    await generateFixtures()
    return 0
  }
  await build()
  return 0
}

let exitCode = 1
try {
  exitCode = await main()
} catch (err) {
  console.error(`[circuits] FAILED: ${err?.stack ?? err}`)
  exitCode = 1
} finally {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  // ffjavascript keeps worker threads alive; terminate them so the process can exit.
  await globalThis.curve_bn128?.terminate?.()
}
console.log(`[circuits] done in ${ms(started)}`)
process.exit(exitCode)
