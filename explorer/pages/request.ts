import type { Address } from 'viem'
import { decodeSkipReason } from '../../ts/errors.js'
import type { LogRef, MarketEntry, RequestEntry, TokenFacts } from '../index/model.js'
import { proverKeyAt, stateOf, timeToProof } from '../index/stats.js'
import { amount, duration, marketLink, proverLink, short, time, tokenAmount, txCell } from './format.js'
import { type Html, html } from './html.js'
import type { Page, PageContext } from './layout.js'
import { notFoundPage } from './not-found.js'
import { requestLabel, stateBadge } from './parts.js'
import { type TimelinePoint, timelineSvg } from './svg.js'

/** A request id as typed: decimal, or 0x hex. */
export function parseRequestId(text: string): bigint | undefined {
  if (/^\d{1,78}$/.test(text) || /^0x[0-9a-fA-F]{1,64}$/.test(text)) return BigInt(text)
  return undefined
}

type Step = { what: string; at: LogRef; detail: Html | string; kind: TimelinePoint['kind'] }

function steps(context: PageContext, entry: RequestEntry): Step[] {
  // Penalties, compensation, slasher rewards and restaked slashes are in the marketplace's stake token.
  const stake = (value: bigint) => tokenAmount(value, context.index.stakeToken)
  const market = context.index.markets.get(entry.marketId)
  const found: Step[] = []
  if (entry.posted !== undefined) {
    found.push({
      what: entry.signed ? 'posted (signed request)' : 'posted',
      at: entry.posted,
      detail: entry.request === undefined ? '' : `max reward ${amount(entry.request.maxReward, market)}`,
      kind: 'done',
    })
  }
  if (entry.privateClaim !== undefined) {
    found.push({
      what: 'claimed privately',
      at: entry.privateClaim,
      detail: `key due by ${time(entry.privateClaim.keyDueBy)}`,
      kind: 'done',
    })
  }
  for (const skip of entry.skipped) {
    found.push({
      what: 'assignment skipped',
      at: skip,
      detail: html`${proverLink(skip.prover)}: <span class="mono">${decodeSkipReason(skip.reason).message}</span>`,
      kind: 'bad',
    })
  }
  if (entry.assigned !== undefined && entry.task !== undefined) {
    found.push({
      what: entry.byMatcher ? 'assigned by the matcher' : 'claimed (fallback)',
      at: entry.assigned,
      detail: html`${proverLink(entry.task.prover)} at ${amount(entry.task.price, market)}, due ${time(entry.task.deadline)}`,
      kind: 'done',
    })
  }
  for (const release of entry.keyReleases) {
    found.push({
      what: 'data key released',
      at: release,
      detail: keyReleaseDetail(context, entry, release.prover, release),
      kind: 'done',
    })
  }
  const ending = entry.ending
  if (ending !== undefined) {
    const lanes = {
      assigned: 'fulfilled',
      'fast-open': 'fulfilled on the fast lane',
      'fast-signed': 'fulfilled on the fast lane (signed)',
    }
    if (ending.kind === 'Fulfilled') {
      found.push({
        what: lanes[ending.lane],
        at: ending.at,
        detail: html`${proverLink(ending.prover)} paid ${amount(ending.price, market)}${
          ending.refund === undefined ? '' : `, refund ${amount(ending.refund, market)}`
        }`,
        kind: 'done',
      })
    } else if (ending.kind === 'InputsRejected') {
      found.push({
        what: 'inputs rejected',
        at: ending.at,
        detail: html`${proverLink(ending.prover)} paid ${amount(ending.price, market)} for the check, refund ${amount(ending.refund, market)}`,
        kind: 'bad',
      })
    } else if (ending.kind === 'Slashed') {
      found.push({
        what: 'slashed',
        at: ending.at,
        detail: html`${proverLink(ending.prover)} lost ${stake(ending.penalty)}; requester compensated ${stake(ending.compensation)}; slasher ${proverLink(ending.slasher)} earned ${stake(ending.slasherReward)}`,
        kind: 'bad',
      })
    } else {
      found.push({
        what: ending.abandonedClaim ? 'cancelled (private claim abandoned)' : 'cancelled',
        at: ending.at,
        detail: `refund ${amount(ending.refund, market)}`,
        kind: 'bad',
      })
    }
  }
  for (const slash of context.index.mirror.slashes.values()) {
    if (slash.taskId !== entry.requestId) continue
    found.push({
      what: 'slash queued for Ethereum',
      at: slash.queued,
      detail: html`${stake(slash.amount)} of vault <span class="mono">${short(slash.vault)}</span>`,
      kind: 'bad',
    })
    if (slash.settled !== undefined) {
      found.push({
        what: `slash ${slash.settled.status.toLowerCase()} on Ethereum`,
        at: slash.settled.at,
        detail: `${stake(slash.settled.slashed)} slashed, as the relayer quorum reported it back (this is the report’s block)`,
        kind: slash.settled.status === 'Executed' ? 'bad' : 'done',
      })
    }
  }
  return found.sort((a, b) =>
    a.at.blockNumber === b.at.blockNumber
      ? a.at.logIndex - b.at.logIndex
      : a.at.blockNumber < b.at.blockNumber
        ? -1
        : 1,
  )
}

function keyReleaseDetail(context: PageContext, entry: RequestEntry, prover: Address, at: LogRef): Html {
  const key = proverKeyAt(context.index, prover, entry.marketId, at)
  return key === undefined
    ? html`to the enclave of ${proverLink(prover)}`
    : html`to enclave key <span class="mono" title="${key.signer}">${short(key.signer)}</span> of ${proverLink(prover)} (measurement <span class="mono">${short(key.measurement)}</span>, expires ${time(key.expiresAt)})`
}

export function requestPage(context: PageContext, text: string): Page {
  const requestId = parseRequestId(text)
  if (requestId === undefined) {
    return notFoundPage(
      context,
      `“${text}” is not a request id`,
      'A request id is a decimal number (marketId × 2^64 + index) or its 0x hex form.',
    )
  }
  const entry = context.index.requests.get(requestId)
  if (entry === undefined) {
    return notFoundPage(
      context,
      `No request ${requestId}`,
      'No log of this request on this deployment. If it was just posted, this page turns into the request once its block is indexed.',
    )
  }
  const market = context.index.markets.get(entry.marketId)
  const state = stateOf(entry, context.now)
  const found = steps(context, entry)
  const points: TimelinePoint[] = found.map((step) => ({ label: step.what, time: step.at.time, kind: step.kind }))
  if (entry.request !== undefined && entry.assigned === undefined && entry.ending === undefined) {
    points.push({ label: 'matching expiry', time: entry.request.matchingExpiry, kind: 'due' })
  }
  if (entry.task !== undefined && entry.ending === undefined)
    points.push({ label: 'task deadline', time: entry.task.deadline, kind: 'due' })
  points.sort((a, b) => a.time - b.time)
  const record = entry.request
  const ttp = timeToProof(entry)
  const body = html`<h1>Request ${requestLabel(requestId)} ${stateBadge(state)}</h1>
    <dl class="facts">
      <dt>id</dt><dd class="mono" data-field="id">${requestId}</dd>
      <dt>market</dt><dd>${marketLink(entry.marketId)}</dd>
      <dt>state</dt><dd data-field="state">${state}</dd>
      <dt>requester</dt><dd class="mono">${entry.requester ?? '—'}</dd>
      ${
        record === undefined
          ? html`<dt>record</dt><dd class="muted">none: a signed request settled on the fast lane leaves only its fulfilment log</dd>`
          : html`<dt>refund address</dt><dd class="mono">${record.refundAddress}</dd>
      <dt>max reward</dt><dd data-field="max-reward">${amount(record.maxReward, market)}</dd>
      <dt>proving time</dt><dd>${duration(record.provingTime)}</dd>
      <dt>matching expiry</dt><dd>${time(record.matchingExpiry)}</dd>
      <dt>deadline</dt><dd>${entry.deadline === undefined ? '—' : time(entry.deadline)}</dd>
      <dt>inputs digest</dt><dd class="mono">${record.inputsDigest}</dd>`
      }
      <dt>private inputs</dt><dd data-field="private">${privateText(context, entry)}</dd>
      <dt>price paid</dt><dd data-field="paid">${paidText(entry, market)}</dd>
      <dt>refund</dt><dd data-field="refund">${refundText(entry, market, context.index.stakeToken)}</dd>
      <dt>time to proof</dt><dd data-field="time-to-proof">${ttp === undefined ? '—' : duration(ttp)}</dd>
    </dl>
    <h2>Timeline</h2>${timelineSvg(points)}
    <table class="timeline"><thead><tr><th>step</th><th>block</th><th>time</th><th>transaction</th><th></th></tr></thead><tbody>${found.map(
      (
        step,
      ) => html`<tr data-step="${step.what}"><td>${step.what}</td><td>${step.at.blockNumber}</td><td>${time(step.at.time)}</td>
        <td>${txCell(step.at)}</td><td>${step.detail}</td></tr>`,
    )}</tbody></table>`
  return { status: 200, title: `Request ${requestLabel(requestId)}`, watch: `request:${requestId}`, body }
}

function privateText(context: PageContext, entry: RequestEntry): Html | string {
  if (!entry.privateInputs) return 'none'
  const release = entry.keyReleases.at(-1)
  if (release === undefined)
    return 'encrypted (AES-256-GCM envelope); the data key has not been released to a prover yet'
  return html`encrypted (AES-256-GCM envelope); data key released ${keyReleaseDetail(context, entry, release.prover, release)}`
}

function paidText(entry: RequestEntry, market: MarketEntry | undefined): string {
  const ending = entry.ending
  if (ending?.kind === 'Fulfilled' || ending?.kind === 'InputsRejected') return amount(ending.price, market)
  return '—'
}

function refundText(entry: RequestEntry, market: MarketEntry | undefined, stakeToken: TokenFacts | undefined): string {
  const ending = entry.ending
  if (ending === undefined || ending.kind === 'Slashed') {
    return ending?.kind === 'Slashed'
      ? `escrow returned, plus ${tokenAmount(ending.compensation, stakeToken)} compensation`
      : '—'
  }
  if (ending.refund === undefined) return 'none (nothing escrowed on the fast signed lane)'
  return amount(ending.refund, market)
}
