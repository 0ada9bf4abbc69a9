/**
 * TEE-attested WASM execution, for markets whose verifier is a TeeProofVerifier: the market's program is a WASM
 * module, its program id is sha256(module bytes), and the prover enclave's registered signing key signs the
 * program's public values for one request (an SP1-TEE-style proof: abi.encode(uint8 digestKind, bytes32 programId,
 * bytes signature)).
 *
 * Program ABI v1 (programs/*.wat are examples):
 * - The module imports nothing and exports `memory` (with a declared maximum, at most the backend's page limit);
 *   every table declares a maximum, at most the backend's element limit over all tables.
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
 * Limits: each run gets a fresh instance in a sandbox process (wasm-sandbox.ts), killed after `timeoutMs` (a
 * looping program cannot hang the runner) or when the caller aborts. Memory is bounded twice: at compile time, by
 * refusing modules whose memory or any table has no maximum, a memory maximum above `maxMemoryPages`, or table
 * maxima above `maxTableElements` in all (wasm-limits.ts reads them from the binary); at run time, by the sandbox's
 * V8 heap limit `maxHeapMiB`, at which the sandbox dies and the runner does not. The time limit is wall-clock, not
 * an instruction budget, and the heap limit depends on the engine, so exceeding either is a ProvingLimitError, not
 * evidence of invalid inputs.
 *
 * A market entry `{ backend: 'tee-wasm', teeWasm: … }` names the program: the sample `sha256-preimage` (the default),
 * or its module and limits. At start the module must hash to the program id of the market's verifier, which must
 * serve this market and this marketplace: a runner that could only ever sign proofs the verifier refuses fails then.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  hexToBytes,
  isAddress,
  isAddressEqual,
  isHex,
  type LocalAccount,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { z } from 'zod'
import { teeProofVerifierAbi } from '../../../ts/generated.js'
import { repoRoot } from '../../../ts/root.js'
import { positive } from '../../../ts/service/schemas.js'
import { signTeeProof, TEE_DIGEST_EIP712, type TeeDigestKind } from '../../../ts/tee.js'
import {
  type BackendForKey,
  type BackendMarket,
  defineBackend,
  describeError,
  InvalidInputsError,
  type ProofJob,
  type ProofOutput,
  type ProverBackend,
  throwIfAborted,
} from './backend.js'
import { readModuleLimits, UnreadableModuleError } from './wasm-limits.js'
import { createSandboxPool, type SandboxPool } from './wasm-sandbox.js'

/** The sample program programs/sha256_preimage.wasm. */
export const SHA256_PREIMAGE = 'sha256-preimage'

/** programs/sha256_preimage.wasm, the tee-wasm preset. */
export const sha256PreimageProgram = join(repoRoot, 'programs/sha256_preimage.wasm')

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), 'expected an address')
  .transform((value) => getAddress(value))

/** A market entry's `teeWasm` field. */
const programSchema = z.union([
  z.literal(SHA256_PREIMAGE),
  z.object({
    /** The program's WASM module, relative to the working directory. */
    module: z.string().min(1),
    /** The market's TeeProofVerifier; default: the market's verifier as stored on chain. */
    verifier: address.optional(),
    /** 0: EIP-712 (binds chain and verifier), 1: sp1-tee-prover compatible. */
    digestKind: z.union([z.literal(0), z.literal(1)]).default(0),
    /** Wall-clock limit of one run of the program. */
    timeoutMs: positive.optional(),
    /** Most elements the program's tables may declare in all (default 65536): tables live on the V8 heap. */
    maxTableElements: positive.optional(),
    /** V8 heap of the program's sandbox process, in MiB (default 128). */
    maxHeapMiB: positive.optional(),
  }),
])

/** Markets whose verifier is a TeeProofVerifier. Signs with the market's enclave key, so a backend per key. */
export const teeWasmBackend = defineBackend({
  kind: 'tee-wasm',
  schema: z.object({ teeWasm: programSchema.default(SHA256_PREIMAGE) }),
  load: ({ teeWasm }, market) => loadProgram(teeWasm === SHA256_PREIMAGE ? undefined : teeWasm, market),
})

async function loadProgram(
  custom: Exclude<z.output<typeof programSchema>, typeof SHA256_PREIMAGE> | undefined,
  market: BackendMarket,
): Promise<BackendForKey> {
  const { reader, marketId } = market
  const verifier = custom?.verifier ?? market.verifier
  if (!isAddressEqual(verifier, market.verifier)) {
    throw new Error(`market ${marketId} verifies with ${market.verifier}, the config names ${verifier}`)
  }
  const contract = { address: verifier, abi: teeProofVerifierAbi } as const
  const [programId, verifierMarket, verifierMarketplace] = await Promise.all([
    reader.public.readContract({ ...contract, functionName: 'programId' }),
    reader.public.readContract({ ...contract, functionName: 'marketId' }),
    reader.public.readContract({ ...contract, functionName: 'marketplace' }),
  ])
  if (verifierMarket !== marketId) {
    throw new Error(`market ${marketId}'s verifier ${verifier} accepts keys of market ${verifierMarket}`)
  }
  const marketplace = reader.deployment.contracts.proofMarketplace
  if (!isAddressEqual(verifierMarketplace, marketplace)) {
    throw new Error(
      `market ${marketId}'s verifier ${verifier} accepts proofs for marketplace ${verifierMarketplace}, ` +
        `this deployment's is ${marketplace}: deploy the market's verifier for this marketplace`,
    )
  }
  const options = {
    module: new Uint8Array(await readFile(custom ? resolve(custom.module) : sha256PreimageProgram)),
    verifier,
    chainId: reader.public.chain.id,
    marketplace,
    programId,
    digestKind: custom?.digestKind ?? TEE_DIGEST_EIP712,
    timeoutMs: custom?.timeoutMs,
    maxTableElements: custom?.maxTableElements,
    maxHeapMiB: custom?.maxHeapMiB,
  }
  // Checks the module against the market's program id and the ABI now, with a throwaway key.
  await createTeeWasmBackend({ ...options, signer: `0x${'11'.repeat(32)}` })
  const bySigner = new Map<Address, Promise<ProverBackend>>()
  return (key) => {
    if (key === undefined) return Promise.reject(new Error(`market ${marketId} has no enclave key yet`))
    let backend = bySigner.get(key.signer)
    if (backend === undefined) {
      backend = createTeeWasmBackend({ ...options, signer: key.signerKey })
      // A key is current for one rotation period: the cache holds the current one and the one before.
      if (bySigner.size >= 2) bySigner.delete(bySigner.keys().next().value as Address)
      bySigner.set(key.signer, backend)
    }
    return backend
  }
}

export const DEFAULT_TIMEOUT_MS = 10_000
/** 64 MiB of linear memory. */
export const DEFAULT_MAX_MEMORY_PAGES = 1024
/** Elements of all tables together: a few MiB of V8 heap at most (tables live there, not in linear memory). */
export const DEFAULT_MAX_TABLE_ELEMENTS = 65_536
/** The sandbox's V8 heap: ample for a program's tables within the limit above; its input and memory live outside. */
export const DEFAULT_MAX_HEAP_MIB = 128

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
  maxTableElements?: number
  maxHeapMiB?: number
}

export type TeeWasmBackend = ProverBackend & {
  readonly kind: 'tee-wasm'
  readonly programId: Hex
  readonly signer: Address
}

/** A program that compiled and passed the ABI and limit checks, as returned by compileProgram; runs in sandboxes. */
export type CompiledProgram = { readonly sandboxes: SandboxPool }

type WasmModule = { readonly [wasmModule]: true }
declare const wasmModule: unique symbol
type ModuleDescriptor = { module: string; name: string; kind: string }
/** The slice of Node's WebAssembly API this module uses: the project's lib (es2023, no DOM) does not declare it. */
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      compile(bytes: Uint8Array): Promise<WasmModule>
      Module: {
        imports(module: WasmModule): ModuleDescriptor[]
        exports(module: WasmModule): Omit<ModuleDescriptor, 'module'>[]
      }
    }
  }
).WebAssembly

export type ProgramLimits = { maxMemoryPages?: number | undefined; maxTableElements?: number | undefined }
export type RunLimits = { timeoutMs?: number; maxHeapMiB?: number | undefined; signal?: AbortSignal | undefined }

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

/** Compiles a module and checks it against the ABI and the limits; InvalidProgramError when it cannot run under them. */
export async function compileProgram(bytes: Uint8Array, limits: ProgramLimits = {}): Promise<CompiledProgram> {
  let module: WasmModule
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
  checkLimits(bytes, limits)
  return { sandboxes: createSandboxPool(bytes) }
}

/** Every memory and table, defined or imported, declares a maximum within the limits: all growth is bounded. */
function checkLimits(bytes: Uint8Array, limits: ProgramLimits): void {
  const maxMemoryPages = limits.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES
  const maxTableElements = limits.maxTableElements ?? DEFAULT_MAX_TABLE_ELEMENTS
  let declared: ReturnType<typeof readModuleLimits>
  try {
    declared = readModuleLimits(bytes)
  } catch (error) {
    if (!(error instanceof UnreadableModuleError)) throw error
    throw new InvalidProgramError(`a program's memory and tables must be readable, this one has ${error.message}`)
  }
  const [memory, ...others] = declared.memories
  const plain = memory !== undefined && others.length === 0 && !memory.shared && !memory.index64
  if (!plain || memory.maximum === undefined || memory.maximum > maxMemoryPages) {
    const has = !plain ? `${declared.memories.length} memories or a shared or 64-bit one` : (memory.maximum ?? 'none')
    throw new InvalidProgramError(
      `a program's memory needs a maximum of at most ${maxMemoryPages} pages, this one has ${has}`,
    )
  }
  let elements = 0
  for (const [index, table] of declared.tables.entries()) {
    if (table.maximum === undefined) {
      throw new InvalidProgramError(`a program's tables need a maximum, table ${index} has no maximum`)
    }
    elements += table.maximum
  }
  if (elements > maxTableElements) {
    throw new InvalidProgramError(
      `a program's tables may hold at most ${maxTableElements} table elements, this one declares ${elements}`,
    )
  }
}

/** Runs a compiled program on one input in a sandbox, within the limits; resolves to its output. */
export function runProgram(program: CompiledProgram, input: Uint8Array, limits: RunLimits = {}): Promise<Uint8Array> {
  return program.sandboxes.run(input, {
    timeoutMs: limits.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxHeapMiB: limits.maxHeapMiB ?? DEFAULT_MAX_HEAP_MIB,
    signal: limits.signal,
  })
}

/** A backend for one market's program, signing with the enclave's prover key. */
export async function createTeeWasmBackend(config: TeeWasmBackendConfig): Promise<TeeWasmBackend> {
  const programId = programIdOf(config.module)
  if (config.programId !== undefined && config.programId.toLowerCase() !== programId) {
    throw new Error(`the module hashes to program id ${programId}, the market's program is ${config.programId}`)
  }
  const module = await compileProgram(config.module, config)
  const account = typeof config.signer === 'string' ? privateKeyToAccount(config.signer) : config.signer
  const limits = { timeoutMs: config.timeoutMs, maxHeapMiB: config.maxHeapMiB }

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
