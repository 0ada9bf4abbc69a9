import type { Logger } from 'pino'
import { type Address, getAddress, type Hex, isAddressEqual } from 'viem'
import type { FastAssignment, FastAssignmentOffer, OpenOffer } from '../../ts/fast-assignments.js'
import type { ChainView, MatcherRequest, SyncNotes } from './chain.js'
import { holdBatch, type MatchItem, releaseHold } from './engine.js'
import type { FastOffer, FastOffers } from './fast-offers.js'
import { type FastKind, type FastLaneRule, fastKindOf, laneOf } from './fast-policy.js'
import type { Metrics } from './metrics.js'
import type { Journal, JournalRecord } from './order-journal.js'
import type { OrderEntry, OrderStore } from './order-store.js'
import type { FastOrderHooks, OrderStream } from './order-stream.js'

/*
 * The matcher's side of the fast lane (ISignedFulfilments). A signed public order the engine matched like any other
 * (same book, same pick, the listing's price) goes fast when fast-policy.ts allows: the matcher signs a FastAssignment
 * with its enclave key, journals it, and serves it on GET /provers/<address>/fast-assignments; nothing is sent. While
 * it is outstanding the order stays held in the book for that prover (its listing's compute counts against the
 * prover's capacity like a task in flight; no stake: the fast lane locks none), so no round gives it to anyone else
 * and the prover is not over-assigned.
 *
 * It ends when the chain shows the order used (SignedRequestFulfilled: used; posted on chain: used otherwise), when
 * its window passes unused (chain time past validUntil: the order is released to the book for assignSigned, never to
 * that prover again), or when the requester takes back what the prover works for: a nonce invalidated or spent by
 * another request, or a deposit that no longer covers the price. Those drop the order and charge the requester a
 * strike (order-store.ts): a requester that withdraws after acknowledgement wastes a prover's proof.
 *
 * An on-chain request still Open takes the same lane (fulfilOpen), by the same rule and with the same hold, journal
 * line and route (its `open` list). Its escrow is already locked and the chain alone says when it ends: RequestFulfilled
 * while Open (used), TaskAssigned or RequestCancelled (dropped: assigned otherwise, cancelled), or the window passing
 * while it is still Open (lapse: the request goes back to the book for `assign`, never to that prover again).
 */

export type FastLanePorts = {
  rule: FastLaneRule
  offers: FastOffers
  store: Pick<OrderStore, 'get'>
  /** The order stream (bound late: it takes this lane's hooks). */
  orders: () => Pick<OrderStream, 'end' | 'strike' | 'maybeCompact'>
  journal: Pick<Journal, 'append'>
  view: () => ChainView
  /** The matcher key's EIP-712 signature of a FastAssignment (fastAssignmentTypedData). */
  sign: (assignment: FastAssignment) => Promise<Hex>
  /** The account's marketplace balance of `token` at the synced head. */
  balance: (account: Address, token: Address) => Promise<bigint>
  /** Whether SignedRequestFulfilled was emitted for the id (a restart's check of an order used while down). */
  fulfilledOnChain: (requestId: bigint) => Promise<boolean>
  metrics: Pick<Metrics, 'fastOffers' | 'fastUsed' | 'fastLapsed' | 'fastDropped' | 'fastOutstanding'>
  log: Logger
}

/** A matched item the fast lane takes, with the window it gets. */
export type FastItem = { item: MatchItem<MatcherRequest>; validUntil: number }

export type FastLane = {
  /** Whether the order may not go to the prover: it let an offer of it lapse, or the order has an offer outstanding. */
  excludes: (requestId: bigint, prover: Address) => boolean
  /** A round's matched items split by lane (fast-policy.ts) at chain time `now`. */
  split: (
    items: readonly MatchItem<MatcherRequest>[],
    now: number,
  ) => { fast: FastItem[]; rest: MatchItem<MatcherRequest>[] }
  /** Holds, signs, journals and then serves the fast items; an item that fails any step is released to the book. */
  offer: (items: readonly FastItem[], now: number) => Promise<void>
  /** Before a round at chain time `now`: offers past their window lapse, requesters whose balance fell are checked. */
  settle: (now: number) => Promise<void>
  /** What a sync saw, before the order stream's own handling: fast uses, nonces taken back, balances lowered. */
  onNotes: (notes: SyncNotes) => void
  /** The view was rebuilt (and the order stream put its orders back): outstanding offers are held again. */
  onRebuilt: () => void
  /** The prover's offers of signed orders usable at the synced head's chain time, oldest first (GET /provers/…). */
  offersOf: (prover: Address) => FastAssignmentOffer[]
  /** The prover's offers of on-chain requests usable at the synced head's chain time, oldest first (`open`). */
  openOffersOf: (prover: Address) => OpenOffer[]
  /** The order stream's hooks. */
  hooks: FastOrderHooks
}

export function createFastLane(ports: FastLanePorts): FastLane {
  const { offers, metrics, log } = ports
  /** Requesters (lowercase) with outstanding offers whose balance went down since the last check. */
  const lowered = new Map<string, Address>()
  const gauge = () => {
    const open = offers.all().filter((offer) => offer.fastKind === 'open').length
    metrics.fastOutstanding.set({ kind: 'open' }, open)
    metrics.fastOutstanding.set({ kind: 'signed' }, offers.size - open)
  }
  const pending = (requestId: bigint): OrderEntry | undefined => {
    const entry = ports.store.get(requestId)
    return entry?.state === 'pending' ? entry : undefined
  }
  /** The on-chain request the book holds Open under the id (not a pending signed order). */
  const onChain = (requestId: bigint): MatcherRequest | undefined => {
    const request = ports.view().open.get(requestId)
    return request?.signed === undefined ? request : undefined
  }
  /** Whether the request of an offer is still one this lane serves: a pending order, or Open on chain. */
  const live = (requestId: bigint, fastKind: FastKind): boolean =>
    fastKind === 'signed' ? pending(requestId) !== undefined : onChain(requestId) !== undefined

  /** The chain ended an on-chain request otherwise than by its fast use (assigned, cancelled, gone): its offer ends. */
  function dropOpen(requestId: bigint, reason: string): void {
    const offer = offers.get(requestId)
    if (offer?.fastKind !== 'open') return
    offers.forget(requestId)
    metrics.fastDropped.inc({ kind: 'open', reason })
    log.info(
      { requestId: requestId.toString(), prover: offer.prover, reason },
      'fast assignment of an on-chain request dropped',
    )
    ports.orders().maybeCompact()
  }

  /** Holds the order for the offer's prover (its compute, no stake). False when the book cannot (not queued). */
  function hold(offer: FastOffer): boolean {
    const view = ports.view()
    const request = view.open.get(offer.requestId)
    if (request === undefined) return false
    const item: MatchItem<MatcherRequest> = {
      requestId: offer.requestId,
      prover: offer.prover,
      marketId: request.marketId,
      request,
      price: offer.price,
      provingTime: request.provingTime,
      compute: offer.compute,
      stake: 0n,
    }
    return holdBatch(view.book, [item]).length === 1
  }

  function lapse(offer: FastOffer): void {
    const { requestId, prover, fastKind } = offer
    offers.remove(requestId)
    offers.exclude(requestId, prover)
    releaseHold(ports.view().book, requestId)
    metrics.fastLapsed.inc({ kind: fastKind })
    log.info(
      { requestId: requestId.toString(), prover, validUntil: offer.validUntil, kind: fastKind },
      `fast assignment lapsed unused: the request goes to ${fastKind === 'open' ? 'assign' : 'assignSigned'}, not to this prover again`,
    )
    // A lost line only forgets the exclusion across a restart (a replayed lapsed offer lapses again): not waited for.
    ports.journal.append({ kind: 'lapse', requestId, prover, fastKind }).then(
      () => ports.orders().maybeCompact(),
      (error: unknown) => log.warn({ err: error, requestId: requestId.toString() }, 'lapse not journalled'),
    )
  }

  /** The requester took back what the prover works for: the order is dropped and the requester struck. */
  function grief(entry: OrderEntry, reason: string): void {
    const offer = offers.forget(entry.requestId)
    if (offer !== undefined) metrics.fastDropped.inc({ kind: 'signed', reason })
    log.warn(
      {
        requestId: entry.requestId.toString(),
        requester: entry.order.request.requester,
        prover: offer?.prover,
        reason,
      },
      'requester took back a fast-assigned order: dropped, requester struck',
    )
    ports.orders().end(entry.requestId, 'dropped', reason)
    ports.orders().strike(entry.order.request.requester)
  }

  /** Pending orders with an outstanding offer of `requester` and `nonce`, other than `except`. */
  function offeredWithNonce(requester: Address, nonce: bigint, except?: bigint): OrderEntry[] {
    return offers.all().flatMap((offer) => {
      const entry = pending(offer.requestId)
      if (entry === undefined || entry.requestId === except) return []
      const request = entry.order.request
      return request.nonce === nonce && isAddressEqual(request.requester, requester) ? [entry] : []
    })
  }

  async function checkBalances(): Promise<void> {
    const requesters = [...lowered.values()]
    lowered.clear()
    for (const requester of requesters) {
      const owed = offers.all().flatMap((offer) => {
        const entry = pending(offer.requestId)
        return entry !== undefined && isAddressEqual(entry.order.request.requester, requester) ? [{ offer, entry }] : []
      })
      const tokens = new Map(owed.map(({ entry }) => [entry.paymentToken.toLowerCase(), entry.paymentToken]))
      for (const token of tokens.values()) {
        let balance: bigint
        try {
          balance = await ports.balance(requester, token)
        } catch (error) {
          lowered.set(requester.toLowerCase(), requester)
          log.warn({ err: error, requester }, 'balance read failed: the fast assignments are checked again next round')
          continue
        }
        // Oldest offers first: the ones whose price the balance no longer covers are dropped.
        let covered = 0n
        for (const { offer, entry } of owed) {
          if (!isAddressEqual(entry.paymentToken, token)) continue
          covered += offer.price
          if (covered > balance) grief(entry, 'DepositWithdrawn')
        }
      }
    }
  }

  const hooks: FastOrderHooks = {
    restore(replayed, now) {
      // An on-chain request's lines count only while the rebuilt book still holds it Open: its end is the chain's.
      for (const { requestId, prover, fastKind } of replayed.lapses) {
        if (live(requestId, fastKind)) offers.exclude(requestId, prover)
      }
      for (const record of replayed.offers) {
        if (!live(record.requestId, record.fastKind)) continue
        const { kind: _kind, ...offer } = record
        if (offer.validUntil < now) {
          offers.exclude(offer.requestId, offer.prover)
          ports.journal
            .append({ kind: 'lapse', requestId: offer.requestId, prover: offer.prover, fastKind: offer.fastKind })
            .catch((error: unknown) => log.warn({ err: error }, 'lapse not journalled'))
          metrics.fastLapsed.inc({ kind: offer.fastKind })
          continue
        }
        if (!hold(offer)) log.warn({ requestId: offer.requestId.toString() }, 'replayed fast assignment not held')
        offers.add(offer)
      }
      gauge()
      if (offers.size > 0) log.info({ outstanding: offers.size }, 'fast assignments replayed')
    },
    records: () => [
      ...offers.all().map((offer): JournalRecord => ({ kind: 'offer', ...offer })),
      ...offers.exclusions().flatMap(([requestId, provers]) => {
        const fastKind: FastKind | undefined =
          pending(requestId) !== undefined ? 'signed' : onChain(requestId) !== undefined ? 'open' : undefined
        if (fastKind === undefined) return []
        return provers.map((prover): JournalRecord => ({ kind: 'lapse', requestId, prover, fastKind }))
      }),
    ],
    ended(requestId, state, reason) {
      // An on-chain request's offer (a posted order's id, offered once Open) is not the order's to end.
      if (offers.get(requestId)?.fastKind === 'open') return
      const offer = offers.forget(requestId)
      if (offer === undefined) return
      // A fast use is counted where it is seen (onNotes); an order used otherwise (posted) or ended ends its offer.
      const why = state === 'used' ? 'UsedOtherwise' : state === 'expired' ? 'Expired' : (reason ?? 'Dropped')
      metrics.fastDropped.inc({ kind: 'signed', reason: why })
      gauge()
    },
    fulfilled: (requestId) => ports.fulfilledOnChain(requestId),
    describe(requestId) {
      const offer = offers.get(requestId)
      return offer === undefined
        ? undefined
        : { prover: offer.prover, price: offer.price, validUntil: offer.validUntil }
    },
  }

  return {
    // A request with an outstanding offer is matched to no one, even where the book could not hold it (a replayed
    // offer whose prover left the book): the offer stays exclusive until it ends.
    excludes: (requestId, prover) => offers.get(requestId) !== undefined || offers.excludes(requestId, prover),

    split(items, now) {
      const fast: FastItem[] = []
      const rest: MatchItem<MatcherRequest>[] = []
      for (const item of items) {
        const lapsed = offers.lapsed(item.requestId).length > 0
        const lane = laneOf(item.request, item, { ...ports.rule, now, lapsed })
        if (lane.lane === 'fast') fast.push({ item, validUntil: lane.validUntil })
        else rest.push(item)
      }
      return { fast, rest }
    },

    async offer(items, now) {
      const book = ports.view().book
      const held = new Set(
        holdBatch(
          book,
          items.map(({ item }) => ({ ...item, stake: 0n })),
        ).map((item) => item.requestId),
      )
      await Promise.all(
        items
          .filter(({ item }) => held.has(item.requestId))
          .map(async ({ item, validUntil }) => {
            const { requestId, price, compute } = item
            const prover = getAddress(item.prover)
            const fastKind = fastKindOf(item.request)
            try {
              const matcherSignature = await ports.sign({ requestId, prover, price, validUntil: BigInt(validUntil) })
              const offer: FastOffer = {
                requestId,
                fastKind,
                prover,
                price,
                validUntil,
                compute,
                matcherSignature,
                madeAt: now,
              }
              // On disk before any prover can read it: a restart serves it again and gives the request to no one else.
              await ports.journal.append({ kind: 'offer', ...offer })
              offers.add(offer)
              metrics.fastOffers.inc({ kind: fastKind })
              log.info(
                { requestId: requestId.toString(), prover, price: price.toString(), validUntil, kind: fastKind },
                'fast assignment offered',
              )
            } catch (error) {
              releaseHold(book, requestId)
              log.warn({ err: error, requestId: requestId.toString() }, 'fast assignment not made: released')
            }
          }),
      )
      gauge()
    },

    async settle(now) {
      // Past validUntil the contract refuses the fast use (FastAssignmentExpired), and the indexed chain up to this
      // head shows no use: the prover let it lapse.
      for (const offer of offers.all()) if (offer.validUntil < now) lapse(offer)
      // The book no longer holds an offered on-chain request Open (a rebuild, a missed event): its offer ends.
      for (const offer of offers.all()) {
        if (offer.fastKind === 'open' && onChain(offer.requestId) === undefined) dropOpen(offer.requestId, 'Gone')
      }
      // Lapses of on-chain requests that left the book are forgotten (a pending order's go with its end).
      for (const [requestId] of offers.exclusions()) {
        if (!offers.get(requestId) && pending(requestId) === undefined && onChain(requestId) === undefined)
          offers.forget(requestId)
      }
      if (lowered.size > 0) await checkBalances()
      gauge()
    },

    onNotes(notes) {
      // An on-chain request's fast use: RequestFulfilled while Open (the indexer already took it out of the book).
      for (const used of notes.openFulfilled) {
        const offer = offers.get(used.requestId)
        if (offer?.fastKind !== 'open') continue
        offers.forget(used.requestId)
        metrics.fastUsed.inc({ kind: 'open' })
        log.info(
          { requestId: used.requestId.toString(), prover: used.prover, price: used.price.toString() },
          'fast assignment of an on-chain request used on chain',
        )
        ports.orders().maybeCompact()
      }
      // Assigned on chain (a fallback claim, another matcher) or cancelled: the offer can no longer be used.
      for (const assigned of notes.assigned) dropOpen(assigned.requestId, 'Assigned')
      for (const requestId of notes.cancelled) dropOpen(requestId, 'Cancelled')
      for (const used of notes.signedFulfilled) {
        const entry = pending(used.requestId)
        if (entry !== undefined) {
          if (offers.forget(used.requestId) !== undefined) metrics.fastUsed.inc({ kind: 'signed' })
          log.info(
            { requestId: used.requestId.toString(), prover: used.prover, price: used.price.toString() },
            'fast assignment used on chain',
          )
          ports.orders().end(used.requestId, 'used')
        }
        for (const other of offeredWithNonce(used.requester, used.nonce, used.requestId)) grief(other, 'NonceUsed')
      }
      for (const used of notes.signedUsed) {
        for (const other of offeredWithNonce(used.requester, used.nonce, used.requestId)) grief(other, 'NonceUsed')
      }
      for (const { requester, wordPos, mask } of notes.noncesInvalidated) {
        for (const offer of offers.all()) {
          const entry = pending(offer.requestId)
          const request = entry?.order.request
          if (entry === undefined || request === undefined || !isAddressEqual(request.requester, requester)) continue
          if (request.nonce >> 8n === wordPos && (mask >> (request.nonce & 255n)) & 1n) grief(entry, 'NonceInvalidated')
        }
      }
      for (const account of notes.balanceLowered) {
        const owes = offers.all().some((offer) => {
          const requester = pending(offer.requestId)?.order.request.requester
          return requester !== undefined && isAddressEqual(requester, account)
        })
        if (owes) lowered.set(account.toLowerCase(), account)
      }
      gauge()
    },

    onRebuilt() {
      for (const offer of offers.all()) {
        if (!hold(offer))
          log.warn({ requestId: offer.requestId.toString() }, 'fast assignment not held after a rebuild')
      }
    },

    offersOf(prover) {
      const now = Number(ports.view().block?.timestamp ?? 0n)
      return offers.ofProver(prover, now).flatMap((offer) => {
        const entry = offer.fastKind === 'signed' ? pending(offer.requestId) : undefined
        if (entry === undefined) return []
        const { request, signature } = entry.order
        return [
          {
            requestId: offer.requestId,
            request,
            signature,
            prover: offer.prover,
            price: offer.price,
            validUntil: BigInt(offer.validUntil),
            matcherSignature: offer.matcherSignature,
          },
        ]
      })
    },

    openOffersOf(prover) {
      const now = Number(ports.view().block?.timestamp ?? 0n)
      return offers.ofProver(prover, now).flatMap((offer): OpenOffer[] => {
        const request = offer.fastKind === 'open' ? onChain(offer.requestId) : undefined
        if (request === undefined) return []
        // The record exactly as RequestCreated emitted it: fulfilOpen checks it against the request's commitment.
        const { refundAddress, maxReward, createdAt, matchingExpiry, provingTime, inputsDigest } = request.record
        return [
          {
            requestId: offer.requestId,
            record: { refundAddress, maxReward, createdAt, matchingExpiry, provingTime, inputsDigest },
            prover: offer.prover,
            price: offer.price,
            validUntil: BigInt(offer.validUntil),
            matcherSignature: offer.matcherSignature,
          },
        ]
      })
    },

    hooks,
  }
}
