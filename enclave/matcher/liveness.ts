import type { Address } from 'viem'
import type { Book, OpenRequest, ProverState } from './book.js'

/*
 * Evidence that a prover is gone, from the chain alone.
 *
 * A crashed prover leaves its listings active, and the registry keeps counting room for it: without this, every
 * task the matcher sends it misses its deadline, and each slash frees compute for the next doomed batch. So the
 * engine stops matching a prover once the chain shows it has not answered work it took on.
 *
 * Evidence. A task of the prover that is still unanswered (no RequestFulfilled, no InputsRejected) at its answer-by
 * time: assignment + the prover's own listed proving time + a grace the matcher operator sets, and never later than
 * the task's deadline. A task slashed without an answer is evidence too, for good: the slash removes the task, not
 * what it showed.
 *
 * Signs of life end it. Anything the prover does itself on chain, timed by its block: a fulfil or an inputs
 * rejection, a fallback claim, registering, setting its capacity, listing, updating or resuming a listing. Evidence
 * counts only when no sign of life came after it, so a prover that answers other work while one task is stuck stays
 * matched, and a restarted runner comes back with the one CapacityUpdated it sends as it starts (the prover
 * runner's announce, in enclave/prover/onchain.ts).
 *
 * Nobody else can make a prover look gone. Evidence comes only from the prover's own tasks, and a task is only ever
 * the prover's by an authorised matcher's signature or by the prover's own claim; the signs of life are events only
 * the prover's own account (or, for inputs rejections, its own enclave key) can cause; and the answer-by time
 * follows from the task record and the prover's own listing. A requester can post work the prover cannot prove,
 * but the prover can reject inputs it cannot use through its enclave, and any other answer it gives brings it back.
 *
 * Cost: per prover, its unanswered tasks and a min-heap of their answer-by times, cleaned lazily, so a check is
 * O(1) amortised and a task costs O(log tasks) over its life.
 */

export type Liveness = {
  /** Chain time of the prover's latest sign of life (0: none seen). */
  aliveAt: number
  /** Tasks without an answer yet: request id → the chain time a live prover would have answered by. */
  unanswered: Map<bigint, number>
  /**
   * Answer-by times that may still be evidence, soonest first: unanswered tasks, and slashed ones (MISSED). An entry
   * is stale once its task is answered or a sign of life came after it; stale entries leave as they reach the top.
   */
  dues: Due[]
}

type Due = { at: number; requestId: bigint }

/** The request id of a heap entry for a slashed task: it stays evidence until a sign of life after it. */
const MISSED = -1n

export function newLiveness(): Liveness {
  return { aliveAt: 0, unanswered: new Map(), dues: [] }
}

/**
 * When a live prover would have answered a task: assignment + its listed proving time + `grace`, capped at the
 * task's deadline (past the deadline it can only be slashed).
 */
export function answerBy(params: { assignedAt: number; listedProvingTime: number; grace: number; deadline: number }) {
  return Math.min(params.assignedAt + params.listedProvingTime + params.grace, params.deadline)
}

/** A sign of life from the prover's own account at chain time `at`. */
export function noteProverAlive<request extends OpenRequest>(
  book: Book<request>,
  params: { prover: Address; at: number },
): void {
  const liveness = livenessOf(book, params.prover)
  if (liveness === undefined) return
  liveness.aliveAt = Math.max(liveness.aliveAt, params.at)
}

/**
 * TaskAssigned: the task is due an answer by assignment + the prover's listed proving time in the task's market +
 * `grace`, capped at the task's deadline (past it the task can only be slashed). Without the listing (delisted
 * meanwhile) the deadline alone counts. A fallback claim is the prover's own call: a sign of life as well.
 */
export function noteTaskAssigned<request extends OpenRequest>(
  book: Book<request>,
  params: {
    requestId: bigint
    prover: Address
    marketId: bigint
    assignedAt: number
    deadline: number
    grace: number
    byMatcher: boolean
  },
): void {
  const prover = book.provers.get(params.prover.toLowerCase())
  if (prover === undefined) return
  const liveness = prover.liveness
  const listed = prover.listings.get(params.marketId)?.provingTime
  const due =
    listed === undefined
      ? params.deadline
      : answerBy({
          assignedAt: params.assignedAt,
          listedProvingTime: listed,
          grace: params.grace,
          deadline: params.deadline,
        })
  liveness.unanswered.set(params.requestId, due)
  pushDue(liveness.dues, { at: due, requestId: params.requestId })
  if (!params.byMatcher) liveness.aliveAt = Math.max(liveness.aliveAt, params.assignedAt)
}

/**
 * A task ended. `answered` (RequestFulfilled, InputsRejected) is a sign of life at `at`; a slash keeps the task's
 * answer-by time as evidence until a later sign of life.
 */
export function noteTaskEnded<request extends OpenRequest>(
  book: Book<request>,
  params: { requestId: bigint; prover: Address; answered: boolean; at: number },
): void {
  const liveness = livenessOf(book, params.prover)
  if (liveness === undefined) return
  const due = liveness.unanswered.get(params.requestId)
  liveness.unanswered.delete(params.requestId)
  if (params.answered) liveness.aliveAt = Math.max(liveness.aliveAt, params.at)
  else if (due !== undefined) pushDue(liveness.dues, { at: due, requestId: MISSED })
}

/**
 * The chain time from which the chain shows the prover gone at `now` (its earliest evidence no sign of life
 * followed), or undefined while it is not.
 */
export function proverGoneSince<request extends OpenRequest>(
  book: Book<request>,
  proverAddress: Address,
  now: number,
): number | undefined {
  const prover = book.provers.get(proverAddress.toLowerCase())
  return prover === undefined ? undefined : evidenceOf(prover.liveness, now)
}

/** Every prover the chain shows gone at `now`, with the time its evidence dates from. */
export function goneProvers<request extends OpenRequest>(
  book: Book<request>,
  now: number,
): { prover: Address; since: number }[] {
  const gone: { prover: Address; since: number }[] = []
  for (const prover of book.provers.values()) {
    const since = evidenceOf(prover.liveness, now)
    if (since !== undefined) gone.push({ prover: prover.address, since })
  }
  return gone
}

/** Whether the engine may match the prover at `now`. */
export function proverLive(prover: ProverState, now: number): boolean {
  return evidenceOf(prover.liveness, now) === undefined
}

/** The soonest answer-by time still standing as evidence, if it is due by `now`. */
function evidenceOf(liveness: Liveness, now: number): number | undefined {
  const dues = liveness.dues
  for (;;) {
    const top = dues[0]
    if (top === undefined) return undefined
    const standing =
      top.at > liveness.aliveAt && (top.requestId === MISSED || liveness.unanswered.get(top.requestId) === top.at)
    if (standing) return top.at <= now ? top.at : undefined
    popDue(dues)
  }
}

// A binary min-heap of answer-by times.

function pushDue(heap: Due[], due: Due): void {
  heap.push(due)
  let i = heap.length - 1
  while (i > 0) {
    const parent = (i - 1) >>> 1
    if ((heap[parent] as Due).at <= due.at) break
    heap[i] = heap[parent] as Due
    i = parent
  }
  heap[i] = due
}

function popDue(heap: Due[]): void {
  const last = heap.pop()
  if (last === undefined || heap.length === 0) return
  let i = 0
  for (;;) {
    const left = 2 * i + 1
    if (left >= heap.length) break
    const right = left + 1
    const child = right < heap.length && (heap[right] as Due).at < (heap[left] as Due).at ? right : left
    if ((heap[child] as Due).at >= last.at) break
    heap[i] = heap[child] as Due
    i = child
  }
  heap[i] = last
}

function livenessOf<request extends OpenRequest>(book: Book<request>, prover: Address): Liveness | undefined {
  return book.provers.get(prover.toLowerCase())?.liveness
}
