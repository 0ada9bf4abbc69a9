import type { Logger } from 'pino'
import type { Hash, TransactionReceipt } from 'viem'
import type { SignedAssignmentBatch } from '../../ts/assignment.js'
import { type CairnContractError, decodeCairnError } from '../../ts/errors.js'
import type { Assignment, Request } from '../../ts/types.js'
import type { BatchOutcome, SentBatch } from './batches.js'
import type { MatcherRequest } from './chain.js'
import { type Book, type MatchItem, releaseHold, requestStatus } from './engine.js'
import type { Metrics } from './metrics.js'
import type { SignedSend } from './signed-batches.js'

/*
 * The batch submitter: at most one assign transaction in flight. A batch is signed valid until chain time + the
 * signature validity and sent without waiting; each poll settles it from its receipt. Mined, its skipped items are
 * free again; reverted, or not mined before its signature expired (past validUntil it can only revert), all its items
 * are. A batch the marketplace refused NotMatcher in simulation asks for the key to be registered again.
 */

export type PendingBatch = {
  hash: Hash
  items: MatchItem<MatcherRequest>[]
  validUntil: number
  sentBlock: bigint
  /** `assign` for on-chain requests, `assignSigned` for signed orders (order stream). */
  kind: 'assign' | 'assignSigned'
}

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
  /** Simulates an assignSigned batch, drops the items that would fail, sends the rest (signed-batches.ts). */
  sendSigned: (prepared: Prepared[], at: { validUntil: bigint; now: number }) => Promise<SignedSend>
  /** What happens to signed orders beyond their holds (the order stream). */
  orders: SignedOrderHooks
  signatureValidity: number
  metrics: Pick<Metrics, 'batchesSent' | 'batchFailures' | 'assignments' | 'assignmentSkips' | 'signedItemsDropped'>
  log: Logger
}

/** The order stream's part in settling signed items. */
export type SignedOrderHooks = {
  /**
   * A signed item the chain refused (simulated or skipped in a mined batch), its hold already released: the order
   * stream drops the order for a permanent reason or backs off for a transient one.
   */
  refused: (item: MatchItem<MatcherRequest>, reason: CairnContractError, where: 'simulation' | 'batch') => void
  /** An assignSigned batch reverted or expired unmined: its items' holds are released already. */
  failed: (items: readonly MatchItem<MatcherRequest>[]) => void
}

export type Submitter = {
  readonly pending: PendingBatch | undefined
  /** Signed items of the last round waiting for its assign batch to settle (sent right after: one in flight). */
  readonly queued: readonly Prepared[]
  /**
   * Settles the batch in flight, if any, from its receipt at chain time `now`; then sends the signed items queued
   * behind it, at `block` (without one, as when stopping, they are released instead).
   */
  settle: (now: number, block?: bigint) => Promise<void>
  /**
   * Prepares (`prepare`), signs and sends the held items at `block` and chain time `now`: on-chain requests with
   * `assign`, and signed orders with `assignSigned` (simulated first), after the assign batch settles when there are
   * both. Never throws: a failure is counted and logged, and whatever was not sent or queued is released.
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
  let queued: Prepared[] = []
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
      const item = batch.items.find((candidate) => candidate.requestId === skip.requestId)
      if (item?.request.signed !== undefined) ports.orders.refused(item, skip.reason, 'batch')
    }
    log.info(
      {
        tx: batch.hash,
        kind: batch.kind,
        block: receipt.blockNumber,
        blocks: Number(receipt.blockNumber - batch.sentBlock),
        assigned: outcome.assigned.length,
        skipped: outcome.skipped.length,
        gasUsed: receipt.gasUsed,
      },
      'batch landed',
    )
  }

  function failed(error: unknown, items: number): void {
    const decoded = decodeCairnError(error)
    metrics.batchFailures.inc({ reason: decoded?.name ?? 'SendFailed' })
    log.warn({ err: decoded ?? error, items }, 'batch not sent')
    if (decoded?.name === 'NotMatcher') ports.onRefused()
  }

  function track(
    sent: SentBatch,
    items: MatchItem<MatcherRequest>[],
    kind: PendingBatch['kind'],
    validUntil: number,
    block: bigint,
  ): void {
    const { hash, uncertain } = sent
    pending = { hash, items, validUntil, sentBlock: block, kind }
    metrics.batchesSent.inc()
    if (uncertain === undefined) log.info({ tx: hash, kind, block, items: items.length }, 'batch sent')
    else log.warn({ tx: hash, kind, err: uncertain }, 'batch send unconfirmed: tracked until mined or expired')
  }

  /** Sends signed items (simulated first); returns the items that stay held (sent). */
  async function sendSigned(items: Prepared[], at: { block: bigint; now: number }): Promise<Prepared[]> {
    const validUntil = at.now + ports.signatureValidity
    try {
      const result = await ports.sendSigned(items, { validUntil: BigInt(validUntil), now: at.now })
      for (const { prepared, reason } of result.dropped) {
        releaseHold(ports.book(), prepared.item.requestId)
        metrics.signedItemsDropped.inc({ reason: reason.name })
        log.info(
          {
            requestId: prepared.item.requestId.toString(),
            requester: prepared.item.request.requester,
            reason: reason.message,
          },
          'signed order left out of the batch: its simulation fails',
        )
        ports.orders.refused(prepared.item, reason, 'simulation')
      }
      if (result.sent === undefined) return []
      track(
        result.sent,
        result.items.map(({ item }) => item),
        'assignSigned',
        validUntil,
        at.block,
      )
      return result.items
    } catch (error) {
      failed(error, items.length)
      return []
    }
  }

  /** Sends the prepared items; returns those that stay held (sent, or queued behind the batch sent). */
  async function send(prepared: Prepared[], at: { block: bigint; now: number }): Promise<Prepared[]> {
    const onchain = prepared.filter(({ item }) => item.request.signed === undefined)
    const signed = prepared.filter(({ item }) => item.request.signed !== undefined)
    if (onchain.length === 0) return sendSigned(signed, at)
    const validUntil = at.now + ports.signatureValidity
    try {
      const batch = await ports.sign(
        onchain.map(({ assignment }) => assignment),
        BigInt(validUntil),
      )
      track(
        await ports.send(batch),
        onchain.map(({ item }) => item),
        'assign',
        validUntil,
        at.block,
      )
    } catch (error) {
      failed(error, onchain.length)
      return sendSigned(signed, at)
    }
    queued = signed
    return prepared
  }

  async function sendQueued(at: { block: bigint; now: number }): Promise<void> {
    const waiting = queued.filter(({ item }) => requestStatus(ports.book(), item.requestId) === 'held')
    queued = []
    if (waiting.length === 0) return
    const kept = new Set((await sendSigned(waiting, at)).map(({ item }) => item.requestId))
    release(waiting.filter(({ item }) => !kept.has(item.requestId)).map(({ item }) => item))
  }

  return {
    get pending() {
      return pending
    },
    get queued() {
      return queued
    },
    async settle(now, block) {
      const batch = pending
      if (batch !== undefined) {
        const settlement = settlementOf(batch, await ports.receipt(batch.hash), now)
        if (settlement.kind === 'in-flight') return
        pending = undefined
        if (settlement.kind === 'landed') landed(batch, settlement.receipt)
        else {
          release(batch.items)
          if (batch.kind === 'assignSigned') ports.orders.failed(batch.items)
          if (settlement.kind === 'expired') {
            metrics.batchFailures.inc({ reason: 'Expired' })
            log.warn({ tx: batch.hash, validUntil: batch.validUntil }, 'batch not mined before its signature expired')
          } else {
            metrics.batchFailures.inc({ reason: 'Reverted' })
            log.warn({ tx: batch.hash, block: settlement.receipt.blockNumber }, 'assign transaction reverted')
          }
        }
      }
      if (queued.length === 0) return
      if (block === undefined) {
        release(queued.map(({ item }) => item))
        queued = []
      } else await sendQueued({ block, now })
    },
    async submit(held, prepare, at) {
      let kept = new Set<bigint>()
      try {
        const prepared = await prepare()
        if (prepared.length === 0) return
        kept = new Set((await send(prepared, at)).map(({ item }) => item.requestId))
      } catch (error) {
        failed(error, held.length)
      } finally {
        // Whatever was not sent or queued is free again (items already released or dropped are left as they are).
        release(held.filter((item) => !kept.has(item.requestId)))
      }
    },
  }
}
