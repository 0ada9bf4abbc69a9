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
 * Cost: per prover, its unanswered tasks; the engine checks each prover with a listing once per round.
 */

export type Liveness = {
  /** Chain time of the prover's latest sign of life (0: none seen). */
  aliveAt: number
  /** Tasks without an answer yet: request id → the chain time a live prover would have answered by. */
  unanswered: Map<bigint, number>
  /** The latest answer-by time of a task slashed without an answer (0: none). */
  missedAt: number
  /** The round `gone` was worked out for. */
  round: number
  gone: boolean
}

export function newLiveness(): Liveness {
  return { aliveAt: 0, unanswered: new Map(), missedAt: 0, round: 0, gone: false }
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
  liveness.round = 0
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
  if (!params.byMatcher) liveness.aliveAt = Math.max(liveness.aliveAt, params.assignedAt)
  liveness.round = 0
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
  else if (due !== undefined) liveness.missedAt = Math.max(liveness.missedAt, due)
  liveness.round = 0
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

/** Whether the engine may match the prover in this round (worked out once per prover and round). */
export function proverLive(prover: ProverState, round: number, now: number): boolean {
  const liveness = prover.liveness
  if (liveness.round !== round) {
    liveness.round = round
    liveness.gone = evidenceOf(liveness, now) !== undefined
  }
  return !liveness.gone
}

function evidenceOf(liveness: Liveness, now: number): number | undefined {
  let since: number | undefined
  const consider = (at: number) => {
    if (at > liveness.aliveAt && at <= now && (since === undefined || at < since)) since = at
  }
  if (liveness.missedAt !== 0) consider(liveness.missedAt)
  for (const due of liveness.unanswered.values()) consider(due)
  return since
}

function livenessOf<request extends OpenRequest>(book: Book<request>, prover: Address): Liveness | undefined {
  return book.provers.get(prover.toLowerCase())?.liveness
}
