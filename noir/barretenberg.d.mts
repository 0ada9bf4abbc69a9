// Types of noir/barretenberg.mjs (production Barretenberg: unmodified bb.js WASM, Ignition CRS only).
import type { Barretenberg } from '@aztec/bb.js'

export interface G2Affine {
  x: { c0: bigint; c1: bigint }
  y: { c0: bigint; c1: bigint }
}

export declare const BB_JS_VERSION: string
export declare const IGNITION_X_G2: Readonly<G2Affine>
export declare function g2DatBytes(point: G2Affine): Buffer
export declare function g2EvmWords(point: G2Affine): string[]
export declare function bbJsNodeDir(): string
export declare function bbJsWasmPath(): string
/** PRODUCTION: unmodified bb.js WASM, Aztec's Ignition CRS from crsPath; refuses any other CRS. */
export declare function openBarretenberg(options: {
  crsPath: string
  numPoints: number
  threads?: number
}): Promise<Barretenberg>
