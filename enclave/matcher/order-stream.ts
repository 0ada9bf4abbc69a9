import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { type Address, type Hex, hashTypedData, isAddressEqual } from 'viem'
import type { CairnContractError } from '../../ts/errors.js'
import type { OrderAccepted, OrderBody, OrderStatus } from '../../ts/orders.js'
import type { Reply } from '../../ts/service/http.js'
import { signedRequestId, signedRequestTypedData } from '../../ts/signed-requests.js'
import { type ChainView, dropRequest, type HeadBlock, type MatcherRequest, type SyncNotes } from './chain.js'
import { addRequest, type MatchItem, requestStatus } from './engine.js'
import { loadsInputs, type MatcherInputsStore } from './inputs.js'
import type { Metrics } from './metrics.js'
import {
  type CheckParams,
  checkOrder,
  ecdsaSigns,
  isOrderFailure,
  type OrderChainView,
  type OrderFailure,
} from './order-checks.js'
import { type Journal, type JournalRecord, type Replayed, shouldCompact } from './order-journal.js'
import { type OrderEntry, type OrderStore, orderRequest } from './order-store.js'
import { spentOrders } from './spent-orders.js'
import type { SignedOrderHooks } from './submitter.js'

/*
 * The order stream: signed requests taken over HTTP (order-route.ts), checked (order-checks.ts), written to the journal
 * before they are acknowledged (order-journal.ts), and put in the same book as the chain's open requests, where the
 * same engine matches them; the submitter sends them with assignSigned. An order leaves the pending set when the
 * chain shows its id (RequestCreated: used, by our batch or by anyone posting it; a posted one stays in the book as an
 * ordinary open request), when its nonce is spent otherwise or invalidated, when it expires, or when it is dropped
 * (its inputs fail, the chain refuses it for good, or its requester is blocked); each end is journalled too. A
 * public order may instead be offered to its prover off chain (fast-lane.ts, through FastOrderHooks): its offer is
 * journalled and replayed with it, and ends with it.
 */

/** Skip reasons that can never pass later: the order is dropped. Any other (prover-side, deposit) is transient. */
export const PERMANENT_REFUSALS = new Set([
  'BadRequesterSignature',
  'NonceUsed',
  'SignedRequestIdTaken',
  'UnknownMarket',
  'ZeroReward',
  'ZeroAddress',
  'SpeedPreferenceOutOfRange',
  'ZeroProvingTime',
  'DeadlineInPast',
  'DeadlineShorterThanProvingTime',
  'MatchingExpiryInPast',
  'MatchingExpiryTooLate',
  'MissingInputs',
  'InputsDigestMismatch',
  'InvalidPublicInputs',
])

/** InsufficientDeposit refusals before the order is dropped; between them it waits DEPOSIT_BACKOFF × 2^n seconds. */
export const DEPOSIT_RETRIES = 5
export const DEPOSIT_BACKOFF = 12

export type OrderStreamPorts = {
  deployment: Parameters<typeof signedRequestId>[0]
  journal: Journal
  store: OrderStore
  view: () => ChainView
  /** The chain at the synced head; undefined while the matcher is not ready (starting, out of sync, stopping). */
  chain: () => { head: HeadBlock; reader: OrderChainView } | undefined
  inputs: Pick<MatcherInputsStore, 'load' | 'forget'>
  checkEnvelope: CheckParams['checkEnvelope']
  minTimeToExpiry: number
  metrics: Pick<Metrics, 'orders' | 'ordersRejected' | 'ordersPending' | 'ordersEnded' | 'journalWriteMs'>
  log: Logger
  /** The fast lane's part in the orders' lives (fast-lane.ts); without it no order has a fast assignment. */
  fast?: FastOrderHooks | undefined
}

export type OrderEnd = Exclude<OrderEntry['state'], 'pending'>

/** What the order stream asks of the fast lane: its offers live and die with their orders. */
export type FastOrderHooks = {
  /** At start, the orders restored and in the book: the journal's outstanding offers and lapses of live orders. */
  restore: (replayed: Pick<Replayed, 'offers' | 'lapses'>, now: number) => void
  /** Journal lines a compaction keeps besides the orders and strikes. */
  records: () => JournalRecord[]
  /** An order ended: its offer (if any) ends with it. */
  ended: (requestId: bigint, state: OrderEnd, reason: string | undefined) => void
  /** Whether a replayed order whose nonce is spent was used on the fast lane (SignedRequestFulfilled on chain). */
  fulfilled: (requestId: bigint) => Promise<boolean>
  /** The outstanding fast assignment of a pending order, for GET /orders/<id>. */
  describe: (requestId: bigint) => { prover: Address; price: bigint; validUntil: number } | undefined
}

export type OrderStream = SignedOrderHooks & {
  /** POST /orders with a parsed body. Never throws. */
  accept: (order: OrderBody) => Promise<Reply>
  /** GET /orders/<id>; undefined when the matcher knows no such order. */
  status: (requestId: bigint) => OrderStatus | undefined
  /** What a sync saw: orders used on chain, nonces spent or invalidated, orders expired at the new head. */
  onNotes: (notes: SyncNotes) => void
  /** The view was rebuilt from the chain: pending orders go back into its book. */
  onRebuilt: () => void
  /** At start, once synced: replays the journal, drops what the chain shows used, spent or expired, fills the book. */
  start: () => Promise<void>
  /** A request's inputs were rejected for good (inputs store): a pending order among them is dropped. */
  inputsRejected: (requestId: bigint, reason: string) => void
  /** Whether a pending order may be matched at `now` (not backing off a transient refusal). */
  matchable: (request: MatcherRequest, now: number) => boolean
  /** Until when a pending order backs off an InsufficientDeposit refusal (chain time); undefined when it does not. */
  benchedUntil: (requestId: bigint) => number | undefined
  /** Ends a pending order (out of the book, journalled, counted); nothing for an order not pending. */
  end: (requestId: bigint, state: OrderEnd, reason?: string) => void
  /** Charges the requester a strike (journalled); at MAX_STRIKES its pending orders are dropped (RequesterBlocked). */
  strike: (requester: Address) => void
  /**
   * Compacts the journal when ended lines dominate: after an order ends, and after the fast lane ends an on-chain
   * request's offer (those have no end line: only a compaction clears them).
   */
  maybeCompact: () => void
}

export function rejection(failure: OrderFailure): Reply {
  const { status, code, message, details } = failure
  return { status, body: { error: details === undefined ? { code, message } : { code, message, details } } }
}

export function createOrderStream(ports: OrderStreamPorts): OrderStream {
  const { store, journal, metrics, log } = ports
  const intake = new Map<bigint, Promise<Reply>>()
  const gauge = () => metrics.ordersPending.set(store.pending().length)

  function toBook(entry: OrderEntry): void {
    const request = orderRequest(entry)
    const view = ports.view()
    if (view.open.has(request.requestId)) return
    addRequest(view.book, request)
    view.open.set(request.requestId, request)
    if (loadsInputs(request)) ports.inputs.load(request)
  }

  function end(requestId: bigint, state: OrderEnd, reason?: string): void {
    const entry = store.end(requestId, state, reason)
    if (entry === undefined) return
    ports.fast?.ended(requestId, state, reason)
    const view = ports.view()
    if (view.open.get(requestId)?.signed !== undefined) {
      dropRequest(view, requestId)
      ports.inputs.forget(requestId)
    }
    metrics.ordersEnded.inc({ state, reason: reason ?? '' })
    gauge()
    const level = state === 'dropped' ? 'warn' : 'info'
    log[level]({ requestId: requestId.toString(), state, reason }, 'order ended')
    journal.append({ kind: 'end', requestId, state, ...(reason === undefined ? {} : { reason }) }).then(
      () => maybeCompact(),
      (error: unknown) => log.warn({ err: error, requestId: requestId.toString() }, 'journal: end record not written'),
    )
  }

  function maybeCompact(): void {
    if (!shouldCompact(journal.lines, liveRecords().length)) return
    journal.compact(liveRecords).catch((error: unknown) => log.warn({ err: error }, 'journal compaction failed'))
  }

  const liveRecords = (): JournalRecord[] => [
    ...store
      .strikes()
      .flatMap(([requester, count]) => Array.from({ length: count }, () => ({ kind: 'strike', requester }) as const)),
    ...store.pending().map(({ requestId, acceptedAt, paymentToken, wallet, order }) => ({
      kind: 'order' as const,
      requestId,
      acceptedAt,
      paymentToken,
      wallet,
      order,
    })),
    ...(ports.fast?.records() ?? []),
  ]

  function reject(failure: OrderFailure, order: OrderBody, requestId?: bigint): Reply {
    metrics.orders.inc({ outcome: 'rejected' })
    metrics.ordersRejected.inc({ code: failure.code })
    log.info(
      { requestId: requestId?.toString(), requester: order.request.requester, code: failure.code },
      'order rejected',
    )
    return rejection(failure)
  }

  const accepted = (requestId: bigint, duplicate: boolean): Reply => {
    const body: OrderAccepted = { requestId: requestId.toString(), duplicate }
    return { status: 200, body }
  }

  async function admit(order: OrderBody, requestId: bigint, digest: Hex): Promise<Reply> {
    const ready = ports.chain()
    if (ready === undefined) {
      return reject(
        { status: 503, code: 'NotReady', message: 'the matcher is starting or out of sync with the chain: retry' },
        order,
        requestId,
      )
    }
    const { head, reader } = ready
    const now = Number(head.timestamp)
    // Read before the balance (checkOrder's), so that an order seen spent has its payment out of that balance.
    const spent = await spentOrders(reader, store.pendingOf(order.request.requester))
    const checked = await checkOrder(order, {
      chain: reader,
      now,
      minTimeToExpiry: ports.minTimeToExpiry,
      digest,
      requestId,
      checkEnvelope: ports.checkEnvelope,
    })
    if (isOrderFailure(checked)) return reject(checked, order, requestId)
    // A wallet order is one whose signature the contract will check by ERC-1271 (ECDSA comes first there too).
    const wallet = !(await ecdsaSigns(order.request.requester, digest, order.signature))
    const entry: OrderEntry = {
      requestId,
      order,
      digest,
      acceptedAt: now,
      paymentToken: checked.paymentToken,
      wallet,
      state: 'pending',
      benchedUntil: 0,
      refusals: 0,
    }
    // Synchronous from the deposit rule to the reservation: concurrent orders of one requester see each other.
    const refused = store.admit(entry, checked.balance, spent)
    if (refused !== undefined) return reject(refused, order, requestId)
    const started = performance.now()
    try {
      await journal.append({
        kind: 'order',
        requestId,
        acceptedAt: now,
        paymentToken: entry.paymentToken,
        wallet,
        order,
      })
    } catch (error) {
      store.forget(requestId)
      log.error({ err: error, requestId: requestId.toString() }, 'journal write failed: order not acknowledged')
      return reject(
        { status: 503, code: 'NotReady', message: 'the matcher could not store the order: retry later' },
        order,
        requestId,
      )
    }
    metrics.journalWriteMs.observe(performance.now() - started)
    toBook(entry)
    gauge()
    metrics.orders.inc({ outcome: 'accepted' })
    log.info(
      {
        requestId: requestId.toString(),
        requester: order.request.requester,
        marketId: order.request.marketId,
        maxReward: order.request.maxReward.toString(),
        wallet,
      },
      'order accepted',
    )
    return accepted(requestId, false)
  }

  function strike(requester: Address): void {
    // Kept across restarts; a lost write only forgets one strike, so it is logged, not waited for.
    journal
      .append({ kind: 'strike', requester })
      .catch((error: unknown) => log.warn({ err: error, requester }, 'journal write of a strike failed'))
    if (!store.strike(requester)) return
    log.warn({ requester }, 'requester blocked: its orders made batches fail repeatedly')
    for (const entry of store.pending()) {
      if (isAddressEqual(entry.order.request.requester, requester)) end(entry.requestId, 'dropped', 'RequesterBlocked')
    }
  }

  return {
    async accept(order) {
      let requestId: bigint
      let digest: Hex
      try {
        digest = hashTypedData(signedRequestTypedData(ports.deployment, order.request))
        requestId = signedRequestId(ports.deployment, order.request)
      } catch (error) {
        return reject({ status: 400, code: 'MalformedOrder', message: `the request cannot be hashed: ${error}` }, order)
      }
      if (store.get(requestId)?.state === 'pending') {
        metrics.orders.inc({ outcome: 'duplicate' })
        return accepted(requestId, true)
      }
      const underway = intake.get(requestId)
      if (underway !== undefined) {
        const reply = await underway
        if (reply.status !== 200) return reply
        metrics.orders.inc({ outcome: 'duplicate' })
        return accepted(requestId, true)
      }
      const run = admit(order, requestId, digest).catch((error: unknown) => {
        log.error({ err: error, requestId: requestId.toString() }, 'order intake failed')
        return reject(
          { status: 503, code: 'NotReady', message: 'the matcher could not check the order against the chain: retry' },
          order,
          requestId,
        )
      })
      intake.set(requestId, run)
      try {
        return await run
      } finally {
        intake.delete(requestId)
      }
    },

    status(requestId) {
      const entry = store.get(requestId)
      if (entry === undefined) return undefined
      if (entry.state !== 'pending') {
        return entry.reason === undefined
          ? { requestId: requestId.toString(), state: entry.state }
          : { requestId: requestId.toString(), state: entry.state, reason: entry.reason }
      }
      const offer = ports.fast?.describe(requestId)
      if (offer !== undefined) {
        const details = { prover: offer.prover, price: offer.price.toString(), validUntil: String(offer.validUntil) }
        return { requestId: requestId.toString(), state: 'assigning', reason: 'FastAssignment', details }
      }
      const held = requestStatus(ports.view().book, requestId) === 'held'
      return { requestId: requestId.toString(), state: held ? 'assigning' : 'pending' }
    },

    onNotes(notes) {
      for (const request of notes.created) if (request.signed === undefined) end(request.requestId, 'used')
      // A fast use (SignedRequestFulfilled) spends the nonce too; the fast lane ends its own id as used.
      for (const used of [...notes.signedUsed, ...notes.signedFulfilled]) {
        for (const entry of store.pending()) {
          const { requester, nonce } = entry.order.request
          if (entry.requestId !== used.requestId && nonce === used.nonce && isAddressEqual(requester, used.requester)) {
            end(entry.requestId, 'dropped', 'NonceUsed')
          }
        }
      }
      for (const { requester, wordPos, mask } of notes.noncesInvalidated) {
        for (const entry of store.pending()) {
          const request = entry.order.request
          if (!isAddressEqual(request.requester, requester) || request.nonce >> 8n !== wordPos) continue
          if ((mask >> (request.nonce & 255n)) & 1n) end(entry.requestId, 'dropped', 'NonceInvalidated')
        }
      }
      const now = Number(ports.view().block?.timestamp ?? 0n)
      for (const entry of store.pending()) {
        if (entry.order.request.matchingExpiry < now) end(entry.requestId, 'expired')
      }
    },

    onRebuilt() {
      for (const entry of store.pending()) toBook(entry)
    },

    async start() {
      const replayed = await journal.replay()
      const ready = ports.chain()
      if (ready === undefined) throw new Error('the order stream starts once the book is synced')
      const now = Number(ready.head.timestamp)
      for (const { requester } of replayed.strikes) store.strike(requester)
      let dropped = 0
      const offered = new Set(
        replayed.offers.filter((offer) => offer.fastKind === 'signed').map((offer) => offer.requestId),
      )
      for (const record of replayed.live) {
        const { request } = record.order
        if (store.blocked(request.requester)) {
          dropped++
          continue
        }
        const status = await ready.reader.requestStatus(record.requestId)
        const word = await ready.reader.nonceWord(request.requester, request.nonce >> 8n)
        const spent = ((word >> (request.nonce & 255n)) & 1n) === 1n
        const digest = hashTypedData(signedRequestTypedData(ports.deployment, request))
        const entry: OrderEntry = { ...record, digest, state: 'pending', benchedUntil: 0, refusals: 0 }
        if (spent && status === 0 && offered.has(record.requestId) && (await ports.fast?.fulfilled(record.requestId))) {
          // Used on the fast lane while the matcher was down: remembered as used for GET /orders/<id>.
          store.restore(entry)
          store.end(record.requestId, 'used')
          dropped++
          continue
        }
        if (status !== 0 || spent || request.matchingExpiry < now) {
          dropped++
          continue
        }
        store.restore(entry)
      }
      for (const entry of store.pending()) toBook(entry)
      // Offers are held in the book (and served) again before the compaction, which keeps them.
      ports.fast?.restore(replayed, now)
      await journal.compact(liveRecords)
      gauge()
      log.info(
        { pending: store.pending().length, ended: dropped, unreadable: replayed.unreadable },
        'order journal replayed',
      )
    },

    inputsRejected(requestId, reason) {
      end(requestId, 'dropped', reason)
    },

    end,
    strike,
    maybeCompact,

    benchedUntil(requestId) {
      const entry = store.get(requestId)
      return entry?.state === 'pending' && entry.benchedUntil > 0 ? entry.benchedUntil : undefined
    },

    matchable(request, now) {
      if (request.signed === undefined) return true
      const entry = store.get(request.requestId)
      return entry !== undefined && entry.state === 'pending' && entry.benchedUntil <= now
    },

    refused(item: MatchItem<MatcherRequest>, reason: CairnContractError, where) {
      const entry = store.get(item.requestId)
      if (entry === undefined || entry.state !== 'pending') return
      if (where === 'simulation' && entry.wallet) strike(entry.order.request.requester)
      if (PERMANENT_REFUSALS.has(reason.name) || reason.name === 'CallFailed') {
        end(item.requestId, 'dropped', reason.name)
        return
      }
      if (reason.name !== 'InsufficientDeposit') return
      entry.refusals++
      if (entry.refusals >= DEPOSIT_RETRIES) {
        end(item.requestId, 'dropped', reason.name)
        return
      }
      const now = Number(ports.view().block?.timestamp ?? 0n)
      entry.benchedUntil = now + DEPOSIT_BACKOFF * 2 ** (entry.refusals - 1)
    },

    failed(items) {
      const requesters = new Map<string, Address>()
      for (const item of items) {
        const entry = store.get(item.requestId)
        if (entry?.wallet) requesters.set(entry.order.request.requester.toLowerCase(), entry.order.request.requester)
      }
      // Only a wallet can make a checked batch fail (an ECDSA check cannot change or burn gas): each one in it is charged.
      for (const requester of requesters.values()) strike(requester)
    },
  }
}
