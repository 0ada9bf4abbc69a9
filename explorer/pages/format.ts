/** How the pages show amounts, times, durations, addresses and hashes. */
import { type Address, formatUnits, type Hex } from 'viem'
import type { LogRef, MarketEntry, TokenFacts } from '../index/model.js'
import { type Html, html } from './html.js'

export function tokenAmount(value: bigint, token: TokenFacts | undefined): string {
  if (token === undefined) return `${value} wei`
  return `${formatUnits(value, token.decimals)} ${token.symbol}`
}

/** An amount of the market's payment token. */
export function amount(value: bigint, market: MarketEntry | undefined): string {
  return tokenAmount(value, market?.token)
}

/** A unix time as `2026-12-08 00:40:12 UTC`. */
export function time(unix: number): string {
  return `${new Date(unix * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

export function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`
}

export function short(hex: Hex | Address): string {
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`
}

export function proverLink(address: Address): Html {
  return html`<a class="mono" href="/prover/${address}" title="${address}">${short(address)}</a>`
}

export function requestLink(requestId: bigint): Html {
  return html`<a class="mono" href="/request/${requestId}">${requestId}</a>`
}

export function marketLink(marketId: bigint): Html {
  return html`<a href="/market/${marketId}">market ${marketId}</a>`
}

export function txCell(ref: LogRef | undefined): Html {
  if (ref === undefined) return html`<span class="muted">—</span>`
  return html`<span class="mono" title="${ref.transactionHash}">${short(ref.transactionHash)}</span>`
}

export function bps(value: number): string {
  return `${(value / 100).toFixed(2).replace(/\.?0+$/, '')} %`
}
