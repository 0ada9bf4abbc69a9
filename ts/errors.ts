import { type AbiError, type AbiParameter, formatAbiItem } from 'abitype'
import { BaseError, decodeErrorResult, type Hex, isHex, size, slice } from 'viem'
import { type BindingName, bindingName, type DecodedArtifact, decodedArtifacts } from './contracts-manifest.js'
import * as bindings from './generated.js'
import {
  listingStates,
  middlewareSlashStates,
  mirrorSlashStatuses,
  requestStates,
  requestStatuses,
  tcbStatuses,
  teeRoles,
} from './types.js'

// The manifest says which contracts' errors are decoded; a name without a binding fails the typecheck here.
type DecodedAbi = (typeof bindings)[BindingName<DecodedArtifact>]
const decodedBindings: Readonly<Record<BindingName<DecodedArtifact>, DecodedAbi>> = bindings
const cairnAbis: readonly DecodedAbi[] = decodedArtifacts().map((artifact) => decodedBindings[bindingName(artifact)])

type CairnAbiItem = DecodedAbi[number]
export type CairnAbiError = Extract<CairnAbiItem, { type: 'error' }>

/**
 * Every custom error a Cairn call can revert with, from any contract on its path: the marketplace bubbles up the
 * registry's, stake source's and verifier's errors verbatim, so revert data must be decoded against all of them.
 * Duplicates (ZeroAddress, UnknownMarket, ...) share a selector and are kept once.
 */
export const cairnErrorsAbi: readonly CairnAbiError[] = dedupeBySignature(
  cairnAbis.flatMap((abi): CairnAbiItem[] => [...abi]).filter((item): item is CairnAbiError => item.type === 'error'),
)

function dedupeBySignature(errors: CairnAbiError[]): CairnAbiError[] {
  const seen = new Map<string, CairnAbiError>()
  for (const error of errors) {
    const signature = formatAbiItem(error)
    if (!seen.has(signature)) seen.set(signature, error)
  }
  return [...seen.values()]
}

export type CairnErrorArgs = Readonly<Record<string, unknown>>

/**
 * A revert of a Cairn contract, decoded. `name` is the Solidity error name (`DeadlineInPast`), `message` is
 * human-readable (`DeadlineInPast(deadline=1700000000)`), `args` are keyed by parameter name.
 */
export class CairnContractError extends Error {
  override readonly name: string
  readonly args: CairnErrorArgs
  readonly selector: Hex
  readonly data: Hex

  constructor(params: { name: string; args: CairnErrorArgs; data: Hex; message: string; cause?: unknown }) {
    super(params.message, { cause: params.cause })
    this.name = params.name
    this.args = params.args
    this.data = params.data
    this.selector = size(params.data) >= 4 ? slice(params.data, 0, 4) : params.data
  }
}

export function isCairnContractError(error: unknown): error is CairnContractError {
  return error instanceof CairnContractError
}

/**
 * Finds revert data anywhere in a viem error chain (simulate, estimateGas and RPC errors nest it differently) and
 * decodes it. Undefined when the error carries no revert data, e.g. a network failure.
 */
export function decodeCairnError(error: unknown): CairnContractError | undefined {
  if (error instanceof CairnContractError) return error
  if (!(error instanceof BaseError)) return undefined
  let data: Hex | undefined
  error.walk((e) => {
    data = revertDataOf(e)
    return data !== undefined
  })
  return data === undefined ? undefined : decodeRevertData(data, error)
}

/** Decodes the `reason` of AssignmentSkipped / FulfilmentSkipped: the revert data the item would have reverted with. */
export function decodeSkipReason(reason: Hex): CairnContractError {
  return decodeRevertData(reason)
}

export function decodeRevertData(data: Hex, cause?: unknown): CairnContractError {
  if (data === '0x') {
    return new CairnContractError({ name: 'EmptyRevert', args: {}, data, message: 'reverted without data', cause })
  }
  try {
    const { abiItem, errorName, args = [] } = decodeErrorResult({ abi: cairnErrorsAbi, data })
    const inputs: readonly AbiParameter[] = (abiItem as AbiError | undefined)?.inputs ?? []
    const named = Object.fromEntries(inputs.map((input, i) => [input.name || `arg${i}`, args[i]]))
    const shown = inputs.map((input, i) => `${input.name || `arg${i}`}=${formatArg(input, args[i])}`)
    return new CairnContractError({
      name: errorName,
      args: named,
      data,
      message: `${errorName}(${shown.join(', ')})`,
      cause,
    })
  } catch {
    const selector = size(data) >= 4 ? slice(data, 0, 4) : data
    return new CairnContractError({
      name: 'UnknownError',
      args: {},
      data,
      message: `unknown revert (selector ${selector}, data ${data})`,
      cause,
    })
  }
}

/** Throws the decoded Cairn error when there is one, the original error otherwise. */
export function rethrowDecoded(error: unknown): never {
  throw decodeCairnError(error) ?? error
}

const enumNames: Readonly<Record<string, readonly string[]>> = {
  'enum RequestStatus': requestStatuses,
  'enum RequestState': requestStates,
  'enum ListingState': listingStates,
  'enum TeeRole': teeRoles,
  'enum TcbStatus': tcbStatuses,
  'enum SlashStatus': mirrorSlashStatuses,
  'enum ISlashExecutor.SlashState': middlewareSlashStates,
}

function formatArg(input: AbiParameter, value: unknown): string {
  const names = input.internalType ? enumNames[input.internalType] : undefined
  if (names && typeof value === 'number') return names[value] ?? String(value)
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value.length === 0 ? '""' : value
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
}

function revertDataOf(error: unknown): Hex | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const candidate = error as { raw?: unknown; data?: unknown }
  if (isRevertData(candidate.raw)) return candidate.raw
  if (isRevertData(candidate.data)) return candidate.data
  // Some RPC errors wrap it once more: { data: { data: '0x…' } }.
  const nested = candidate.data as { data?: unknown } | undefined
  if (typeof nested === 'object' && nested !== null && isRevertData(nested.data)) return nested.data
  return undefined
}

function isRevertData(value: unknown): value is Hex {
  return typeof value === 'string' && isHex(value) && value.length >= 10
}
