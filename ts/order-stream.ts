import { z } from 'zod'
import { encodeOrder, ORDERS_PATH, type OrderAccepted, type OrderRejection, type OrderStatus } from './orders.js'
import type { SignedRequestWithSignature } from './signed-requests.js'

/*
 * The requester's side of a matcher's order stream (wire format: orders.ts). Two answers only: the order was
 * acknowledged (OrderAccepted), or it was not, and then either the matcher named what is wrong with it
 * (OrderRejectedError: fix the request) or it could not be asked (MatcherUnavailableError: a dead or slow matcher, a
 * 5xx, a reply that is not the protocol's; retry, or post the request on chain instead). A matcher is not trusted by
 * this file: its replies are parsed strictly and read up to a bound, and a URL's credentials never reach a message.
 */

/** How long a matcher may take to acknowledge an order before it counts as unavailable (ms). */
export const DEFAULT_ACK_TIMEOUT_MS = 5_000

/** Most bytes read of a matcher's reply: an acknowledgement or a rejection is a few hundred. */
export const MAX_REPLY_BYTES = 64 * 1024

/** The matcher refused the order and said why: `code` (see OrderRejection in orders.ts), its message and figures. */
export class OrderRejectedError extends Error {
  override readonly name = 'OrderRejectedError'
  constructor(
    readonly code: string,
    readonly reason: string,
    readonly details: Record<string, string>,
    readonly status: number,
    readonly matcher: string,
  ) {
    super(`the matcher at ${matcher} refused the order: ${code}: ${reason}`)
  }
}

export type MatcherUnavailableKind = 'unreachable' | 'timeout' | 'serverError' | 'badReply'

/**
 * The matcher could not be asked: unreachable, no reply within the timeout, a 5xx, or a reply that is not the order
 * stream's (a matcher without one answers its generic 404). Retryable; for an order, posting it on chain instead is
 * always safe (a signed request is used at most once).
 */
export class MatcherUnavailableError extends Error {
  override readonly name = 'MatcherUnavailableError'
  readonly retryable = true
  constructor(
    readonly kind: MatcherUnavailableKind,
    readonly matcher: string,
    why: string,
  ) {
    super(`the matcher at ${matcher} is unavailable (${why})`)
  }
}

export type OrderStreamOptions = {
  /** Give up after this long, as MatcherUnavailableError 'timeout' (default DEFAULT_ACK_TIMEOUT_MS). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Sends a signed request to the matcher's `POST /orders`; resolves once the matcher has acknowledged it. */
export async function submitOrder(
  matcherUrl: string,
  signed: Pick<SignedRequestWithSignature, 'request' | 'signature'>,
  options: OrderStreamOptions = {},
): Promise<OrderAccepted> {
  const reply = await exchange(matcherUrl, ORDERS_PATH, { method: 'POST', body: encodeOrder(signed) }, options)
  if (reply.status === 200) return parseReply(reply, acceptedSchema)
  throw rejectionOf(reply)
}

/**
 * The matcher's view of an order (`GET /orders/<id>`); undefined when it holds no such order (404 UnknownOrder).
 * A matcher's status is its word only: the chain is the truth about a request once it is used (signedRequestState).
 */
export async function getOrderStatus(
  matcherUrl: string,
  requestId: bigint,
  options: OrderStreamOptions = {},
): Promise<OrderStatus | undefined> {
  const reply = await exchange(matcherUrl, `${ORDERS_PATH}/${requestId}`, { method: 'GET' }, options)
  if (reply.status === 200) return parseReply(reply, statusSchema)
  const error = rejectionOf(reply)
  if (error instanceof OrderRejectedError && error.code === 'UnknownOrder') return undefined
  throw error
}

/** `url` without its credentials, query and fragment: what a message may show. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/$/, '')}`
  } catch {
    return '<the matcher URL, which is not a valid URL>'
  }
}

const acceptedSchema = z.object({ requestId: z.string().regex(/^[0-9]+$/), duplicate: z.boolean() })

const statusSchema = z.object({
  requestId: z.string().regex(/^[0-9]+$/),
  state: z.enum(['pending', 'assigning', 'used', 'expired', 'dropped']),
  reason: z.string().max(2_000).optional(),
})

const rejectionSchema = z.object({
  error: z.object({
    code: z.string().min(1).max(100),
    message: z.string().max(4_000),
    details: z.record(z.string(), z.string()).optional(),
  }),
})

type Reply = { status: number; body: unknown; matcher: string }

function parseReply<T>(reply: Reply, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(reply.body)
  if (!parsed.success) {
    throw new MatcherUnavailableError('badReply', reply.matcher, `a ${reply.status} reply the SDK cannot read`)
  }
  return parsed.data
}

/** A non-200 reply as the error it means: a 4xx OrderRejection is the matcher's refusal, anything else unavailability. */
function rejectionOf(reply: Reply): OrderRejectedError | MatcherUnavailableError {
  if (reply.status >= 500) {
    const parsed = rejectionSchema.safeParse(reply.body)
    const why = parsed.success ? `${parsed.data.error.code}: ${parsed.data.error.message}` : 'no reason given'
    return new MatcherUnavailableError('serverError', reply.matcher, `it answered ${reply.status}, ${why}`)
  }
  const parsed = rejectionSchema.safeParse(reply.body)
  if (reply.status < 400 || !parsed.success) {
    return new MatcherUnavailableError(
      'badReply',
      reply.matcher,
      `it answered ${reply.status} without an order-stream reply: is this a matcher that takes orders?`,
    )
  }
  const { code, message, details } = (parsed.data as OrderRejection).error
  return new OrderRejectedError(code, message, details ?? {}, reply.status, reply.matcher)
}

/** One HTTP exchange with the matcher, its reply body parsed as JSON (undefined when it is not JSON). */
async function exchange(
  matcherUrl: string,
  path: string,
  init: { method: 'GET' | 'POST'; body?: string },
  options: OrderStreamOptions,
): Promise<Reply> {
  const matcher = displayUrl(matcherUrl)
  const { url, authorization } = splitCredentials(matcherUrl, path, matcher)
  const timeoutMs = options.timeoutMs ?? DEFAULT_ACK_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  try {
    const response = await fetch(url, {
      method: init.method,
      signal,
      // A redirect is answered, not followed: it is not the protocol's reply (and could lead the credentials elsewhere).
      redirect: 'manual',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(authorization === undefined ? {} : { authorization }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    })
    const text = await readBounded(response, matcher)
    return { status: response.status, body: jsonOrUndefined(text), matcher }
  } catch (error) {
    options.signal?.throwIfAborted()
    if (error instanceof MatcherUnavailableError) throw error
    if (timeout.aborted) {
      throw new MatcherUnavailableError('timeout', matcher, `no reply within ${timeoutMs} ms`)
    }
    throw new MatcherUnavailableError('unreachable', matcher, transportReason(error))
  }
}

/** The URL to fetch (fetch refuses one with credentials) and its credentials as a Basic authorization header. */
function splitCredentials(matcherUrl: string, path: string, matcher: string) {
  let parsed: URL
  try {
    parsed = new URL(matcherUrl)
  } catch {
    throw new MatcherUnavailableError('unreachable', matcher, 'not a valid http(s) URL: check --matcher-url')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new MatcherUnavailableError('unreachable', matcher, `${parsed.protocol} is not http or https`)
  }
  const { username, password } = parsed
  parsed.username = ''
  parsed.password = ''
  parsed.pathname = `${parsed.pathname.replace(/\/$/, '')}${path}`
  const authorization =
    username === '' && password === ''
      ? undefined
      : `Basic ${Buffer.from(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`).toString('base64')}`
  return { url: parsed.toString(), authorization }
}

/** The reply body as text, at most MAX_REPLY_BYTES (a longer reply is not the protocol's). */
async function readBounded(response: Response, matcher: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > MAX_REPLY_BYTES) {
    await response.body?.cancel()
    throw new MatcherUnavailableError('badReply', matcher, `a reply of ${declared} bytes, more than ${MAX_REPLY_BYTES}`)
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_REPLY_BYTES) {
      await reader.cancel()
      throw new MatcherUnavailableError('badReply', matcher, `a reply of more than ${MAX_REPLY_BYTES} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Why fetch failed, from its cause (ECONNREFUSED, ENOTFOUND, …), never with the URL. */
function transportReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  if (typeof cause?.code === 'string') return cause.code
  return error instanceof Error ? error.name : 'the request failed'
}
