import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Hex, zeroHash } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../ts/devnet/anvil.js'
import {
  depositShortfall,
  getOrderStatus,
  MAX_REPLY_BYTES,
  MatcherUnavailableError,
  ORDERS_PATH,
  OrderRejectedError,
  parseOrderBody,
  type SignedRequestWithSignature,
  submitOrder,
  submitToppingUp,
} from '../ts/index.js'
import { type LocalServer, serveLocally } from './local-server.js'

const signed: SignedRequestWithSignature = {
  request: {
    requester: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    nonce: (1n << 255n) + 7n,
    marketId: 1,
    maxReward: 40n * 10n ** 18n,
    provingTime: 600,
    matchingExpiry: 2_000,
    deadline: 2_600,
    speedPreferenceBps: 5_000,
    refundAddress: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    publicInputs: { data: '0x0102', uri: '', digest: zeroHash },
    privateInputs: { data: '0x', uri: '', digest: zeroHash },
  },
  signature: `0x${'11'.repeat(65)}` as Hex,
  requestId: 42n,
}

let server: LocalServer | undefined
afterEach(() => server?.close())

type Seen = { method: string; url: string; body: string; authorization: string | undefined }

/** A matcher stand-in answering every request with `reply`; records what it was sent. */
async function matcher(reply: (res: ServerResponse, seen: Seen) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = []
  server = await serveLocally((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', body, authorization: req.headers.authorization }
      seen.push(entry)
      reply(res, entry)
    })
  })
  return { base: server.base, seen }
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

const rejection = (code: string, message: string, details?: Record<string, string>) => ({
  error: { code, message, ...(details ? { details } : {}) },
})

describe('the order-stream client', () => {
  it('posts the order in the wire format and returns the acknowledgement, a repeat as duplicate', async () => {
    let count = 0
    const { base, seen } = await matcher((res) => json(res, 200, { requestId: '42', duplicate: count++ > 0 }))
    expect(await submitOrder(base, signed)).toEqual({ requestId: '42', duplicate: false })
    expect(await submitOrder(`${base}/`, signed)).toEqual({ requestId: '42', duplicate: true })
    expect(seen.map(({ method, url }) => `${method} ${url}`)).toEqual([`POST ${ORDERS_PATH}`, `POST ${ORDERS_PATH}`])
    const parsed = parseOrderBody(JSON.parse(seen[0]?.body ?? ''))
    expect(parsed.success && parsed.data).toEqual({ request: signed.request, signature: signed.signature })
  })

  it('turns each rejection class into OrderRejectedError with the matcher’s code, message and details', async () => {
    const cases: [number, ReturnType<typeof rejection>][] = [
      [400, rejection('MalformedOrder', 'request.nonce: a decimal integer string')],
      [413, rejection('OrderTooLarge', 'at most 262144 bytes: put large inputs behind a URI')],
      [422, rejection('BadSignature', 'the signature is not the requester’s')],
      [422, rejection('InsufficientDeposit', 'deposit more', { balance: '0', required: '40' })],
      [422, rejection('MatchingExpiryInPast', 'sign it again with a later expiry')],
      [409, rejection('AlreadyUsed', 'the request is on chain')],
    ]
    for (const [status, body] of cases) {
      const { base } = await matcher((res) => json(res, status, body))
      const error = await submitOrder(base, signed).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OrderRejectedError)
      expect(error).toMatchObject({
        code: body.error.code,
        reason: body.error.message,
        details: body.error.details ?? {},
        status,
      })
      expect((error as Error).message).toContain(`refused the order: ${body.error.code}: ${body.error.message}`)
      server?.close()
    }
  })

  it('a 503 (NotReady, Stopping) or any 5xx is unavailability, retryable, not a refusal', async () => {
    for (const [status, body] of [
      [503, rejection('NotReady', 'starting: retry')],
      [503, rejection('Stopping', 'shutting down')],
      [500, 'oops'],
    ] as const) {
      const { base } = await matcher((res) => json(res, status, body))
      const error = await submitOrder(base, signed).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MatcherUnavailableError)
      expect(error).toMatchObject({ kind: 'serverError', retryable: true })
      server?.close()
    }
  })

  it('garbage replies are unavailability: not JSON, the wrong shape, a generic 404, an oversized body', async () => {
    const replies: ((res: ServerResponse) => void)[] = [
      (res) => res.end('<html>hello</html>'),
      (res) => json(res, 200, { requestId: 42, duplicate: 'no' }),
      (res) => json(res, 404, { error: 'no such endpoint: /orders' }),
      (res) => json(res, 302, rejection('Moved', 'elsewhere')),
      (res) => json(res, 200, { requestId: '42', duplicate: false, pad: 'x'.repeat(MAX_REPLY_BYTES) }),
      (res) => {
        // No content-length: the bound holds while streaming too.
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write(`{"pad": "${'y'.repeat(MAX_REPLY_BYTES)}`)
        res.end('"}')
      },
    ]
    for (const reply of replies) {
      const { base } = await matcher(reply)
      const error = await submitOrder(base, signed).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MatcherUnavailableError)
      expect(error).toMatchObject({ kind: 'badReply' })
      server?.close()
    }
  })

  it('a server that never answers is a timeout; a closed port is unreachable', async () => {
    const { base } = await matcher(() => {})
    const hung = await submitOrder(base, signed, { timeoutMs: 200 }).catch((e: unknown) => e)
    expect(hung).toBeInstanceOf(MatcherUnavailableError)
    expect(hung).toMatchObject({ kind: 'timeout' })
    expect((hung as Error).message).toContain('no reply within 200 ms')

    const closed = `http://127.0.0.1:${await freePort()}`
    const refused = await submitOrder(closed, signed).catch((e: unknown) => e)
    expect(refused).toMatchObject({ name: 'MatcherUnavailableError', kind: 'unreachable' })
    expect((refused as Error).message).toContain('ECONNREFUSED')
  })

  it('sends a URL’s credentials as Basic auth and never shows them in a message', async () => {
    const { base, seen } = await matcher((res) => json(res, 422, rejection('ZeroReward', 'give a reward')))
    const withCredentials = base.replace('http://', 'http://alice:s3cret@')
    const error = await submitOrder(`${withCredentials}/?token=hunter2`, signed).catch((e: unknown) => e)
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`)
    expect(error).toBeInstanceOf(OrderRejectedError)
    expect((error as Error).message).not.toMatch(/s3cret|alice|hunter2/)
    server?.close()
    const down = await submitOrder(withCredentials, signed).catch((e: unknown) => e)
    expect((down as Error).message).not.toMatch(/s3cret|alice/)
    const bad = await submitOrder('ftp://bob:pw@host', signed).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(MatcherUnavailableError)
    expect((bad as Error).message).not.toMatch(/bob|pw@/)
  })

  it('reads an order’s status; an unknown order is undefined; a malformed status is unavailability', async () => {
    const { base, seen } = await matcher((res, { url }) =>
      url.endsWith('/42')
        ? json(res, 200, { requestId: '42', state: 'pending' })
        : json(res, 404, rejection('UnknownOrder', 'no such order')),
    )
    expect(await getOrderStatus(base, 42n)).toEqual({ requestId: '42', state: 'pending' })
    expect(await getOrderStatus(base, 43n)).toBeUndefined()
    expect(seen.map(({ method, url }) => `${method} ${url}`)).toEqual([
      `GET ${ORDERS_PATH}/42`,
      `GET ${ORDERS_PATH}/43`,
    ])
    server?.close()
    const { base: lying } = await matcher((res) => json(res, 200, { requestId: '42', state: 'teleported' }))
    const error = await getOrderStatus(lying, 42n).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'MatcherUnavailableError', kind: 'badReply' })
  })
})

describe('submitToppingUp: an InsufficientDeposit refusal that names the shortfall', () => {
  const refusal = (balance: string, needed: string) => ({
    error: { code: 'InsufficientDeposit', message: 'deposit more', details: { balance, needed } },
  })
  const accepted = { requestId: '42', duplicate: false }

  it('deposits the shortfall the matcher names and sends the order again, once', async () => {
    const { base, seen } = await matcher((res) =>
      seen.length === 1 ? json(res, 422, refusal('40', '100')) : json(res, 200, accepted),
    )
    const deposits: bigint[] = []
    const reply = await submitToppingUp(
      base,
      signed,
      {},
      {
        wallet: async () => 1_000n,
        topUp: async (amount) => {
          deposits.push(amount)
        },
      },
    )
    expect(reply).toEqual(accepted)
    expect(deposits).toEqual([60n])
    expect(seen).toHaveLength(2)
  })

  it('refuses as the matcher did when the wallet cannot cover it, or when it is refused again', async () => {
    const poor = await matcher((res) => json(res, 422, refusal('40', '100')))
    const deposits: bigint[] = []
    const topUp = async (amount: bigint) => {
      deposits.push(amount)
    }
    const short = await submitToppingUp(poor.base, signed, {}, { wallet: async () => 59n, topUp }).catch((e) => e)
    expect(short).toBeInstanceOf(OrderRejectedError)
    expect(deposits).toEqual([])
    server?.close()

    const again = await matcher((res) => json(res, 422, refusal('40', '100')))
    const twice = await submitToppingUp(again.base, signed, {}, { wallet: async () => 1_000n, topUp }).catch((e) => e)
    expect(twice).toMatchObject({ code: 'InsufficientDeposit' })
    expect(deposits).toEqual([60n])
    expect(again.seen).toHaveLength(2)
  })

  it('sends again while the matcher names a balance older than the top-up, until it has followed the chain to it', async () => {
    // The matcher reads a block from before the deposit twice, then the block with it.
    const { base, seen } = await matcher((res) =>
      seen.length <= 3 ? json(res, 422, refusal('40', '100')) : json(res, 200, accepted),
    )
    const deposits: bigint[] = []
    const funds = {
      wallet: async () => 1_000n,
      topUp: async (amount: bigint) => {
        deposits.push(amount)
      },
      deposited: async () => 100n,
    }
    expect(await submitToppingUp(base, signed, {}, funds)).toEqual(accepted)
    expect(deposits).toEqual([60n])
    expect(seen).toHaveLength(4)
    server?.close()

    // A refusal naming the balance the chain shows is final: the pending orders grew meanwhile, not a lagging view.
    const current = await matcher((res) =>
      current.seen.length === 1 ? json(res, 422, refusal('40', '100')) : json(res, 422, refusal('100', '140')),
    )
    const refused = await submitToppingUp(current.base, signed, {}, funds).catch((e) => e)
    expect(refused).toMatchObject({ code: 'InsufficientDeposit', details: { balance: '100' } })
    expect(current.seen).toHaveLength(2)
  })

  it('never tops up for another refusal or for figures that are not integers', () => {
    const rejected = (code: string, details: Record<string, string>) =>
      new OrderRejectedError(code, 'no', details, 422, 'http://matcher')
    expect(depositShortfall(rejected('BadSignature', { balance: '1', needed: '9' }))).toBeUndefined()
    expect(depositShortfall(rejected('InsufficientDeposit', { balance: '1', needed: '-9' }))).toBeUndefined()
    expect(depositShortfall(rejected('InsufficientDeposit', { balance: '9', needed: '9' }))).toBeUndefined()
    expect(depositShortfall(rejected('InsufficientDeposit', {}))).toBeUndefined()
    expect(depositShortfall(rejected('InsufficientDeposit', { balance: '1', needed: '9' }))).toBe(8n)
  })
})
