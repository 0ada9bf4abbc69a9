import { parseArgs } from 'node:util'

/** A mistake in how the CLI was called: reported with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  constructor(
    message: string,
    /** The command whose help explains the fix (e.g. "market create"); undefined: the top-level help. */
    readonly command?: string,
  ) {
    super(message)
  }
}

export type OptionSpec = {
  type: 'string' | 'boolean'
  description: string
  /** Shown in help after the flag: --market <id>. */
  value?: string
  short?: string
}

export type Options = Readonly<Record<string, OptionSpec>>

export type PositionalSpec = { name: string; description: string; optional?: boolean }

/** Parsed flags of one invocation: strings and booleans by flag name. */
export type Flags = Readonly<Record<string, string | boolean | undefined>>

/** Global flags, accepted before or after the command. */
export const globalOptions = {
  'rpc-url': {
    type: 'string',
    value: '<url>',
    description: 'JSON-RPC endpoint of the marketplace chain (env CAIRN_RPC_URL; default http://127.0.0.1:8545)',
  },
  'chain-id': {
    type: 'string',
    value: '<id>',
    description: 'chain id (env CAIRN_CHAIN_ID; default: asked of the RPC)',
  },
  deployment: {
    type: 'string',
    value: '<path>',
    description: 'deployment file (env CAIRN_DEPLOYMENT; default deployments/<chainId>.json)',
  },
  attestation: {
    type: 'string',
    value: '<path>',
    description:
      'attestation deployment file, for private inputs (env CAIRN_ATTESTATION; default deployments/<chainId>.attestation.json when present)',
  },
  'private-key': {
    type: 'string',
    value: '<0x…>',
    description: 'key of the account that signs and sends (env CAIRN_PRIVATE_KEY, preferred: flags show in ps)',
  },
  json: { type: 'boolean', description: 'machine output: one JSON document on stdout (integers as strings)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
} as const satisfies Options

export type ParsedCommand = { flags: Flags; positionals: string[] }

/**
 * Parses the tokens after the command words against the global and the command's options (strictly: an unknown
 * flag or a missing value is a UsageError) and checks the positionals.
 */
export function parseCommandArgs(
  command: string,
  tokens: readonly string[],
  options: Options,
  positionals: readonly PositionalSpec[],
): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...tokens],
      options: { ...globalOptions, ...options },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError(cleanParseError(error), command)
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  if (values.help) return { flags: values, positionals: parsed.positionals }
  const required = positionals.filter((p) => !p.optional).length
  if (parsed.positionals.length < required) {
    const missing = positionals.slice(parsed.positionals.length, required).map((p) => `<${p.name}>`)
    throw new UsageError(`missing ${missing.join(' ')}`, command)
  }
  if (parsed.positionals.length > positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.length])}`, command)
  }
  return { flags: values, positionals: parsed.positionals }
}

/** node:util's messages, without their advice about "--" (which the CLI does not use). */
function cleanParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('. To specify a positional')[0]?.replace(/^Unknown option/, 'unknown option') ?? message
}

/** The index of the first token that is not a flag or a global flag's value: where the command words start. */
export function commandStart(tokens: readonly string[]): number {
  const takesValue = new Set(
    Object.entries(globalOptions)
      .filter(([, spec]) => spec.type === 'string')
      .map(([name]) => `--${name}`),
  )
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string
    if (!token.startsWith('-')) return i
    if (takesValue.has(token)) i++
  }
  return tokens.length
}

// ---------------------------------------------------------------------------------------------------------------
// Flag values

export function stringFlag(flags: Flags, name: string): string | undefined {
  const value = flags[name]
  return typeof value === 'string' ? value : undefined
}

export function requiredFlag(flags: Flags, name: string, command: string): string {
  const value = stringFlag(flags, name)
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`, command)
  return value
}

/** A non-negative integer flag (ids, counts, basis points). */
export function integerFlag(value: string, name: string, command: string): bigint {
  if (!/^\d+$/.test(value))
    throw new UsageError(`--${name}: expected a non-negative integer, got ${JSON.stringify(value)}`, command)
  return BigInt(value)
}

const durationUnits: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 }

/** Seconds from `600`, `600s`, `10m`, `2h`, `1d`. */
export function durationFlag(value: string, name: string, command: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value)
  if (!match) {
    throw new UsageError(
      `--${name}: expected a duration such as 600, 10m, 2h or 1d, got ${JSON.stringify(value)}`,
      command,
    )
  }
  return Number(match[1]) * (durationUnits[match[2] ?? ''] ?? 1)
}

/** A point in time: a unix timestamp, or `+<duration>` from `now` (chain time). */
export function timeFlag(value: string, name: string, command: string, now: bigint): bigint {
  if (value.startsWith('+')) return now + BigInt(durationFlag(value.slice(1), name, command))
  if (/^\d+$/.test(value)) return BigInt(value)
  throw new UsageError(
    `--${name}: expected a unix timestamp or +<duration> (e.g. +1h), got ${JSON.stringify(value)}`,
    command,
  )
}

/**
 * An amount of a token with `decimals` decimals: `2.5` in whole tokens, or `2500000000000000000wei` in base units.
 */
export function amountFlag(value: string, decimals: number, name: string, command: string): bigint {
  const base = /^(\d+)wei$/.exec(value)
  if (base) return BigInt(base[1] as string)
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value)
  if (!match) {
    throw new UsageError(
      `--${name}: expected an amount such as 40 or 2.5 (or base units: 40000wei), got ${JSON.stringify(value)}`,
      command,
    )
  }
  const fraction = match[2] ?? ''
  if (fraction.length > decimals) {
    throw new UsageError(`--${name}: ${value} has more than the token's ${decimals} decimals`, command)
  }
  return BigInt(match[1] as string) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0')
}
