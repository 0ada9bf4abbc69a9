/**
 * HTML as strings, escaped by default: `html` interpolates values escaped unless they are already `Html` (another
 * `html` result, or `raw` for markup built here). Nothing a chain emits (a metadata URI, a reason) reaches a page
 * unescaped.
 */
export type Html = { readonly html: string }

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => escapes[char] as string)
}

export function raw(markup: string): Html {
  return { html: markup }
}

type Value = Html | string | number | bigint | boolean | undefined | null | readonly Value[]

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return ''
  if (Array.isArray(value)) return value.map(render).join('')
  if (typeof value === 'object' && 'html' in value) return (value as Html).html
  return escapeHtml(String(value))
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '')
  })
  return { html: out }
}
