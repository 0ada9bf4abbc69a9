import { formatUnits } from 'viem'

/** JSON with bigints as decimal strings and byte arrays as hex, as --json prints it. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)
}

/** A plain-text rendering of a result: one `key: value` line per leaf, nested objects indented. */
export function toText(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return `${indent}-`
  if (typeof value !== 'object') return `${indent}${String(value)}`
  const lines: string[] = []
  const entries = Array.isArray(value) ? value.map((item, i) => [String(i), item] as const) : Object.entries(value)
  for (const [key, item] of entries) {
    if (item === undefined) continue
    if (item !== null && typeof item === 'object' && Object.keys(item).length > 0) {
      lines.push(`${indent}${key}:`, toText(item, `${indent}  `))
    } else {
      lines.push(
        `${indent}${key}: ${item === null || (typeof item === 'object' && Object.keys(item).length === 0) ? '-' : String(item)}`,
      )
    }
  }
  return lines.join('\n')
}

/** `40000000000000000000` with 18 decimals and symbol cUSD: `40 cUSD`. */
export function formatAmount(amount: bigint, token: { decimals: number; symbol: string }): string {
  return `${formatUnits(amount, token.decimals)} ${token.symbol}`
}

/** Progress of a long step on stderr: a spinner on a terminal, plain lines otherwise, nothing with --json. */
export type Progress = {
  /** Shows `message` as the current step. */
  step: (message: string) => void
  /** Prints a line that stays (an event), above the spinner. */
  note: (message: string) => void
  /** Clears the spinner. */
  done: () => void
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export function createProgress(options: { json: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = options.stream ?? process.stderr
  if (options.json) return { step: () => {}, note: () => {}, done: () => {} }
  if (!stream.isTTY) {
    return {
      step: (message) => stream.write(`… ${message}\n`),
      note: (message) => stream.write(`${message}\n`),
      done: () => {},
    }
  }
  let current = ''
  let frame = 0
  let timer: NodeJS.Timeout | undefined
  const draw = () => {
    stream.write(`\r\x1b[2K${frames[frame % frames.length]} ${current}`)
    frame++
  }
  const clear = () => stream.write('\r\x1b[2K')
  return {
    step: (message) => {
      current = message
      if (!timer) {
        timer = setInterval(draw, 80)
        timer.unref()
      }
      draw()
    },
    note: (message) => {
      clear()
      stream.write(`${message}\n`)
      if (timer) draw()
    },
    done: () => {
      if (timer) clearInterval(timer)
      timer = undefined
      clear()
    },
  }
}

/** Unix seconds as a UTC date: `2026-12-07 04:10:00 UTC`; 0 (never set) as `-`. */
export function formatTime(unixSeconds: bigint | number): string {
  if (BigInt(unixSeconds) === 0n) return '-'
  return `${new Date(Number(unixSeconds) * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`
}

/** Seconds as the largest units that fit: `45s`, `10m`, `1h 30m`, `2d 3h`. */
export function formatDuration(seconds: bigint | number): string {
  let rest = Number(seconds)
  const parts: string[] = []
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`)
  return parts.slice(0, 2).join(' ')
}

/** Result fields that hold unix seconds, and fields that hold seconds of duration: shown as dates and durations. */
const timeFields = new Set([
  'createdAt',
  'matchingExpiry',
  'deadline',
  'availableAt',
  'leaveAvailableAt',
  'unbondingAvailableAt',
  'effectiveAt',
  'captureTimestamp',
  'latestDeadline',
])
const durationFields = new Set(['provingTime', 'fallbackDelay', 'exitDelay', 'unbondingPeriod'])

/**
 * The text rendering every command gets unless it has its own: toText of the result in human units. An amount with
 * a `<field>Formatted` sibling shows that (tokens with their symbol) under its own name; time fields show as UTC
 * dates and duration fields in units. --json keeps the raw values.
 */
export function toHumanText(result: unknown): string {
  return toText(humanize(JSON.parse(toJson(result))))
}

function humanize(value: unknown, field?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => humanize(item))
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    const shown: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(record)) {
      if (key.endsWith('Formatted') && key.slice(0, -'Formatted'.length) in record) continue
      const formatted = record[`${key}Formatted`]
      shown[key] = typeof formatted === 'string' ? formatted : humanize(item, key)
    }
    return shown
  }
  const integer = typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))
  if (field === undefined || !integer) return value
  if (timeFields.has(field)) return formatTime(BigInt(value))
  if (durationFields.has(field)) return formatDuration(BigInt(value))
  return value
}
