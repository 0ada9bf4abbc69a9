// The one place a bb.js UltraHonk Solidity verifier is generated from a compiled Noir program, for the repository's
// own dev verifiers (script/noir/build.mjs, which then `forge fmt`s them) and for `cairn market create --noir`
// (ts/noir-verifier.ts, which compiles and deploys them). The steps: bb.js computes the verification key and
// `getSolidityVerifier` on the chosen CRS, in the chosen flavour; the source is pinned to solc 0.8.30, the contract
// renamed, a header added; on the development CRS, bb's hardcoded Ignition [x]G2 is replaced by the dev [τ]G2.
//
// The CRS is always named by the caller, as the prover runner's market entry names it: "INSECURE-DEV-CRS" (noir/dev-crs:
// public τ, every proof forgeable, devnets and tests only) or { ignitionCrsPath } (production: noir/barretenberg.mjs,
// Aztec's Ignition CRS from that folder, never downloaded here). The dev module is imported only when it is named.

import { existsSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { UltraHonkBackend } from '@aztec/bb.js'
import { g2EvmWords, IGNITION_X_G2, openBarretenberg } from './barretenberg.mjs'

/** The CRS value naming the DEVELOPMENT CRS (the prover runner's market entry spells it the same). */
export const INSECURE_DEV_CRS = 'INSECURE-DEV-CRS'

/** The solc version the generated verifiers are pinned to (the repository's). */
export const HONK_VERIFIER_SOLC = '0.8.30'

/**
 * The two flavours, both with the keccak transcript the EVM verifier recomputes: `zk` masks the witness (bb.js
 * target `evm`), `no-zk` does not (`evm-no-zk`). `optimizerRuns`: what keeps each verifier's runtime within EIP-170
 * (foundry.toml's `compilation_restrictions` for the committed ones). `library`: the external library the verifier
 * links (the ZK verifier's transcript is too large to inline).
 */
export const HONK_FLAVOURS = Object.freeze({
  zk: Object.freeze({ verifierTarget: 'evm', zeroKnowledge: true, optimizerRuns: 1, library: 'ZKTranscriptLib' }),
  'no-zk': Object.freeze({ verifierTarget: 'evm-no-zk', zeroKnowledge: false, optimizerRuns: 200, library: undefined }),
})

/** bb's smallest CRS: its KZG commitments need max(dyadic size, 512) + 1 points. */
export const MIN_CRS_POINTS = 513

/** A CRS that is missing, short or not what it claims; `message` says what to do. */
export class NoirCrsError extends Error {
  name = 'NoirCrsError'
}

function flavourOf(flavour) {
  const spec = HONK_FLAVOURS[flavour]
  if (spec === undefined) throw new Error(`unknown UltraHonk flavour ${JSON.stringify(flavour)} (zk or no-zk)`)
  return spec
}

const isDevCrs = (crs) => crs === INSECURE_DEV_CRS

/**
 * The folder holding an Ignition CRS in bb's layout (bn254_g1.dat with at least `numPoints` points, bn254_g2.dat),
 * from that folder or one of its two files. Throws NoirCrsError naming what is missing: nothing is downloaded here.
 */
export function ignitionCrsDir(path, numPoints = MIN_CRS_POINTS) {
  const full = resolve(path)
  const howTo =
    `put Aztec's Ignition CRS there in bb's layout: bn254_g1.dat (at least ${numPoints} points of 64 bytes, e.g. ` +
    `\`curl -r 0-${numPoints * 64 - 1} https://crs.aztec.network/g1.dat -o bn254_g1.dat\`) and bn254_g2.dat ` +
    '(`curl https://crs.aztec.network/g2.dat -o bn254_g2.dat`), as bb keeps them in ~/.bb-crs'
  if (!existsSync(full)) throw new NoirCrsError(`${path} does not exist: ${howTo}`)
  const dir = statSync(full).isDirectory() ? full : dirname(full)
  if (!statSync(full).isDirectory() && !['bn254_g1.dat', 'bn254_g2.dat'].includes(basename(full))) {
    throw new NoirCrsError(`${path} is neither a CRS folder nor its bn254_g1.dat or bn254_g2.dat: ${howTo}`)
  }
  const size = (name) => (existsSync(join(dir, name)) ? statSync(join(dir, name)).size : undefined)
  const g1 = size('bn254_g1.dat')
  const g2 = size('bn254_g2.dat')
  if (g1 === undefined) throw new NoirCrsError(`${dir} has no bn254_g1.dat: ${howTo}`)
  if (g2 === undefined) throw new NoirCrsError(`${dir} has no bn254_g2.dat: ${howTo}`)
  if (g2 !== 128) throw new NoirCrsError(`${join(dir, 'bn254_g2.dat')} is ${g2} bytes, not 128: ${howTo}`)
  if (g1 % 64 !== 0 || g1 < numPoints * 64) {
    throw new NoirCrsError(
      `${join(dir, 'bn254_g1.dat')} holds ${Math.floor(g1 / 64)} points, the circuit needs ${numPoints}: ${howTo}`,
    )
  }
  return dir
}

/** A Barretenberg with `numPoints` points of the named CRS. */
export async function openCrsBarretenberg(crs, numPoints, threads = 1) {
  if (isDevCrs(crs)) {
    const { openDevBarretenberg } = await import('./dev-crs/index.mjs')
    return openDevBarretenberg({ numPoints, threads })
  }
  if (typeof crs?.ignitionCrsPath !== 'string' || crs.ignitionCrsPath === '') {
    throw new NoirCrsError(`no CRS named: "${INSECURE_DEV_CRS}" or { ignitionCrsPath } (there is no default)`)
  }
  const crsPath = ignitionCrsDir(crs.ignitionCrsPath, numPoints)
  try {
    return await openBarretenberg({ crsPath, numPoints, threads })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (/not Aztec's Ignition CRS/.test(message)) {
      throw new NoirCrsError(
        `${crs.ignitionCrsPath}: its bn254_g2.dat is not Aztec's Ignition [x]G2 (a dev CRS?): use the Ignition CRS ` +
          '(https://crs.aztec.network/g2.dat), or the development CRS by name where forgeable proofs are acceptable',
      )
    }
    throw error
  }
}

/**
 * Finishes bb.js' generated verifier source: pragma pinned to 0.8.30, `contract HonkVerifier` renamed to
 * `contractName`, `header` (comment lines, each ending in a newline) after the SPDX line, and on the dev CRS the
 * dev [τ]G2 in `pairing()`. Each edit must apply exactly as often as bb.js 3.0.3 makes it possible, or it throws.
 */
export async function finishHonkVerifierSource(source, { contractName, header = '', crs }) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(contractName)) throw new Error(`bad contract name ${contractName}`)
  const replaceAll = (text, pattern, replacement, expected, what) => {
    const count = text.match(new RegExp(pattern.source, 'gm'))?.length ?? 0
    if (count !== expected) throw new Error(`verifier: expected ${expected} × ${what}, found ${count}`)
    return text.replace(new RegExp(pattern.source, 'gm'), replacement)
  }
  let out = source
  out = replaceAll(out, /^pragma solidity >=0\.8\.21;$/, `pragma solidity ${HONK_VERIFIER_SOLC};`, 1, 'first pragma')
  out = replaceAll(out, /^pragma solidity \^0\.8\.27;\n/, '', 1, 'second pragma')
  out = replaceAll(out, /^contract HonkVerifier is /, `contract ${contractName} is `, 1, 'contract declaration')
  out = replaceAll(out, /^(\/\/ SPDX-License-Identifier: [^\n]+\n)/, `$1${header}`, 1, 'SPDX line')
  if (isDevCrs(crs)) {
    const { devSolidityVerifier } = await import('./dev-crs/index.mjs')
    return devSolidityVerifier(out)
  }
  const [first] = g2EvmWords(IGNITION_X_G2)
  const count = out.split(`uint256(${first})`).length - 1
  if (count !== 1) throw new Error(`verifier: expected Ignition's [x]G2 once in pairing(), found ${count}`)
  return out
}

/**
 * The verification key and finished Solidity verifier of a program's UltraHonkBackend (built on a Barretenberg of
 * the CRS named `crs`), in `flavour`.
 */
export async function honkVerifierOf(backend, { flavour, crs, contractName, header }) {
  const { verifierTarget } = flavourOf(flavour)
  const vk = await backend.getVerificationKey({ verifierTarget })
  const raw = await backend.getSolidityVerifier(vk, { verifierTarget })
  return { vk, source: await finishHonkVerifierSource(raw, { contractName, header, crs }) }
}

/**
 * Generates a compiled program's verifier: opens Barretenberg on the named CRS with as many points as the circuit
 * needs, then `honkVerifierOf`. Returns the source (not formatted), the verification key and the circuit's sizes.
 * @param {{ program: { bytecode: string }, flavour: 'zk' | 'no-zk', crs: string | { ignitionCrsPath: string },
 *   contractName: string, header?: string, threads?: number }} params
 */
export async function generateHonkVerifier({ program, flavour, crs, contractName, header, threads = 1 }) {
  flavourOf(flavour)
  const bytecode = gunzipSync(Buffer.from(program.bytecode, 'base64'))
  let api = await openCrsBarretenberg(crs, MIN_CRS_POINTS, threads)
  try {
    const [gates, dyadicSize] = await api.acirGetCircuitSizes(bytecode, false, false)
    if (dyadicSize + 1 > MIN_CRS_POINTS) {
      await api.destroy()
      api = undefined
      api = await openCrsBarretenberg(crs, dyadicSize + 1, threads)
    }
    const backend = new UltraHonkBackend(program.bytecode, api)
    const { vk, source } = await honkVerifierOf(backend, { flavour, crs, contractName, header })
    return { source, vk: Buffer.from(vk), gates, dyadicSize, contractName }
  } finally {
    await api?.destroy()
  }
}
