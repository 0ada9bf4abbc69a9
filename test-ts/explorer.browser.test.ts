/**
 * The explorer in a real browser: headless Chromium (Debian's package, driven by playwright-core) against `cairn
 * explorer` started as a user starts it, on a fresh anvil with the marketplace deployed. A request is posted,
 * assigned by the matcher's signature and fulfilled with a real Groth16 proof while its page stays open: the page
 * must follow it live (no reload), and every page's content is checked against what the chain says. The attestation
 * stack is deployed too, with one attested matcher key, for the attestation page. The explorer
 * reads the chain through a proxy the test can cut, to check the RPC banner comes and goes. Screenshots go to
 * test-ts/.screenshots/ (gitignored).
 *
 * Part of `npm test` (vitest); alone: npx vitest run test-ts/explorer.browser.test.ts
 * Chromium: `apt-get install -y chromium` (or CHROMIUM_PATH=<binary>). EXPLORER_TEST_PORTS=<n> uses ports n..n+2
 * instead of free ones.
 *
 * Every wait follows the chain and the explorer: the explorer's index reaching a transaction's block (its /healthz
 * says which block it stands at), then the open page showing it. None has a time budget of its own; the timeouts
 * (HANG_GUARD_MS) only end a hung run.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { formatUnits, keccak256, parseEther, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tcbStatusesIn } from '../explorer/index/apply.js'
import { time } from '../explorer/pages/format.js'
import { freePort } from '../ts/devnet/anvil.js'
import { prepareDevAttestation } from '../ts/devnet/attestation.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import { advanceTime, type Devnet, startDevnet } from '../ts/devnet/stack.js'
import {
  type AttestationDeployment,
  allowMeasurement,
  chainTime,
  createMarket,
  createRequest,
  eciesPublicKeyOf,
  fulfil,
  getMarket,
  getRequestState,
  getStake,
  isActiveKey,
  list,
  loadRequest,
  mintDevToken,
  provePoseidonPreimage,
  type RegisteredKey,
  register,
  registerEnclaveKey,
  requestIdOf,
  signAssignments,
  stake,
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

let devnet: Devnet
let proxy: RpcProxy
let rpcDown = false
let explorer: ReturnType<typeof startCairn> | undefined
let explorerUrl: string
let browser: BrowserContext
let profile: string
let marketId: bigint
let attestation: AttestationDeployment
let attestationFile: string | undefined
let matcherKey: RegisteredKey
const deploymentFile = () => `deployments/e2e-explorer-${devnet.anvil.port}.json`
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
  const anvilPort = await ports(0)
  devnet = await startDevnet({
    port: anvilPort,
    deploymentOut: `deployments/e2e-explorer-${anvilPort}.json`,
    throwaway: true,
  })
  const { actors, deployment } = devnet
  ;({ marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment)))
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, parseEther('1000'))
  await register(actors.prover, { capacity: 4 })
  await stake(actors.prover, { amount: parseEther('1000') })
  await list(actors.prover, { marketId, price: PRICE, provingTime: 600 })
  // The attestation stack (its forge script) with one attested matcher key, for the attestation page.
  attestationFile = `deployments/e2e-explorer-${anvilPort}.attestation.json`
  const dev = await prepareDevAttestation(devnet, {
    seed: 'cairn explorer browser test',
    out: attestationFile,
    matcherOperators: [actors.deployer.wallet.account.address],
  })
  attestation = dev.attestation
  await allowMeasurement(dev.owner, { role: 'Matcher', measurement: dev.measurement })
  matcherKey = await registerEnclaveKey(dev.owner, {
    enclave: dev.enclave('Matcher'),
    signer: privateKeyToAccount(keccak256(toHex('cairn explorer test matcher signer'))).address,
    eciesPublicKey: eciesPublicKeyOf(keccak256(toHex('cairn explorer test matcher ecies'))),
  })

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
    deploymentFile(),
    '--attestation-deployment',
    attestationFile,
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
}, HANG_GUARD_MS)

afterAll(async () => {
  await browser?.close()
  if (profile) await rm(profile, { recursive: true, force: true })
  explorer?.child.kill('SIGTERM')
  await explorer?.done
  await proxy?.close()
  await devnet?.stop()
  if (attestationFile) await rm(join(repoRoot, attestationFile), { force: true })
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
    const requester = actors.requester.wallet.account.address
    await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD)
    const statement = await preimageStatement()
    const created = await createRequest(
      actors.requester,
      preimageRequest({
        marketId,
        now: await chainTime(reader),
        publicInputs: statement.publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: requester,
      }),
    )
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
    const batch = await signAssignments(actors.matcher, {
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
    const row = page.locator(`tr[data-key="${matcherKey.signer}"]`)
    const active = await isActiveKey({ ...devnet.reader, attestation }, { role: 'Matcher', signer: matcherKey.signer })
    expect(await row.locator('[data-field="key-status"]').textContent()).toBe(active ? 'active' : 'expired')
    // The registry accepts UpToDate only (its default), so that was the quote's status.
    const mask = await devnet.reader.public.readContract({
      address: attestation.contracts.teeRegistry,
      abi: teeRegistryAbi,
      functionName: 'acceptedTcbStatuses',
    })
    expect(tcbStatusesIn(mask)).toEqual(['UpToDate'])
    expect(await row.locator('[data-field="tcb"]').textContent()).toBe('UpToDate')
    expect(await row.textContent()).toContain(time(Number(matcherKey.expiresAt)))
    expect(await row.textContent()).toContain(`block ${matcherKey.receipt.blockNumber}`)
    await page.screenshot({ path: join(SCREENSHOTS, 'attestation.png'), fullPage: true })
    await page.close()
  })

  it('turns an open request Expired live once chain time passes its matching expiry, with no log of its own', async () => {
    const { actors, deployment, reader } = devnet
    const requester = actors.requester.wallet.account.address
    await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD)
    const statement = await preimageStatement()
    const created = await createRequest(
      actors.requester,
      preimageRequest({
        marketId,
        now: await chainTime(reader),
        publicInputs: statement.publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: requester,
        schedule: { matchingWindow: 60 },
      }),
    )
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
