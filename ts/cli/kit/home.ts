import { homedir } from 'node:os'
import { join } from 'node:path'

/** The CLI's own folder (nonce cursors, signed requests, compiled verifiers): $CAIRN_HOME, by default ~/.cairn. */
export function cairnHome(env: Readonly<Record<string, string | undefined>>): string {
  return env.CAIRN_HOME || join(homedir(), '.cairn')
}
