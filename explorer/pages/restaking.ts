import { proverLink, short, time, tokenAmount, txCell } from './format.js'
import { html } from './html.js'
import type { Page, PageContext } from './layout.js'
import { requestLabel } from './parts.js'

/**
 * The StakeMirror as its logs give it: the relayer quorum, the epochs the relayers committed (capture, slashing
 * window, root, total stake, leaves), and the slashes it queued for Ethereum with the outcomes reported back. Amounts
 * are in the marketplace's stake token, the unit the mirror locks against a market's stake per task. Only when a
 * restaking deployment is known.
 */
export function restakingPage(context: PageContext): Page {
  const { index } = context
  const { mirror } = index
  const stake = (value: bigint) => tokenAmount(value, index.stakeToken)
  if (context.stakeMirror === undefined) {
    return {
      status: 200,
      title: 'Restaking',
      watch: 'restaking',
      body: html`<h1>Restaking</h1><p class="muted">No restaking deployment for this chain: start the explorer with --restaking-deployment to show the StakeMirror.</p>`,
    }
  }
  const relayers = [...(index.admitted.get('Relayer') ?? [])]
  const epochs = mirror.epochs.slice(-50).reverse()
  const slashes = [...mirror.slashes.values()].slice(-100).reverse()
  const body = html`<h1>Restaking</h1>
    <dl class="facts">
      <dt>StakeMirror</dt><dd class="mono">${context.stakeMirror}</dd>
      <dt>relayer quorum</dt><dd data-field="quorum">${
        mirror.threshold === undefined ? 'threshold not seen in the logs' : `${mirror.threshold} operators`
      }${relayers.length === 0 ? '' : ` of ${relayers.length} admitted`}</dd>
      <dt>epochs committed</dt><dd data-field="epochs">${mirror.epochs.length}</dd>
      <dt>leaves proven</dt><dd data-field="leaves">${mirror.leaves.length}</dd>
      <dt>slashes</dt><dd data-field="slashes">${mirror.slashes.size} queued, ${
        [...mirror.slashes.values()].filter((slash) => slash.settled === undefined).length
      } awaiting their outcome</dd>
    </dl>
    <h2>Epochs</h2>${
      epochs.length === 0
        ? html`<p class="muted">No snapshot committed yet.</p>`
        : html`<table><thead><tr><th>epoch</th><th>capture</th><th>slashable until</th><th>root</th><th>total stake</th><th>leaves</th><th>committed</th></tr></thead><tbody>${epochs.map(
            (
              epoch,
            ) => html`<tr data-epoch="${epoch.epoch}"><td>${epoch.epoch}</td><td>${time(epoch.captureTimestamp)}</td>
              <td>${time(epoch.captureTimestamp + epoch.slashingWindow)}</td><td class="mono" title="${epoch.stakeRoot}">${short(epoch.stakeRoot)}</td>
              <td>${stake(epoch.totalStake)}</td><td>${epoch.leafCount}</td><td>block ${epoch.at.blockNumber}, ${txCell(epoch.at)}</td></tr>`,
          )}</tbody></table>`
    }
    <h2>Slashes for Ethereum</h2><p class="muted" data-field="outcome-source">Each outcome is what the relayer quorum reported back to the StakeMirror (its SlashSettled log), not read from Ethereum: the explorer follows the marketplace chain only.</p>${
      slashes.length === 0
        ? html`<p class="muted">None queued.</p>`
        : html`<table><thead><tr><th>order</th><th>request</th><th>prover</th><th>vault</th><th>amount</th><th>queued</th><th>outcome</th></tr></thead><tbody>${slashes.map(
            (
              slash,
            ) => html`<tr data-order="${slash.orderId}"><td class="mono" title="${slash.orderId}">${short(slash.orderId)}</td>
              <td>${index.requests.has(slash.taskId) ? html`<a href="/request/${slash.taskId}">${requestLabel(slash.taskId)}</a>` : String(slash.taskId)}</td>
              <td>${proverLink(slash.prover)}</td><td class="mono" title="${slash.vault}">${short(slash.vault)}</td><td>${stake(slash.amount)}</td>
              <td>${time(slash.queued.time)}</td><td data-field="outcome">${
                slash.settled === undefined
                  ? 'queued'
                  : `${slash.settled.status}${slash.settled.status === 'Executed' ? `: ${stake(slash.settled.slashed)} slashed` : ''} (${time(slash.settled.at.time)})`
              }</td></tr>`,
          )}</tbody></table>`
    }`
  return { status: 200, title: 'Restaking', watch: 'restaking', body }
}
