import { randomBytes } from 'node:crypto'
import { type Address, bytesToBigInt, parseEther } from 'viem'
import type { Deployment } from '../deployment.js'
import { encodePublicSignals, poseidonDigest } from '../groth16.js'
import { inlineInputs, type MarketParams, noInputs, type RequestParams } from '../types.js'

/** The devnet's Groth16 market: Poseidon preimage proofs paid in cUSD, backed by native cSTK stake. */
export function groth16MarketParams(deployment: Deployment, overrides: Partial<MarketParams> = {}): MarketParams {
  return {
    verifier: deployment.contracts.groth16Adapter,
    paymentToken: deployment.contracts.paymentToken,
    stakeSource: deployment.contracts.nativeStaking,
    stakePerTask: parseEther('100'),
    slashPenalty: parseEther('50'),
    requesterCompensationBps: 5_000,
    fallbackDelay: 30,
    metadataURI: 'ipfs://cairn-devnet/poseidon_preimage',
    ...overrides,
  }
}

/** A uniformly random value below 2^248, so always inside the BN254 scalar field. */
export function randomFieldElement(): bigint {
  return bytesToBigInt(randomBytes(31))
}

/** A secret the requester knows and the public signals [Poseidon(preimage), context] a proof must match. */
export async function preimageStatement(preimage = randomFieldElement(), context = randomFieldElement()) {
  const digest = await poseidonDigest(preimage)
  return { preimage, context, digest, publicInputs: encodePublicSignals([digest, context]) }
}

export type ScheduleOptions = {
  /** Seconds from assignment to proof (the request's provingTime). */
  provingTime?: number
  /** Seconds from now the request stays assignable. */
  matchingWindow?: number
}

/** Request params for a Poseidon preimage statement, scheduled from chain time `now`. */
export function preimageRequest(params: {
  marketId: bigint
  now: bigint
  publicInputs: `0x${string}`
  maxReward: bigint
  refundAddress: Address
  schedule?: ScheduleOptions
}): RequestParams {
  const provingTime = params.schedule?.provingTime ?? 600
  const matchingExpiry = Number(params.now) + (params.schedule?.matchingWindow ?? 600)
  return {
    marketId: Number(params.marketId),
    maxReward: params.maxReward,
    provingTime,
    matchingExpiry,
    deadline: matchingExpiry + provingTime,
    speedPreferenceBps: 5_000,
    refundAddress: params.refundAddress,
    publicInputs: inlineInputs(params.publicInputs),
    privateInputs: noInputs,
  }
}
