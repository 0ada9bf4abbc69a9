import { getAddress, type Hex, isAddress, isHex } from 'viem'
import { z } from 'zod'

/*
 * Field schemas of Cairn's JSON wire formats (the order stream, ts/orders.ts; fast assignments, ts/fast-assignments.ts):
 * integers beyond 2^53 as decimal strings, byte strings as 0x-prefixed hex, addresses checksummed when parsed.
 */

/** A decimal integer string of at most `bits` bits, parsed to a bigint. */
export const decimal = (bits: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, 'a decimal integer string')
    .transform((value) => BigInt(value))
    .refine((value) => value < 1n << BigInt(bits), `at most ${bits} bits`)

export const small = (bits: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(2 ** bits - 1)

/** 0x-prefixed hex. */
export const hex = z.string().refine((value): value is Hex => isHex(value, { strict: true }), '0x-prefixed hex')
export const bytes32 = hex.refine((value) => value.length === 66, '32 bytes of hex')
/** An address, checksummed when parsed. */
export const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), 'an address')
  .transform((value) => getAddress(value))
