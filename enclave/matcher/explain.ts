import type { Address } from 'viem'
import type { Book, ListingState, OpenRequest } from './book.js'
import { proverLive } from './liveness.js'

/*
 * Why the matcher has not assigned an open request yet. This is the one place that reason is worked out: the
 * matcher answers it per request (GET /requests/<id>), and a requester's waiter prints it. It reads the book with
 * the engine's own rules (engine.ts, "Validity"), outside any round: held compute and stake count as used, exactly
 * as they do when the next round starts.
 */

export type WaitReason =
  /** Matched and signed; the assign transaction has not landed yet. */
  | { code: 'InFlight' }
  /**
   * A signed order or an on-chain request offered to `prover` on the fast lane (fast-lane.ts): it proves and settles it
   * in one transaction until chain time `validUntil`; past that unused, it is assigned on chain (assignSigned, assign)
   * to another prover.
   */
  | { code: 'FastAssigned'; prover: Address; price: bigint; validUntil: number }
  /** Past its matching expiry: it can never be assigned; cancel it to get the escrow back. */
  | { code: 'Expired'; matchingExpiry: number }
  /** Its matching expiry is nearer than the time a batch needs to land, so the matcher leaves it out. */
  | { code: 'ExpiresTooSoon'; matchingExpiry: number; minTimeToExpiry: number }
  /** The matcher gave up on its inputs (they cannot load, or do not open for this request). */
  | { code: 'InputsRejected'; reason: string; message: string }
  /** Its inputs are still being fetched and checked. */
  | { code: 'InputsLoading' }
  /** The market has no active listing. */
  | { code: 'NoListing'; marketId: bigint }
  /** No active listing is within the request's maxReward and provingTime. */
  | { code: 'NoOfferWithinBounds'; marketId: bigint; maxReward: bigint; provingTime: number }
  /** The best offer's prover left a task unanswered past its answer-by time and showed no sign of life since. */
  | { code: 'ProverGone'; prover: Address; blockedOffers: number }
  /** The best offer's prover has no enclave key in the market to receive the private inputs. */
  | { code: 'NoEnclaveKey'; prover: Address; blockedOffers: number }
  /** The best offer's prover has no compute left (capacity minus tasks running and batches in flight). */
  | { code: 'CapacityFull'; prover: Address; free: number; required: number; blockedOffers: number }
  /** The best offer's prover cannot lock the market's stake per task. */
  | { code: 'InsufficientStake'; prover: Address; available: bigint; required: bigint; blockedOffers: number }
  /** A valid offer has room: the request is matched in one of the next rounds (oldest requests first). */
  | { code: 'Queued' }
  /**
   * A signed order the chain refused for its requester's deposit (InsufficientDeposit: withdrawn since it was
   * acknowledged, or taken by its other requests): it is not matched again before chain time `until`.
   */
  | { code: 'DepositShort'; until: number }

export type ExplainParams = {
  /** The chain time of the last block the matcher read. */
  now: number
  minTimeToExpiry: number
  /** Whether the prover holds an active enclave key in the market (asked only for private-input requests). */
  hasEnclaveKey: (prover: Address, marketId: bigint) => boolean
}

/** Why `request` (open in `book`) is not assigned yet, judged by the engine's rules at `params.now`. */
export function explainWait<request extends OpenRequest>(
  book: Book<request>,
  request: request,
  params: ExplainParams,
): WaitReason {
  const entry = book.requests.get(request.requestId)
  if (entry?.status === 'held') return { code: 'InFlight' }
  if (request.matchingExpiry < params.now) return { code: 'Expired', matchingExpiry: request.matchingExpiry }
  if (request.matchingExpiry < params.now + params.minTimeToExpiry) {
    return { code: 'ExpiresTooSoon', matchingExpiry: request.matchingExpiry, minTimeToExpiry: params.minTimeToExpiry }
  }
  const market = book.markets.get(request.marketId)
  const active = [...(market?.listings.values() ?? [])].filter((listing) => listing.active)
  if (active.length === 0) return { code: 'NoListing', marketId: request.marketId }
  const offers = active
    .filter((listing) => listing.price <= request.maxReward && listing.provingTime <= request.provingTime)
    .sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : a.provingTime - b.provingTime))
  if (offers.length === 0) {
    return {
      code: 'NoOfferWithinBounds',
      marketId: request.marketId,
      maxReward: request.maxReward,
      provingTime: request.provingTime,
    }
  }
  const blockers = offers.map((listing) => blockerOf(listing, request, params))
  if (blockers.some((blocker) => blocker === undefined)) return { code: 'Queued' }
  const first = blockers[0] as Blocker
  return { ...first, blockedOffers: offers.length }
}

type Blocker =
  | { code: 'ProverGone'; prover: Address }
  | { code: 'NoEnclaveKey'; prover: Address }
  | { code: 'CapacityFull'; prover: Address; free: number; required: number }
  | { code: 'InsufficientStake'; prover: Address; available: bigint; required: bigint }

/** What keeps this listing from taking the request now, in the engine's order of checks; undefined when nothing. */
function blockerOf(listing: ListingState, request: OpenRequest, params: ExplainParams): Blocker | undefined {
  const prover = listing.prover
  if (!proverLive(prover, params.now)) return { code: 'ProverGone', prover: prover.address }
  if (request.hasPrivateInputs && !params.hasEnclaveKey(prover.address, request.marketId)) {
    return { code: 'NoEnclaveKey', prover: prover.address }
  }
  const free = prover.capacity - prover.computeInUse - prover.computeHeld
  if (free < listing.computePerRequest) {
    return { code: 'CapacityFull', prover: prover.address, free, required: listing.computePerRequest }
  }
  const { stakePerTask, stakeSource } = listing.market
  if (stakePerTask === 0n || stakeSource === undefined) return undefined
  const tracked = prover.stake.get(stakeSource)
  // A source whose stake the matcher does not track is not checked by the engine either.
  if (tracked === undefined) return undefined
  const available = tracked - (prover.stakeHeld.get(stakeSource) ?? 0n)
  if (available >= stakePerTask) return undefined
  return { code: 'InsufficientStake', prover: prover.address, available, required: stakePerTask }
}

/**
 * An amount in base units, exactly and short: whole multiples of 10^18 as `100e18` (what 100 of an 18-decimal
 * token is), anything else in full. The matcher does not know the stake token's decimals, so it never divides.
 */
function units(amount: bigint): string {
  const e18 = 10n ** 18n
  return amount !== 0n && amount % e18 === 0n ? `${amount / e18}e18` : amount.toString()
}

/** The reason as a sentence a requester can act on: what holds the request and what changes it. */
export function describeWait(reason: WaitReason): string {
  const others = (blocked: number) =>
    blocked > 1 ? ` (the other ${blocked - 1} offers within bounds are held too)` : ''
  switch (reason.code) {
    case 'InFlight':
      return 'matched: the assign transaction is on its way'
    case 'FastAssigned':
      return `offered off chain to prover ${reason.prover} at ${units(reason.price)} base units: it proves and settles it in one transaction until chain time ${reason.validUntil}; unused by then, it is assigned on chain to another prover`
    case 'Expired':
      return `its matching expiry (${reason.matchingExpiry}) has passed: it can no longer be assigned; cancel it to get the escrow back`
    case 'ExpiresTooSoon':
      return `its matching expiry (${reason.matchingExpiry}) is less than ${reason.minTimeToExpiry} s away, too soon for a batch to land: post a new request with a later expiry`
    case 'InputsRejected':
      return `the matcher cannot use its inputs (${reason.reason}: ${reason.message}): it will not be matched; cancel it after its matching expiry`
    case 'InputsLoading':
      return 'the matcher is still fetching and checking its inputs'
    case 'NoListing':
      return `market ${reason.marketId} has no active prover listing: it waits for a prover to list`
    case 'NoOfferWithinBounds':
      return `no listing in market ${reason.marketId} is within its maxReward (${units(reason.maxReward)} base units) and provingTime (${reason.provingTime} s): it waits for a cheaper or faster offer`
    case 'ProverGone':
      return `prover ${reason.prover} left a task unanswered past its proving time and has shown no sign of life since: it waits for the prover to come back${others(reason.blockedOffers)}`
    case 'NoEnclaveKey':
      return `prover ${reason.prover} has no active enclave key in the market to receive the private inputs: it waits for the prover to register one${others(reason.blockedOffers)}`
    case 'CapacityFull':
      return `prover ${reason.prover} has ${reason.free} compute free and needs ${reason.required}: it waits for the prover's running tasks to end${others(reason.blockedOffers)}`
    case 'InsufficientStake':
      return `InsufficientStake: prover ${reason.prover} can lock ${units(reason.available)} of the ${units(reason.required)} stake (base units) the market locks per task: it waits for the prover to stake (or prove its restaked stake) or for its tasks to end${others(reason.blockedOffers)}`
    case 'Queued':
      return 'a prover has room: it is matched in one of the next blocks (oldest requests first)'
    case 'DepositShort':
      return `the marketplace refused it for its requester's deposit (InsufficientDeposit): it is tried again from chain time ${reason.until}; deposit more (cairn deposit) or it is dropped after 5 refusals`
  }
}
