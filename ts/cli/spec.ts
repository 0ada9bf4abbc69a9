import type { Options, PositionalSpec } from './args.js'
import type { CommandContext } from './context.js'

/** One command: its help and what it does. `run` returns the result document (--json prints it as is). */
export type CommandSpec = {
  summary: string
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
  /** Entry point relative to the repository root, run with tsx. */
  daemon: string
}

export type CommandGroup = { summary: string; subcommands: Readonly<Record<string, CommandSpec | DaemonSpec>> }

export type CommandTable = Readonly<Record<string, CommandSpec | CommandGroup>>

export const isGroup = (entry: CommandSpec | CommandGroup): entry is CommandGroup => 'subcommands' in entry
export const isDaemon = (entry: CommandSpec | DaemonSpec): entry is DaemonSpec => 'daemon' in entry

/** The spec as a table entry, with `text` checked against what `run` returns. */
export function command<result>(
  spec: Omit<CommandSpec, 'run' | 'text'> & {
    run: (ctx: CommandContext) => Promise<result>
    text?: (result: result) => string
  },
): CommandSpec {
  return spec as CommandSpec
}
