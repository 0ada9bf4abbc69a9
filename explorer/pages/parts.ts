/** Pieces several pages share: a state badge, counts per state, a request's label and a table of requests. */
import { marketIdOf, requestIndexOf } from '../../ts/types.js'
import type { ExplorerIndex, RequestEntry } from '../index/model.js'
import { type ExplorerState, explorerStates, stateOf } from '../index/stats.js'
import { amount, proverLink, time } from './format.js'
import { type Html, html } from './html.js'

export function stateBadge(state: ExplorerState): Html {
  return html`<span class="state ${state}" data-state="${state}">${state}</span>`
}

/** `1 #7`: the market and the request's position in it, which the full id (marketId << 64 | index) hides. */
export function requestLabel(requestId: bigint): string {
  return `${marketIdOf(requestId)} #${requestIndexOf(requestId)}`
}

export function countsHtml(counts: Record<ExplorerState, number>): Html {
  return html`<span class="counts">${explorerStates
    .filter((state) => counts[state] > 0)
    .map((state) => html`<span data-count="${state}">${state} ${counts[state]}</span>`)}${
    explorerStates.every((state) => counts[state] === 0) ? html`<span class="muted">none</span>` : ''
  }</span>`
}

/** The newest `limit` of `requestIds`, newest first, with state, times, prover and price. */
export function requestsTable(index: ExplorerIndex, requestIds: readonly bigint[], now: number, limit = 100): Html {
  const shown = requestIds.slice(-limit).reverse()
  if (shown.length === 0) return html`<p class="muted">No requests yet.</p>`
  const rows = shown.map((requestId) => {
    const entry = index.requests.get(requestId) as RequestEntry
    const market = index.markets.get(entry.marketId)
    const prover = entry.ending !== undefined && 'prover' in entry.ending ? entry.ending.prover : entry.task?.prover
    const price =
      entry.ending?.kind === 'Fulfilled' || entry.ending?.kind === 'InputsRejected' ? entry.ending.price : undefined
    const posted = entry.posted ?? entry.ending?.at
    return html`<tr data-request="${requestId}"><td><a href="/request/${requestId}">${requestLabel(requestId)}</a></td>
      <td>${stateBadge(stateOf(entry, now))}</td><td>${posted === undefined ? '' : time(posted.time)}</td>
      <td>${prover === undefined ? html`<span class="muted">—</span>` : proverLink(prover)}</td>
      <td>${price === undefined ? html`<span class="muted">—</span>` : amount(price, market)}</td></tr>`
  })
  const more =
    requestIds.length > shown.length
      ? html`<p class="muted">The newest ${shown.length} of ${requestIds.length}.</p>`
      : ''
  return html`<table class="requests"><thead><tr><th>request</th><th>state</th><th>posted</th><th>prover</th><th>paid</th></tr></thead>
    <tbody>${rows}</tbody></table>${more}`
}
