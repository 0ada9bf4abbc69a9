// The prover runner's Noir backend (enclave/prover/backends/noir.ts) on noir/poseidon2_preimage with the DEV CRS:
// real witnesses (noir_js) and real UltraHonk proofs (bb.js), checked by bb.js' verifier; no chain.
import { readFile } from 'node:fs/promises'
import type { Barretenberg } from '@aztec/bb.js'
import { UltraHonkBackend } from '@aztec/bb.js'
import { type Hex, size, stringToBytes, zeroAddress, zeroHash } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  InvalidInputsError,
  type ProofJob,
  ProvingAbortedError,
  proverFailureKind,
} from '../enclave/prover/backends/backend.js'
import {
  createNoirBackend,
  INSECURE_DEV_CRS,
  type NoirBackend,
  poseidon2PreimageProgram,
  readNoirProgram,
} from '../enclave/prover/backends/noir.js'
import { openDevBarretenberg } from '../noir/dev-crs/index.mjs'
import { NOIR_FIELD_MODULUS, type NoirProgram } from '../ts/noir.js'

type Fixture = { inputs: Record<string, Hex>; publicInputs: Hex; proof: Hex }
const fixtures = async (file: string): Promise<Fixture[]> =>
  (JSON.parse(await readFile(new URL(`../noir/build/${file}`, import.meta.url), 'utf8')) as { fixtures: Fixture[] })
    .fixtures

const utf8Json = (value: unknown): Uint8Array => stringToBytes(JSON.stringify(value))

async function rejection<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(type)
  return error as T
}

describe('noir backend (poseidon2 preimage circuit, DEV CRS)', () => {
  let program: NoirProgram
  let zk: NoirBackend
  let noZk: NoirBackend
  let verifierApi: Barretenberg
  let verifier: UltraHonkBackend
  let fixture: Fixture
  const job = (overrides: Partial<ProofJob> = {}): ProofJob => ({
    requestId: 1n,
    marketId: 1n,
    publicInputs: fixture.publicInputs,
    privateInputs: utf8Json({ preimage: fixture.inputs.preimage }),
    statement: { requestId: 1n, prover: zeroAddress, inputsDigest: zeroHash },
    ...overrides,
  })
  const words = (publicInputs: Hex) =>
    Array.from({ length: size(publicInputs) / 32 }, (_, i) => `0x${publicInputs.slice(2 + 64 * i, 66 + 64 * i)}`)

  beforeAll(async () => {
    program = await readNoirProgram(poseidon2PreimageProgram)
    ;[fixture] = (await fixtures('poseidon2_preimage.fixtures.json')) as [Fixture]
    zk = await createNoirBackend({ program, flavour: 'zk', crs: INSECURE_DEV_CRS })
    noZk = await createNoirBackend({ program, flavour: 'no-zk', crs: INSECURE_DEV_CRS })
    verifierApi = await openDevBarretenberg({ numPoints: 513 })
    verifier = new UltraHonkBackend(program.bytecode, verifierApi)
  }, 120_000)

  afterAll(async () => {
    await zk?.destroy()
    await noZk?.destroy()
    await verifierApi?.destroy()
  })

  it('proves a ZK proof that bb.js verifies, for exactly the requested public inputs', async () => {
    const output = await zk.prove(job())
    expect(zk.kind).toBe('noir')
    expect(output.publicInputs).toBe(fixture.publicInputs)
    // The ZK verifier's proof length for this 2^8-row circuit (186 fields), which the market's adapter is built with.
    expect(size(output.proof)).toBe(5952)
    const proofData = (publicInputs: Hex) => ({
      proof: Buffer.from(output.proof.slice(2), 'hex'),
      publicInputs: words(publicInputs),
    })
    expect(await verifier.verifyProof(proofData(output.publicInputs), { verifierTarget: 'evm' })).toBe(true)
    // Bound to its context: the same proof does not verify for another request's context.
    const otherContext = `${output.publicInputs.slice(0, 66)}${'00'.repeat(31)}07` as Hex
    expect(await verifier.verifyProof(proofData(otherContext), { verifierTarget: 'evm' })).toBe(false)
    // Masked: proving the same statement twice gives two different proofs.
    expect((await zk.prove(job())).proof).not.toBe(output.proof)
  })

  it('proves in the non-ZK flavour exactly the committed fixture the forge tests verify on chain', async () => {
    for (const f of (await fixtures('poseidon2_preimage.fixtures.json')).slice(0, 2)) {
      const output = await noZk.prove(
        job({ publicInputs: f.publicInputs, privateInputs: utf8Json({ preimage: f.inputs.preimage }) }),
      )
      expect(output).toEqual({ publicInputs: f.publicInputs, proof: f.proof })
    }
  })

  it('accepts a preimage as decimal, 0x-hex or a safe integer', async () => {
    const value = BigInt(fixture.inputs.preimage as Hex)
    for (const preimage of [value.toString(), `0x${value.toString(16)}`, Number(value)]) {
      const output = await noZk.prove(job({ privateInputs: utf8Json({ preimage }) }))
      expect(output.proof).toBe(fixture.proof)
    }
  })

  it('reports a preimage that fails the circuit assertion as invalid inputs', async () => {
    const error = await rejection(zk.prove(job({ privateInputs: utf8Json({ preimage: '0x2a' }) })), InvalidInputsError)
    expect(error.message).toContain('digest is not Poseidon2(preimage)')
    expect(proverFailureKind(error)).toBe('invalid-inputs')
    // A digest no preimage of this request hashes to: also the assertion.
    const [other] = (await fixtures('poseidon2_preimage.fixtures.json')).slice(1) as [Fixture]
    await rejection(zk.prove(job({ publicInputs: other.publicInputs })), InvalidInputsError)
  })

  it('names the field when the private inputs do not fit the ABI, as invalid inputs', async () => {
    const cases: [Uint8Array | undefined, RegExp][] = [
      [undefined, /Noir input preimage: missing \(a Field\)/],
      [utf8Json({ preimge: '1' }), /Noir input preimge: the circuit has no parameter preimge/],
      [utf8Json({ preimage: '1', salt: '2' }), /Noir input salt: the circuit has no parameter salt/],
      [utf8Json({ preimage: '1', context: '2' }), /Noir input context: is a public input, not a private one/],
      [utf8Json({ preimage: 'forty-two' }), /Noir input preimage: "forty-two" is not a Field/],
      [utf8Json({ preimage: 2 ** 60 }), /Noir input preimage: .* is not a Field/],
      [
        utf8Json({ preimage: NOIR_FIELD_MODULUS.toString() }),
        /Noir input preimage: is not below the BN254 scalar field/,
      ],
      [utf8Json(['1']), /expected a JSON object of the private inputs by name \(preimage\)/],
      [stringToBytes('{"preimage": 1'), /private inputs are not UTF-8 JSON/],
    ]
    for (const [privateInputs, message] of cases) {
      const error = await rejection(zk.prove(job({ privateInputs })), InvalidInputsError)
      expect(error.message).toMatch(message)
      expect(proverFailureKind(error)).toBe('invalid-inputs')
    }
  })

  it('reports malformed public inputs as invalid inputs', async () => {
    const aboveField = `${fixture.publicInputs.slice(0, 66)}${NOIR_FIELD_MODULUS.toString(16).padStart(64, '0')}` as Hex
    for (const publicInputs of [
      fixture.publicInputs.slice(0, 66) as Hex,
      `${fixture.publicInputs}00` as Hex,
      aboveField,
    ]) {
      await rejection(zk.prove(job({ publicInputs })), InvalidInputsError)
    }
  })

  it('stops before proving when aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await rejection(zk.prove(job(), controller.signal), ProvingAbortedError)
    expect(proverFailureKind(error)).toBe('aborted')
  })
})
