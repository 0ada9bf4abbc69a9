import { type Html, html } from './html.js'
import type { Page, PageContext } from './layout.js'

/**
 * A clear 404: what was asked for, why it is not here, and how far the index reaches. It watches everything, so a
 * request that is just being mined turns into its page without a reload once its block is indexed.
 */
export function notFoundPage(context: PageContext, what: string, detail: Html | string): Page {
  const block = context.index.block
  return {
    status: 404,
    title: 'Not found',
    watch: 'all',
    body: html`<h1>Not found</h1><div class="notfound" data-not-found="${what}"><p><strong>${what}</strong></p>
      <p>${detail}</p><p class="muted">${
        block === undefined ? 'Nothing is indexed yet.' : `The index reaches block ${block.number}.`
      } <a href="/">All markets</a></p></div>`,
  }
}
