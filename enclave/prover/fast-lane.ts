/**
 * The fast lane (with --matcher-url): the matcher assigns signed public requests to this runner off chain (a
 * FastAssignment it signs); the runner proves each and uses it with its proof in one transaction, fulfilSigned (or
 * fulfilSignedBatch for several proofs ready together). Nothing is on chain before that transaction, so nothing here
 * is rebuilt from logs: a restarted runner polls the matcher again, and an offer it used before the restart is
 * skipped by its spent nonce.
 *
 * Each poll reads the matcher's outstanding offers for this runner. A new one is checked (fast-offers.ts: the offer
 * itself, then the nonce and the requester's deposit on chain), held against the runner's own capacity like an
 * assigned task (no capacity is locked on chain, so the runner counts it itself; an offer without room is looked at
 * again next poll), and handed to the scheduler, which proves it like any task (its market's backend, its inputs
 * read and checked by job.ts). Ready proofs are re-checked just before sending (the requester may have withdrawn its
 * deposit or cancelled the nonce meanwhile: dropped, logged and counted) and sent from the runner's transaction lane.
 * Every offer ends once: fulfilled or dropped with a reason.
 */
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { CairnClient } from '../../ts/client.js'
import type { Deployment } from '../../ts/deployment.js'
import { decodeCairnError } from '../../ts/errors.js'
import type { FastAssignmentOffer } from '../../ts/fast-assignments.js'
import {
  type FastFulfilmentOutcome,
  type FastProof,
  fastAssignmentExpiry,
  fulfilSigned,
  fulfilSignedBatch,
} from '../../ts/fast-fulfil.js'
import { getBalance } from '../../ts/readers.js'
import type { SignedRequest } from '../../ts/signed-requests.js'
import type { Fulfilment } from '../../ts/types.js'
import type { ProverBackendKind } from './backends/registry.js'
import type { ChainClock } from './clock.js'
import { coveredByDeposits, depositKey, fastBatchStep, fastSubmission } from './fast-batch.js'
import { chainDrop, fastTask, type OfferChain, type OfferMarket, offerDrop } from './fast-offers.js'
import type { Metrics } from './metrics.js'
import { signedNonceSpent } from './onchain.js'
import type { TrackedTask } from './scheduler.js'
import { sendInLane, type TxLane } from './settle.js'

/** The chain as the fast lane needs it: the offer checks' reads, and the fulfilment itself. */
export type FastLaneChain = OfferChain & {
  /** Sends the proofs (fulfilSigned for one, fulfilSignedBatch for several), calling `onSent` once broadcast. */
  submit(items: readonly FastProof[], onSent: () => void): Promise<FastFulfilmentOutcome>
}

export type FastMarket = OfferMarket & { kind: ProverBackendKind; paymentToken: Address }

/** The fast lane's chain over RPC, sending as the client's account. */
export function fastLaneChainOf(client: CairnClient, markets: ReadonlyMap<bigint, FastMarket>): FastLaneChain {
  return {
    nonceSpent: (request: SignedRequest) => signedNonceSpent(client, request),
    deposit: (requester, marketId) => getBalance(client, requester, (markets.get(marketId) as FastMarket).paymentToken),
    async submit(items, onSent) {
      if (items.length !== 1) return fulfilSignedBatch(client, items, { onSent })
      const { offer, proof, publicInputs } = items[0] as FastProof
      const { receipt, ...fulfilled } = await fulfilSigned(client, offer, proof, publicInputs, { onSent })
      return { fulfilled: [fulfilled], skipped: [], receipt }
    },
  }
}

export type FastLaneParams = {
  me: Address
  deployment: Pick<Deployment, 'chainId' | 'contracts'>
  /** The matcher's outstanding offers for this runner (fetchFastAssignments). */
  fetchOffers(): Promise<FastAssignmentOffer[]>
  chain: FastLaneChain
  lane: TxLane
  markets: ReadonlyMap<bigint, FastMarket>
  clock: ChainClock
  /** The machine's compute units (--capacity), shared with the assigned tasks. */
  capacity: number
  /** Compute held elsewhere: the assigned tasks in progress (and the open offers in hand). */
  tasksCompute(): number
  /** The breaker is tripped: no new work. */
  tripped(): boolean
  /** Hands a task to the scheduler. */
  prove(task: TrackedTask): void
  /** Fast offers queued or proving. */
  proving(): number
  batchWindow: number
  maxBatch: number
  metrics: Pick<
    Metrics,
    'fastOffersSeen' | 'fastOffersProved' | 'fastOffersFulfilled' | 'fastOffersDropped' | 'submissions' | 'retries'
  >
  logger: Logger
  backoff?: { initialMs: number; maxMs: number }
}

export type FastLane = {
  /** One poll of the matcher: takes the new offers that pass the checks and fit. */
  poll(): Promise<void>
  /** The scheduler's proof of a fast task. */
  proof(task: TrackedTask, fulfilment: Fulfilment): void
  /** The scheduler gave a fast task up (its proof failed for good, its time ran out, inputs unprovable). */
  failed(task: TrackedTask, reason: string, error?: unknown): void
  /** A proof attempt ended: ready proofs may stop waiting. */
  poke(): void
  /** Offers in hand (proving, ready or being sent), by request id. */
  held(): bigint[]
  /** Compute the offers in hand hold. */
  heldCompute(): number
  /** Stops taking offers and aborts the proofs in progress (one that cannot be interrupted is still sent). */
  close(): void
  /** Sends every ready proof now and waits for the fast submissions in flight. */
  stop(): Promise<void>
}

type Held = { task: TrackedTask; offer: FastAssignmentOffer; market: FastMarket }
type Ready = Held & { item: FastProof; attempts: number }

/** Reverts that a retry may get past (a verifier short of gas); any other names the offer's end. */
const TRANSIENT = new Set(['CalleeOutOfGas', 'InsufficientGas', 'EmptyRevert'])

/** The drop reason of a contract error: the checks' own names for the same causes, else the error's name. */
function reasonOf(errorName: string): string {
  if (errorName === 'NonceUsed') return 'nonce-spent'
  if (errorName === 'InsufficientDeposit') return 'deposit-short'
  if (errorName === 'FastAssignmentExpired') return 'expired'
  return errorName
}

export function createFastLane(params: FastLaneParams): FastLane {
  const { chain, clock, metrics, logger } = params
  const backoff = params.backoff ?? { initialMs: 1_000, maxMs: 30_000 }
  /** Offers seen, by request id, until they expire: `done` once taken or dropped (never looked at again). */
  const known = new Map<bigint, { expiry: number; done: boolean }>()
  const held = new Map<bigint, Held>()
  const ready = new Map<bigint, Ready>()
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  let windowTimer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let closed = false
  let stopped = false

  const log = (requestId: bigint) => logger.child({ requestId: requestId.toString(), lane: 'fast' })
  const expiryOf = (offer: FastAssignmentOffer) => Number(fastAssignmentExpiry(offer))

  // ------------------------------------------------------------------------------------------------ offers

  async function poll(): Promise<void> {
    if (closed) return
    const offers = await params.fetchOffers()
    forgetExpired()
    for (const offer of offers) {
      if (closed) return
      await consider(offer)
    }
  }

  function forgetExpired(): void {
    const now = clock.now()
    for (const [requestId, entry] of known) if (entry.expiry < now && !held.has(requestId)) known.delete(requestId)
  }

  async function consider(offer: FastAssignmentOffer): Promise<void> {
    let entry = known.get(offer.requestId)
    if (entry?.done) return
    if (entry === undefined) {
      entry = { expiry: expiryOf(offer), done: false }
      known.set(offer.requestId, entry)
      metrics.fastOffersSeen.inc()
    }
    // Left for a later poll: after a breaker reset, or once there is room.
    if (params.tripped()) return
    const now = clock.now()
    const drop = offerDrop(offer, { me: params.me, deployment: params.deployment, markets: params.markets, now })
    if (drop !== undefined) return dropOffer(entry, offer, drop)
    const market = params.markets.get(BigInt(offer.request.marketId)) as FastMarket
    if (!room(market.config.computePerRequest)) return
    const onChain = await chainDrop(offer, chain, committed(offer, market))
    // Stopping meanwhile: left to the next run, which polls again.
    if (closed) return
    if (onChain !== undefined) return dropOffer(entry, offer, onChain)
    entry.done = true
    const task = fastTask(offer, market, now)
    held.set(offer.requestId, { task, offer, market })
    log(offer.requestId).info(
      { marketId: offer.request.marketId, price: offer.price.toString(), expiresAt: task.task.deadline },
      'fast assignment taken',
    )
    params.prove(task)
  }

  function dropOffer(entry: { done: boolean }, offer: FastAssignmentOffer, reason: string): void {
    entry.done = true
    metrics.fastOffersDropped.inc({ reason })
    log(offer.requestId).info({ reason }, 'fast assignment not taken')
  }

  /** Whether `compute` more units fit the machine beside the assigned tasks and the offers in hand. */
  function room(compute: number): boolean {
    let used = params.tasksCompute()
    for (const { task } of held.values()) used += task.task.compute
    return used + compute <= params.capacity
  }

  /** What the requester's offers in hand already draw on the deposit this offer is paid from. */
  function committed(offer: FastAssignmentOffer, market: FastMarket): bigint {
    const key = depositKey(offer.request.requester, market.paymentToken)
    let sum = 0n
    for (const other of held.values()) {
      if (depositKey(other.offer.request.requester, other.market.paymentToken) === key) sum += other.offer.price
    }
    return sum
  }

  /** An offer in hand ends without a fulfilment. */
  function release(requestId: bigint, reason: string, error?: unknown): void {
    const entry = held.get(requestId)
    if (entry === undefined) return
    held.delete(requestId)
    ready.delete(requestId)
    entry.task.abort.abort()
    metrics.fastOffersDropped.inc({ reason })
    const shown = decodeCairnError(error)?.message ?? (error instanceof Error ? error.message : undefined)
    log(requestId).warn({ reason, ...(shown === undefined ? {} : { error: shown }) }, 'fast assignment dropped')
  }

  // ------------------------------------------------------------------------------------------------ proofs

  function proof(task: TrackedTask, fulfilment: Fulfilment): void {
    const entry = held.get(task.requestId)
    if (entry === undefined || entry.task !== task) return
    metrics.fastOffersProved.inc()
    // Inline inputs are read from the request on chain: sending them again would only cost calldata.
    const inline = entry.offer.request.publicInputs.data.length > 2
    const item: FastProof = {
      offer: entry.offer,
      proof: fulfilment.proof,
      ...(inline ? {} : { publicInputs: fulfilment.publicInputs as Hex }),
    }
    ready.set(task.requestId, { ...entry, item, attempts: 0 })
    schedule()
  }

  function failed(task: TrackedTask, reason: string, error?: unknown): void {
    if (held.get(task.requestId)?.task === task) release(task.requestId, reason, error)
  }

  // ------------------------------------------------------------------------------------------------ submission

  function schedule(windowPassed = false): void {
    if (flushing !== undefined) return
    const step = fastBatchStep({
      ready: ready.size,
      proving: params.proving(),
      maxBatch: params.maxBatch,
      windowPassed,
      stopping: stopped,
    })
    if (step === 'idle') return
    if (step === 'wait') {
      windowTimer ??= setTimeout(() => {
        windowTimer = undefined
        schedule(true)
      }, params.batchWindow)
      return
    }
    clearTimeout(windowTimer)
    windowTimer = undefined
    const items = [...ready.values()].slice(0, params.maxBatch)
    for (const item of items) ready.delete(item.offer.requestId)
    const { sent, done } = sendInLane(params.lane, (onSent) => submit(items, onSent))
    flushing = sent.finally(() => {
      flushing = undefined
      schedule()
    })
    track(done)
  }

  function track(work: Promise<void>): void {
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work))
  }

  async function submit(items: Ready[], onSent: () => void): Promise<void> {
    let live: Ready[]
    try {
      live = await stillPayable(items)
    } catch (error) {
      return retry(items, error)
    }
    if (live.length === 0) return
    let outcome: FastFulfilmentOutcome
    try {
      outcome = await chain.submit(
        live.map(({ item }) => item),
        onSent,
      )
    } catch (error) {
      const name = decodeCairnError(error)?.name
      // One proof alone reverts with its own reason; a whole batch reverts only for gas: sent again.
      if (name === undefined || TRANSIENT.has(name) || live.length > 1) return retry(live, error)
      return release((live[0] as Ready).offer.requestId, reasonOf(name), error)
    }
    metrics.submissions.inc({ method: fastSubmission(live.length) })
    const byId = new Map(live.map((item) => [item.offer.requestId, item]))
    for (const { requestId, price } of outcome.fulfilled) {
      if (!held.delete(requestId)) continue
      metrics.fastOffersFulfilled.inc()
      log(requestId).info(
        { price: price.toString(), transactionHash: outcome.receipt.transactionHash },
        'fast assignment fulfilled',
      )
    }
    for (const { requestId, reason } of outcome.skipped) {
      const item = byId.get(requestId)
      if (item === undefined || !held.has(requestId)) continue
      if (TRANSIENT.has(reason.name)) retry([item], reason)
      else release(requestId, reasonOf(reason.name), reason)
    }
  }

  /**
   * The items still worth sending, read from the chain just before: not expired, nonce unspent (the requester
   * cancelled, or the request was used another way), and the requesters' deposits covering them (a withdrawal).
   */
  async function stillPayable(items: Ready[]): Promise<Ready[]> {
    const now = clock.now()
    const timely = items.filter((item) => {
      if (now <= expiryOf(item.offer)) return true
      release(item.offer.requestId, 'expired')
      return false
    })
    const spent = await Promise.all(timely.map(({ offer }) => chain.nonceSpent(offer.request)))
    const unspent = timely.filter((item, i) => {
      if (!spent[i]) return true
      release(item.offer.requestId, 'nonce-spent', new Error('the nonce was spent before the proof was sent'))
      return false
    })
    const keyOf = (item: Ready) => depositKey(item.offer.request.requester, item.market.paymentToken)
    const deposits = new Map<string, bigint>()
    for (const item of unspent) {
      const key = keyOf(item)
      if (!deposits.has(key)) {
        deposits.set(key, await chain.deposit(item.offer.request.requester, BigInt(item.offer.request.marketId)))
      }
    }
    const { covered, short } = coveredByDeposits(unspent, deposits, keyOf)
    for (const item of short) {
      release(
        item.offer.requestId,
        'deposit-short',
        new Error(`the requester ${item.offer.request.requester} withdrew: its deposit no longer covers the price`),
      )
    }
    return covered
  }

  /** Sends the items again after a backoff, together (they were ready together), or drops those out of time. */
  function retry(items: Ready[], error: unknown): void {
    const delayOf = (item: Ready) => Math.min(backoff.maxMs, backoff.initialMs * 2 ** item.attempts)
    const again = items.filter((item) => {
      if (!stopped && clock.now() + delayOf(item) / 1000 <= expiryOf(item.offer)) return true
      release(item.offer.requestId, stopped ? 'stopped' : 'expired', error)
      return false
    })
    if (again.length === 0) return
    const delay = Math.max(...again.map(delayOf))
    metrics.retries.inc({ stage: 'fast-submit' }, again.length)
    const ids = again.map((item) => item.offer.requestId.toString())
    logger.warn({ requestIds: ids, lane: 'fast', err: error, retryInMs: delay }, 'fast submission failed; retrying')
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (stopped) return
      for (const item of again) {
        if (held.has(item.offer.requestId)) ready.set(item.offer.requestId, { ...item, attempts: item.attempts + 1 })
      }
      schedule(true)
    }, delay)
    timers.add(timer)
  }

  function close(): void {
    closed = true
    for (const { task } of held.values()) if (!ready.has(task.requestId)) task.abort.abort()
  }

  async function stop(): Promise<void> {
    close()
    stopped = true
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    schedule(true)
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    clearTimeout(windowTimer)
  }

  return {
    poll,
    proof,
    failed,
    poke: () => schedule(),
    held: () => [...held.keys()],
    heldCompute: () => [...held.values()].reduce((sum, { task }) => sum + task.task.compute, 0),
    close,
    stop,
  }
}
