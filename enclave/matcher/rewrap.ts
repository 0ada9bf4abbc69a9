import type { Logger } from 'pino'
import type { Hex } from 'viem'
import { isPrivateInputsError } from '../../ts/privacy.js'
import { type ChainView, type MatcherRequest, proverKeyId } from './chain.js'
import { type MatchItem, releaseHold } from './engine.js'
import type { MatcherInputsStore } from './inputs.js'
import type { Prepared } from './submitter.js'

/*
 * The signed form of each item of a held batch: the listing the engine matched on (assign pays exactly these terms
 * or skips the item) and, for private inputs, the request's data key re-wrapped to the chosen prover's enclave key as
 * read from the registry at the head. An item whose prover has no such key is released; a prover key off the curve is
 * forgotten until the prover registers another; a request whose inputs cannot be re-wrapped is skipped for good. A
 * failed read throws: the round releases the whole batch, to be matched again.
 */

/** What a failed re-wrap means; undefined for a failed read (thrown on). */
export type RewrapFailure =
  | { kind: 'InvalidProverKey' }
  | { kind: 'Rejected'; code: string; message: string }
  | undefined

export function rewrapFailureOf(error: unknown): RewrapFailure {
  // The registry only checks the length: a key off the curve cannot receive wraps.
  if (isPrivateInputsError(error, 'InvalidPublicKey')) return { kind: 'InvalidProverKey' }
  if (isPrivateInputsError(error)) return { kind: 'Rejected', code: error.code, message: error.message }
  return undefined
}

export type RewrapPorts = {
  /** The indexer's current view: the book whose holds are released, the prover keys. */
  view: () => ChainView
  /** The requests' checked inputs: the envelope when `ready`. */
  inputs: Pick<MatcherInputsStore, 'get'>
  /** The data key re-wrapped to the prover's active enclave key at `blockNumber`; undefined when it has none. */
  rewrap: (item: MatchItem<MatcherRequest>, envelope: Uint8Array, blockNumber: bigint) => Promise<Hex | undefined>
  /** Takes the request out for good (its inputs too) and remembers why. */
  skip: (requestId: bigint, reason: { code: string; message: string }) => void
  log: Logger
}

export type Preparer = (held: readonly MatchItem<MatcherRequest>[], blockNumber: bigint) => Promise<Prepared[]>

export function createPreparer(ports: RewrapPorts): Preparer {
  const { log } = ports

  async function inputKeyFor(item: MatchItem<MatcherRequest>, blockNumber: bigint): Promise<Hex | undefined> {
    const notAssigned = () => {
      releaseHold(ports.view().book, item.requestId)
      log.info(
        { requestId: item.requestId.toString(), prover: item.prover },
        'prover has no active enclave key: not assigned',
      )
      return undefined
    }
    const loaded = ports.inputs.get(item.requestId)
    if (loaded?.state !== 'ready' || loaded.value === undefined) return notAssigned()
    try {
      return (await ports.rewrap(item, loaded.value, blockNumber)) ?? notAssigned()
    } catch (error) {
      const failure = rewrapFailureOf(error)
      if (failure === undefined) throw error
      if (failure.kind === 'InvalidProverKey') {
        releaseHold(ports.view().book, item.requestId)
        ports.view().proverKeys.delete(proverKeyId(item.marketId, item.prover))
        log.warn(
          { prover: item.prover, marketId: item.marketId.toString() },
          'prover enclave key is not a secp256k1 point',
        )
        return undefined
      }
      ports.skip(item.requestId, failure)
      log.warn(
        { requestId: item.requestId.toString(), reason: failure.code, err: error },
        'private inputs cannot be re-wrapped: request skipped',
      )
      return undefined
    }
  }

  return async (held, blockNumber) => {
    const prepared = await Promise.all(
      held.map(async (item): Promise<Prepared | undefined> => {
        const assignment = {
          requestId: item.requestId,
          prover: item.prover,
          price: item.price,
          provingTime: item.provingTime,
          request: item.request.record,
        }
        if (!item.request.hasPrivateInputs) return { item, assignment }
        const inputKey = await inputKeyFor(item, blockNumber)
        return inputKey === undefined ? undefined : { item, assignment: { ...assignment, inputKey } }
      }),
    )
    return prepared.filter((entry) => entry !== undefined)
  }
}
