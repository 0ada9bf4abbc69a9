import { summarizeMarket } from '../index/stats.js'
import { amount, bps, duration, proverLink, time, tokenAmount, txCell } from './format.js'
import { html } from './html.js'
import type { Page, PageContext } from './layout.js'
import { priceRangeText, provingTimeRangeText } from './markets.js'
import { notFoundPage } from './not-found.js'
import { countsHtml, requestLabel, requestsTable } from './parts.js'
import { proofTimesSvg } from './svg.js'

export function marketPage(context: PageContext, text: string): Page {
  const marketId = /^\d{1,20}$/.test(text) ? BigInt(text) : undefined
  if (marketId === undefined)
    return notFoundPage(context, `“${text}” is not a market id`, 'Market ids are whole numbers from 1.')
  const market = context.index.markets.get(marketId)
  if (market === undefined) {
    return notFoundPage(
      context,
      `No market ${marketId}`,
      `No MarketCreated log for market ${marketId} on this deployment.`,
    )
  }
  const { index, now } = context
  const s = summarizeMarket(index, market, now)
  const { params } = market
  // The deployment's stake token backs native staking; another stake source may hold another token.
  const stakeAmount = (value: bigint) =>
    market.stakeSourceKind === 'native' ? tokenAmount(value, index.stakeToken) : `${value} (stake token base units)`
  const listings = s.listings.map(
    (l) => html`<tr data-prover="${l.prover}"><td>${proverLink(l.prover)}</td><td>${amount(l.price, market)}</td>
      <td>${duration(l.provingTime)}</td><td>${l.computePerRequest}</td><td>${l.state}${
        l.leaveAvailableAt === undefined ? '' : ` (can leave ${time(l.leaveAvailableAt)})`
      }</td><td>${time(l.listed.time)}</td></tr>`,
  )
  const body = html`<h1>Market ${marketId}</h1>
    <dl class="facts">
      <dt>verifier</dt><dd data-field="verifier">${market.verifierKind ?? '…'} <span class="mono">${params.verifier}</span></dd>
      <dt>stake source</dt><dd data-field="stake">${market.stakeSourceKind ?? '…'} <span class="mono">${params.stakeSource}</span></dd>
      <dt>payment token</dt><dd>${market.token?.symbol ?? ''} <span class="mono">${params.paymentToken}</span></dd>
      <dt>stake per task / slash penalty</dt><dd>${stakeAmount(params.stakePerTask)} / ${stakeAmount(params.slashPenalty)}</dd>
      <dt>requester compensation</dt><dd>${bps(params.requesterCompensationBps)} of the penalty</dd>
      <dt>fallback delay</dt><dd>${duration(params.fallbackDelay)}</dd>
      <dt>metadata</dt><dd class="mono">${market.metadataURI}</dd>
      <dt>creator</dt><dd class="mono">${market.creator}</dd>
      <dt>created</dt><dd>block ${market.created.blockNumber}, ${time(market.created.time)}, tx ${txCell(market.created)}</dd>
      <dt>listed price</dt><dd data-field="price">${priceRangeText(s.priceRange, market)}</dd>
      <dt>proving time</dt><dd data-field="proving-time">${provingTimeRangeText(s.provingTimeRange)}</dd>
      <dt>requests</dt><dd data-field="requests">${market.requestIds.length}: ${countsHtml(s.counts)}</dd>
      <dt>median time to proof</dt><dd data-field="median">${s.medianTimeToProof === undefined ? '—' : duration(s.medianTimeToProof)}</dd>
    </dl>
    <h2>Listed provers</h2>${
      listings.length === 0
        ? html`<p class="muted">No prover is listed.</p>`
        : html`<table class="listings"><thead><tr><th>prover</th><th>price</th><th>proving time</th><th>compute per request</th><th>state</th><th>listed</th></tr></thead><tbody>${listings}</tbody></table>`
    }
    <h2>Time to proof over time</h2>${proofTimesSvg(
      s.proofTimes
        .slice(-500)
        .map((p) => ({ at: p.at, seconds: p.seconds, label: `${requestLabel(p.requestId)}: ${duration(p.seconds)}` })),
    )}
    <h2>Requests</h2>${requestsTable(index, market.requestIds, now)}`
  return { status: 200, title: `Market ${marketId}`, watch: `market:${marketId}`, body }
}
