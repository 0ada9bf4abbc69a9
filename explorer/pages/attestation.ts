import type { TcbStatus } from '../../ts/types.js'
import { marketLink, proverLink, short, time, txCell } from './format.js'
import { html } from './html.js'
import type { Page, PageContext } from './layout.js'

/**
 * Registered TEE keys by role, as the TeeRegistry's KeyRegistered and KeyRevoked logs give them: signer, operator,
 * market, measurement, TCB status, when registered and until when valid. Only when an attestation deployment is known.
 */
export function attestationPage(context: PageContext): Page {
  const { index, now } = context
  const roles = ['Matcher', 'Prover', 'Relayer'] as const
  const sections = roles.map((role) => {
    const keys = index.keys.filter((key) => key.role === role).reverse()
    const rows = keys.map(
      (key) => html`<tr data-key="${key.signer}"><td class="mono" title="${key.signer}">${short(key.signer)}</td>
        <td>${role === 'Prover' ? proverLink(key.operator) : html`<span class="mono" title="${key.operator}">${short(key.operator)}</span>`}</td>
        <td>${key.marketId === 0n ? '—' : marketLink(key.marketId)}</td><td class="mono" title="${key.measurement}">${short(key.measurement)}</td>
        <td data-field="tcb">${tcbText(key.acceptedTcb)}${(key.acceptedTcb?.length ?? 0) > 1 ? ' (which one is not recorded)' : ''}</td>
        <td>block ${key.registered.blockNumber}, ${txCell(key.registered)}</td><td>${time(key.expiresAt)}</td>
        <td data-field="key-status">${key.revoked !== undefined ? 'revoked' : key.expiresAt < now ? 'expired' : 'active'}</td></tr>`,
    )
    return html`<h2>${role} keys</h2>${
      keys.length === 0
        ? html`<p class="muted">None registered.</p>`
        : html`<table><thead><tr><th>key</th><th>operator</th><th>market</th><th>measurement</th><th title="${TCB_NOTE}">TCB status</th><th>registered</th><th>expires</th><th>status</th></tr></thead><tbody>${rows}</tbody></table>`
    }`
  })
  const body = html`<h1>Attestation</h1>${
    context.teeRegistry === undefined
      ? html`<p class="muted">No attestation deployment for this chain: start the explorer with --attestation-deployment to show the TeeRegistry's keys.</p>`
      : html`<p>TeeRegistry <span class="mono">${context.teeRegistry}</span>. ${TCB_NOTE} It accepts ${tcbText(index.acceptedTcb)} now.</p>${sections}`
  }`
  return { status: 200, title: 'Attestation', watch: 'attestation', body }
}

const TCB_NOTE =
  'The registry checks a quote’s TCB status against its accepted statuses and stores nothing more, so the TCB status shown is the accepted set in force when the key registered: with one accepted status that is the key’s own; with several, the key’s was one of them and the registry does not record which.'

/** The accepted TCB statuses as a page shows them: the one status, or the statuses the quote's was one of. */
function tcbText(accepted: readonly TcbStatus[] | undefined): string {
  if (accepted === undefined) return 'not in the indexed logs'
  if (accepted.length === 0) return 'none (no registration accepted)'
  if (accepted.length === 1) return accepted[0] as string
  return `one of ${accepted.join(', ')}`
}
