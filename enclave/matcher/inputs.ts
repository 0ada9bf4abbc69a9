import { type Address, type Hex, isAddressEqual, keccak256, zeroAddress } from 'viem'
import { teeRegistryAbi } from '../../ts/generated.js'
import {
  decryptPrivateInputs,
  isPrivateInputsError,
  type PrivateInputsContext,
  rewrapForProver,
  unwrapFromEnvelope,
} from '../../ts/privacy.js'
import {
  createRequestInputsStore,
  InputsRejectedError,
  isBehindUri,
  type RequestInputsStore,
} from '../../ts/request-inputs.js'
import type { RegistryReader } from '../../ts/tee.js'
import { combinedInputsDigest } from '../../ts/types.js'
import type { MatcherRequest } from './chain.js'

/*
 * A request's inputs, loaded and checked once before the request may be matched (ts/request-inputs.ts): every part
 * behind a URI, public inputs as well as a private-input envelope (data:, http(s)://, file:// when enabled; read within
 * the bounds of ts/input-uris.ts), must load and hash to its posted digest, and all of them to the request's
 * inputsDigest. A request whose inputs can never load is never assigned: the prover it went to could neither prove
 * nor attest it and would be slashed for it, compensating its requester.
 *
 * The envelope check is the matcher's half of rewrapForProver: the envelope is the one the request's inputsDigest
 * commits to, its wrap opens to the data key the envelope commits to, and the ciphertext authenticates under the
 * request itself (chain, marketplace, market, requester, public inputs), rebuilt from the request's logged fields and
 * never from the envelope. An envelope copied from another request fails it.
 *
 * A request that fails for good (a URI that can never load within the bounds, a digest mismatch, no wrap for this
 * matcher, a wrap or ciphertext that does not open) is never assigned; it expires and its requester can cancel it. A
 * URI that cannot be read right now (a server down or slow) is retried with backoff while the request is open.
 */

/** The matcher's inputs of a request: its checked envelope, or undefined for a request without private inputs. */
export type MatcherInputsStore = RequestInputsStore<MatcherRequest, Uint8Array | undefined>

export type MatcherInputsParams = {
  matcherPrivateKey: Hex
  /** The request an envelope must have been encrypted for (requestContext). */
  context: (request: MatcherRequest) => PrivateInputsContext
  fetchTimeout: number
  maxBytes: number
  /** Read file: URIs (devnets and tests only). */
  allowFileUris: boolean
  /** Called once per request whose inputs are rejected for good. */
  onRejected: (request: MatcherRequest, error: InputsRejectedError) => void
  /** Called on each failed read attempt (retried). */
  onRetry: (request: MatcherRequest, error: unknown, retryInMs: number) => void
}

/** Whether a request's inputs must be loaded before it is matched: private inputs, or any behind a URI. */
export function loadsInputs(request: Pick<MatcherRequest, 'hasPrivateInputs' | 'publicInputs'>): boolean {
  return request.hasPrivateInputs || isBehindUri(request.publicInputs)
}

export function createMatcherInputsStore(params: MatcherInputsParams): MatcherInputsStore {
  return createRequestInputsStore({
    posted: (request) => ({
      publicInputs: request.publicInputs,
      privateInputs: request.privateInputs,
      inputsDigest: request.record.inputsDigest,
    }),
    bounds: { maxBytes: params.maxBytes, timeoutMs: params.fetchTimeout, allowFileUris: params.allowFileUris },
    accept(request, { envelope }) {
      if (envelope === undefined) return undefined
      try {
        checkEnvelope(envelope, params.matcherPrivateKey, params.context(request), request.record.inputsDigest)
      } catch (error) {
        throw asRejection(error)
      }
      return envelope
    },
    onRejected: params.onRejected,
    onRetry: params.onRetry,
  })
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

/** The re-wrap as rewrap.ts calls it: to the item's prover, read through `reader` at the block the round decides at. */
export function rewrapPort(
  reader: RegistryReader,
  matcherPrivateKey: Hex,
  context: (request: MatcherRequest) => PrivateInputsContext,
) {
  return async (
    item: { request: MatcherRequest; marketId: bigint; prover: Address },
    envelope: Uint8Array,
    blockNumber: bigint,
  ): Promise<Hex | undefined> => {
    const { marketId, prover } = item
    const params = { envelope, matcherPrivateKey, marketId, prover, context: context(item.request), blockNumber }
    return (await rewrapToProverEnclave(reader, params))?.inputKey
  }
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
    throw new InputsRejectedError(
      'InputsDigestMismatch',
      `the envelope and public inputs as served hash to ${digest}, the request commits to ${inputsDigest}: the RPC serves another request than the chain holds`,
    )
  }
  decryptPrivateInputs(envelope, unwrapFromEnvelope(envelope, matcherPrivateKey), context)
}

function asRejection(error: unknown): InputsRejectedError {
  if (error instanceof InputsRejectedError) return error
  if (isPrivateInputsError(error)) {
    return new InputsRejectedError(error.code, error.message.replace(`${error.code}: `, ''), { cause: error })
  }
  return new InputsRejectedError('InvalidEnvelope', String(error), { cause: error })
}
