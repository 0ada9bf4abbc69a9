import { type Address, type Hex, hexToBytes, isAddressEqual, keccak256, zeroAddress } from 'viem'
import { teeRegistryAbi } from '../../ts/generated.js'
import { InputUriError, readInputUri, shorten } from '../../ts/input-uris.js'
import {
  decryptPrivateInputs,
  isPrivateInputsError,
  type PrivateInputsContext,
  rewrapForProver,
  unwrapFromEnvelope,
} from '../../ts/privacy.js'
import type { RegistryReader } from '../../ts/tee.js'
import { combinedInputsDigest, type Inputs } from '../../ts/types.js'
import type { MatcherRequest } from './chain.js'

/*
 * Private-input envelopes, loaded and checked once per request before the request may be matched: inline in the
 * request, or behind its URI (data:, http(s)://, file:// when enabled; read within bounds by ts/input-uris.ts) with
 * keccak256(bytes) = the posted digest. The check is the matcher's half of rewrapForProver: the envelope is the one
 * the request's inputsDigest commits to, its wrap opens to the data key the envelope commits to, and the ciphertext
 * authenticates under the request itself (chain, marketplace, market, requester, public inputs), rebuilt from the
 * request's logged fields and never from the envelope. An envelope copied from another request fails it. A request
 * that fails it for good (no wrap for this matcher, a wrap or ciphertext that does not open, a digest mismatch, a URI
 * that can never load within the bounds) is never assigned; it expires and its requester can cancel it. A URI that
 * cannot be fetched right now (a server down or slow) is retried with backoff while the request is open.
 */

export type EnvelopeState =
  | { state: 'loading' }
  | { state: 'ready'; envelope: Uint8Array }
  | { state: 'failed'; reason: string; message: string }

export type EnvelopeStore = {
  /** Starts loading a request's envelope (inline envelopes are checked at once). Idempotent. */
  load(request: MatcherRequest): void
  get(requestId: bigint): EnvelopeState | undefined
  /** Forgets a request (assigned, expired, cancelled) and stops retrying it. */
  forget(requestId: bigint): void
  /** The requests it holds a state for. */
  ids(): bigint[]
  /** Forgets everything (the book was rebuilt). */
  clear(): void
}

/** A private-input failure that no retry can fix. */
export class EnvelopeRejectedError extends Error {
  override readonly name = 'EnvelopeRejectedError'
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

export type EnvelopeStoreParams = {
  matcherPrivateKey: `0x${string}`
  /** The request an envelope must have been encrypted for (requestContext). */
  context: (request: MatcherRequest) => PrivateInputsContext
  fetchTimeout: number
  maxBytes: number
  /** Read file: URIs (devnets and tests only). */
  allowFileUris: boolean
  /** Called once per request whose envelope is rejected for good. */
  onRejected: (request: MatcherRequest, error: EnvelopeRejectedError) => void
  /** Called on each failed fetch attempt (retried). */
  onFetchError: (request: MatcherRequest, error: unknown, retryInMs: number) => void
}

const FIRST_RETRY_MS = 1_000
const MAX_RETRY_MS = 30_000

export function createEnvelopeStore(params: EnvelopeStoreParams): EnvelopeStore {
  const states = new Map<bigint, EnvelopeState>()
  const timers = new Map<bigint, NodeJS.Timeout>()

  function settle(request: MatcherRequest, bytes: Uint8Array): void {
    if (!states.has(request.requestId)) return
    try {
      checkEnvelope(bytes, params.matcherPrivateKey, params.context(request), request.record.inputsDigest)
      states.set(request.requestId, { state: 'ready', envelope: bytes })
    } catch (error) {
      reject(request, asRejection(error))
    }
  }

  function reject(request: MatcherRequest, error: EnvelopeRejectedError): void {
    states.set(request.requestId, { state: 'failed', reason: error.reason, message: error.message })
    params.onRejected(request, error)
  }

  function fetchLater(request: MatcherRequest, attempt: number): void {
    const id = request.requestId
    fetchEnvelope(request.privateInputs, params).then(
      (bytes) => {
        timers.delete(id)
        settle(request, bytes)
      },
      (error: unknown) => {
        if (!states.has(id)) return
        if (error instanceof EnvelopeRejectedError) return reject(request, error)
        const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt)
        params.onFetchError(request, error, delay)
        const timer = setTimeout(() => fetchLater(request, attempt + 1), delay)
        timer.unref()
        timers.set(id, timer)
      },
    )
  }

  function forget(requestId: bigint): void {
    states.delete(requestId)
    const timer = timers.get(requestId)
    if (timer !== undefined) clearTimeout(timer)
    timers.delete(requestId)
  }

  return {
    load(request) {
      if (states.has(request.requestId)) return
      states.set(request.requestId, { state: 'loading' })
      if (request.privateInputs.data !== '0x') settle(request, hexToBytes(request.privateInputs.data))
      else fetchLater(request, 0)
    },
    get: (requestId) => states.get(requestId),
    forget,
    ids: () => [...states.keys()],
    clear() {
      for (const id of [...states.keys()]) forget(id)
    },
  }
}

/** Where a data key was re-wrapped to: the prover enclave key the matcher read and checked itself. */
export type ProverEnclave = { signer: Address; eciesPublicKey: Hex }

/**
 * Re-wraps a checked envelope's data key to `prover`'s enclave in `marketId`, and only to a key this matcher read
 * itself from the registry at `blockNumber`: the prover's current key (proverEnclave(marketId, prover)), confirmed
 * at the same block to be an active prover key of that very prover (enclaveOperator(marketId, signer) == prover).
 * No key from anywhere else (a prover's claim, a cache, an event) is ever a recipient: the data key opens the
 * requester's private inputs. Undefined when the prover has no such key at that block.
 */
export async function rewrapToProverEnclave(
  reader: RegistryReader,
  params: {
    envelope: Uint8Array
    matcherPrivateKey: Hex
    marketId: bigint
    prover: Address
    context: PrivateInputsContext
    /** The block the matcher decides at (its current head). */
    blockNumber: bigint
  },
): Promise<{ inputKey: Hex; enclave: ProverEnclave } | undefined> {
  const registry = { address: reader.attestation.contracts.teeRegistry, abi: teeRegistryAbi } as const
  const [signer, eciesPublicKey] = await reader.public.readContract({
    ...registry,
    functionName: 'proverEnclave',
    args: [params.marketId, params.prover],
    blockNumber: params.blockNumber,
  })
  if (isAddressEqual(signer, zeroAddress) || eciesPublicKey === '0x') return undefined
  const operator = await reader.public.readContract({
    ...registry,
    functionName: 'enclaveOperator',
    args: [params.marketId, signer],
    blockNumber: params.blockNumber,
  })
  if (!isAddressEqual(operator, params.prover)) return undefined
  const inputKey = rewrapForProver({
    envelope: params.envelope,
    matcherPrivateKey: params.matcherPrivateKey,
    proverPublicKey: eciesPublicKey,
    context: params.context,
  })
  return { inputKey, enclave: { signer, eciesPublicKey } }
}

/**
 * The request a private-input envelope must have been encrypted for, from the request's own fields as the
 * marketplace logged them: its market, its requester and the digest the marketplace took of its public inputs.
 */
export function requestContext(
  chain: { chainId: number; marketplace: Address },
  request: Pick<MatcherRequest, 'marketId' | 'requester' | 'publicInputsDigest'>,
): PrivateInputsContext {
  return {
    chainId: chain.chainId,
    marketplace: chain.marketplace,
    marketId: request.marketId,
    requester: request.requester,
    publicInputsDigest: request.publicInputsDigest,
  }
}

/**
 * Throws unless the envelope is the one `inputsDigest` (the request's Request.inputsDigest) commits to together with
 * the context's public inputs, and has a wrap for this matcher that opens to the committed data key and a ciphertext
 * that authenticates under `context`.
 */
export function checkEnvelope(
  envelope: Uint8Array,
  matcherPrivateKey: `0x${string}`,
  context: PrivateInputsContext,
  inputsDigest: Hex,
): void {
  const digest = combinedInputsDigest(context.publicInputsDigest, keccak256(envelope))
  if (digest !== inputsDigest) {
    throw new EnvelopeRejectedError(
      'InputsDigestMismatch',
      `the envelope and public inputs as served hash to ${digest}, the request commits to ${inputsDigest}: the RPC serves another request than the chain holds`,
    )
  }
  decryptPrivateInputs(envelope, unwrapFromEnvelope(envelope, matcherPrivateKey), context)
}

function asRejection(error: unknown): EnvelopeRejectedError {
  if (error instanceof EnvelopeRejectedError) return error
  if (isPrivateInputsError(error))
    return new EnvelopeRejectedError(error.code, error.message.replace(`${error.code}: `, ''))
  return new EnvelopeRejectedError('InvalidEnvelope', String(error))
}

/** The envelope bytes behind `inputs.uri` (read within the bounds), checked against `inputs.digest`. */
export async function fetchEnvelope(
  inputs: Inputs,
  options: { fetchTimeout: number; maxBytes: number; allowFileUris: boolean },
): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await readInputUri(inputs.uri, {
      maxBytes: options.maxBytes,
      timeoutMs: options.fetchTimeout,
      allowFileUris: options.allowFileUris,
    })
  } catch (error) {
    // A URI that can never load within the bounds is rejected once, never retried.
    if (error instanceof InputUriError && error.permanent) throw new EnvelopeRejectedError(error.reason, error.message)
    throw error
  }
  const digest = keccak256(bytes)
  if (digest !== inputs.digest) {
    throw new EnvelopeRejectedError('DigestMismatch', `keccak256 of ${shorten(inputs.uri)} is ${digest}`)
  }
  return bytes
}
