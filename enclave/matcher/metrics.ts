import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { KeyRegistration } from '../../ts/service/key-registration.js'
import { type Book, bookStats, type OpenRequest } from './book.js'

/** One registry per matcher, not prom-client's global one, so several matchers can run in one process (tests). */
export function createMetrics() {
  const registry = new Registry()
  const registers = [registry]
  const bookRequests = new Gauge({
    name: 'cairn_matcher_book_requests',
    help: 'Requests in the order book: open (waiting for a prover), parked (no offer could serve them), held (in a batch in flight)',
    labelNames: ['state'] as const,
    registers,
  })
  const bookMarkets = new Gauge({ name: 'cairn_matcher_book_markets', help: 'Markets in the book', registers })
  const bookProvers = new Gauge({ name: 'cairn_matcher_book_provers', help: 'Provers in the book', registers })
  const proversGone = new Gauge({
    name: 'cairn_matcher_provers_gone',
    help: 'Provers left out of matching: a task unanswered past their proving time and no sign of life since',
    registers,
  })
  const bookListings = new Gauge({ name: 'cairn_matcher_book_listings', help: 'Listings in the book', registers })
  const batchesSent = new Counter({
    name: 'cairn_matcher_batches_sent_total',
    help: 'Assign transactions sent',
    registers,
  })
  const batchFailures = new Counter({
    name: 'cairn_matcher_batch_failures_total',
    help: 'Batches that assigned nothing: refused in simulation, reverted, or expired unmined (by reason)',
    labelNames: ['reason'] as const,
    registers,
  })
  const assignments = new Counter({
    name: 'cairn_matcher_assignments_total',
    help: 'Requests assigned by batches this matcher sent',
    registers,
  })
  const assignmentSkips = new Counter({
    name: 'cairn_matcher_assignment_skips_total',
    help: 'Items of this matcher’s batches the marketplace skipped (AssignmentSkipped), by decoded reason',
    labelNames: ['reason'] as const,
    registers,
  })
  const requestsSkipped = new Counter({
    name: 'cairn_matcher_requests_skipped_total',
    help: 'Requests the matcher will not assign: inputs that can never load, other bytes than committed, private inputs it cannot open (by reason)',
    labelNames: ['reason'] as const,
    registers,
  })
  const signedItemsDropped = new Counter({
    name: 'cairn_matcher_signed_items_dropped_total',
    help: 'Signed orders left out of an assignSigned batch because its simulation showed they would fail (by reason)',
    labelNames: ['reason'] as const,
    registers,
  })
  const orders = new Counter({
    name: 'cairn_matcher_orders_total',
    help: 'Orders received on POST /orders, by outcome: accepted, duplicate (acknowledged before), rejected',
    labelNames: ['outcome'] as const,
    registers,
  })
  const ordersRejected = new Counter({
    name: 'cairn_matcher_orders_rejected_total',
    help: 'Orders refused on POST /orders, by code',
    labelNames: ['code'] as const,
    registers,
  })
  const ordersPending = new Gauge({
    name: 'cairn_matcher_orders_pending',
    help: 'Acknowledged signed orders not used on chain yet (in the book, or waiting for their inputs)',
    registers,
  })
  const ordersEnded = new Counter({
    name: 'cairn_matcher_orders_ended_total',
    help: 'Acknowledged orders that left the pending set: used (on chain), expired, dropped (by reason)',
    labelNames: ['state', 'reason'] as const,
    registers,
  })
  const journalWriteMs = new Histogram({
    name: 'cairn_matcher_orders_journal_write_ms',
    help: 'Milliseconds to write and fsync a journal record (the acknowledgement waits for it)',
    buckets: [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1_000],
    registers,
  })
  // kind: signed (a signed order's offer, fulfilSigned) or open (an on-chain request's, fulfilOpen).
  const fastOffers = new Counter({
    name: 'cairn_matcher_fast_offers_total',
    help: 'Fast assignments made (FastAssignment offers served on GET /provers/<address>/fast-assignments), by kind',
    labelNames: ['kind'] as const,
    registers,
  })
  const fastUsed = new Counter({
    name: 'cairn_matcher_fast_offers_used_total',
    help: 'Fast assignments used on chain (SignedRequestFulfilled; RequestFulfilled of an Open request), by kind',
    labelNames: ['kind'] as const,
    registers,
  })
  const fastLapsed = new Counter({
    name: 'cairn_matcher_fast_offers_lapsed_total',
    help: 'Fast assignments whose window passed unused: their request went back to the book for assignSigned or assign',
    labelNames: ['kind'] as const,
    registers,
  })
  const fastDropped = new Counter({
    name: 'cairn_matcher_fast_offers_dropped_total',
    help: 'Fast assignments ended with their request otherwise: deposit withdrawn, nonce invalidated or spent, posted, assigned, cancelled (by kind and reason)',
    labelNames: ['kind', 'reason'] as const,
    registers,
  })
  const fastOutstanding = new Gauge({
    name: 'cairn_matcher_fast_offers_outstanding',
    help: 'Fast assignments outstanding: made, not used, lapsed or dropped yet, by kind',
    labelNames: ['kind'] as const,
    registers,
  })
  const roundMs = new Histogram({
    name: 'cairn_matcher_match_round_ms',
    help: 'Milliseconds per matching round: matchBatch, holds and private-input re-wraps (not signing or sending)',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1_000],
    registers,
  })
  const latencyBlocks = new Histogram({
    name: 'cairn_matcher_assignment_latency_blocks',
    help: 'Blocks from RequestCreated to TaskAssigned, for assignments seen while following the chain',
    buckets: [1, 2, 3, 5, 10, 20, 50],
    registers,
  })
  const keyExpiresAt = new Gauge({
    name: 'cairn_matcher_key_expires_at_seconds',
    help: 'Chain time (unix seconds) at which the matcher key’s attestation expires',
    registers,
  })
  const keyExpiresIn = new Gauge({
    name: 'cairn_matcher_key_expires_in_seconds',
    help: 'Seconds of chain time left before the matcher key’s attestation expires',
    registers,
  })
  const attestations = new Counter({
    name: 'cairn_matcher_attestations_total',
    help: 'Successful key registrations (start and renewals)',
    registers,
  })
  const syncedBlock = new Gauge({ name: 'cairn_matcher_synced_block', help: 'Last block indexed', registers })
  const rebuilds = new Counter({
    name: 'cairn_matcher_rebuilds_total',
    help: 'Times the book was rebuilt from the chain after a reorganisation',
    registers,
  })
  const errors = new Counter({
    name: 'cairn_matcher_errors_total',
    help: 'Failed steps of the main loop (retried on the next poll), by stage',
    labelNames: ['stage'] as const,
    registers,
  })
  return {
    registry,
    bookRequests,
    bookMarkets,
    bookProvers,
    proversGone,
    bookListings,
    batchesSent,
    batchFailures,
    assignments,
    assignmentSkips,
    requestsSkipped,
    signedItemsDropped,
    orders,
    ordersRejected,
    ordersPending,
    ordersEnded,
    journalWriteMs,
    fastOffers,
    fastUsed,
    fastLapsed,
    fastDropped,
    fastOutstanding,
    roundMs,
    latencyBlocks,
    keyExpiresAt,
    keyExpiresIn,
    attestations,
    syncedBlock,
    rebuilds,
    errors,
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** The book's gauges, and the key's time left at chain time `now` (once registered). */
export function setGauges<request extends OpenRequest>(
  metrics: Metrics,
  book: Book<request>,
  registration: KeyRegistration | undefined,
  now: number,
): void {
  const stats = bookStats(book)
  metrics.bookRequests.set({ state: 'queued' }, stats.open - stats.parked)
  metrics.bookRequests.set({ state: 'parked' }, stats.parked)
  metrics.bookRequests.set({ state: 'held' }, stats.held)
  metrics.bookMarkets.set(stats.markets)
  metrics.bookProvers.set(stats.provers)
  metrics.bookListings.set(stats.listings)
  if (registration !== undefined) metrics.keyExpiresIn.set(registration.expiresAt - now)
}
