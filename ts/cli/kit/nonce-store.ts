import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Address, bytesToBigInt } from 'viem'
import { readTextIfExists } from '../../text-file.js'
import { cairnHome } from './home.js'

/*
 * The nonces `cairn request` signs with. Spending the first nonce of a bitmap word writes a new storage slot (22,100
 * gas), any other one rewrites it (5,000): the SDK therefore counts through a random word per process (ts/nonces.ts),
 * but every `cairn request` is a new process and would pay the new slot every time. So the CLI keeps its cursor in
 * $CAIRN_HOME/nonces/<chainId>-<marketplace>-<requester>.json (a random 248-bit word and the next bit), and every
 * invocation on this machine takes the next bit of that word, under a lock file so that two invocations at once never
 * take the same one. A cursor lost or never shared (another machine, another CAIRN_HOME) only means another random
 * word: two cursors collide with probability 2^-124 per pair.
 */

type Cursor = { word: bigint; next: number }

/** A lock file older than this is a crashed invocation's: taken over. */
const STALE_LOCK_MS = 30_000
const LOCK_RETRY_MS = 20

function cursorPath(env: NodeJS.ProcessEnv, chainId: number, marketplace: Address, requester: Address): string {
  const home = cairnHome(env)
  return join(home, 'nonces', `${chainId}-${marketplace.toLowerCase()}-${requester.toLowerCase()}.json`)
}

function randomWord(): bigint {
  return bytesToBigInt(randomBytes(31))
}

/** The cursor in `path`; undefined when there is none, or it is not one this file wrote (a new word is drawn). */
async function readCursor(path: string): Promise<Cursor | undefined> {
  const text = await readTextIfExists(path)
  if (text === undefined) return undefined
  try {
    const json = JSON.parse(text) as { word?: unknown; next?: unknown }
    if (typeof json.word !== 'string' || !/^0x[0-9a-f]{1,62}$/.test(json.word)) return undefined
    if (typeof json.next !== 'number' || !Number.isInteger(json.next) || json.next < 0) return undefined
    return { word: BigInt(json.word), next: json.next }
  } catch {
    return undefined
  }
}

/** Runs `work` holding `<path>.lock` (created exclusively; a stale one, left by a crash, is taken over). */
async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 })
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const held = await stat(lock).catch(() => undefined)
      if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) await rm(lock, { force: true })
      else await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS))
    }
  }
  try {
    return await work()
  } finally {
    await rm(lock, { force: true })
  }
}

/**
 * The next nonce `cairn request` signs for `requester` on `marketplace`: the next bit of the word kept under
 * $CAIRN_HOME, taken and saved under a lock before it is returned (a request that then fails leaves its nonce unused).
 */
export async function takeCliNonce(
  env: NodeJS.ProcessEnv,
  chainId: number,
  marketplace: Address,
  requester: Address,
): Promise<bigint> {
  const path = cursorPath(env, chainId, marketplace, requester)
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 })
  return withLock(path, async () => {
    const saved = await readCursor(path)
    const cursor = saved === undefined || saved.next > 255 ? { word: randomWord(), next: 0 } : saved
    const next = { word: `0x${cursor.word.toString(16)}`, next: cursor.next + 1 }
    // Written whole, then renamed: a crash mid-write never leaves a cursor that hands out a nonce twice.
    const temporary = `${path}.${process.pid}.tmp`
    await writeFile(temporary, `${JSON.stringify(next)}\n`, { mode: 0o600 })
    await rename(temporary, path)
    return (cursor.word << 8n) | BigInt(cursor.next)
  })
}
