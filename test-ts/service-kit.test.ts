import { pino } from 'pino'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { backoffMs, createAttestedKey, renewalDue, validFor } from '../ts/service/attested-key.js'
import { connectClients, connectReader, WrongChainError } from '../ts/service/chain.js'
import type { KeyRegistration } from '../ts/service/key-registration.js'
import { startPollLoop } from '../ts/service/poll-loop.js'
import { serveLocally } from './local-server.js'

const registration = (registeredAt: number, expiresAt: number): KeyRegistration => ({
  registeredAt,
  expiresAt,
  renewAt: registeredAt + Math.floor(((expiresAt - registeredAt) * 2) / 3),
})

describe('the attested key lifecycle', () => {
  it('is due at start, then at its renewal time by the chain clock, or at once when refused', () => {
    const state = { registration: undefined, refused: false, failures: 0, retryAt: 0 }
    expect(renewalDue(state, undefined, 0)).toBe('initial')
    const current = { ...state, registration: registration(1_000, 1_300) }
    expect(renewalDue(current, 1_199, 0)).toBeUndefined()
    expect(renewalDue(current, 1_200, 0)).toBe('renewal')
    expect(renewalDue(current, undefined, 0)).toBeUndefined()
    expect(renewalDue({ ...current, refused: true }, 1_001, 0)).toBe('refused')
    expect(renewalDue({ ...current, refused: true, retryAt: 5_000 }, 1_001, 4_999)).toBeUndefined()
  })

  it('signs only while the key outlives the margin', () => {
    expect(validFor(undefined, 0, 0)).toBe(false)
    expect(validFor(registration(0, 100), 89, 10)).toBe(true)
    expect(validFor(registration(0, 100), 90, 10)).toBe(false)
  })

  it('backs off after failures, doubling up to the cap, and registers again once the backoff has run', async () => {
    let wall = 0
    let fail = true
    let calls = 0
    const key = createAttestedKey({
      now: () => wall,
      register: async () => {
        calls++
        if (fail) throw new Error('registry down')
        return registration(10, 310)
      },
    })
    const first = await key.ensure(undefined)
    expect(first).toMatchObject({ kind: 'failed', reason: 'initial', retryInMs: 2_000 })
    expect(await key.ensure(undefined)).toEqual({ kind: 'backing-off', retryInMs: 2_000 })
    wall = 2_000
    expect(await key.ensure(undefined)).toMatchObject({ kind: 'failed', retryInMs: 4_000 })
    expect(calls).toBe(2)
    expect([1, 2, 3, 5, 6, 10].map((failures) => backoffMs(failures))).toEqual([
      2_000, 4_000, 8_000, 32_000, 60_000, 60_000,
    ])

    fail = false
    wall = 6_000
    expect(await key.ensure(undefined)).toMatchObject({ kind: 'registered', reason: 'initial' })
    expect(key.state.failures).toBe(0)
    expect(await key.ensure(100)).toEqual({ kind: 'current' })
    expect(await key.ensure(210)).toMatchObject({ kind: 'registered', reason: 'renewal' })
    key.markRefused()
    expect(await key.ensure(11)).toMatchObject({ kind: 'registered', reason: 'refused' })
    expect(key.state.refused).toBe(false)
    expect(calls).toBe(5)
  })

  it('registers when forced even if current', async () => {
    let calls = 0
    const key = createAttestedKey({ register: async () => registration(++calls, 1_000) })
    await key.ensure(0, { force: true })
    expect(await key.ensure(0, { force: true })).toMatchObject({ kind: 'registered', reason: 'renewal' })
    expect(calls).toBe(2)
  })
})

describe('the poll loop', () => {
  const log = pino({ level: 'silent' })

  it('runs its rounds in order, counts a failure under the stage it reached, and still runs the next round', async () => {
    const ran: string[] = []
    const errors: string[] = []
    const failures: unknown[] = []
    const loop = startPollLoop({
      intervalMs: 60_000,
      pauseFirst: true,
      log,
      countError: (stage) => errors.push(stage),
      onError: (_stage, error) => failures.push(error),
      rounds: [
        {
          name: 'tick',
          run: async (stage) => {
            ran.push('tick')
            stage('sync')
            throw new Error('node down')
          },
        },
        { name: 'outcomes', run: async () => void ran.push('outcomes') },
      ],
    })
    await loop.runOnce()
    await loop.stop()
    expect(ran).toEqual(['tick', 'outcomes'])
    expect(errors).toEqual(['sync'])
    expect(failures).toHaveLength(1)
  })

  it('stops during its pause without waiting for it, after the round in flight', async () => {
    let rounds = 0
    let release: () => void = () => {}
    const inFlight = new Promise<void>((resolve) => {
      release = resolve
    })
    let entered: () => void = () => {}
    const started = new Promise<void>((resolve) => {
      entered = resolve
    })
    const loop = startPollLoop({
      intervalMs: 3_600_000,
      log,
      countError: () => {},
      rounds: [
        {
          name: 'round',
          run: async () => {
            rounds++
            entered()
            await inFlight
          },
        },
      ],
    })
    await started
    const stopped = loop.stop()
    let stoppedYet = false
    void stopped.then(() => {
      stoppedYet = true
    })
    await Promise.resolve()
    expect(stoppedYet).toBe(false)
    release()
    await stopped
    expect(rounds).toBe(1)
  })
})

describe('a service chain', () => {
  // An RPC endpoint that answers eth_chainId only: enough to show which chain a URL serves.
  async function chainIdRpc(chainId: number) {
    return serveLocally((request, response) => {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        const { id } = JSON.parse(body) as { id: number }
        response.setHeader('content-type', 'application/json')
        response.end(JSON.stringify({ jsonrpc: '2.0', id, result: `0x${chainId.toString(16)}` }))
      })
    })
  }
  const source = { rpcFlag: '--rpc-url', expectedFrom: '--chain-id' }

  it('connects to the chain the RPC serves', async () => {
    const rpc = await chainIdRpc(31337)
    try {
      const account = privateKeyToAccount(`0x${'11'.repeat(32)}`)
      const clients = await connectClients({ chainId: 31337, rpcUrl: rpc.base, account, pollingInterval: 100, source })
      expect(clients.public.chain.id).toBe(31337)
      expect(clients.wallet.account.address).toBe(account.address)
    } finally {
      rpc.close()
    }
  })

  it('refuses an RPC serving another chain, naming the flag to fix', async () => {
    const rpc = await chainIdRpc(1)
    try {
      const connecting = connectReader({ chainId: 31337, rpcUrl: rpc.base, pollingInterval: 100, source })
      await expect(connecting).rejects.toBeInstanceOf(WrongChainError)
      await expect(connecting).rejects.toThrow(
        "--rpc-url serves chain 1, but --chain-id says chain 31337: point --rpc-url at chain 31337's RPC",
      )
    } finally {
      rpc.close()
    }
  })
})
