/**
 * Noir circuits' inputs, checked against the circuit's ABI (the `abi` of a compiled program, noir/build/<circuit>.json):
 * what a requester's SDK checks before anything is encrypted or posted, and what the prover runner's Noir backend
 * checks before executing the witness. Inputs are named fields, as the ABI names them: `{ "preimage": "42" }`.
 *
 * Values: a field is a decimal or 0x-hex string, or a safe integer, below the BN254 scalar field; an integer the same
 * within its sign and width; a boolean `true`/`false`; a string a JSON string of exactly its length (ASCII); an array a
 * JSON array of exactly its length; a struct an object of exactly its fields; a tuple a JSON array of its fields.
 *
 * Public inputs travel in a request's `publicInputs` as UltraHonkVerifierAdapter takes them: every public parameter,
 * in the order `main` declares them, flattened to field elements (arrays and tuples element by element, structs field
 * by field, strings byte by byte, booleans as 0/1, signed integers in two's complement of their width), each a 32-byte
 * big-endian word.
 */
import type { BarretenbergSync } from '@aztec/bb.js'
import type { Abi, AbiParameter, AbiType, InputMap, InputValue } from '@noir-lang/types'
import { concat, type Hex, hexToBigInt, isHex, numberToHex, size, slice, stringToBytes } from 'viem'

export type { Abi as NoirAbi, InputMap as NoirInputMap } from '@noir-lang/types'

/**
 * The CRS value naming Noir's DEVELOPMENT CRS (noir/dev-crs: public τ, every proof forgeable; devnets and tests only),
 * as the prover runner's market entry and `cairn market create --noir --insecure-dev-crs` name it. Spelled so that no
 * production configuration can name it by accident.
 */
export const INSECURE_DEV_CRS = 'INSECURE-DEV-CRS'
/** The CRS an UltraHonk verifier and its prover use: the development CRS by name, or Aztec's Ignition CRS folder. */
export type NoirCrs = typeof INSECURE_DEV_CRS | { ignitionCrsPath: string }

/** The BN254 scalar field, in which every Noir `Field` lives. */
export const NOIR_FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

/** An input does not fit the circuit's ABI; `field` names it (`preimage`, `path[3]`, `point.x`). */
export class NoirInputError extends Error {
  override readonly name = 'NoirInputError'
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`Noir input ${field}: ${problem}`)
  }
}

/** A compiled Noir program as noir_wasm writes it (what `nargo compile` calls the program artifact). */
export type NoirProgram = { noir_version?: string; hash?: unknown; abi: Abi; bytecode: string }

/** Reads a compiled program's JSON, checking it has what proving needs; `what` names it in errors. */
export function parseNoirProgram(json: unknown, what: string): NoirProgram {
  const program = json as Partial<NoirProgram> | null
  if (typeof program !== 'object' || program === null) throw new Error(`${what} is not a compiled Noir program`)
  if (typeof program.bytecode !== 'string' || program.bytecode === '') {
    throw new Error(`${what} has no ACIR bytecode: is it a compiled Noir program (nargo compile, noir_wasm)?`)
  }
  if (!Array.isArray(program.abi?.parameters)) throw new Error(`${what} has no ABI parameters`)
  if (program.abi.return_type !== null && program.abi.return_type !== undefined) {
    throw new Error(`${what}: programs that return values (public outputs) are not supported`)
  }
  return program as NoirProgram
}

/** The ABI's parameters of one visibility, in declaration order. */
export function noirParameters(abi: Abi, visibility: 'public' | 'private'): AbiParameter[] {
  return abi.parameters.filter((p) => (visibility === 'public' ? p.visibility === 'public' : p.visibility !== 'public'))
}

/** How many field elements the public inputs flatten to: the adapter's `publicInputCount`. */
export function noirPublicInputCount(abi: Abi): number {
  return noirParameters(abi, 'public').reduce((n, p) => n + fieldCount(p.type), 0)
}

/**
 * Checks inputs of one visibility against the ABI: every parameter present, no other name, each value of its type.
 * Returns them as noir_js takes them (numbers as 0x-hex strings). Throws NoirInputError naming the first bad field.
 */
export function checkNoirInputs(abi: Abi, inputs: unknown, visibility: 'public' | 'private'): InputMap {
  const parameters = noirParameters(abi, visibility)
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    const names = parameters.map((p) => p.name).join(', ')
    throw new NoirInputError('(all)', `expected a JSON object of the ${visibility} inputs by name (${names})`)
  }
  const given = inputs as Record<string, unknown>
  for (const name of Object.keys(given)) {
    if (parameters.some((p) => p.name === name)) continue
    const other = abi.parameters.find((p) => p.name === name)
    throw new NoirInputError(
      name,
      other === undefined
        ? `the circuit has no parameter ${name} (its ${visibility} inputs: ${parameters.map((p) => p.name).join(', ')})`
        : `is a ${other.visibility === 'public' ? 'public' : 'private'} input, not a ${visibility} one`,
    )
  }
  const out: InputMap = {}
  for (const p of parameters) {
    if (!(p.name in given)) throw new NoirInputError(p.name, `missing (${describeType(p.type)})`)
    out[p.name] = checkValue(p.type, given[p.name], p.name)
  }
  return out
}

/**
 * A request's inputs from the circuit's inputs by name, public and private together, as the ABI names them: every
 * name is checked against the ABI (and every value against its type) before anything is encrypted or posted. Returns
 * the `publicInputs` words and the private inputs plaintext (UTF-8 JSON by name; none when the circuit has no
 * private parameter). Throws NoirInputError naming the first field that does not fit.
 */
export function noirRequestInputs(abi: Abi, inputs: unknown): { publicInputs: Hex; privateInputs?: Uint8Array } {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    const names = abi.parameters.map((p) => p.name).join(', ')
    throw new NoirInputError('(all)', `expected a JSON object of the circuit's inputs by name (${names})`)
  }
  const split = { public: {} as Record<string, unknown>, private: {} as Record<string, unknown> }
  for (const [name, value] of Object.entries(inputs)) {
    const parameter = abi.parameters.find((p) => p.name === name)
    if (parameter === undefined) {
      const names = abi.parameters.map((p) => p.name).join(', ')
      throw new NoirInputError(name, `the circuit has no parameter ${name} (its inputs: ${names})`)
    }
    split[parameter.visibility === 'public' ? 'public' : 'private'][name] = value
  }
  const privateInputs = checkNoirInputs(abi, split.private, 'private')
  const publicInputs = encodeNoirPublicInputs(abi, split.public)
  return noirParameters(abi, 'private').length === 0
    ? { publicInputs }
    : { publicInputs, privateInputs: stringToBytes(JSON.stringify(privateInputs)) }
}

let barretenberg: Promise<BarretenbergSync> | undefined

/**
 * Poseidon2 (BN254, the sponge of Noir's std `Poseidon2::hash`) of field elements, computed by bb.js: how a requester
 * makes the public digest of a Poseidon2 statement (noir/poseidon2_preimage: digest = Poseidon2([preimage])).
 */
export async function poseidon2Hash(fields: readonly bigint[]): Promise<bigint> {
  // Loaded on first use: bb.js is a large module, and the CLI's commands that check Noir inputs never hash.
  barretenberg ??= import('@aztec/bb.js').then(({ BarretenbergSync }) => BarretenbergSync.new())
  const api = await barretenberg
  const { hash } = api.poseidon2Hash({
    inputs: fields.map((f) => Buffer.from(numberToHex(f, { size: 32 }).slice(2), 'hex')),
  })
  return hexToBigInt(`0x${Buffer.from(hash).toString('hex')}`)
}

/** Encodes the public inputs (checked against the ABI) as a request's `publicInputs`. */
export function encodeNoirPublicInputs(abi: Abi, inputs: unknown): Hex {
  const checked = checkNoirInputs(abi, inputs, 'public')
  const words: Hex[] = []
  for (const p of noirParameters(abi, 'public')) flatten(p.type, checked[p.name] as InputValue, words)
  return words.length === 0 ? '0x' : concat(words)
}

/**
 * Decodes a request's `publicInputs` into the public inputs by name (as noir_js takes them). Throws NoirInputError
 * when the bytes are not the ABI's words (wrong length, a word above the field, a bad boolean or integer).
 */
export function decodeNoirPublicInputs(abi: Abi, publicInputs: Hex): InputMap {
  const count = noirPublicInputCount(abi)
  if (!isHex(publicInputs, { strict: true }) || publicInputs.length % 2 !== 0) {
    throw new NoirInputError('(public inputs)', 'not hex of whole bytes')
  }
  if (size(publicInputs) !== count * 32) {
    throw new NoirInputError(
      '(public inputs)',
      `${size(publicInputs)} bytes, the circuit's public inputs are ${count} 32-byte words`,
    )
  }
  const words = Array.from({ length: count }, (_, i) => hexToBigInt(slice(publicInputs, i * 32, (i + 1) * 32)))
  let next = 0
  const take = (): bigint => words[next++] as bigint
  const out: InputMap = {}
  for (const p of noirParameters(abi, 'public')) out[p.name] = unflatten(p.type, take, p.name)
  return out
}

function fieldCount(type: AbiType): number {
  switch (type.kind) {
    case 'field':
    case 'integer':
    case 'boolean':
      return 1
    case 'string':
      return type.length
    case 'array':
      return type.length * fieldCount(type.type)
    case 'tuple':
      return type.fields.reduce((n, t) => n + fieldCount(t), 0)
    case 'struct':
      return type.fields.reduce((n, f) => n + fieldCount(f.type), 0)
  }
}

function describeType(type: AbiType): string {
  switch (type.kind) {
    case 'field':
      return 'a Field'
    case 'boolean':
      return 'a bool'
    case 'integer':
      return `a ${type.sign === 'signed' ? 'i' : 'u'}${type.width}`
    case 'string':
      return `a str<${type.length}>`
    case 'array':
      return `an array of ${type.length} × ${describeType(type.type).replace(/^an? /, '')}`
    case 'tuple':
      return `a tuple of ${type.fields.length}`
    case 'struct':
      return `a struct ${type.path} { ${type.fields.map((f) => f.name).join(', ')} }`
  }
}

function integerOf(value: unknown, field: string, type: AbiType): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|-?[0-9]+)$/.test(value)) return BigInt(value)
  throw new NoirInputError(
    field,
    `${JSON.stringify(value)?.slice(0, 40)} is not ${describeType(type)} (a decimal or 0x-hex string, or a safe integer)`,
  )
}

function checkValue(type: AbiType, value: unknown, field: string): InputValue {
  switch (type.kind) {
    case 'field': {
      const v = integerOf(value, field, type)
      if (v < 0n)
        throw new NoirInputError(field, `${v} is negative: a Field is an integer from 0 below the BN254 field`)
      if (v >= NOIR_FIELD_MODULUS) throw new NoirInputError(field, 'is not below the BN254 scalar field')
      return numberToHex(v)
    }
    case 'integer': {
      const v = integerOf(value, field, type)
      const [min, max] =
        type.sign === 'signed'
          ? [-(1n << BigInt(type.width - 1)), (1n << BigInt(type.width - 1)) - 1n]
          : [0n, (1n << BigInt(type.width)) - 1n]
      if (v < min || v > max) throw new NoirInputError(field, `${v} is out of range for ${describeType(type)}`)
      return type.sign === 'signed' ? v.toString() : numberToHex(v)
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw new NoirInputError(field, `expected true or false (${describeType(type)})`)
      return value
    case 'string':
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the printable-ASCII check needs the range
      if (typeof value !== 'string' || value.length !== type.length || !/^[\x00-\x7f]*$/.test(value)) {
        throw new NoirInputError(field, `expected an ASCII string of ${type.length} characters (${describeType(type)})`)
      }
      return value
    case 'array': {
      if (!Array.isArray(value) || value.length !== type.length) {
        throw new NoirInputError(field, `expected ${describeType(type)}`)
      }
      return value.map((item, i) => checkValue(type.type, item, `${field}[${i}]`))
    }
    case 'tuple': {
      if (!Array.isArray(value) || value.length !== type.fields.length) {
        throw new NoirInputError(field, `expected ${describeType(type)}`)
      }
      return value.map((item, i) => checkValue(type.fields[i] as AbiType, item, `${field}.${i}`))
    }
    case 'struct': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new NoirInputError(field, `expected ${describeType(type)}`)
      }
      const given = value as Record<string, unknown>
      const extra = Object.keys(given).find((k) => !type.fields.some((f) => f.name === k))
      if (extra !== undefined) throw new NoirInputError(`${field}.${extra}`, `${type.path} has no field ${extra}`)
      const out: InputMap = {}
      for (const f of type.fields) {
        if (!(f.name in given)) throw new NoirInputError(`${field}.${f.name}`, `missing (${describeType(f.type)})`)
        out[f.name] = checkValue(f.type, given[f.name], `${field}.${f.name}`)
      }
      return out
    }
  }
}

/** Appends a checked value's field elements, as 32-byte words. */
function flatten(type: AbiType, value: InputValue, words: Hex[]): void {
  const word = (v: bigint) => words.push(numberToHex(v, { size: 32 }))
  switch (type.kind) {
    case 'field':
      return void word(BigInt(value as string))
    case 'integer': {
      const v = BigInt(value as string)
      return void word(v < 0n ? (1n << BigInt(type.width)) + v : v)
    }
    case 'boolean':
      return void word(value === true ? 1n : 0n)
    case 'string':
      for (const c of value as string) word(BigInt(c.charCodeAt(0)))
      return
    case 'array':
      for (const item of value as InputValue[]) flatten(type.type, item, words)
      return
    case 'tuple':
      for (const [i, item] of (value as InputValue[]).entries()) flatten(type.fields[i] as AbiType, item, words)
      return
    case 'struct':
      for (const f of type.fields) flatten(f.type, (value as InputMap)[f.name] as InputValue, words)
      return
  }
}

/** Reads one public parameter's value back from its field elements. */
function unflatten(type: AbiType, take: () => bigint, field: string): InputValue {
  switch (type.kind) {
    case 'field': {
      const v = take()
      if (v >= NOIR_FIELD_MODULUS) throw new NoirInputError(field, 'is not below the BN254 scalar field')
      return numberToHex(v)
    }
    case 'integer': {
      const v = take()
      if (v >= 1n << BigInt(type.width))
        throw new NoirInputError(field, `${v} is out of range for ${describeType(type)}`)
      const signed = type.sign === 'signed' && v >= 1n << BigInt(type.width - 1) ? v - (1n << BigInt(type.width)) : v
      return type.sign === 'signed' ? signed.toString() : numberToHex(v)
    }
    case 'boolean': {
      const v = take()
      if (v > 1n) throw new NoirInputError(field, `${v} is not a bool (0 or 1)`)
      return v === 1n
    }
    case 'string': {
      const codes = Array.from({ length: type.length }, (_, i) => {
        const c = take()
        if (c > 0x7fn) throw new NoirInputError(`${field}[${i}]`, `${c} is not an ASCII character`)
        return Number(c)
      })
      return String.fromCharCode(...codes)
    }
    case 'array':
      return Array.from({ length: type.length }, (_, i) => unflatten(type.type, take, `${field}[${i}]`))
    case 'tuple':
      return type.fields.map((t, i) => unflatten(t, take, `${field}.${i}`))
    case 'struct':
      return Object.fromEntries(type.fields.map((f) => [f.name, unflatten(f.type, take, `${field}.${f.name}`)]))
  }
}
