import { getAddress, isAddress } from 'viem'
import { html } from './html.js'
import type { Page, PageContext } from './layout.js'
import { notFoundPage } from './not-found.js'
import { parseRequestId } from './request.js'

/**
 * Where the header's search box leads: a request id the index knows, else a market id, else an address (a prover's
 * page, or its not-found page); undefined with a page saying what was tried otherwise.
 */
export function searchTarget(context: PageContext, query: string): string | undefined {
  const text = query.trim()
  const id = parseRequestId(text)
  if (id !== undefined && context.index.requests.has(id)) return `/request/${id}`
  if (id !== undefined && context.index.markets.has(id)) return `/market/${id}`
  if (isAddress(text, { strict: false })) return `/prover/${getAddress(text)}`
  return undefined
}

export function searchMissPage(context: PageContext, query: string): Page {
  return notFoundPage(
    context,
    `Nothing found for “${query.trim()}”`,
    html`Search takes a request id (decimal or 0x hex), a market id or a prover's address.`,
  )
}
