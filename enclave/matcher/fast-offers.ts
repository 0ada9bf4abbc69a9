import { type Address, getAddress, type Hex, isAddressEqual } from 'viem'
import type { FastKind } from './fast-policy.js'

/*
 * The fast assignments the matcher has made and not yet seen end, in memory (the journal is their copy on disk), of
 * signed orders (fulfilSigned) and of on-chain requests still Open (fulfilOpen) alike: one outstanding offer per
 * request at most, in the order they were made (what a prover's GET lists, oldest first), and per
 * order the provers whose offer lapsed unused, which the order is never matched to again. An offer leaves when its
 * order is used on chain, dropped or expires, or when it lapses.
 */

export type FastOffer = {
  requestId: bigint
  /** A signed order's offer (fulfilSigned) or an on-chain request's (fulfilOpen). */
  fastKind: FastKind
  prover: Address
  price: bigint
  /** Last chain second the prover may use it (FastAssignment.validUntil). */
  validUntil: number
  /** The listing's computePerRequest: held against the prover's capacity while the offer is outstanding. */
  compute: number
  /** The matcher key's EIP-712 signature of the FastAssignment. */
  matcherSignature: Hex
  /** Chain time of the round that made it. */
  madeAt: number
}

export type FastOffers = {
  get: (requestId: bigint) => FastOffer | undefined
  /** Outstanding offers, oldest first. */
  all: () => FastOffer[]
  /** The prover's outstanding offers still usable at chain time `now` (validUntil ≥ now), oldest first. */
  ofProver: (prover: Address, now: number) => FastOffer[]
  add: (offer: FastOffer) => void
  /** Takes the offer out; returns it, or undefined when there was none. */
  remove: (requestId: bigint) => FastOffer | undefined
  /** The prover let its offer of the order lapse: the order is never matched to it again. */
  exclude: (requestId: bigint, prover: Address) => void
  excludes: (requestId: bigint, prover: Address) => boolean
  /** Provers an order's offers lapsed with, in order. */
  lapsed: (requestId: bigint) => Address[]
  /** Every order with lapsed provers (what a compaction keeps for live orders). */
  exclusions: () => [bigint, Address[]][]
  /** The order ended: its offer and its exclusions go. */
  forget: (requestId: bigint) => FastOffer | undefined
  readonly size: number
}

export function createFastOffers(): FastOffers {
  const offers = new Map<bigint, FastOffer>()
  const excluded = new Map<bigint, Address[]>()
  const remove = (requestId: bigint) => {
    const offer = offers.get(requestId)
    offers.delete(requestId)
    return offer
  }
  return {
    get: (requestId) => offers.get(requestId),
    all: () => [...offers.values()],
    ofProver: (prover, now) =>
      [...offers.values()].filter((offer) => offer.validUntil >= now && isAddressEqual(offer.prover, prover)),
    add: (offer) => void offers.set(offer.requestId, offer),
    remove,
    exclude(requestId, prover) {
      const provers = excluded.get(requestId) ?? []
      if (!provers.some((known) => isAddressEqual(known, prover))) provers.push(getAddress(prover))
      excluded.set(requestId, provers)
    },
    excludes: (requestId, prover) => excluded.get(requestId)?.some((known) => isAddressEqual(known, prover)) === true,
    lapsed: (requestId) => excluded.get(requestId) ?? [],
    exclusions: () => [...excluded.entries()],
    forget(requestId) {
      excluded.delete(requestId)
      return remove(requestId)
    },
    get size() {
      return offers.size
    },
  }
}
