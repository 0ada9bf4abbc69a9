import { setTimeout as sleep } from 'node:timers/promises'
import type { CairnClient, CairnReader } from './client.js'
import { getOrderStatus } from './order-stream.js'
import type { OrderStatus } from './orders.js'
import { getMarket } from './readers.js'
import { type PostedRequest, postUnlessUsed, SignedRequestNonceSpentError } from './signed-path.js'
import {
  postSignedRequest,
  type SignedRequestState,
  type SignedRequestWithSignature,
  signedRequestId,
  signedRequestState,
} from './signed-requests.js'

/*
 * The wait before a signed request is used (waitForProof's `signed` option): its id has no record on chain yet, so
 * there are no logs to follow. This polls its state (two view calls, no log scan), reports what the matcher says of
 * it, and posts it on chain itself once it has stayed unused too long: the fallback for a matcher that acknowledged and
 * then did nothing. Time here is chain time (block timestamps), so a busy or suspended machine never posts early.
 */

/** The fallback post never waits longer than this much chain time by default (seconds). */
export const DEFAULT_POST_AFTER_SECONDS = 60

export type SignedWaitOptions = {
  /** The signed request (its id is the one waited for). */
  signed: SignedRequestWithSignature
  /**
   * Posts it on chain (anyone may: the escrow comes from the requester's deposit) when it is still unused
   * `postAfterSeconds` of chain time after the wait began. Without a client the wait only watches.
   */
  client?: CairnClient
  /** Default: defaultPostAfterSeconds (at most 60 s, earlier when the market's fallback delay needs the time). */
  postAfterSeconds?: number
  /** Ask this matcher's `GET /orders/<id>` while the request is unused; its answers reach `onPending` only. */
  matcherUrl?: string
  onPending?: (pending: PendingSignedRequest) => void
  /** Called once when the wait posted the request itself. */
  onPosted?: (posted: PostedRequest) => void
}

/** A signed request not used yet, as the wait last saw it. */
export type PendingSignedRequest = {
  requestId: bigint
  blockNumber: bigint
  chainTime: bigint
  /** The matcher's word (with `matcherUrl`): undefined when it holds no such order. */
  order?: OrderStatus | undefined
  /** Why the matcher could not be asked, when it could not. */
  matcherError?: string
}

/** A signed request that can no longer be used: its matching expiry passed unused, or its nonce was spent. */
export class SignedRequestUnusedError extends Error {
  override readonly name = 'SignedRequestUnusedError'
  constructor(
    readonly requestId: bigint,
    readonly outcome: 'Expired' | 'NonceSpent',
    readonly chainTime: bigint,
  ) {
    super(
      outcome === 'Expired'
        ? `signed request ${requestId} was never used and its matching expiry passed (chain time ${chainTime}): nothing was escrowed, nothing to cancel; sign a new one`
        : `signed request ${requestId} was never used and can no longer be: its nonce was cancelled or spent by another request; nothing was escrowed`,
    )
  }
}

/**
 * The post-after default: at most DEFAULT_POST_AFTER_SECONDS, and at most half the time from `now` to the latest
 * moment a post still leaves the market's `fallbackDelay` for a prover's claim before `matchingExpiry`.
 */
export function defaultPostAfterSeconds(now: bigint, matchingExpiry: number, fallbackDelay: number): number {
  const slack = matchingExpiry - fallbackDelay - Number(now)
  return Math.max(0, Math.min(DEFAULT_POST_AFTER_SECONDS, Math.floor(slack / 2)))
}

/**
 * One look at a signed request not known to be used: `used` (follow its logs; a fast-lane fulfilment counts: its
 * SignedRequestFulfilled log is among them), `expired` (chain time is past its
 * matching expiry, unused: it never can be), `nonceSpent` (cancelled), `post` (unused for `postAfterSeconds` of chain
 * time since `startTime`, and posting is up to this wait), else `wait`.
 */
export function signedWaitStep(look: {
  state: SignedRequestState['state']
  chainTime: bigint
  startTime: bigint
  postAfterSeconds: number
  matchingExpiry: number
  canPost: boolean
}): 'used' | 'expired' | 'nonceSpent' | 'post' | 'wait' {
  if (look.state === 'used' || look.state === 'fulfilled') return 'used'
  if (look.state === 'nonceSpent') return 'nonceSpent'
  if (look.chainTime > BigInt(look.matchingExpiry)) return 'expired'
  if (look.canPost && look.chainTime >= look.startTime + BigInt(look.postAfterSeconds)) return 'post'
  return 'wait'
}

/**
 * Waits until the signed request is used on chain (posting it after `postAfterSeconds` with a client), or fulfilled on
 * the fast lane, and returns the first block to read its logs from; undefined when `until` (a Date.now() time) passes first. Throws
 * SignedRequestUnusedError when it can no longer be used, and a post's revert (e.g. InsufficientDeposit) decoded.
 */
export async function untilSignedRequestUsed(
  reader: CairnReader,
  options: SignedWaitOptions,
  poll: { fromBlock: bigint; intervalMs: number; until?: number | undefined; signal?: AbortSignal | undefined },
): Promise<bigint | undefined> {
  const { signed } = options
  const requestId = signedRequestId(reader.deployment, signed.request)
  let startTime: bigint | undefined
  let postAfter = options.postAfterSeconds
  let unusedAt: bigint | undefined
  let posted = false
  let last = ''
  for (;;) {
    poll.signal?.throwIfAborted()
    const head = await reader.public.getBlock({ blockTag: 'latest' })
    const chainTime = head.timestamp
    // A fast-lane fulfilment is looked up from the wait's first block: the request was signed before it.
    const state = await signedRequestState(reader, signed.request, { fromBlock: poll.fromBlock })
    if (postAfter === undefined && state.state === 'unused') {
      const market = await getMarket(reader, BigInt(signed.request.marketId))
      postAfter = defaultPostAfterSeconds(chainTime, signed.request.matchingExpiry, market.fallbackDelay)
    }
    startTime ??= chainTime
    const step = signedWaitStep({
      state: state.state,
      chainTime,
      startTime,
      postAfterSeconds: postAfter ?? 0,
      matchingExpiry: signed.request.matchingExpiry,
      canPost: options.client !== undefined && !posted,
    })
    // The state was read at `head` or later: a use seen now happened after the last block it was unused at.
    if (step === 'used') return unusedAt === undefined ? poll.fromBlock : unusedAt + 1n
    if (step === 'expired') throw new SignedRequestUnusedError(requestId, 'Expired', chainTime)
    if (step === 'nonceSpent') throw new SignedRequestUnusedError(requestId, 'NonceSpent', chainTime)
    unusedAt = head.number
    if (step === 'post' && options.client !== undefined) {
      posted = true
      const client = options.client
      const outcome = await postUnlessUsed(signed, {
        post: (s) => postSignedRequest(client, s),
        state: (request) => signedRequestState(reader, request, { fromBlock: poll.fromBlock }),
      }).catch((error: unknown) => {
        if (error instanceof SignedRequestNonceSpentError) {
          throw new SignedRequestUnusedError(requestId, 'NonceSpent', chainTime)
        }
        throw error
      })
      if (outcome.posted !== undefined) {
        options.onPosted?.(outcome.posted)
        return outcome.posted.receipt.blockNumber
      }
      continue
    }
    if (options.matcherUrl !== undefined || options.onPending !== undefined) {
      const pending = await pendingOf(options.matcherUrl, requestId, head.number, chainTime)
      const key = `${pending.order?.state}/${pending.order?.reason}/${pending.matcherError}`
      if (key !== last) options.onPending?.(pending)
      last = key
    }
    const remaining = poll.until === undefined ? poll.intervalMs : poll.until - Date.now()
    if (remaining <= 0) return undefined
    await sleep(Math.min(poll.intervalMs, remaining), undefined, poll.signal ? { signal: poll.signal } : {})
  }
}

async function pendingOf(
  matcherUrl: string | undefined,
  requestId: bigint,
  blockNumber: bigint,
  chainTime: bigint,
): Promise<PendingSignedRequest> {
  const pending = { requestId, blockNumber, chainTime }
  if (matcherUrl === undefined) return pending
  try {
    return { ...pending, order: await getOrderStatus(matcherUrl, requestId) }
  } catch (error) {
    return { ...pending, matcherError: error instanceof Error ? error.message : String(error) }
  }
}
