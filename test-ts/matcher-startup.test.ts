import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import { matcherHealth, matcherStatus, registered } from '../enclave/matcher/health.js'
import { MatcherOperatorError } from '../enclave/matcher/keys.js'
import { createStop } from '../enclave/matcher/shutdown.js'
import { awaitSubmitterIdle, checkChain, retrying, submitterIdleStep } from '../enclave/matcher/startup.js'
import type { PendingBatch } from '../enclave/matcher/submitter.js'
import { address, captureLog, head, NOW, viewWith } from './matcher-fakes.js'

// The matcher's start-up steps (startup.ts), its graceful stop (shutdown.ts) and what /healthz says (health.ts), with
// doubles for the chain: no chain.

const REGISTRY = address(0x7ee)
const expected = { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', teeRegistry: REGISTRY }
const chain = (chainId: number, authority: Address) => ({
  chainId: async () => chainId,
  matcherAuthority: async () => authority,
})

describe('matcher start-up', () => {
  it('refuses another chain and warns when the marketplace takes its matchers from another registry', async () => {
    const { log, messages } = captureLog()
    await expect(checkChain(chain(1, REGISTRY), expected, log)).rejects.toThrow(
      "--rpc-url serves chain 1, but --chain-id says chain 31337: point --rpc-url at chain 31337's RPC",
    )
    await checkChain(chain(31337, REGISTRY), expected, log)
    expect(messages()).toEqual([])
    await checkChain(chain(31337, address(0x0bad)), expected, log)
    expect(messages()).toEqual([
      'the marketplace does not take its matchers from this TeeRegistry: its batches will be refused',
    ])
  })

  it('waits for a predecessor’s pending transactions, for a minute at most', async () => {
    expect(submitterIdleStep({ mined: 3, all: 3 }, 0)).toBe('idle')
    expect(submitterIdleStep({ mined: 3, all: 4 }, 60_000)).toBe('wait')
    expect(submitterIdleStep({ mined: 3, all: 4 }, 60_001)).toBe('give-up')

    const { log, messages } = captureLog()
    const counts = [
      { mined: 3, all: 5 },
      { mined: 4, all: 5 },
      { mined: 5, all: 5 },
    ]
    let pauses = 0
    const idle = { submitter: address(0x5b), counts: async () => counts.shift() ?? { mined: 0, all: 0 } }
    await awaitSubmitterIdle({ ...idle, pause: async () => void pauses++, now: () => 0 }, log)
    expect(pauses).toBe(2)
    expect(messages()).toEqual([
      'waiting for the submitter’s pending transactions',
      'waiting for the submitter’s pending transactions',
    ])

    const busy = captureLog()
    let wall = 0
    const stuck = { submitter: address(0x5b), counts: async () => ({ mined: 1, all: 2 }) }
    await awaitSubmitterIdle(
      {
        ...stuck,
        pause: async () => {
          wall += 30_001
        },
        now: () => wall,
      },
      busy.log,
    )
    expect(busy.messages().at(-1)).toBe('submitter still has pending transactions; going on')
  })

  it('retries a step five times with backoff, and not at all for an operator governance has not admitted', async () => {
    const { log, messages } = captureLog()
    const pauses: number[] = []
    const pause = async (ms: number) => void pauses.push(ms)
    let attempts = 0
    const flaky = async () => {
      if (++attempts < 3) throw new Error('rpc down')
      return 'attested'
    }
    expect(await retrying('attest', flaky, { log, pause })).toBe('attested')
    expect(pauses).toEqual([1_000, 2_000])
    expect(messages()).toEqual(['attest failed; retrying', 'attest failed; retrying'])

    attempts = 0
    const down = async () => {
      attempts++
      throw new Error('rpc down')
    }
    await expect(retrying('initial sync', down, { log, pause })).rejects.toThrow('rpc down')
    expect(attempts).toBe(5)

    attempts = 0
    const refused = async () => {
      attempts++
      throw new MatcherOperatorError('operator not admitted')
    }
    await expect(retrying('attest', refused, { log, pause })).rejects.toBeInstanceOf(MatcherOperatorError)
    expect(attempts).toBe(1)
  })
})

describe('matcher stop', () => {
  it('stops the loop, gives the batch in flight a bounded time to settle, then closes; once', async () => {
    const { log, messages } = captureLog()
    const order: string[] = []
    const submitter = {
      pending: { hash: '0x01', items: [], validUntil: NOW, sentBlock: 1n, kind: 'assign' } as PendingBatch | undefined,
      settle: async (now: number) => {
        order.push(`settle ${now}`)
        if (order.length > 2) submitter.pending = undefined
      },
    }
    const stop = createStop({
      stopLoop: async () => void order.push('loop'),
      submitter,
      headTime: async () => NOW,
      pause: async () => void order.push('pause'),
      close: async () => void order.push('close'),
      log,
    })
    await Promise.all([stop(), stop()])
    expect(order).toEqual(['loop', `settle ${NOW}`, 'pause', `settle ${NOW}`, 'close'])
    expect(messages()).toEqual(['matcher stopped'])

    const stuck = captureLog()
    let wall = 0
    const inFlight: PendingBatch = { hash: '0x02', items: [], validUntil: NOW, sentBlock: 1n, kind: 'assign' }
    const never = { pending: inFlight, settle: async () => {} }
    const giveUp = createStop({
      stopLoop: async () => {},
      submitter: never,
      headTime: async () => {
        throw new Error('rpc down')
      },
      pause: async () => {
        wall += 10_000
      },
      close: async () => {},
      log: stuck.log,
      now: () => wall,
      waitMs: 30_000,
    })
    await giveUp()
    expect(stuck.messages()).toEqual([
      'could not settle the batch in flight',
      'could not settle the batch in flight',
      'could not settle the batch in flight',
      'stopping with a batch still pending',
      'matcher stopped',
    ])
  })
})

describe('matcher health', () => {
  const registration = { registeredAt: NOW, expiresAt: NOW + 3_600, renewAt: NOW + 2_400 }
  const follower = (chainTime: number | undefined, synced = true) => ({
    state: { initialSyncDone: true, failures: 0, headSeen: 5n, chainTime },
    synced: () => synced,
    lag: () => 0,
  })
  const view = { ...viewWith([]), block: head(5n) }

  it('is ok once the key is registered and unexpired by the chain’s clock, in sync, not revoked, not stopping', () => {
    expect(registered(registration, undefined)).toBe(false)
    expect(registered(registration, NOW + 3_599)).toBe(true)
    expect(registered(registration, NOW + 3_600)).toBe(false)

    const key = { registration, revoked: false }
    const healthy = matcherHealth({ key, follower: follower(NOW), view, stopping: false })
    expect(healthy).toEqual({
      ok: true,
      registered: true,
      synced: true,
      lag: 0,
      revoked: false,
      block: '5',
      keyExpiresAt: NOW + 3_600,
    })
    expect(matcherHealth({ key, follower: follower(NOW, false), view, stopping: false }).ok).toBe(false)
    expect(matcherHealth({ key, follower: follower(NOW + 3_600), view, stopping: false })).toMatchObject({
      ok: false,
      registered: false,
    })
    expect(matcherHealth({ key: { ...key, revoked: true }, follower: follower(NOW), view, stopping: false }).ok).toBe(
      false,
    )
    expect(matcherHealth({ key, follower: follower(NOW), view, stopping: true }).ok).toBe(false)
    expect(matcherStatus({ key, follower: follower(NOW), view }, undefined)).toMatchObject({
      block: 5n,
      chainTime: NOW,
      keyExpiresAt: NOW + 3_600,
      pendingBatch: undefined,
      book: { open: 0, held: 0 },
    })
  })
})
