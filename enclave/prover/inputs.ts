/**
 * A request's inputs as bytes: inline in the request, or behind a URI and committed to by a digest (keccak256 of the
 * bytes). Supported URIs: `data:` (RFC 2397, through fetch), `file://` (a path on this machine) and `http(s)://`.
 * Fetched bytes must hash to the posted digest, so a URI can only ever deliver the committed inputs.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { bytesToHex, type Hex, keccak256 } from 'viem'
import type { Inputs } from '../../ts/types.js'

/**
 * The inputs could not be obtained. `permanent` when trying again cannot help (an unsupported scheme, a `data:` URI
 * with other bytes than committed); otherwise the source may recover (a server down, a file not yet synced).
 */
export class InputsUnavailableError extends Error {
  override readonly name = 'InputsUnavailableError'
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export type ResolveOptions = { maxBytes: number; signal?: AbortSignal }

/** Whether a request has these inputs at all (a request without private inputs posts all fields empty). */
export function hasInputs(inputs: Inputs): boolean {
  return inputs.data !== '0x' || inputs.uri !== ''
}

/** The inputs' bytes; '0x' when there are none. */
export async function resolveInputs(inputs: Inputs, options: ResolveOptions): Promise<Hex> {
  if (inputs.data !== '0x') return inputs.data
  if (inputs.uri === '') return '0x'
  const bytes = await fetchUri(inputs.uri, options)
  const digest = keccak256(bytes)
  if (digest !== inputs.digest) {
    throw new InputsUnavailableError(
      `${describeUri(inputs.uri)} holds bytes hashing to ${digest}, the request commits to ${inputs.digest}`,
      inputs.uri.startsWith('data:'),
    )
  }
  return bytesToHex(bytes)
}

async function fetchUri(uri: string, options: ResolveOptions): Promise<Uint8Array> {
  const scheme = uri.slice(0, uri.indexOf(':') + 1).toLowerCase()
  if (scheme === 'file:') return readLocal(uri, options.maxBytes)
  if (scheme === 'data:' || scheme === 'http:' || scheme === 'https:') return download(uri, options)
  throw new InputsUnavailableError(`unsupported inputs URI scheme ${scheme || '(none)'} in ${describeUri(uri)}`, true)
}

async function readLocal(uri: string, maxBytes: number): Promise<Uint8Array> {
  let path: string
  try {
    path = fileURLToPath(uri)
  } catch (error) {
    throw new InputsUnavailableError(`${describeUri(uri)} is not a file URL`, true, { cause: error })
  }
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(path))
  } catch (error) {
    throw new InputsUnavailableError(`cannot read ${path}: ${(error as Error).message}`, false, { cause: error })
  }
  if (bytes.length > maxBytes) throw tooLarge(uri, bytes.length, maxBytes)
  return bytes
}

async function download(uri: string, options: ResolveOptions): Promise<Uint8Array> {
  let response: Response
  try {
    response = await fetch(uri, options.signal ? { signal: options.signal } : {})
  } catch (error) {
    throw new InputsUnavailableError(`fetching ${describeUri(uri)} failed: ${(error as Error).message}`, false, {
      cause: error,
    })
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new InputsUnavailableError(`fetching ${describeUri(uri)} answered HTTP ${response.status}`, false)
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > options.maxBytes) {
    await response.body?.cancel()
    throw tooLarge(uri, declared, options.maxBytes)
  }
  return readBody(uri, response, options.maxBytes)
}

/** Reads a body, stopping as soon as it exceeds `maxBytes` (a missing or false content-length cannot exhaust memory). */
async function readBody(uri: string, response: Response, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  if (response.body === null) return new Uint8Array(0)
  for await (const chunk of response.body) {
    length += chunk.length
    if (length > maxBytes) throw tooLarge(uri, length, maxBytes)
    chunks.push(chunk)
  }
  const bytes = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.length
  }
  return bytes
}

function tooLarge(uri: string, length: number, maxBytes: number): InputsUnavailableError {
  return new InputsUnavailableError(`${describeUri(uri)} is over ${maxBytes} bytes (${length})`, true)
}

/** A URI for messages: data: URIs can be megabytes long. */
function describeUri(uri: string): string {
  return uri.length > 80 ? `${uri.slice(0, 77)}...` : uri
}
