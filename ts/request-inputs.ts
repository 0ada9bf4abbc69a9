/**
 * A request's inputs as it posts them (inline, or behind a URI with the keccak256 digest of their bytes), read within
 * the bounds of ts/input-uris.ts and checked against what the request commits to.
 *
 * Whoever takes a task on is slashed at its deadline if it can neither prove nor attest it, and inputs that never load
 * can be neither: the URI is not part of the request's on-chain commitment, so no enclave can show the chain that the
 * posted URI was bad. So whoever decides to take a request on (the matcher before it assigns it, a prover runner
 * before it claims it through the fallback) loads its inputs first, through one store (createRequestInputsStore): a
 * request whose inputs can never load within the bounds (a scheme no service reads, file: not enabled, not a regular
 * file, too many bytes, a malformed data: URI) or whose bytes are not the ones it commits to is rejected for good
 * (InputsRejectedError) and never taken on; it expires and its requester can cancel it. A read that may succeed later
 * (a server down or slow, a file not there yet) is retried with backoff for as long as the request is wanted.
 *
 * A task already taken on reads its inputs with readPostedInputs and its own policy: bytes behind an http(s) URI that
 * hash to another digest may be served right later, so the prover keeps trying until its deadline.
 */
import { type Hex, hexToBytes, keccak256, zeroHash } from 'viem'
import { InputUriError, type InputUriFailure, type InputUriOptions, readInputUri, shorten } from './input-uris.js'
import { combinedInputsDigest, type Inputs } from './types.js'

/** What a request posts about its inputs, as RequestCreated logs it. */
export type PostedInputs = {
  publicInputs: Inputs
  /** All fields empty without private inputs. */
  privateInputs: Inputs
  /** Request.inputsDigest: keccak256(public inputs digest ‖ private inputs digest or zero). */
  inputsDigest: Hex
}

/** The bytes a request's inputs digest commits to. */
export type LoadedInputs = {
  publicInputs: Uint8Array
  /** The private-input envelope; undefined when the request has none. */
  envelope: Uint8Array | undefined
}

export type InputsFailure = InputUriFailure | 'DigestMismatch'

/** Posted inputs could not be obtained; `permanent` when trying again cannot help. */
export class InputsUnavailableError extends Error {
  override readonly name = 'InputsUnavailableError'
  constructor(
    message: string,
    readonly reason: InputsFailure,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** A request whose inputs can never load, or are not the bytes it commits to: nobody may take it on. */
export class InputsRejectedError extends Error {
  override readonly name = 'InputsRejectedError'
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Whether a request has these inputs at all (a request without private inputs posts all fields empty). */
export function hasInputs(inputs: Inputs): boolean {
  return inputs.data !== '0x' || inputs.uri !== ''
}

/** Whether the inputs' bytes are behind their URI (inline bytes win: the marketplace ignores the URI then). */
export function isBehindUri(inputs: Inputs): boolean {
  return inputs.data === '0x' && inputs.uri !== ''
}

/**
 * The bytes of posted inputs: inline, or read from their URI within the bounds and checked against the posted digest
 * (empty when there are none). InputsUnavailableError otherwise: other bytes behind a data: URI can never change, so
 * that mismatch is permanent; an http(s) server may still come to serve the committed bytes.
 */
export async function readPostedInputs(inputs: Inputs, options: InputUriOptions): Promise<Uint8Array> {
  if (inputs.data !== '0x') return hexToBytes(inputs.data)
  if (inputs.uri === '') return new Uint8Array()
  let bytes: Uint8Array
  try {
    bytes = await readInputUri(inputs.uri, options)
  } catch (error) {
    if (!(error instanceof InputUriError)) throw error
    throw new InputsUnavailableError(error.message, error.reason, error.permanent, { cause: error })
  }
  const digest = keccak256(bytes)
  if (digest !== inputs.digest) {
    throw new InputsUnavailableError(
      `${shorten(inputs.uri)} holds bytes hashing to ${digest}, the request commits to ${inputs.digest}`,
      'DigestMismatch',
      /^data:/i.test(inputs.uri),
    )
  }
  return bytes
}

/**
 * The request's inputs, each part behind a URI read within the bounds, checked against its posted digest and together
 * against the request's inputsDigest. InputsRejectedError when they can never load or are other bytes than committed
 * (a digest mismatch is final here, whatever the scheme: a server that served other bytes once cannot be relied on
 * for the task); InputsUnavailableError when a retry may help.
 */
export async function loadRequestInputs(posted: PostedInputs, options: InputUriOptions): Promise<LoadedInputs> {
  const publicInputs = await readPart(posted.publicInputs, 'public', options)
  const envelope = hasInputs(posted.privateInputs)
    ? await readPart(posted.privateInputs, 'private', options)
    : undefined
  return checkedInputs(posted, { publicInputs, envelope })
}

async function readPart(inputs: Inputs, part: 'public' | 'private', options: InputUriOptions): Promise<Uint8Array> {
  try {
    return await readPostedInputs(inputs, options)
  } catch (error) {
    if (!(error instanceof InputsUnavailableError)) throw error
    if (!error.permanent && error.reason !== 'DigestMismatch') throw error
    throw new InputsRejectedError(error.reason, `${part} inputs: ${error.message}`, { cause: error })
  }
}

/** The bytes, once they hash to the request's inputsDigest: otherwise the RPC serves another request than the chain's. */
function checkedInputs(posted: PostedInputs, loaded: LoadedInputs): LoadedInputs {
  const privateDigest = loaded.envelope === undefined ? zeroHash : keccak256(loaded.envelope)
  const digest = combinedInputsDigest(keccak256(loaded.publicInputs), privateDigest)
  if (digest !== posted.inputsDigest) {
    throw new InputsRejectedError(
      'InputsDigestMismatch',
      `the inputs as served hash to ${digest}, the request commits to ${posted.inputsDigest}: the RPC serves another request than the chain holds`,
    )
  }
  return loaded
}

export type RequestInputsState<value> =
  | { state: 'loading' }
  | { state: 'ready'; value: value }
  | { state: 'failed'; reason: string; message: string }

/** Each request's inputs, loaded once it is wanted and kept until it is forgotten. */
export type RequestInputsStore<request, value> = {
  /** Starts loading a request's inputs (inline ones are checked at once). Idempotent. */
  load(request: request): void
  get(requestId: bigint): RequestInputsState<value> | undefined
  /** Forgets a request (taken on, expired, cancelled), stops retrying it and aborts its reads. */
  forget(requestId: bigint): void
  /** The requests it holds a state for. */
  ids(): bigint[]
  /** Forgets everything. */
  clear(): void
}

export type RequestInputsStoreParams<request, value> = {
  posted: (request: request) => PostedInputs
  /** Bounds on each read (the store adds its own abort signal). */
  bounds: Omit<InputUriOptions, 'signal'>
  /**
   * The caller's own checks of loaded inputs and what it keeps of them. It throws InputsRejectedError to reject the
   * request for good; anything else it throws rejects it too (the same bytes would fail the same way again).
   */
  accept: (request: request, inputs: LoadedInputs) => value
  /** Called once per request rejected for good. */
  onRejected: (request: request, error: InputsRejectedError) => void
  /** Called on each failed read (retried after `retryInMs`). */
  onRetry: (request: request, error: unknown, retryInMs: number) => void
}

const FIRST_RETRY_MS = 1_000
const MAX_RETRY_MS = 30_000

export function createRequestInputsStore<request extends { requestId: bigint }, value>(
  params: RequestInputsStoreParams<request, value>,
): RequestInputsStore<request, value> {
  type Entry = { state: RequestInputsState<value>; abort: AbortController; timer?: NodeJS.Timeout }
  const entries = new Map<bigint, Entry>()
  // A callback acts only on the entry it was started for: a request forgotten and loaded again starts afresh.
  const current = (request: request, entry: Entry) => entries.get(request.requestId) === entry

  function settle(request: request, entry: Entry, loaded: () => LoadedInputs): void {
    try {
      entry.state = { state: 'ready', value: params.accept(request, loaded()) }
    } catch (error) {
      reject(request, entry, asRejection(error))
    }
  }

  function reject(request: request, entry: Entry, error: InputsRejectedError): void {
    entry.state = { state: 'failed', reason: error.reason, message: error.message }
    params.onRejected(request, error)
  }

  function read(request: request, entry: Entry, attempt: number): void {
    loadRequestInputs(params.posted(request), { ...params.bounds, signal: entry.abort.signal }).then(
      (loaded) => {
        if (current(request, entry)) settle(request, entry, () => loaded)
      },
      (error: unknown) => {
        if (!current(request, entry)) return
        if (error instanceof InputsRejectedError) return reject(request, entry, error)
        const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt)
        params.onRetry(request, error, delay)
        entry.timer = setTimeout(() => read(request, entry, attempt + 1), delay)
        entry.timer.unref()
      },
    )
  }

  function forget(requestId: bigint): void {
    const entry = entries.get(requestId)
    if (entry === undefined) return
    entries.delete(requestId)
    clearTimeout(entry.timer)
    entry.abort.abort()
  }

  return {
    load(request) {
      if (entries.has(request.requestId)) return
      const entry: Entry = { state: { state: 'loading' }, abort: new AbortController() }
      entries.set(request.requestId, entry)
      const posted = params.posted(request)
      if (isBehindUri(posted.publicInputs) || isBehindUri(posted.privateInputs)) return read(request, entry, 0)
      settle(request, entry, () =>
        checkedInputs(posted, {
          publicInputs: hexToBytes(posted.publicInputs.data),
          envelope: hasInputs(posted.privateInputs) ? hexToBytes(posted.privateInputs.data) : undefined,
        }),
      )
    },
    get: (requestId) => entries.get(requestId)?.state,
    forget,
    ids: () => [...entries.keys()],
    clear() {
      for (const id of [...entries.keys()]) forget(id)
    },
  }
}

function asRejection(error: unknown): InputsRejectedError {
  if (error instanceof InputsRejectedError) return error
  return new InputsRejectedError('InvalidInputs', error instanceof Error ? error.message : String(error), {
    cause: error,
  })
}
