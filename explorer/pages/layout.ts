/**
 * The frame around every page: the header, the RPC banner, and the few lines of script that keep a page live. The
 * script opens the server's event stream (/live): an `index` event that concerns what the page shows (its
 * `data-watch`) fetches the page's main part again and swaps it in; an `rpc` event shows or clears the banner. Without
 * script, every page is complete as served.
 */
import type { Address } from 'viem'
import type { ExplorerIndex } from '../index/model.js'
import { time } from './format.js'
import { type Html, html, raw } from './html.js'

/** Whether the explorer can reach its RPC, and since when it cannot. */
export type RpcStatus = { ok: true } | { ok: false; since: number; error: string }

export type PageContext = {
  index: ExplorerIndex
  rpc: RpcStatus
  chainId: number
  /** The TeeRegistry whose keys are indexed, if an attestation deployment is known. */
  teeRegistry: Address | undefined
  /** The StakeMirror whose epochs and slashes are indexed, if a restaking deployment is known. */
  stakeMirror: Address | undefined
  /** Chain time of the last block indexed (unix seconds): derived states are judged by it. */
  now: number
}

/** A rendered page: its status code, title, what its live refresh follows, and its main part. */
export type Page = {
  status: number
  title: string
  /** `all`, or space-separated `request:<id>`, `market:<id>`, `prover:<address>`. */
  watch: string
  body: Html
}

export function bannerHtml(rpc: RpcStatus, index: ExplorerIndex): Html {
  if (rpc.ok) return raw('')
  const block = index.block === undefined ? 'nothing indexed yet' : `the index as of block ${index.block.number}`
  return html`<div class="banner" role="alert"><strong>The RPC is not answering</strong> (since ${time(rpc.since)}:
    ${rpc.error}). Showing ${block}; this page updates by itself when the RPC is back.</div>`
}

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}
header a{color:#fff;font-weight:600;text-decoration:none}header input{font:13px system-ui;padding:3px 6px;border-radius:4px;border:0}header .meta{color:#b8c4d0;font-size:12px;margin-left:auto}
main{padding:16px 24px;max-width:1100px}h1{font-size:22px;margin:8px 0 12px}h2{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;background:#fff;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-weight:600;color:#56606b;font-size:12px}dl{display:grid;grid-template-columns:220px 1fr;gap:4px 12px;background:#fff;padding:10px 12px;margin:0}
dt{color:#56606b}dd{margin:0}.mono{font-family:ui-monospace,monospace;font-size:12.5px}.muted{color:#8a939d}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e3e6ea}
.state.Open,.state.Assigned{background:#dbeafe;color:#1e40af}.state.Fulfilled{background:#dcfce7;color:#166534}
.state.Slashed,.state.DeadlineMissed{background:#fee2e2;color:#991b1b}.state.Cancelled,.state.Expired,.state.InputsRejected{background:#fef3c7;color:#92400e}
.banner{background:#991b1b;color:#fff;padding:10px 24px}.chart{background:#fff;width:100%;max-width:720px;display:block}
.axis{stroke:#56606b;stroke-width:1.5}.progress{stroke:#16a34a;stroke-width:4}.grid{stroke:#e3e6ea}
.point.done{fill:#16a34a}.point.bad{fill:#dc2626}.point.due{fill:#fff;stroke:#56606b;stroke-width:2;stroke-dasharray:3 2}
.label{font-size:11px;fill:#1d232b}.tick{font-size:10px;fill:#8a939d}.dot{fill:#2563eb;opacity:.7}.bar{fill:#93c5fd}.paid{stroke:#1e40af;stroke-width:2}
.counts span{margin-right:10px;white-space:nowrap}.notfound{background:#fff;padding:16px;border-left:4px solid #f59e0b}
`

const script = `
(() => {
  const main = document.getElementById('main')
  const watch = (main.dataset.watch || '').split(' ')
  let busy = false, again = false
  async function refresh() {
    if (busy) { again = true; return }
    busy = true
    try {
      const response = await fetch(location.href, { headers: { 'x-explorer-fragment': 'main' } })
      const text = await response.text()
      const next = new DOMParser().parseFromString(text, 'text/html').getElementById('main')
      if (next) { main.innerHTML = next.innerHTML; main.dataset.watch = next.dataset.watch; watch.splice(0, watch.length, ...(next.dataset.watch || '').split(' ')) }
    } catch (error) { /* the stream's next event tries again */ }
    busy = false
    if (again) { again = false; refresh() }
  }
  const concerns = (changed) => changed.length > 0 && (watch.includes('all') || changed.includes('all') || changed.some((key) => watch.includes(key)))
  const stream = new EventSource('/live')
  stream.addEventListener('index', (event) => {
    const data = JSON.parse(event.data)
    document.getElementById('indexed').textContent = data.indexed
    if (concerns(data.changed)) refresh()
  })
  stream.addEventListener('rpc', (event) => {
    document.getElementById('banner').innerHTML = JSON.parse(event.data).html
    refresh()
  })
  stream.addEventListener('open', () => document.body.dataset.live = 'on')
})()
`

/** The `<main>` element alone: what a live refresh swaps in. */
export function mainHtml(page: Page): Html {
  return html`<main id="main" data-watch="${page.watch}">${page.body}</main>`
}

export function documentHtml(page: Page, context: PageContext): Html {
  const block = context.index.block
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${page.title} · Cairn explorer</title><style>${raw(style)}</style></head>
<body><header><a href="/">Cairn explorer</a><a href="/">Markets</a><a href="/attestation">Attestation</a><a href="/restaking">Restaking</a>
<form action="/search" method="get" role="search"><input name="q" placeholder="request id, market id or address" aria-label="search" size="34"></form><span class="meta">chain ${context.chainId} · ${
    block === undefined
      ? html`<span id="indexed">indexing…</span>`
      : html`<span id="indexed">indexed block ${block.number} (${time(Number(block.timestamp))})</span>`
  }</span></header>
<div id="banner">${bannerHtml(context.rpc, context.index)}</div>
${mainHtml(page)}
<script>${raw(script)}</script></body></html>`
}
