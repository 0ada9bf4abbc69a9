/**
 * The command line every Cairn service shares (matcher, prover runner, relayer): flags and their environment
 * variables, `--help` generated from the service's zod config schema (required or default, choices), and errors that
 * name the flag and the variable to set, one line each, never a stack. Part of the service kit: it imports only the
 * SDK, and the three services import it.
 */
import { parseArgs } from 'node:util'
import { prettifyError, type z } from 'zod'

/** One flag: the config field it sets and what it means, in one line. */
export type FlagSpec<Field extends string = string> = {
  field: Field
  help: string
  /** The value's placeholder in help (default <value>). */
  value?: string
}

/** How a service is started from the command line. */
export type ServiceCli<Schema extends z.ZodObject = z.ZodObject> = {
  /** What a user types: `cairn prover run`. */
  command: string
  /** The entry point behind it, relative to the repository root: `enclave/prover/main.ts`. */
  entry: string
  summary: string
  /** Every flag's variable is this prefix and the flag in upper snake case: PROVER_ + key-file. */
  envPrefix: string
  schema: Schema
  flags: Readonly<Record<string, FlagSpec<keyof z.input<Schema> & string>>>
  /** Fields whose text is not what the schema parses (JSON, lists): the decoder throws with a reason. */
  decode?: Readonly<Partial<Record<keyof z.input<Schema> & string, (text: string) => unknown>>>
  /** Help paragraphs after the flags. */
  notes?: readonly string[]
}

/** The flags of `marketplaceChainFields`: the matcher's and the prover runner's chain. */
export const marketplaceChainFlags = {
  'rpc-url': { field: 'rpcUrl', value: '<url>', help: 'JSON-RPC URL of the marketplace chain' },
  'chain-id': { field: 'chainId', value: '<id>', help: 'chain id the RPC and the deployment files must have' },
  deployment: { field: 'deployment', value: '<path>', help: 'deployment file (default deployments/<chainId>.json)' },
  'attestation-deployment': {
    field: 'attestationDeployment',
    value: '<path>',
    help: 'attestation deployment file (default deployments/<chainId>.attestation.json)',
  },
} as const

/** How a service reads inputs behind URIs (matcher and prover runner read them within the same bounds). */
export const inputBoundFlags = {
  'fetch-timeout': { field: 'fetchTimeout', value: '<ms>', help: 'one read of inputs behind a URI' },
  'max-input-bytes': { field: 'maxInputBytes', value: '<bytes>', help: 'largest inputs read behind one URI' },
  'allow-file-uris': {
    field: 'allowFileUris',
    value: '<true|false>',
    help: 'read file: inputs URIs from this disk (devnets and tests only)',
  },
} as const

/** Where every service's HTTP server listens and how much it logs. */
export const operationFlags = {
  'metrics-host': { field: 'metricsHost', value: '<host>', help: 'interface the HTTP server listens on' },
  'log-level': { field: 'logLevel', value: '<level>', help: 'log verbosity' },
} as const

/** A config the service cannot start with: each line names a flag (and its variable) and what to do. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'))
  }
}

/** The environment variable of a flag: the prefix and the flag in upper snake case (--key-file → PROVER_KEY_FILE). */
export function envVariable(cli: Pick<ServiceCli, 'envPrefix'>, flag: string): string {
  return `${cli.envPrefix}${flag.toUpperCase().replaceAll('-', '_')}`
}

/** The flag of a config field with its variable, `--key-file (PROVER_KEY_FILE)`; the field itself when it has none. */
export function flagOfField(cli: ServiceCli, field: string): string {
  const flag = Object.entries(cli.flags).find(([, spec]) => spec.field === field)?.[0]
  return flag === undefined ? field : `--${flag} (${envVariable(cli, flag)})`
}

/**
 * Reads the config from flags and the service's environment variables (flags win), then validates it with the
 * schema. Throws a ConfigError naming every flag that is unknown, missing or malformed.
 */
export function loadServiceConfig<Schema extends z.ZodObject>(
  cli: ServiceCli<Schema>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): z.infer<Schema> {
  const values = parseFlags(cli, argv)
  const raw: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [flag, spec] of Object.entries(cli.flags)) {
    const text = values[flag] ?? env[envVariable(cli, flag)]
    if (text === undefined || text === '') continue
    const decode = cli.decode?.[spec.field]
    if (decode === undefined) {
      raw[spec.field] = text
      continue
    }
    try {
      raw[spec.field] = decode(text)
    } catch (error) {
      problems.push(`${flagAndVariable(cli, flag)}: ${(error as Error).message}`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `${problem}; ${helpPointer(cli)}`))
  const parsed = cli.schema.safeParse(raw)
  if (parsed.success) return parsed.data
  throw new ConfigError(parsed.error.issues.map((issue) => describeIssue(cli, issue, raw)))
}

function parseFlags(cli: ServiceCli, argv: readonly string[]): Record<string, string | undefined> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(cli.flags).map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    })
    return values as Record<string, string | undefined>
  } catch (error) {
    throw new ConfigError([`${argumentProblem(error)}; ${helpPointer(cli)}`])
  }
}

/** node:util's parse errors in the service's terms: which flag, and what is wrong with it. */
function argumentProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as NodeJS.ErrnoException).code
  const flag = /'(-[^' ]+)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${flag?.split(' ')[0]} needs a value`
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}: every setting is a --flag`
  }
  return message.split('. To specify')[0] ?? message
}

function flagAndVariable(cli: ServiceCli, flag: string): string {
  return `--${flag} (or ${envVariable(cli, flag)})`
}

function helpPointer(cli: ServiceCli): string {
  return `see \`${cli.command} --help\``
}

/** One schema issue as a line: the flag and its variable, what is wrong, and what to do. */
function describeIssue(cli: ServiceCli, issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  const [field, ...rest] = issue.path.map(String)
  if (field === undefined) return `${issue.message}; ${helpPointer(cli)}`
  const flag = Object.entries(cli.flags).find(([, spec]) => spec.field === field)
  const where = rest.length > 0 ? ` at ${rest.join('.')}` : ''
  if (flag === undefined) return `${field}${where}: ${issue.message}; ${helpPointer(cli)}`
  const [name, spec] = flag
  const named = flagAndVariable(cli, name)
  if (!(field in raw)) return `${named} is required: ${spec.help}; ${helpPointer(cli)}`
  // The schema's messages never quote the value: a malformed key must not end up in a log.
  return `${named}${where}: ${issue.message}; ${helpPointer(cli)}`
}

/** The service's --help: usage, then every flag with its variable, whether it is required or its default. */
export function serviceHelp(cli: ServiceCli): string {
  const rows = Object.entries(cli.flags).map(([flag, spec]) => {
    const field = cli.schema.shape[spec.field] as z.ZodType | undefined
    return {
      flag: `--${flag} ${spec.value ?? '<value>'}`,
      env: envVariable(cli, flag),
      help: [spec.help, field === undefined ? '' : fieldFacts(field)].filter(Boolean).join(' '),
    }
  })
  const flagWidth = Math.max(...rows.map((row) => row.flag.length))
  const envWidth = Math.max(...rows.map((row) => row.env.length))
  return [
    `${cli.command}: ${cli.summary}`,
    '',
    `usage: ${cli.command} [flags]   (or: node bin/run.mjs ${cli.entry} [flags])`,
    '',
    'Every flag can be set by its environment variable instead; a flag wins over its variable.',
    '',
    `flags:${' '.repeat(flagWidth - 2)}environment variable`,
    ...rows.map((row) => `  ${row.flag.padEnd(flagWidth)}  ${row.env.padEnd(envWidth)}  ${row.help}`),
    ...(cli.notes?.length ? ['', ...cli.notes] : []),
  ].join('\n')
}

/** `(required)`, `(default 250)`, `(one of: configfs, dev; default configfs)`, or nothing for an optional field. */
function fieldFacts(field: z.ZodType): string {
  const def = field._zod.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown }
  const inner = def.type === 'default' || def.type === 'optional' ? def.innerType : field
  const choices =
    inner?._zod.def.type === 'enum' ? Object.keys((inner._zod.def as unknown as { entries: object }).entries) : []
  const facts = [
    ...(choices.length > 0 ? [`one of: ${choices.join(', ')}`] : []),
    ...(def.type === 'default' ? [`default ${shown(def.defaultValue)}`] : []),
    ...(field.isOptional() ? [] : ['required']),
  ]
  return facts.length === 0 ? '' : `(${facts.join('; ')})`
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',')
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * A service's start: `--help` prints the help and exits 0; a config it cannot start with prints one `error:` line
 * per problem on stderr and exits 2. Returns the config otherwise.
 */
export function configFromCommandLine<Schema extends z.ZodObject>(
  cli: ServiceCli<Schema>,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): z.infer<Schema> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${serviceHelp(cli)}\n`)
    process.exit(0)
  }
  try {
    return loadServiceConfig(cli, argv, env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const problem of error.problems) process.stderr.write(`error: ${problem}\n`)
    process.exit(2)
  }
}

/**
 * Validates a service's config given as an object (in-process use: devnets, tests, benches); throws with every
 * problem listed, by field, never echoing a value.
 */
export function parseServiceConfig<Schema extends z.ZodObject>(
  cli: ServiceCli<Schema>,
  service: string,
  input: z.input<Schema> | Record<string, unknown>,
): z.infer<Schema> {
  const parsed = cli.schema.safeParse(input)
  if (!parsed.success) throw new Error(`invalid ${service} config:\n${prettifyError(parsed.error)}`)
  return parsed.data
}
