#!/usr/bin/env node
// Reproducible, offline build of the Cairn Noir circuits (noir/*/) against the DEVELOPMENT CRS (noir/dev-crs).
//
//   node script/noir/build.mjs                  compile, verification keys, Solidity verifiers, proof fixtures
//   node script/noir/build.mjs --check          rebuild into a temp dir and compare with noir/build/manifest.json
//
// Pipeline per circuit: noir_wasm compiles the Nargo project (program JSON: ABI + ACIR bytecode); bb.js (WASM,
// UltraHonk, keccak transcript) computes the verification key and the Solidity verifier on the dev CRS, in the
// non-ZK flavour for every circuit and also in the ZK flavour for the market circuits; each verifier gets the dev
// [τ]G2 (noir/dev-crs), is renamed, pinned to 0.8.30 and `forge fmt`ed; noir_js executes the fixture inputs and bb.js
// proves and verifies them. Every step but ZK proving is deterministic (non-ZK UltraHonk proofs have no blinding), so
// `--check` compares every artifact byte for byte, non-ZK fixtures included; ZK proofs are blinded with fresh
// randomness, so `--check` verifies the committed ZK fixtures against the rebuilt verification key instead.
//
// THE DEV CRS IS NOT SECURE: τ is derived from a public string. See noir/README.md and noir/dev-crs/README.md.

import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { UltraHonkBackend } from '@aztec/bb.js'
import { Noir } from '@noir-lang/noir_js'
import { compile_program, createFileManager } from '@noir-lang/noir_wasm'
import { BB_JS_VERSION } from '../../noir/barretenberg.mjs'
import {
  DEV_CRS_K_SEED,
  DEV_CRS_TAU_SEED,
  DEV_CRS_X_G2,
  devCrsG1Bytes,
  devCrsG2Bytes,
  openDevBarretenberg,
} from '../../noir/dev-crs/index.mjs'
import { HONK_FLAVOURS, honkVerifierOf, INSECURE_DEV_CRS } from '../../noir/honk-verifier.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/**
 * bb.js proof flavours, both with the keccak transcript the EVM verifier recomputes. `noZk`: no zero-knowledge
 * masking (deterministic proofs, cheaper to verify); `zk`: masked (a proof reveals nothing of the private inputs).
 * See noir/README.md for which a market should use.
 */
const FLAVOURS = {
  noZk: { ...HONK_FLAVOURS['no-zk'], honkFlavour: 'no-zk', suffix: 'DevHonkVerifier', files: '' },
  zk: { ...HONK_FLAVOURS.zk, honkFlavour: 'zk', suffix: 'DevZkHonkVerifier', files: '.zk' },
}
const NOIR_VERSION = '1.0.0-beta.15'
const MANIFEST = 'noir/build/manifest.json'
const FOUNDRY = join(ROOT, 'bin', 'foundry.mjs')
const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

const toWord = (value) => BigInt(value).toString(16).padStart(64, '0')
const fieldHex = (value) => `0x${toWord(value)}`

/**
 * The circuits. `fixtures(i)` gives the i-th fixture's inputs (public ones as the ABI names them) from a reference
 * Poseidon2 (bb's own poseidon2Hash, so every fixture proof is also a known-answer test of the circuit's hash).
 */
const CIRCUITS = [
  {
    name: 'poseidon2_preimage',
    contract: 'Poseidon2Preimage',
    /** The market circuit: also built in the ZK flavour (the devnet's Noir market verifies ZK proofs). */
    flavours: ['noZk', 'zk'],
    count: 8,
    fixture: async (i, hash) => {
      const preimage = BigInt(i + 1)
      return { digest: await hash([preimage]), context: BigInt(1001 + i), preimage }
    },
  },
  {
    name: 'poseidon2_pair',
    contract: 'Poseidon2Pair',
    flavours: ['noZk'],
    count: 3,
    fixture: async (i, hash) => {
      const left = BigInt(i + 1)
      const right = BigInt(101 + i)
      return { digest: await hash([left, right]), context: BigInt(3001 + i), left, right }
    },
  },
]

const contractName = (c, flavour) => `${c.contract}${FLAVOURS[flavour].suffix}`

/** A circuit's files in one flavour (the program is the same in both). ZK fixtures are not reproducible. */
const paths = (c, flavour) => ({
  program: `noir/build/${c.name}.json`,
  vk: `noir/build/${c.name}${FLAVOURS[flavour].files}.vk`,
  verifier: `src/verifiers/generated/${contractName(c, flavour)}.sol`,
  fixtures: `noir/build/${c.name}${FLAVOURS[flavour].files}.fixtures.json`,
})

const started = performance.now()
const tempDirs = []
const sha256Hex = (data) => createHash('sha256').update(data).digest('hex')
const abs = (rel) => join(ROOT, rel)
const ms = (since) => `${Math.round(performance.now() - since)} ms`
const json = (value) => `${JSON.stringify(value, null, 2)}\n`

function makeTempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-noir-'))
  tempDirs.push(dir)
  return dir
}

async function step(name, fn) {
  const t = performance.now()
  const result = await fn()
  console.log(`[noir] ${name} (${ms(t)})`)
  return result
}

function run(bin, args, input) {
  const res = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8', input, maxBuffer: 64 << 20 })
  if (res.error) throw res.error
  if (res.status !== 0) {
    throw new Error(`${relative(ROOT, bin)} ${args.join(' ')} exited with ${res.status}\n${res.stdout}\n${res.stderr}`)
  }
  return res.stdout
}

const packageVersion = (name) => JSON.parse(readFileSync(abs(`node_modules/${name}/package.json`), 'utf8')).version

function toolchain() {
  const forge = run(FOUNDRY, ['forge', '--version']).match(/Version:\s*(\S+)/)?.[1]
  if (!forge) throw new Error('could not determine the forge version')
  const tools = {
    noir_wasm: packageVersion('@noir-lang/noir_wasm'),
    noir_js: packageVersion('@noir-lang/noir_js'),
    'bb.js': packageVersion('@aztec/bb.js'),
    forge,
  }
  if (tools.noir_wasm !== NOIR_VERSION || tools.noir_js !== NOIR_VERSION || tools['bb.js'] !== BB_JS_VERSION) {
    throw new Error(
      `unexpected toolchain ${JSON.stringify(tools)}: pinned noir ${NOIR_VERSION}, bb.js ${BB_JS_VERSION}`,
    )
  }
  return tools
}

/** sha256 over a Nargo project's Nargo.toml and src/ files (sorted by path). */
function sourceHash(name) {
  const dir = abs(`noir/${name}`)
  const files = ['Nargo.toml', ...listFiles(join(dir, 'src')).map((f) => relative(dir, f))].sort()
  const h = createHash('sha256')
  for (const f of files)
    h.update(`${f}\0`)
      .update(readFileSync(join(dir, f)))
      .update('\0')
  return h.digest('hex')
}

function listFiles(dir) {
  return spawnSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
}

/** Compiles a Nargo project with noir_wasm; keeps what a prover needs (no debug symbols or file map: they hold
 * absolute paths of the machine that built them). */
async function compile(name) {
  // Compile a copy in a temp dir: noir_wasm resolves the project from disk and must not see build leftovers.
  const work = join(makeTempDir(), name)
  cpSync(abs(`noir/${name}`), work, { recursive: true })
  const { program, warnings } = await compile_program(
    createFileManager(work),
    undefined,
    () => {},
    () => {},
  )
  if (warnings?.length) throw new Error(`${name}: compiler warnings: ${JSON.stringify(warnings)}`)
  const { noir_version, hash, abi, bytecode } = program
  return { noir_version, hash, abi, bytecode }
}

/** The public inputs of the program's ABI, in order, and checks the layout this repository expects. */
function publicInputNames(program) {
  const names = program.abi.parameters.filter((p) => p.visibility === 'public').map((p) => p.name)
  if (program.abi.return_type !== null) throw new Error('circuits must not return values (public outputs)')
  for (const p of program.abi.parameters) {
    if (p.type.kind !== 'field') throw new Error(`${p.name}: only Field parameters are supported`)
  }
  return names
}

/** The committed DEV verifier's header (after the SPDX line). */
function verifierHeader(circuit, flavour) {
  const zk = FLAVOURS[flavour].zeroKnowledge
  return (
    `// Generated by script/noir/build.mjs from noir/${circuit.name} (bb.js ${BB_JS_VERSION} UltraHonk, keccak, ` +
    `${zk ? 'ZK; ZKTranscriptLib is linked' : 'non-ZK'}). DO NOT EDIT.\n` +
    '// DEVELOPMENT CRS (noir/dev-crs): its verification key and pairing G2 point come from ' +
    'a public tau,\n// so proofs are forgeable. Never deploy it outside tests and devnets. Rebuild: `npm run build:noir`.\n'
  )
}

/** One UltraHonk proof as the adapter takes it: the proof bytes and the public inputs as 32-byte words. */
function encodeFixture(inputs, names, proofData) {
  const publicWords = names.map((n) => toWord(inputs[n]))
  const returned = proofData.publicInputs.map((v) => BigInt(v).toString(16).padStart(64, '0'))
  if (returned.join() !== publicWords.join()) {
    throw new Error(`bb.js public inputs ${returned} differ from the ABI order ${publicWords}`)
  }
  for (const w of publicWords) if (BigInt(`0x${w}`) >= FIELD_MODULUS) throw new Error('public input above the field')
  return {
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, fieldHex(v)])),
    publicInputs: `0x${publicWords.join('')}`,
    proof: `0x${Buffer.from(proofData.proof).toString('hex')}`,
  }
}

/**
 * The committed (randomized) ZK fixtures of a circuit, each checked to state the fixture it should (same inputs and
 * public inputs as a rebuild would prove) and to verify with the rebuilt verification key.
 */
async function verifyCommittedFixtures({ backend, verifierTarget, names, path, count, c, hash }) {
  if (!existsSync(abs(path))) throw new Error(`${path} is missing: run \`npm run build:noir\``)
  const { fixtures } = JSON.parse(readFileSync(abs(path), 'utf8'))
  if (fixtures?.length !== count) throw new Error(`${path}: ${fixtures?.length} fixtures, expected ${count}`)
  for (let i = 0; i < count; i++) {
    const inputs = await c.fixture(i, hash)
    const expected = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, fieldHex(v)]))
    const publicInputs = `0x${names.map((n) => toWord(inputs[n])).join('')}`
    const f = fixtures[i]
    if (json(f.inputs) !== json(expected) || f.publicInputs !== publicInputs) {
      throw new Error(`${path}: fixture ${i} states other inputs than the build's fixture ${i}`)
    }
    const proofData = {
      proof: Buffer.from(f.proof.slice(2), 'hex'),
      publicInputs: names.map((n) => fieldHex(inputs[n])),
    }
    if (!(await backend.verifyProof(proofData, { verifierTarget }))) {
      throw new Error(`${path}: fixture ${i} does not verify with the rebuilt verification key`)
    }
  }
  return fixtures
}

/** Builds every artifact into `outDir` (repository-relative layout) and returns the manifest describing them. */
async function buildArtifacts(outDir, options = {}) {
  const tools = await step('toolchain versions', () => toolchain())
  const programs = {}
  for (const c of CIRCUITS) programs[c.name] = await step(`compile noir/${c.name}`, () => compile(c.name))

  // Circuit sizes first (any SRS will do), then a Barretenberg with exactly the dev CRS points they need.
  let api = await step('open bb (dev CRS, sizing)', () => openDevBarretenberg({ numPoints: 513, threads: 2 }))
  const sizes = {}
  for (const c of CIRCUITS) {
    const [gates, dyadic] = await api.acirGetCircuitSizes(gunzipSync(Buffer.from(programs[c.name].bytecode, 'base64')))
    sizes[c.name] = { gates, dyadicSize: dyadic }
  }
  const numPoints = Math.max(512, ...Object.values(sizes).map((s) => s.dyadicSize)) + 1
  if (numPoints > 513) {
    await api.destroy()
    api = await step(`open bb (dev CRS, ${numPoints} points)`, () => openDevBarretenberg({ numPoints, threads: 2 }))
  }
  const hash = async (fields) => {
    const { hash: out } = await api.poseidon2Hash({ inputs: fields.map((f) => Buffer.from(toWord(f), 'hex')) })
    return BigInt(`0x${Buffer.from(out).toString('hex')}`)
  }

  const manifest = {
    toolchain: tools,
    transcript: 'keccak',
    devCrs: {
      secure: false,
      note: 'DEVELOPMENT CRS: tau = sha256(tauSeed) mod r is public; every proof is forgeable. Not for production.',
      tauSeed: DEV_CRS_TAU_SEED,
      kSeed: DEV_CRS_K_SEED,
      numPoints,
      g1Sha256: sha256Hex(devCrsG1Bytes(numPoints)),
      g2Sha256: sha256Hex(devCrsG2Bytes()),
      tauG2: {
        x: [DEV_CRS_X_G2.x.c0, DEV_CRS_X_G2.x.c1].map(fieldHex),
        y: [DEV_CRS_X_G2.y.c0, DEV_CRS_X_G2.y.c1].map(fieldHex),
      },
    },
    circuits: {},
  }
  try {
    for (const c of CIRCUITS) {
      const program = programs[c.name]
      const names = publicInputNames(program)
      const backend = new UltraHonkBackend(program.bytecode, api)
      const noir = new Noir(program)
      const entry = {
        source: `noir/${c.name}`,
        sourceSha256: sourceHash(c.name),
        publicInputs: names,
        ...sizes[c.name],
        flavours: {},
        artifacts: {},
        randomizedFixtures: {},
      }
      for (const flavour of c.flavours) {
        const { verifierTarget, zeroKnowledge } = FLAVOURS[flavour]
        const p = paths(c, flavour)
        const label = `${c.name} (${verifierTarget})`
        // noir/honk-verifier.mjs generates every verifier (the CLI's too); the committed ones are also `forge fmt`ed.
        const { vk, source } = await step(`${label}: verification key, Solidity verifier`, () =>
          honkVerifierOf(backend, {
            flavour: FLAVOURS[flavour].honkFlavour,
            crs: INSECURE_DEV_CRS,
            contractName: contractName(c, flavour),
            header: verifierHeader(c, flavour),
          }),
        )
        const verifier = run(FOUNDRY, ['forge', 'fmt', '--raw', '-'], source)
        const prove = async (i) => {
          const inputs = await c.fixture(i, hash)
          const { witness } = await noir.execute(
            Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, fieldHex(v)])),
          )
          const proofData = await backend.generateProof(witness, { verifierTarget })
          if (!(await backend.verifyProof(proofData, { verifierTarget }))) {
            throw new Error(`${label}: fixture ${i} does not verify`)
          }
          return encodeFixture(inputs, names, proofData)
        }
        // ZK proofs are blinded with fresh randomness: a rebuild cannot reproduce them, so `--check` keeps the
        // committed ones and verifies them instead (same statements, same verification key).
        const reuse = zeroKnowledge && options.verifyCommittedZk
        const fixtures = reuse
          ? await step(`${label}: verify the committed fixtures`, () =>
              verifyCommittedFixtures({ backend, verifierTarget, names, path: p.fixtures, count: c.count, c, hash }),
            )
          : []
        if (!reuse) {
          await step(`${label}: prove + verify ${c.count} fixtures`, async () => {
            for (let i = 0; i < c.count; i++) fixtures.push(await prove(i))
          })
        }
        const proofBytes = (fixtures[0].proof.length - 2) / 2
        if (fixtures.some((f) => (f.proof.length - 2) / 2 !== proofBytes)) throw new Error('proof lengths differ')
        const files = {
          program: json(program),
          vk: Buffer.from(vk),
          verifier,
          fixtures: json({
            description:
              `UltraHonk (${verifierTarget}) proofs for noir/${c.name} on the DEV CRS. publicInputs = the public ` +
              `inputs [${names.join(', ')}] as 32-byte words; proof = bb.js proof bytes. ` +
              `${zeroKnowledge ? 'ZK proofs are randomized: `--check` verifies them rather than rebuilding them. ' : ''}` +
              'Regenerate with `npm run build:noir`.',
            vkSha256: sha256Hex(vk),
            publicInputNames: names,
            proofBytes,
            fixtures,
          }),
        }
        for (const [key, rel] of Object.entries(p)) {
          mkdirSync(dirname(join(outDir, rel)), { recursive: true })
          writeFileSync(join(outDir, rel), files[key])
          const digest = sha256Hex(readFileSync(join(outDir, rel)))
          if (key === 'fixtures' && zeroKnowledge) entry.randomizedFixtures[rel] = digest
          else entry.artifacts[rel] = digest
        }
        entry.flavours[flavour] = { verifierTarget, zeroKnowledge, contract: contractName(c, flavour), proofBytes }
      }
      manifest.circuits[c.name] = entry
    }
  } finally {
    await api.destroy()
  }
  return manifest
}

async function build() {
  const outDir = makeTempDir()
  const manifest = await buildArtifacts(outDir)
  for (const { artifacts, randomizedFixtures } of Object.values(manifest.circuits)) {
    for (const [rel, hash] of Object.entries({ ...artifacts, ...randomizedFixtures })) {
      mkdirSync(dirname(abs(rel)), { recursive: true })
      cpSync(join(outDir, rel), abs(rel))
      console.log(`[noir]   ${hash}  ${rel}`)
    }
  }
  writeFileSync(abs(MANIFEST), json(manifest))
  console.log(`[noir] wrote ${MANIFEST}`)
}

async function check() {
  if (!existsSync(abs(MANIFEST))) throw new Error(`${MANIFEST} is missing: run \`npm run build:noir\``)
  const committed = JSON.parse(readFileSync(abs(MANIFEST), 'utf8'))
  const problems = []
  for (const [name, circuit] of Object.entries(committed.circuits ?? {})) {
    for (const [rel, expected] of Object.entries({ ...circuit.artifacts, ...circuit.randomizedFixtures })) {
      if (!existsSync(abs(rel))) problems.push(`${rel}: missing`)
      else if (sha256Hex(readFileSync(abs(rel))) !== expected) problems.push(`${rel}: differs from ${MANIFEST}`)
    }
    if (!CIRCUITS.some((c) => c.name === name)) problems.push(`${MANIFEST}: unknown circuit ${name}`)
  }
  const fresh = await buildArtifacts(makeTempDir(), { verifyCommittedZk: true })
  if (json(fresh) !== json(committed)) {
    for (const key of new Set([...Object.keys(fresh), ...Object.keys(committed)])) {
      if (JSON.stringify(fresh[key]) !== JSON.stringify(committed[key])) {
        problems.push(
          `manifest.${key}: rebuild ${JSON.stringify(fresh[key])}\n      != committed ${JSON.stringify(committed[key])}`,
        )
      }
    }
  }
  if (problems.length > 0) {
    console.error('[noir] CHECK FAILED: the committed Noir artifacts are not reproducible from source.')
    for (const p of problems) console.error(`[noir]   - ${p}`)
    console.error('[noir] Rebuild with `npm run build:noir` and commit the result (or fix the toolchain drift).')
    return 1
  }
  console.log(`[noir] check OK: rebuild is byte-identical to ${MANIFEST} (committed ZK fixtures verified)`)
  return 0
}

async function main() {
  const args = process.argv.slice(2)
  const unknown = args.filter((a) => a !== '--check' && a !== '--help')
  if (unknown.length > 0 || args.includes('--help')) {
    if (unknown.length > 0) console.error(`unknown argument(s): ${unknown.join(' ')}`)
    console.error('usage: node script/noir/build.mjs [--check]')
    return unknown.length > 0 ? 2 : 0
  }
  return args.includes('--check') ? check() : build()
}

let exitCode = 1
try {
  exitCode = await main()
} catch (err) {
  console.error(`[noir] FAILED: ${err?.stack ?? err}`)
  exitCode = 1
} finally {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
}
console.log(`[noir] done in ${ms(started)}`)
process.exit(exitCode)
