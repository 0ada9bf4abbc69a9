/**
 * TEE-attested WASM execution, for markets whose verifier is a TeeProofVerifier: the market's program is a WASM
 * module, its program id is sha256(module bytes), and the prover enclave's registered signing key signs the
 * program's public values for one request (an SP1-TEE-style proof: abi.encode(uint8 digestKind, bytes32 programId,
 * bytes signature)).
 *
 * Program ABI v1 (programs/*.wat are examples):
 * - The module imports nothing and exports `memory` (with a declared maximum, at most the backend's page limit),
 *   `alloc(len: i32) -> i32` and `run(ptr: i32, len: i32) -> i64`.
 * - The host calls alloc(n) for the input, writes the input there and calls run(ptr, n). The input is
 *   u32 little-endian byte length of the public inputs ‖ the public inputs ‖ the private inputs (the rest; none
 *   when the request has no private inputs).
 * - run returns (len << 32) | ptr of its output in memory: the public values.
 * - A trap (`unreachable`, out-of-bounds access, ...) means the inputs are invalid.
 *
 * Why the public values must equal the request's public inputs: ProofMarketplace accepts a fulfilment only if
 * keccak256(keccak256(publicInputs) ‖ privateInputsDigest) is the request's inputsDigest, and TeeProofVerifier
 * checks the signature over those same publicInputs as the program's public values. So a request's public inputs
 * are the public values it claims the program outputs, and a program computes them from (public inputs, private
 * inputs) — typically echoing the public part that binds the request and recomputing the claimed result, as
 * programs/sha256_preimage.wat outputs context ‖ sha256(private preimage) for public inputs context ‖ digest.
 * This backend signs only when the output equals the request's public inputs byte for byte, and otherwise
 * reports invalid inputs; the signature then states "this program, in this prover's attested enclave, mapped the
 * inputs of this request (job.statement: its id, assigned prover, and inputs digest recomputed from the bytes the
 * program ran on) to exactly these public values", on this chain, verifier and marketplace. So it fulfils that
 * request only: not another with the same public values, and not when another prover submits it.
 *
 * Limits: each run gets a fresh worker thread, terminated after `timeoutMs` (a looping program cannot hang the
 * runner) or when the caller aborts. Memory is bounded by refusing modules whose memory has no maximum or a
 * maximum above `maxMemoryPages`. The time limit is wall-clock, not an instruction budget, so exceeding it is a
 * ProvingLimitError, not evidence of invalid inputs.
 */
import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { type Address, bytesToHex, type Hex, hexToBytes, isHex, type LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { signTeeProof, TEE_DIGEST_EIP712, type TeeDigestKind } from '../../../ts/tee.js'
import {
  describeError,
  InvalidInputsError,
  type ProofJob,
  type ProofOutput,
  type ProverBackend,
  ProvingAbortedError,
  ProvingLimitError,
  throwIfAborted,
} from '../backend.js'

export const DEFAULT_TIMEOUT_MS = 10_000
/** 64 MiB of linear memory. */
export const DEFAULT_MAX_MEMORY_PAGES = 1024

/** The program cannot run under the ABI at all, so no input of it is provable; thrown when creating the backend. */
export class InvalidProgramError extends InvalidInputsError {
  override readonly name = 'InvalidProgramError'
}

export type TeeWasmBackendConfig = {
  /** The program's module bytes. */
  module: Uint8Array
  /** The enclave's prover key, registered in the TeeRegistry for this market. */
  signer: LocalAccount | Hex
  /** The market's TeeProofVerifier: the EIP-712 domain of digest kind 0. */
  verifier: Address
  chainId: number
  /** The marketplace the verifier serves (TeeProofVerifier.marketplace), part of every statement signed. */
  marketplace: Address
  /** Which digest to sign; default EIP-712 (kind 0). Both forms bind the same statement. */
  digestKind?: TeeDigestKind
  /** When given (e.g. the verifier's programId read from chain), the module must hash to it. */
  programId?: Hex
  timeoutMs?: number
  maxMemoryPages?: number
}

export type TeeWasmBackend = ProverBackend & {
  readonly kind: 'tee-wasm'
  readonly programId: Hex
  readonly signer: Address
}

/** A compiled program (a WebAssembly.Module), as returned by compileProgram. */
export type CompiledProgram = { readonly [compiledProgram]: true }
declare const compiledProgram: unique symbol

type ModuleDescriptor = { module: string; name: string; kind: string }
/** The slice of Node's WebAssembly API this module uses: the project's lib (es2023, no DOM) does not declare it. */
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      compile(bytes: Uint8Array): Promise<CompiledProgram>
      Module: {
        imports(module: CompiledProgram): ModuleDescriptor[]
        exports(module: CompiledProgram): Omit<ModuleDescriptor, 'module'>[]
      }
    }
  }
).WebAssembly

export type RunLimits = { timeoutMs?: number; signal?: AbortSignal | undefined }

/** A program's id: sha256 of its module bytes, what the market's TeeProofVerifier is deployed with. */
export function programIdOf(module: Uint8Array): Hex {
  return bytesToHex(createHash('sha256').update(module).digest())
}

/** The ABI's input: u32 little-endian length of the public inputs ‖ public inputs ‖ private inputs. */
export function encodeProgramInput(publicInputs: Hex, privateInputs?: Uint8Array): Uint8Array {
  if (!isHex(publicInputs, { strict: true }) || publicInputs.length % 2 !== 0) {
    throw new InvalidInputsError('public inputs are not hex of whole bytes')
  }
  const publicBytes = hexToBytes(publicInputs)
  const privateBytes = privateInputs ?? new Uint8Array(0)
  const input = new Uint8Array(4 + publicBytes.length + privateBytes.length)
  new DataView(input.buffer).setUint32(0, publicBytes.length, true)
  input.set(publicBytes, 4)
  input.set(privateBytes, 4 + publicBytes.length)
  return input
}

/** Compiles a module and checks it against the ABI; InvalidProgramError when it cannot run under it. */
export async function compileProgram(
  bytes: Uint8Array,
  maxMemoryPages: number = DEFAULT_MAX_MEMORY_PAGES,
): Promise<CompiledProgram> {
  let module: CompiledProgram
  try {
    module = await wasm.compile(bytes)
  } catch (error) {
    throw new InvalidProgramError(`not a valid WASM module: ${describeError(error)}`, { cause: error })
  }
  const imports = wasm.Module.imports(module)
  if (imports.length > 0) {
    const names = imports.map((i) => `${i.module}.${i.name}`).join(', ')
    throw new InvalidProgramError(`a program imports nothing, this one imports ${names}`)
  }
  const exports = new Map(wasm.Module.exports(module).map((e) => [e.name, e.kind]))
  for (const [name, kind] of [
    ['memory', 'memory'],
    ['alloc', 'function'],
    ['run', 'function'],
  ] as const) {
    if (exports.get(name) !== kind) throw new InvalidProgramError(`a program exports ${kind} \`${name}\``)
  }
  const maximum = memoryMaximum(bytes)
  if (maximum === undefined || maximum > maxMemoryPages) {
    throw new InvalidProgramError(
      `a program's memory needs a maximum of at most ${maxMemoryPages} pages, this one has ${maximum ?? 'none'}`,
    )
  }
  return module
}

/**
 * The declared maximum (in pages) of the module's memory, read from its memory section; the JS API does not
 * expose memory types. Only called on a module that compiled, so the section structure is sound.
 */
function memoryMaximum(bytes: Uint8Array): number | undefined {
  let at = 8 // magic and version
  const leb = (): number => {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++] ?? 0
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
  }
  while (at < bytes.length) {
    const id = bytes[at++]
    const length = leb()
    if (id !== 5) {
      at += length
      continue
    }
    if (leb() !== 1) return undefined
    const flags = bytes[at++] ?? 0
    if (flags !== 0x01) return undefined // no maximum, or a shared or 64-bit memory
    leb() // minimum
    return leb()
  }
  return undefined
}

// Runs in a fresh worker (plain JS: workers do not go through the TypeScript loader). Every failure it reports as
// 'trap' or 'abi' is the program's deterministic behaviour on this input; anything else is the host's problem.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const abi = (message) => Object.assign(new Error(message), { kind: 'abi' })
function execute(module, input) {
  const { memory, alloc, run } = new WebAssembly.Instance(module, {}).exports
  const ptr = alloc(input.length) >>> 0
  if (ptr + input.length > memory.buffer.byteLength) throw abi('alloc returned memory out of bounds')
  new Uint8Array(memory.buffer).set(input, ptr)
  const packed = run(ptr, input.length)
  if (typeof packed !== 'bigint') throw abi('run must return an i64')
  const outPtr = Number(BigInt.asUintN(32, packed))
  const outLen = Number(BigInt.asUintN(32, packed >> 32n))
  if (outPtr + outLen > memory.buffer.byteLength) throw abi('run returned an output out of bounds')
  return new Uint8Array(memory.buffer.slice(outPtr, outPtr + outLen))
}
try {
  const output = execute(workerData.module, workerData.input)
  parentPort.postMessage({ ok: true, output }, [output.buffer])
} catch (error) {
  const trap = error instanceof WebAssembly.RuntimeError || error instanceof WebAssembly.LinkError ||
    (error instanceof RangeError && /call stack/.test(error.message))
  const kind = error && error.kind === 'abi' ? 'abi' : trap ? 'trap' : 'host'
  parentPort.postMessage({ ok: false, kind, message: String(error && error.message || error) })
}
`

type WorkerReply = { ok: true; output: Uint8Array } | { ok: false; kind: 'trap' | 'abi' | 'host'; message: string }

/** Runs a compiled program on one input in a fresh worker, within the time limit; resolves to its output. */
export function runProgram(module: CompiledProgram, input: Uint8Array, limits: RunLimits = {}): Promise<Uint8Array> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, signal } = limits
  throwIfAborted(signal)
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, input } })
    let settled = false
    const settle = (finish: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      void worker.terminate()
      finish()
    }
    const timer = setTimeout(
      () => settle(() => reject(new ProvingLimitError(`the program ran longer than ${timeoutMs} ms`))),
      timeoutMs,
    )
    const onAbort = (): void =>
      settle(() => reject(new ProvingAbortedError('proving was aborted', { cause: signal?.reason })))
    signal?.addEventListener('abort', onAbort, { once: true })
    worker.on('message', (reply: WorkerReply) =>
      settle(() => (reply.ok ? resolve(reply.output) : reject(replyError(reply)))),
    )
    worker.on('error', (error) => settle(() => reject(error)))
    worker.on('exit', (code) =>
      settle(() => reject(new Error(`the program's worker exited (code ${code}) without a result`))),
    )
  })
}

function replyError(reply: Extract<WorkerReply, { ok: false }>): Error {
  if (reply.kind === 'trap') return new InvalidInputsError(`the program trapped: ${reply.message}`)
  if (reply.kind === 'abi') return new InvalidInputsError(`the program broke the ABI: ${reply.message}`)
  return new Error(`the program's host failed: ${reply.message}`)
}

/** A backend for one market's program, signing with the enclave's prover key. */
export async function createTeeWasmBackend(config: TeeWasmBackendConfig): Promise<TeeWasmBackend> {
  const programId = programIdOf(config.module)
  if (config.programId !== undefined && config.programId.toLowerCase() !== programId) {
    throw new Error(`the module hashes to program id ${programId}, the market's program is ${config.programId}`)
  }
  const module = await compileProgram(config.module, config.maxMemoryPages)
  const account = typeof config.signer === 'string' ? privateKeyToAccount(config.signer) : config.signer
  const limits = { timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS }

  async function prove(job: ProofJob, signal?: AbortSignal): Promise<ProofOutput> {
    const input = encodeProgramInput(job.publicInputs, job.privateInputs)
    const publicValues = bytesToHex(await runProgram(module, input, { ...limits, signal }))
    if (publicValues !== job.publicInputs.toLowerCase()) {
      throw new InvalidInputsError(
        `the program output public values ${abbreviate(publicValues)}, ` +
          `the request's public inputs are ${abbreviate(job.publicInputs)}`,
      )
    }
    throwIfAborted(signal)
    const proof = await signTeeProof(account, {
      kind: config.digestKind ?? TEE_DIGEST_EIP712,
      verifier: config.verifier,
      chainId: config.chainId,
      marketplace: config.marketplace,
      ...job.statement,
      programId,
      publicValues,
    })
    return { publicInputs: publicValues, proof }
  }

  return { kind: 'tee-wasm', programId, signer: account.address, prove }
}

function abbreviate(hex: Hex): string {
  const bytes = (hex.length - 2) / 2
  return hex.length > 42 ? `${hex.slice(0, 42)}… (${bytes} bytes)` : `${hex} (${bytes} bytes)`
}
