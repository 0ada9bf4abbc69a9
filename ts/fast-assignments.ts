import type { Address, Hex } from 'viem'
import { z } from 'zod'
import type { Deployment } from './deployment.js'
import { orderJson, orderRequestJson } from './orders.js'
import type { SignedRequest } from './signed-requests.js'
import { cairnTypedData, type SignedMessage, type SignedTypedData } from './typed-data.js'
import { address, decimal, hex } from './wire.js'

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
 *     200 {"assignments": FastAssignmentJson[]}   the prover's outstanding fast assignments (not yet used on chain
 *                                                 as far as the matcher knows, validUntil not passed), oldest first
 *     400 {"error": {"code": "MalformedAddress", "message"}}
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

/** The body of `GET /provers/<address>/fast-assignments`. */
export const fastAssignmentsSchema = z.strictObject({ assignments: z.array(offerJson) })

/** The JSON of a list of fast assignments (integers beyond 2^53 as decimal strings). */
export function encodeFastAssignments(offers: readonly FastAssignmentOffer[]): string {
  return JSON.stringify({
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
export function parseFastAssignments(body: unknown): z.ZodSafeParseResult<{ assignments: FastAssignmentOffer[] }> {
  return fastAssignmentsSchema.safeParse(body) as z.ZodSafeParseResult<{ assignments: FastAssignmentOffer[] }>
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
