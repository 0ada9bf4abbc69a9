// THE DEVELOPMENT CRS for Noir/UltraHonk. INSECURE BY DESIGN: τ is derived from a public string, so anyone can forge
// proofs of false statements for every verifier built with it. For tests and devnets only, like the dev attestation
// PKI (enclave/attestation/dev). Everything about it lives here; production uses noir/barretenberg.mjs, which loads
// the unmodified bb.js WASM and refuses any CRS but Aztec's Ignition CRS. See noir/dev-crs/README.md.
//
// Three things must agree on the dev τ, and this module makes all three:
// 1. the CRS: bn254_g1.dat (point i = [τ^i]G1, x ‖ y as 32-byte big-endian words) and bn254_g2.dat ([τ]G2 as
//    x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1), in bb's file format;
// 2. a patched copy of bb's WASM: bb hardcodes "default pairing points" (P0, P1) that every non-recursive proof
//    carries and that pair to one only under Ignition's τ; the dev WASM carries P0 = −k·[τ]G1, P1 = [k]G1 instead,
//    so e(P0, G2)·e(P1, [τ]G2) = 1;
// 3. the Solidity verifier: bb.js' generator hardcodes Ignition's [x]G2 in `pairing()`; the dev verifier has [τ]G2.
//
// The generated files go to noir/dev-crs/build/ (gitignored), rebuilt on demand in a few seconds and reused while
// their sha256 match build/dev-crs.json.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { bn254 } from '@noble/curves/bn254'
import { BB_JS_VERSION, bbJsWasmPath, g2DatBytes, g2EvmWords, IGNITION_X_G2, openWithSrs } from '../barretenberg.mjs'

const sha256Hex = (data) => createHash('sha256').update(data).digest('hex')
const Fr = bn254.fields.Fr
const Fp12 = bn254.fields.Fp12
const G1 = bn254.G1.ProjectivePoint
const G2 = bn254.G2.ProjectivePoint

/** The public string τ is derived from: τ = uint256(sha256(DEV_CRS_TAU_SEED)) mod r. */
export const DEV_CRS_TAU_SEED = 'cairn DEV noir crs: tau (public, insecure)'
/** The public string k (the dev default pairing points' scalar) is derived from, like τ. */
export const DEV_CRS_K_SEED = 'cairn DEV noir crs: default pairing points k (public, insecure)'

function scalarOf(seed) {
  const value = Fr.create(BigInt(`0x${sha256Hex(seed)}`))
  if (value === 0n) throw new Error(`dev CRS: ${seed} hashes to zero`)
  return value
}

/** The dev toxic waste, published on purpose. */
export const DEV_CRS_TAU = scalarOf(DEV_CRS_TAU_SEED)
export const DEV_CRS_K = scalarOf(DEV_CRS_K_SEED)

/** [τ]G2 of the dev CRS (affine, Fp2 coordinates as { c0, c1 }). */
export const DEV_CRS_X_G2 = Object.freeze(G2.BASE.multiply(DEV_CRS_TAU).toAffine())

/** Where the generated dev files go (gitignored). */
export const DEV_CRS_BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'build')

const word = (value) => value.toString(16).padStart(64, '0')

/**
 * The dev CRS G1 points [τ^0]G1 … [τ^(numPoints-1)]G1 in bb's bn254_g1.dat format. Deterministic; the points of a
 * smaller CRS are a prefix of a larger one's. Not constant-time (τ is public).
 */
export function devCrsG1Bytes(numPoints) {
  if (!Number.isSafeInteger(numPoints) || numPoints < 2) throw new Error(`dev CRS: bad point count ${numPoints}`)
  const base = G1.fromAffine(G1.BASE.toAffine())
  // A larger window makes every multiplication cheaper once its table is built (2^(w-1) points per window).
  base._setWindowSize?.(numPoints > 4096 ? 12 : 8)
  const points = []
  let scalar = 1n
  for (let i = 0; i < numPoints; i++) {
    points.push(base.multiplyUnsafe(scalar))
    scalar = Fr.mul(scalar, DEV_CRS_TAU)
  }
  const out = Buffer.alloc(numPoints * 64)
  G1.normalizeZ(points).forEach((point, i) => {
    const { x, y } = point.toAffine()
    out.write(word(x) + word(y), i * 64, 'hex')
  })
  return out
}

/** The dev CRS G2 point [τ]G2 in bb's bn254_g2.dat format (128 bytes). */
export function devCrsG2Bytes() {
  return g2DatBytes(DEV_CRS_X_G2)
}

// ---------------------------------------------------------------- default pairing points

/**
 * bb's default pairing points (P0, P1), standard form, as every non-recursive proof of bb.js 3.0.3 carries them in
 * its first 16 fields (68-bit limbs). They satisfy e(P0, G2)·e(P1, [x]G2) = 1 for Ignition's x only.
 */
const BB_DEFAULT_PAIRING_POINTS = Object.freeze({
  p0: {
    x: 0x031e97a575e9d05a107acb64952ecab75c020998797da7842ab5d6d1986846cfn,
    y: 0x178cbf4206471d722669117f9758a4c410db10a01750aebb5666547acf8bd5a4n,
  },
  p1: {
    x: 0x0f94656a2ca489889939f81e9c74027fd51009034b3357f0e91b8a11e7842c38n,
    y: 0x1b52c2020d7464a0c80c0da527a08193fe27776f50224bd6fb128b46c1ddb67fn,
  },
})
/** Copies of the 128-byte block bb.js 3.0.3's WASM holds. */
const BB_DEFAULT_PAIRING_POINTS_COPIES = 3
/** bb's WASM build keeps BN254 base-field elements in Montgomery form with R = 2^261 (29-bit limbs), stored as four
 * little-endian 64-bit words. */
const WASM_MONTGOMERY_R = 2n ** 261n

/** The dev default pairing points: P0 = −k·[τ]G1, P1 = [k]G1, so that e(P0, G2)·e(P1, [τ]G2) = 1. */
export function devDefaultPairingPoints() {
  const p1 = G1.BASE.multiply(DEV_CRS_K)
  const p0 = G1.BASE.multiply(Fr.mul(DEV_CRS_K, DEV_CRS_TAU)).negate()
  return { p0: p0.toAffine(), p1: p1.toAffine() }
}

const pairsToOne = ({ p0, p1 }, xG2) =>
  Fp12.eql(
    bn254.pairingBatch([
      { g1: G1.fromAffine(p0), g2: G2.BASE },
      { g1: G1.fromAffine(p1), g2: G2.fromAffine(xG2) },
    ]),
    Fp12.ONE,
  )

/** The 128-byte WASM image of (P0, P1): P0.x, P0.y, P1.x, P1.y, each Montgomery (R = 2^261), little-endian. */
function wasmPairingPointsBlock({ p0, p1 }) {
  const q = bn254.fields.Fp.ORDER
  return Buffer.concat(
    [p0.x, p0.y, p1.x, p1.y].map((value) => {
      let mont = (value * WASM_MONTGOMERY_R) % q
      const bytes = Buffer.alloc(32)
      for (let i = 0; i < 32; i++) {
        bytes[i] = Number(mont & 0xffn)
        mont >>= 8n
      }
      return bytes
    }),
  )
}

function findAll(haystack, needle) {
  const found = []
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) found.push(at)
  return found
}

/**
 * A copy of bb's (uncompressed) WASM whose default pairing points are the dev ones. Throws unless the Ignition
 * block occurs exactly as often as in bb.js 3.0.3 (another bb build must be examined again, not patched blindly).
 */
export function patchBbWasmForDevCrs(wasm) {
  // Self-checks: the constants are what they are claimed to be, and the replacement pairs under the dev τ.
  if (!pairsToOne(BB_DEFAULT_PAIRING_POINTS, IGNITION_X_G2)) {
    throw new Error("dev CRS: bb's default pairing points do not pair under Ignition's [x]G2")
  }
  const dev = devDefaultPairingPoints()
  if (!pairsToOne(dev, DEV_CRS_X_G2)) throw new Error('dev CRS: the dev default pairing points do not pair')
  const from = wasmPairingPointsBlock(BB_DEFAULT_PAIRING_POINTS)
  const to = wasmPairingPointsBlock(dev)
  const out = Buffer.from(wasm)
  const hits = findAll(out, from)
  if (hits.length !== BB_DEFAULT_PAIRING_POINTS_COPIES) {
    throw new Error(
      `dev CRS: found ${hits.length} copies of bb's default pairing points in the WASM, expected ` +
        `${BB_DEFAULT_PAIRING_POINTS_COPIES} (bb.js ${BB_JS_VERSION}); refusing to patch an unknown build`,
    )
  }
  for (const at of hits) to.copy(out, at)
  if (findAll(out, from).length !== 0) throw new Error('dev CRS: WASM patch incomplete')
  return out
}

// ---------------------------------------------------------------- Solidity verifier

/**
 * The DEV variant of a bb.js-generated Solidity verifier: Ignition's [x]G2 in `pairing()` replaced by the dev
 * [τ]G2 (EIP-197 order). Throws unless the Ignition point occurs exactly once.
 */
export function devSolidityVerifier(source) {
  const words = (point) => g2EvmWords(point).map((w) => `uint256(${w})`)
  const ignition = words(IGNITION_X_G2)
  const pattern = new RegExp(
    `// G2 point from VK\\s*\\n(\\s*)${ignition.map((w) => w.replace(/[()]/g, '\\$&')).join(',\\s*\\n\\s*')}`,
    'g',
  )
  const count = source.match(pattern)?.length ?? 0
  if (count !== 1)
    throw new Error(`dev CRS: expected Ignition's [x]G2 once in the verifier's pairing(), found ${count}`)
  const dev = words(DEV_CRS_X_G2)
  return source.replace(
    pattern,
    (_, indent) =>
      `// DEV CRS [tau]G2 (noir/dev-crs), NOT Aztec's Ignition [x]G2: development only, proofs are forgeable\n` +
      dev.map((w) => `${indent}${w}`).join(',\n'),
  )
}

// ---------------------------------------------------------------- files and Barretenberg

const MANIFEST = 'dev-crs.json'
const FILES = { g1: 'bn254_g1.dat', g2: 'bn254_g2.dat', wasm: 'barretenberg-DEV-CRS.wasm' }

function writeAtomic(path, data) {
  writeFileSync(`${path}.tmp`, data)
  renameSync(`${path}.tmp`, path)
}

/**
 * Makes sure DEV_CRS_BUILD_DIR holds a dev CRS of at least `numPoints` points, its G2 point and the patched bb WASM,
 * (re)building what is missing, short or changed. Returns the paths and the manifest (sha256 of each file).
 */
export function ensureDevCrsFiles({ numPoints, dir = DEV_CRS_BUILD_DIR }) {
  mkdirSync(dir, { recursive: true })
  const paths = Object.fromEntries(Object.entries(FILES).map(([key, name]) => [key, join(dir, name)]))
  const manifestPath = join(dir, MANIFEST)
  const sourceWasm = readFileSync(bbJsWasmPath())
  const stamp = {
    warning: 'DEVELOPMENT CRS: tau is public, every proof is forgeable. Never use outside tests and devnets.',
    tauSeed: DEV_CRS_TAU_SEED,
    kSeed: DEV_CRS_K_SEED,
    bbJs: BB_JS_VERSION,
    bbWasmSha256: sha256Hex(sourceWasm),
  }
  let manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined
  const current = (key) =>
    manifest?.sha256?.[key] !== undefined &&
    existsSync(paths[key]) &&
    sha256Hex(readFileSync(paths[key])) === manifest.sha256[key]
  const sameInputs = manifest !== undefined && Object.entries(stamp).every(([k, v]) => manifest[k] === v)
  if (!sameInputs) manifest = { ...stamp, numPoints: 0, sha256: {} }

  if (!current('g1') || manifest.numPoints < numPoints) {
    const g1 = devCrsG1Bytes(numPoints)
    writeAtomic(paths.g1, g1)
    manifest.numPoints = numPoints
    manifest.sha256.g1 = sha256Hex(g1)
  }
  if (!current('g2')) {
    const g2 = devCrsG2Bytes()
    writeAtomic(paths.g2, g2)
    manifest.sha256.g2 = sha256Hex(g2)
  }
  if (!current('wasm')) {
    const wasm = patchBbWasmForDevCrs(gunzipSync(sourceWasm))
    writeAtomic(paths.wasm, wasm)
    manifest.sha256.wasm = sha256Hex(wasm)
  }
  writeAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  return { dir, paths, manifest }
}

/**
 * DEVELOPMENT: a Barretenberg on the patched dev WASM with the dev CRS loaded (numPoints: max(dyadic circuit size,
 * 512) + 1 for the largest circuit it will prove or verify). Its proofs verify only against dev verifiers.
 */
export async function openDevBarretenberg({ numPoints, threads = 1 }) {
  const { paths } = ensureDevCrsFiles({ numPoints })
  const g1 = readFileSync(paths.g1)
  const g2 = readFileSync(paths.g2)
  if (!g2.equals(devCrsG2Bytes()) || !g1.subarray(0, 64).equals(Buffer.from(word(1n) + word(2n), 'hex'))) {
    throw new Error('dev CRS: build files are corrupt')
  }
  return openWithSrs({ wasmPath: paths.wasm, g1, g2, numPoints, threads })
}
