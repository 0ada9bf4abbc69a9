import { BaseError, type Hex, toFunctionSelector } from 'viem'
import { decodeCairnError, decodeRevertData } from '../../ts/errors.js'

/**
 * What a failed round logs: the decoded contract error (`EpochOutOfOrder(expected=3, got=2)`) or viem's short message,
 * never the call's ABI, arguments or raw revert data that viem's errors carry.
 */
export function errorSummary(error: unknown): { name: string; message: string } {
  const decoded = decodeCairnError(error)
  if (decoded !== undefined && decoded.name !== 'UnknownError') return { name: decoded.name, message: decoded.message }
  if (error instanceof BaseError) return { name: error.name, message: error.shortMessage }
  if (error instanceof Error) return { name: error.name, message: error.message }
  return { name: 'Error', message: String(error) }
}

/** OpenZeppelin 5.0's Address error that Symbiotic's token transfers raise when a call fails without data. */
const FAILED_INNER_CALL = toFunctionSelector('FailedInnerCall()')

/** A failed slash's reason, decoded against Cairn's and Symbiotic's errors; never the raw revert data. */
export function failureName(reason: Hex): string {
  const decoded = decodeRevertData(reason)
  if (decoded.name !== 'UnknownError') return decoded.message
  // E.g. a vault call starved of gas: the relayer's own sends never are (gas.ts), anyone else's may be.
  if (decoded.selector === FAILED_INNER_CALL) return 'FailedInnerCall() (an inner call failed without data)'
  return `unknown error ${decoded.selector}`
}
