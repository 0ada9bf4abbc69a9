/** Telling a peer's winning race from a real failure: by the revert a failed call carries. */
import { BaseError, ContractFunctionRevertedError } from 'viem'
import { CairnContractError, decodeCairnError } from '../../ts/errors.js'

/**
 * The custom error a contract call reverted with, by name, or undefined for any other failure. A revert can surface
 * decoded (a simulation) or as raw data in an RPC error (the gas estimate of a write whose state moved since its
 * simulation, e.g. a peer committed first): both are read.
 */
export function revertName(error: unknown): string | undefined {
  // Already decoded: a write's simulation (ts/write.ts) throws the revert as a CairnContractError.
  if (error instanceof CairnContractError) return error.name === 'UnknownError' ? undefined : error.name
  if (!(error instanceof BaseError)) return undefined
  const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError)
  const name = reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined
  if (name !== undefined) return name
  const decoded = decodeCairnError(error)
  return decoded === undefined || decoded.name === 'UnknownError' ? undefined : decoded.name
}

/**
 * The decoded revert (`EpochOutOfOrder(expected=3, got=2)`) when a commit failed because a peer committed the epoch
 * first, the normal race of a quorum; undefined for any other failure.
 */
export function peerRace(error: unknown): string | undefined {
  const name = revertName(error)
  if (name !== 'EpochOutOfOrder' && name !== 'CaptureNotIncreasing') return undefined
  const decoded = decodeCairnError(error)
  return decoded !== undefined && decoded.name === name ? decoded.message : name
}

/** Whether a contract call failed by reverting (with or without a reason), as opposed to a transport failure. */
export function isRevert(error: unknown): boolean {
  if (error instanceof CairnContractError) return true
  if (!(error instanceof BaseError)) return false
  return (
    error.walk((cause) => cause instanceof ContractFunctionRevertedError) !== null || revertName(error) !== undefined
  )
}
