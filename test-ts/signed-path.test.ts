import type { ServerResponse } from 'node:http'
import { encodeErrorResult, type Hex, zeroHash } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import type { CairnReader } from '../ts/client.js'
import { freePort } from '../ts/devnet/anvil.js'
import {
  decodeRevertData,
  defaultPostAfterSeconds,
  type FastFulfilment,
  iSignedRequestsAbi,
  MatcherUnavailableError,
  type OrderAccepted,
  OrderRejectedError,
  type PostedRequest,
  postUnlessUsed,
  type SignedPathPorts,
  SignedRequestNonceSpentError,
  type SignedRequestState,
  type SignedRequestWithSignature,
  sendSignedRequest,
  signedRequestState,
  signedWaitStep,
  submitOrder,
} from '../ts/index.js'
import { type LocalServer, serveLocally } from './local-server.js'

/*
 * The signed path's decisions (signed-path.ts, signed-wait.ts) with injected ports: what the matcher answers and what
 * the chain says are given, and the test checks which way the request goes and that nothing is posted when it must
 * not be. The real ports (the order stream over HTTP, postSignedRequest on anvil) are tested in order-stream.test.ts
 * and sdk.test.ts.
 */

const REQUESTER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const signed: SignedRequestWithSignature = {
  request: {
    requester: REQUESTER,
    nonce: 7n,
    marketId: 1,
    maxReward: 40n,
    provingTime: 600,
    matchingExpiry: 2_000,
    deadline: 2_600,
    speedPreferenceBps: 5_000,
    refundAddress: REQUESTER,
    publicInputs: { data: '0x0102', uri: '', digest: zeroHash },
    privateInputs: { data: '0x', uri: '', digest: zeroHash },
  },
  signature: `0x${'11'.repeat(65)}` as Hex,
  requestId: 42n,
}
const accepted: OrderAccepted = { requestId: '42', duplicate: false }
const posted = { requestId: 42n, receipt: { blockNumber: 9n } } as unknown as PostedRequest
const revert = (errorName: 'NonceUsed' | 'SignedRequestIdTaken' | 'InsufficientDeposit') =>
  decodeRevertData(
    errorName === 'NonceUsed'
      ? encodeErrorResult({ abi: iSignedRequestsAbi, errorName, args: [REQUESTER, 7n] })
      : errorName === 'SignedRequestIdTaken'
        ? encodeErrorResult({ abi: iSignedRequestsAbi, errorName, args: [42n] })
        : encodeErrorResult({ abi: iSignedRequestsAbi, errorName, args: [REQUESTER, REQUESTER, 0n, 40n] }),
  )

/** Ports that answer as told and record the calls. */
function ports(answers: {
  submit: () => Promise<OrderAccepted>
  post?: () => Promise<PostedRequest>
  state?: SignedRequestState['state']
}) {
  const calls: string[] = []
  const port: SignedPathPorts = {
    submit: async () => {
      calls.push('submit')
      return answers.submit()
    },
    post: async () => {
      calls.push('post')
      return (answers.post ?? (async () => posted))()
    },
    state: async () => {
      calls.push('state')
      const state = answers.state ?? 'unused'
      if (state === 'used') return { state, requestId: 42n, status: 'Assigned' }
      if (state === 'fulfilled') return { state, requestId: 42n, fulfilment: fastFulfilment }
      return { state, requestId: 42n }
    },
  }
  return { port, calls }
}

/** A fast-lane fulfilment of the request, as its SignedRequestFulfilled log reads. */
const fastFulfilment: FastFulfilment = {
  requestId: 42n,
  requester: REQUESTER,
  prover: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  nonce: 7n,
  price: 25n,
  transactionHash: zeroHash,
  blockNumber: 9n,
  logIndex: 0,
}

const unavailable = new MatcherUnavailableError('unreachable', 'http://127.0.0.1:1', 'ECONNREFUSED')
const refusal = (code: string) => new OrderRejectedError(code, 'what to do', {}, 422, 'http://127.0.0.1:1')

let server: LocalServer | undefined
afterEach(() => server?.close())

describe('the signed path decision', () => {
  it('the matcher acknowledges: signed, nothing posted', async () => {
    const { port, calls } = ports({ submit: async () => accepted })
    expect(await sendSignedRequest(signed, port)).toEqual({ path: 'signed', accepted })
    expect(calls).toEqual(['submit'])
  })

  it('the matcher refuses for a fault of the request: thrown, never posted on chain', async () => {
    for (const code of ['BadSignature', 'MatchingExpiryInPast', 'UnknownMarket', 'InputsDigestMismatch', 'X']) {
      const { port, calls } = ports({ submit: () => Promise.reject(refusal(code)) })
      await expect(sendSignedRequest(signed, port)).rejects.toMatchObject({ name: 'OrderRejectedError', code })
      expect(calls).toEqual(['submit'])
    }
  })

  it('the matcher is unavailable: the same signed request is posted on chain', async () => {
    const { port, calls } = ports({ submit: () => Promise.reject(unavailable) })
    expect(await sendSignedRequest(signed, port)).toEqual({ path: 'posted', posted, unavailable })
    expect(calls).toEqual(['submit', 'post'])
  })

  it('no acknowledgement within the timeout (a real hanging order stream): posted on chain', async () => {
    server = await serveLocally(() => {})
    const base = server.base
    const { port, calls } = ports({ submit: async () => accepted })
    const outcome = await sendSignedRequest(signed, {
      ...port,
      submit: (s) => submitOrder(base, s, { timeoutMs: 100 }),
    })
    expect(outcome).toMatchObject({ path: 'posted', posted, unavailable: { kind: 'timeout' } })
    expect(calls).toEqual(['post'])
  })

  it('posting after a timeout while the matcher assigned it meanwhile: treated as used, not an error', async () => {
    for (const name of ['NonceUsed', 'SignedRequestIdTaken'] as const) {
      const { port, calls } = ports({
        submit: () => Promise.reject(unavailable),
        post: () => Promise.reject(revert(name)),
        state: 'used',
      })
      expect(await sendSignedRequest(signed, port)).toEqual({ path: 'signed', used: 'Assigned', unavailable })
      expect(calls).toEqual(['submit', 'post', 'state'])
    }
  })

  it('posting a request the fast lane fulfilled meanwhile (NonceUsed, no record): used, Fulfilled, not cancelled', async () => {
    const { port, calls } = ports({
      submit: () => Promise.reject(unavailable),
      post: () => Promise.reject(revert('NonceUsed')),
      state: 'fulfilled',
    })
    expect(await sendSignedRequest(signed, port)).toEqual({ path: 'signed', used: 'Fulfilled', unavailable })
    expect(calls).toEqual(['submit', 'post', 'state'])
    const lie = ports({ submit: () => Promise.reject(refusal('AlreadyUsed')), state: 'fulfilled' })
    expect(await sendSignedRequest(signed, lie.port)).toEqual({ path: 'signed', used: 'Fulfilled' })
  })

  it('a nonce spent without a use (cancelled) is named; any other revert is thrown decoded', async () => {
    const cancelled = ports({ submit: async () => accepted, post: () => Promise.reject(revert('NonceUsed')) })
    await expect(postUnlessUsed(signed, cancelled.port)).rejects.toBeInstanceOf(SignedRequestNonceSpentError)
    const poor = ports({ submit: async () => accepted, post: () => Promise.reject(revert('InsufficientDeposit')) })
    await expect(postUnlessUsed(signed, poor.port)).rejects.toMatchObject({ name: 'InsufficientDeposit' })
    expect(poor.calls).toEqual(['post'])
  })

  it('a lying matcher: “already used” is checked on chain; an acknowledgement of another id is no acknowledgement', async () => {
    const lie = ports({ submit: () => Promise.reject(refusal('AlreadyUsed')), state: 'unused' })
    await expect(sendSignedRequest(signed, lie.port)).rejects.toMatchObject({ code: 'AlreadyUsed' })
    expect(lie.calls).toEqual(['submit', 'state'])
    const truth = ports({ submit: () => Promise.reject(refusal('AlreadyUsed')), state: 'used' })
    expect(await sendSignedRequest(signed, truth.port)).toEqual({ path: 'signed', used: 'Assigned' })

    const other = ports({ submit: async () => ({ requestId: '43', duplicate: false }) })
    expect(await sendSignedRequest(signed, other.port)).toMatchObject({
      path: 'posted',
      unavailable: { kind: 'badReply' },
    })
    expect(other.calls).toEqual(['submit', 'post'])
  })

  it('the real order stream on a closed port: posted', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const { port } = ports({ submit: async () => accepted })
    const outcome = await sendSignedRequest(signed, { ...port, submit: (s) => submitOrder(closed, s) })
    expect(outcome).toMatchObject({ path: 'posted', unavailable: { kind: 'unreachable' } })
  })

  it('a malformed reply to the order (a matcher without the order stream) is unavailability: posted', async () => {
    server = await serveLocally((_req, res: ServerResponse) => {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'no such endpoint: /orders' }))
    })
    const base = server.base
    const { port } = ports({ submit: async () => accepted })
    expect(await sendSignedRequest(signed, { ...port, submit: (s) => submitOrder(base, s) })).toMatchObject({
      path: 'posted',
    })
  })
})

describe('the wait for an acknowledged signed request', () => {
  const look = {
    state: 'unused' as const,
    startTime: 1_000n,
    postAfterSeconds: 60,
    matchingExpiry: 2_000,
    canPost: true,
  }

  it('acknowledged but not used within postAfter of chain time: post it; before that, wait', () => {
    expect(signedWaitStep({ ...look, chainTime: 1_000n })).toBe('wait')
    expect(signedWaitStep({ ...look, chainTime: 1_059n })).toBe('wait')
    expect(signedWaitStep({ ...look, chainTime: 1_060n })).toBe('post')
    // Only a wait that may post (it has a client, and has not posted yet) posts.
    expect(signedWaitStep({ ...look, chainTime: 1_060n, canPost: false })).toBe('wait')
  })

  it('used, cancelled or expired ends the wait', () => {
    expect(signedWaitStep({ ...look, state: 'used', chainTime: 1_500n })).toBe('used')
    // Fulfilled on the fast lane: used too, its SignedRequestFulfilled log is what the wait reads next.
    expect(signedWaitStep({ ...look, state: 'fulfilled', chainTime: 1_500n })).toBe('used')
    expect(signedWaitStep({ ...look, state: 'nonceSpent', chainTime: 1_001n })).toBe('nonceSpent')
    expect(signedWaitStep({ ...look, chainTime: 2_000n, canPost: false })).toBe('wait')
    expect(signedWaitStep({ ...look, chainTime: 2_001n })).toBe('expired')
    // Used counts even past the expiry: it was used in time, its logs tell the rest.
    expect(signedWaitStep({ ...look, state: 'used', chainTime: 2_001n })).toBe('used')
  })

  it('the default post-after leaves the market’s fallback delay for a claim before the matching expiry', () => {
    // Ten minutes to match, a 2-minute fallback delay: 60 s (the cap).
    expect(defaultPostAfterSeconds(1_000n, 1_600, 120)).toBe(60)
    // 100 s to match, a 60 s fallback delay: half of the 40 s slack.
    expect(defaultPostAfterSeconds(1_000n, 1_100, 60)).toBe(20)
    // No slack left: post at once.
    expect(defaultPostAfterSeconds(1_000n, 1_050, 60)).toBe(0)
  })
})

describe('signedRequestState', () => {
  /** A chain where the request is used between two reads: before it, nothing; after it, the bit and the status. */
  function chainUsedAfter(reads: number) {
    let count = 0
    const used = () => count > reads
    const reader = {
      deployment: { chainId: 31337, contracts: { proofMarketplace: '0x00000000000000000000000000000000000000aa' } },
      public: {
        readContract: async ({ functionName }: { functionName: string }) => {
          count += 1
          if (functionName === 'nonceBitmap') return used() ? 1n << 7n : 0n
          return used() ? 2 : 0 // requestStatus: Assigned once used, None before
        },
      },
    } as unknown as CairnReader
    return reader
  }

  it('a use landing between its two reads shows as used, never as a spent nonce', async () => {
    // Used after the first read (the nonce word): the status read after it sees the use.
    expect(await signedRequestState(chainUsedAfter(1), signed.request)).toMatchObject({ state: 'used' })
    expect(await signedRequestState(chainUsedAfter(0), signed.request)).toMatchObject({ state: 'used' })
    expect(await signedRequestState(chainUsedAfter(2), signed.request)).toMatchObject({ state: 'unused' })
  })
})
