/**
 * What the runner checks of a fast assignment before it spends any work on it (the fast lane: fast-lane.ts). The
 * matcher is not trusted: an offer is taken only if it is this runner's, for the very request it names, in a market
 * it is listed in with a backend, for public inputs, at no less than its listed price and within the request's max
 * reward, with the listing's proving time still left before it expires, and while the chain shows the request's
 * nonce unspent and the requester's deposit covering the price. Anything else is dropped with its reason (a metric
 * label). A fast offer has no on-chain record, so it becomes a TrackedTask built from the signed request itself and
 * is proven exactly like an assigned task (job.ts checks its inputs against the digest computed here).
 */
import { type Address, isAddressEqual } from 'viem'
import type { Deployment } from '../../ts/deployment.js'
import type { FastAssignmentOffer } from '../../ts/fast-assignments.js'
import { fastAssignmentExpiry } from '../../ts/fast-fulfil.js'
import { hasInputs } from '../../ts/request-inputs.js'
import { type SignedRequest, signedRequestId } from '../../ts/signed-requests.js'
import { requestInputsDigest } from '../../ts/types.js'
import type { ProverBackendKind } from './backends/registry.js'
import type { TrackedTask } from './scheduler.js'

/** Why an offer is given up: a metric label, from a small fixed set (plus contract error names at submission). */
export type OfferDrop =
  | 'not-mine'
  | 'wrong-request-id'
  | 'unknown-market'
  | 'private-inputs'
  | 'above-max-reward'
  | 'below-listed-price'
  | 'no-time'
  | 'nonce-spent'
  | 'deposit-short'

/** A configured market as the checks need it: its listing's terms. */
export type OfferMarket = { config: { price: bigint; provingTime: number; computePerRequest: number } }

/** Checks an offer against this runner and chain time `now` (seconds), without the chain; undefined: take it. */
export function offerDrop(
  offer: FastAssignmentOffer,
  context: {
    me: Address
    deployment: Pick<Deployment, 'chainId' | 'contracts'>
    markets: Pick<ReadonlyMap<bigint, OfferMarket>, 'get'>
    now: number
  },
): OfferDrop | undefined {
  const { request } = offer
  if (!isAddressEqual(offer.prover, context.me)) return 'not-mine'
  // The id the contract derives from the request: an offer naming another one carries a signature that fails.
  if (signedRequestId(context.deployment, request) !== offer.requestId) return 'wrong-request-id'
  const market = context.markets.get(BigInt(request.marketId))
  if (market === undefined) return 'unknown-market'
  // Private inputs need the on-chain assignment, which releases their key: the contract refuses them here.
  if (hasInputs(request.privateInputs)) return 'private-inputs'
  if (offer.price > request.maxReward) return 'above-max-reward'
  if (offer.price < market.config.price) return 'below-listed-price'
  if (context.now + market.config.provingTime > Number(fastAssignmentExpiry(offer))) return 'no-time'
  return undefined
}

/** The chain as the fast lane reads it: the request's nonce and the requester's deposit. */
export type OfferChain = {
  nonceSpent(request: SignedRequest): Promise<boolean>
  /** The requester's marketplace balance of the market's payment token. */
  deposit(requester: Address, marketId: bigint): Promise<bigint>
}

/**
 * The chain's part of the checks: the nonce unspent (an offer used already, by this runner before a restart say, is
 * skipped here) and the deposit covering `price`, or what the requester's other offers in hand (`committed`) leave
 * of it.
 */
export async function chainDrop(
  offer: FastAssignmentOffer,
  chain: OfferChain,
  committed = 0n,
): Promise<OfferDrop | undefined> {
  if (await chain.nonceSpent(offer.request)) return 'nonce-spent'
  const deposit = await chain.deposit(offer.request.requester, BigInt(offer.request.marketId))
  return deposit < committed + offer.price ? 'deposit-short' : undefined
}

/**
 * The task the scheduler proves for an offer: the request record the signed request would get (its inputs digest
 * computed from the request, which job.ts checks the bytes against) and an assignment to this runner until the
 * offer's expiry, holding the listing's compute.
 */
export function fastTask(
  offer: FastAssignmentOffer,
  market: OfferMarket & { kind: ProverBackendKind },
  now: number,
): TrackedTask {
  const { request } = offer
  return {
    requestId: offer.requestId,
    marketId: BigInt(request.marketId),
    requester: request.requester,
    request: {
      refundAddress: request.refundAddress,
      maxReward: request.maxReward,
      createdAt: 0,
      matchingExpiry: request.matchingExpiry,
      provingTime: request.provingTime,
      inputsDigest: requestInputsDigest(request.publicInputs, request.privateInputs),
    },
    task: {
      prover: offer.prover,
      price: offer.price,
      deadline: Number(fastAssignmentExpiry(offer)),
      compute: market.config.computePerRequest,
    },
    publicInputs: request.publicInputs,
    privateInputs: request.privateInputs,
    backend: market.kind,
    assignedAt: Math.floor(now),
    byMatcher: true,
    state: 'queued',
    attempts: 0,
    abort: new AbortController(),
    fast: offer,
  }
}
