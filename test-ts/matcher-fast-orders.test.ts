import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { type Address, type Hex, parseEther } from 'viem'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Matcher, startMatcher } from '../enclave/matcher/service.js'
import { type CairnClient, connect } from '../ts/client.js'
import { anvilAccount } from '../ts/devnet/accounts.js'
import { devMatcherConfig, prepareMatcherDevnet } from '../ts/devnet/matcher.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest } from '../ts/devnet/scenario.js'
import {
  type FastAssignmentOffer,
  fastAssignmentsPath,
  parseFastAssignments,
  signedFulfilment,
} from '../ts/fast-assignments.js'
import {
  chainTime,
  createMarket,
  deposit,
  iSignedFulfilmentsAbi,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  register,
  stake,
} from '../ts/index.js'
import { encodeOrder, type OrderStatus } from '../ts/orders.js'
import { signRequest } from '../ts/signed-requests.js'
import { advanceTime, useDevnet } from './anvil.js'

// The fast lane on anvil with a real matcher: a public signed order gets a fast assignment from the matcher's
// GET /provers/<address>/fast-assignments, the prover uses it with a real Groth16 proof in one fulfilSigned
// transaction and the matcher reports the order used; and an offer the prover lets lapse is assigned with
// assignSigned to another prover instead.

const STAKE = parseEther('1000')
const MAX_REWARD = parseEther('40')
const PRICE = parseEther('10')
/** The listing's proving time: with the margin (30 s) the window ends well before the 600 s matching window. */
const PROVING_TIME = 60
const SUBMITTER = anvilAccount(7)
const SECOND_PROVER = anvilAccount(8)
const logger = pino({ level: process.env.MATCHER_TEST_LOG ?? 'silent' })

type Fixture = { publicInputs: Hex; proof: Hex }
const fixtures = JSON.parse(await readFile(join(repoRoot, 'circuits/build/fixtures.json'), 'utf8')) as {
  fixtures: Fixture[]
}

let attestationOut: string | undefined
let dir: string
let nonce = 0n

async function listProver(prover: CairnClient, marketId: bigint, price: bigint) {
  const { deployment } = prover
  await mintDevToken(prover, deployment.contracts.stakeToken, prover.wallet.account.address, STAKE)
  await register(prover, { capacity: 32 })
  await stake(prover, { amount: STAKE })
  await list(prover, { marketId, price, provingTime: PROVING_TIME })
}

const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment } = devnet
  attestationOut = `deployments/e2e-fast-${anvil.port}.attestation.json`
  const prepared = await prepareMatcherDevnet(devnet, {
    seed: 'cairn matcher fast lane',
    out: attestationOut,
    matcherOperators: [SUBMITTER.account.address],
  })
  const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  await listProver(actors.prover, marketId, PRICE)
  const requester = actors.requester
  const budget = MAX_REWARD * 10n
  await mintDevToken(requester, deployment.contracts.paymentToken, requester.wallet.account.address, budget)
  await deposit(requester, deployment.contracts.paymentToken, budget)
  return { prepared, marketId }
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-fast-orders-'))
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
  await rm(dir, { recursive: true, force: true })
})

function launch(keyFile: string): Promise<Matcher> {
  const { devnet, fixture } = current()
  const config = devMatcherConfig(devnet, fixture.prepared, {
    keyFile,
    ordersFile: `${keyFile}.orders.jsonl`,
    submitterPrivateKey: SUBMITTER.privateKey,
  })
  return startMatcher(config, { logger, deployment: devnet.deployment, attestation: fixture.prepared.attestation })
}

/** A public signed order whose inputs are a fixture's: the fixture's proof proves it. */
async function signed(proof: Fixture) {
  const { devnet, fixture } = current()
  const params = preimageRequest({
    marketId: fixture.marketId,
    now: await chainTime(devnet.reader),
    publicInputs: proof.publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: devnet.actors.requester.wallet.account.address,
  })
  return signRequest(devnet.actors.requester, params, nonce++)
}

async function post(matcher: Matcher, body: string): Promise<number> {
  return (await fetch(`${matcher.url}/orders`, { method: 'POST', body })).status
}

async function orderStatus(matcher: Matcher, requestId: bigint): Promise<OrderStatus> {
  return (await (await fetch(`${matcher.url}/orders/${requestId}`)).json()) as OrderStatus
}

/** Mines a block each time it looks until the matcher serves the prover an offer for the request. */
async function offerOf(matcher: Matcher, prover: Address, requestId: bigint): Promise<FastAssignmentOffer> {
  for (;;) {
    const response = await fetch(`${matcher.url}${fastAssignmentsPath(prover)}`)
    expect(response.status).toBe(200)
    const parsed = parseFastAssignments(await response.json())
    if (!parsed.success) throw new Error(`unreadable fast assignments: ${parsed.error.message}`)
    const offer = parsed.data.assignments.find((candidate) => candidate.requestId === requestId)
    if (offer !== undefined) return offer
    await current().devnet.test.mine({ blocks: 1 })
    await sleep(50)
  }
}

/** Mines a block each time it looks until the matcher reports the order in `state`. */
async function untilState(matcher: Matcher, requestId: bigint, state: OrderStatus['state']): Promise<OrderStatus> {
  for (;;) {
    const status = await orderStatus(matcher, requestId)
    if (status.state === state) return status
    await current().devnet.test.mine({ blocks: 1 })
    await sleep(50)
  }
}

it('offers a public signed order on the fast lane; the prover uses it with its proof in one transaction', async () => {
  const { devnet } = current()
  const { actors, deployment, reader } = devnet
  const matcher = await launch(join(dir, 'key-1.json'))
  try {
    const proof = fixtures.fixtures[0] as Fixture
    const order = await signed(proof)
    expect(await post(matcher, encodeOrder(order))).toBe(200)
    const prover = actors.prover.wallet.account.address
    const offer = await offerOf(matcher, prover, order.requestId)
    expect(offer).toMatchObject({ prover, price: PRICE, matcherSignature: expect.stringMatching(/^0x/) })
    expect(offer.request).toEqual(order.request)
    const status = await orderStatus(matcher, order.requestId)
    expect(status).toMatchObject({ state: 'assigning', reason: 'FastAssignment', details: { prover } })
    expect(Number(offer.validUntil) - Number(await chainTime(reader))).toBeLessThanOrEqual(PROVING_TIME + 30)

    const hash = await actors.prover.wallet.writeContract({
      address: deployment.contracts.proofMarketplace,
      abi: iSignedFulfilmentsAbi,
      functionName: 'fulfilSigned',
      args: [signedFulfilment(offer, proof.proof)],
      account: actors.prover.wallet.account,
      chain: actors.prover.wallet.chain,
    })
    expect((await reader.public.waitForTransactionReceipt({ hash })).status).toBe('success')
    expect((await untilState(matcher, order.requestId, 'used')).state).toBe('used')
    const [fulfilled] = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: iSignedFulfilmentsAbi,
      eventName: 'SignedRequestFulfilled',
      args: { requestId: order.requestId },
      fromBlock: deployment.deployBlock,
    })
    expect(fulfilled?.args).toMatchObject({ prover, price: PRICE })
    // Nothing was assigned on chain: no task, and the prover's offers are empty now.
    const tasks = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'TaskAssigned',
      args: { requestId: order.requestId },
      fromBlock: deployment.deployBlock,
    })
    expect(tasks).toEqual([])
    const after = parseFastAssignments(await (await fetch(`${matcher.url}${fastAssignmentsPath(prover)}`)).json())
    expect(after.data?.assignments).toEqual([])
  } finally {
    await matcher.stop()
  }
})

it('assigns an order whose fast assignment lapsed with assignSigned, to another prover', async () => {
  const { devnet, fixture } = current()
  const { actors, deployment, reader } = devnet
  await listProver(connect(reader, SECOND_PROVER.account), fixture.marketId, PRICE * 2n)
  const matcher = await launch(join(dir, 'key-2.json'))
  try {
    const order = await signed(fixtures.fixtures[1] as Fixture)
    expect(await post(matcher, encodeOrder(order))).toBe(200)
    const offer = await offerOf(matcher, actors.prover.wallet.account.address, order.requestId)
    // The prover stays silent past the window: the next rounds assign the order on chain, stake-backed.
    await advanceTime(devnet, Number(offer.validUntil) - Number(await chainTime(reader)) + 1)
    const taskOf = () =>
      reader.public.getContractEvents({
        address: deployment.contracts.proofMarketplace,
        abi: proofMarketplaceAbi,
        eventName: 'TaskAssigned',
        args: { requestId: order.requestId },
        fromBlock: deployment.deployBlock,
      })
    let [assigned] = await taskOf()
    while (assigned === undefined) {
      await devnet.test.mine({ blocks: 1 })
      await sleep(50)
      ;[assigned] = await taskOf()
    }
    expect(assigned?.args).toMatchObject({ prover: SECOND_PROVER.account.address, byMatcher: true })
    expect((await untilState(matcher, order.requestId, 'used')).state).toBe('used')
  } finally {
    await matcher.stop()
  }
})
