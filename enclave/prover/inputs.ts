/**
 * A request's inputs as bytes: inline in the request, or behind a URI and committed to by a digest (keccak256 of the
 * bytes). URIs are read by the SDK's bounded reader (ts/input-uris.ts: data:, http(s):, and file: only when
 * enabled), and fetched bytes must hash to the posted digest, so a URI can only ever deliver the committed inputs.
 */
import { bytesToHex, type Hex, keccak256 } from 'viem'
import { InputUriError, type InputUriOptions, readInputUri, shorten } from '../../ts/input-uris.js'
import type { Inputs } from '../../ts/types.js'

/**
 * The inputs could not be obtained. `permanent` when trying again cannot help (an unsupported scheme, too many bytes,
 * not a regular file, a `data:` URI with other bytes than committed); otherwise the source may recover (a server
 * down, a file not yet synced).
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

export type ResolveOptions = InputUriOptions

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
      `${shorten(inputs.uri)} holds bytes hashing to ${digest}, the request commits to ${inputs.digest}`,
      inputs.uri.startsWith('data:'),
    )
  }
  return bytesToHex(bytes)
}

async function fetchUri(uri: string, options: ResolveOptions): Promise<Uint8Array> {
  try {
    return await readInputUri(uri, options)
  } catch (error) {
    if (!(error instanceof InputUriError)) throw error
    throw new InputsUnavailableError(error.message, error.permanent, { cause: error })
  }
}
