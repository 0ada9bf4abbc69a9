/**
 * Why a request is still unassigned, as the matcher working on it explains it (its GET /requests/<id>). The
 * matcher is the only party that knows: it sees the book, its own limits and the inputs it loads, and it builds the
 * explanation with the rules it matches by; the SDK only fetches and passes the sentence on.
 */

/** The matcher's reason code (e.g. InsufficientStake, CapacityFull, NoListing) and its sentence for a person. */
export type UnassignedReason = { code: string; message: string }

/** How long one question to the matcher may take: a matcher that cannot answer in this time is as good as down. */
const MATCHER_ANSWER_MS = 5_000

/**
 * Asks the matcher at `matcherUrl` why `requestId` is not assigned. Undefined when the matcher does not hold it as
 * open (not indexed yet, assigned, or ended); a matcher that cannot be reached is itself the reason.
 */
export async function unassignedReason(matcherUrl: string, requestId: bigint): Promise<UnassignedReason | undefined> {
  const url = `${matcherUrl.replace(/\/$/, '')}/requests/${requestId}`
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(MATCHER_ANSWER_MS) })
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    return {
      code: 'MatcherUnreachable',
      message: `the matcher at ${matcherUrl} does not answer (${why}): nothing assigns requests until it runs again`,
    }
  }
  if (response.status === 404) return undefined
  if (!response.ok) {
    return { code: 'MatcherError', message: `the matcher at ${url} answered ${response.status}: see its log` }
  }
  const body = (await response.json()) as { reason?: { code?: unknown }; message?: unknown }
  const code = typeof body.reason?.code === 'string' ? body.reason.code : 'Unknown'
  const message = typeof body.message === 'string' ? body.message : `the matcher gave no explanation (${code})`
  return { code, message }
}
