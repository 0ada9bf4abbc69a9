import type { Hash, TransactionReceipt } from 'viem'
import { describe, expect, it } from 'vitest'
import type { BatchOutcome } from '../enclave/matcher/batches.js'
import type { MatcherRequest } from '../enclave/matcher/chain.js'
import { holdBatch, type MatchItem, matchBatch, requestStatus } from '../enclave/matcher/engine.js'
import { createSubmitter, type Prepared, settlementOf } from '../enclave/matcher/submitter.js'
import type { SignedAssignmentBatch } from '../ts/assignment.js'
import { CairnContractError } from '../ts/errors.js'
import { captureLog, createMetrics, matcherRequest, metricValue, NOW, PROVER, viewWith } from './matcher-fakes.js'

// The batch submitter (submitter.ts) with a chain double: receipts, sends and outcomes as the test says.

const HASH: Hash = `0x${'ab'.repeat(32)}`
const receipt = (status: 'success' | 'reverted', blockNumber = 12n) =>
  ({ status, blockNumber, gasUsed: 90_000n }) as TransactionReceipt
const refusal = (name: string) => new CairnContractError({ name, args: {}, data: '0x12345678', message: name })

function submitter(params: { send?: () => Promise<{ hash: Hash; uncertain: unknown }> } = {}) {
  const requests = [matcherRequest(), matcherRequest()]
  const view = viewWith(requests)
  const metrics = createMetrics()
  const { log, messages } = captureLog()
  let mined: TransactionReceipt | undefined
  let outcome: BatchOutcome = { assigned: [], skipped: [] }
  let refused = 0
  const signed: { count: number; validUntil: bigint }[] = []
  const created = createSubmitter({
    receipt: async () => mined,
    sign: async (assignments, validUntil): Promise<SignedAssignmentBatch> => {
      signed.push({ count: assignments.length, validUntil })
      return { assignments, validUntil, signature: '0x' }
    },
    send: params.send ?? (async () => ({ hash: HASH, uncertain: undefined })),
    outcome: () => outcome,
    book: () => view.book,
    onRefused: () => void refused++,
    sendSigned: async () => {
      throw new Error('no signed orders in these tests')
    },
    orders: { refused: () => undefined, failed: () => undefined },
    signatureValidity: 120,
    metrics,
    log,
  })
  const held = holdBatch(view.book, matchBatch(view.book, { now: NOW, maxItems: 10, minTimeToExpiry: 5 }).items)
  const prepared: Prepared[] = held.map((item) => ({
    item,
    assignment: {
      requestId: item.requestId,
      prover: item.prover,
      price: item.price,
      provingTime: item.provingTime,
      request: item.request.record,
    },
  }))
  const statusOf = (request: MatcherRequest) => requestStatus(view.book, request.requestId)
  return {
    submitter: created,
    requests,
    held,
    prepared,
    metrics,
    messages,
    signed,
    statusOf,
    mine: (value: TransactionReceipt | undefined) => {
      mined = value
    },
    refused: () => refused,
    setOutcome: (value: BatchOutcome) => {
      outcome = value
    },
  }
}

const sendAt = { block: 10n, now: NOW }

describe('the batch submitter', () => {
  it('decides from the receipt: in flight until validUntil, then expired; reverted or landed once mined', () => {
    expect(settlementOf({ validUntil: NOW }, undefined, NOW)).toEqual({ kind: 'in-flight' })
    expect(settlementOf({ validUntil: NOW }, undefined, NOW + 1)).toEqual({ kind: 'expired' })
    expect(settlementOf({ validUntil: NOW }, receipt('reverted'), NOW + 1).kind).toBe('reverted')
    expect(settlementOf({ validUntil: NOW }, receipt('success'), NOW + 1000).kind).toBe('landed')
  })

  it('sends one batch valid for the signature validity and keeps its items held until it settles', async () => {
    const s = submitter()
    await s.submitter.submit(s.held, async () => s.prepared, sendAt)
    expect(s.signed).toEqual([{ count: 2, validUntil: BigInt(NOW + 120) }])
    expect(s.submitter.pending).toMatchObject({ hash: HASH, validUntil: NOW + 120, sentBlock: 10n })
    expect(s.requests.map(s.statusOf)).toEqual(['held', 'held'])
    expect(await metricValue(s.metrics, 'cairn_matcher_batches_sent_total')).toBe(1)

    await s.submitter.settle(NOW + 120)
    expect(s.submitter.pending?.hash).toBe(HASH)
    await s.submitter.settle(NOW + 121)
    expect(s.submitter.pending).toBeUndefined()
    expect(s.requests.map(s.statusOf)).toEqual(['open', 'open'])
    expect(await metricValue(s.metrics, 'cairn_matcher_batch_failures_total', { reason: 'Expired' })).toBe(1)
    expect(s.messages()).toContain('batch not mined before its signature expired')
  })

  it('frees every item of a reverted batch, and the skipped items of a landed one', async () => {
    const reverted = submitter()
    await reverted.submitter.submit(reverted.held, async () => reverted.prepared, sendAt)
    reverted.mine(receipt('reverted'))
    await reverted.submitter.settle(NOW)
    expect(reverted.requests.map(reverted.statusOf)).toEqual(['open', 'open'])
    expect(await metricValue(reverted.metrics, 'cairn_matcher_batch_failures_total', { reason: 'Reverted' })).toBe(1)

    // The marketplace assigned the first item and skipped the second: only the second is free again.
    const exact = submitter()
    const [assigned, skipped] = exact.held as [MatchItem<MatcherRequest>, MatchItem<MatcherRequest>]
    exact.setOutcome({
      assigned: [{ requestId: assigned.requestId, prover: PROVER }],
      skipped: [{ requestId: skipped.requestId, prover: PROVER, reason: refusal('ListingChanged') }],
    })
    await exact.submitter.submit(exact.held, async () => exact.prepared, sendAt)
    exact.mine(receipt('success', 11n))
    await exact.submitter.settle(NOW)
    expect(exact.submitter.pending).toBeUndefined()
    expect(exact.requests.map(exact.statusOf)).toEqual(['held', 'open'])
    expect(await metricValue(exact.metrics, 'cairn_matcher_assignments_total')).toBe(1)
    expect(await metricValue(exact.metrics, 'cairn_matcher_assignment_skips_total', { reason: 'ListingChanged' })).toBe(
      1,
    )
    expect(exact.messages()).toEqual(expect.arrayContaining(['assignment skipped', 'batch landed']))
  })

  it('a refusal as matcher asks for the key again; any failure frees the batch and is counted by name', async () => {
    const notMatcher = submitter({
      send: async () => {
        throw refusal('NotMatcher')
      },
    })
    await notMatcher.submitter.submit(notMatcher.held, async () => notMatcher.prepared, sendAt)
    expect(notMatcher.refused()).toBe(1)
    expect(notMatcher.submitter.pending).toBeUndefined()
    expect(notMatcher.requests.map(notMatcher.statusOf)).toEqual(['open', 'open'])
    expect(await metricValue(notMatcher.metrics, 'cairn_matcher_batch_failures_total', { reason: 'NotMatcher' })).toBe(
      1,
    )

    // A failed read while preparing: nothing signed, the batch free again, counted as a send that failed.
    const readFailed = submitter()
    await readFailed.submitter.submit(readFailed.held, async () => Promise.reject(new Error('rpc down')), sendAt)
    expect(readFailed.signed).toEqual([])
    expect(readFailed.refused()).toBe(0)
    expect(readFailed.requests.map(readFailed.statusOf)).toEqual(['open', 'open'])
    expect(await metricValue(readFailed.metrics, 'cairn_matcher_batch_failures_total', { reason: 'SendFailed' })).toBe(
      1,
    )
    expect(readFailed.messages()).toContain('batch not sent')

    // Nothing left to sign after preparing: nothing sent, nothing counted.
    const empty = submitter()
    await empty.submitter.submit(empty.held, async () => [], sendAt)
    expect(empty.signed).toEqual([])
    expect(
      await metricValue(empty.metrics, 'cairn_matcher_batch_failures_total', { reason: 'SendFailed' }),
    ).toBeUndefined()
  })

  it('tracks a send the node did not confirm like any pending batch', async () => {
    const uncertain = submitter({ send: async () => ({ hash: HASH, uncertain: new Error('socket hang up') }) })
    await uncertain.submitter.submit(uncertain.held, async () => uncertain.prepared, sendAt)
    expect(uncertain.submitter.pending?.hash).toBe(HASH)
    expect(uncertain.requests.map(uncertain.statusOf)).toEqual(['held', 'held'])
    expect(uncertain.messages()).toContain('batch send unconfirmed: tracked until mined or expired')
  })
})
