import type { Hex } from 'viem'
import { z } from 'zod'
import type { SignedRequest, SignedRequestWithSignature } from './signed-requests.js'
import { address, bytes32, decimal, hex, small } from './wire.js'

/*
 * The matcher's order stream on the wire: how a signed request travels to `POST /orders` and what comes back. Both
 * sides use this file (the SDK to send, the matcher to parse), so the JSON form has one definition. Integers beyond
 * 2^53 travel as decimal strings; byte strings as 0x-prefixed hex.
 *
 *   POST /orders            {"request": OrderJson, "signature": "0x…"}
 *     200 OrderAccepted     acknowledged: persisted by the matcher before this reply (also for a repeat of an
 *                           acknowledged order: `duplicate: true`)
 *     4xx OrderRejection    {"error": {"code", "message", …details}}: what is wrong and what to do
 *   GET  /orders/<id>       200 OrderStatus, 404 OrderRejection {code: "UnknownOrder"}
 */

/** Where the order stream is served on a matcher's HTTP port. */
export const ORDERS_PATH = '/orders'

/** Most bytes a `POST /orders` body may have (inline inputs included; larger inputs go behind a URI). */
export const MAX_ORDER_BYTES = 256 * 1024

const inputsJson = z.strictObject({ digest: bytes32, uri: z.string(), data: hex })

/** A signed request on the wire (also inside a fast assignment, ts/fast-assignments.ts). */
export const orderRequestJson = z.strictObject({
  requester: address,
  nonce: decimal(256),
  marketId: small(32),
  maxReward: decimal(96),
  provingTime: small(32),
  matchingExpiry: small(32),
  deadline: small(32),
  speedPreferenceBps: small(16),
  refundAddress: address,
  publicInputs: inputsJson,
  privateInputs: inputsJson,
})

/** The body of `POST /orders`, parsed: the zod schema both the matcher and tests use. */
export const orderBodySchema = z.strictObject({ request: orderRequestJson, signature: hex })

export type OrderBody = { request: SignedRequest; signature: Hex }

/** The JSON body the SDK sends for a signed request. */
export function encodeOrder(signed: Pick<SignedRequestWithSignature, 'request' | 'signature'>): string {
  return JSON.stringify(orderJson(signed))
}

/** A signed request and its signature in their JSON form (integers beyond 2^53 as decimal strings). */
export function orderJson(signed: Pick<SignedRequestWithSignature, 'request' | 'signature'>) {
  const { request, signature } = signed
  return {
    request: { ...request, nonce: request.nonce.toString(), maxReward: request.maxReward.toString() },
    signature,
  }
}

/** An order body as received, or the zod issues that name what is malformed. */
export function parseOrderBody(body: unknown): z.ZodSafeParseResult<OrderBody> {
  return orderBodySchema.safeParse(body) as z.ZodSafeParseResult<OrderBody>
}

/** The reply to an acknowledged order. */
export type OrderAccepted = {
  requestId: string
  /** True when this order was already acknowledged before (the reply is the same; nothing new was stored). */
  duplicate: boolean
}

/**
 * Why the matcher refused an order. Every code says what is wrong with the order (or the matcher) and the message
 * says what to do; `details` carries the figures (balance and amount, times, the market).
 *
 * Malformed (400): `MalformedOrder` (not JSON, or a field of the wrong form: the message names the field),
 * `OrderTooLarge` (413). Against chain state (422): `BadSignature`, `UnknownMarket`, `ZeroReward`, `ZeroAddress`,
 * `SpeedPreferenceOutOfRange`, `ZeroProvingTime`, `DeadlineInPast`, `DeadlineTooFar`,
 * `DeadlineShorterThanProvingTime`, `MatchingExpiryInPast`, `MatchingExpiryTooLate`, `ExpiresTooSoon`,
 * `MissingInputs`, `InputsDigestMismatch`, `InvalidPublicInputs`, `InsufficientDeposit` (the requester's marketplace
 * balance, net of its other acknowledged orders, cannot cover maxReward), `NonceUsed`, `AlreadyUsed` (409: the
 * request is on chain already), `InputsRejected` (inline private inputs that do not open for the matcher under this
 * request: `details.reason`). Per requester (429): `TooManyOrders` (too many pending), `RequesterBlocked` (its orders
 * made batches fail repeatedly). Transport: `OrderTimeout` (408: the body came too slowly). The matcher itself (503):
 * `NotReady` (starting, out of sync, or a chain read or journal write failed: retry), `Stopping`.
 */
export type OrderRejection = { error: { code: string; message: string; details?: Record<string, string> } }

/** Where an order stands in the matcher's view. */
export type OrderStatus = {
  requestId: string
  /**
   * `pending`: acknowledged, waiting in the book; `assigning`: in a batch in flight, or offered to a prover on the
   * fast lane (`reason: FastAssignment`, ts/fast-assignments.ts) until it uses the offer or its window passes;
   * `used`: on chain (assigned by this matcher, posted by anyone, or fulfilled on the fast lane: follow the request
   * id there); `expired`: its matching expiry passed unused; `dropped`: it can no longer be used (its nonce was spent or invalidated, or its inputs failed the matcher's
   * checks: `reason` says which).
   */
  state: 'pending' | 'assigning' | 'used' | 'expired' | 'dropped'
  /** Why it ended (`dropped`), or `FastAssignment` for an `assigning` order offered to a prover on the fast lane. */
  reason?: string
  /** With `reason: FastAssignment`: the offer's `prover`, `price` and `validUntil` (chain time), as decimal strings. */
  details?: Record<string, string>
}
