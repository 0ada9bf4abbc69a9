import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { type Groth16SnarkjsProof, groth16 } from 'snarkjs'
import {
  concat,
  decodeAbiParameters,
  type Hex,
  keccak256,
  parseAbiParameters,
  recoverAddress,
  sha256,
  stringToBytes,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { beforeAll, describe, expect, it } from 'vitest'
import initWabt from 'wabt'
import {
  InvalidInputsError,
  type ProofJob,
  ProvingAbortedError,
  ProvingLimitError,
  proverFailureKind,
} from '../enclave/prover/backends/backend.js'
import {
  BN254_SCALAR_FIELD,
  createPoseidonPreimageBackend,
  type Groth16Backend,
} from '../enclave/prover/backends/groth16.js'
import {
  compileProgram,
  createTeeWasmBackend,
  encodeProgramInput,
  InvalidProgramError,
  programIdOf,
  runProgram,
  type TeeWasmBackendConfig,
} from '../enclave/prover/backends/tee-wasm.js'
import { readModuleLimits } from '../enclave/prover/backends/wasm-limits.js'
import { proofStatementOf, type TaskRecord } from '../enclave/prover/job.js'
import { encodePublicSignals, poseidonDigest, poseidonPreimageCircuit } from '../ts/groth16.js'
import { TEE_DIGEST_EIP712, TEE_DIGEST_SP1, type TeeProofStatement, teeProofDigest } from '../ts/tee.js'
import { emptyTask, type Inputs, inlineInputs, noInputs, remoteInputs, requestInputsDigest } from '../ts/types.js'
import { tableGrowerWat } from './table-grower.js'

const repoFile = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url))
const utf8Json = (value: unknown): Uint8Array => stringToBytes(JSON.stringify(value))

/** Expects `promise` to reject with an error of `type`, and returns it for further checks. */
async function rejection<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(type)
  return error as T
}

/** Groth16VerifierAdapter's encoding back to snarkjs JSON; G2 coordinates return to (real, imaginary). */
function snarkjsProof(proof: Hex): Groth16SnarkjsProof {
  const [a, b, c] = decodeAbiParameters(parseAbiParameters('uint256[2] a, uint256[2][2] b, uint256[2] c'), proof)
  const s = (v: bigint): string => v.toString()
  return {
    pi_a: [s(a[0]), s(a[1]), '1'],
    pi_b: [
      [s(b[0][1]), s(b[0][0])],
      [s(b[1][1]), s(b[1][0])],
      ['1', '0'],
    ],
    pi_c: [s(c[0]), s(c[1]), '1'],
    protocol: 'groth16',
    curve: 'bn128',
  }
}

function wordsOf(publicInputs: Hex): string[] {
  const hex = publicInputs.slice(2)
  return Array.from({ length: hex.length / 64 }, (_, i) => BigInt(`0x${hex.slice(i * 64, (i + 1) * 64)}`).toString())
}

describe('groth16 backend (poseidon preimage circuit)', () => {
  let backend: Groth16Backend
  let vkey: unknown
  const preimage = 42n
  const context = 1001n
  let digest: bigint
  const job = (overrides: Partial<ProofJob> = {}): ProofJob => ({
    requestId: 1n,
    marketId: 1n,
    publicInputs: encodePublicSignals([digest, context]),
    privateInputs: utf8Json({ preimage: preimage.toString() }),
    statement: { requestId: 1n, prover: zeroAddress, inputsDigest: zeroHash },
    ...overrides,
  })

  beforeAll(async () => {
    backend = await createPoseidonPreimageBackend()
    vkey = JSON.parse(await readFile(poseidonPreimageCircuit.vkey, 'utf8'))
    digest = await poseidonDigest(preimage)
  })

  it('proves a real proof that snarkjs verifies, for exactly the requested public inputs', async () => {
    const request = job()
    const output = await backend.prove(request)
    expect(backend.kind).toBe('groth16')
    expect(output.publicInputs).toBe(request.publicInputs)
    expect(wordsOf(output.publicInputs)).toEqual([digest.toString(), context.toString()])
    expect(await groth16.verify(vkey, wordsOf(output.publicInputs), snarkjsProof(output.proof))).toBe(true)
    // The proof is bound to its context: the same proof does not verify for another request's context.
    expect(await groth16.verify(vkey, [digest.toString(), '1002'], snarkjsProof(output.proof))).toBe(false)
  })

  it('accepts hex strings and safe integers for private signals', async () => {
    for (const value of [toHex(preimage), Number(preimage)]) {
      const output = await backend.prove(job({ privateInputs: utf8Json({ preimage: value }) }))
      expect(await groth16.verify(vkey, wordsOf(output.publicInputs), snarkjsProof(output.proof))).toBe(true)
    }
  })

  it('reports a wrong preimage as invalid inputs', async () => {
    const error = await rejection(
      backend.prove(job({ privateInputs: utf8Json({ preimage: '43' }) })),
      InvalidInputsError,
    )
    expect(error.message).toMatch(/digest/)
    expect(proverFailureKind(error)).toBe('invalid-inputs')
  })

  it('reports malformed private inputs as invalid inputs', async () => {
    const cases: (Uint8Array | undefined)[] = [
      undefined, // the preimage is missing: witness generation fails
      stringToBytes('{"preimage": 42'), // not JSON
      new Uint8Array([0xff, 0xfe]), // not UTF-8
      utf8Json([42]), // not an object
      utf8Json({ preimage: '42', salt: '1' }), // not a signal of the circuit
      utf8Json({ preimage: '42', context: '1001' }), // a public signal
      utf8Json({ preimage: 'forty-two' }),
      utf8Json({ preimage: 2 ** 60 }), // a JSON number that lost precision
    ]
    for (const privateInputs of cases) {
      await rejection(backend.prove(job({ privateInputs })), InvalidInputsError)
    }
  })

  it('reports malformed public inputs as invalid inputs', async () => {
    const cases: Hex[] = [
      encodePublicSignals([digest]),
      `${encodePublicSignals([digest, context])}00`,
      encodePublicSignals([digest, BN254_SCALAR_FIELD]),
      '0xzz',
    ]
    for (const publicInputs of cases) {
      await rejection(backend.prove(job({ publicInputs })), InvalidInputsError)
    }
  })

  it('stops before proving when aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await rejection(backend.prove(job(), controller.signal), ProvingAbortedError)
    expect(proverFailureKind(error)).toBe('aborted')
  })
})

describe('tee-wasm backend (sha256 preimage program)', () => {
  const signer = privateKeyToAccount(keccak256(stringToBytes('cairn backends test prover enclave')))
  const verifier = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const
  const marketplace = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' as const
  const chainId = 31337
  const prover = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
  const context = keccak256(stringToBytes('request 7'))
  const preimage = stringToBytes('the private witness')
  const publicInputs = concat([context, sha256(preimage)])
  let program: Uint8Array
  let wabt: Awaited<ReturnType<typeof initWabt>>

  const wat = (source: string): Uint8Array => {
    const module = wabt.parseWat('test.wat', source)
    try {
      return module.toBinary({}).buffer
    } finally {
      module.destroy()
    }
  }
  const backendFor = (config: Partial<TeeWasmBackendConfig> = {}) =>
    createTeeWasmBackend({ module: program, signer, verifier, chainId, marketplace, ...config })
  const requestId = (2n << 64n) | 7n
  const statement = { requestId, prover, inputsDigest: keccak256(stringToBytes('inputs of request 7')) }
  const job = (overrides: Partial<ProofJob> = {}): ProofJob => ({
    requestId,
    marketId: 2n,
    publicInputs,
    privateInputs: preimage,
    statement,
    ...overrides,
  })

  beforeAll(async () => {
    program = new Uint8Array(await readFile(repoFile('programs/sha256_preimage.wasm')))
    wabt = await initWabt()
  })

  it("identifies the program by sha256 of its bytes, as recorded in the programs' manifest", async () => {
    const manifest = JSON.parse(await readFile(repoFile('programs/manifest.json'), 'utf8'))
    const backend = await backendFor()
    expect(backend.programId).toBe(`0x${createHash('sha256').update(program).digest('hex')}`)
    expect(manifest.programs.sha256_preimage.programId).toBe(backend.programId)
    await expect(backendFor({ programId: keccak256(program) })).rejects.toThrow(/program id/)
    expect(await backendFor({ programId: backend.programId.toUpperCase().replace('0X', '0x') as Hex })).toBeDefined()
  })

  it('computes context ‖ sha256(preimage) for preimages across block boundaries', async () => {
    const module = await compileProgram(program)
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff)
      const output = await runProgram(module, encodeProgramInput(publicInputs, bytes))
      expect(toHex(output)).toBe(concat([context, sha256(bytes)]))
    }
  })

  for (const kind of [TEE_DIGEST_EIP712, TEE_DIGEST_SP1] as const) {
    it(`signs the public values for the job's request, prover and inputs (digest kind ${kind})`, async () => {
      const backend = await backendFor({ digestKind: kind })
      const output = await backend.prove(job())
      expect(output.publicInputs).toBe(publicInputs)
      const [digestKind, programId, signature] = decodeAbiParameters(
        parseAbiParameters('uint8 kind, bytes32 programId, bytes signature'),
        output.proof,
      )
      expect(digestKind).toBe(kind)
      expect(programId).toBe(programIdOf(program))
      const signed: TeeProofStatement = {
        verifier,
        chainId,
        marketplace,
        ...statement,
        programId,
        publicValues: output.publicInputs,
      }
      const recovered = async (changes: Partial<TeeProofStatement>) =>
        recoverAddress({ hash: teeProofDigest(kind, { ...signed, ...changes }), signature })
      expect(await recovered({})).toBe(signer.address)
      expect(backend.signer).toBe(signer.address)
      // The signature speaks for this request, inputs, prover, chain, verifier and marketplace only.
      const elsewhere: Partial<TeeProofStatement>[] = [
        { requestId: requestId + 1n },
        { inputsDigest: keccak256(stringToBytes('inputs of another request')) },
        { prover: signer.address },
        { chainId: chainId + 1 },
        { verifier: marketplace },
        { marketplace: verifier },
      ]
      for (const changes of elsewhere) expect(await recovered(changes)).not.toBe(signer.address)
    })
  }

  it('reports a wrong preimage, or public inputs the program rejects, as invalid inputs', async () => {
    const backend = await backendFor()
    const wrong = await rejection(
      backend.prove(job({ privateInputs: stringToBytes('another witness') })),
      InvalidInputsError,
    )
    expect(wrong.message).toMatch(/public values/)
    // The program traps unless the public inputs are 64 bytes.
    const trapped = await rejection(backend.prove(job({ publicInputs: context })), InvalidInputsError)
    expect(trapped.message).toMatch(/trapped/)
  })

  it('stops a program that loops forever, and a caller can abort one', async () => {
    const looping = wat(`(module
      (memory (export "memory") 1 1)
      (func (export "alloc") (param i32) (result i32) (i32.const 0))
      (func (export "run") (param i32 i32) (result i64) (loop $forever (br $forever)) (i64.const 0)))`)
    const backend = await backendFor({ module: looping, timeoutMs: 300 })
    const started = performance.now()
    const error = await rejection(backend.prove(job()), ProvingLimitError)
    expect(error.message).toMatch(/longer than 300 ms/)
    expect(proverFailureKind(error)).toBe('limit-exceeded')
    expect(performance.now() - started).toBeLessThan(5_000)

    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const patient = await backendFor({ module: looping, timeoutMs: 60_000 })
    await rejection(patient.prove(job(), controller.signal), ProvingAbortedError)
  })

  it('refuses modules that cannot run under the ABI as invalid programs', async () => {
    const modules = [
      new Uint8Array([0, 1, 2, 3]), // not WASM
      program.subarray(0, program.length - 10), // truncated
      // No run export.
      wat('(module (memory (export "memory") 1 1) (func (export "alloc") (param i32) (result i32) (i32.const 0)))'),
      wat(`(module (import "env" "f" (func)) (memory (export "memory") 1 1)
        (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))`),
      // No memory maximum: the program could grow without bound.
      wat(`(module (memory (export "memory") 1)
        (func (export "alloc") (param i32) (result i32) (i32.const 0))
        (func (export "run") (param i32 i32) (result i64) (i64.const 0)))`),
    ]
    for (const module of modules) {
      const error = await rejection(backendFor({ module }), InvalidProgramError)
      expect(error).toBeInstanceOf(InvalidInputsError)
    }
    await rejection(backendFor({ maxMemoryPages: 16 }), InvalidProgramError)
  })

  const tableGrower = (tables: number, maximum?: string) => wat(tableGrowerWat(tables, maximum))

  it('refuses a module whose tables have no maximum, or more elements than allowed, at compile time', async () => {
    const unbounded = await rejection(compileProgram(tableGrower(1)), InvalidProgramError)
    expect(unbounded.message).toMatch(/table 0 has no maximum/)
    // Each table bounded, but together more than the limit.
    const tooMany = await rejection(compileProgram(tableGrower(2, '40000')), InvalidProgramError)
    expect(tooMany.message).toMatch(/at most 65536 table elements, this one declares 80000/)
    expect(await compileProgram(tableGrower(2, '40000'), { maxTableElements: 80_000 })).toBeDefined()
    // The backend refuses it when created, before any request reaches it.
    await rejection(backendFor({ module: tableGrower(1) }), InvalidProgramError)
    // A table's funcref kind does not matter; the limit is in elements.
    const funcref = wat(`(module (memory (export "memory") 1 1) (table 1 funcref)
      (func (export "alloc") (param i32) (result i32) (i32.const 0))
      (func (export "run") (param i32 i32) (result i64) (i64.const 0)))`)
    expect((await rejection(compileProgram(funcref), InvalidProgramError)).message).toMatch(/table 0 has no maximum/)
  })

  it('reads the limits of imported tables and memories as well as defined ones', () => {
    const limits = readModuleLimits(
      wat(`(module (import "env" "t" (table 3 funcref)) (import "env" "m" (memory 1 2))
        (table 5 7 externref) (memory (export "memory") 1 4))`),
    )
    expect(limits.tables).toEqual([
      { minimum: 3, maximum: undefined, shared: false, index64: false, imported: true },
      { minimum: 5, maximum: 7, shared: false, index64: false, imported: false },
    ])
    expect(limits.memories.map(({ maximum, imported }) => ({ maximum, imported }))).toEqual([
      { maximum: 2, imported: true },
      { maximum: 4, imported: false },
    ])
  })

  it('ends a program that exhausts its sandbox’s heap with a limit error, and keeps running programs', async () => {
    // Tables allowed up to V8's cap, 64 of them: only the sandbox's heap limit stops this program.
    const grower = await backendFor({
      module: tableGrower(64, '10000000'),
      maxTableElements: 640_000_000,
      maxHeapMiB: 64,
      timeoutMs: 60_000,
    })
    const error = await rejection(grower.prove(job()), ProvingLimitError)
    // The heap limit ended it, not the time limit: V8's own fatal error line says so.
    expect(error.message).toMatch(/heap limit of 64 MiB/)
    expect(error.message).toMatch(/FATAL ERROR: .*heap out of memory/)
    expect(proverFailureKind(error)).toBe('limit-exceeded')
    // This process lives on, and so do other programs.
    const output = await (await backendFor()).prove(job())
    expect(output.publicInputs).toBe(publicInputs)
  }, 90_000)

  it('reports a program that breaks the ABI at run time as invalid inputs', async () => {
    const outOfBounds = wat(`(module (memory (export "memory") 1 1)
      (func (export "alloc") (param i32) (result i32) (i32.const 0))
      (func (export "run") (param i32 i32) (result i64) (i64.const 0x0001000100000000)))`)
    const backend = await backendFor({ module: outOfBounds })
    const error = await rejection(backend.prove(job()), InvalidInputsError)
    expect(error.message).toMatch(/out of bounds/)
  })

  it('encodes the program input as a little-endian length-prefixed pair', () => {
    expect(toHex(encodeProgramInput('0xaabb', new Uint8Array([0xcc])))).toBe('0x02000000aabbcc')
    expect(toHex(encodeProgramInput('0x'))).toBe('0x00000000')
  })

  it('treats any other failure as transient', () => {
    expect(proverFailureKind(new Error('ECONNRESET'))).toBe('transient')
  })
})

describe('the statement a proof job carries', () => {
  const prover = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
  const record = (publicInputs: Inputs, privateInputs: Inputs): TaskRecord => ({
    requestId: (3n << 64n) | 1n,
    marketId: 3n,
    requester: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    request: {
      refundAddress: zeroAddress,
      maxReward: 1n,
      createdAt: 0,
      matchingExpiry: 0,
      provingTime: 1,
      inputsDigest: requestInputsDigest(publicInputs, privateInputs),
    },
    task: { ...emptyTask, prover },
    publicInputs,
    privateInputs,
  })

  it('recomputes the inputs digest createRequest commits from the bytes evaluated, inline or behind a URI', () => {
    const publicBytes = toHex(stringToBytes('public part'))
    const envelope = toHex(stringToBytes('an encrypted envelope'))
    const cases: [Inputs, Inputs, Hex | undefined][] = [
      [inlineInputs(publicBytes), noInputs, undefined],
      [inlineInputs(publicBytes), inlineInputs(envelope), envelope],
      [remoteInputs('https://inputs.example/p', keccak256(publicBytes)), noInputs, undefined],
      [inlineInputs(publicBytes), remoteInputs('https://inputs.example/e', keccak256(envelope)), envelope],
    ]
    for (const [publicInputs, privateInputs, evaluatedEnvelope] of cases) {
      const task = record(publicInputs, privateInputs)
      expect(proofStatementOf(task, publicBytes, evaluatedEnvelope)).toEqual({
        requestId: task.requestId,
        prover,
        inputsDigest: task.request.inputsDigest,
      })
    }
  })

  it("states other inputs when the bytes evaluated are not the request's", () => {
    const publicBytes = toHex(stringToBytes('public part'))
    const task = record(inlineInputs(publicBytes), inlineInputs(toHex(stringToBytes('the posted envelope'))))
    const served = toHex(stringToBytes('an envelope a host served instead'))
    expect(proofStatementOf(task, publicBytes, served).inputsDigest).not.toBe(task.request.inputsDigest)
    expect(proofStatementOf(task, publicBytes, undefined).inputsDigest).not.toBe(task.request.inputsDigest)
  })
})
