// The development CRS for Noir (noir/dev-crs) and its separation from the production Barretenberg
// (noir/barretenberg.mjs): what the forge tests cannot see.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { bn254 } from '@noble/curves/bn254'
import { describe, expect, it } from 'vitest'
import { bbJsWasmPath, IGNITION_X_G2, openBarretenberg } from '../noir/barretenberg.mjs'
import {
  DEV_CRS_TAU,
  DEV_CRS_X_G2,
  devCrsG1Bytes,
  devCrsG2Bytes,
  devDefaultPairingPoints,
  devSolidityVerifier,
  ensureDevCrsFiles,
  patchBbWasmForDevCrs,
} from '../noir/dev-crs/index.mjs'
import { finishHonkVerifierSource, ignitionCrsDir } from '../noir/honk-verifier.mjs'
import { repoRoot } from '../ts/root.js'

const G1 = bn254.G1.ProjectivePoint
const word = (b: Buffer, i: number) => BigInt(`0x${b.subarray(i * 32, i * 32 + 32).toString('hex')}`)

describe('dev CRS', () => {
  it('is [τ^i]G1 in bb format, deterministic, a smaller CRS a prefix of a larger one', () => {
    const small = devCrsG1Bytes(4)
    const large = devCrsG1Bytes(9)
    expect(small.length).toBe(4 * 64)
    expect(large.subarray(0, small.length).equals(small)).toBe(true)
    expect([word(small, 0), word(small, 1)]).toEqual([1n, 2n])
    const tau2 = G1.BASE.multiply(bn254.fields.Fr.mul(DEV_CRS_TAU, DEV_CRS_TAU)).toAffine()
    expect([word(small, 4), word(small, 5)]).toEqual([tau2.x, tau2.y])
    expect(devCrsG2Bytes().length).toBe(128)
    expect(word(devCrsG2Bytes(), 0)).toBe(DEV_CRS_X_G2.x.c0)
  })

  it('has default pairing points that pair under [τ]G2', () => {
    const { p0, p1 } = devDefaultPairingPoints()
    const e = bn254.pairingBatch([
      { g1: G1.fromAffine(p0), g2: bn254.G2.ProjectivePoint.BASE },
      { g1: G1.fromAffine(p1), g2: bn254.G2.ProjectivePoint.fromAffine(DEV_CRS_X_G2) },
    ])
    expect(bn254.fields.Fp12.eql(e, bn254.fields.Fp12.ONE)).toBe(true)
  })

  it('patches exactly the three copies of bb.js 3.0.3 and refuses a WASM without them', () => {
    const wasm = gunzipSync(readFileSync(bbJsWasmPath()))
    const patched = patchBbWasmForDevCrs(wasm)
    expect(patched.length).toBe(wasm.length)
    let differing = 0
    for (let i = 0; i < wasm.length; i++) if (wasm[i] !== patched[i]) differing++
    expect(differing).toBeGreaterThan(0)
    expect(differing).toBeLessThanOrEqual(3 * 128)
    expect(() => patchBbWasmForDevCrs(patched)).toThrow(/found 0 copies/)
    expect(() => patchBbWasmForDevCrs(Buffer.alloc(1024))).toThrow(/found 0 copies/)
  })

  it("replaces Ignition's [x]G2 in a verifier exactly once, and refuses a source without it", () => {
    const source = readFileSync(join(repoRoot, 'src/verifiers/generated/Poseidon2PreimageDevHonkVerifier.sol'), 'utf8')
    expect(source).toContain('DEV CRS [tau]G2')
    expect(source).not.toMatch(/0x260e01b251f6f1c7e7ff4e580791dee8ea51d87a358e038b4efe30fac09383c1/)
    expect(() => devSolidityVerifier(source)).toThrow(/found 0/)
    const ignitionX = IGNITION_X_G2.x.c1.toString(16).padStart(64, '0')
    expect(ignitionX).toBe('260e01b251f6f1c7e7ff4e580791dee8ea51d87a358e038b4efe30fac09383c1')
  })
})

describe('noir/honk-verifier.mjs', () => {
  /** bb.js' raw verifier text, as getSolidityVerifier returns it (whatever the CRS, it hardcodes Ignition's [x]G2). */
  const raw = [
    '// SPDX-License-Identifier: Apache-2.0',
    'pragma solidity >=0.8.21;',
    'pragma solidity ^0.8.27;',
    'library L {}',
    'contract HonkVerifier is BaseHonkVerifier(N, LOG_N, VK_HASH, NUMBER_OF_PUBLIC_INPUTS) {}',
    'function pairing() {',
    '    // G2 point from VK',
    ...['x.c1', 'x.c0', 'y.c1', 'y.c0'].map((key) => {
      const [c, part] = key.split('.') as ['x' | 'y', 'c0' | 'c1']
      return `    uint256(0x${IGNITION_X_G2[c][part].toString(16).padStart(64, '0')}),`
    }),
    '}',
    '',
  ]
    .join('\n')
    .replace(/,\n\}/, '\n}')

  it("finishes bb.js' verifier: pinned, renamed, headed; the dev [τ]G2 only on the dev CRS, Ignition's kept on Ignition's", async () => {
    const options = { contractName: 'MyVerifier', header: '// hello\n' }
    const dev = await finishHonkVerifierSource(raw, { ...options, crs: 'INSECURE-DEV-CRS' })
    const ignition = await finishHonkVerifierSource(raw, { ...options, crs: { ignitionCrsPath: '/nowhere' } })
    for (const out of [dev, ignition]) {
      expect(out).toMatch(/^\/\/ SPDX-License-Identifier: Apache-2.0\n\/\/ hello\npragma solidity 0\.8\.30;\nlibrary L/)
      expect(out).toContain('contract MyVerifier is BaseHonkVerifier(')
    }
    expect(dev).toContain('DEV CRS [tau]G2')
    expect(dev).not.toContain(IGNITION_X_G2.x.c1.toString(16))
    expect(ignition).toContain(IGNITION_X_G2.x.c1.toString(16))
    expect(ignition).not.toContain('DEV CRS')
    await expect(finishHonkVerifierSource(dev, { ...options, crs: { ignitionCrsPath: '/x' } })).rejects.toThrow(
      /expected 1 × first pragma, found 0/,
    )
  })

  it('names what an Ignition CRS folder lacks, without downloading', () => {
    expect(() => ignitionCrsDir('/nonexistent/crs')).toThrow(
      /\/nonexistent\/crs does not exist: put Aztec's Ignition CRS/,
    )
    const { dir } = ensureDevCrsFiles({ numPoints: 513 })
    // The dev CRS folder has the files (its G2 point is refused when opened: see below).
    expect(ignitionCrsDir(dir)).toBe(dir)
    expect(() => ignitionCrsDir(dir, 1 << 20)).toThrow(/the circuit needs 1048576/)
  })
})

describe('production Barretenberg', () => {
  it('refuses the dev CRS', async () => {
    const { dir } = ensureDevCrsFiles({ numPoints: 513 })
    await expect(openBarretenberg({ crsPath: dir, numPoints: 513 })).rejects.toThrow(/not Aztec's Ignition CRS/)
  })

  it('requires an explicit CRS path', async () => {
    await expect(openBarretenberg({ crsPath: '', numPoints: 513 })).rejects.toThrow(/crsPath is required/)
  })
})
