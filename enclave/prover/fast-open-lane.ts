/**
 * The fast lane of on-chain requests (with --matcher-url): the matcher's `open` offers, each a fast assignment of a
 * request still Open on chain. The runner proves it and settles it with fulfilOpen, one transaction per request (no
 * batch: each settles its own escrow), with no assign transaction before. A restarted runner simply polls again: an
 * offer it settled before is no longer Open.
 *
 * A new offer is checked (fast-open.ts) against the request's RequestCreated log, held against the runner's
 * capacity like an assigned task (an offer without room is looked at again next poll), checked Open on chain, and
 * handed to the scheduler. A ready proof is re-checked just before sending (the request may have been assigned or
 * claimed meanwhile: `not-open`) and sent from the runner's transaction lane. Every offer ends once: fulfilled or
 * dropped with a reason (the fast lane's dropped metric).
 */
import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { CairnClient } from '../../ts/client.js'
import { decodeCairnError } from '../../ts/errors.js'
import type { OpenOffer } from '../../ts/fast-assignments.js'
import { fulfilOpen, type OpenFulfilled, openOfferExpiry } from '../../ts/fast-fulfil.js'
import type { Fulfilment, RequestCreation, RequestStatus } from '../../ts/types.js'
import type { ChainClock } from './clock.js'
import type { FastMarket } from './fast-lane.js'
import { openOfferDrop, openTask } from './fast-open.js'
import type { Metrics } from './metrics.js'
import type { TrackedTask } from './scheduler.js'
import { sendInLane, type TxLane } from './settle.js'

/** The chain as the open lane needs it. */
export type OpenLaneChain = {
  /** The request's RequestCreated log (its record and inputs), undefined when none is found. */
  creation(requestId: bigint): Promise<RequestCreation | undefined>
  status(requestId: bigint): Promise<RequestStatus>
  /** Sends fulfilOpen, calling `onSent` once broadcast. */
  submit(offer: OpenOffer, publicInputs: Hex, proof: Hex, onSent: () => void): Promise<OpenFulfilled>
}

/** The open lane's chain over RPC, sending as the client's account. */
export function openLaneChainOf(client: CairnClient, reads: Pick<OpenLaneChain, 'creation' | 'status'>): OpenLaneChain {
  return {
    ...reads,
    submit: (offer, publicInputs, proof, onSent) => fulfilOpen(client, offer, publicInputs, proof, { onSent }),
  }
}

export type OpenLaneParams = {
  me: Address
  chain: OpenLaneChain
  lane: TxLane
  markets: ReadonlyMap<bigint, FastMarket>
  clock: ChainClock
  /** The machine's compute units (--capacity), shared with the assigned tasks and the signed offers. */
  capacity: number
  /** Compute held elsewhere: the assigned tasks in progress and the signed offers in hand. */
  otherCompute(): number
  tripped(): boolean
  /** Hands a task to the scheduler. */
  prove(task: TrackedTask): void
  metrics: Pick<
    Metrics,
    'fastOffersSeen' | 'fastOffersProved' | 'fastOffersFulfilled' | 'fastOffersDropped' | 'submissions' | 'retries'
  >
  logger: Logger
  backoff?: { initialMs: number; maxMs: number }
}

export type OpenLane = {
  /** Takes the new offers of one matcher poll that pass the checks and fit. */
  take(offers: readonly OpenOffer[]): Promise<void>
  proof(task: TrackedTask, fulfilment: Fulfilment): void
  failed(task: TrackedTask, reason: string, error?: unknown): void
  /** Offers in hand (proving or being sent), by request id. */
  held(): bigint[]
  /** Compute the offers in hand hold. */
  heldCompute(): number
  /** Stops taking offers and aborts the proofs in progress. */
  close(): void
  /** Waits for the submissions in flight (no retry after this). */
  stop(): Promise<void>
}

type Held = { task: TrackedTask; offer: OpenOffer }

/** Reverts that a retry may get past (a verifier short of gas); any other names the offer's end. */
const TRANSIENT = new Set(['CalleeOutOfGas', 'InsufficientGas', 'EmptyRevert'])

/** The drop reason of a contract error: the checks' own names for the same causes, else the error's name. */
function reasonOf(errorName: string): string {
  if (errorName === 'RequestNotOpen') return 'not-open'
  if (errorName === 'RecordMismatch') return 'record-mismatch'
  if (errorName === 'FastAssignmentExpired') return 'expired'
  return errorName
}

/**
 * Polls an open offer is looked at while its request's RequestCreated log cannot be found (the runner's node behind
 * the matcher's), before it is dropped as `unknown-request`: about 10 s at the default --fast-poll-ms.
 */
export const UNSEEN_REQUEST_POLLS = 20

export function createOpenLane(params: OpenLaneParams): OpenLane {
  const { chain, clock, metrics, logger } = params
  const backoff = params.backoff ?? { initialMs: 1_000, maxMs: 30_000 }
  /**
   * Offers seen, by request id, until they expire: `done` once taken or dropped; `unseen`, the polls that found no
   * RequestCreated for it yet.
   */
  const known = new Map<bigint, { expiry: number; done: boolean; unseen: number }>()
  const held = new Map<bigint, Held>()
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  let closed = false
  let stopped = false

  const log = (requestId: bigint) => logger.child({ requestId: requestId.toString(), lane: 'fast-open' })

  async function take(offers: readonly OpenOffer[]): Promise<void> {
    const now = clock.now()
    for (const [requestId, entry] of known) if (entry.expiry < now && !held.has(requestId)) known.delete(requestId)
    for (const offer of offers) {
      if (closed) return
      await consider(offer)
    }
  }

  async function consider(offer: OpenOffer): Promise<void> {
    let entry = known.get(offer.requestId)
    if (entry?.done) return
    if (entry === undefined) {
      entry = { expiry: Number(openOfferExpiry(offer)), done: false, unseen: 0 }
      known.set(offer.requestId, entry)
      metrics.fastOffersSeen.inc()
    }
    if (params.tripped()) return
    // The cheap check first: another prover's offer costs no log search.
    const me = { me: params.me, markets: params.markets, now: clock.now() }
    if (openOfferDrop(offer, undefined, me) === 'not-mine') return dropOffer(entry, offer, 'not-mine')
    const creation = await chain.creation(offer.requestId)
    const now = clock.now()
    const drop = openOfferDrop(offer, creation, { ...me, now })
    // The matcher may have read the request's block before this runner's node has: look again on the next polls.
    if (drop === 'unknown-request' && creation === undefined && ++entry.unseen < UNSEEN_REQUEST_POLLS) {
      log(offer.requestId).debug({ polls: entry.unseen }, 'open fast assignment of a request not seen yet')
      return
    }
    if (drop !== undefined) return dropOffer(entry, offer, drop)
    const created = creation as RequestCreation
    const market = params.markets.get(created.marketId) as FastMarket
    if (!room(market.config.computePerRequest)) return
    const status = await chain.status(offer.requestId)
    if (closed) return
    if (status !== 'Open') return dropOffer(entry, offer, 'not-open')
    entry.done = true
    const task = openTask(offer, created, market, now)
    held.set(offer.requestId, { task, offer })
    log(offer.requestId).info(
      { marketId: created.marketId.toString(), price: offer.price.toString(), expiresAt: task.task.deadline },
      'open fast assignment taken',
    )
    params.prove(task)
  }

  function dropOffer(entry: { done: boolean }, offer: OpenOffer, reason: string): void {
    entry.done = true
    metrics.fastOffersDropped.inc({ reason })
    log(offer.requestId).info({ reason }, 'open fast assignment not taken')
  }

  function heldCompute(): number {
    let used = 0
    for (const { task } of held.values()) used += task.task.compute
    return used
  }

  function room(compute: number): boolean {
    return params.otherCompute() + heldCompute() + compute <= params.capacity
  }

  function release(requestId: bigint, reason: string, error?: unknown): void {
    const entry = held.get(requestId)
    if (entry === undefined) return
    held.delete(requestId)
    entry.task.abort.abort()
    metrics.fastOffersDropped.inc({ reason })
    const shown = decodeCairnError(error)?.message ?? (error instanceof Error ? error.message : undefined)
    log(requestId).warn({ reason, ...(shown === undefined ? {} : { error: shown }) }, 'open fast assignment dropped')
  }

  function proof(task: TrackedTask, fulfilment: Fulfilment): void {
    const entry = held.get(task.requestId)
    if (entry === undefined || entry.task !== task) return
    metrics.fastOffersProved.inc()
    send(entry, fulfilment.publicInputs as Hex, fulfilment.proof, 0)
  }

  function failed(task: TrackedTask, reason: string, error?: unknown): void {
    if (held.get(task.requestId)?.task === task) release(task.requestId, reason, error)
  }

  function send(entry: Held, publicInputs: Hex, proof: Hex, attempts: number): void {
    const { done } = sendInLane(params.lane, (onSent) => submit(entry, publicInputs, proof, attempts, onSent))
    inFlight.add(done)
    void done.finally(() => inFlight.delete(done))
  }

  async function submit(entry: Held, publicInputs: Hex, proof: Hex, attempts: number, onSent: () => void) {
    const { offer } = entry
    const requestId = offer.requestId
    if (held.get(requestId) !== entry) return
    if (clock.now() > Number(openOfferExpiry(offer))) return release(requestId, 'expired')
    let fulfilled: OpenFulfilled
    try {
      // Assigned or claimed while it was proven: fulfilOpen would revert RequestNotOpen.
      const status = await chain.status(requestId)
      if (status !== 'Open') {
        return release(requestId, 'not-open', new Error(`the request became ${status} before the proof was sent`))
      }
      fulfilled = await chain.submit(offer, publicInputs, proof, onSent)
    } catch (error) {
      const name = decodeCairnError(error)?.name
      if (name === undefined || TRANSIENT.has(name)) return retry(entry, publicInputs, proof, attempts, error)
      return release(requestId, reasonOf(name), error)
    }
    if (!held.delete(requestId)) return
    metrics.submissions.inc({ method: 'fulfilOpen' })
    metrics.fastOffersFulfilled.inc()
    log(requestId).info(
      { price: fulfilled.price.toString(), refund: fulfilled.refund.toString() },
      'open fast assignment fulfilled',
    )
  }

  function retry(entry: Held, publicInputs: Hex, proof: Hex, attempts: number, error: unknown): void {
    const requestId = entry.offer.requestId
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempts)
    if (stopped || clock.now() + delay / 1000 > Number(openOfferExpiry(entry.offer))) {
      release(requestId, stopped ? 'stopped' : 'expired', error)
      return
    }
    metrics.retries.inc({ stage: 'fast-open-submit' })
    logger.warn(
      { requestId: requestId.toString(), lane: 'fast-open', err: error, retryInMs: delay },
      'fulfilOpen failed; retrying',
    )
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!stopped) send(entry, publicInputs, proof, attempts + 1)
    }, delay)
    timers.add(timer)
  }

  function close(): void {
    closed = true
    for (const { task } of held.values()) task.abort.abort()
  }

  async function stop(): Promise<void> {
    close()
    stopped = true
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  }

  return { take, proof, failed, held: () => [...held.keys()], heldCompute, close, stop }
}
