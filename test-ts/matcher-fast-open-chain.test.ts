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
import { fastAssignmentsPath, type OpenOffer, openFulfilment, parseFastAssignments } from '../ts/fast-assignments.js'
import {
  chainTime,
  createMarket,
  createRequest,
  deposit,
  getRequestStatus,
  iSignedFulfilmentsAbi,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  register,
  stake,
} from '../ts/index.js'
import { advanceTime, useDevnet } from './anvil.js'

// The fast lane of on-chain requests on anvil with a real matcher: a request posted with createRequest (public
// inputs) gets an offer in the `open` list of GET /provers/<address>/fast-assignments, the prover settles it with a
// real Groth16 proof in one fulfilOpen transaction (no assign), and the matcher stops serving it; and an offer the
// prover lets lapse is assigned on chain with `assign` to another prover instead.

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

async function listProver(prover: CairnClient, marketId: bigint, price: bigint) {
  const { deployment } = prover
  await mintDevToken(prover, deployment.contracts.stakeToken, prover.wallet.account.address, STAKE)
  await register(prover, { capacity: 32 })
  await stake(prover, { amount: STAKE })
  await list(prover, { marketId, price, provingTime: PROVING_TIME })
}

const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment } = devnet
  attestationOut = `deployments/e2e-fast-open-${anvil.port}.attestation.json`
  const prepared = await prepareMatcherDevnet(devnet, {
    seed: 'cairn matcher fast lane, on-chain requests',
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
  dir = await mkdtemp(join(tmpdir(), 'cairn-fast-open-'))
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

/** A request on chain whose public inputs are a fixture's (inline): the fixture's proof proves it. */
async function posted(proof: Fixture): Promise<bigint> {
  const { devnet, fixture } = current()
  const requester = devnet.actors.requester
  const params = preimageRequest({
    marketId: fixture.marketId,
    now: await chainTime(devnet.reader),
    publicInputs: proof.publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: requester.wallet.account.address,
  })
  return (await createRequest(requester, params)).requestId
}

async function openOffers(matcher: Matcher, prover: Address): Promise<OpenOffer[]> {
  const response = await fetch(`${matcher.url}${fastAssignmentsPath(prover)}`)
  expect(response.status).toBe(200)
  const parsed = parseFastAssignments(await response.json())
  if (!parsed.success) throw new Error(`unreadable fast assignments: ${parsed.error.message}`)
  return parsed.data.open
}

/** Mines a block each time it looks until `found` gives something. */
async function until<value>(found: () => Promise<value | undefined>): Promise<value> {
  for (;;) {
    const value = await found()
    if (value !== undefined) return value
    await current().devnet.test.mine({ blocks: 1 })
    await sleep(50)
  }
}

const offerOf = (matcher: Matcher, prover: Address, requestId: bigint) =>
  until(async () => (await openOffers(matcher, prover)).find((offer) => offer.requestId === requestId))

function tasksOf(requestId: bigint) {
  const { deployment, reader } = current().devnet
  return reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'TaskAssigned',
    args: { requestId },
    fromBlock: deployment.deployBlock,
  })
}

it('offers an Open request on the fast lane; the prover settles it with fulfilOpen and its proof, no assign', async () => {
  const { devnet } = current()
  const { actors, deployment, reader } = devnet
  const matcher = await launch(join(dir, 'key-1.json'))
  try {
    const proof = fixtures.fixtures[0] as Fixture
    const requestId = await posted(proof)
    const prover = actors.prover.wallet.account.address
    const offer = await offerOf(matcher, prover, requestId)
    expect(offer).toMatchObject({ prover, price: PRICE, matcherSignature: expect.stringMatching(/^0x/) })
    expect(Number(offer.validUntil) - Number(await chainTime(reader))).toBeLessThanOrEqual(PROVING_TIME + 30)
    const wait = (await (await fetch(`${matcher.url}/requests/${requestId}`)).json()) as { reason: unknown }
    expect(wait.reason).toMatchObject({ code: 'FastAssigned', prover, validUntil: Number(offer.validUntil) })
    expect(await getRequestStatus(reader, requestId)).toBe('Open')

    const hash = await actors.prover.wallet.writeContract({
      address: deployment.contracts.proofMarketplace,
      abi: iSignedFulfilmentsAbi,
      functionName: 'fulfilOpen',
      args: [openFulfilment(offer, proof.publicInputs, proof.proof)],
      account: actors.prover.wallet.account,
      chain: actors.prover.wallet.chain,
    })
    expect((await reader.public.waitForTransactionReceipt({ hash })).status).toBe('success')
    expect(await getRequestStatus(reader, requestId)).toBe('Fulfilled')
    const [fulfilled] = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'RequestFulfilled',
      args: { requestId },
      fromBlock: deployment.deployBlock,
    })
    expect(fulfilled?.args).toMatchObject({ prover, price: PRICE, refund: MAX_REWARD - PRICE })
    // The matcher saw the fast use: the offer is no longer served, the request no longer open in its book.
    await until(async () => ((await openOffers(matcher, prover)).length === 0 ? true : undefined))
    expect((await fetch(`${matcher.url}/requests/${requestId}`)).status).toBe(404)
    expect(await tasksOf(requestId)).toEqual([])
    const metrics = await (await fetch(`${matcher.url}/metrics`)).text()
    expect(metrics).toMatch(/cairn_matcher_fast_offers_used_total\{kind="open"\} 1/)
  } finally {
    await matcher.stop()
  }
})

it('assigns a request whose fast assignment lapsed with assign, to another prover', async () => {
  const { devnet, fixture } = current()
  const { actors, reader } = devnet
  await listProver(connect(reader, SECOND_PROVER.account), fixture.marketId, PRICE * 2n)
  const matcher = await launch(join(dir, 'key-2.json'))
  try {
    const requestId = await posted(fixtures.fixtures[1] as Fixture)
    const prover = actors.prover.wallet.account.address
    const offer = await offerOf(matcher, prover, requestId)
    // The prover stays silent past the window: the next rounds assign the request on chain, stake-backed.
    await advanceTime(devnet, Number(offer.validUntil) - Number(await chainTime(reader)) + 1)
    const assigned = await until(async () => (await tasksOf(requestId))[0])
    expect(assigned.args).toMatchObject({ prover: SECOND_PROVER.account.address, byMatcher: true })
    expect(await getRequestStatus(reader, requestId)).toBe('Assigned')
    expect(await openOffers(matcher, prover)).toEqual([])
    const metrics = await (await fetch(`${matcher.url}/metrics`)).text()
    expect(metrics).toMatch(/cairn_matcher_fast_offers_lapsed_total\{kind="open"\} 1/)
  } finally {
    await matcher.stop()
  }
})
