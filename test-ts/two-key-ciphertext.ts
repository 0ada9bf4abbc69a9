import { createCipheriv } from 'node:crypto'

/*
 * AES-256-GCM is not key-committing: for any two keys one can build a ciphertext whose tag authenticates under both,
 * each key opening it to a different plaintext (the "invisible salamanders" construction). The tag is
 * E_K(J0) ⊕ GHASH_H(aad, ciphertext) with H = E_K(0¹²⁸), and GHASH is linear in every ciphertext block, so one free
 * block is a linear equation over GF(2¹²⁸). Tests use this to build envelopes that a requester could craft to show
 * different matchers (or a matcher and a prover) different private inputs.
 */

const BLOCK = 16
const FIELD_BITS = 128n
const ONES = (1n << FIELD_BITS) - 1n
/** GCM's reduction constant: x¹²⁸ + x⁷ + x² + x + 1 in its bit-reflected order. */
const R = 0xe1n << 120n

function toBig(block: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(block).toString('hex') || '0'}`)
}

function toBlock(value: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(BLOCK * 2, '0'), 'hex'))
}

/** Multiplication in GCM's GF(2¹²⁸) (NIST SP 800-38D, algorithm 1). */
function multiply(x: bigint, y: bigint): bigint {
  let z = 0n
  let v = y
  for (let bit = FIELD_BITS - 1n; bit >= 0n; bit--) {
    if ((x >> bit) & 1n) z ^= v
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n
  }
  return z
}

function power(x: bigint, exponent: bigint): bigint {
  let result = 1n << 127n // the field's 1 in reflected order
  let base = x
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = multiply(result, base)
    base = multiply(base, base)
  }
  return result
}

function inverse(x: bigint): bigint {
  if (x === 0n) throw new Error('zero has no inverse')
  return power(x, ONES - 1n) // x^(2¹²⁸ − 2)
}

function encryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false)
  return Uint8Array.from(Buffer.concat([cipher.update(block), cipher.final()]))
}

function counterBlock(nonce: Uint8Array, counter: number): Uint8Array {
  const block = new Uint8Array(BLOCK)
  block.set(nonce)
  new DataView(block.buffer).setUint32(12, counter)
  return block
}

function blocksOf(bytes: Uint8Array): bigint[] {
  const blocks: bigint[] = []
  for (let at = 0; at < bytes.length; at += BLOCK) {
    const block = new Uint8Array(BLOCK)
    block.set(bytes.subarray(at, at + BLOCK))
    blocks.push(toBig(block))
  }
  return blocks
}

function ghash(h: bigint, aad: Uint8Array, ciphertext: Uint8Array): bigint {
  const lengths = (BigInt(aad.length * 8) << 64n) | BigInt(ciphertext.length * 8)
  let x = 0n
  for (const block of [...blocksOf(aad), ...blocksOf(ciphertext), lengths]) x = multiply(x ^ block, h)
  return x
}

/**
 * Ciphertext ‖ tag of `blocks` 16-byte blocks under `nonce` (12 bytes) and `aad` that AES-256-GCM authenticates under
 * both keys. Its first block is solved for; the others are arbitrary.
 */
export function twoKeyCiphertext(params: {
  keys: readonly [Uint8Array, Uint8Array]
  nonce: Uint8Array
  aad: Uint8Array
  blocks: number
}): Uint8Array {
  const { keys, nonce, aad } = params
  const ciphertext = new Uint8Array(params.blocks * BLOCK)
  for (let i = BLOCK; i < ciphertext.length; i++) ciphertext[i] = (i * 37 + 11) & 0xff
  const hs = keys.map((key) => toBig(encryptBlock(key, new Uint8Array(BLOCK))))
  const masks = keys.map((key) => toBig(encryptBlock(key, counterBlock(nonce, 1))))
  const [h1, h2] = hs as [bigint, bigint]
  const [m1, m2] = masks as [bigint, bigint]
  // The first ciphertext block multiplies H^p in GHASH: p counts it and every block after it, lengths included.
  const p = BigInt(params.blocks + 1)
  const rhs = m1 ^ m2 ^ ghash(h1, aad, ciphertext) ^ ghash(h2, aad, ciphertext)
  const free = multiply(rhs, inverse(power(h1, p) ^ power(h2, p)))
  ciphertext.set(toBlock(free), 0)
  const tag = toBlock(m1 ^ ghash(h1, aad, ciphertext))
  if (toBig(tag) !== (m2 ^ ghash(h2, aad, ciphertext))) throw new Error('the two tags differ: the solve is wrong')
  const sealed = new Uint8Array(ciphertext.length + BLOCK)
  sealed.set(ciphertext)
  sealed.set(tag, ciphertext.length)
  return sealed
}
