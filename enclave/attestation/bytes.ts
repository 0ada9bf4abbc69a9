import { createHash } from 'node:crypto'

/** Byte helpers shared by the attestation modules; quote integers are little-endian throughout. */

export const concat = (...parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

export const fromHex = (hex: string): Uint8Array => {
  const clean = hex.startsWith('0x') ? hex.slice(2) : hex
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error(`invalid hex: ${hex.slice(0, 20)}`)
  return new Uint8Array(Buffer.from(clean, 'hex'))
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

export const sha256 = (...parts: readonly Uint8Array[]): Uint8Array =>
  new Uint8Array(
    createHash('sha256')
      .update(concat(...parts))
      .digest(),
  )

export const sha384 = (...parts: readonly Uint8Array[]): Uint8Array =>
  new Uint8Array(
    createHash('sha384')
      .update(concat(...parts))
      .digest(),
  )

export const u16le = (value: number): Uint8Array => {
  const out = new Uint8Array(2)
  new DataView(out.buffer).setUint16(0, value, true)
  return out
}

export const u32le = (value: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, true)
  return out
}

export const readU16le = (bytes: Uint8Array, offset: number): number =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(offset, true)

export const readU32le = (bytes: Uint8Array, offset: number): number =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true)

export const bytesToBigInt = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`))

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i])

/** A fixed-size field: `value` must have exactly `size` bytes (a short measurement is a bug, not something to pad). */
export const field = (name: string, value: Uint8Array | undefined, size: number): Uint8Array => {
  const bytes = value ?? new Uint8Array(size)
  if (bytes.length !== size) throw new RangeError(`${name} must be ${size} bytes, got ${bytes.length}`)
  return bytes
}
