/**
 * The pictures, as inline SVG drawn on the server: a request's timeline, time to proof over time, and listed and paid
 * prices per market. No script and no library: each is a function of numbers to markup.
 */
import { escapeHtml, type Html, raw } from './html.js'

const WIDTH = 720

export type TimelinePoint = { label: string; time: number; kind: 'done' | 'due' | 'bad' }

/**
 * Points on one time axis, the done steps joined by a line; `due` points (expiry, deadline) drawn hollow. Steps at the
 * same time (one transaction often assigns and releases the key) share a point, their labels stacked.
 */
export function timelineSvg(points: readonly TimelinePoint[]): Html {
  if (points.length === 0) return raw('')
  const groups: TimelinePoint[][] = []
  for (const point of [...points].sort((a, b) => a.time - b.time)) {
    const last = groups.at(-1)
    if (last !== undefined && last[0]?.time === point.time) last.push(point)
    else groups.push([point])
  }
  const tallest = Math.max(...groups.map((group) => group.length))
  const axisY = 34 + 13 * tallest
  const height = 2 * axisY
  const [left, right] = [110, WIDTH - 110]
  const start = points.reduce((min, point) => Math.min(min, point.time), Number.POSITIVE_INFINITY)
  const end = points.reduce((max, point) => Math.max(max, point.time), Number.NEGATIVE_INFINITY)
  const x = (t: number) => left + ((t - start) / Math.max(1, end - start)) * (right - left)
  const done = points.filter((point) => point.kind !== 'due').map((point) => point.time)
  const parts: string[] = [`<line x1="${left}" y1="${axisY}" x2="${right}" y2="${axisY}" class="axis"/>`]
  if (done.length > 1) {
    parts.push(
      `<line x1="${x(Math.min(...done))}" y1="${axisY}" x2="${x(Math.max(...done))}" y2="${axisY}" class="progress"/>`,
    )
  }
  groups.forEach((group, i) => {
    const first = group[0] as TimelinePoint
    const cx = x(first.time).toFixed(1)
    const kind = group.some((p) => p.kind === 'bad') ? 'bad' : group.some((p) => p.kind === 'done') ? 'done' : 'due'
    const above = i % 2 === 0
    const title = group.map((point) => point.label).join(', ')
    parts.push(
      `<circle cx="${cx}" cy="${axisY}" r="7" class="point ${kind}"><title>${escapeHtml(title)}</title></circle>`,
    )
    group.forEach((point, j) => {
      const y = above ? axisY - 18 - 13 * j : axisY + 26 + 13 * j
      parts.push(`<text x="${cx}" y="${y}" text-anchor="middle" class="label">${escapeHtml(point.label)}</text>`)
    })
    const tickY = above ? axisY - 18 - 13 * group.length : axisY + 26 + 13 * group.length
    parts.push(
      `<text x="${cx}" y="${tickY}" text-anchor="middle" class="tick">+${Math.round(first.time - start)} s</text>`,
    )
  })
  return raw(
    `<svg class="chart timeline" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="request timeline">${parts.join('')}</svg>`,
  )
}

/** Time to proof (y, seconds) against posting time (x), one dot per fulfilled request. */
export function proofTimesSvg(points: readonly { at: number; seconds: number; label: string }[]): Html {
  if (points.length === 0) return raw('<p class="muted">No fulfilled requests yet.</p>')
  const height = 200
  const [left, right, top, bottom] = [56, WIDTH - 16, 12, height - 30]
  const minAt = Math.min(...points.map((p) => p.at))
  const spanAt = Math.max(1, Math.max(...points.map((p) => p.at)) - minAt)
  const maxSeconds = Math.max(1, ...points.map((p) => p.seconds))
  const x = (at: number) => left + ((at - minAt) / spanAt) * (right - left)
  const y = (seconds: number) => bottom - (seconds / maxSeconds) * (bottom - top)
  const parts = [
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" class="axis"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" class="tick">${Math.round(maxSeconds)} s</text>`,
    `<text x="${left - 6}" y="${bottom}" text-anchor="end" class="tick">0 s</text>`,
    `<text x="${right}" y="${height - 8}" text-anchor="end" class="tick">posted →</text>`,
    ...points.map(
      (p) =>
        `<circle cx="${x(p.at).toFixed(1)}" cy="${y(p.seconds).toFixed(1)}" r="4" class="dot"><title>${escapeHtml(p.label)}</title></circle>`,
    ),
  ]
  return raw(
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="time to proof over time">${parts.join('')}</svg>`,
  )
}

/** Per market, the listed price range as a bar and each paid price as a tick, on one shared scale. */
export function pricesSvg(
  rows: readonly {
    label: string
    listed: { min: number; max: number } | undefined
    paid: readonly number[]
    unit: string
  }[],
): Html {
  if (rows.length === 0) return raw('')
  const rowHeight = 28
  const height = rows.length * rowHeight + 24
  const [left, right] = [110, WIDTH - 70]
  const max = Math.max(1, ...rows.flatMap((row) => [row.listed?.max ?? 0, ...row.paid]))
  const x = (value: number) => left + (value / max) * (right - left)
  const parts: string[] = []
  rows.forEach((row, i) => {
    const cy = 14 + i * rowHeight
    parts.push(`<text x="${left - 8}" y="${cy + 4}" text-anchor="end" class="label">${escapeHtml(row.label)}</text>`)
    parts.push(`<line x1="${left}" y1="${cy}" x2="${right}" y2="${cy}" class="grid"/>`)
    if (row.listed !== undefined) {
      const width = Math.max(3, x(row.listed.max) - x(row.listed.min))
      parts.push(
        `<rect x="${x(row.listed.min).toFixed(1)}" y="${cy - 6}" width="${width.toFixed(1)}" height="12" class="bar"><title>listed ${row.listed.min}–${row.listed.max} ${escapeHtml(row.unit)}</title></rect>`,
      )
    }
    for (const paid of row.paid) {
      parts.push(
        `<line x1="${x(paid).toFixed(1)}" y1="${cy - 9}" x2="${x(paid).toFixed(1)}" y2="${cy + 9}" class="paid"/>`,
      )
    }
  })
  parts.push(`<text x="${right + 4}" y="${height - 6}" class="tick">${max}</text>`)
  parts.push(`<text x="${left}" y="${height - 6}" class="tick">0</text>`)
  return raw(
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="prices per market">${parts.join('')}</svg>`,
  )
}
