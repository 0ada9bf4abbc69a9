import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import { type Address, getAddress, type Hex, hexToBytes, keccak256, parseEther, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../enclave/matcher/config.js'
import { pickTied } from '../enclave/matcher/engine.js'
import { MatcherOperatorError } from '../enclave/matcher/keys.js'
import { type Matcher, startMatcher } from '../enclave/matcher/service.js'
import { parseConfig as parseProverConfig } from '../enclave/prover/config.js'
import { connect } from '../ts/client.js'
import { anvilAccount } from '../ts/devnet/accounts.js'
import { devMatcherConfig, prepareMatcherDevnet } from '../ts/devnet/matcher.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import type { Devnet } from '../ts/devnet/stack.js'
import { encodePublicSignals } from '../ts/groth16.js'
import {
  allowMeasurement,
  cancel,
  chainTime,
  createMarket,
  createRequest,
  decryptWithInputKey,
  deposit,
  eciesPublicKeyOf,
  encryptPrivateInputs,
  generateEciesPrivateKey,
  getRequestState,
  inlineInputs,
  isActiveKey,
  isPrivateInputsError,
  list,
  mintDevToken,
  nativeStakingAbi,
  type PrivateInputsContext,
  proofMarketplaceAbi,
  proverRegistryAbi,
  type RequestParams,
  register,
  registerEnclaveKey,
  remoteInputs,
  setOperatorAdmitted,
  stake,
  teeRegistryAbi,
  withAttestation,
} from '../ts/index.js'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../ts/input-uris.js'
import { write } from '../ts/write.js'
import { advanceTime, useDevnet } from './anvil.js'
import { serveNeverLoadingInputs } from './never-loading-inputs.js'
import { MALFORMED_REQUEST_LINE, rawStatus } from './raw-http.js'

const STAKE = parseEther('1000')
const MAX_REWARD = parseEther('40')
/** The cheap prover: 10 cUSD, 600 s. The fast one: 30 cUSD, 60 s. Requests allow up to 40 cUSD and 600 s. */
const CHEAP = { price: parseEther('10'), provingTime: 600 }
const FAST = { price: parseEther('30'), provingTime: 60 }
const PROVING_TIME = 600
/** The matcher's submitter and the fast prover: anvil accounts beyond the devnet's five roles. */
const SUBMITTER = anvilAccount(7)
const FAST_PROVER = anvilAccount(5)
const logger = pino({ level: process.env.MATCHER_TEST_LOG ?? 'silent' })

let attestationOut: string | undefined
let keyDir: string

const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment, reader } = devnet
  attestationOut = `deployments/e2e-matcher-${anvil.port}.attestation.json`
  // Governance admits the submitter as the matcher's operator: it registers the enclave key from its account.
  const prepared = await prepareMatcherDevnet(devnet, {
    seed: 'cairn matcher service',
    out: attestationOut,
    matcherOperators: [SUBMITTER.account.address],
  })
  const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  await allowMeasurement(withAttestation(actors.deployer, prepared.attestation), {
    role: 'Prover',
    marketId,
    measurement: prepared.measurement,
  })
  const fast = connect(reader, FAST_PROVER.account)
  for (const [prover, offer] of [
    [actors.prover, CHEAP],
    [fast, FAST],
  ] as const) {
    await mintDevToken(prover, deployment.contracts.stakeToken, prover.wallet.account.address, STAKE)
    await register(prover, { capacity: 8 })
    await stake(prover, { amount: STAKE })
    await list(prover, { marketId, ...offer })
  }
  const requester = actors.requester
  const budget = MAX_REWARD * 50n
  await mintDevToken(requester, deployment.contracts.paymentToken, requester.wallet.account.address, budget)
  await deposit(requester, deployment.contracts.paymentToken, budget)
  const { publicInputs } = await preimageStatement()
  const context: PrivateInputsContext = {
    chainId: deployment.chainId,
    marketplace: deployment.contracts.proofMarketplace,
    marketId,
    requester: requester.wallet.account.address,
    publicInputsDigest: keccak256(publicInputs),
  }
  return { prepared, marketId, fast, publicInputs, context }
})

beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'cairn-matcher-'))
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
  await rm(keyDir, { recursive: true, force: true })
})

let keyCount = 0
const freshKeyFile = () => join(keyDir, `key-${++keyCount}.json`)

async function withMatcher<T>(keyFile: string, run: (matcher: Matcher) => Promise<T>): Promise<T> {
  const matcher = await launch(keyFile)
  try {
    return await run(matcher)
  } finally {
    await matcher.stop()
  }
}

function launch(keyFile: string, submitterPrivateKey: Hex = SUBMITTER.privateKey): Promise<Matcher> {
  const { devnet, fixture } = current()
  // Some tests stage envelopes on this machine's disk, behind file: URIs.
  // These tests are about `assign`: with the fast lane on, a public request the fast prover (60 s) could take in its
  // window would be offered off chain instead (matcher-fast-open-chain.test.ts covers that lane).
  const config = devMatcherConfig(devnet, fixture.prepared, {
    keyFile,
    submitterPrivateKey,
    allowFileUris: true,
    fastLane: false,
  })
  return startMatcher(config, { logger, deployment: devnet.deployment, attestation: fixture.prepared.attestation })
}

/** Posts a request from the requester's deposit; schedule and bounds as the test constants say. */
async function postRequest(overrides: Partial<RequestParams> = {}) {
  const { devnet, fixture } = current()
  const params = preimageRequest({
    marketId: fixture.marketId,
    now: await chainTime(devnet.reader),
    publicInputs: fixture.publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: devnet.actors.requester.wallet.account.address,
    schedule: { provingTime: PROVING_TIME },
  })
  return createRequest(devnet.actors.requester, { ...params, ...overrides })
}

function marketplaceEvents(devnet: Devnet) {
  return { address: devnet.deployment.contracts.proofMarketplace, abi: proofMarketplaceAbi } as const
}

async function assignmentsOf(requestId: bigint) {
  const { devnet } = current()
  return devnet.reader.public.getContractEvents({
    ...marketplaceEvents(devnet),
    eventName: 'TaskAssigned',
    args: { requestId },
    fromBlock: devnet.deployment.deployBlock,
  })
}

/**
 * Waits (bounded by the test timeout) for the request's TaskAssigned and returns it; `mining` mines a block each time
 * it looks, for a request the matcher can only take up at a later block than the one that created it.
 */
async function assignmentOf(requestId: bigint, options: { mining?: boolean } = {}) {
  for (;;) {
    const [event] = await assignmentsOf(requestId)
    if (event !== undefined) return event
    if (options.mining) await current().devnet.test.mine({ blocks: 1 })
    await sleep(50)
  }
}

async function inputKeyOf(requestId: bigint): Promise<Hex> {
  const { devnet } = current()
  const [event] = await devnet.reader.public.getContractEvents({
    ...marketplaceEvents(devnet),
    eventName: 'InputKeyReleased',
    args: { requestId },
    fromBlock: devnet.deployment.deployBlock,
  })
  const inputKey = event?.args.inputKey
  if (inputKey === undefined) throw new Error(`no InputKeyReleased for ${requestId}`)
  return inputKey
}

/** The value of one series in the matcher's /metrics, or undefined when absent. */
async function metric(matcher: Matcher, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${matcher.url}/metrics`)).text()
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** Waits (bounded by the test timeout) until a metric series reaches `value`. */
async function metricReaches(matcher: Matcher, series: string, value: number): Promise<void> {
  while ((await metric(matcher, series)) !== value) await sleep(50)
}

/** Registers an enclave key for the fast prover in the market; returns its ECIES private key. */
async function registerFastProverEnclave(): Promise<Hex> {
  const { fixture } = current()
  const enclaveKey = generateEciesPrivateKey()
  await registerEnclaveKey(withAttestation(fixture.fast, fixture.prepared.attestation), {
    enclave: fixture.prepared.enclave('Prover'),
    marketId: fixture.marketId,
    signer: privateKeyToAccount(enclaveKey).address,
    eciesPublicKey: eciesPublicKeyOf(enclaveKey),
  })
  return enclaveKey
}

const fastAddress = (): Address => current().fixture.fast.wallet.account.address
const cheapAddress = (): Address => current().devnet.actors.prover.wallet.account.address

describe('matcher service on anvil', () => {
  it('attests its key, reports healthy, and assigns a public request in the next block', async () => {
    const { devnet, fixture } = current()
    await withMatcher(freshKeyFile(), async (matcher) => {
      const tee = withAttestation(devnet.reader, fixture.prepared.attestation)
      expect(await isActiveKey(tee, { role: 'Matcher', signer: matcher.address })).toBe(true)
      const healthz = await fetch(`${matcher.url}/healthz`)
      expect(healthz.status).toBe(200)
      expect(await healthz.json()).toMatchObject({ ok: true, registered: true, synced: true, revoked: false })

      const created = await postRequest({ speedPreferenceBps: 0 })
      const assigned = await assignmentOf(created.requestId)
      const latency = assigned.blockNumber - created.receipt.blockNumber
      expect(latency).toBeGreaterThanOrEqual(1n)
      expect(latency).toBeLessThanOrEqual(2n)
      expect(assigned.args).toMatchObject({ prover: cheapAddress(), byMatcher: true })
      expect(assigned.args.task?.price).toBe(CHEAP.price)
      // The batch was sent by the submitter, signed by the attested enclave key.
      const transaction = await devnet.reader.public.getTransaction({ hash: assigned.transactionHash })
      expect(getAddress(transaction.from)).toBe(matcher.submitter)

      await metricReaches(matcher, 'cairn_matcher_assignments_total', 1)
      expect(await metric(matcher, 'cairn_matcher_batches_sent_total')).toBe(1)
      expect(await metric(matcher, 'cairn_matcher_assignment_latency_blocks_count')).toBe(1)
      expect(await metric(matcher, `cairn_matcher_assignment_latency_blocks_bucket{le="${latency}"}`)).toBe(1)
      expect(await metric(matcher, 'cairn_matcher_book_requests{state="queued"}')).toBe(0)
      expect(await metric(matcher, 'cairn_matcher_attestations_total')).toBe(1)
    })
  })

  it('stays healthy through normal work (one-block catch-ups included) and answers bad input with 400', async () => {
    const { devnet } = current()
    await withMatcher(freshKeyFile(), async (matcher) => {
      // A request target that is no URL is bad input: answered, and the matcher keeps serving.
      expect(await rawStatus(matcher.url, MALFORMED_REQUEST_LINE)).toBe(400)
      expect((await fetch(`${matcher.url}/metrics`)).status).toBe(200)

      const statuses: number[] = []
      let working = true
      const polling = (async () => {
        while (working) statuses.push((await fetch(`${matcher.url}/healthz`)).status)
      })()
      const indexed = async () => ((await (await fetch(`${matcher.url}/healthz`)).json()) as { block?: string }).block
      const indexes = async (block: bigint) => {
        while ((await indexed()) !== block.toString()) await sleep(20)
      }
      // Normal work: blocks one at a time, each caught up by the matcher, and requests posted and assigned.
      for (let i = 0; i < 12; i++) {
        await devnet.test.mine({ blocks: 1 })
        await indexes(await devnet.reader.public.getBlockNumber({ cacheTime: 0 }))
      }
      const created = await postRequest({ speedPreferenceBps: 0 })
      await assignmentOf(created.requestId)
      working = false
      await polling
      expect(statuses.length).toBeGreaterThan(20)
      expect(statuses.filter((status) => status !== 200)).toEqual([])
    })
  })

  it('prefers the cheaper or the faster prover according to speedPreferenceBps', async () => {
    await withMatcher(freshKeyFile(), async () => {
      // score = (1 − s)·price/maxReward + s·provingTime/requestProvingTime, lower wins:
      // s = 0: 0.25 vs 0.75; s = 0.2: 0.40 vs 0.62; s = 0.5: 0.625 vs 0.425; s = 1: 1 vs 0.1.
      const cases = [
        { bps: 0, prover: cheapAddress(), price: CHEAP.price },
        { bps: 2_000, prover: cheapAddress(), price: CHEAP.price },
        { bps: 5_000, prover: fastAddress(), price: FAST.price },
        { bps: 10_000, prover: fastAddress(), price: FAST.price },
      ]
      const created = []
      for (const { bps } of cases) created.push(await postRequest({ speedPreferenceBps: bps }))
      for (const [i, { prover, price }] of cases.entries()) {
        const assigned = await assignmentOf((created[i] as (typeof created)[number]).requestId)
        expect(assigned.args.prover).toBe(prover)
        expect(assigned.args.task?.price).toBe(price)
      }
    })
  })

  it('breaks ties between equal offers by keccak(requestId ‖ creation block hash ‖ prover)', async () => {
    const { devnet, fixture } = current()
    // A twin of the cheap prover: same price, same proving time.
    const twin = connect(devnet.reader, anvilAccount(6).account)
    await mintDevToken(twin, devnet.deployment.contracts.stakeToken, twin.wallet.account.address, STAKE)
    await register(twin, { capacity: 8 })
    await stake(twin, { amount: STAKE })
    await list(twin, { marketId: fixture.marketId, ...CHEAP })
    const tied = [cheapAddress(), twin.wallet.account.address]
    await withMatcher(freshKeyFile(), async () => {
      for (let i = 0; i < 6; i++) {
        const created = await postRequest({ speedPreferenceBps: 0 })
        const assigned = await assignmentOf(created.requestId)
        expect(assigned.args.prover).toBe(pickTied(created.requestId, created.receipt.blockHash, tied))
      }
    })
  })

  it('re-wraps private inputs (inline, file://, http://, data:) to the assigned prover’s enclave key only', async () => {
    const { fixture } = current()
    const enclaveKey = await registerFastProverEnclave()
    const server = createServer()
    const served = new Map<string, Uint8Array>()
    server.on('request', (request, response) => {
      const body = served.get(request.url ?? '')
      response.writeHead(body === undefined ? 404 : 200).end(body)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      await withMatcher(freshKeyFile(), async (matcher) => {
        const posted: { requestId: bigint; envelope: Hex; plaintext: Uint8Array }[] = []
        for (const where of ['inline', 'file', 'http', 'data'] as const) {
          const plaintext = new TextEncoder().encode(`secret witness, ${where}`)
          const { envelope, digest } = encryptPrivateInputs({
            plaintext,
            context: fixture.context,
            recipients: [matcher.eciesPublicKey],
          })
          let uri = ''
          if (where === 'file') {
            const path = join(keyDir, `envelope-${keccak256(envelope).slice(2, 10)}.bin`)
            await writeFile(path, hexToBytes(envelope))
            uri = pathToFileURL(path).href
          } else if (where === 'http') {
            served.set('/envelope', hexToBytes(envelope))
            uri = `${base}/envelope`
          } else if (where === 'data') {
            uri = `data:application/octet-stream;base64,${Buffer.from(hexToBytes(envelope)).toString('base64')}`
          }
          // Speed preference 0 would pick the cheap prover, but it has no enclave key in the market.
          const privateInputs = where === 'inline' ? inlineInputs(envelope) : remoteInputs(uri, digest)
          const created = await postRequest({ speedPreferenceBps: 0, privateInputs })
          posted.push({ requestId: created.requestId, envelope, plaintext })
        }
        for (const { requestId, envelope, plaintext } of posted) {
          const assigned = await assignmentOf(requestId)
          expect(assigned.args.prover).toBe(fastAddress())
          const inputKey = await inputKeyOf(requestId)
          const opened = decryptWithInputKey({ envelope, inputKey, privateKey: enclaveKey, context: fixture.context })
          expect(new TextDecoder().decode(opened)).toBe(new TextDecoder().decode(plaintext))
          // Nobody else opens the released key: not another enclave, not the matcher's wrap reused.
          const stranger = generateEciesPrivateKey()
          const refused = (() => {
            try {
              decryptWithInputKey({ envelope, inputKey, privateKey: stranger, context: fixture.context })
              return undefined
            } catch (error) {
              return error
            }
          })()
          expect(isPrivateInputsError(refused, 'UnwrapFailed')).toBe(true)
        }
        // A public request still goes to the cheap prover: the enclave-key rule applies to private inputs only.
        const open = await postRequest({ speedPreferenceBps: 0 })
        expect((await assignmentOf(open.requestId)).args.prover).toBe(cheapAddress())
      })
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('skips requests whose private inputs it cannot open; they stay open and become cancellable', async () => {
    const { devnet, fixture } = current()
    await registerFastProverEnclave()
    const bad: bigint[] = []
    await withMatcher(freshKeyFile(), async (matcher) => {
      const plaintext = new TextEncoder().encode('witness')
      // Encrypted for another market: the wrap opens, the ciphertext does not authenticate here.
      const elsewhere = encryptPrivateInputs({
        plaintext,
        context: { ...fixture.context, marketId: fixture.marketId + 1n },
        recipients: [matcher.eciesPublicKey],
      })
      // Wrapped to someone else only.
      const notForUs = encryptPrivateInputs({
        plaintext,
        context: fixture.context,
        recipients: [eciesPublicKeyOf(generateEciesPrivateKey())],
      })
      // Fine bytes behind a URI, but not the bytes the request committed to.
      const good = encryptPrivateInputs({ plaintext, context: fixture.context, recipients: [matcher.eciesPublicKey] })
      const path = join(keyDir, 'swapped-envelope.bin')
      await writeFile(path, hexToBytes(good.envelope))
      for (const privateInputs of [
        inlineInputs(elsewhere.envelope),
        inlineInputs(notForUs.envelope),
        remoteInputs(pathToFileURL(path).href, keccak256(toHex('other bytes'))),
      ]) {
        bad.push((await postRequest({ speedPreferenceBps: 0, privateInputs })).requestId)
      }
      await metricReaches(matcher, 'cairn_matcher_requests_skipped_total{reason="DecryptionFailed"}', 1)
      await metricReaches(matcher, 'cairn_matcher_requests_skipped_total{reason="NoWrapForRecipient"}', 1)
      await metricReaches(matcher, 'cairn_matcher_requests_skipped_total{reason="DigestMismatch"}', 1)
      // Rounds go on after the skips: a later public request is assigned.
      const later = await postRequest()
      await assignmentOf(later.requestId)
    })
    for (const requestId of bad) {
      expect(await assignmentsOf(requestId)).toEqual([])
      expect(await getRequestState(devnet.reader, requestId)).toBe('Open')
    }
    await advanceTime(devnet, 601)
    for (const requestId of bad) {
      expect((await cancel(devnet.actors.bystander, requestId)).refund).toBe(MAX_REWARD)
    }
  })

  it('never assigns a request whose public inputs can never load from their URI, and says why', async () => {
    const { devnet, fixture } = current()
    const publicInputs = hexToBytes(fixture.publicInputs)
    const digest = keccak256(publicInputs)
    const inputs = await serveNeverLoadingInputs(publicInputs)
    const bad: { requestId: bigint; reason: string }[] = []
    try {
      await withMatcher(freshKeyFile(), async (matcher) => {
        for (const { reason, uri } of inputs.neverLoad) {
          const created = await postRequest({ speedPreferenceBps: 0, publicInputs: remoteInputs(uri, digest) })
          bad.push({ requestId: created.requestId, reason })
        }
        // Posted last and behind a URI that loads: assigned, so the rounds went past the others. Its inputs load
        // after the block that created it, and the matcher matches once per block: blocks keep coming, as on a chain.
        const good = await postRequest({ speedPreferenceBps: 0, publicInputs: remoteInputs(inputs.loads, digest) })
        expect((await assignmentOf(good.requestId, { mining: true })).args.prover).toBe(cheapAddress())
        for (const { requestId } of bad) expect(await assignmentsOf(requestId)).toEqual([])
        const skipped = (reason: string) => `cairn_matcher_requests_skipped_total{reason="${reason}"}`
        await metricReaches(matcher, skipped('UnsupportedUri'), 1)
        await metricReaches(matcher, skipped('DigestMismatch'), 2)
        await metricReaches(matcher, skipped('TooLarge'), 1)
      })
    } finally {
      inputs.close()
    }
    for (const { requestId } of bad) {
      expect(await assignmentsOf(requestId)).toEqual([])
      expect(await getRequestState(devnet.reader, requestId)).toBe('Open')
    }
    await advanceTime(devnet, 601)
    for (const { requestId } of bad) {
      expect((await cancel(devnet.actors.bystander, requestId)).refund).toBe(MAX_REWARD)
    }
  })

  it('refuses an envelope copied into another request: another requester, its own public context', async () => {
    const { devnet, fixture } = current()
    await registerFastProverEnclave()
    const attacker = devnet.actors.bystander
    await withMatcher(freshKeyFile(), async (matcher) => {
      const statement = await preimageStatement()
      const plaintext = new TextEncoder().encode(JSON.stringify({ preimage: statement.preimage.toString() }))
      const { envelope } = encryptPrivateInputs({
        plaintext,
        context: { ...fixture.context, publicInputsDigest: keccak256(statement.publicInputs) },
        recipients: [matcher.eciesPublicKey],
      })
      const victim = await postRequest({
        publicInputs: inlineInputs(statement.publicInputs),
        privateInputs: inlineInputs(envelope),
      })
      await assignmentOf(victim.requestId)

      // The envelope is public: the attacker posts it under the same Poseidon digest with its own context.
      const own = await preimageStatement(statement.preimage)
      const params = preimageRequest({
        marketId: fixture.marketId,
        now: await chainTime(devnet.reader),
        publicInputs: encodePublicSignals([statement.digest, own.context]),
        maxReward: MAX_REWARD,
        refundAddress: attacker.wallet.account.address,
        schedule: { provingTime: PROVING_TIME },
      })
      await mintDevToken(
        attacker,
        devnet.deployment.contracts.paymentToken,
        attacker.wallet.account.address,
        MAX_REWARD,
      )
      const copy = await createRequest(attacker, { ...params, privateInputs: inlineInputs(envelope) })
      const skipped = 'cairn_matcher_requests_skipped_total{reason="DecryptionFailed"}'
      for (;;) {
        if ((await metric(matcher, skipped)) === 1 || (await assignmentsOf(copy.requestId)).length > 0) break
        await sleep(50)
      }
      // Never re-wrapped, never assigned: no prover receives the victim's data key for the copy.
      expect(await assignmentsOf(copy.requestId)).toEqual([])
      expect(await metric(matcher, skipped)).toBe(1)
      const later = await postRequest()
      await assignmentOf(later.requestId)
      expect(await getRequestState(devnet.reader, copy.requestId)).toBe('Open')
    })
  })

  it('follows provers’ stake and listings, so it never picks a prover the chain would refuse', async () => {
    const { devnet, fixture } = current()
    const cheap = devnet.actors.prover
    const staking = { address: devnet.deployment.contracts.nativeStaking, abi: nativeStakingAbi } as const
    await withMatcher(freshKeyFile(), async (matcher) => {
      const goesTo = async () =>
        (await assignmentOf((await postRequest({ speedPreferenceBps: 0 })).requestId)).args.prover
      expect(await goesTo()).toBe(cheapAddress())
      // 900 of the cheap prover's 1000 staked are unbonding and 100 are locked by the first task: none left.
      await write(cheap, { ...staking, functionName: 'requestWithdrawal', args: [parseEther('900')] })
      expect(await goesTo()).toBe(fastAddress())
      await write(cheap, { ...staking, functionName: 'cancelWithdrawal' })
      expect(await goesTo()).toBe(cheapAddress())
      // A leaving listing takes no new work.
      await write(cheap, {
        address: devnet.deployment.contracts.proverRegistry,
        abi: proverRegistryAbi,
        functionName: 'requestLeave',
        args: [fixture.marketId],
      })
      expect(await goesTo()).toBe(fastAddress())
      // Every item of every batch was assigned: the chain never had to skip one.
      await metricReaches(matcher, 'cairn_matcher_assignments_total', 4)
      const metrics = await (await fetch(`${matcher.url}/metrics`)).text()
      expect(metrics).not.toMatch(/^cairn_matcher_assignment_skips_total\{/m)
    })
  })

  it('re-attests two thirds into its key’s validity and keeps assigning past the first expiry', async () => {
    const { devnet, fixture } = current()
    await withMatcher(freshKeyFile(), async (matcher) => {
      const tee = withAttestation(devnet.reader, fixture.prepared.attestation)
      const registry = { address: fixture.prepared.attestation.contracts.teeRegistry, abi: teeRegistryAbi } as const
      const expiryOf = async () =>
        (
          await devnet.reader.public.getContractEvents({
            ...registry,
            eventName: 'KeyRegistered',
            args: { signer: matcher.address },
            fromBlock: devnet.deployment.deployBlock,
            strict: true,
          })
        ).map(({ args }) => args.expiresAt)
      const [first] = await expiryOf()
      // Validity is 3600 s: renewal is due after 2400 s.
      await advanceTime(devnet, 2_401)
      await metricReaches(matcher, 'cairn_matcher_attestations_total', 2)
      const expiries = await expiryOf()
      expect(expiries).toHaveLength(2)
      expect((expiries[1] ?? 0n) - (first ?? 0n)).toBeGreaterThanOrEqual(2_401n)
      // Past the first registration's expiry, the renewed key still signs accepted batches.
      await advanceTime(devnet, 1_300)
      expect(await chainTime(devnet.reader)).toBeGreaterThan(first ?? 0n)
      expect(await isActiveKey(tee, { role: 'Matcher', signer: matcher.address })).toBe(true)
      const created = await postRequest()
      expect((await assignmentOf(created.requestId)).args.byMatcher).toBe(true)
    })
  })

  it('restarts from the same key file without losing or repeating an assignment', async () => {
    const { devnet, fixture } = current()
    const enclaveKey = await registerFastProverEnclave()
    const keyFile = freshKeyFile()
    const first = await launch(keyFile)
    const before = await postRequest()
    await assignmentOf(before.requestId)
    // A request the first run leaves open: nobody lists below its max reward until after the restart.
    const waiting = await postRequest({ maxReward: parseEther('5') })
    await first.stop()

    // Posted while no matcher runs, one with private inputs wrapped to the (stopped) matcher's key.
    const whileDown = []
    for (let i = 0; i < 3; i++) whileDown.push(await postRequest({ speedPreferenceBps: 2_500 * i }))
    const plaintext = new TextEncoder().encode('kept across restarts')
    const sealed = encryptPrivateInputs({ plaintext, context: fixture.context, recipients: [first.eciesPublicKey] })
    const privately = await postRequest({ privateInputs: inlineInputs(sealed.envelope) })
    expect(await getRequestState(devnet.reader, waiting.requestId)).toBe('Open')

    const second = await launch(keyFile)
    try {
      expect(second.address).toBe(first.address)
      expect(second.eciesPublicKey).toBe(first.eciesPublicKey)
      for (const { requestId } of [...whileDown, privately]) await assignmentOf(requestId)
      const inputKey = await inputKeyOf(privately.requestId)
      const opened = decryptWithInputKey({
        envelope: sealed.envelope,
        inputKey,
        privateKey: enclaveKey,
        context: fixture.context,
      })
      expect(new TextDecoder().decode(opened)).toBe('kept across restarts')
      // The open request from before the restart is matched once an offer fits it.
      const cheaper = connect(devnet.reader, anvilAccount(6).account)
      await mintDevToken(cheaper, devnet.deployment.contracts.stakeToken, cheaper.wallet.account.address, STAKE)
      await register(cheaper, { capacity: 2 })
      await stake(cheaper, { amount: STAKE })
      await list(cheaper, { marketId: fixture.marketId, price: parseEther('5'), provingTime: PROVING_TIME })
      expect((await assignmentOf(waiting.requestId)).args.prover).toBe(cheaper.wallet.account.address)
      // One more round after everything: nothing assigned before the restart comes back.
      const after = await postRequest()
      await assignmentOf(after.requestId)
    } finally {
      await second.stop()
    }
    const all = [before, waiting, ...whileDown, privately]
    for (const { requestId } of all) expect(await assignmentsOf(requestId)).toHaveLength(1)
    // The restart re-attested the same key.
    const registrations = await devnet.reader.public.getContractEvents({
      address: fixture.prepared.attestation.contracts.teeRegistry,
      abi: teeRegistryAbi,
      eventName: 'KeyRegistered',
      args: { signer: first.address },
      fromBlock: devnet.deployment.deployBlock,
    })
    expect(registrations).toHaveLength(2)
    // Both registrations name the admitted operator that sent them.
    expect(registrations.map((e) => e.args.operator)).toEqual([SUBMITTER.account.address, SUBMITTER.account.address])
  })

  it('refuses to start for an operator governance has not admitted, naming the flag to fix; a removed one stops being a matcher', async () => {
    const { devnet, fixture } = current()
    const outsider = anvilAccount(8)
    const refused = await launch(freshKeyFile(), outsider.privateKey).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(MatcherOperatorError)
    const message = (refused as Error).message
    expect(message).toContain(`operator ${outsider.account.address} is not admitted for the Matcher role`)
    expect(message).toContain('--submitter-private-key (MATCHER_SUBMITTER_PRIVATE_KEY)')
    expect(message).not.toContain(outsider.privateKey.slice(2))

    // An admitted operator's matcher runs; once governance removes the operator, its key is no matcher any more.
    await withMatcher(freshKeyFile(), async (matcher) => {
      const tee = withAttestation(devnet.reader, fixture.prepared.attestation)
      expect(await isActiveKey(tee, { role: 'Matcher', signer: matcher.address })).toBe(true)
      await setOperatorAdmitted(withAttestation(devnet.actors.deployer, fixture.prepared.attestation), {
        role: 'Matcher',
        operator: SUBMITTER.account.address,
        admitted: false,
      })
      expect(await isActiveKey(tee, { role: 'Matcher', signer: matcher.address })).toBe(false)
      const matcherAuthority = await devnet.reader.public.readContract({
        address: fixture.prepared.attestation.contracts.teeRegistry,
        abi: teeRegistryAbi,
        functionName: 'isMatcher',
        args: [matcher.address],
      })
      expect(matcherAuthority).toBe(false)
    })
  })
})

describe('matcher config', () => {
  const required = {
    MATCHER_RPC_URL: 'http://127.0.0.1:8545',
    MATCHER_CHAIN_ID: '31337',
    MATCHER_KEY_FILE: '/tmp/matcher.json',
    MATCHER_SUBMITTER_PRIVATE_KEY: SUBMITTER.privateKey,
  }

  it('reads MATCHER_* variables, lets flags win, and applies defaults', () => {
    const config = loadConfig(['--max-batch', '7', '--attestation', 'dev', '--dev-pki-seed', 'seed'], {
      ...required,
      MATCHER_MAX_BATCH: '3',
      MATCHER_DEV_PKI_TIME: '1700000000',
      MATCHER_METRICS_PORT: '0',
      MATCHER_FROM_BLOCK: '12',
    })
    expect(config).toMatchObject({
      rpcUrl: 'http://127.0.0.1:8545',
      chainId: 31337,
      keyFile: '/tmp/matcher.json',
      maxBatch: 7,
      attestation: 'dev',
      devPkiSeed: 'seed',
      devPkiTime: 1_700_000_000,
      metricsPort: 0,
      fromBlock: 12n,
      signatureValidity: 120,
      pollInterval: 250,
      logLevel: 'info',
    })
    expect(loadConfig([], required).attestation).toBe('configfs')
  })

  it('reads inputs URIs within the prover runners’ default bounds, so a default prover loads what it assigns', () => {
    const matcher = loadConfig([], required)
    const prover = parseProverConfig({
      rpcUrl: required.MATCHER_RPC_URL,
      chainId: 31337,
      privateKey: SUBMITTER.privateKey,
      keyFile: '/tmp/prover.json',
      markets: [{ marketId: 1, backend: 'groth16', price: '1', provingTime: 60 }],
    })
    expect([matcher.maxInputBytes, matcher.fetchTimeout]).toEqual([prover.maxInputBytes, prover.fetchTimeout])
    expect([matcher.maxInputBytes, matcher.fetchTimeout]).toEqual([DEFAULT_MAX_INPUT_BYTES, DEFAULT_INPUT_TIMEOUT_MS])
    expect(loadConfig(['--max-input-bytes', '1024'], required).maxInputBytes).toBe(1024)
  })

  it('refuses a dev attestation without its PKI, bad keys and unknown flags', () => {
    expect(() => loadConfig(['--attestation', 'dev'], required)).toThrow(/--dev-pki-seed[\s\S]*--dev-pki-time/)
    expect(() => loadConfig([], { ...required, MATCHER_SUBMITTER_PRIVATE_KEY: '0x1234' })).toThrow(
      /--submitter-private-key \(or MATCHER_SUBMITTER_PRIVATE_KEY\)/,
    )
    expect(() => loadConfig(['--no-such-flag', '1'], required)).toThrow()
  })
})
