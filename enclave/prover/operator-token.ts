/**
 * The operator's credential for the runner's operator actions (POST /reset). A loopback check alone lets any web page
 * in a browser on the machine make the call, so the runner requires a bearer token only the operator can read: a
 * file of mode 0600, created with a fresh random token at the first start and reused after.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { dirname } from 'node:path'

/** Reads the token at `path`, creating the file (mode 0600) with a fresh 256-bit token when it is missing. */
export async function loadOperatorToken(path: string): Promise<string> {
  try {
    const token = (await readFile(path, 'utf8')).trim()
    if (token.length < 32) {
      throw new Error(`the operator token in ${path} is shorter than 32 characters: delete the file to get a new one`)
    }
    await chmod(path, 0o600)
    return token
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const token = randomBytes(32).toString('hex')
  // The runner may start before anything else created its state directory (the key file comes later).
  await mkdir(dirname(path), { recursive: true })
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    // Another start wrote it first: use that one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOperatorToken(path)
    throw error
  }
  return token
}

/** Why an operator request is refused (status and message), or undefined when it carries the token. */
export function refuseOperatorRequest(
  request: IncomingMessage,
  token: string,
): { status: number; error: string } | undefined {
  // Browsers always send Origin on a cross-site POST; an operator's curl or script does not.
  if (request.headers.origin !== undefined) {
    return { status: 403, error: 'operator actions are not accepted from a browser page (the request has an Origin)' }
  }
  const presented = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
  if (presented === undefined) {
    return { status: 401, error: 'operator actions need "authorization: Bearer <token>" from the operator token file' }
  }
  const expected = Buffer.from(token)
  const given = Buffer.from(presented)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 401, error: 'wrong operator token: use the one in the operator token file' }
  }
  return undefined
}
