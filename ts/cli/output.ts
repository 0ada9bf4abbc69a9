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
