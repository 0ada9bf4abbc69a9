// Types of noir/dev-crs/index.mjs: the DEVELOPMENT CRS (public tau, insecure by design). See README.md here.
import type { Barretenberg } from '@aztec/bb.js'
import type { G2Affine } from '../barretenberg.mjs'

export declare const DEV_CRS_TAU_SEED: string
export declare const DEV_CRS_K_SEED: string
export declare const DEV_CRS_TAU: bigint
export declare const DEV_CRS_K: bigint
export declare const DEV_CRS_X_G2: Readonly<G2Affine>
export declare const DEV_CRS_BUILD_DIR: string
export declare function devCrsG1Bytes(numPoints: number): Buffer
export declare function devCrsG2Bytes(): Buffer
export declare function devDefaultPairingPoints(): {
  p0: { x: bigint; y: bigint }
  p1: { x: bigint; y: bigint }
}
export declare function patchBbWasmForDevCrs(wasm: Uint8Array): Buffer
export declare function devSolidityVerifier(source: string): string
export declare function ensureDevCrsFiles(options: { numPoints: number; dir?: string }): {
  dir: string
  paths: { g1: string; g2: string; wasm: string }
  manifest: { numPoints: number; sha256: Record<string, string> } & Record<string, unknown>
}
/** DEVELOPMENT: the patched dev WASM with the dev CRS loaded. Its proofs verify only against dev verifiers. */
export declare function openDevBarretenberg(options: { numPoints: number; threads?: number }): Promise<Barretenberg>
