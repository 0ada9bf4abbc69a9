/**
 * When ready fast proofs go out, and how (the fast lane's twin of settle.ts's batching): at once when no other fast
 * offer of this runner is queued or proving (nothing to wait for); otherwise they wait, up to the batch window or
 * until `maxBatch` are ready, so that proofs finishing together share one fulfilSignedBatch. Stopping sends at once.
 */
import type { FastAssignmentOffer } from '../../ts/fast-assignments.js'

export type FastBatchLook = {
  /** Fast proofs ready to submit. */
  ready: number
  /** Fast offers still queued or proving. */
  proving: number
  maxBatch: number
  /** The batch window has passed since the first of the ready proofs started waiting. */
  windowPassed: boolean
  stopping: boolean
}

export function fastBatchStep(look: FastBatchLook): 'idle' | 'send' | 'wait' {
  if (look.ready === 0) return 'idle'
  if (look.stopping || look.windowPassed || look.proving === 0 || look.ready >= look.maxBatch) return 'send'
  return 'wait'
}

/** One proof goes alone (fulfilSigned, whose revert names its failure); several share fulfilSignedBatch. */
export function fastSubmission(count: number): 'fulfilSigned' | 'fulfilSignedBatch' {
  return count === 1 ? 'fulfilSigned' : 'fulfilSignedBatch'
}

/**
 * Which of a requester's proofs its deposit still covers, in order: a deposit that pays for some of them but not all
 * (a withdrawal meanwhile, or offers beyond it) drops the rest before they are sent, since each would be skipped.
 */
export function coveredByDeposits<item extends { offer: Pick<FastAssignmentOffer, 'price'> }>(
  items: readonly item[],
  deposits: ReadonlyMap<string, bigint>,
  keyOf: (item: item) => string,
): { covered: item[]; short: item[] } {
  const left = new Map(deposits)
  const covered: item[] = []
  const short: item[] = []
  for (const item of items) {
    const key = keyOf(item)
    const balance = left.get(key) ?? 0n
    if (balance < item.offer.price) {
      short.push(item)
      continue
    }
    left.set(key, balance - item.offer.price)
    covered.push(item)
  }
  return { covered, short }
}

/** A requester's deposit of one token: what several offers (of markets paying in that token) draw on together. */
export function depositKey(requester: string, token: string): string {
  return `${requester.toLowerCase()}/${token.toLowerCase()}`
}
