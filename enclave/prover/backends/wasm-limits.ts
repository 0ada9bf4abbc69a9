/**
 * The declared limits of a WASM module's memories and tables, read from its binary (import, table and memory
 * sections): the JS API exposes neither memory nor table types, and these limits are what bound a program's
 * memory.grow and table.grow. Only called on a module that compiled, so the sections are well formed; anything this
 * reader does not know (a table with an initializer expression, an unknown import kind) is reported as unreadable
 * rather than guessed, and the caller refuses the module.
 */

export type DeclaredLimits = {
  /** Initial size: pages for a memory, elements for a table. */
  minimum: number
  /** Declared maximum; undefined when the module declares none (it may then grow up to the engine's own cap). */
  maximum: number | undefined
  shared: boolean
  /** A 64-bit index type (memory64 / table64). */
  index64: boolean
  /** Imported rather than defined by the module. */
  imported: boolean
}

export type ModuleLimits = { memories: DeclaredLimits[]; tables: DeclaredLimits[] }

export class UnreadableModuleError extends Error {
  override readonly name = 'UnreadableModuleError'
}

const SECTION_IMPORT = 2
const SECTION_TABLE = 4
const SECTION_MEMORY = 5

const IMPORT_FUNCTION = 0x00
const IMPORT_TABLE = 0x01
const IMPORT_MEMORY = 0x02
const IMPORT_GLOBAL = 0x03
const IMPORT_TAG = 0x04

/** Reference types written as a prefix byte and a heap type (`(ref ht)`, `(ref null ht)`); others are one byte. */
const REF = 0x64
const REF_NULL = 0x63
/** A table with an explicit initializer expression (function references proposal). */
const TABLE_WITH_INITIALIZER = 0x40

export function readModuleLimits(bytes: Uint8Array): ModuleLimits {
  const reader = byteReader(bytes)
  reader.skip(8) // magic and version
  const limits: ModuleLimits = { memories: [], tables: [] }
  while (!reader.done()) {
    const id = reader.byte()
    const size = reader.u32()
    const end = reader.offset() + size
    if (id === SECTION_IMPORT) readImports(reader, limits)
    else if (id === SECTION_TABLE) {
      for (let count = reader.u32(); count > 0; count--) limits.tables.push(readTableType(reader, false))
    } else if (id === SECTION_MEMORY) {
      for (let count = reader.u32(); count > 0; count--) limits.memories.push(readLimits(reader, false))
    }
    reader.seek(end)
  }
  return limits
}

function readImports(reader: ByteReader, limits: ModuleLimits): void {
  for (let count = reader.u32(); count > 0; count--) {
    reader.skip(reader.u32()) // module name
    reader.skip(reader.u32()) // field name
    const kind = reader.byte()
    if (kind === IMPORT_FUNCTION) reader.u32()
    else if (kind === IMPORT_TABLE) limits.tables.push(readTableType(reader, true))
    else if (kind === IMPORT_MEMORY) limits.memories.push(readLimits(reader, true))
    else if (kind === IMPORT_GLOBAL) {
      readValueType(reader)
      reader.byte() // mutability
    } else if (kind === IMPORT_TAG) {
      reader.byte() // attribute
      reader.u32()
    } else throw new UnreadableModuleError(`an import of unknown kind 0x${kind.toString(16)}`)
  }
}

function readTableType(reader: ByteReader, imported: boolean): DeclaredLimits {
  if (reader.peek() === TABLE_WITH_INITIALIZER) {
    throw new UnreadableModuleError('a table with an initializer expression')
  }
  readValueType(reader)
  return readLimits(reader, imported)
}

function readValueType(reader: ByteReader): void {
  const type = reader.byte()
  if (type === REF || type === REF_NULL) reader.s33()
}

function readLimits(reader: ByteReader, imported: boolean): DeclaredLimits {
  const flags = reader.byte()
  if (flags > 0x07) throw new UnreadableModuleError(`limits with unknown flags 0x${flags.toString(16)}`)
  const minimum = reader.u64()
  const maximum = (flags & 0x01) !== 0 ? reader.u64() : undefined
  return { minimum, maximum, shared: (flags & 0x02) !== 0, index64: (flags & 0x04) !== 0, imported }
}

type ByteReader = ReturnType<typeof byteReader>

function byteReader(bytes: Uint8Array) {
  let at = 0
  const byte = (): number => {
    const value = bytes[at++]
    if (value === undefined) throw new UnreadableModuleError('the module ends inside a section')
    return value
  }
  /** An unsigned LEB128 number; values beyond 2^53 lose precision, which only ever makes a limit look larger. */
  const unsigned = (maxBytes: number): number => {
    let value = 0
    for (let i = 0; i < maxBytes; i++) {
      const next = byte()
      value += (next & 0x7f) * 2 ** (7 * i)
      if ((next & 0x80) === 0) return value
    }
    throw new UnreadableModuleError('an over-long LEB128 number')
  }
  return {
    byte,
    peek: (): number | undefined => bytes[at],
    u32: () => unsigned(5),
    u64: () => unsigned(10),
    /** A signed 33-bit LEB128 (a heap type): only its length matters here. */
    s33: (): void => void unsigned(5),
    skip(count: number): void {
      at += count
    },
    seek(offset: number): void {
      if (offset > bytes.length) throw new UnreadableModuleError('a section runs past the end of the module')
      at = offset
    },
    offset: () => at,
    done: () => at >= bytes.length,
  }
}
