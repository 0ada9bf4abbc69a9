import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import type { MatcherRequest } from '../enclave/matcher/chain.js'
import { describeWait, type WaitReason } from '../enclave/matcher/explain.js'
import { requestContext } from '../enclave/matcher/inputs.js'
import { requestRoute, waitReply } from '../enclave/matcher/request-route.js'
import { createSkippingInputsStore, skipRequest } from '../enclave/matcher/skips.js'
import { createRejectedRequests, type WaitSources, waitReasonOf } from '../enclave/matcher/wait-reasons.js'
import type { RequestInputsState } from '../ts/request-inputs.js'
import { remoteInputs } from '../ts/types.js'
import {
  address,
  captureLog,
  createMetrics,
  MARKET,
  matcherRequest,
  metricValue,
  NOW,
  PROVER,
  privateInputs,
  viewWith,
} from './matcher-fakes.js'

// Why an open request is not assigned yet (wait-reasons.ts) and its HTTP face (request-route.ts), over a real book:
// no chain, no server.

const behindUri = { publicInputs: remoteInputs('https://inputs.example/1', `0x${'11'.repeat(32)}`) } as const

describe('wait reasons', () => {
  it('remembers the requests it gave up on, boundedly: the oldest is forgotten first', () => {
    const rejected = createRejectedRequests(2)
    for (const id of [1n, 2n, 3n]) rejected.remember(id, { code: 'InputsRejected', reason: 'TooLarge', message: '…' })
    expect(rejected.size).toBe(2)
    expect(rejected.get(1n)).toBeUndefined()
    expect(rejected.get(3n)).toMatchObject({ reason: 'TooLarge' })
  })

  it('answers a rejection first, then the inputs’ state, then the engine’s rules; nothing for a request not open', () => {
    const plain = matcherRequest()
    const loading = matcherRequest(behindUri)
    const failed = matcherRequest(behindUri)
    const sealed = matcherRequest(privateInputs)
    const view = viewWith([plain, loading, failed, sealed])
    const inputs = new Map<bigint, RequestInputsState<Uint8Array | undefined>>([
      [loading.requestId, { state: 'loading' }],
      [failed.requestId, { state: 'failed', reason: 'DigestMismatch', message: 'other bytes' }],
      [sealed.requestId, { state: 'ready', value: new Uint8Array([1]) }],
    ])
    const rejected = createRejectedRequests()
    rejected.remember(42n, { code: 'InputsRejected', reason: 'DecryptionFailed', message: 'does not open' })
    let keyed = false
    const sources: WaitSources = {
      rejected,
      view,
      inputs: { get: (id) => inputs.get(id) },
      follower: { state: { initialSyncDone: true, failures: 0, headSeen: 1n, chainTime: NOW } },
      round: { hasActiveKey: (prover, marketId) => keyed && prover === PROVER && marketId === MARKET },
      minTimeToExpiry: 5,
    }
    expect(waitReasonOf(42n, sources)).toMatchObject({ code: 'InputsRejected', reason: 'DecryptionFailed' })
    expect(waitReasonOf(7n, sources)).toBeUndefined()
    expect(waitReasonOf(plain.requestId, sources)).toEqual({ code: 'Queued' })
    expect(waitReasonOf(loading.requestId, sources)).toEqual({ code: 'InputsLoading' })
    expect(waitReasonOf(failed.requestId, sources)).toEqual({
      code: 'InputsRejected',
      reason: 'DigestMismatch',
      message: 'other bytes',
    })
    expect(waitReasonOf(sealed.requestId, sources)).toMatchObject({ code: 'NoEnclaveKey', prover: PROVER })
    keyed = true
    expect(waitReasonOf(sealed.requestId, sources)).toEqual({ code: 'Queued' })
    // Judged at the chain time of the last block read.
    const later = { ...sources, follower: { state: { ...sources.follower.state, chainTime: NOW + 1_000 } } }
    expect(waitReasonOf(plain.requestId, later)).toMatchObject({ code: 'Expired' })
    // A signed order backing off an InsufficientDeposit refusal says so until its time comes, then the engine's rule.
    const benched = { ...sources, benchedUntil: (id: bigint) => (id === plain.requestId ? NOW + 12 : undefined) }
    expect(waitReasonOf(plain.requestId, benched)).toEqual({ code: 'DepositShort', until: NOW + 12 })
    expect(describeWait({ code: 'DepositShort', until: NOW + 12 })).toContain('deposit more')
    const backAgain = { ...benched, follower: { state: { ...sources.follower.state, chainTime: NOW + 12 } } }
    expect(waitReasonOf(plain.requestId, backAgain)).toEqual({ code: 'Queued' })
  })
})

describe('skipped requests', () => {
  it('are taken out of the book, remembered with their reason and counted, whoever found them', async () => {
    const rewrapped = matcherRequest(privateInputs)
    const unopened = matcherRequest(privateInputs)
    const view = viewWith([rewrapped, unopened])
    const rejected = createRejectedRequests()
    const metrics = createMetrics()
    const skips = { view: () => view, rejected, metrics }
    skipRequest(skips, rewrapped.requestId, { code: 'DecryptionFailed', message: 'does not authenticate' })
    expect(view.open.has(rewrapped.requestId)).toBe(false)
    expect(rejected.get(rewrapped.requestId)).toEqual({
      code: 'InputsRejected',
      reason: 'DecryptionFailed',
      message: 'does not authenticate',
    })

    // The inputs store finds the envelope is not the one the request commits to: skipped the same way, and logged.
    const { log, messages } = captureLog()
    const bounds = { fetchTimeout: 1_000, maxInputBytes: 1_024, allowFileUris: false }
    const context = (request: MatcherRequest) => requestContext({ chainId: 1, marketplace: address(0xaa) }, request)
    const store = createSkippingInputsStore({ ...skips, privateKey: `0x${'01'.repeat(32)}`, context, bounds, log })
    store.load(unopened)
    expect(store.get(unopened.requestId)?.state).toBe('failed')
    expect(view.open.has(unopened.requestId)).toBe(false)
    expect(rejected.get(unopened.requestId)).toMatchObject({ code: 'InputsRejected', reason: 'InputsDigestMismatch' })
    expect(await metricValue(metrics, 'cairn_matcher_requests_skipped_total', { reason: 'InputsDigestMismatch' })).toBe(
      1,
    )
    expect(messages()).toEqual(['inputs cannot load or open: request skipped (it will expire and can be cancelled)'])
  })
})

describe('GET /requests/<id>', () => {
  it('answers 404 for a request not open, 200 with the reason (bigints as decimal strings) and a sentence', async () => {
    expect(waitReply(5n, undefined, 10n)).toEqual({
      status: 404,
      body: {
        error: `request 5 is not open in this matcher's book: not posted (or not indexed yet), assigned, or ended`,
      },
    })
    const reason: WaitReason = {
      code: 'InsufficientStake',
      prover: PROVER,
      available: 1n,
      required: 10n ** 20n,
      blockedOffers: 1,
    }
    expect(waitReply(5n, reason, 10n)).toEqual({
      status: 200,
      body: {
        requestId: '5',
        block: '10',
        reason: { ...reason, available: '1', required: '100000000000000000000' },
        message: describeWait(reason),
      },
    })

    const asked: bigint[] = []
    const route = requestRoute(
      (requestId) => {
        asked.push(requestId)
        return { code: 'Queued' }
      },
      () => undefined,
    )
    const path = route.path as RegExp
    const [, id] = path.exec('/requests/123456789012345678901234567890') ?? []
    expect(path.test('/requests/12x')).toBe(false)
    const reply = await route.handler({} as IncomingMessage, [id ?? ''])
    expect(asked).toEqual([123456789012345678901234567890n])
    expect(reply).toMatchObject({ status: 200, body: { reason: { code: 'Queued' }, block: undefined } })
  })
})
