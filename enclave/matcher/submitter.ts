import type { Logger } from 'pino'
import type { Hash, TransactionReceipt } from 'viem'
import type { SignedAssignmentBatch } from '../../ts/assignment.js'
import { decodeCairnError } from '../../ts/errors.js'
import type { Assignment, Request } from '../../ts/types.js'
import type { BatchOutcome, SentBatch } from './batches.js'
import type { MatcherRequest } from './chain.js'
import { type Book, type MatchItem, releaseHold } from './engine.js'
import type { Metrics } from './metrics.js'

/*
 * The batch submitter: at most one assign transaction in flight. A batch is signed valid until chain time + the
 * signature validity and sent without waiting; each poll settles it from its receipt. Mined, its skipped items are
 * free again; reverted, or not mined before its signature expired (past validUntil it can only revert), all its items
 * are. A batch the marketplace refused NotMatcher in simulation asks for the key to be registered again.
 */

export type PendingBatch = { hash: Hash; items: MatchItem<MatcherRequest>[]; validUntil: number; sentBlock: bigint }

/** An item ready to sign: its assignment, with the re-wrapped data key when the request has private inputs. */
export type Prepared = { item: MatchItem<MatcherRequest>; assignment: Assignment & { request: Request } }

/** What the receipt of a pending batch (undefined: not mined yet) says at chain time `now`. */
export type Settlement =
  | { kind: 'in-flight' }
  | { kind: 'expired' }
  | { kind: 'reverted'; receipt: TransactionReceipt }
  | { kind: 'landed'; receipt: TransactionReceipt }

export function settlementOf(
  batch: Pick<PendingBatch, 'validUntil'>,
  receipt: TransactionReceipt | undefined,
  now: number,
): Settlement {
  if (receipt === undefined) return now <= batch.validUntil ? { kind: 'in-flight' } : { kind: 'expired' }
  return receipt.status === 'success' ? { kind: 'landed', receipt } : { kind: 'reverted', receipt }
}

export type SubmitterPorts = {
  /** The receipt of a sent transaction; undefined while it is not mined. */
  receipt: (hash: Hash) => Promise<TransactionReceipt | undefined>
  /** Signs the assignments with the attested key, valid until `validUntil` (chain time). */
  sign: (assignments: Prepared['assignment'][], validUntil: bigint) => Promise<SignedAssignmentBatch>
  send: (batch: SignedAssignmentBatch) => Promise<SentBatch>
  /** What a mined batch did, item by item. */
  outcome: (receipt: TransactionReceipt) => BatchOutcome
  /** The book whose holds the batches take and release (the indexer's current one). */
  book: () => Book<MatcherRequest>
  /** The marketplace refused the key as a Matcher. */
  onRefused: () => void
  signatureValidity: number
  metrics: Pick<Metrics, 'batchesSent' | 'batchFailures' | 'assignments' | 'assignmentSkips'>
  log: Logger
}

export type Submitter = {
  readonly pending: PendingBatch | undefined
  /** Settles the batch in flight, if any, from its receipt at chain time `now`. */
  settle: (now: number) => Promise<void>
  /**
   * Prepares (`prepare`), signs and sends the held items as one batch at `block` and chain time `now`. Never throws:
   * a failure is counted and logged, and whatever was not sent is released.
   */
  submit: (
    held: readonly MatchItem<MatcherRequest>[],
    prepare: () => Promise<Prepared[]>,
    at: { block: bigint; now: number },
  ) => Promise<void>
}

export function createSubmitter(ports: SubmitterPorts): Submitter {
  const { metrics, log } = ports
  let pending: PendingBatch | undefined
  // A request no longer held (released or dropped meanwhile) is left as it is.
  const release = (items: readonly { requestId: bigint }[]) => {
    for (const item of items) releaseHold(ports.book(), item.requestId)
  }

  function landed(batch: PendingBatch, receipt: TransactionReceipt): void {
    const outcome = ports.outcome(receipt)
    metrics.assignments.inc(outcome.assigned.length)
    release(outcome.skipped)
    for (const skip of outcome.skipped) {
      metrics.assignmentSkips.inc({ reason: skip.reason.name })
      log.info(
        { requestId: skip.requestId.toString(), prover: skip.prover, reason: skip.reason.message },
        'assignment skipped',
      )
    }
    log.info(
      {
        tx: batch.hash,
        block: receipt.blockNumber,
        blocks: Number(receipt.blockNumber - batch.sentBlock),
        assigned: outcome.assigned.length,
        skipped: outcome.skipped.length,
        gasUsed: receipt.gasUsed,
      },
      'batch landed',
    )
  }

  return {
    get pending() {
      return pending
    },
    async settle(now) {
      const batch = pending
      if (batch === undefined) return
      const settlement = settlementOf(batch, await ports.receipt(batch.hash), now)
      if (settlement.kind === 'in-flight') return
      pending = undefined
      if (settlement.kind === 'landed') return landed(batch, settlement.receipt)
      release(batch.items)
      if (settlement.kind === 'expired') {
        metrics.batchFailures.inc({ reason: 'Expired' })
        log.warn({ tx: batch.hash, validUntil: batch.validUntil }, 'batch not mined before its signature expired')
      } else {
        metrics.batchFailures.inc({ reason: 'Reverted' })
        log.warn({ tx: batch.hash, block: settlement.receipt.blockNumber }, 'assign transaction reverted')
      }
    },
    async submit(held, prepare, at) {
      let sent = false
      try {
        const prepared = await prepare()
        const items = prepared.map(({ item }) => item)
        if (items.length === 0) return
        const validUntil = at.now + ports.signatureValidity
        const signed = await ports.sign(
          prepared.map(({ assignment }) => assignment),
          BigInt(validUntil),
        )
        const { hash, uncertain } = await ports.send(signed)
        sent = true
        pending = { hash, items, validUntil, sentBlock: at.block }
        metrics.batchesSent.inc()
        if (uncertain === undefined) log.info({ tx: hash, block: at.block, items: items.length }, 'batch sent')
        else log.warn({ tx: hash, err: uncertain }, 'batch send unconfirmed: tracked until mined or expired')
      } catch (error) {
        const decoded = decodeCairnError(error)
        metrics.batchFailures.inc({ reason: decoded?.name ?? 'SendFailed' })
        log.warn({ err: decoded ?? error, items: held.length }, 'batch not sent')
        if (decoded?.name === 'NotMatcher') ports.onRefused()
      } finally {
        // Whatever was not sent is free again (items already released or dropped are left as they are).
        if (!sent) release(held)
      }
    },
  }
}
