import { formatUnits } from 'viem'
import type { MarketEntry } from '../index/model.js'
import { type Range, summarizeMarket } from '../index/stats.js'
import { amount, duration, marketLink, time } from './format.js'
import { type Html, html } from './html.js'
import type { Page, PageContext } from './layout.js'
import { countsHtml, requestLabel } from './parts.js'
import { pricesSvg } from './svg.js'

export function priceRangeText(range: Range<bigint>, market: MarketEntry): string {
  if (range === undefined) return '—'
  return range.min === range.max
    ? amount(range.min, market)
    : `${amount(range.min, market)} – ${amount(range.max, market)}`
}

export function provingTimeRangeText(range: Range<number>): string {
  if (range === undefined) return '—'
  return range.min === range.max ? duration(range.min) : `${duration(range.min)} – ${duration(range.max)}`
}

/** Every market with its figures, the prices chart, and the live feed of what just happened. */
export function marketsPage(context: PageContext): Page {
  const { index, now } = context
  const summaries = [...index.markets.values()].map((market) => summarizeMarket(index, market, now))
  const rows = summaries.map(
    (s) => html`<tr data-market="${s.market.marketId}"><td>${marketLink(s.market.marketId)}</td>
      <td data-field="verifier">${s.market.verifierKind ?? '…'}</td><td data-field="stake">${s.market.stakeSourceKind ?? '…'}</td>
      <td data-field="provers">${s.listings.filter((l) => l.state === 'Active').length}</td>
      <td data-field="price">${priceRangeText(s.priceRange, s.market)}</td>
      <td data-field="proving-time">${provingTimeRangeText(s.provingTimeRange)}</td>
      <td data-field="requests">${s.market.requestIds.length}</td><td>${countsHtml(s.counts)}</td>
      <td data-field="median">${s.medianTimeToProof === undefined ? '—' : duration(s.medianTimeToProof)}</td></tr>`,
  )
  const decimals = (m: MarketEntry) => m.token?.decimals ?? 18
  const toNumber = (value: bigint, m: MarketEntry) => Number(formatUnits(value, decimals(m)))
  const chart = pricesSvg(
    summaries.map((s) => ({
      label: `market ${s.market.marketId}`,
      listed:
        s.priceRange === undefined
          ? undefined
          : { min: toNumber(s.priceRange.min, s.market), max: toNumber(s.priceRange.max, s.market) },
      paid: s.paid.slice(-200).map((value) => toNumber(value, s.market)),
      unit: s.market.token?.symbol ?? '',
    })),
  )
  const body = html`<h1>Markets</h1>
    ${
      summaries.length === 0
        ? html`<p class="muted">No market on this deployment yet.</p>`
        : html`<table class="markets"><thead><tr><th>market</th><th>verifier</th><th>stake</th><th>listed provers</th>
      <th>listed price</th><th>proving time</th><th>requests</th><th>by state</th><th>median time to proof</th></tr></thead>
      <tbody>${rows}</tbody></table>
    <h2>Prices per market</h2><p class="muted">Bars: the range of listed prices; ticks: prices paid for proofs.</p>${chart}`
    }
    <h2>Live</h2>${activityHtml(context)}`
  return { status: 200, title: 'Markets', watch: 'all', body }
}

function activityHtml(context: PageContext): Html {
  const latest = context.index.activity.slice(-25).reverse()
  if (latest.length === 0) return html`<p class="muted">Nothing yet: new requests and assignments appear here.</p>`
  return html`<table class="activity"><thead><tr><th>time</th><th>request</th><th>what</th><th>block</th></tr></thead><tbody>${latest.map(
    (
      item,
    ) => html`<tr><td>${time(item.at.time)}</td><td><a href="/request/${item.requestId}">${requestLabel(item.requestId)}</a></td>
      <td data-activity="${item.what}">${item.what}</td><td>${item.at.blockNumber}</td></tr>`,
  )}</tbody></table>`
}
