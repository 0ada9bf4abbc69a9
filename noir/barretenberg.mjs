// Production Barretenberg for Noir circuits: UNMODIFIED @aztec/bb.js (its own WASM, never a path from the caller or
// from BB_WASM_PATH) and Aztec's Ignition CRS only. The insecure development CRS lives apart in ./dev-crs/ (it imports
// this module, never the other way round); see noir/README.md.
//
// Mixing is impossible by construction:
// - openBarretenberg takes no wasm option and always loads the WASM shipped in the pinned bb.js package;
// - it refuses a CRS whose G2 point is not Ignition's [x]G2 (a dev CRS has the dev [τ]G2), so it can never prove
//   or verify against the dev CRS;
// - the dev verifier and the dev WASM are only produced by ./dev-crs/, whose every export is named DEV.

import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Barretenberg, Crs } from '@aztec/bb.js'

/** The bb.js version every Noir artifact here is built and proven with (see noir/README.md on why this one). */
export const BB_JS_VERSION = '3.0.3'

/**
 * Ignition's [x]G2, as bb's `bn254_g2.dat` holds it: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1, 32-byte big-endian words. The
 * Solidity verifier bb.js generates hardcodes the same point in EIP-197 order (x.c1, x.c0, y.c1, y.c0).
 */
export const IGNITION_X_G2 = Object.freeze({
  x: Object.freeze({
    c0: 0x0118c4d5b837bcc2bc89b5b398b5974e9f5944073b32078b7e231fec938883b0n,
    c1: 0x260e01b251f6f1c7e7ff4e580791dee8ea51d87a358e038b4efe30fac09383c1n,
  }),
  y: Object.freeze({
    c0: 0x22febda3c0c0632a56475b4214e5615e11e6dd3f96e6cea2854a87d4dacc5e55n,
    c1: 0x04fc6369f7110fe3d25156c1bb9a72859cf2a04641f99ba4ee413c80da6a5fe4n,
  }),
})

const word = (value) => value.toString(16).padStart(64, '0')

/** A G2 point as bb's bn254_g2.dat holds it (128 bytes). */
export function g2DatBytes(point) {
  return Buffer.from(word(point.x.c0) + word(point.x.c1) + word(point.y.c0) + word(point.y.c1), 'hex')
}

/** The four 32-byte words of a G2 point in EIP-197 (precompile) order, as 0x-prefixed hex. */
export function g2EvmWords(point) {
  return [point.x.c1, point.x.c0, point.y.c1, point.y.c0].map((v) => `0x${word(v)}`)
}

/** The directory of the installed bb.js package's node build (dest/node). */
export function bbJsNodeDir() {
  return dirname(fileURLToPath(import.meta.resolve('@aztec/bb.js')))
}

/** The pinned bb.js package's own (gzipped) WASM: the only one production ever loads. */
export function bbJsWasmPath() {
  return join(bbJsNodeDir(), 'barretenberg_wasm', 'barretenberg-threads.wasm.gz')
}

/**
 * The WASM backend class of bb.js 3.0.3. It is not exported from the package root, and `Barretenberg.new` loads
 * 2^20 Ignition points plus a Grumpkin CRS on the WASM backend (downloading both when absent); constructing the
 * backend directly lets a caller load exactly the points its circuits need.
 */
export async function bbWasmBackendClass() {
  const installed = JSON.parse(readFileSync(join(bbJsNodeDir(), '..', '..', 'package.json'), 'utf8')).version
  if (installed !== BB_JS_VERSION) {
    throw new Error(`@aztec/bb.js ${installed} is installed; the Noir tooling is pinned to ${BB_JS_VERSION}`)
  }
  const { BarretenbergWasmAsyncBackend } = await import(
    pathToFileURL(join(bbJsNodeDir(), 'bb_backends', 'wasm.js')).href
  )
  if (typeof BarretenbergWasmAsyncBackend?.new !== 'function') {
    throw new Error(`@aztec/bb.js ${installed}: bb_backends/wasm.js has no BarretenbergWasmAsyncBackend`)
  }
  return BarretenbergWasmAsyncBackend
}

/**
 * Opens a Barretenberg (WASM) with `wasmPath` and loads `g1` (numPoints × 64 bytes) and `g2` (128 bytes) as its SRS.
 * Internal: production callers use openBarretenberg, development callers openDevBarretenberg (./dev-crs/).
 */
export async function openWithSrs({ wasmPath, g1, g2, numPoints, threads }) {
  if (g1.length < numPoints * 64) throw new Error(`CRS: ${g1.length / 64} G1 points, ${numPoints} needed`)
  if (g2.length !== 128) throw new Error(`CRS: G2 data is ${g2.length} bytes, expected 128`)
  const Backend = await bbWasmBackendClass()
  const wasm = await Backend.new({ threads, wasmPath, useWorker: false })
  const api = new Barretenberg(wasm, {})
  try {
    await api.srsInitSrs({ pointsBuf: g1.subarray(0, numPoints * 64), numPoints, g2Point: g2 })
  } catch (err) {
    await api.destroy()
    throw err
  }
  return api
}

/**
 * PRODUCTION: a Barretenberg on the unmodified bb.js WASM with Aztec's Ignition CRS from `crsPath` (bb.js' own
 * finder: it downloads the points from Aztec's CRS host when `crsPath` lacks them). Refuses any CRS whose G2 point
 * is not Ignition's, in particular the development CRS.
 * @param {{ crsPath: string, numPoints: number, threads?: number }} options numPoints: max(dyadic circuit size, 512) + 1
 */
export async function openBarretenberg({ crsPath, numPoints, threads = 1 }) {
  if (typeof crsPath !== 'string' || crsPath === '') throw new Error('openBarretenberg: crsPath is required')
  const crs = await Crs.new(numPoints, crsPath)
  const g2 = Buffer.from(crs.getG2Data())
  if (!g2.equals(g2DatBytes(IGNITION_X_G2))) {
    throw new Error(
      `openBarretenberg: the CRS in ${crsPath} is not Aztec's Ignition CRS (its G2 point differs); ` +
        'a development CRS can only be used through noir/dev-crs (openDevBarretenberg)',
    )
  }
  return openWithSrs({ wasmPath: bbJsWasmPath(), g1: Buffer.from(crs.getG1Data()), g2, numPoints, threads })
}
