import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { entryPointArgs, repoRoot } from '../root.js'
import { commandStart, globalOptions, type Options, parseCommandArgs, UsageError } from './kit/args.js'
import {
  type CommandGroup,
  type CommandSpec,
  type DaemonSpec,
  isDaemon,
  isGroup,
  type LazyCommand,
} from './kit/spec.js'
import { commands } from './table.js'

export { commands }

// ---------------------------------------------------------------------------------------------------------------
// Help

function optionLines(options: Options): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${'short' in spec && spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`
    return [flag, spec.description] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length))
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`)
}

function topHelp(): string {
  const lines = [
    'cairn: the Cairn proof marketplace from the command line',
    '',
    'usage: cairn [global flags] <command> [flags]',
    '',
  ]
  const rows: [string, string][] = []
  for (const [name, entry] of Object.entries(commands)) {
    if (!isGroup(entry)) rows.push([name, entry.summary])
    else for (const [sub, spec] of Object.entries(entry.subcommands)) rows.push([`${name} ${sub}`, spec.summary])
  }
  const width = Math.max(...rows.map(([name]) => name.length))
  lines.push('commands:', ...rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`))
  lines.push('', 'global flags:', ...optionLines(globalOptions))
  lines.push(
    '',
    'Run `cairn <command> --help` for a command’s flags. Exit codes: 0 ok, 1 failure (e.g. a contract revert), 2 usage.',
  )
  return lines.join('\n')
}

function groupHelp(name: string, group: CommandGroup): string {
  const lines = [`cairn ${name}: ${group.summary}`, '', `usage: cairn ${name} <subcommand> [flags]`, '', 'subcommands:']
  for (const [sub, entry] of Object.entries(group.subcommands)) lines.push(`  ${sub}`.padEnd(22) + entry.summary)
  lines.push('', `Run \`cairn ${name} <subcommand> --help\` for its flags.`)
  return lines.join('\n')
}

function commandHelp(name: string, summary: string, spec: CommandSpec): string {
  const positionals = (spec.positionals ?? []).map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`))
  const lines = [`cairn ${name}: ${summary}`, '', `usage: cairn ${[name, ...positionals].join(' ')} [flags]`]
  if (spec.description) lines.push('', spec.description)
  if (spec.positionals?.length) {
    lines.push('', 'arguments:', ...spec.positionals.map((p) => `  ${p.name.padEnd(12)} ${p.description}`))
  }
  if (spec.options && Object.keys(spec.options).length > 0) lines.push('', 'flags:', ...optionLines(spec.options))
  lines.push('', 'global flags:', ...optionLines(globalOptions))
  lines.push(
    '',
    'Amounts are in whole tokens (40, 2.5) or base units with a wei suffix (40000wei); durations are seconds or 10m, 2h, 1d.',
  )
  if (spec.examples?.length) lines.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`))
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------------------------
// Dispatch

type Resolved =
  | { kind: 'help'; text: string }
  | { kind: 'command'; name: string; spec: LazyCommand; tokens: string[] }
  | { kind: 'daemon'; name: string; spec: DaemonSpec; tokens: string[] }

/** Finds the command words in argv; the other tokens are the command's flags and positionals. */
export function resolve(argv: readonly string[]): Resolved {
  const start = commandStart(argv)
  const name = argv[start]
  const wantsHelp = (tokens: readonly string[]) => tokens.includes('--help') || tokens.includes('-h')
  if (name === undefined) {
    if (wantsHelp(argv) || argv.length === 0) return { kind: 'help', text: topHelp() }
    throw new UsageError('no command given')
  }
  if (name === 'help') return { kind: 'help', text: topHelp() }
  const entry = commands[name]
  if (entry === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`)
  const before = argv.slice(0, start)
  if (isDaemon(entry)) return { kind: 'daemon', name, spec: entry, tokens: [...before, ...argv.slice(start + 1)] }
  if (!isGroup(entry)) return { kind: 'command', name, spec: entry, tokens: [...before, ...argv.slice(start + 1)] }

  const subName = argv[start + 1]
  if (subName === undefined || subName.startsWith('-')) {
    if (subName === undefined || wantsHelp(argv)) return { kind: 'help', text: groupHelp(name, entry) }
    throw new UsageError(`cairn ${name} needs a subcommand (${Object.keys(entry.subcommands).join(', ')})`, name)
  }
  const sub = entry.subcommands[subName]
  if (sub === undefined) {
    throw new UsageError(
      `unknown subcommand ${JSON.stringify(subName)} of ${name} (${Object.keys(entry.subcommands).join(', ')})`,
      name,
    )
  }
  const full = `${name} ${subName}`
  const tokens = [...before, ...argv.slice(start + 2)]
  return isDaemon(sub)
    ? { kind: 'daemon', name: full, spec: sub, tokens }
    : { kind: 'command', name: full, spec: sub, tokens }
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const json = argv.includes('--json')
  try {
    const resolved = resolve(argv)
    if (resolved.kind === 'help') {
      process.stdout.write(`${resolved.text}\n`)
      return 0
    }
    // The daemon answers --help and flag errors itself, from its config schema (ts/service/config.ts).
    if (resolved.kind === 'daemon') return await runDaemon(resolved.spec, resolved.tokens, env)
    const { name } = resolved
    const spec = await loadCommand(resolved.spec)
    const parsed = parseCommandArgs(name, resolved.tokens, spec.options ?? {}, spec.positionals ?? [])
    if (parsed.flags.help) {
      process.stdout.write(`${commandHelp(name, resolved.spec.summary, spec)}\n`)
      return 0
    }
    const [{ createContext }, { toJson, toHumanText }] = await Promise.all([
      import('./kit/context.js'),
      import('./kit/output.js'),
    ])
    const ctx = createContext({ command: name, flags: parsed.flags, positionals: parsed.positionals, env })
    let result: unknown
    try {
      result = await spec.run(ctx)
    } finally {
      ctx.progress.done()
    }
    const text = spec.text as ((value: unknown) => string) | undefined
    process.stdout.write(`${json ? toJson(result) : (text?.(result) ?? toHumanText(result))}\n`)
    return 0
  } catch (error) {
    return await report(error, json)
  }
}

/** A command's module; its SDK imports need the generated contract bindings, which only `npm run build` makes. */
async function loadCommand(entry: LazyCommand): Promise<CommandSpec> {
  try {
    return await entry.load()
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND'
    if (missing && /generated\.(js|ts)/.test(String((error as Error).message))) {
      throw new Error(
        'the contract bindings (ts/generated.ts) are not built yet: run `npm run build` in the checkout first',
      )
    }
    throw error
  }
}

/** Prints an error on stderr; returns its exit code: 2 for usage and invalid arguments, 1 otherwise. */
async function report(error: unknown, json: boolean): Promise<number> {
  // Loaded only now: an error after a command ran has loaded them already, and --help must not pay for them.
  // The SDK's error classes import the generated bindings: when those are missing no SDK error can have been thrown.
  const sdk = await Promise.all([import('../errors.js'), import('../validation.js')]).catch(() => undefined)
  const contractError = sdk !== undefined && error instanceof sdk[0].CairnContractError ? error : undefined
  const invalidParameter = sdk !== undefined && error instanceof sdk[1].InvalidParameterError
  const { toJson } = await import('./kit/output.js')
  const usage = error instanceof UsageError || invalidParameter
  const code = usage ? 2 : 1
  const name = error instanceof Error ? error.name : 'Error'
  const message = await describe(error)
  if (json) {
    const details = contractError ? { args: contractError.args, selector: contractError.selector } : {}
    process.stderr.write(`${toJson({ error: { name, message, ...details } })}\n`)
    return code
  }
  if (contractError) {
    process.stderr.write(`error: the contract reverted with ${message}\n`)
  } else if (usage) {
    process.stderr.write(`error: ${message}\n`)
    const command = error instanceof UsageError ? error.command : undefined
    process.stderr.write(`run \`cairn ${command ? `${command} ` : ''}--help\` for usage\n`)
  } else {
    process.stderr.write(`error: ${name === 'Error' ? '' : `${name}: `}${message}\n`)
  }
  return code
}

/** The message of an error; viem's own (RPC, transport, gas) in their short form with the node's details. */
async function describe(error: unknown): Promise<string> {
  const { BaseError } = await import('viem')
  if (error instanceof BaseError) {
    return error.details && error.details !== error.shortMessage
      ? `${error.shortMessage} (${error.details})`
      : error.shortMessage
  }
  return error instanceof Error ? error.message : String(error)
}

// ---------------------------------------------------------------------------------------------------------------
// Daemons

/** Runs a service entry point as a child, forwarding signals; resolves to its exit code. */
async function runDaemon(spec: DaemonSpec, tokens: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const entry = join(repoRoot, spec.daemon)
  if (!existsSync(entry)) {
    process.stderr.write(`error: ${spec.daemon} does not exist in this checkout yet: it cannot be started\n`)
    return 1
  }
  const child = spawn(process.execPath, entryPointArgs(spec.daemon, tokens), {
    stdio: 'inherit',
    env,
    cwd: process.cwd(),
  })
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal)
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, forward(signal)] as const)
  for (const [signal, handler] of handlers) process.on(signal, handler)
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)))
    })
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler)
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`error: ${String(error)}\n`)
      process.exitCode = 1
    },
  )
}
