import type { Address } from 'viem'
import {
  type FastAssignmentOffer,
  type FastAssignments,
  fastAssignmentsPath,
  parseFastAssignments,
} from './fast-assignments.js'
import { displayUrl } from './order-stream.js'

/*
 * A prover asking its matcher for its outstanding fast assignments (GET /provers/<address>/fast-assignments, wire
 * format in fast-assignments.ts). The matcher is not trusted here either: the reply is read up to a bound and parsed
 * strictly, and what it offers is checked on chain before any work (the prover runner's fast-offers.ts); a URL's
 * credentials never reach a message.
 */

/** How long one poll may take before it counts as failed (ms). */
export const DEFAULT_FAST_ASSIGNMENTS_TIMEOUT_MS = 5_000

/** Most bytes read of a reply: a list of offers carries signed requests, inline inputs included. */
export const MAX_FAST_ASSIGNMENTS_BYTES = 4 * 1024 * 1024

/** The matcher could not be asked for its fast assignments, or answered something that is not the list. */
export class FastAssignmentsUnavailableError extends Error {
  override readonly name = 'FastAssignmentsUnavailableError'
  constructor(
    readonly matcher: string,
    why: string,
  ) {
    super(`cannot read the fast assignments at ${matcher}: ${why}`)
  }
}

export type FetchFastAssignmentsOptions = { timeoutMs?: number; signal?: AbortSignal }

/** The fast assignments of signed requests the matcher at `matcherUrl` holds for `prover`, oldest first. */
export async function fetchFastAssignments(
  matcherUrl: string,
  prover: Address,
  options: FetchFastAssignmentsOptions = {},
): Promise<FastAssignmentOffer[]> {
  return (await fetchFastOffers(matcherUrl, prover, options)).assignments
}

/**
 * All the matcher's outstanding offers for `prover`, oldest first: of signed requests (`assignments`) and of on-chain
 * requests still Open (`open`, fulfilOpen).
 */
export async function fetchFastOffers(
  matcherUrl: string,
  prover: Address,
  options: FetchFastAssignmentsOptions = {},
): Promise<FastAssignments> {
  const { url, authorization } = requestUrl(matcherUrl, fastAssignmentsPath(prover))
  const shown = displayUrl(url)
  const timeoutMs = options.timeoutMs ?? DEFAULT_FAST_ASSIGNMENTS_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  let status: number
  let text: string
  try {
    const response = await fetch(url, {
      signal,
      redirect: 'manual',
      headers: { accept: 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    })
    status = response.status
    text = await readBounded(response, shown)
  } catch (error) {
    options.signal?.throwIfAborted()
    if (error instanceof FastAssignmentsUnavailableError) throw error
    if (timeout.aborted) throw new FastAssignmentsUnavailableError(shown, `no reply within ${timeoutMs} ms`)
    throw new FastAssignmentsUnavailableError(shown, `unreachable (${transportReason(error)})`)
  }
  if (status !== 200) {
    throw new FastAssignmentsUnavailableError(
      shown,
      `it answered ${status}${errorMessageOf(text)}: is --matcher-url a matcher with the fast lane?`,
    )
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new FastAssignmentsUnavailableError(shown, 'the reply is not JSON')
  }
  const parsed = parseFastAssignments(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new FastAssignmentsUnavailableError(
      shown,
      `the reply is not a list of fast assignments (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
    )
  }
  return parsed.data
}

/** The URL to fetch (without credentials: fetch refuses them) and the credentials as a Basic authorization header. */
function requestUrl(matcherUrl: string, path: string): { url: string; authorization?: string } {
  let parsed: URL
  try {
    parsed = new URL(matcherUrl)
  } catch {
    throw new FastAssignmentsUnavailableError(displayUrl(matcherUrl), 'not a valid http(s) URL: check --matcher-url')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FastAssignmentsUnavailableError(displayUrl(matcherUrl), `${parsed.protocol} is not http or https`)
  }
  const { username, password } = parsed
  parsed.username = ''
  parsed.password = ''
  parsed.pathname = `${parsed.pathname.replace(/\/$/, '')}${path}`
  if (username === '' && password === '') return { url: parsed.toString() }
  const credentials = `${decodeURIComponent(username)}:${decodeURIComponent(password)}`
  return { url: parsed.toString(), authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }
}

async function readBounded(response: Response, shown: string): Promise<string> {
  const tooLong = () =>
    new FastAssignmentsUnavailableError(shown, `a reply of more than ${MAX_FAST_ASSIGNMENTS_BYTES} bytes`)
  if (Number(response.headers.get('content-length') ?? '0') > MAX_FAST_ASSIGNMENTS_BYTES) {
    await response.body?.cancel()
    throw tooLong()
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_FAST_ASSIGNMENTS_BYTES) {
      await reader.cancel()
      throw tooLong()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The matcher's `{"error": {"code", "message"}}`, as a suffix for the message; empty when it sent none. */
function errorMessageOf(text: string): string {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
    if (typeof error?.code === 'string') {
      return ` ${error.code.slice(0, 100)}${typeof error.message === 'string' ? `: ${error.message.slice(0, 500)}` : ''}`
    }
  } catch {}
  return ''
}

/** Why fetch failed, from its cause (ECONNREFUSED, ENOTFOUND, …), never with the URL. */
function transportReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined
  if (typeof cause?.code === 'string') return cause.code
  return error instanceof Error ? error.name : 'the request failed'
}
