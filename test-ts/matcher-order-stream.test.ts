import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, type Hex, hashTypedData, keccak256, zeroAddress, zeroHash } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChainView } from '../enclave/matcher/chain.js'
import { holdBatch, matchBatch, requestStatus } from '../enclave/matcher/engine.js'
import { ERC1271_GAS_CAP } from '../enclave/matcher/order-chain.js'
import { checkOrder, isOrderFailure, type OrderChainView } from '../enclave/matcher/order-checks.js'
import { createJournal, type JournalFs, nodeJournalFs } from '../enclave/matcher/order-journal.js'
import { createOrderStore } from '../enclave/matcher/order-store.js'
import { createOrderStream } from '../enclave/matcher/order-stream.js'
import { batchGasLimit, type SignedBatchPorts, sendSignedBatch } from '../enclave/matcher/signed-batches.js'
import { spentOrders } from '../enclave/matcher/spent-orders.js'
import { createSubmitter, type Prepared } from '../enclave/matcher/submitter.js'
import type { SignedAssignmentBatch } from '../ts/assignment.js'
import type { Deployment } from '../ts/deployment.js'
import { CairnContractError } from '../ts/errors.js'
import type { OrderBody } from '../ts/orders.js'
import { type SignedRequest, signedRequestId, signedRequestTypedData } from '../ts/signed-requests.js'
import { inlineInputs, noInputs } from '../ts/types.js'
import {
  captureLog,
  createMetrics,
  ETHER,
  head,
  MARKET,
  matcherRequest,
  metricValue,
  NOW,
  viewWith,
} from './matcher-fakes.js'

// The order stream without a chain: intake checks over a fake chain view, the deposit rule across orders, the journal
// (replay, torn line, compaction, acknowledgement only after the write), one book for signed and on-chain requests,
// and the signed batch's simulation and split.

const deployment = {
  chainId: 31337,
  contracts: { proofMarketplace: '0x00000000000000000000000000000000000000aa' },
} as unknown as Deployment
const requesterKey = generatePrivateKey()
const requester = privateKeyToAccount(requesterKey)
const TOKEN: Address = '0x00000000000000000000000000000000000000cc'
const VERIFIER: Address = '0x00000000000000000000000000000000000000dd'

function request(overrides: Partial<SignedRequest> = {}): SignedRequest {
  return {
    requester: requester.address,
    nonce: 7n,
    marketId: Number(MARKET),
    maxReward: 10n * ETHER,
    provingTime: 600,
    matchingExpiry: NOW + 300,
    deadline: NOW + 900,
    speedPreferenceBps: 0,
    refundAddress: requester.address,
    publicInputs: inlineInputs('0x01'),
    privateInputs: noInputs,
    ...overrides,
  }
}

async function sign(body: SignedRequest, signer = requester): Promise<OrderBody> {
  return { request: body, signature: await signer.signTypedData(signedRequestTypedData(deployment, body)) }
}

type Chain = OrderChainView & {
  balances: Map<string, bigint>
  words: Map<string, bigint>
  statuses: Map<bigint, number>
}

function fakeChain(): Chain {
  const balances = new Map<string, bigint>([[requester.address.toLowerCase(), 100n * ETHER]])
  const words = new Map<string, bigint>()
  const statuses = new Map<bigint, number>()
  return {
    balances,
    words,
    statuses,
    market: async (marketId) => (marketId === MARKET ? { verifier: VERIFIER, paymentToken: TOKEN } : undefined),
    validatePublicInputs: async (_verifier, data) => data !== '0xbad0',
    hasCode: async () => false,
    isValidSignature: async () => undefined,
    nonceWord: async (account, wordPos) => words.get(`${account.toLowerCase()}:${wordPos}`) ?? 0n,
    requestStatus: async (id) => statuses.get(id) ?? 0,
    balance: async (account) => balances.get(account.toLowerCase()) ?? 0n,
  }
}

async function check(order: OrderBody, chain: OrderChainView = fakeChain()) {
  const digest = hashTypedData(signedRequestTypedData(deployment, order.request))
  const requestId = signedRequestId(deployment, order.request)
  const checkEnvelope = () => {
    throw Object.assign(new Error('no wrap for this matcher'), { reason: 'NoWrapForRecipient' })
  }
  return checkOrder(order, { chain, now: NOW, minTimeToExpiry: 5, digest, requestId, checkEnvelope })
}

async function codeOf(order: OrderBody, chain?: OrderChainView): Promise<string | undefined> {
  const result = await check(order, chain)
  return isOrderFailure(result) ? result.code : undefined
}

describe('order intake checks', () => {
  it('accepts a well-formed order signed by its requester, with the balance it read', async () => {
    const result = await check(await sign(request()))
    expect(isOrderFailure(result)).toBe(false)
    expect(result).toMatchObject({ paymentToken: TOKEN, balance: 100n * ETHER })
  })

  it('refuses each rule the contract checks, with its error name, in the contract’s order', async () => {
    const cases: [Partial<SignedRequest>, string][] = [
      [{ marketId: 9 }, 'UnknownMarket'],
      [{ maxReward: 0n }, 'ZeroReward'],
      [{ refundAddress: zeroAddress }, 'ZeroAddress'],
      [{ speedPreferenceBps: 10_001 }, 'SpeedPreferenceOutOfRange'],
      [{ provingTime: 0 }, 'ZeroProvingTime'],
      [{ deadline: NOW }, 'DeadlineInPast'],
      [{ deadline: NOW + 91 * 86_400, matchingExpiry: NOW + 300 }, 'DeadlineTooFar'],
      [{ deadline: NOW + 100, matchingExpiry: NOW + 50 }, 'DeadlineShorterThanProvingTime'],
      [{ matchingExpiry: NOW - 1 }, 'MatchingExpiryInPast'],
      [{ matchingExpiry: NOW + 600 }, 'MatchingExpiryTooLate'],
      [{ matchingExpiry: NOW + 2 }, 'ExpiresTooSoon'],
      [{ publicInputs: noInputs }, 'MissingInputs'],
      [{ publicInputs: { data: '0x01', uri: '', digest: keccak256('0x02') } }, 'InputsDigestMismatch'],
      [{ privateInputs: { data: '0x', uri: 'https://x', digest: zeroHash } }, 'MissingInputs'],
      [{ publicInputs: inlineInputs('0xbad0') }, 'InvalidPublicInputs'],
      [{ maxReward: 101n * ETHER }, 'InsufficientDeposit'],
      [{ privateInputs: inlineInputs('0xe0') }, 'InputsRejected'],
    ]
    for (const [overrides, code] of cases) expect(await codeOf(await sign(request(overrides)))).toBe(code)
  })

  it('checks signatures as the marketplace does: the account’s ECDSA first, then ERC-1271 for a wallet, nonce and id', async () => {
    const other = privateKeyToAccount(generatePrivateKey())
    expect(await codeOf(await sign(request(), other))).toBe('BadSignature')
    const order = await sign(request())
    expect(await codeOf({ ...order, signature: `${order.signature.slice(0, -2)}01` as Hex })).toBe('BadSignature')
    expect(await codeOf({ ...order, signature: '0x1234' })).toBe('BadSignature')
    const wallet = (answer: Hex | undefined): OrderChainView => ({
      ...fakeChain(),
      hasCode: async () => true,
      isValidSignature: async () => answer,
    })
    const magic: Hex = `0x1626ba7e${'0'.repeat(56)}`
    // A wallet's signature is not its own ECDSA one (a contract has no key): here, its owner's.
    const byOwner = await sign(request(), other)
    expect(await codeOf(byOwner, wallet(magic))).toBeUndefined()
    expect(await codeOf(byOwner, wallet('0x1626ba7e'))).toBe('BadSignature')
    expect(await codeOf(byOwner, wallet(undefined))).toBe('BadSignature')
    // The account's own ECDSA signature is valid first, code or not (an EIP-7702 account), as on chain.
    expect(await codeOf(order, wallet(undefined))).toBeUndefined()
    const spent = fakeChain()
    spent.words.set(`${requester.address.toLowerCase()}:0`, 1n << 7n)
    expect(await codeOf(order, spent)).toBe('NonceUsed')
    const used = fakeChain()
    used.statuses.set(signedRequestId(deployment, order.request), 1)
    expect(await codeOf(order, used)).toBe('AlreadyUsed')
  })
})

/** A pending order of the requester's, with request id = nonce. */
function pendingEntry(nonce: bigint, maxReward: bigint) {
  return {
    requestId: nonce,
    order: { request: request({ nonce, maxReward }), signature: '0x' as Hex },
    digest: zeroHash,
    acceptedAt: NOW,
    paymentToken: TOKEN,
    wallet: false,
    state: 'pending' as const,
    benchedUntil: 0,
    refusals: 0,
  }
}

describe('deposit across orders', () => {
  it('one balance backs orders only up to its amount, per token; an ended order frees its part', async () => {
    const store = createOrderStore({ maxPending: 3 })
    const entry = (nonce: bigint) => pendingEntry(nonce, 4n * ETHER)
    expect(store.admit(entry(1n), 10n * ETHER)).toBeUndefined()
    expect(store.admit(entry(2n), 10n * ETHER)).toBeUndefined()
    expect(store.admit(entry(3n), 10n * ETHER)?.code).toBe('InsufficientDeposit')
    expect(store.committed(requester.address, TOKEN)).toBe(8n * ETHER)
    store.end(1n, 'used')
    expect(store.admit(entry(3n), 10n * ETHER)).toBeUndefined()
    expect(store.admit(entry(4n), 100n * ETHER)).toBeUndefined()
    expect(store.admit(entry(5n), 100n * ETHER)?.code).toBe('TooManyOrders')
  })
})

describe('deposit across orders, as the chain moves on', () => {
  it('an order whose nonce the chain shows spent no longer counts: its payment is out of the balance already', async () => {
    const store = createOrderStore()
    const chain = fakeChain()
    const entry = (nonce: bigint) => pendingEntry(nonce, 40n * ETHER)
    expect(store.admit(entry(1n), 40n * ETHER)).toBeUndefined()
    // Order 1 is used on chain (its escrow leaves the balance) before this matcher's follow loop ends it; the
    // requester tops up by the 40 the first refusal named: 40 + 40 − 40 escrowed = 40 on chain.
    expect(store.admit(entry(2n), 40n * ETHER)?.code).toBe('InsufficientDeposit')
    chain.words.set(`${requester.address.toLowerCase()}:0`, 1n << 1n)
    const spent = await spentOrders(chain, store.pendingOf(requester.address))
    expect([...spent]).toEqual([1n])
    expect(store.admit(entry(2n), 40n * ETHER, spent)).toBeUndefined()
    // Not spent, it still counts.
    expect(
      store.admit(entry(3n), 40n * ETHER, await spentOrders(chain, store.pendingOf(requester.address)))?.code,
    ).toBe('InsufficientDeposit')
  })
})

describe('order journal', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-journal-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const record = async (nonce: bigint) => ({
    kind: 'order' as const,
    requestId: nonce,
    acceptedAt: NOW,
    paymentToken: TOKEN,
    wallet: false,
    order: await sign(request({ nonce })),
  })

  it('replays what it wrote, tolerates a torn last line, compacts to the live orders', async () => {
    const path = join(dir, 'a.jsonl')
    const journal = createJournal(path)
    await Promise.all([journal.append(await record(1n)), journal.append(await record(2n))])
    await journal.append({ kind: 'end', requestId: 1n, state: 'used' })
    await writeFile(path, `${await readFile(path, 'utf8')}{"kind":"order","requestId":"3","accep`)
    const replayed = await createJournal(path).replay()
    expect(replayed.live.map((entry) => entry.requestId)).toEqual([2n])
    expect(replayed.live[0]?.order).toEqual((await record(2n)).order)
    expect(replayed.ended).toEqual([{ kind: 'end', requestId: 1n, state: 'used' }])
    expect(replayed.unreadable).toBe(1)
    await journal.compact(() => replayed.live)
    const text = await readFile(path, 'utf8')
    expect(text.trim().split('\n')).toHaveLength(1)
    expect((await createJournal(path).replay()).live.map((entry) => entry.requestId)).toEqual([2n])
  })

  it('keeps strikes across a restart and a compaction: a blocked requester stays blocked', async () => {
    const path = join(dir, 'strikes.jsonl')
    const journal = createJournal(path)
    const pending = await record(5n)
    await journal.append({ ...pending, requestId: signedRequestId(deployment, pending.order.request) })
    for (let i = 0; i < 3; i++) await journal.append({ kind: 'strike', requester: requester.address })
    const restart = () => {
      const view = viewWith([])
      view.block = { ...head(1n), timestamp: BigInt(NOW) }
      return createOrderStream({
        deployment,
        journal: createJournal(path),
        store: createOrderStore(),
        view: () => view,
        chain: () => ({ head: { ...head(1n), timestamp: BigInt(NOW) }, reader: fakeChain() }),
        inputs: { load: () => undefined, forget: () => undefined },
        checkEnvelope: () => undefined,
        minTimeToExpiry: 5,
        metrics: createMetrics(),
        log: captureLog().log,
      })
    }
    for (const round of [1, 2]) {
      const stream = restart()
      await stream.start()
      // Its acknowledged order is not put back, and a new one is refused.
      expect(stream.status(signedRequestId(deployment, pending.order.request))).toBeUndefined()
      const refused = await stream.accept(await sign(request({ nonce: 90n + BigInt(round) })))
      expect(refused.body).toMatchObject({ error: { code: 'RequesterBlocked' } })
    }
    // The start compacted the journal to what is still needed: the strikes, not the dropped order.
    const text = (await readFile(path, 'utf8')).trim().split('\n')
    expect(text.filter((line) => line.includes('"strike"'))).toHaveLength(3)
    expect(text.filter((line) => line.includes('"order"'))).toHaveLength(0)
  })

  it('acknowledges an order only once its write resolved', async () => {
    let release: () => void = () => undefined
    const writes: string[] = []
    const hanging: JournalFs = {
      ...nodeJournalFs,
      read: async () => undefined,
      append: (_path, text) =>
        new Promise<void>((resolve) => {
          writes.push(text)
          release = resolve
        }),
    }
    const view = viewWith([])
    view.block = head(1n)
    const chain = fakeChain()
    const { log } = captureLog()
    const metrics = createMetrics()
    const stream = createOrderStream({
      deployment,
      journal: createJournal(join(dir, 'hang.jsonl'), hanging),
      store: createOrderStore(),
      view: () => view,
      chain: () => ({ head: { ...head(1n), timestamp: BigInt(NOW) }, reader: chain }),
      inputs: { load: () => undefined, forget: () => undefined },
      checkEnvelope: () => undefined,
      minTimeToExpiry: 5,
      metrics,
      log,
    })
    const order = await sign(request())
    let replied = false
    const reply = stream.accept(order).then((answer) => {
      replied = true
      return answer
    })
    for (let i = 0; i < 100 && writes.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(writes).toHaveLength(1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(replied).toBe(false)
    expect(view.open.has(signedRequestId(deployment, order.request))).toBe(false)
    release()
    expect((await reply).status).toBe(200)
    expect(await metricValue(metrics, 'cairn_matcher_orders_total', { outcome: 'accepted' })).toBe(1)
    // In the same book as on-chain requests: matched together in one round.
    const onChain = matcherRequest()
    const { addRequest } = await import('../enclave/matcher/engine.js')
    addRequest(view.book, onChain)
    view.open.set(onChain.requestId, onChain)
    const batch = matchBatch(view.book, { now: NOW, maxItems: 10, minTimeToExpiry: 5 })
    const ids = batch.items.map((item) => item.requestId)
    expect(ids).toContain(onChain.requestId)
    expect(ids).toContain(signedRequestId(deployment, order.request))
    expect(stream.status(signedRequestId(deployment, order.request))?.state).toBe('pending')
  })
})

describe('signed batches', () => {
  const reason = (name: string) => new CairnContractError({ name, args: {}, data: '0x', message: `${name}()` })

  async function preparedOf(view: ChainView): Promise<Prepared[]> {
    const held = holdBatch(view.book, matchBatch(view.book, { now: NOW, maxItems: 10 }).items)
    return held.map((item) => ({
      item,
      assignment: {
        requestId: item.requestId,
        prover: item.prover,
        price: item.price,
        provingTime: item.provingTime,
        request: item.request.record,
      },
    }))
  }

  async function signedOrder(nonce: bigint, wallet = false) {
    const order = await sign(request({ nonce }))
    return matcherRequest({ requestId: signedRequestId(deployment, order.request), signed: { ...order, wallet } })
  }

  it('simulates, drops the item that would fail with its reason, and sends the rest', async () => {
    const good = await signedOrder(1n)
    const bad = await signedOrder(2n)
    const wallet = await signedOrder(4n, true)
    const view = viewWith([good, bad, wallet])
    const prepared = await preparedOf(view)
    const sent: bigint[][] = []
    const walletItems: number[] = []
    const ports: SignedBatchPorts = {
      sign: async (assignments, validUntil) =>
        ({ assignments, validUntil, signature: '0x' }) as unknown as SignedAssignmentBatch,
      simulate: async (call) => BigInt(call.matches.filter((match) => match.request.nonce !== 2n).length),
      checkItem: async (match) => (match.request.nonce === 2n ? reason('BadRequesterSignature') : undefined),
      send: async (call) => {
        sent.push(call.matches.map((match) => match.request.nonce))
        walletItems.push(call.walletItems)
        return { hash: '0x01', uncertain: undefined }
      },
    }
    const result = await sendSignedBatch(prepared, { validUntil: BigInt(NOW + 120), now: NOW }, ports)
    expect(sent.map((nonces) => [...nonces].sort())).toEqual([[1n, 4n]])
    // The wallet item's gas cap is counted from the order's intake flag (no chain read on the send path).
    expect(walletItems).toEqual([1])
    expect(result.dropped.map(({ prepared: entry, reason: why }) => [entry.item.requestId, why.name])).toEqual([
      [bad.requestId, 'BadRequesterSignature'],
    ])
  })

  it('sends assign for on-chain items, then assignSigned for the signed ones once it settled', async () => {
    const onChain = matcherRequest()
    const signed = await signedOrder(3n)
    const view = viewWith([onChain, signed])
    const prepared = await preparedOf(view)
    const kinds: string[] = []
    const { log } = captureLog()
    let mined: unknown
    const submitter = createSubmitter({
      receipt: async () => mined as never,
      sign: async (assignments, validUntil) => ({ assignments, validUntil, signature: '0x' }),
      send: async (batch) => {
        kinds.push(`assign ${batch.assignments.map((a) => a.requestId === onChain.requestId).join()}`)
        return { hash: '0x01', uncertain: undefined }
      },
      sendSigned: async (items) => {
        kinds.push(`assignSigned ${items.map(({ item }) => item.requestId === signed.requestId).join()}`)
        return { sent: { hash: '0x02', uncertain: undefined }, items, dropped: [] }
      },
      orders: { refused: () => undefined, failed: () => undefined },
      outcome: () => ({ assigned: [], skipped: [] }),
      book: () => view.book,
      onRefused: () => undefined,
      signatureValidity: 120,
      metrics: createMetrics(),
      log,
    })
    await submitter.submit(
      prepared.map(({ item }) => item),
      async () => prepared,
      { block: 1n, now: NOW },
    )
    expect(kinds).toEqual(['assign true'])
    expect(submitter.queued).toHaveLength(1)
    expect(requestStatus(view.book, signed.requestId)).toBe('held')
    mined = { status: 'success', blockNumber: 2n, gasUsed: 1n }
    await submitter.settle(NOW + 2, 2n)
    expect(kinds).toEqual(['assign true', 'assignSigned true'])
    expect(submitter.pending?.kind).toBe('assignSigned')
  })
})

describe('assignSigned gas limit', () => {
  it('adds the module’s ERC-1271 cap for every contract-wallet item to the estimate and its margin', () => {
    expect(batchGasLimit(1_000_000n, 0)).toBe(1_250_000n)
    // A wallet that behaved at estimation may burn its whole cap when mined: the batch must still finish.
    expect(batchGasLimit(1_000_000n, 2)).toBe(1_250_000n + 2n * ERC1271_GAS_CAP)
    expect(ERC1271_GAS_CAP).toBe(250_000n)
  })
})
