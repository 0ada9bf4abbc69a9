import type { ContractFunctionArgs, ContractFunctionReturnType, Hex, ParseEventLogsReturnType } from 'viem'
import { concat, keccak256, zeroAddress, zeroHash } from 'viem'
import type { proofMarketplaceAbi, proverRegistryAbi, teeProofVerifierAbi } from './generated.js'

type MarketplaceAbi = typeof proofMarketplaceAbi

export type MarketParams = ContractFunctionArgs<MarketplaceAbi, 'payable', 'createMarket'>[0]
export type RequestParams = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'createRequest'>[0]
export type Inputs = RequestParams['publicInputs']
/** A request's record as emitted in RequestCreated: what callers pass back to claim, assign, fulfil, slash, cancel. */
export type Request = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'claim'>[1]
/** An assignment's record as emitted in TaskAssigned: passed back (with the request's) to fulfil or slash. */
export type Task = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'slash'>[2]
/** One matcher decision as submitted: the signed terms plus the request's record. */
export type MatchedRequest = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'assign'>[0][number]
/**
 * One matcher decision as signed (EIP-712 `Assignment`): request, prover, the prover's listed price and proving time
 * the matcher matched on (assign skips the item with ListingChanged when the listing differs at inclusion), and the
 * private-input key re-wrapped to the prover's enclave (absent, i.e. empty bytes, for a request without private
 * inputs).
 */
export type Assignment = Pick<MatchedRequest, 'requestId' | 'prover' | 'price' | 'provingTime'> & { inputKey?: Hex }
export type Fulfilment = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'fulfilBatch'>[0][number]
export type Market = ContractFunctionReturnType<MarketplaceAbi, 'view', 'market'>
export type Prover = ContractFunctionReturnType<typeof proverRegistryAbi, 'view', 'prover'>
export type Listing = ContractFunctionReturnType<typeof proverRegistryAbi, 'view', 'listing'>

/** Everything RequestCreated emits: the record plus the fields that are emitted but not committed to storage. */
export type RequestCreation = ParseEventLogsReturnType<MarketplaceAbi, 'RequestCreated', true>[number]['args']
/** Everything TaskAssigned emits. */
export type TaskAssignment = ParseEventLogsReturnType<MarketplaceAbi, 'TaskAssigned', true>[number]['args']

/** A request id with its record: enough to claim, assign or cancel it. */
export type RequestRecords = { requestId: bigint; request: Request }
/** An assigned request with both records: enough to fulfil or slash it. */
export type TaskRecords = RequestRecords & { task: Task }
/**
 * What ProofMarketplace tells a market's verifier about a fulfilment (IProofVerifier.verify): the request, its
 * assigned prover and its inputs digest. A TEE proof counts for exactly this context.
 */
export type ProofContext = ContractFunctionArgs<typeof teeProofVerifierAbi, 'view', 'verify'>[2]
/** A request by id (its records are then loaded from the marketplace's logs) or with its records. */
export type RequestRef = bigint | RequestRecords
/** An assigned request by id (its records are then loaded from the marketplace's logs) or with its records. */
export type TaskRef = bigint | TaskRecords

/** The task record of an unassigned request, as requestState expects it. */
export const emptyTask: Task = { prover: zeroAddress, price: 0n, deadline: 0, compute: 0 }

// ABIs carry enums as uint8 only, so their member names are mirrored here (same order as src/types/*.sol).
export const requestStatuses = [
  'None',
  'Open',
  'Assigned',
  'Fulfilled',
  'Slashed',
  'Cancelled',
  'InputsRejected',
] as const
export type RequestStatus = (typeof requestStatuses)[number]

export const requestStates = [
  'None',
  'Open',
  'Expired',
  'Assigned',
  'DeadlineMissed',
  'Fulfilled',
  'Slashed',
  'Cancelled',
  'InputsRejected',
] as const
export type RequestState = (typeof requestStates)[number]

export const listingStates = ['None', 'Active', 'Leaving'] as const
export type ListingState = (typeof listingStates)[number]

/** What an attested enclave key may do (src/attestation/interfaces/ITeeRegistry.sol). */
export const teeRoles = ['Matcher', 'Prover', 'Relayer'] as const
export type TeeRole = (typeof teeRoles)[number]

/** A slash queued on the StakeMirror, by its outcome on Ethereum (src/types/SlashOutcome.sol SlashStatus). */
export const mirrorSlashStatuses = ['None', 'Queued', 'Executed', 'Vetoed', 'Failed'] as const
export type MirrorSlashStatus = (typeof mirrorSlashStatuses)[number]

/** A slash order on Cairn's network middleware (src/restaking/interfaces/ISlashExecutor.sol SlashState). */
export const middlewareSlashStates = ['None', 'Requested', 'Executed', 'Vetoed', 'Failed'] as const
export type MiddlewareSlashState = (typeof middlewareSlashStates)[number]

/** A verified quote's TCB standing (src/attestation/types/Dcap.sol). */
export const tcbStatuses = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'ConfigurationNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
  'Unrecognized',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
] as const
export type TcbStatus = (typeof tcbStatuses)[number]

/** Names an enum value read from the chain; an unknown value means the SDK is older than the contracts. */
export function enumName<const names extends readonly string[]>(
  names: names,
  value: number,
  what: string,
): names[number] {
  const name = names[value]
  if (name === undefined) throw new Error(`unknown ${what} ${value}: the SDK is older than the contracts`)
  return name
}

const INDEX_BITS = 64n
const INDEX_MASK = (1n << INDEX_BITS) - 1n

/** The id of the `index`-th request (counting from 1) of market `marketId`: marketId << 64 | index. */
export function requestIdOf(marketId: bigint, index: bigint): bigint {
  if (index < 1n || index > INDEX_MASK) throw new RangeError(`request index ${index} out of range`)
  return (marketId << INDEX_BITS) | index
}

/** The market a request belongs to: the upper bits of its id. */
export function marketIdOf(requestId: bigint): bigint {
  return requestId >> INDEX_BITS
}

/** A request's position within its market, counting from 1: the low 64 bits of its id. */
export function requestIndexOf(requestId: bigint): bigint {
  return requestId & INDEX_MASK
}

/** The context the marketplace passes the market's verifier when the assigned prover fulfils these records. */
export function proofContextOf(records: TaskRecords): ProofContext {
  return { requestId: records.requestId, prover: records.task.prover, inputsDigest: records.request.inputsDigest }
}

/** The digest the marketplace uses for `inputs`: keccak256 of inline data, else the given digest (zero if none). */
export function inputsDigest(inputs: Inputs): Hex {
  return inputs.data.length > 2 ? keccak256(inputs.data) : inputs.digest
}

/**
 * Request.inputsDigest as createRequest commits it, keccak256(publicDigest ‖ privateDigest); fulfil checks the
 * proof's public inputs and the private-inputs digest against it.
 */
export function requestInputsDigest(publicInputs: Inputs, privateInputs: Inputs): Hex {
  return combinedInputsDigest(inputsDigest(publicInputs), inputsDigest(privateInputs))
}

/** Request.inputsDigest from the digests of its two parts (the private one zero when there are no private inputs). */
export function combinedInputsDigest(publicDigest: Hex, privateDigest: Hex): Hex {
  return keccak256(concat([publicDigest, privateDigest]))
}

/** Inputs posted inline (the contract computes their digest). */
export function inlineInputs(data: Hex): Inputs {
  return { data, uri: '', digest: zeroHash }
}

/** Inputs stored off-chain behind `uri`, committed to by `digest` (keccak256 of the full bytes). */
export function remoteInputs(uri: string, digest: Hex): Inputs {
  return { data: '0x', uri, digest }
}

/** A request without private inputs. */
export const noInputs: Inputs = { data: '0x', uri: '', digest: zeroHash }
