import type { ContractFunctionArgs, ContractFunctionReturnType, Hex } from 'viem'
import { zeroHash } from 'viem'
import type { proofMarketplaceAbi, proverRegistryAbi } from './generated.js'

type MarketplaceAbi = typeof proofMarketplaceAbi

export type MarketParams = ContractFunctionArgs<MarketplaceAbi, 'payable', 'createMarket'>[0]
export type RequestParams = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'createRequest'>[0]
export type Inputs = RequestParams['publicInputs']
export type Assignment = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'assign'>[0][number]
export type Fulfilment = ContractFunctionArgs<MarketplaceAbi, 'nonpayable', 'fulfilBatch'>[0][number]
export type Market = ContractFunctionReturnType<MarketplaceAbi, 'view', 'market'>
export type Request = ContractFunctionReturnType<MarketplaceAbi, 'view', 'request'>
export type Task = ContractFunctionReturnType<MarketplaceAbi, 'view', 'task'>
export type Prover = ContractFunctionReturnType<typeof proverRegistryAbi, 'view', 'prover'>
export type Listing = ContractFunctionReturnType<typeof proverRegistryAbi, 'view', 'listing'>

// ABIs carry enums as uint8 only, so their member names are mirrored here (same order as src/types/*.sol).
export const requestStatuses = ['None', 'Open', 'Assigned', 'Fulfilled', 'Slashed', 'Cancelled'] as const
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
] as const
export type RequestState = (typeof requestStates)[number]

export const listingStates = ['None', 'Active', 'Leaving'] as const
export type ListingState = (typeof listingStates)[number]

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
