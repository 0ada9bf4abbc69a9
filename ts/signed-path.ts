import type { TransactionReceipt } from 'viem'
import { isCairnContractError } from './errors.js'
import { MatcherUnavailableError, OrderRejectedError } from './order-stream.js'
import type { OrderAccepted } from './orders.js'
import type { SignedRequest, SignedRequestState, SignedRequestWithSignature } from './signed-requests.js'
import type { RequestCreation, RequestStatus } from './types.js'

/*
 * Which way a signed request goes, decided from what the matcher and the chain say, through three ports (the order
 * stream, postSignedRequest and signedRequestState) so the decision is tested without either. Nothing here trusts the
 * matcher beyond its acknowledgement: a claim that the request is used is checked on chain, and a matcher that
 * acknowledges and then does nothing is covered by the later fallback (signed-wait.ts).
 */

export type PostedRequest = RequestCreation & { receipt: TransactionReceipt }

export type SignedPathPorts = {
  /** Sends the order to the matcher (submitOrder): OrderAccepted, or OrderRejectedError / MatcherUnavailableError. */
  submit: (signed: SignedRequestWithSignature) => Promise<OrderAccepted>
  /** Posts it on chain (postSignedRequest); a revert is thrown decoded (CairnContractError). */
  post: (signed: SignedRequestWithSignature) => Promise<PostedRequest>
  /** Where it stands on chain (signedRequestState). */
  state: (request: SignedRequest) => Promise<SignedRequestState>
}

/**
 * How a signed request went out: `signed` (the matcher acknowledged it, `accepted`; or the chain showed it used when
 * the matcher said so or when the SDK came to post it: `used`, its status) or `posted` (the matcher could not be asked, `unavailable`, so the SDK posted
 * it on chain itself: `posted`).
 */
export type SendOutcome =
  | { path: 'signed'; accepted: OrderAccepted; unavailable?: undefined; used?: undefined }
  | { path: 'signed'; used: RequestStatus; unavailable?: MatcherUnavailableError; accepted?: undefined }
  | { path: 'posted'; posted: PostedRequest; unavailable: MatcherUnavailableError }

/**
 * Sends a signed request to the matcher; when it is unavailable (unreachable, no acknowledgement in time, 5xx, a reply
 * that is not the order stream's), posts the same signed request on chain instead. A refusal (OrderRejectedError) is
 * thrown as it is: the matcher named a fault of the request, which would fail on chain too or needs the requester's
 * decision (see SECURITY.md: a refusal is never silently posted).
 */
export async function sendSignedRequest(
  signed: SignedRequestWithSignature,
  ports: SignedPathPorts,
): Promise<SendOutcome> {
  let unavailable: MatcherUnavailableError
  try {
    const accepted = await ports.submit(signed)
    // An acknowledgement of another id is no acknowledgement of this request: post it instead (always safe).
    if (accepted.requestId !== signed.requestId.toString()) {
      throw new MatcherUnavailableError(
        'badReply',
        'the order stream',
        `it acknowledged request ${accepted.requestId}, not ${signed.requestId}`,
      )
    }
    return { path: 'signed', accepted }
  } catch (error) {
    if (error instanceof OrderRejectedError && error.code === 'AlreadyUsed') {
      // The matcher says it is on chain already: believed only if the chain agrees.
      const used = usedStatus(await ports.state(signed.request))
      if (used !== undefined) return { path: 'signed', used }
      throw error
    }
    if (!(error instanceof MatcherUnavailableError)) throw error
    unavailable = error
  }
  const outcome = await postUnlessUsed(signed, ports)
  return outcome.posted === undefined
    ? { path: 'signed', used: outcome.used, unavailable }
    : { path: 'posted', posted: outcome.posted, unavailable }
}

/** Posting a signed request whose nonce is spent without it being used: cancelled, or reused by another request. */
export class SignedRequestNonceSpentError extends Error {
  override readonly name = 'SignedRequestNonceSpentError'
  constructor(
    readonly requestId: bigint,
    readonly nonce: bigint,
  ) {
    super(
      `signed request ${requestId} can no longer be used: its nonce ${nonce} was cancelled (invalidateNonces) or spent by another request signed with the same nonce; sign it again with a new nonce`,
    )
  }
}

/**
 * Posts a signed request on chain unless it is used already: a revert with NonceUsed or SignedRequestIdTaken while the
 * chain shows it used (the matcher assigned it meanwhile) is `{ used }`, not an error. A nonce spent without a use
 * throws SignedRequestNonceSpentError; any other revert is thrown decoded.
 */
export async function postUnlessUsed(
  signed: SignedRequestWithSignature,
  ports: Pick<SignedPathPorts, 'post' | 'state'>,
): Promise<{ posted: PostedRequest; used?: undefined } | { used: RequestStatus; posted?: undefined }> {
  try {
    return { posted: await ports.post(signed) }
  } catch (error) {
    if (!isCairnContractError(error) || (error.name !== 'NonceUsed' && error.name !== 'SignedRequestIdTaken')) {
      throw error
    }
    const used = usedStatus(await ports.state(signed.request))
    if (used !== undefined) return { used }
    throw new SignedRequestNonceSpentError(signed.requestId, signed.request.nonce)
  }
}

/** The status of a used signed request: its stored one, Fulfilled for a fast-lane fulfilment; undefined if unused. */
function usedStatus(state: SignedRequestState): RequestStatus | undefined {
  if (state.state === 'used') return state.status
  return state.state === 'fulfilled' ? 'Fulfilled' : undefined
}
