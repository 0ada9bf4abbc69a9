/**
 * The bytes behind a request's inputs URI, read within bounds: the one reader the matcher and the prover share.
 *
 * A URI is chosen by whoever posts the request, so every read is bounded whatever the URI points at: at most
 * `maxBytes` (one byte more is read to tell "exactly the limit" from "over it", never the rest), within `timeoutMs`,
 * and never buffering more than that. Schemes:
 * - `http:` / `https:` (redirects followed, to http(s) only: fetch refuses others) and `data:` (RFC 2397), through
 *   fetch, the body streamed and cut off at the limit whatever its content-length says;
 * - `file:` only when the service enables it (`allowFileUris`, flag --allow-file-uris: devnets and tests that stage
 *   inputs on the service's own disk), and only regular files: the path is opened non-blocking (a FIFO cannot hang
 *   the open) and the open handle is fstat'ed, so a device (`/dev/zero`), a FIFO, a socket or a directory — also
 *   behind a symbolic link — is refused before a single byte is read.
 *
 * Every failure is an InputUriError saying whether trying again can help (`permanent`): a URI that can never load
 * within the bounds (a scheme not read, file: not enabled, not a regular file, too large, a malformed data: URI)
 * fails for good, so no service keeps retrying it; a server that is down or slow, or a file not there yet, may
 * recover.
 */
import { constants, type FileHandle, open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/**
 * The bounds every Cairn service reads an inputs URI with unless configured otherwise: the matcher checks a request's
 * inputs with them before it assigns the request, so a prover runner on the defaults can load every task it is
 * assigned. A prover configured tighter may be assigned inputs it cannot read, and is slashed for them.
 */
export const DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024
export const DEFAULT_INPUT_TIMEOUT_MS = 10_000

export type InputUriOptions = {
  /** Most bytes the URI may hold. */
  maxBytes: number
  /** Milliseconds one read may take, from the request (or open) to the last byte. */
  timeoutMs: number
  /** Read `file:` URIs (devnets and tests only): refused otherwise. */
  allowFileUris: boolean
  /** The caller's own cancellation (e.g. a task's deadline). */
  signal?: AbortSignal | undefined
}

export type InputUriFailure =
  | 'UnsupportedUri'
  | 'FileUrisDisabled'
  | 'NotARegularFile'
  | 'TooLarge'
  | 'TimedOut'
  | 'Unavailable'

/** The URI's bytes could not be read within the bounds; `permanent` when no retry can change that. */
export class InputUriError extends Error {
  override readonly name = 'InputUriError'
  constructor(
    message: string,
    readonly reason: InputUriFailure,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** The bytes behind `uri`, at most `options.maxBytes` of them; InputUriError otherwise. */
export async function readInputUri(uri: string, options: InputUriOptions): Promise<Uint8Array> {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new InputUriError(`${shorten(uri)} is not a URI`, 'UnsupportedUri', true)
  }
  const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])])
  try {
    if (url.protocol === 'file:') return await readFileUri(uri, url, options, signal)
    if (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'data:') {
      return await download(uri, url, options.maxBytes, signal)
    }
  } catch (error) {
    throw asInputUriError(uri, url, error, options, signal)
  }
  throw new InputUriError(
    `${shorten(uri)}: ${url.protocol} URIs are not read (data:, http:, https: only)`,
    'UnsupportedUri',
    true,
  )
}

async function readFileUri(uri: string, url: URL, options: InputUriOptions, signal: AbortSignal): Promise<Uint8Array> {
  if (!options.allowFileUris) {
    throw new InputUriError(
      `${shorten(uri)}: file: URIs are not read unless enabled (allowFileUris, --allow-file-uris: devnets only)`,
      'FileUrisDisabled',
      true,
    )
  }
  let path: string
  try {
    path = fileURLToPath(url)
  } catch (error) {
    throw new InputUriError(`${shorten(uri)} is not a local file URL`, 'UnsupportedUri', true, { cause: error })
  }
  // Non-blocking: opening a FIFO for reading would otherwise wait for a writer, holding a libuv thread.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) {
      throw new InputUriError(
        `${shorten(uri)} is not a regular file (${fileKind(stats)}): only regular files are read`,
        'NotARegularFile',
        true,
      )
    }
    if (stats.size > options.maxBytes) throw tooLarge(uri, options.maxBytes)
    return await readBounded(uri, handle, stats.size, options.maxBytes, signal)
  } finally {
    await handle.close()
  }
}

/** Reads until end of file or past `maxBytes`; stat's size is only a hint (procfs files say 0 and hold bytes). */
async function readBounded(uri: string, handle: FileHandle, sizeHint: number, maxBytes: number, signal: AbortSignal) {
  const bytes = boundedBytes(uri, maxBytes)
  let want = sizeHint + 1
  for (;;) {
    signal.throwIfAborted()
    const chunk = new Uint8Array(Math.min(want, maxBytes + 1 - bytes.length()))
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null)
    if (bytesRead === 0) return bytes.take()
    bytes.push(chunk.subarray(0, bytesRead))
    want = READ_CHUNK
  }
}

async function download(uri: string, url: URL, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const response = await fetch(url, { signal, redirect: 'follow' })
  if (!response.ok) {
    await response.body?.cancel()
    throw new InputUriError(`${shorten(uri)} answered HTTP ${response.status}`, 'Unavailable', false)
  }
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel()
    throw tooLarge(uri, maxBytes)
  }
  const bytes = boundedBytes(uri, maxBytes)
  if (response.body === null) return bytes.take()
  // Leaving the loop early (throwing) cancels the stream: nothing past the limit is buffered.
  for await (const chunk of response.body) bytes.push(chunk)
  return bytes.take()
}

const READ_CHUNK = 64 * 1024

/** Collects chunks up to `maxBytes` in all, throwing TooLarge at the first byte past it. */
function boundedBytes(uri: string, maxBytes: number) {
  const chunks: Uint8Array[] = []
  let length = 0
  return {
    length: () => length,
    push(chunk: Uint8Array): void {
      if (length + chunk.length > maxBytes) throw tooLarge(uri, maxBytes)
      chunks.push(chunk)
      length += chunk.length
    },
    take(): Uint8Array {
      const out = new Uint8Array(length)
      let at = 0
      for (const chunk of chunks) {
        out.set(chunk, at)
        at += chunk.length
      }
      return out
    },
  }
}

function asInputUriError(
  uri: string,
  url: URL,
  error: unknown,
  options: InputUriOptions,
  signal: AbortSignal,
): InputUriError {
  if (error instanceof InputUriError) return error
  const cause = { cause: error }
  if (signal.aborted && !options.signal?.aborted) {
    return new InputUriError(`${shorten(uri)} did not load within ${options.timeoutMs} ms`, 'TimedOut', false, cause)
  }
  const detail = error instanceof Error ? error.message : String(error)
  // A data: URI carries its bytes: if they do not decode now, they never will.
  const permanent = url.protocol === 'data:'
  const reason = permanent ? 'UnsupportedUri' : 'Unavailable'
  return new InputUriError(`${shorten(uri)} could not be read: ${detail}`, reason, permanent, cause)
}

function tooLarge(uri: string, maxBytes: number): InputUriError {
  return new InputUriError(`${shorten(uri)} holds over the ${maxBytes}-byte limit`, 'TooLarge', true)
}

function fileKind(stats: Awaited<ReturnType<FileHandle['stat']>>): string {
  if (stats.isDirectory()) return 'a directory'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  if (stats.isFIFO()) return 'a FIFO'
  if (stats.isSocket()) return 'a socket'
  return 'not a file'
}

/** A URI for messages: data: URIs can be megabytes long. */
export function shorten(uri: string): string {
  return uri.length > 80 ? `${uri.slice(0, 77)}...` : uri
}
