import { bytesToBigInt, concat, fromHex, utf8 } from '../bytes.js'

/**
 * Minimal DER (X.690) encoder and reader: enough for X.509 v3 certificates, v2 CRLs and the Intel SGX extension.
 * Hand-rolled so every byte of the dev PKI is under our control (string types, critical flags, extension order all
 * mirror Intel's certificates).
 */

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const

const encodeLength = (length: number): Uint8Array => {
  if (length < 0x80) return Uint8Array.of(length)
  const bytes: number[] = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

export const tlv = (tag: number, ...content: readonly Uint8Array[]): Uint8Array => {
  const body = concat(...content)
  return concat(Uint8Array.of(tag), encodeLength(body.length), body)
}

export const sequence = (...items: readonly Uint8Array[]): Uint8Array => tlv(Tag.SEQUENCE, ...items)
export const set = (...items: readonly Uint8Array[]): Uint8Array => tlv(Tag.SET, ...items)
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(Tag.OCTET_STRING, bytes)
export const boolean = (value: boolean): Uint8Array => tlv(Tag.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00))
export const utf8String = (text: string): Uint8Array => tlv(Tag.UTF8_STRING, utf8(text))
export const printableString = (text: string): Uint8Array => tlv(Tag.PRINTABLE_STRING, utf8(text))
/** BIT STRING with `unusedBits` padding bits in the last byte (KeyUsage needs them, keys and signatures use 0). */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Uint8Array =>
  tlv(Tag.BIT_STRING, Uint8Array.of(unusedBits), bytes)
/** Context-specific constructed [n] (EXPLICIT tagging, or an IMPLICIT SEQUENCE). */
export const explicit = (n: number, ...content: readonly Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...content)
/** Context-specific primitive [n] IMPLICIT (e.g. keyIdentifier [0], uniformResourceIdentifier [6]). */
export const implicit = (n: number, bytes: Uint8Array): Uint8Array => tlv(0x80 | n, bytes)

/** Minimal two's-complement content of a non-negative integer. */
const integerContent = (value: bigint): Uint8Array => {
  if (value < 0n) throw new RangeError('negative DER integers are not used here')
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  const bytes = fromHex(hex)
  return (bytes[0] ?? 0) & 0x80 ? concat(Uint8Array.of(0), bytes) : bytes
}

/** INTEGER from a number/bigint, or from big-endian unsigned bytes (serial numbers), minimally encoded. */
export const integer = (value: bigint | number | Uint8Array): Uint8Array =>
  tlv(Tag.INTEGER, integerContent(value instanceof Uint8Array ? bytesToBigInt(value) : BigInt(value)))

export const enumerated = (value: number): Uint8Array => tlv(Tag.ENUMERATED, integerContent(BigInt(value)))

export const oidContent = (dotted: string): Uint8Array => {
  const arcs = dotted.split('.').map((arc) => BigInt(arc))
  const [first = 0n, second = 0n, ...rest] = arcs
  const out: number[] = []
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)]
    for (let n = arc >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80)
    out.push(...groups)
  }
  return Uint8Array.from(out)
}

export const oid = (dotted: string): Uint8Array => tlv(Tag.OID, oidContent(dotted))

const pad2 = (n: number): string => n.toString().padStart(2, '0')

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, always 'Z'. */
export const time = (date: Date): Uint8Array => {
  const year = date.getUTCFullYear()
  const rest = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes()].map(pad2).join('')
  const text = `${rest}${pad2(date.getUTCSeconds())}Z`
  return year < 2050
    ? tlv(Tag.UTC_TIME, utf8(`${pad2(year % 100)}${text}`))
    : tlv(Tag.GENERALIZED_TIME, utf8(`${year}${text}`))
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

export type DerNode = { tag: number; start: number; contentStart: number; end: number }

export class DerError extends Error {
  override name = 'DerError'
}

export const readNode = (der: Uint8Array, offset: number, limit = der.length): DerNode => {
  const at = (i: number): number => {
    if (i >= limit) throw new DerError(`truncated DER at ${i}`)
    return der[i] as number
  }
  const tag = at(offset)
  const first = at(offset + 1)
  let length = first
  let contentStart = offset + 2
  if (first & 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 4) throw new DerError(`unsupported DER length at ${offset}`)
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + at(offset + 2 + i)
    contentStart += count
  }
  const end = contentStart + length
  if (end > limit) throw new DerError(`DER node at ${offset} overruns its container`)
  return { tag, start: offset, contentStart, end }
}

export const children = (der: Uint8Array, node: DerNode): DerNode[] => {
  const out: DerNode[] = []
  for (let offset = node.contentStart; offset < node.end; ) {
    const child = readNode(der, offset, node.end)
    out.push(child)
    offset = child.end
  }
  return out
}

export const content = (der: Uint8Array, node: DerNode): Uint8Array => der.subarray(node.contentStart, node.end)
export const whole = (der: Uint8Array, node: DerNode): Uint8Array => der.subarray(node.start, node.end)

export const expectTag = (node: DerNode | undefined, tag: number, what: string): DerNode => {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`)
  return node
}

export const decodeOid = (bytes: Uint8Array): string => {
  const arcs: bigint[] = []
  let value = 0n
  for (const byte of bytes) {
    value = (value << 7n) | BigInt(byte & 0x7f)
    if (!(byte & 0x80)) {
      arcs.push(value)
      value = 0n
    }
  }
  const [first = 0n, ...rest] = arcs
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n]
  return [...head, ...rest].join('.')
}

export const readTime = (der: Uint8Array, node: DerNode): Date => {
  const text = new TextDecoder().decode(content(der, node))
  const match =
    node.tag === Tag.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (!match || (node.tag !== Tag.UTC_TIME && node.tag !== Tag.GENERALIZED_TIME)) {
    throw new DerError(`bad time at ${node.start}`)
  }
  const [, y = '', mo = '', d = '', h = '', mi = '', s = ''] = match
  let year = Number(y)
  if (node.tag === Tag.UTC_TIME) year += year < 50 ? 2000 : 1900
  return new Date(Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
}
