// Types of noir/honk-verifier.mjs: generating a bb.js UltraHonk Solidity verifier from a compiled Noir program.
import type { Barretenberg, UltraHonkBackend } from '@aztec/bb.js'

export declare const INSECURE_DEV_CRS: 'INSECURE-DEV-CRS'
export declare const HONK_VERIFIER_SOLC: string
export type HonkFlavour = 'zk' | 'no-zk'
/** "INSECURE-DEV-CRS" (DEVELOPMENT: forgeable proofs) or the folder (or a file) of Aztec's Ignition CRS. */
export type HonkCrs = 'INSECURE-DEV-CRS' | { ignitionCrsPath: string }
export declare const HONK_FLAVOURS: Readonly<
  Record<
    HonkFlavour,
    Readonly<{ verifierTarget: 'evm' | 'evm-no-zk'; zeroKnowledge: boolean; optimizerRuns: number; library?: string }>
  >
>
export declare const MIN_CRS_POINTS: number
export declare class NoirCrsError extends Error {}
export declare function ignitionCrsDir(path: string, numPoints?: number): string
export declare function openCrsBarretenberg(crs: HonkCrs, numPoints: number, threads?: number): Promise<Barretenberg>
export declare function finishHonkVerifierSource(
  source: string,
  options: { contractName: string; header?: string; crs: HonkCrs },
): Promise<string>
export declare function honkVerifierOf(
  backend: UltraHonkBackend,
  options: { flavour: HonkFlavour; crs: HonkCrs; contractName: string; header?: string },
): Promise<{ vk: Uint8Array; source: string }>
export declare function generateHonkVerifier(params: {
  program: { bytecode: string }
  flavour: HonkFlavour
  crs: HonkCrs
  contractName: string
  header?: string
  threads?: number
}): Promise<{ source: string; vk: Buffer; gates: number; dyadicSize: number; contractName: string }>
