import { describe, expect, it } from 'vitest'
import { type MatcherRequest, proverKeyId } from '../enclave/matcher/chain.js'
import { holdBatch, type MatchItem, matchBatch, requestStatus } from '../enclave/matcher/engine.js'
import { createGoneProvers, goneChanges } from '../enclave/matcher/gone-provers.js'
import { createPreparer, rewrapFailureOf } from '../enclave/matcher/rewrap.js'
import { createRound, eligibility, hasActiveKey } from '../enclave/matcher/round.js'
import type { PendingBatch, Prepared } from '../enclave/matcher/submitter.js'
import { createTick, nextAction } from '../enclave/matcher/tick.js'
import { PrivateInputsError } from '../ts/privacy.js'
import type { RequestInputsState } from '../ts/request-inputs.js'
import {
  address,
  captureLog,
  createMetrics,
  head,
  histogramCount,
  MARKET,
  matcherRequest,
  metricValue,
  NOW,
  PROVER,
  privateInputs,
  viewWith,
} from './matcher-fakes.js'

// A matching round (round.ts), the re-wrap of its private inputs (rewrap.ts), the gone provers it notes and the poll
// that runs it (tick.ts), over a real book and doubles for the inputs, the registry and the submitter: no chain.

type Inputs = Map<bigint, RequestInputsState<Uint8Array | undefined>>
const ENVELOPE = new Uint8Array([0xe0])
const inputsDouble = (inputs: Inputs) => ({
  get: (requestId: bigint) => inputs.get(requestId),
  ids: () => [...inputs.keys()],
  forget: (requestId: bigint) => void inputs.delete(requestId),
})
const activeKey = (expiresAt: number) => ({ signer: address(0xe1), eciesPublicKey: '0x04' as const, expiresAt })

describe('a matching round', () => {
  it('decides eligibility: inputs loaded first, private ones only to a prover whose enclave key outlives the margin', () => {
    const keys = new Map([[proverKeyId(MARKET, PROVER), activeKey(NOW + 10)]])
    expect(hasActiveKey(keys, { prover: PROVER, marketId: MARKET, now: NOW, minTimeToExpiry: 9 })).toBe(true)
    expect(hasActiveKey(keys, { prover: PROVER, marketId: MARKET, now: NOW, minTimeToExpiry: 10 })).toBe(false)
    expect(hasActiveKey(keys, { prover: address(0xa2), marketId: MARKET, now: NOW, minTimeToExpiry: 0 })).toBe(false)

    const sealed = matcherRequest(privateInputs)
    const ready = (ok: boolean) => () => ok
    const keyed = (ok: boolean) => () => ok
    expect(eligibility(ready(false), keyed(false))(matcherRequest(), PROVER, MARKET)).toBe(true)
    expect(eligibility(ready(false), keyed(true))(sealed, PROVER, MARKET)).toBe(false)
    expect(eligibility(ready(true), keyed(false))(sealed, PROVER, MARKET)).toBe(false)
    expect(eligibility(ready(true), keyed(true))(sealed, PROVER, MARKET)).toBe(true)
  })

  it('forgets what expired or closed, holds one batch of eligible requests and hands it to the submitter', async () => {
    const expired = matcherRequest({ matchingExpiry: NOW - 1 })
    const plain = matcherRequest()
    const sealedReady = matcherRequest(privateInputs)
    const sealedLoading = matcherRequest(privateInputs)
    const view = viewWith([expired, plain, sealedReady, sealedLoading])
    view.proverKeys.set(proverKeyId(MARKET, PROVER), activeKey(NOW + 100))
    const inputs: Inputs = new Map([
      [expired.requestId, { state: 'ready', value: ENVELOPE }],
      [sealedReady.requestId, { state: 'ready', value: ENVELOPE }],
      [sealedLoading.requestId, { state: 'loading' }],
      [99n, { state: 'loading' }],
    ])
    const metrics = createMetrics()
    const submitted: { held: bigint[]; prepared: Prepared[]; at: { block: bigint; now: number } }[] = []
    const noted: number[] = []
    const round = createRound({
      view: () => view,
      inputs: inputsDouble(inputs),
      noteGone: (gone) => void noted.push(gone.length),
      prepare: async (held) => held.map((item) => ({ item }) as Prepared),
      submitter: {
        submit: async (held, prepare, at) =>
          void submitted.push({ held: held.map((item) => item.requestId), prepared: await prepare(), at }),
      },
      maxBatch: 10,
      minTimeToExpiry: 5,
      metrics,
    })
    expect(round.matchTime).toBe(0)
    expect(round.hasActiveKey(PROVER, MARKET)).toBe(true)
    await round.run(head(10n))
    const now = Number(head(10n).timestamp)
    expect(round.matchTime).toBe(now)
    expect(view.open.has(expired.requestId)).toBe(false)
    expect([...inputs.keys()]).toEqual([sealedReady.requestId, sealedLoading.requestId])
    expect(noted).toEqual([0])
    expect(submitted).toEqual([
      { held: [plain.requestId, sealedReady.requestId], prepared: expect.any(Array), at: { block: 10n, now } },
    ])
    expect(requestStatus(view.book, sealedLoading.requestId)).toBe('open')
    expect(await histogramCount(metrics.roundMs)).toBe(1)
  })
})

describe('re-wrapping private inputs for a held batch', () => {
  function preparer(rewrap: (item: MatchItem<MatcherRequest>) => Promise<`0x${string}` | undefined>) {
    const plain = matcherRequest()
    const sealed = matcherRequest(privateInputs)
    const view = viewWith([plain, sealed])
    const held = holdBatch(view.book, matchBatch(view.book, { now: NOW, maxItems: 10, minTimeToExpiry: 5 }).items)
    const inputs: Inputs = new Map([[sealed.requestId, { state: 'ready', value: ENVELOPE }]])
    view.proverKeys.set(proverKeyId(MARKET, PROVER), activeKey(NOW + 100))
    const skipped: { requestId: bigint; code: string }[] = []
    const { log, messages } = captureLog()
    const prepare = createPreparer({
      view: () => view,
      inputs: inputsDouble(inputs),
      rewrap: (item) => rewrap(item),
      skip: (requestId, reason) => void skipped.push({ requestId, code: reason.code }),
      log,
    })
    return { prepare: () => prepare(held, 10n), plain, sealed, view, inputs, skipped, messages }
  }

  it('classifies a failed re-wrap: a prover key off the curve, inputs that cannot be re-wrapped, or a failed read', () => {
    expect(rewrapFailureOf(new PrivateInputsError('InvalidPublicKey', 'off the curve'))).toEqual({
      kind: 'InvalidProverKey',
    })
    expect(rewrapFailureOf(new PrivateInputsError('DecryptionFailed', 'no'))).toMatchObject({
      kind: 'Rejected',
      code: 'DecryptionFailed',
    })
    expect(rewrapFailureOf(new Error('rpc down'))).toBeUndefined()
  })

  it('signs public items as matched and private ones with the data key re-wrapped to the prover', async () => {
    const p = preparer(async () => '0xbeef')
    const prepared = await p.prepare()
    expect(prepared.map(({ assignment }) => [assignment.requestId, assignment.inputKey])).toEqual([
      [p.plain.requestId, undefined],
      [p.sealed.requestId, '0xbeef'],
    ])
    expect(prepared[0]?.assignment).toMatchObject({ prover: PROVER, price: 10n ** 18n, provingTime: 300 })
  })

  it('releases an item whose prover has no active enclave key, or whose inputs are not ready', async () => {
    const noKey = preparer(async () => undefined)
    expect((await noKey.prepare()).map(({ item }) => item.requestId)).toEqual([noKey.plain.requestId])
    expect(requestStatus(noKey.view.book, noKey.sealed.requestId)).toBe('open')
    expect(noKey.messages()).toContain('prover has no active enclave key: not assigned')

    const notReady = preparer(async () => '0xbeef')
    notReady.inputs.set(notReady.sealed.requestId, { state: 'loading' })
    expect((await notReady.prepare()).map(({ item }) => item.requestId)).toEqual([notReady.plain.requestId])
    expect(requestStatus(notReady.view.book, notReady.sealed.requestId)).toBe('open')
  })

  it('forgets a prover key off the curve, skips inputs it cannot re-wrap, and throws on a failed read', async () => {
    const offCurve = preparer(async () => {
      throw new PrivateInputsError('InvalidPublicKey', 'not a point')
    })
    expect(await offCurve.prepare()).toHaveLength(1)
    expect(offCurve.view.proverKeys.has(proverKeyId(MARKET, PROVER))).toBe(false)
    expect(requestStatus(offCurve.view.book, offCurve.sealed.requestId)).toBe('open')

    const cannot = preparer(async () => {
      throw new PrivateInputsError('DecryptionFailed', 'ciphertext does not authenticate')
    })
    expect(await cannot.prepare()).toHaveLength(1)
    expect(cannot.skipped).toEqual([{ requestId: cannot.sealed.requestId, code: 'DecryptionFailed' }])
    expect(cannot.messages()).toContain('private inputs cannot be re-wrapped: request skipped')

    const readFailed = preparer(async () => {
      throw new Error('rpc down')
    })
    await expect(readFailed.prepare()).rejects.toThrow('rpc down')
  })
})

describe('gone provers', () => {
  it('logs a prover once when it goes and once when it comes back', async () => {
    const a = address(0xa1)
    const b = address(0xb2)
    expect(goneChanges(new Map(), [{ prover: a, since: 5 }])).toMatchObject({ went: [{ prover: a }], back: [] })
    expect(goneChanges(new Map([[a.toLowerCase(), 5]]), [{ prover: b, since: 7 }])).toMatchObject({
      went: [{ prover: b }],
      back: [a.toLowerCase()],
    })

    const metrics = createMetrics()
    const { log, messages } = captureLog()
    const note = createGoneProvers({ metrics, log })
    note([{ prover: a, since: 5 }])
    note([{ prover: a, since: 5 }])
    expect(await metricValue(metrics, 'cairn_matcher_provers_gone')).toBe(1)
    note([])
    expect(messages()).toEqual([
      'prover left a task unanswered past its proving time: not assigned more until it fulfils, rejects inputs or announces itself on chain',
      'prover showed a sign of life on chain: assigned again',
    ])
    expect(await metricValue(metrics, 'cairn_matcher_provers_gone')).toBe(0)
  })
})

describe('one poll', () => {
  it('decides: wait for the batch in flight, then a wanted renewal, then at most one round per block', () => {
    const facts = { pending: false, renewalWanted: false, canSign: true, head: 5n, lastRound: 4n }
    expect(nextAction(facts)).toBe('round')
    expect(nextAction({ ...facts, pending: true, renewalWanted: true })).toBe('await-batch')
    expect(nextAction({ ...facts, renewalWanted: true })).toBe('attest')
    expect(nextAction({ ...facts, lastRound: 5n })).toBe('idle')
    expect(nextAction({ ...facts, canSign: false })).toBe('idle')
  })

  it('runs its stages in order and matches once per block', async () => {
    let latest = head(5n)
    let wanted = false
    const calls: string[] = []
    const submitter = {
      pending: undefined as PendingBatch | undefined,
      queued: [],
      settle: async () => void calls.push('settle'),
    }
    const tick = createTick({
      follower: {
        follow: async (stage) => {
          stage('head')
          return latest
        },
      },
      updateGauges: () => void calls.push('gauges'),
      submitter,
      key: { renewalWanted: () => wanted, renew: async () => void calls.push('renew'), canSign: () => true },
      round: { run: async (at) => void calls.push(`round ${at.number}`) },
    })
    const stages: string[] = []
    const stage = (name: string) => void stages.push(name)
    await tick.run(stage)
    await tick.run(stage)
    expect(calls).toEqual(['gauges', 'round 5', 'gauges'])
    expect(stages).toEqual(['head', 'receipt', 'attest', 'round', 'head', 'receipt', 'attest'])

    calls.length = 0
    latest = head(6n)
    submitter.pending = { hash: '0x01', items: [], validUntil: NOW, sentBlock: 5n, kind: 'assign' }
    await tick.run(stage)
    submitter.pending = undefined
    wanted = true
    await tick.run(stage)
    wanted = false
    await tick.run(stage)
    expect(calls).toEqual(['gauges', 'settle', 'gauges', 'renew', 'gauges', 'round 6'])
  })
})
