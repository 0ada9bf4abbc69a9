import { type Address, getAddress, type Hex, isAddress, isHex, zeroAddress } from 'viem'

/**
 * An argument the SDK refuses before anything reaches the chain: `parameter` names it as the function takes it
 * (`maxReward`, `schedule.deadline`), the message says what was wrong and what would do.
 */
export class InvalidParameterError extends Error {
  override readonly name = 'InvalidParameterError'
  constructor(
    readonly parameter: string,
    reason: string,
  ) {
    super(`${parameter}: ${reason}`)
  }
}

export function isInvalidParameterError(error: unknown): error is InvalidParameterError {
  return error instanceof InvalidParameterError
}

/** An unsigned integer of `bits` bits (uint32, uint96, ...), as a bigint; `min` defaults to 0. */
export function uint(parameter: string, value: bigint | number, bits: number, min = 0n): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new InvalidParameterError(parameter, `expected an integer, got ${value}`)
  }
  const big = BigInt(value)
  const max = (1n << BigInt(bits)) - 1n
  if (big < min || big > max) {
    const range = min === 0n ? `0 to ${max}` : `${min} to ${max}`
    throw new InvalidParameterError(parameter, `expected ${range} (uint${bits}), got ${big}`)
  }
  return big
}

/** uint() for fields the ABI types as `number` (uint8 to uint48). */
export function smallUint(parameter: string, value: bigint | number, bits: number, min = 0): number {
  return Number(uint(parameter, value, bits, BigInt(min)))
}

/** A checksummed address; the zero address is refused unless `allowZero`. */
export function address(parameter: string, value: string, options: { allowZero?: boolean } = {}): Address {
  if (!isAddress(value, { strict: false })) {
    throw new InvalidParameterError(parameter, `expected a 0x-prefixed 20-byte address, got ${JSON.stringify(value)}`)
  }
  const checksummed = getAddress(value)
  if (!options.allowZero && checksummed === zeroAddress) {
    throw new InvalidParameterError(parameter, 'the zero address is not allowed here')
  }
  return checksummed
}

/** 0x-prefixed hex of whole bytes; `size` pins the byte length, `nonEmpty` refuses `0x`. */
export function hexBytes(parameter: string, value: string, options: { size?: number; nonEmpty?: boolean } = {}): Hex {
  if (!isHex(value, { strict: true }) || value.length % 2 !== 0) {
    throw new InvalidParameterError(parameter, 'expected 0x-prefixed hex of whole bytes')
  }
  const bytes = (value.length - 2) / 2
  if (options.size !== undefined && bytes !== options.size) {
    throw new InvalidParameterError(parameter, `expected ${options.size} bytes, got ${bytes}`)
  }
  if (options.nonEmpty && bytes === 0) throw new InvalidParameterError(parameter, 'must not be empty')
  return value
}

/** Basis points, 0 to `max` (default 10 000). */
export function bps(parameter: string, value: number, max = 10_000): number {
  const checked = smallUint(parameter, value, 16)
  if (checked > max) throw new InvalidParameterError(parameter, `expected 0 to ${max} basis points, got ${value}`)
  return checked
}
