import type { Options, PositionalSpec } from './args.js'
import type { CommandContext } from './context.js'

/** One command's flags and what it does (its summary is in the table). `run` returns the result document. */
export type CommandSpec = {
  description?: string
  positionals?: readonly PositionalSpec[]
  options?: Options
  examples?: readonly string[]
  run: (ctx: CommandContext) => Promise<unknown>
  /** The human rendering of the result (default: key: value lines). */
  text?: (result: never) => string
}

/** A long-running service started as a child process, every argument passed through to it. */
export type DaemonSpec = {
  summary: string
  description?: string
  /** Entry point relative to the repository root, run compiled while dist/ is current (bin/run.mjs). */
  daemon: string
}

/** A command in the table: its summary, and its spec loaded on demand (its module imports the SDK, and viem). */
export type LazyCommand = { summary: string; load: () => Promise<CommandSpec> }

export type CommandGroup = { summary: string; subcommands: Readonly<Record<string, LazyCommand | DaemonSpec>> }

/** A top-level entry: a command, a group of subcommands, or a daemon of its own (`cairn explorer`). */
export type TableEntry = LazyCommand | CommandGroup | DaemonSpec

export type CommandTable = Readonly<Record<string, TableEntry>>

export const isGroup = (entry: TableEntry): entry is CommandGroup => 'subcommands' in entry
export const isDaemon = (entry: TableEntry): entry is DaemonSpec => 'daemon' in entry

/** The spec as a table entry, with `text` checked against what `run` returns. */
export function command<result>(
  spec: Omit<CommandSpec, 'run' | 'text'> & {
    run: (ctx: CommandContext) => Promise<result>
    text?: (result: result) => string
  },
): CommandSpec {
  return spec as CommandSpec
}
