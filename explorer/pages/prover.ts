import { type Address, getAddress, isAddress } from 'viem'
import { explorerStates, listingsOf, stateOf } from '../index/stats.js'
import { amount, duration, marketLink, short, time, tokenAmount } from './format.js'
import { html } from './html.js'
import type { Page, PageContext } from './layout.js'
import { notFoundPage } from './not-found.js'
import { requestLabel, stateBadge } from './parts.js'

export function proverPage(context: PageContext, text: string): Page {
  if (!isAddress(text, { strict: false })) {
    return notFoundPage(
      context,
      `“${text}” is not an address`,
      'A prover is named by its account: 0x and 40 hex digits.',
    )
  }
  const address = getAddress(text)
  const { index, now } = context
  const prover = index.provers.get(address.toLowerCase())
  if (prover === undefined) {
    return notFoundPage(
      context,
      `No prover ${address}`,
      'This account never registered, listed, staked or took a task on this deployment.',
    )
  }
  const listings = listingsOf(index, { prover: address })
  const tasks = prover.requestIds
    .map((requestId) => index.requests.get(requestId))
    .filter((entry) => entry !== undefined)
  const outcomes = Object.fromEntries(explorerStates.map((state) => [state, 0])) as Record<string, number>
  for (const entry of tasks) outcomes[stateOf(entry, now)] = (outcomes[stateOf(entry, now)] ?? 0) + 1
  const slashes = tasks.filter((entry) => entry.ending?.kind === 'Slashed')
  const keys = index.keys.filter((key) => key.role === 'Prover' && key.operator.toLowerCase() === address.toLowerCase())
  const stake = prover.nativeStake
  const body = html`<h1>Prover <span class="mono">${address}</span></h1>
    <dl class="facts">
      <dt>registered</dt><dd data-field="registered">${
        prover.registered === undefined
          ? 'no'
          : `yes, since block ${prover.registered.blockNumber} (${time(prover.registered.time)})`
      }${prover.deregistered === undefined ? '' : `; deregistered at block ${prover.deregistered.blockNumber}`}</dd>
      <dt>reward address</dt><dd class="mono">${prover.rewardAddress ?? '—'}</dd>
      <dt>capacity in use</dt><dd data-field="capacity">${prover.computeInUse} of ${prover.capacity}</dd>
      <dt>native stake</dt><dd data-field="native-stake">${
        stake === undefined
          ? '—'
          : `${tokenAmount(stake.staked, index.stakeToken)} staked, ${tokenAmount(stake.locked, index.stakeToken)} locked (block ${stake.blockNumber})`
      }</dd>
      <dt>tasks</dt><dd data-field="tasks">${tasks.length}: ${explorerStates
        .filter((state) => (outcomes[state] ?? 0) > 0)
        .map((state) => `${state} ${outcomes[state]}`)
        .join(', ')}</dd>
      <dt>slashes</dt><dd data-field="slashes">${slashes.length}</dd>
    </dl>
    <h2>Listings</h2>${
      listings.length === 0
        ? html`<p class="muted">Not listed in any market.</p>`
        : html`<table><thead><tr><th>market</th><th>price</th><th>proving time</th><th>compute per request</th><th>state</th></tr></thead><tbody>${listings.map(
            (
              l,
            ) => html`<tr data-market="${l.marketId}"><td>${marketLink(l.marketId)}</td><td>${amount(l.price, index.markets.get(l.marketId))}</td>
              <td>${duration(l.provingTime)}</td><td>${l.computePerRequest}</td><td>${l.state}</td></tr>`,
          )}</tbody></table>`
    }
    <h2>Tasks</h2>${
      tasks.length === 0
        ? html`<p class="muted">No task yet.</p>`
        : html`<table><thead><tr><th>request</th><th>state</th><th>price</th><th>assigned</th><th>ended</th></tr></thead><tbody>${tasks
            .slice(-100)
            .reverse()
            .map((entry) => {
              const market = index.markets.get(entry.marketId)
              const price = entry.task?.price ?? (entry.ending?.kind === 'Fulfilled' ? entry.ending.price : undefined)
              return html`<tr data-request="${entry.requestId}"><td><a href="/request/${entry.requestId}">${requestLabel(entry.requestId)}</a></td>
                <td>${stateBadge(stateOf(entry, now))}</td><td>${price === undefined ? '—' : amount(price, market)}</td>
                <td>${entry.assigned === undefined ? 'fast lane' : time(entry.assigned.time)}</td>
                <td>${entry.ending === undefined ? '—' : time(entry.ending.at.time)}</td></tr>`
            })}</tbody></table>`
    }
    <h2>Restaked stake</h2>${restakedHtml(context, address)}
    <h2>Attested enclave keys</h2>${
      keys.length === 0
        ? html`<p class="muted">None indexed${index.keys.length === 0 ? ' (no TEE registry events: pass --attestation-deployment, or the deployment has none)' : ''}.</p>`
        : html`<table><thead><tr><th>key</th><th>market</th><th>measurement</th><th>expires</th><th>status</th></tr></thead><tbody>${keys.map(
            (
              key,
            ) => html`<tr><td class="mono" title="${key.signer}">${short(key.signer)}</td><td>${marketLink(key.marketId)}</td>
              <td class="mono">${short(key.measurement)}</td><td>${time(key.expiresAt)}</td>
              <td>${key.revoked !== undefined ? 'revoked' : key.expiresAt < now ? 'expired' : 'active'}</td></tr>`,
          )}</tbody></table>`
    }`
  return { status: 200, title: `Prover ${short(address)}`, watch: `prover:${address.toLowerCase()}`, body }
}

/**
 * The prover's latest proven leaf per vault on the StakeMirror, what is left of it after the slashes the relayers
 * reported back since (SlashSettled carries the leaf after each outcome), and its restaked slashes.
 */
function restakedHtml(context: PageContext, address: Address) {
  const { mirror } = context.index
  const mine = (prover: Address) => prover.toLowerCase() === address.toLowerCase()
  const latest = new Map<string, (typeof mirror.leaves)[number]>()
  for (const leaf of mirror.leaves) if (mine(leaf.prover)) latest.set(leaf.vault.toLowerCase(), leaf)
  const slashes = [...mirror.slashes.values()].filter((slash) => mine(slash.prover))
  if (latest.size === 0 && slashes.length === 0) {
    return html`<p class="muted">No leaf proven on the StakeMirror${context.stakeMirror === undefined ? ' (no restaking deployment known)' : ''}.</p>`
  }
  /** The leaf now: the last outcome reported after the leaf was proven, in log order, else the proven stake. */
  const leafNow = (leaf: (typeof mirror.leaves)[number]) => {
    let now = leaf.stake
    let at = leaf.at
    for (const slash of slashes) {
      const settled = slash.settled
      if (settled === undefined || slash.vault.toLowerCase() !== leaf.vault.toLowerCase()) continue
      const later =
        settled.at.blockNumber > at.blockNumber ||
        (settled.at.blockNumber === at.blockNumber && settled.at.logIndex > at.logIndex)
      if (later) {
        now = settled.leaf
        at = settled.at
      }
    }
    return now
  }
  return html`<table><thead><tr><th>vault</th><th>epoch</th><th>stake proven</th><th>counted</th><th title="The proven stake less the slashes executed on Ethereum since, as the relayers reported them back to the StakeMirror">leaf now</th><th>proven</th></tr></thead><tbody>${[
    ...latest.values(),
  ].map(
    (
      leaf,
    ) => html`<tr data-vault="${leaf.vault}"><td class="mono" title="${leaf.vault}">${short(leaf.vault)}</td><td>${leaf.epoch}</td>
      <td>${tokenAmount(leaf.stake, context.index.stakeToken)}</td><td>${tokenAmount(leaf.counted, context.index.stakeToken)}</td>
      <td>${tokenAmount(leafNow(leaf), context.index.stakeToken)}</td><td>${time(leaf.at.time)}</td></tr>`,
  )}</tbody></table><p>Restaked slashes: <span data-field="restaked-slashes">${slashes.length === 0 ? 'none' : slashes.map((slash) => `${slash.settled?.status ?? 'Queued'}`).join(', ')}</span> (outcomes as the relayers reported them back from Ethereum).</p>`
}
