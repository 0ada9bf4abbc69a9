import { type Address, getAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import { nextNonce } from '../ts/nonces.js'

const marketplace = getAddress('0x00000000000000000000000000000000000c0de1')
const requester = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`)

describe('nextNonce', () => {
  it('counts through one random word per requester, then draws another', () => {
    const who = requester(1)
    const nonces = Array.from({ length: 257 }, () => nextNonce(31337, marketplace, who))
    const at = (i: number): bigint => nonces[i] ?? -1n
    const word = at(0) >> 8n
    // A 248-bit word drawn at random: not the zero word a counter from zero would use.
    expect(word).not.toBe(0n)
    for (let i = 0; i < 256; i++) expect(at(i)).toBe((word << 8n) | BigInt(i))
    expect(at(256) >> 8n).not.toBe(word)
    expect(at(256) & 0xffn).toBe(0n)
    expect(new Set(nonces).size).toBe(257)
  })

  it('keeps requesters, chains and marketplaces apart', () => {
    const a = nextNonce(31337, marketplace, requester(2))
    const b = nextNonce(31337, marketplace, requester(3))
    const c = nextNonce(1, marketplace, requester(2))
    const d = nextNonce(31337, requester(9), requester(2))
    expect(new Set([a >> 8n, b >> 8n, c >> 8n, d >> 8n]).size).toBe(4)
    // The first requester's second nonce is the next bit of its word.
    expect(nextNonce(31337, marketplace, requester(2))).toBe(a + 1n)
  })
})
