import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { type Abi, type Address, encodeFunctionData, type Hex, parseEther } from 'viem'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ERC1271_GAS_CAP } from '../enclave/matcher/order-chain.js'
import { type Matcher, startMatcher } from '../enclave/matcher/service.js'
import { connect } from '../ts/client.js'
import { anvilAccount } from '../ts/devnet/accounts.js'
import { devMatcherConfig, prepareMatcherDevnet } from '../ts/devnet/matcher.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import {
  chainTime,
  createMarket,
  createRequest,
  deposit,
  devTokenAbi,
  iSignedRequestsAbi,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  register,
  stake,
} from '../ts/index.js'
import { encodeOrder, type OrderAccepted, type OrderRejection, type OrderStatus } from '../ts/orders.js'
import { signedRequestTypedData, signRequest } from '../ts/signed-requests.js'
import { useDevnet } from './anvil.js'
import { startRpcProxy } from './rpc-proxy.js'

// The order stream on anvil: signed requests POSTed over HTTP, acknowledged, assigned with assignSigned (alone and
// next to an on-chain request), a bad order answered with its code, and a matcher abandoned with orders pending
// whose successor assigns each exactly once.

const STAKE = parseEther('1000')
const MAX_REWARD = parseEther('40')
const SUBMITTER = anvilAccount(7)
const logger = pino({ level: process.env.MATCHER_TEST_LOG ?? 'silent' })

let attestationOut: string | undefined
let dir: string
let nonce = 0n

const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment } = devnet
  attestationOut = `deployments/e2e-orders-${anvil.port}.attestation.json`
  const prepared = await prepareMatcherDevnet(devnet, {
    seed: 'cairn matcher orders',
    out: attestationOut,
    matcherOperators: [SUBMITTER.account.address],
  })
  const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  const prover = actors.prover
  await mintDevToken(prover, deployment.contracts.stakeToken, prover.wallet.account.address, STAKE)
  await register(prover, { capacity: 32 })
  await stake(prover, { amount: STAKE })
  await list(prover, { marketId, price: parseEther('10'), provingTime: 600 })
  const requester = actors.requester
  const budget = MAX_REWARD * 20n
  await mintDevToken(requester, deployment.contracts.paymentToken, requester.wallet.account.address, budget)
  await deposit(requester, deployment.contracts.paymentToken, budget)
  const { publicInputs } = await preimageStatement()
  return { prepared, marketId, publicInputs }
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-orders-'))
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
  await rm(dir, { recursive: true, force: true })
})

function launch(keyFile: string, rpcUrl?: string): Promise<Matcher> {
  const { devnet, fixture } = current()
  const config = devMatcherConfig(devnet, fixture.prepared, {
    keyFile,
    ordersFile: `${keyFile}.orders.jsonl`,
    submitterPrivateKey: SUBMITTER.privateKey,
    ...(rpcUrl === undefined ? {} : { rpcUrl }),
  })
  return startMatcher(config, { logger, deployment: devnet.deployment, attestation: fixture.prepared.attestation })
}

async function params(overrides: { maxReward?: bigint } = {}) {
  const { devnet, fixture } = current()
  return preimageRequest({
    marketId: fixture.marketId,
    now: await chainTime(devnet.reader),
    publicInputs: fixture.publicInputs,
    maxReward: overrides.maxReward ?? MAX_REWARD,
    refundAddress: devnet.actors.requester.wallet.account.address,
  })
}

async function signed(overrides: { maxReward?: bigint } = {}) {
  const { devnet } = current()
  return signRequest(devnet.actors.requester, await params(overrides), nonce++)
}

async function post(matcher: Matcher, body: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${matcher.url}/orders`, { method: 'POST', body })
  return { status: response.status, json: await response.json() }
}

async function assignmentsOf(requestId: bigint) {
  const { devnet } = current()
  return devnet.reader.public.getContractEvents({
    address: devnet.deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'TaskAssigned',
    args: { requestId },
    fromBlock: devnet.deployment.deployBlock,
  })
}

/** Mines a block each time it looks until the request is assigned (bounded by the test timeout). */
async function assignmentOf(requestId: bigint) {
  for (;;) {
    const [event] = await assignmentsOf(requestId)
    if (event !== undefined) return event
    await current().devnet.test.mine({ blocks: 1 })
    await sleep(50)
  }
}

it('acknowledges a signed request over HTTP and assigns it with assignSigned under its derived id', async () => {
  const matcher = await launch(join(dir, 'key-1.json'))
  try {
    const order = await signed()
    const reply = await post(matcher, encodeOrder(order))
    expect(reply).toEqual({ status: 200, json: { requestId: order.requestId.toString(), duplicate: false } })
    const again = await post(matcher, encodeOrder(order))
    expect((again.json as OrderAccepted).duplicate).toBe(true)
    const pending = (await (await fetch(`${matcher.url}/orders/${order.requestId}`)).json()) as OrderStatus
    expect(['pending', 'assigning']).toContain(pending.state)
    const event = await assignmentOf(order.requestId)
    expect(event.args.prover).toBe(current().devnet.actors.prover.wallet.account.address)
    expect(event.args.byMatcher).toBe(true)
    for (;;) {
      const status = (await (await fetch(`${matcher.url}/orders/${order.requestId}`)).json()) as OrderStatus
      if (status.state === 'used') break
      await sleep(50)
    }
  } finally {
    await matcher.stop()
  }
})

it('assigns a signed order and an on-chain request matched in one round: assign, then assignSigned', async () => {
  const { devnet } = current()
  const matcher = await launch(join(dir, 'key-2.json'))
  try {
    const order = await signed()
    expect((await post(matcher, encodeOrder(order))).status).toBe(200)
    const { requestId } = await createRequest(devnet.actors.requester, await params())
    const [onChain, signedOne] = await Promise.all([assignmentOf(requestId), assignmentOf(order.requestId)])
    expect(onChain.args.byMatcher).toBe(true)
    expect(signedOne.args.byMatcher).toBe(true)
  } finally {
    await matcher.stop()
  }
})

it('answers a bad order with its code: a signature of another account, a malformed field, a zero reward', async () => {
  const { devnet } = current()
  const matcher = await launch(join(dir, 'key-3.json'))
  try {
    const order = await signed()
    const other = await signRequest(connect(devnet.reader, anvilAccount(9).account), await params(), 0n)
    const forged = encodeOrder({ request: order.request, signature: other.signature })
    const bad = await post(matcher, forged)
    expect(bad.status).toBe(422)
    expect((bad.json as OrderRejection).error.code).toBe('BadSignature')
    const json = JSON.parse(encodeOrder(order)) as { request: Record<string, unknown> }
    const malformed = await post(matcher, JSON.stringify({ ...json, request: { ...json.request, nonce: 'x' } }))
    expect(malformed.status).toBe(400)
    expect((malformed.json as OrderRejection).error.code).toBe('MalformedOrder')
    expect((malformed.json as OrderRejection).error.message).toMatch(/request\.nonce/)
    // The SDK refuses to sign a zero reward: a requester signing the typed data itself gets the matcher's refusal.
    const requester = devnet.actors.requester
    const zeroRequest = { ...order.request, maxReward: 0n, nonce: nonce++ }
    const zeroSignature = await requester.wallet.signTypedData({
      account: requester.wallet.account,
      ...signedRequestTypedData(devnet.deployment, zeroRequest),
    })
    const refused = await post(matcher, encodeOrder({ request: zeroRequest, signature: zeroSignature }))
    expect((refused.json as OrderRejection).error.code).toBe('ZeroReward')
    const huge = await post(matcher, 'x'.repeat(300 * 1024))
    expect(huge.status).toBe(413)
    expect((huge.json as OrderRejection).error.code).toBe('OrderTooLarge')
  } finally {
    await matcher.stop()
  }
})

it('a matcher abandoned with acknowledged orders pending: its successor assigns each exactly once', async () => {
  const { devnet } = current()
  const keyFile = join(dir, 'key-4.json')
  let cut = false
  const proxy = await startRpcProxy(devnet.anvil.rpcUrl, async (request, forward) =>
    cut ? { jsonrpc: '2.0', id: request.id, error: { code: -32000, message: 'cut by the test' } } : forward(request),
  )
  const first = await launch(keyFile, proxy.url)
  const orders = [await signed(), await signed(), await signed()]
  for (const order of orders) expect((await post(first, encodeOrder(order))).status).toBe(200)
  // No block was mined since: the first matcher had no round for them. From here it reaches no chain at all.
  cut = true
  const second = await launch(keyFile)
  try {
    for (const order of orders) await assignmentOf(order.requestId)
    await devnet.test.mine({ blocks: 3 })
    for (const order of orders) expect(await assignmentsOf(order.requestId)).toHaveLength(1)
  } finally {
    await second.stop()
    await first.stop().catch(() => undefined)
    await proxy.close()
  }
})

it('caps a wallet’s signature check at the module’s own ERC1271_GAS_LIMIT, at intake as in its batches', async () => {
  const { devnet } = current()
  const limit = await devnet.reader.public.readContract({
    address: devnet.deployment.contracts.proofMarketplace,
    abi: iSignedRequestsAbi,
    functionName: 'ERC1271_GAS_LIMIT',
  })
  expect(limit).toBe(ERC1271_GAS_CAP)
})

it('drops an order whose ERC-1271 wallet turned to refusing after it was acknowledged; the batch still assigns the rest', async () => {
  const { devnet } = current()
  const { actors, deployment, reader } = devnet
  const owner = actors.requester
  const json = JSON.parse(await readFile(join(repoRoot, 'out/ToggleWallet.sol/ToggleWallet.json'), 'utf8')) as {
    abi: Abi
    bytecode: { object: Hex }
  }
  const hash = await owner.wallet.deployContract({
    abi: json.abi,
    bytecode: json.bytecode.object,
    args: [owner.wallet.account.address],
    account: owner.wallet.account,
    chain: owner.wallet.chain,
  })
  const wallet = (await reader.public.waitForTransactionReceipt({ hash })).contractAddress as Address
  const asWallet = async (to: Address, data: Hex) => {
    const sent = await owner.wallet.writeContract({
      address: wallet,
      abi: json.abi,
      functionName: 'execute',
      args: [to, data],
      account: owner.wallet.account,
      chain: owner.wallet.chain,
    })
    await reader.public.waitForTransactionReceipt({ hash: sent })
  }
  const { paymentToken, proofMarketplace } = deployment.contracts
  await mintDevToken(owner, paymentToken, wallet, MAX_REWARD)
  const approve = encodeFunctionData({
    abi: devTokenAbi,
    functionName: 'approve',
    args: [proofMarketplace, MAX_REWARD],
  })
  await asWallet(paymentToken, approve)
  await asWallet(
    proofMarketplace,
    encodeFunctionData({ abi: proofMarketplaceAbi, functionName: 'deposit', args: [paymentToken, MAX_REWARD] }),
  )

  const matcher = await launch(join(dir, 'key-6.json'))
  try {
    // The owner signs for the wallet: the matcher asks the wallet (ERC-1271), which approves, and acknowledges.
    const request = { ...(await signed()).request, requester: wallet, nonce: 1n }
    const signature = await owner.wallet.signTypedData({
      account: owner.wallet.account,
      ...signedRequestTypedData(deployment, request),
    })
    const walletOrder = { request, signature }
    const walletId = (await post(matcher, encodeOrder(walletOrder))).json as OrderAccepted
    expect(walletId.duplicate).toBe(false)
    const eoaOrder = await signed()
    expect((await post(matcher, encodeOrder(eoaOrder))).status).toBe(200)

    // Before any block the matcher could batch them in, the wallet turns to refusing (this transaction is that block).
    const flip = await owner.wallet.writeContract({
      address: wallet,
      abi: json.abi,
      functionName: 'setRefusing',
      args: [true],
      account: owner.wallet.account,
      chain: owner.wallet.chain,
    })
    await reader.public.waitForTransactionReceipt({ hash: flip })

    // The batch's simulation finds the wallet's item failing (BadRequesterSignature), leaves it out, sends the rest.
    await assignmentOf(eoaOrder.requestId)
    let status: OrderStatus
    for (;;) {
      status = (await (await fetch(`${matcher.url}/orders/${walletId.requestId}`)).json()) as OrderStatus
      if (status.state !== 'pending' && status.state !== 'assigning') break
      await current().devnet.test.mine({ blocks: 1 })
      await sleep(50)
    }
    expect(status).toMatchObject({ state: 'dropped', reason: 'BadRequesterSignature' })
    expect(await assignmentsOf(BigInt(walletId.requestId))).toEqual([])
    expect(
      await reader.public.readContract({
        address: proofMarketplace,
        abi: proofMarketplaceAbi,
        functionName: 'balanceOf',
        args: [wallet, paymentToken],
      }),
    ).toBe(MAX_REWARD)
  } finally {
    await matcher.stop()
  }
})
