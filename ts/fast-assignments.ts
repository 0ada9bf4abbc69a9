import type { Address, Hex } from 'viem'
import { z } from 'zod'
import type { Deployment } from './deployment.js'
import { orderJson, orderRequestJson } from './orders.js'
import type { SignedRequest } from './signed-requests.js'
import { cairnTypedData, type SignedMessage, type SignedTypedData } from './typed-data.js'
import { address, bytes32, decimal, hex, small } from './wire.js'

/*
 * The signed path's fast lane (ISignedFulfilments, src/types/FastAssignment.sol). The matcher assigns a signed public
 * request to one prover off chain by signing a FastAssignment (request id, prover, price, validUntil); nothing is
 * sent. The prover proves and sends the signed request, the assignment and the proof in one transaction
 * (fulfilSigned, or fulfilSignedBatch for several), before validUntil. If it does not, the matcher assigns the request
 * with assignSigned (stake-backed) once validUntil has passed.
 *
 * On the wire (the matcher serves it, the prover runner polls it; both use this file):
 *
 *   GET /provers/<address>/fast-assignments
 *     200 {"assignments": FastAssignmentJson[],   the prover's outstanding fast assignments of signed requests (not yet
 *          "open": OpenOfferJson[]}               used on chain as far as the matcher knows, validUntil not passed),
 *                                                 oldest first; and of on-chain requests still Open (fulfilOpen)
 *     400 {"error": {"code": "MalformedAddress", "message"}}
 *
 * An on-chain request (createRequest, or a signed request posted on chain) takes the same lane while it is Open: the
 * offer carries its id and record (as RequestCreated emitted it); the prover reads the inputs from the request's
 * RequestCreated event as for any task and sends fulfilOpen before validUntil (at most the request's matching expiry).
 */

/** The path of a prover's fast assignments on the matcher's HTTP port. */
export function fastAssignmentsPath(prover: Address): string {
  return `/provers/${prover}/fast-assignments`
}

/** What the matcher signs (EIP-712 FastAssignment under the marketplace's domain). */
export type FastAssignment = SignedMessage<'fastAssignment'>

/** A fast assignment as the prover receives it: the signed request with its requester's signature, and the matcher's. */
export type FastAssignmentOffer = {
  requestId: bigint
  request: SignedRequest
  /** The requester's signature of `request`. */
  signature: Hex
  prover: Address
  price: bigint
  validUntil: bigint
  matcherSignature: Hex
}

/** The typed data a matcher key signs for `assignment`. */
export function fastAssignmentTypedData(
  deployment: Pick<Deployment, 'chainId' | 'contracts'>,
  assignment: FastAssignment,
): SignedTypedData<'fastAssignment'> {
  return cairnTypedData(
    'fastAssignment',
    { chainId: deployment.chainId, address: deployment.contracts.proofMarketplace },
    assignment,
  )
}

const offerJson = z.strictObject({
  requestId: decimal(256),
  request: orderRequestJson,
  signature: hex,
  prover: address,
  price: decimal(96),
  validUntil: decimal(64),
  matcherSignature: hex,
})

/** A fast assignment of an on-chain request still Open: its id and record, and the matcher's signature. */
export type OpenOffer = {
  requestId: bigint
  /** The record RequestCreated emitted (IProofMarketplace.Request). */
  record: {
    refundAddress: Address
    maxReward: bigint
    createdAt: number
    matchingExpiry: number
    provingTime: number
    inputsDigest: Hex
  }
  prover: Address
  price: bigint
  validUntil: bigint
  matcherSignature: Hex
}

const openOfferJson = z.strictObject({
  requestId: decimal(256),
  record: z.strictObject({
    refundAddress: address,
    maxReward: decimal(96),
    createdAt: small(32),
    matchingExpiry: small(32),
    provingTime: small(32),
    inputsDigest: bytes32,
  }),
  prover: address,
  price: decimal(96),
  validUntil: decimal(64),
  matcherSignature: hex,
})

/** The body of `GET /provers/<address>/fast-assignments` (`open` may be absent: a matcher before on-chain offers). */
export const fastAssignmentsSchema = z.strictObject({
  assignments: z.array(offerJson),
  open: z.array(openOfferJson).default([]),
})

/** A prover's fast assignments, parsed. */
export type FastAssignments = { assignments: FastAssignmentOffer[]; open: OpenOffer[] }

/** The JSON of a list of fast assignments (integers beyond 2^53 as decimal strings). */
export function encodeFastAssignments(offers: readonly FastAssignmentOffer[], open: readonly OpenOffer[] = []): string {
  return JSON.stringify({
    open: open.map((offer) => ({
      requestId: offer.requestId.toString(),
      record: { ...offer.record, maxReward: offer.record.maxReward.toString() },
      prover: offer.prover,
      price: offer.price.toString(),
      validUntil: offer.validUntil.toString(),
      matcherSignature: offer.matcherSignature,
    })),
    assignments: offers.map((offer) => ({
      requestId: offer.requestId.toString(),
      ...orderJson(offer),
      prover: offer.prover,
      price: offer.price.toString(),
      validUntil: offer.validUntil.toString(),
      matcherSignature: offer.matcherSignature,
    })),
  })
}

/** A fast-assignments body as received, or the zod issues that name what is malformed. */
export function parseFastAssignments(body: unknown): z.ZodSafeParseResult<FastAssignments> {
  return fastAssignmentsSchema.safeParse(body) as z.ZodSafeParseResult<FastAssignments>
}

/**
 * The fulfilSigned argument for an offer and its proof. `publicInputs`: the bytes behind the request's input URI, or
 * omitted when the request carries them inline (the contract reads them from the request).
 */
export function signedFulfilment(offer: FastAssignmentOffer, proof: Hex, publicInputs: Hex = '0x') {
  return {
    request: offer.request,
    requesterSignature: offer.signature,
    prover: offer.prover,
    price: offer.price,
    validUntil: offer.validUntil,
    matcherSignature: offer.matcherSignature,
    publicInputs,
    proof,
  } as const
}

/** The fulfilOpen argument for an on-chain offer, its request's public inputs and the proof. */
export function openFulfilment(offer: OpenOffer, publicInputs: Hex, proof: Hex) {
  return {
    requestId: offer.requestId,
    request: offer.record,
    prover: offer.prover,
    price: offer.price,
    validUntil: offer.validUntil,
    matcherSignature: offer.matcherSignature,
    publicInputs,
    proof,
  } as const
}
