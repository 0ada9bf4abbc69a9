/**
 * The explorer in a real browser: headless Chromium (Debian's package, driven by playwright-core) against `cairn
 * explorer` started as a user starts it, on a network deployed the way `npm run devnet` deploys it
 * (`startNetwork`: the marketplace and Ethereum chains, the attestation stack on both, the restaking deployment with
 * the StakeMirror, the Symbiotic core, the instant and veto vaults and the relayer operators admitted). A request is
 * posted, assigned by an attested matcher key's signature and fulfilled with a real Groth16 proof while its page
 * stays open: the page must follow it live (no reload), and every page's content is checked against what the chain
 * says. Two of the three admitted relayers run in this process and commit stake snapshots; a task backed by restaked
 * stake misses its deadline, its slash is queued, executed on Ethereum and reported back, and the restaking and
 * prover pages are checked against the mirror. The explorer reads the chain through a proxy the test can cut, to
 * check the RPC banner comes and goes. Screenshots go to test-ts/.screenshots/ (gitignored).
 *
 * Part of `npm test` (vitest); alone: npx vitest run test-ts/explorer.browser.test.ts
 * Chromium: `apt-get install -y chromium` (or CHROMIUM_PATH=<binary>). EXPLORER_TEST_PORTS=<n> uses ports n..n+2
 * instead of free ones.
 *
 * Every wait follows the chain and the explorer: the explorer's index reaching a transaction's block (its /healthz
 * says which block it stands at), then the open page showing it; the relayers' work by the mirror's and the
 * middleware's state. None has a time budget of its own; the timeouts (HANG_GUARD_MS) only end a hung run.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { formatUnits, parseEther } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tcbStatusesIn } from '../explorer/index/apply.js'
import { time } from '../explorer/pages/format.js'
import { parseConfig as parseRelayerConfig } from '../relayer/src/config.js'
import { createRelayer, type Relayer } from '../relayer/src/relayer.js'
import { freePort } from '../ts/devnet/anvil.js'
import { type Network, startNetwork } from '../ts/devnet/network.js'
import { type DevMatcherKey, registerDevMatcherKey } from '../ts/devnet/network-matcher.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement, type ScheduleOptions } from '../ts/devnet/scenario.js'
import { advanceTime, type Devnet } from '../ts/devnet/stack.js'
import {
  type AttestationDeployment,
  cairnNetworkMiddlewareAbi,
  chainTime,
  createMarket,
  createRequest,
  currentStakeTree,
  fulfil,
  getMarket,
  getMirroredStake,
  getQueuedSlash,
  getRequestState,
  getStake,
  isActiveKey,
  isAdmittedOperator,
  list,
  loadRequest,
  mintDevToken,
  provePoseidonPreimage,
  proveStakeLeaf,
  register,
  requestIdOf,
  signAssignments,
  slash,
  slashOrderId,
  stake,
  stakeMirrorAbi,
  submitAssignments,
  teeRegistryAbi,
  tokenInfo,
  withListedTerms,
} from '../ts/index.js'
import { startCairn } from './cairn.js'
import { type RpcProxy, startRpcProxy } from './rpc-proxy.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = join(repoRoot, 'test-ts/.screenshots')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
/**
 * The relayers' epoch and finality on both chains. Nothing mines by itself (automine): the test moves both chains past
 * an epoch boundary when it wants a snapshot, so every relayer round between two such moves captures the same one.
 */
const EPOCH_LENGTH = 60
const FINALITY = 2
/** How many of the network's relayers run: the quorum (the network admits three operators, two must sign). */
const RELAYERS_RUN = 2

let network: Network
let devnet: Devnet
let proxy: RpcProxy
let rpcDown = false
let explorer: ReturnType<typeof startCairn> | undefined
let explorerUrl: string
let browser: BrowserContext
let profile: string
let marketId: bigint
let attestation: AttestationDeployment
let matcher: DevMatcherKey
const relayers: Relayer[] = []
/** Ends a hung run only: no wait here is expected to come near it, however slow the machine. */
const HANG_GUARD_MS = 600_000
const ports = async (offset: number) =>
  process.env.EXPLORER_TEST_PORTS ? Number(process.env.EXPLORER_TEST_PORTS) + offset : freePort()

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package with \`apt-get install -y chromium\` (README, "Set-up"), or set CHROMIUM_PATH`,
    )
  }
  const setupStart = performance.now()
  // The devnet's deployment (ts/devnet/network.ts), per-port throwaway files, blocks only when something is sent.
  network = await startNetwork({
    marketplacePort: await ports(0),
    ethereumPort: await ports(2),
    seed: 'cairn explorer browser test',
    blockTime: 0,
    onProgress: (stage) => console.log(`network (${((performance.now() - setupStart) / 1000).toFixed(0)} s): ${stage}`),
  })
  console.log(`network deployed in ${((performance.now() - setupStart) / 1000).toFixed(0)} s`)
  devnet = network.marketplace
  attestation = network.attestation.marketplace
  const { actors, deployment } = devnet
  ;({ marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment)))
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, parseEther('1000'))
  await register(actors.prover, { capacity: 4 })
  await stake(actors.prover, { amount: parseEther('1000') })
  await list(actors.prover, { marketId, price: PRICE, provingTime: 600 })
  // The marketplace's matcher authority is the TeeRegistry: an attested matcher key signs the assignments.
  matcher = await registerDevMatcherKey(network, 'cairn explorer browser test')

  // The explorer's RPC goes through a proxy the test can cut; everything else talks to anvil directly.
  proxy = await startRpcProxy(devnet.anvil.rpcUrl, async (request, forward) => {
    if (rpcDown) throw new Error('rpc down (test)')
    return forward(request)
  })
  const port = await ports(1)
  explorer = startCairn([
    'explorer',
    '--rpc-url',
    proxy.url,
    '--port',
    String(port),
    '--deployment',
    network.files.marketplace,
    '--attestation-deployment',
    network.files.marketplaceAttestation,
    '--restaking-deployment',
    network.files.marketplaceRestaking,
    '--poll-interval',
    '250',
    '--log-level',
    'warn',
  ])
  explorerUrl = `http://127.0.0.1:${port}`
  // Up and caught up with the chain (bounded by the hook's timeout); an explorer that exits says why.
  for (;;) {
    const run = explorer
    if (run.child.exitCode !== null) throw new Error(`cairn explorer exited: ${(await run.done).stderr}`)
    const healthy = await fetch(`${explorerUrl}/healthz`).then(
      (response) => response.ok,
      () => false,
    )
    if (healthy) break
    await sleep(200)
  }

  profile = await mkdtemp(join(tmpdir(), 'cairn-explorer-chromium-'))
  await mkdir(SCREENSHOTS, { recursive: true })
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  // No budget on navigations and element reads either (Playwright's default is 30 s): HANG_GUARD_MS ends a hung run.
  browser.setDefaultTimeout(0)
  browser.setDefaultNavigationTimeout(0)
  // Two chains and six forge scripts: on a loaded 2-core machine this took over 10 minutes once, so its guard is longer.
}, 2 * HANG_GUARD_MS)

afterAll(async () => {
  for (const relayer of relayers) await relayer.stop()
  await browser?.close()
  if (profile) await rm(profile, { recursive: true, force: true })
  explorer?.child.kill('SIGTERM')
  await explorer?.done
  await proxy?.close()
  await network?.stop()
}, 60_000)

/** Opens a page and returns it with the time the server said it took to render. */
async function open(path: string): Promise<{ page: Page; status: number; renderMs: number }> {
  const page = await browser.newPage()
  const response = await page.goto(`${explorerUrl}${path}`)
  if (response === null) throw new Error(`no response for ${path}`)
  const timing = (await response.headerValue('server-timing')) ?? ''
  // Marks this document: a reload would lose the mark (lib has no DOM types here, so globalThis stands for window).
  await page.evaluate(() => {
    ;(globalThis as unknown as { loadedOnce: number }).loadedOnce = 1
  })
  return { page, status: response.status(), renderMs: Number(/dur=([\d.]+)/.exec(timing)?.[1] ?? Number.NaN) }
}

const field = async (page: Page, name: string) =>
  ((await page.locator(`[data-field="${name}"]`).first().textContent()) ?? '').trim()
/** Whether the page is still the document first loaded (live updates swap parts of it, never reload it). */
const notReloaded = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { loadedOnce?: number }).loadedOnce === 1)
const renders: Record<string, number> = {}

/** Until the explorer's index holds `block` (by its /healthz), so the live event for what happened in it is sent. */
/** The requester funds and posts a Poseidon-preimage request in `market`, with `schedule` over the defaults. */
async function postPreimageRequest(market: bigint, schedule: ScheduleOptions = {}) {
  const { actors, deployment, reader } = devnet
  const requester = actors.requester.wallet.account.address
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD)
  const statement = await preimageStatement()
  const created = await createRequest(
    actors.requester,
    preimageRequest({
      marketId: market,
      now: await chainTime(reader),
      publicInputs: statement.publicInputs,
      maxReward: MAX_REWARD,
      refundAddress: requester,
      schedule,
    }),
  )
  return { statement, created }
}

async function indexedThrough(block: bigint): Promise<void> {
  for (;;) {
    const health = (await fetch(`${explorerUrl}/healthz`).then(
      (response) => response.json(),
      () => ({}),
    )) as { block?: string }
    if (health.block !== undefined && /^\d+$/.test(health.block) && BigInt(health.block) >= block) return
    await sleep(100)
  }
}

/** Until `read()` gives `expected`: the open page catching up with a live event (no budget: see HANG_GUARD_MS). */
async function until<T>(read: () => Promise<T>, expected: T): Promise<void> {
  while ((await read()) !== expected) await sleep(100)
}

/** Until `probe()` holds: the chain (or the relayers' work on it) getting there; no budget, see HANG_GUARD_MS. */
async function untilChain(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await sleep(100)
}

/**
 * Starts the quorum of the network's relayers in this process, each for its own admitted operator (it registers its
 * enclave key on both chains as it starts), as `npm run devnet` runs them as services.
 */
async function startRelayers(): Promise<void> {
  const quorum = network.relayers.slice(0, RELAYERS_RUN)
  const relayerPorts = await Promise.all(quorum.map(() => freePort()))
  const started = await Promise.all(
    quorum.map((relayer, i) =>
      createRelayer(
        parseRelayerConfig({
          ethereumRpcUrl: network.ethereum.anvil.rpcUrl,
          marketplaceRpcUrl: devnet.anvil.rpcUrl,
          ethereumDeployment: network.files.ethereumRestaking,
          marketplaceDeployment: network.files.marketplaceRestaking,
          privateKey: relayer.key,
          operatorPrivateKey: relayer.operator.privateKey,
          attestation: 'dev',
          devPkiSeed: network.pki.seed,
          devPkiTime: network.pki.time,
          epochLength: EPOCH_LENGTH,
          finalityDepth: FINALITY,
          metricsPort: relayerPorts[i],
          pollInterval: 100,
          peers: relayerPorts.filter((_, j) => j !== i).map((peer) => `http://127.0.0.1:${peer}`),
          submitDelay: 1_500,
          logLevel: (process.env.RELAYER_TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent',
        }),
      ),
    ),
  )
  relayers.push(...started)
  for (const relayer of started) relayer.start()
}

/**
 * Moves both chains at least `seconds` forward, Ethereum to one second past an epoch boundary with that boundary
 * final. The relayers' next snapshot captures the last block before it: the Ethereum head as this is called, whose
 * time it returns. Ethereum's later blocks follow the wall clock from there and nothing else mines, so no other
 * boundary turns final before the next call.
 */
async function advanceBoth(seconds: number): Promise<number> {
  const { ethereum } = network
  const now = (await ethereum.public.getBlock({ blockTag: 'latest' })).timestamp
  const length = BigInt(EPOCH_LENGTH)
  const landing = ((now + BigInt(seconds)) / length + 1n) * length + 1n
  await ethereum.test.setNextBlockTimestamp({ timestamp: landing })
  await ethereum.test.mine({ blocks: FINALITY + 1 })
  await advanceTime(devnet, Number(landing - now))
  await devnet.test.mine({ blocks: FINALITY })
  return Number(now)
}

describe('the explorer in a browser', { timeout: HANG_GUARD_MS }, () => {
  it('shows the markets as the chain has them', async () => {
    const { page, status, renderMs } = await open('/')
    renders.markets = renderMs
    expect(status).toBe(200)
    const market = await getMarket(devnet.reader, marketId)
    const token = await tokenInfo(devnet.reader, market.paymentToken)
    const row = page.locator(`tr[data-market="${marketId}"]`)
    await until(() => row.locator('[data-field="verifier"]').textContent(), 'Groth16')
    expect(await row.locator('[data-field="stake"]').textContent()).toBe('native')
    expect(await row.locator('[data-field="provers"]').textContent()).toBe('1')
    expect(await row.locator('[data-field="price"]').textContent()).toBe(
      `${formatUnits(PRICE, token.decimals)} ${token.symbol}`,
    )
    expect(await row.locator('[data-field="requests"]').textContent()).toBe(String(market.requestCount))
    expect(await page.locator('svg[aria-label="prices per market"]').count()).toBe(1)
    await page.screenshot({ path: join(SCREENSHOTS, 'markets.png'), fullPage: true })
    await page.close()
  })

  it('follows a request live from posted to fulfilled', async () => {
    const { actors, deployment, reader } = devnet
    const markets = await open('/')
    const { statement, created } = await postPreimageRequest(marketId)
    const { requestId } = created

    // The markets page shows it without a reload.
    const posted = markets.page.locator(`tr:has(a[href="/request/${requestId}"]) [data-activity="posted"]`)
    await indexedThrough(created.receipt.blockNumber)
    await until(() => posted.count(), 1)
    expect(await notReloaded(markets.page)).toBe(true)
    await markets.page.close()

    const { page, status, renderMs } = await open(`/request/${requestId}`)
    renders.request = renderMs
    expect(status).toBe(200)
    expect(await field(page, 'id')).toBe(String(requestId))
    expect(await field(page, 'state')).toBe(await getRequestState(reader, requestId))
    expect(await field(page, 'max-reward')).toBe('40 cUSD')
    const postedRow = page.locator('tr[data-step="posted"]')
    expect(await postedRow.locator('td').nth(1).textContent()).toBe(String(created.receipt.blockNumber))
    expect(await postedRow.textContent()).toContain(created.receipt.transactionHash.slice(0, 8))

    // Assigned by the matcher's signature: the open page turns Assigned by itself.
    const batch = await signAssignments(matcher.signer, {
      assignments: await withListedTerms(reader, [
        { requestId, prover: actors.prover.wallet.account.address, request: created.request },
      ]),
      validUntil: (await chainTime(reader)) + 300n,
    })
    const outcome = await submitAssignments(actors.bystander, batch)
    const [assigned] = outcome.assigned
    if (assigned === undefined) throw new Error('not assigned')
    await indexedThrough(outcome.receipt.blockNumber)
    await until(() => field(page, 'state'), 'Assigned')
    expect(await getRequestState(reader, requestId)).toBe('Assigned')
    const assignedRow = page.locator('tr[data-step="assigned by the matcher"]')
    expect(await assignedRow.locator('td').nth(1).textContent()).toBe(String(outcome.receipt.blockNumber))
    await page.screenshot({ path: join(SCREENSHOTS, 'request-assigned.png'), fullPage: true })

    // Proven and fulfilled: the page ends Fulfilled with the price paid and the refund, still the same document.
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    const fulfilled = await fulfil(actors.prover, { ...assigned, publicInputs: proof.publicInputs, proof: proof.proof })
    await indexedThrough(fulfilled.receipt.blockNumber)
    await until(() => field(page, 'state'), 'Fulfilled')
    expect(await notReloaded(page)).toBe(true)
    // The header follows the index too.
    expect(await page.locator('#indexed').textContent()).toContain(`indexed block ${fulfilled.receipt.blockNumber} `)
    const chain = await loadRequest(reader, requestId)
    expect(chain.state).toBe('Fulfilled')
    expect(await field(page, 'paid')).toBe(`${formatUnits(fulfilled.price, 18)} cUSD`)
    expect(await field(page, 'refund')).toBe(`${formatUnits(fulfilled.refund, 18)} cUSD`)
    const fulfilledRow = page.locator('tr[data-step="fulfilled"]')
    expect(await fulfilledRow.locator('td').nth(1).textContent()).toBe(String(fulfilled.receipt.blockNumber))
    // One label per step (steps in the same second share a point).
    expect(await page.locator('svg.timeline text.label').allTextContents()).toEqual([
      'posted',
      'assigned by the matcher',
      'fulfilled',
    ])
    await page.screenshot({ path: join(SCREENSHOTS, 'request-fulfilled.png'), fullPage: true })
    await page.close()

    // The market and the prover agree with the chain.
    const market = await open(`/market/${marketId}`)
    renders.market = market.renderMs
    expect(await field(market.page, 'requests')).toContain(
      `${(await getMarket(reader, marketId)).requestCount}: Fulfilled 1`,
    )
    expect(await field(market.page, 'median')).not.toBe('—')
    expect(await market.page.locator('svg[aria-label="time to proof over time"] circle').count()).toBe(1)
    await market.page.screenshot({ path: join(SCREENSHOTS, 'market.png'), fullPage: true })
    await market.page.close()

    const proverAddress = actors.prover.wallet.account.address
    const prover = await open(`/prover/${proverAddress}`)
    renders.prover = prover.renderMs
    const { staked, locked } = await getStake(reader, proverAddress)
    const stakeToken = await tokenInfo(reader, deployment.contracts.stakeToken)
    const tokens = (value: bigint) => `${formatUnits(value, stakeToken.decimals)} ${stakeToken.symbol}`
    expect(await field(prover.page, 'native-stake')).toContain(`${tokens(staked)} staked, ${tokens(locked)} locked`)
    expect(await field(prover.page, 'capacity')).toBe('0 of 4')
    expect(await field(prover.page, 'tasks')).toBe('1: Fulfilled 1')
    expect(await prover.page.locator(`tr[data-request="${requestId}"]`).count()).toBe(1)
    await prover.page.screenshot({ path: join(SCREENSHOTS, 'prover.png'), fullPage: true })
    await prover.page.close()
  })

  it('shows the attested keys with their TCB status and expiry as the registry has them', async () => {
    const { page } = await open('/attestation')
    const row = page.locator(`tr[data-key="${matcher.key.signer}"]`)
    const active = await isActiveKey({ ...devnet.reader, attestation }, { role: 'Matcher', signer: matcher.key.signer })
    expect(await row.locator('[data-field="key-status"]').textContent()).toBe(active ? 'active' : 'expired')
    // The registry accepts UpToDate only (its default), so that was the quote's status.
    const mask = await devnet.reader.public.readContract({
      address: attestation.contracts.teeRegistry,
      abi: teeRegistryAbi,
      functionName: 'acceptedTcbStatuses',
    })
    expect(tcbStatusesIn(mask)).toEqual(['UpToDate'])
    expect(await row.locator('[data-field="tcb"]').textContent()).toBe('UpToDate')
    expect(await row.textContent()).toContain(time(Number(matcher.key.expiresAt)))
    expect(await row.textContent()).toContain(`block ${matcher.key.receipt.blockNumber}`)
    await page.screenshot({ path: join(SCREENSHOTS, 'attestation.png'), fullPage: true })
    await page.close()
  })

  it('turns an open request Expired live once chain time passes its matching expiry, with no log of its own', async () => {
    const { reader } = devnet
    const { created } = await postPreimageRequest(marketId, { matchingWindow: 60 })
    await indexedThrough(created.receipt.blockNumber)
    const { page } = await open(`/request/${created.requestId}`)
    expect(await field(page, 'state')).toBe('Open')
    // One empty block past the expiry: the page follows the chain's time, not a log.
    await advanceTime(devnet, 120)
    await indexedThrough(await reader.public.getBlockNumber())
    await until(() => field(page, 'state'), 'Expired')
    expect(await getRequestState(reader, created.requestId)).toBe('Expired')
    expect(await notReloaded(page)).toBe(true)
    await page.close()
  })

  it('shows the StakeMirror’s quorum, epochs and roots, a restaked slash and its reported outcome, and the prover’s restaked stake per vault as the chain has them', async () => {
    const { actors, deployment, reader } = devnet
    const mirror = network.restaking.marketplace.contracts.stakeMirror
    const { middleware, vault } = network.restaking.ethereum.contracts
    const source = {
      ethereum: { public: network.ethereum.public },
      middleware,
      mirror,
      fromBlock: network.restaking.ethereum.deployBlock,
    }
    const mirrorView = { address: mirror, abi: stakeMirrorAbi } as const
    const currentEpoch = () => reader.public.readContract({ ...mirrorView, functionName: 'currentEpoch' })
    const epochOf = (epoch: bigint) =>
      reader.public.readContract({ ...mirrorView, functionName: 'epochs', args: [epoch] })
    const prover = actors.prover.wallet.account.address
    const provingTime = 600

    // The devnet's restaked market: Groth16, backed by the StakeMirror.
    const { marketId: restaked } = await createMarket(
      actors.deployer,
      groth16MarketParams(deployment, {
        stakeSource: mirror,
        metadataURI: 'cairn-devnet://poseidon-preimage?stake=restaked',
      }),
    )
    await list(actors.prover, { marketId: restaked, price: PRICE, provingTime })

    // The relayer quorum commits the boundary both chains just passed; the prover proves its leaf in it.
    const step = (what: string) => console.log(`restaking: ${what}`)
    await startRelayers()
    step('relayers up')
    const firstCapture = await advanceBoth(2 * EPOCH_LENGTH)
    await untilChain(async () => (await epochOf(await currentEpoch()))[0] >= firstCapture)
    step('snapshot committed')
    await proveStakeLeaf(actors.prover, { ...source, vault })

    // A request in the restaked market, assigned against the mirrored stake, misses its deadline: its slash is queued.
    const { created } = await postPreimageRequest(restaked, { provingTime })
    const assigned = await submitAssignments(
      actors.bystander,
      await signAssignments(matcher.signer, {
        assignments: await withListedTerms(reader, [
          { requestId: created.requestId, prover, request: created.request },
        ]),
        validUntil: (await chainTime(reader)) + 300n,
      }),
    )
    expect(assigned.skipped).toEqual([])
    await advanceTime(devnet, provingTime + 1)
    const slashed = await slash(actors.bystander, created.requestId)
    const orderId = slashOrderId({ chainId: deployment.chainId, mirror, taskId: created.requestId })
    expect((await getQueuedSlash(reader, { mirror, orderId }))?.status).toBe('Queued')
    step('slash queued')
    await indexedThrough(slashed.receipt.blockNumber)
    const { page, renderMs } = await open('/restaking')
    renders.restaking = renderMs
    const outcome = page.locator(`tr[data-order="${orderId}"] [data-field="outcome"]`)
    expect(await outcome.textContent()).toBe('queued')
    expect(await field(page, 'slashes')).toBe('1 queued, 1 awaiting their outcome')

    // The relayers carry it to Ethereum, where the instant vault executes it; once a later snapshot captures the
    // execution they report it back, and the open page shows the outcome without a reload.
    await devnet.test.mine({ blocks: FINALITY })
    await untilChain(async () => {
      const [, , state] = await network.ethereum.public.readContract({
        address: middleware,
        abi: cairnNetworkMiddlewareAbi,
        functionName: 'slashes',
        args: [orderId],
      })
      return state === 2 // Executed
    })
    step('slash executed on Ethereum')
    await advanceBoth(2 * EPOCH_LENGTH)
    await untilChain(async () => (await getQueuedSlash(reader, { mirror, orderId }))?.status === 'Executed')
    step('outcome reported back')
    const settled = await getQueuedSlash(reader, { mirror, orderId })
    if (settled === undefined) throw new Error(`no slash ${orderId}`)
    await indexedThrough(await reader.public.getBlockNumber())
    const stakeToken = await tokenInfo(reader, deployment.contracts.stakeToken)
    const tokens = (value: bigint) => `${formatUnits(value, stakeToken.decimals)} ${stakeToken.symbol}`
    await until(async () => (await outcome.textContent())?.startsWith('Executed: ') ?? false, true)
    expect(await notReloaded(page)).toBe(true)
    expect(await outcome.textContent()).toContain(`Executed: ${tokens(settled.penalty)} slashed (`)
    const slashRow = page.locator(`tr[data-order="${orderId}"]`)
    expect(await slashRow.locator(`a[href="/prover/${settled.prover}"]`).count()).toBe(1)
    expect(await slashRow.locator(`[title="${settled.vault}"]`).count()).toBe(1)
    expect(await slashRow.locator(`a[href="/request/${created.requestId}"]`).count()).toBe(1)
    expect(await field(page, 'slashes')).toBe('1 queued, 0 awaiting their outcome')

    // The quorum: the mirror's threshold of the operators the marketplace's TeeRegistry admits for the Relayer role.
    const threshold = await reader.public.readContract({ ...mirrorView, functionName: 'threshold' })
    const admitted = (
      await Promise.all(
        network.relayers.map(({ operator }) =>
          isAdmittedOperator({ ...reader, attestation }, { role: 'Relayer', operator: operator.account.address }),
        ),
      )
    ).filter(Boolean).length
    expect(await field(page, 'quorum')).toBe(`${threshold} operators of ${admitted} admitted`)

    // Every epoch the mirror holds: capture, slashing window and root; the current one's total stake and leaves as
    // the stake tree rebuilt from Ethereum's middleware (as the relayers built it) has them.
    const epochs = await currentEpoch()
    expect(epochs).toBeGreaterThanOrEqual(2n)
    expect(await field(page, 'epochs')).toBe(String(epochs))
    for (let epoch = 1n; epoch <= epochs; epoch++) {
      const [capture, window, root] = await epochOf(epoch)
      const cells = page.locator(`tr[data-epoch="${epoch}"] td`)
      expect(await cells.nth(1).textContent()).toBe(time(capture))
      expect(await cells.nth(2).textContent()).toBe(time(capture + window))
      expect(await cells.nth(3).getAttribute('title')).toBe(root)
    }
    const { tree } = await currentStakeTree(reader, source)
    const newest = page.locator(`tr[data-epoch="${epochs}"] td`)
    expect(await newest.nth(4).textContent()).toBe(tokens(tree.entries.reduce((sum, entry) => sum + entry.stake, 0n)))
    expect(await newest.nth(5).textContent()).toBe(String(tree.entries.length))
    await page.screenshot({ path: join(SCREENSHOTS, 'restaking.png'), fullPage: true })
    await page.close()

    // The prover's restaked stake per vault: its latest proven leaf, less the executed slash reported back.
    const mirrored = await getMirroredStake(reader, { mirror, prover })
    expect(mirrored.vaults.length).toBeGreaterThan(0)
    const proverPage = await open(`/prover/${prover}`)
    for (const held of mirrored.vaults) {
      const cells = proverPage.page.locator(`tr[data-vault="${held.vault}"] td`)
      expect(await cells.nth(1).textContent()).toBe(String(held.epoch))
      expect(await cells.nth(4).textContent()).toBe(tokens(held.leaf))
    }
    expect(await proverPage.page.locator('[data-field="restaked-slashes"]').textContent()).toBe('Executed')
    await proverPage.page.screenshot({ path: join(SCREENSHOTS, 'prover-restaked.png'), fullPage: true })
    await proverPage.page.close()
  })

  it('answers unknown ids and addresses with a clear not-found page', async () => {
    for (const [path, text] of [
      ['/request/12345', 'No request 12345'],
      ['/request/banana', '“banana” is not a request id'],
      ['/market/99', 'No market 99'],
      ['/prover/0x1234', '“0x1234” is not an address'],
      ['/prover/0x000000000000000000000000000000000000dEaD', 'No prover 0x000000000000000000000000000000000000dEaD'],
      ['/nowhere', 'No page at /nowhere'],
    ] as const) {
      const { page, status } = await open(path)
      expect(status, path).toBe(404)
      expect(await page.locator('[data-not-found]').textContent(), path).toContain(text)
      if (path === '/request/12345') await page.screenshot({ path: join(SCREENSHOTS, 'not-found.png') })
      await page.close()
    }
  })

  it('finds a market, a prover and a request from the header’s search box', async () => {
    const proverAddress = devnet.actors.prover.wallet.account.address
    const { page } = await open('/')
    for (const [query, lands] of [
      [String(marketId), `/market/${marketId}`],
      [proverAddress.toLowerCase(), `/prover/${proverAddress}`],
      [`0x${requestIdOf(marketId, 1n).toString(16)}`, `/request/${requestIdOf(marketId, 1n)}`],
    ] as const) {
      await page.fill('input[name="q"]', query)
      await Promise.all([page.waitForURL(`**${lands}`), page.press('input[name="q"]', 'Enter')])
      expect(new URL(page.url()).pathname).toBe(lands)
    }
    await page.fill('input[name="q"]', 'banana')
    await Promise.all([page.waitForURL('**/search?q=banana'), page.press('input[name="q"]', 'Enter')])
    expect(await page.locator('[data-not-found]').textContent()).toContain('Nothing found for “banana”')
    await page.close()
  })

  it('shows a banner while the RPC is down and clears it when it returns', async () => {
    const { page } = await open('/')
    expect(await page.locator('.banner').count()).toBe(0)
    rpcDown = true
    // The explorer's next poll fails and the banner comes through the open page's live stream.
    await until(() => page.locator('.banner').count(), 1)
    expect(await page.locator('.banner').textContent()).toContain('The RPC is not answering')
    // Pages still render from the index meanwhile.
    const during = await open(`/market/${marketId}`)
    expect(during.status).toBe(200)
    expect(await during.page.locator('.banner').count()).toBe(1)
    await during.page.close()
    await page.screenshot({ path: join(SCREENSHOTS, 'rpc-down.png') })
    rpcDown = false
    await until(() => page.locator('.banner').count(), 0)
    expect(await notReloaded(page)).toBe(true)
    await page.close()
    console.log(`explorer render times (server, ms): ${JSON.stringify(renders)}`)
  })
})
