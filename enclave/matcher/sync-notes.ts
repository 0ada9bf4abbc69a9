import type { Logger } from 'pino'
import { type Address, isAddressEqual } from 'viem'
import type { ChainView, SyncNotes } from './chain.js'
import { loadsInputs, type MatcherInputsStore } from './inputs.js'
import type { Metrics } from './metrics.js'

/*
 * What the matcher does with what one sync saw, beyond the book the indexer already updated: a rebuilt view forgets
 * every loaded input (they are loaded again for the rebuilt view's requests), failed stake reads are counted, a
 * revocation of its own key is passed on, and while following live new requests start loading their inputs and
 * assignments are timed. At start-up and after a rebuild (`live` false) the open requests' inputs are loaded in one
 * go instead (`loadOpenInputs`), and old assignments are not timed.
 */

export type NotesPorts = {
  /** This matcher's signer: a revocation of it ends its batches. */
  self: Address
  /** The indexer's current view (replaced on a rebuild). */
  view: () => Pick<ChainView, 'open'>
  inputs: Pick<MatcherInputsStore, 'load' | 'forget' | 'clear'>
  onRevoked: () => void
  metrics: Pick<Metrics, 'rebuilds' | 'errors' | 'latencyBlocks'>
  log: Logger
}

export function createNotesHandler(ports: NotesPorts): (notes: SyncNotes, live: boolean) => void {
  const { inputs, metrics, log } = ports
  return (notes, live) => {
    if (notes.rebuilt) {
      metrics.rebuilds.inc()
      inputs.clear()
      log.warn({ from: notes.from }, 'the indexed chain was reorganised: rebuilding the book from the chain')
    }
    if (notes.readError !== undefined) {
      metrics.errors.inc({ stage: 'reads' })
      log.warn({ err: notes.readError }, 'stake or prover reads failed; retried on the next block')
    }
    for (const signer of notes.revokedMatchers) if (isAddressEqual(signer, ports.self)) ports.onRevoked()
    if (!live) return
    for (const request of notes.created) {
      if (loadsInputs(request) && ports.view().open.has(request.requestId)) inputs.load(request)
    }
    for (const task of notes.assigned) {
      inputs.forget(task.requestId)
      if (task.createdBlock !== undefined) metrics.latencyBlocks.observe(Number(task.blockNumber - task.createdBlock))
      log.debug(
        {
          requestId: task.requestId.toString(),
          prover: task.prover,
          byMatcher: task.byMatcher,
          block: task.blockNumber,
        },
        'task assigned',
      )
    }
  }
}

/** After a full (re)build: start loading the inputs of every open request that has some to load. */
export function loadOpenInputs(view: Pick<ChainView, 'open'>, inputs: Pick<MatcherInputsStore, 'load'>): void {
  for (const request of view.open.values()) if (loadsInputs(request)) inputs.load(request)
}
