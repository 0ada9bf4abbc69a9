// A prover runner killed with SIGKILL leaves its listings active. The matcher must not keep feeding it work: once a
// task of the dead prover is unanswered past the prover's listed proving time plus the matcher's grace (its evidence,
// enclave/matcher/liveness.ts), requests wait for a prover instead, and the restarted runner's announcement
// (CapacityUpdated as it starts) brings it back. Everything real: the two-chain devnet, the matcher and the prover
// runner as processes run from their entry points.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { concat, isAddressEqual, parseEther, sha256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDevMarkets,
  fundActors,
  type LaunchOptions,
  type ProverMarketOffer,
  startMatcher,
  startProver,
} from '../ts/devnet/launch.js'
import { type Network, startNetwork } from '../ts/devnet/network.js'
import { randomFieldElement } from '../ts/devnet/scenario.js'
import { logLines, type Service, tail } from '../ts/devnet/services.js'
import { getRequestState, proofMarketplaceAbi, type RequesterClient, requestProof, waitForProof } from '../ts/index.js'
import { eventually as waitFor } from './eventually.js'

/** The runner's listed proving time and the matcher's grace: a task is evidence 15 s after its assignment. */
const LISTED_PROVING_TIME = 10
const GRACE = 5
/** The requests' proving time: deadlines far past the evidence, so the restarted runner can still prove its tasks. */
const REQUEST_PROVING_TIME = 300
const MAX_REWARD = parseEther('40')
/** Blocks the matcher gets to assign a request it would assign (it matches every block). */
const ASSIGN_BLOCKS = 8n
const WAIT_MS = 120_000

let network: Network | undefined
let dir: string | undefined
let launch: LaunchOptions
let offers: ProverMarketOffer[]
let requester: RequesterClient
const services: { matcher?: Service; prover?: Service } = {}

function net(): Network {
  if (network === undefined) throw new Error('the network is not set up')
  return network
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-prover-crash-'))
  launch = { logDir: join(dir, 'logs'), stateDir: join(dir, 'state') }
  network = await startNetwork({})
  await fundActors(network)
  const markets = await createDevMarkets(network)
  offers = [
    { marketId: markets.teeWasm, backend: 'tee-wasm', price: parseEther('10'), provingTime: LISTED_PROVING_TIME },
  ]
  requester = { ...network.marketplace.actors.requester, attestation: network.attestation.marketplace }
  const [matcher, prover] = await Promise.all([
    // Liveness is about assigned tasks: the fast lane (off-chain offers, nothing to miss on chain) stays off here.
    startMatcher(network, { ...launch, env: { MATCHER_LIVENESS_GRACE: String(GRACE), MATCHER_FAST_LANE: 'false' } }),
    startProver(network, { ...launch, markets: offers }),
  ])
  services.matcher = matcher
  services.prover = prover
}, 300_000)

afterAll(async () => {
  for (const service of [services.prover, services.matcher]) await service?.stop().catch(() => {})
  await network?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
}, 60_000)

/** A public TEE-WASM request: sha256 of the empty string under a fresh context, which the program proves alone. */
async function post(): Promise<bigint> {
  const marketId = offers[0]?.marketId as bigint
  const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
  const posted = await requestProof(requester, {
    marketId,
    maxReward: MAX_REWARD,
    provingTime: REQUEST_PROVING_TIME,
    publicInputs,
  })
  return posted.requestId
}

/** Polls `probe` until it returns a value; a failing test reports the services' logs. */
function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitFor(what, probe, { intervalMs: 250, explain: serviceLogs })
}

async function serviceLogs(): Promise<string> {
  const parts = await Promise.all(
    Object.values(services).map(async (service) => `--- ${service.name}\n${await tail(service.logFile, 40)}`),
  )
  return parts.join('\n')
}

/** Every TaskAssigned so far, with its block's time. */
async function assignments() {
  const { reader, deployment } = net().marketplace
  const logs = await reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'TaskAssigned',
    fromBlock: deployment.deployBlock,
    strict: true,
  })
  return Promise.all(
    logs.map(async (log) => {
      const block = await reader.public.getBlock({ blockNumber: log.blockNumber })
      return { requestId: log.args.requestId, prover: log.args.prover, at: Number(block.timestamp) }
    }),
  )
}

async function head(): Promise<{ number: bigint; timestamp: number }> {
  const block = await net().marketplace.reader.public.getBlock({ blockTag: 'latest' })
  return { number: block.number, timestamp: Number(block.timestamp) }
}

describe('a prover killed with SIGKILL', () => {
  it('gets no more work than it took before its first unanswered task became evidence, and work again once back', async () => {
    const { reader } = net().marketplace
    const prover = net().marketplace.actors.prover.wallet.account.address
    const proofOf = (requestId: bigint) => waitForProof(reader, requestId, { timeoutMs: WAIT_MS, pollIntervalMs: 250 })

    // Alive: it proves.
    const first = await post()
    await proofOf(first)

    // Crash. The matcher cannot know yet: the next requests go to the dead prover.
    await services.prover?.kill()
    const taken = [await post(), await post()]
    const takenTasks = await eventually('both requests assigned to the crashed prover', async () => {
      const tasks = (await assignments()).filter((task) => taken.includes(task.requestId))
      return tasks.length === taken.length ? tasks : undefined
    })
    for (const task of takenTasks) expect(isAddressEqual(task.prover, prover)).toBe(true)
    const evidenceAt = Math.min(...takenTasks.map((task) => task.at)) + LISTED_PROVING_TIME + GRACE

    // Past the evidence new requests stay open although the prover has room (8 − 2): nobody else is listed.
    await eventually('chain time past the evidence', async () =>
      (await head()).timestamp > evidenceAt ? true : undefined,
    )
    const waiting = [await post(), await post(), await post()]
    const postedAt = (await head()).number
    await eventually(`${ASSIGN_BLOCKS} blocks of matching`, async () =>
      (await head()).number >= postedAt + ASSIGN_BLOCKS ? true : undefined,
    )
    for (const requestId of waiting) expect(await getRequestState(reader, requestId)).toBe('Open')
    const whileDown = (await assignments()).filter((task) => task.at > evidenceAt)
    expect(whileDown).toEqual([])
    const said = await logLines(services.matcher?.logFile as string)
    expect(said.some((line) => String(line.msg).startsWith('prover left a task unanswered'))).toBe(true)

    // Back: the restarted runner announces itself, the matcher assigns the waiting requests, the runner proves them.
    services.prover = await startProver(net(), { ...launch, markets: offers })
    for (const requestId of waiting) {
      const proof = await proofOf(requestId)
      expect(isAddressEqual(proof.prover, prover)).toBe(true)
    }
    const lines = await logLines(services.matcher?.logFile as string)
    expect(lines.some((line) => String(line.msg).startsWith('prover showed a sign of life'))).toBe(true)
  }, 600_000)
})
