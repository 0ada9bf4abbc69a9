import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, constants, openSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import {
  type Address,
  concat,
  type Hash,
  type Hex,
  hexToBytes,
  keccak256,
  parseEther,
  sha256,
  slice,
  stringToBytes,
  toHex,
} from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import initWabt from 'wabt'
import { type ProverRunnerConfigInput, parseConfig } from '../enclave/prover/config.js'
import { type ProverRunner, startProverRunner } from '../enclave/prover/runner.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { devMeasurementOf } from '../ts/devnet/attestation.js'
import { deployTeeProofVerifier } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement, randomFieldElement } from '../ts/devnet/scenario.js'
import { advanceTime, type Devnet } from '../ts/devnet/stack.js'
import {
  type AttestationDeployment,
  allowMeasurement,
  chainTime,
  createMarket,
  createRequest,
  eciesPublicKeyOf,
  encryptPrivateInputs,
  generateEciesPrivateKey,
  getBalance,
  getListing,
  getProver,
  getProverEnclave,
  getRequestState,
  getStake,
  type InputKeyRelease,
  inlineInputs,
  mintDevToken,
  type PrivateInputsContext,
  proofMarketplaceAbi,
  type Request,
  type RequestParams,
  remoteInputs,
  rewrapForProver,
  signAssignments,
  slash,
  submitAssignments,
  type TeeReader,
  waitForProof,
  withAttestation,
  withListedTerms,
} from '../ts/index.js'
import { readPostedInputs } from '../ts/request-inputs.js'
import { entryPointArgs } from '../ts/root.js'
import { startAttestedDevnet } from './attested-devnet.js'
import { eventually } from './eventually.js'
import { startForgingRpc } from './forging-rpc.js'
import { serveLocally } from './local-server.js'
import { serveNeverLoadingInputs } from './never-loading-inputs.js'
import { MALFORMED_REQUEST_LINE, rawStatus } from './raw-http.js'
import { tableGrowerWat } from './table-grower.js'

const SEED = 'cairn prover runner test'
const STAKE = parseEther('1000')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
/** Proofs that finish close together wait this long for each other; the tests never get near it. */
const BATCH_WINDOW = 20_000

type Fixture = {
  devnet: Devnet
  attestation: AttestationDeployment
  attestationOut: string
  deploymentOut: string
  pkiTime: string
  groth16Market: bigint
  teeMarket: bigint
  keyDir: string
  prover: Address
  /** The matcher enclave's ECIES key, to which requesters encrypt private inputs. */
  matcherEcies: Hex
  /** The dev TD's measurement, allowed for prover keys in each market. */
  measurement: Hex
}

let fixture: Fixture | undefined
let runner: ProverRunner | undefined
let child: ChildProcess | undefined
const logLines: string[] = []

function current(): Fixture {
  if (!fixture) throw new Error('fixture not ready')
  return fixture
}

/**
 * One anvil with the marketplace and the attestation stack, dev collateral on chain, the marketplace pointed at the
 * TEE registry for invalid-input attestations, a Groth16 market (Poseidon preimage) and a TEE-WASM market (the
 * sha256_preimage program), and the dev TD's measurement allowed for prover keys in both. The prover account holds
 * stake tokens; everything else (registration, stake, listings, enclave keys) is the runner's job.
 */
beforeAll(async () => {
  const { devnet, pki, attestation, owner, deploymentOut, attestationOut } = await startAttestedDevnet(SEED)
  const { actors, deployment } = devnet

  const { marketId: groth16Market } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  const manifest = JSON.parse(await readFile(join(repoRoot, 'programs/manifest.json'), 'utf8'))
  const teeMarket = groth16Market + 1n
  const verifier = await deployTeeProofVerifier(actors.deployer, {
    registry: attestation.contracts.teeRegistry,
    marketId: teeMarket,
    programId: manifest.programs.sha256_preimage.programId,
  })
  const created = await createMarket(actors.deployer, groth16MarketParams(deployment, { verifier }))
  expect(created.marketId).toBe(teeMarket)

  const measurement = devMeasurementOf(pki)
  for (const marketId of [groth16Market, teeMarket]) {
    await allowMeasurement(owner, { role: 'Prover', marketId, measurement })
  }
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, STAKE)

  fixture = {
    devnet,
    attestation,
    attestationOut,
    deploymentOut,
    pkiTime: pki.now.toISOString(),
    groth16Market,
    teeMarket,
    keyDir: await mkdtemp(join(tmpdir(), 'cairn-prover-')),
    prover,
    matcherEcies: generateEciesPrivateKey(),
    measurement,
  }
})

afterAll(async () => {
  await runner?.stop()
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL')
    await once(child, 'exit')
  }
  if (!fixture) return
  await fixture.devnet.stop()
  await rm(join(repoRoot, fixture.attestationOut), { force: true })
  await rm(fixture.keyDir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function configInput(): ProverRunnerConfigInput {
  const f = current()
  const offer = { price: PRICE.toString(), provingTime: PROVING_TIME }
  return {
    rpcUrl: f.devnet.anvil.rpcUrl,
    chainId: foundry.id,
    deployment: join(repoRoot, f.deploymentOut),
    attestationDeployment: join(repoRoot, f.attestationOut),
    privateKey: anvilAccount(devRoles.prover).privateKey,
    keyFile: join(f.keyDir, 'keyring.json'),
    attestation: 'dev',
    devPkiSeed: SEED,
    devPkiTime: f.pkiTime,
    markets: [
      { marketId: Number(f.groth16Market), backend: 'groth16', groth16: 'poseidon-preimage', ...offer },
      { marketId: Number(f.teeMarket), backend: 'tee-wasm', teeWasm: 'sha256-preimage', ...offer },
    ],
    capacity: 4,
    stake: STAKE.toString(),
    metricsPort: 0,
    pollInterval: 100,
    batchWindow: BATCH_WINDOW,
    claimFallback: true,
    logLevel: 'info',
  }
}

async function startRunner(overrides: Partial<ProverRunnerConfigInput> = {}): Promise<ProverRunner> {
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) })
  runner = await startProverRunner(parseConfig({ ...configInput(), ...overrides }), { logger })
  return runner
}

async function stopRunner(): Promise<void> {
  await runner?.stop()
  runner = undefined
}

/** Waits until the request is settled on chain and the in-process runner (if any) is done with it. */
function settled(requestId: bigint, state: 'Fulfilled' | 'InputsRejected' = 'Fulfilled') {
  return eventually(`request ${requestId} ${state}`, async () => {
    if (runner?.tasks().includes(requestId)) return false
    return (await getRequestState(current().devnet.reader, requestId)) === state
  })
}

function teeReader(): TeeReader {
  return withAttestation(current().devnet.reader, current().attestation)
}

async function metric(url: string, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

async function post(params: Omit<RequestParams, 'marketId' | 'maxReward' | 'refundAddress'> & { marketId: bigint }) {
  const { actors, deployment } = current().devnet
  const requester = actors.requester.wallet.account.address
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD)
  return createRequest(actors.requester, {
    ...params,
    marketId: Number(params.marketId),
    maxReward: MAX_REWARD,
    refundAddress: requester,
  })
}

async function schedule(marketId: bigint, publicInputs: Hex) {
  const { devnet } = current()
  return preimageRequest({
    marketId,
    now: await chainTime(devnet.reader),
    publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: devnet.actors.requester.wallet.account.address,
    schedule: { provingTime: PROVING_TIME },
  })
}

/**
 * A public statement the sha256_preimage program proves without any private input: sha256 of the empty string.
 * `byUri` posts the public inputs behind a data: URI with their digest instead of inline.
 */
async function postPublicTeeRequest(options: { byUri?: boolean } = {}) {
  const f = current()
  const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
  const params = await schedule(f.teeMarket, publicInputs)
  if (options.byUri) {
    const uri = `data:application/octet-stream;base64,${Buffer.from(hexToBytes(publicInputs)).toString('base64')}`
    params.publicInputs = remoteInputs(uri, keccak256(publicInputs))
  }
  return post({ ...params, marketId: f.teeMarket })
}

/** A Poseidon-preimage request whose preimage travels encrypted to the matcher; `preimage` defaults to the right one. */
async function postPrivateRequest(options: { wrongPreimage?: boolean } = {}) {
  const f = current()
  const statement = await preimageStatement()
  const preimage = options.wrongPreimage ? statement.preimage + 1n : statement.preimage
  const context: PrivateInputsContext = {
    chainId: foundry.id,
    marketplace: f.devnet.deployment.contracts.proofMarketplace,
    marketId: f.groth16Market,
    requester: f.devnet.actors.requester.wallet.account.address,
    publicInputsDigest: keccak256(statement.publicInputs),
  }
  const { envelope, dataKey } = encryptPrivateInputs({
    plaintext: stringToBytes(JSON.stringify({ preimage: preimage.toString() })),
    context,
    recipients: [eciesPublicKeyOf(f.matcherEcies)],
  })
  const params = await schedule(f.groth16Market, statement.publicInputs)
  const created = await post({ ...params, marketId: f.groth16Market, privateInputs: inlineInputs(envelope) })
  return { ...created, envelope, context, dataKey }
}

/** The matcher's step: re-wrap the data key to the prover enclave's registered ECIES key. */
async function wrapForProver(request: { envelope: Hex; context: PrivateInputsContext }, proverEcies?: Hex) {
  const f = current()
  const key = proverEcies ?? (await getProverEnclave(teeReader(), request.context.marketId, f.prover))?.eciesPublicKey
  if (key === undefined) throw new Error('the prover has no enclave key')
  return rewrapForProver({
    envelope: request.envelope,
    matcherPrivateKey: f.matcherEcies,
    proverPublicKey: key,
    context: request.context,
  })
}

/** The matcher signs and anyone submits: one batch assigning every request to the prover. */
async function assign(requests: { requestId: bigint; request: Request; inputKey?: Hex }[]) {
  const { devnet, prover } = current()
  const batch = await signAssignments(devnet.actors.matcher, {
    assignments: await withListedTerms(
      devnet.reader,
      requests.map(({ requestId, request, inputKey }) => ({
        requestId,
        prover,
        request,
        ...(inputKey ? { inputKey } : {}),
      })),
    ),
    validUntil: (await chainTime(devnet.reader)) + 300n,
  })
  const outcome = await submitAssignments(devnet.actors.bystander, batch)
  expect(outcome.skipped).toEqual([])
  return outcome
}

/** Opens a FIFO's writing end without blocking, so a reader stuck opening it (today's code) is let go. */
function releaseFifoReaders(fifo: string): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
  } catch {
    // ENXIO: nobody is waiting to read it.
  }
}

async function settlementLogs(requestId: bigint) {
  const { reader, deployment } = current().devnet
  const contract = { address: deployment.contracts.proofMarketplace, abi: proofMarketplaceAbi } as const
  const range = { fromBlock: deployment.deployBlock, args: { requestId } } as const
  const [fulfilled, rejected, skipped] = await Promise.all([
    reader.public.getContractEvents({ ...contract, eventName: 'RequestFulfilled', ...range }),
    reader.public.getContractEvents({ ...contract, eventName: 'InputsRejected', ...range }),
    reader.public.getContractEvents({ ...contract, eventName: 'FulfilmentSkipped', ...range }),
  ])
  return { fulfilled, rejected, skipped }
}

// ---------------------------------------------------------------------------------------------------------------

describe('prover runner on anvil', () => {
  const settledIds: bigint[] = []

  it('registers, stakes, lists and attests an enclave key in every market, then reports ready', async () => {
    const f = current()
    const started = await startRunner()
    expect(started.address).toBe(f.prover)
    const { reader } = f.devnet
    expect(await getProver(reader, f.prover)).toMatchObject({ registered: true, capacity: 4 })
    expect((await getStake(reader, f.prover)).staked).toBe(STAKE)
    for (const marketId of [f.groth16Market, f.teeMarket]) {
      expect(await getListing(reader, f.prover, marketId)).toMatchObject({
        price: PRICE,
        provingTime: PROVING_TIME,
        computePerRequest: 1,
        state: 1,
      })
      const onChain = await getProverEnclave(teeReader(), marketId, f.prover)
      expect(onChain?.signer).toBe(started.enclaveKey(marketId)?.signer)
      expect(onChain?.eciesPublicKey).toBe(started.enclaveKey(marketId)?.eciesPublicKey)
    }
    const health = await fetch(`${started.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ ok: true, ready: true, breaker: 'closed' })
    // A request target that is no URL is bad input, answered 400: the runner keeps serving.
    expect(await rawStatus(started.url, MALFORMED_REQUEST_LINE)).toBe(400)
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${started.url}/metrics`)).status).toBe(200)
    const ready = logLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'ready')
    expect(ready).toMatchObject({ url: `${started.url}/metrics`, prover: f.prover })
    expect(await metric(started.url, 'cairn_prover_breaker_tripped')).toBe(0)
    expect(await metric(started.url, `cairn_prover_key_registrations_total{market="${f.groth16Market}"}`)).toBe(1)
  })

  it('proves a public request assigned by a matcher signature (TEE-WASM, signed by its attested key)', async () => {
    const created = await postPublicTeeRequest()
    await assign([created])
    await settled(created.requestId)
    settledIds.push(created.requestId)
    const { fulfilled } = await settlementLogs(created.requestId)
    expect(fulfilled).toHaveLength(1)
    expect(fulfilled[0]?.args).toMatchObject({ prover: current().prover, price: PRICE })
    const url = (runner as ProverRunner).url
    expect(await metric(url, 'cairn_prover_proofs_succeeded_total{backend="tee-wasm"}')).toBe(1)
    expect(await metric(url, 'cairn_prover_submissions_total{method="fulfil"}')).toBe(1)
  })

  it('decrypts private inputs with its enclave key and proves them, batching proofs ready together', async () => {
    const requests = [await postPrivateRequest(), await postPrivateRequest()]
    const wrapped = await Promise.all(
      requests.map(async (request) => ({ ...request, inputKey: await wrapForProver(request) })),
    )
    await assign(wrapped)
    for (const { requestId } of requests) await settled(requestId)
    settledIds.push(...requests.map(({ requestId }) => requestId))
    const logs = await Promise.all(requests.map(({ requestId }) => settlementLogs(requestId)))
    // Both proofs went out in one fulfilBatch.
    expect(logs[0]?.fulfilled[0]?.transactionHash).toBe(logs[1]?.fulfilled[0]?.transactionHash)
    const url = (runner as ProverRunner).url
    expect(await metric(url, 'cairn_prover_submissions_total{method="fulfilBatch"}')).toBe(1)
    expect(await metric(url, 'cairn_prover_proofs_succeeded_total{backend="groth16"}')).toBe(2)
  })

  it('attests private inputs that cannot be proven with rejectInputs, and is paid for the check', async () => {
    const f = current()
    const token = f.devnet.deployment.contracts.paymentToken
    const before = await getBalance(f.devnet.reader, f.prover, token)
    const request = await postPrivateRequest({ wrongPreimage: true })
    await assign([{ ...request, inputKey: await wrapForProver(request) }])
    await settled(request.requestId, 'InputsRejected')
    settledIds.push(request.requestId)
    expect(await getBalance(f.devnet.reader, f.prover, token)).toBe(before + PRICE)
    const { rejected } = await settlementLogs(request.requestId)
    expect(rejected[0]?.args).toMatchObject({ prover: f.prover, price: PRICE, refund: MAX_REWARD - PRICE })
    const url = (runner as ProverRunner).url
    expect(await metric(url, 'cairn_prover_invalid_inputs_rejections_total')).toBe(1)
    expect(await metric(url, 'cairn_prover_proofs_failed_total{backend="groth16",kind="invalid-inputs"}')).toBe(1)
  })

  it('attests a public request whose circuit needs a private witness as invalid inputs', async () => {
    const f = current()
    // Public inputs only: the Poseidon-preimage circuit cannot be proven from them by anyone.
    const statement = await preimageStatement()
    const created = await post({
      ...(await schedule(f.groth16Market, statement.publicInputs)),
      marketId: f.groth16Market,
    })
    await assign([created])
    await settled(created.requestId, 'InputsRejected')
    settledIds.push(created.requestId)
    expect(await metric((runner as ProverRunner).url, 'cairn_prover_invalid_inputs_rejections_total')).toBe(2)
  })

  it('claims a public request the matcher left unassigned past the fallback delay (inputs behind a URI)', async () => {
    const f = current()
    const created = await postPublicTeeRequest({ byUri: true })
    expect(created.publicInputs.data).toBe('0x')
    await advanceTime(f.devnet, 31)
    await settled(created.requestId)
    settledIds.push(created.requestId)
    const { fulfilled } = await settlementLogs(created.requestId)
    expect(fulfilled[0]?.args.prover).toBe(f.prover)
    expect(await metric((runner as ProverRunner).url, 'cairn_prover_fallback_claims_total')).toBe(1)
  })

  it('claims a private request with claimPrivate when no matcher acts; the waiting requester releases the key', async () => {
    const f = current()
    const request = await postPrivateRequest()
    const released: InputKeyRelease[] = []
    const releaseKey = {
      client: withAttestation(f.devnet.actors.requester, f.attestation),
      dataKey: request.dataKey,
      onKeyReleased: (release: InputKeyRelease) => void released.push(release),
    }
    const waiting = waitForProof(f.devnet.reader, request.requestId, { pollIntervalMs: 100, releaseKey })
    await advanceTime(f.devnet, 31)
    const proof = await waiting
    await settled(request.requestId)
    settledIds.push(request.requestId)
    expect(proof.prover).toBe(f.prover)
    expect(released.map(({ prover }) => prover)).toEqual([f.prover])
    expect(await metric((runner as ProverRunner).url, 'cairn_prover_fallback_claims_total')).toBe(2)
  })

  it('never claims a request whose public inputs can never load from their URI, and says why', async () => {
    const f = current()
    const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
    const digest = keccak256(publicInputs)
    const inputs = await serveNeverLoadingInputs(hexToBytes(publicInputs))
    onTestFinished(inputs.close)
    const postBehind = async (uri: string) => {
      const params = await schedule(f.teeMarket, publicInputs)
      return post({ ...params, publicInputs: remoteInputs(uri, digest), marketId: f.teeMarket })
    }
    const bad: { requestId: bigint; reason: string }[] = []
    for (const { reason, uri } of inputs.neverLoad) {
      bad.push({ requestId: (await postBehind(uri)).requestId, reason })
    }
    // Posted last and behind a URI that loads: claimed and proven, so the fallback went past the others.
    const good = await postBehind(inputs.loads)
    await advanceTime(f.devnet, 31)
    const stateOf = (requestId: bigint) => getRequestState(f.devnet.reader, requestId)
    const badIds = bad.map(({ requestId }) => requestId)
    await eventually('a claim', async () => {
      const states = await Promise.all([...badIds, good.requestId].map(stateOf))
      return states.some((state) => state !== 'Open')
    })
    for (const requestId of badIds) expect(await stateOf(requestId), `request ${requestId}`).toBe('Open')
    await settled(good.requestId)
    settledIds.push(good.requestId)
    // Each skipped once, for its own reason, as the runner logs it.
    const runnerLog = () =>
      logLines.map((line) => JSON.parse(line) as { msg: string; requestId?: string; reason?: string })
    const skips = () => runnerLog().filter((entry) => entry.msg === 'inputs can never load: not claimed')
    const aboutBad = () =>
      runnerLog()
        .filter((entry) => badIds.some((id) => entry.requestId === id.toString()))
        .map((entry) => JSON.stringify(entry))
        .join('\n')
    await eventually(
      'every request with inputs that can never load skipped, with its reason',
      async () => skips().length >= bad.length,
      { explain: () => `the runner's log about those requests:\n${aboutBad()}` },
    )
    const byId = (a: { requestId: bigint }, b: { requestId: bigint }) => Number(a.requestId - b.requestId)
    const skipped = skips().map(({ requestId, reason }) => ({ requestId: BigInt(requestId ?? -1), reason }))
    // A failure below says what the runner logged about the bad requests, so a CI log shows why.
    expect(skipped.sort(byId), aboutBad()).toEqual([...bad].sort(byId))
    const url = (runner as ProverRunner).url
    const skipCount = (reason: string) => `cairn_prover_fallback_skipped_total{reason="${reason}"}`
    const counts = await Promise.all(
      ['UnsupportedUri', 'DigestMismatch', 'TooLarge'].map((reason) => metric(url, skipCount(reason))),
    )
    expect(counts, aboutBad()).toEqual([1, 2, 1])
    // The two claims before (a public one, a private one) and this one.
    expect(await metric(url, 'cairn_prover_fallback_claims_total'), aboutBad()).toBe(3)
    for (const requestId of badIds) expect(await stateOf(requestId), aboutBad()).toBe('Open')
  }, 180_000) // reads a 16 MiB + 1 body per attempt: a loaded 2-core machine needs more than the default minute

  it('restarts (main.ts, as a child process) without submitting anything twice, and keeps its enclave keys', async () => {
    const f = current()
    const signerBefore = (runner as ProverRunner).enclaveKey(f.groth16Market)?.signer
    await stopRunner()
    // Assigned while the runner is down, wrapped to the key it registered before.
    const request = await postPrivateRequest()
    await assign([{ ...request, inputKey: await wrapForProver(request) }])

    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(configInput())) {
      const name = `PROVER_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
      env[name] = typeof value === 'string' ? value : JSON.stringify(value)
    }
    const started = spawn(process.execPath, entryPointArgs('enclave/prover/main.ts'), {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    const lines: Record<string, unknown>[] = []
    let stderr = ''
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    let buffered = ''
    started.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const complete = buffered.split('\n')
      buffered = complete.pop() ?? ''
      for (const line of complete) {
        try {
          lines.push(JSON.parse(line))
        } catch {
          stderr += `${line}\n`
        }
      }
    })
    const ready = await eventually('the child runner is ready', async () => {
      if (started.exitCode !== null) throw new Error(`runner exited ${started.exitCode}: ${stderr}`)
      return lines.find((line) => line.msg === 'ready')
    })
    const url = String(ready.url).replace(/\/metrics$/, '')
    await settled(request.requestId)
    await eventually(
      'the child runner counts its fulfilment',
      async () => (await metric(url, 'cairn_prover_fulfilments_total{outcome="fulfilled"}')) === 1,
    )

    // Only the new task was submitted: the settled ones were seen as settled and never proven again.
    expect(await metric(url, 'cairn_prover_fulfilments_total{outcome="fulfilled"}')).toBe(1)
    expect(await metric(url, 'cairn_prover_proofs_started_total{backend="groth16"}')).toBe(1)
    expect(await metric(url, 'cairn_prover_proofs_started_total{backend="tee-wasm"}')).toBeUndefined()
    // The keyring survived: no new registration, the same key on chain, and it opened the input key.
    expect(await metric(url, `cairn_prover_key_registrations_total{market="${f.groth16Market}"}`)).toBeUndefined()
    expect((await getProverEnclave(teeReader(), f.groth16Market, f.prover))?.signer).toBe(signerBefore)
    for (const requestId of [...settledIds, request.requestId]) {
      const { fulfilled, rejected, skipped } = await settlementLogs(requestId)
      expect(fulfilled.length + rejected.length).toBe(1)
      expect(skipped).toEqual([])
    }

    started.kill('SIGTERM')
    const [code] = await once(started, 'exit')
    expect(code).toBe(0)
    expect(lines.some((line) => line.msg === 'stopped')).toBe(true)
    child = undefined
    // Stopped gracefully, it paused its listings (and said so): no task is assigned to a prover that is away.
    const listingStates = async () =>
      Promise.all(
        [f.groth16Market, f.teeMarket].map(async (id) => (await getListing(f.devnet.reader, f.prover, id)).state),
      )
    expect(lines.some((line) => String(line.msg).startsWith('listings paused while stopped'))).toBe(true)
    expect(await listingStates()).toEqual([2, 2])
    // The next start resumes them, from chain state alone.
    await startRunner()
    expect(await listingStates()).toEqual([1, 1])
    await stopRunner()
  })

  it('rotates its enclave key before expiry and still opens inputs wrapped to the previous key', async () => {
    const f = current()
    const started = await startRunner()
    const old = started.enclaveKey(f.groth16Market)
    if (!old) throw new Error('no key')
    // Two thirds of the registry's hour of validity.
    await advanceTime(f.devnet, 2_450)
    const rotated = await eventually('a rotated key, on chain and in the keyring', async () => {
      const onChain = await getProverEnclave(teeReader(), f.groth16Market, f.prover)
      const held = started.enclaveKey(f.groth16Market)
      return onChain && onChain.signer !== old.signer && held?.signer === onChain.signer ? onChain : undefined
    })
    expect(rotated.eciesPublicKey).not.toBe(old.eciesPublicKey)
    // A matcher that read the previous key just before the rotation.
    const request = await postPrivateRequest()
    await assign([{ ...request, inputKey: await wrapForProver(request, old.eciesPublicKey) }])
    await settled(request.requestId)
  })

  it('gives up, without attesting invalid inputs, private inputs its enclave cannot open', async () => {
    const f = current()
    const request = await postPrivateRequest()
    // A matcher that wrapped the data key to some other enclave's key.
    const stranger = eciesPublicKeyOf(generateEciesPrivateKey())
    await assign([{ ...request, inputKey: await wrapForProver(request, stranger) }])
    const url = (runner as ProverRunner).url
    await eventually('the task given up as undecryptable', async () =>
      (await metric(url, 'cairn_prover_tasks_failed_total{reason="undecryptable"}')) === 1 ? true : undefined,
    )
    expect(runner?.tasks()).not.toContain(request.requestId)
    expect(await getRequestState(f.devnet.reader, request.requestId)).toBe('Assigned')
    expect((await settlementLogs(request.requestId)).rejected).toEqual([])
  })

  it('does not open an envelope copied into another request, even with its data key released', async () => {
    const f = current()
    const { actors, deployment, reader } = f.devnet
    const victim = await postPrivateRequest()
    // The attacker posts the victim's public envelope under the same Poseidon digest with its own context.
    const statement = await preimageStatement()
    const attacker = actors.bystander
    const own = preimageRequest({
      marketId: f.groth16Market,
      now: await chainTime(reader),
      publicInputs: concat([slice(victim.publicInputs.data, 0, 32), slice(statement.publicInputs, 32)]),
      maxReward: MAX_REWARD,
      refundAddress: attacker.wallet.account.address,
      schedule: { provingTime: PROVING_TIME },
    })
    await mintDevToken(attacker, deployment.contracts.paymentToken, attacker.wallet.account.address, MAX_REWARD)
    const copy = await createRequest(attacker, { ...own, privateInputs: inlineInputs(victim.envelope) })
    // A matcher that skipped its check of the request and released the victim's data key for the copy.
    await assign([{ ...copy, inputKey: await wrapForProver(victim) }])
    const url = (runner as ProverRunner).url
    const undecryptable = 'cairn_prover_tasks_failed_total{reason="undecryptable"}'
    await eventually('the copy given up, or settled', async () => {
      if ((await getRequestState(reader, copy.requestId)) !== 'Assigned') return true
      return (await metric(url, undecryptable)) === 2
    })
    // The enclave rebuilt the request from its own fields: the victim's secret was never proven for the attacker.
    expect(await getRequestState(reader, copy.requestId)).toBe('Assigned')
    expect(await settlementLogs(copy.requestId)).toMatchObject({ fulfilled: [], rejected: [] })
    expect(await metric(url, undecryptable)).toBe(2)
  })

  it('trips its breaker on a slash, leaves its markets until POST /reset, and stays tripped across restarts', async () => {
    const f = current()
    const { devnet } = f
    await stopRunner()
    // Assigned while it is down, and down past the deadline: slashed.
    const created = await postPublicTeeRequest()
    const [task] = (await assign([created])).assigned
    if (!task) throw new Error('not assigned')
    await advanceTime(devnet, PROVING_TIME + 1)
    await slash(devnet.actors.bystander, task)

    const leaving = async () =>
      Promise.all(
        [f.groth16Market, f.teeMarket].map(async (id) => (await getListing(devnet.reader, f.prover, id)).state),
      )
    let started = await startRunner()
    expect(started.breaker()).toEqual({ tripped: true, requestId: created.requestId })
    expect(await leaving()).toEqual([2, 2])
    expect((await fetch(`${started.url}/healthz`)).status).toBe(503)
    expect(await metric(started.url, 'cairn_prover_breaker_tripped')).toBe(1)

    await stopRunner()
    started = await startRunner()
    expect(started.breaker().tripped).toBe(true)
    expect(await leaving()).toEqual([2, 2])
    expect(await fetch(`${started.url}/reset`).then((response) => response.status)).toBe(405)

    // An operator action: refused without the operator's token, with a wrong one, and from any browser page.
    const post = (headers: Record<string, string>) => fetch(`${started.url}/reset`, { method: 'POST', headers })
    expect((await post({})).status).toBe(401)
    const token = (await readFile(started.operatorTokenFile, 'utf8')).trim()
    expect((await stat(started.operatorTokenFile)).mode & 0o777).toBe(0o600)
    expect((await post({ authorization: `Bearer ${'0'.repeat(token.length)}` })).status).toBe(401)
    expect((await post({ authorization: `Bearer ${token}`, origin: 'http://evil.example' })).status).toBe(403)
    expect(started.breaker().tripped).toBe(true)
    expect(await leaving()).toEqual([2, 2])

    const reset = await post({ authorization: `Bearer ${token}` })
    expect(reset.status).toBe(200)
    expect(await reset.json()).toEqual({ breaker: 'closed', wasTripped: true })
    expect(await leaving()).toEqual([1, 1])
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200)
    expect(await metric(started.url, 'cairn_prover_breaker_tripped')).toBe(0)
    expect(started.breaker()).toEqual({ tripped: false })
  })
})

/** The hashes and nonces of `account`'s transactions in anvil's pool. */
async function pooled(account: Address): Promise<{ hash: Hash; nonce: number }[]> {
  const { pending, queued } = await current().devnet.test.getTxpoolContent()
  return [pending, queued].flatMap((pool) =>
    Object.entries(pool)
      .filter(([address]) => address.toLowerCase() === account.toLowerCase())
      .flatMap(([, byNonce]) => Object.values(byNonce).map((tx) => ({ hash: tx.hash, nonce: Number(tx.nonce) }))),
  )
}

/** With automine off: assigns `requests` in one block mined once the assignment reaches the pool. */
async function assignInOneBlock(requests: Parameters<typeof assign>[0]) {
  const { devnet } = current()
  let mined = false
  const assigning = assign(requests).finally(() => {
    mined = true
  })
  await eventually('the assignment in the pool', async () => {
    return mined || (await pooled(devnet.actors.bystander.wallet.account.address)).length > 0
  })
  if (!mined) await devnet.test.mine({ blocks: 1 })
  return assigning
}

/** Turns automine off for this test; blocks come when the test mines them, or on the interval it sets. */
async function manualMining(): Promise<void> {
  const { test } = current().devnet
  await test.setAutomine(false)
  onTestFinished(async () => {
    await test.setIntervalMining({ interval: 0 })
    await test.setAutomine(true)
  })
}

describe('prover runner through dropped transactions and reorgs', () => {
  it('sends a dropped fulfil transaction again under its nonce and settles every task before its deadline', async () => {
    const f = current()
    const { devnet } = f
    await stopRunner()
    await startRunner()
    // Two: earlier tests left two tasks the runner gave up on holding half of its capacity of four.
    const requests = [await postPublicTeeRequest(), await postPublicTeeRequest()]
    await manualMining()
    const { assigned } = await assignInOneBlock(requests)
    // The runner's settlement reaches the pool and vanishes from it, as after a rollback or an eviction.
    const dropped = await eventually('a settlement of the runner in the pool', async () => {
      const txs = await pooled(f.prover)
      return txs.length > 0 ? txs : undefined
    })
    for (const { hash } of dropped) await devnet.test.dropTransaction({ hash })
    await devnet.test.setIntervalMining({ interval: 1 })

    for (const { requestId } of requests) await settled(requestId)
    const fulfilments = (await Promise.all(requests.map(({ requestId }) => settlementLogs(requestId)))).map(
      ({ fulfilled }) => fulfilled[0],
    )
    for (const [i, log] of fulfilments.entries()) {
      const requestId = requests[i]?.requestId
      if (!log) throw new Error(`request ${requestId} has no RequestFulfilled log`)
      const deadline = assigned.find((task) => task.requestId === requestId)?.task.deadline
      const block = await devnet.reader.public.getBlock({ blockNumber: log.blockNumber })
      expect(block.timestamp).toBeLessThanOrEqual(BigInt(deadline ?? 0))
    }
    // Sent again under the dropped nonce (and higher fees, so under a new hash), not under a fresh one.
    const landed = await Promise.all(
      fulfilments.map((log) => devnet.reader.public.getTransaction({ hash: log?.transactionHash as Hash })),
    )
    const first = dropped[0] as { hash: Hash; nonce: number }
    const resend = landed.find((tx) => tx.nonce === first.nonce)
    expect(resend?.from.toLowerCase()).toBe(f.prover.toLowerCase())
    expect(dropped.map(({ hash }) => hash)).not.toContain(resend?.hash)
  })

  it('rewinds past a reorg: gives up a task whose assignment vanished and takes the one assigned instead', async () => {
    const f = current()
    const { devnet } = f
    const started = runner ?? (await startRunner())
    const vanishing = await postPublicTeeRequest()
    const replacing = await postPublicTeeRequest()
    const snapshot = await devnet.test.snapshot()
    await manualMining()
    await assignInOneBlock([vanishing])
    await eventually('the runner working on the task', async () =>
      (runner as ProverRunner).tasks().includes(vanishing.requestId),
    )
    await eventually('its settlement in the pool', async () => (await pooled(f.prover)).length > 0)
    // A rollback: the block assigning the task is replaced by one assigning another request, at the same height.
    for (const { hash } of await pooled(f.prover)) await devnet.test.dropTransaction({ hash })
    await devnet.test.revert({ id: snapshot })
    await assignInOneBlock([replacing])
    await devnet.test.setIntervalMining({ interval: 1 })

    // The new chain's assignment sits at a height the runner had scanned before the rollback.
    await eventually('the runner taking the task assigned instead', async () => {
      if (started.tasks().includes(replacing.requestId)) return true
      return (await getRequestState(devnet.reader, replacing.requestId)) === 'Fulfilled'
    })
    await settled(replacing.requestId)
    const url = started.url
    await eventually('the vanished task given up', async () =>
      (await metric(url, 'cairn_prover_tasks_failed_total{reason="reorged-out"}')) === 1 ? true : undefined,
    )
    expect(started.tasks()).not.toContain(vanishing.requestId)
    expect(await getRequestState(devnet.reader, vanishing.requestId)).toBe('Open')
    expect((await settlementLogs(vanishing.requestId)).fulfilled).toEqual([])
  })

  it('forgets inputs it read for a request a reorg took away: the request that replaces its id is proven from its own', async () => {
    const f = current()
    const { devnet } = f
    const started = runner ?? (await startRunner())
    const statementOf = () => concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
    const lost = statementOf()
    const replacing = statementOf()
    // The lost request's inputs are still on their way when the reorg lands, and arrive after it.
    let release: () => void = () => undefined
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let lostReads = 0
    const inputs = await serveLocally((request, response) => {
      if (request.url === '/replacing') return void response.end(hexToBytes(replacing))
      if (request.url !== '/lost') return void response.writeHead(404).end()
      lostReads++
      void released.then(() => response.end(hexToBytes(lost)))
    })
    onTestFinished(() => {
      release()
      inputs.close()
    })
    const postBehind = async (statement: Hex, path: string) => {
      const params = await schedule(f.teeMarket, statement)
      const publicInputs = remoteInputs(`${inputs.base}${path}`, keccak256(statement))
      return post({ ...params, publicInputs, marketId: f.teeMarket })
    }
    const snapshot = await devnet.test.snapshot()
    const gone = await postBehind(lost, '/lost')
    await advanceTime(devnet, 31)
    await eventually('the runner reading the inputs of the request about to be lost', async () => lostReads > 0)
    await devnet.test.revert({ id: snapshot })
    const created = await postBehind(replacing, '/replacing')
    expect(created.requestId).toBe(gone.requestId)
    await advanceTime(devnet, 31)
    release()
    await settled(created.requestId)
    const { fulfilled } = await settlementLogs(created.requestId)
    expect(fulfilled.map(({ args }) => args.prover)).toEqual([f.prover])
    expect(started.tasks()).not.toContain(created.requestId)
    // Claimed and proven from its own inputs at the first attempt: never from the lost request's bytes.
    const givenUp = logLines
      .map((line) => JSON.parse(line) as { msg: string; requestId?: string; reason?: string })
      .filter((entry) => entry.msg === 'task given up' && entry.requestId === created.requestId.toString())
    expect(givenUp).toEqual([])
  })
})

describe('a host that forges the chain it shows the enclave', () => {
  it('attests no invalid inputs for bytes that are not the request’s: a forged log before rejectInputs', async () => {
    const f = current()
    const { reader, deployment } = f.devnet
    await stopRunner()
    // A provable public request; the runner's host shows it garbage inputs under the real request record.
    const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
    const garbage = concat([toHex(randomFieldElement(), { size: 32 }), keccak256(stringToBytes('garbage'))])
    const rpc = await startForgingRpc({
      upstream: f.devnet.anvil.rpcUrl,
      marketplace: deployment.contracts.proofMarketplace,
      forge: (posted) => (posted.data === publicInputs ? inlineInputs(garbage) : undefined),
    })
    try {
      const started = await startRunner({ rpcUrl: rpc.url })
      const token = deployment.contracts.paymentToken
      const before = await getBalance(reader, f.prover, token)
      const created = await post({ ...(await schedule(f.teeMarket, publicInputs)), marketId: f.teeMarket })
      await assign([created])
      const refused = 'cairn_prover_tasks_failed_total{reason="inconsistent-task"}'
      await eventually('the task refused, or settled', async () => {
        if ((await getRequestState(reader, created.requestId)) !== 'Assigned') return true
        return (await metric(started.url, refused)) === 1
      })
      expect(rpc.forged()).toBeGreaterThan(0)
      // No attestation for a digest the enclave did not compute: the request stays assigned, the prover unpaid.
      expect(await getRequestState(reader, created.requestId)).toBe('Assigned')
      expect((await settlementLogs(created.requestId)).rejected).toEqual([])
      expect(await getBalance(reader, f.prover, token)).toBe(before)
      expect(await metric(started.url, refused)).toBe(1)
      expect(await metric(started.url, 'cairn_prover_invalid_inputs_rejections_total')).toBe(0)
    } finally {
      await stopRunner()
      await rpc.close()
    }
  })
})

/**
 * A TEE-WASM market whose program grows 64 externref tables to V8's cap of 10M elements each (~165 MB of heap per
 * table) on every run, and never outputs anything: its module file, and the market with a TeeProofVerifier for it.
 */
async function createTableGrowingMarket(): Promise<{ marketId: bigint; module: string }> {
  const f = current()
  const { actors, deployment } = f.devnet
  const wabt = await initWabt()
  const parsed = wabt.parseWat('grower.wat', tableGrowerWat(64, '10000000'))
  const bytes = parsed.toBinary({}).buffer
  parsed.destroy()
  const module = join(f.keyDir, 'table-grower.wasm')
  await writeFile(module, bytes)
  const marketId = f.teeMarket + 1n
  const verifier = await deployTeeProofVerifier(actors.deployer, {
    registry: f.attestation.contracts.teeRegistry,
    marketId,
    programId: sha256(bytes),
  })
  const created = await createMarket(actors.deployer, groth16MarketParams(deployment, { verifier }))
  expect(created.marketId).toBe(marketId)
  const owner = withAttestation(actors.deployer, f.attestation)
  await allowMeasurement(owner, { role: 'Prover', marketId, measurement: f.measurement })
  return { marketId, module }
}

describe('prover runner with a program that exhausts its sandbox', () => {
  it('ends the run with a limit error and keeps proving in its other markets', async () => {
    await stopRunner()
    const grower = await createTableGrowingMarket()
    const input = configInput()
    input.markets = [
      ...(input.markets ?? []),
      {
        marketId: Number(grower.marketId),
        backend: 'tee-wasm',
        // Tables allowed up to V8's cap: only the sandbox's heap limit stops this program.
        teeWasm: { module: grower.module, maxTableElements: 640_000_000, maxHeapMiB: 64, timeoutMs: 60_000 },
        price: PRICE.toString(),
        provingTime: PROVING_TIME,
      },
    ]
    const started = await startRunner(input)
    const doomed = await post({
      ...(await schedule(grower.marketId, toHex(randomFieldElement(), { size: 32 }))),
      marketId: grower.marketId,
    })
    await assign([doomed])
    // The heap limit ends the run (its time limit is a minute away), and the runner treats it as a limit.
    const retry = await eventually('a heap limit error from the table-growing program', async () =>
      logLines
        .map((line) => JSON.parse(line))
        .find((entry) => entry.msg === 'proof attempt failed; retrying' && entry.requestId === `${doomed.requestId}`),
    )
    expect(retry).toMatchObject({
      kind: 'limit-exceeded',
      err: { message: expect.stringMatching(/heap limit of 64 MiB/) },
    })
    // The runner lives on: it proves in its other markets and still holds the task (retried, never attested).
    const created = await postPublicTeeRequest()
    await assign([created])
    await settled(created.requestId)
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200)
    expect(started.tasks()).toContain(doomed.requestId)
    expect((await settlementLogs(doomed.requestId)).rejected).toEqual([])
  })
})

describe('request inputs behind a URI', () => {
  const bytes = stringToBytes('inputs stored off-chain')
  const digest = keccak256(bytes)
  const options = { maxBytes: 1_024, timeoutMs: 5_000, allowFileUris: true }

  it('reads data:, file:// and http:// URIs and checks the digest', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cairn-inputs-'))
    const path = join(directory, 'inputs.bin')
    await writeFile(path, bytes)
    const server = createServer((_, response) => response.end(bytes))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    try {
      const uris = [
        `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`,
        pathToFileURL(path).href,
        `http://127.0.0.1:${port}/inputs.bin`,
      ]
      for (const uri of uris) expect(await readPostedInputs(remoteInputs(uri, digest), options)).toEqual(bytes)
      // Bytes that are not the committed ones never reach a backend.
      const wrong = readPostedInputs(remoteInputs(uris[2] as string, keccak256('0x01')), options)
      await expect(wrong).rejects.toMatchObject({ name: 'InputsUnavailableError', permanent: false })
      const tooLarge = readPostedInputs(remoteInputs(uris[2] as string, digest), { ...options, maxBytes: 4 })
      await expect(tooLarge).rejects.toMatchObject({ name: 'InputsUnavailableError', permanent: true })
    } finally {
      server.close()
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('fails fast and for good on file:///dev/zero, a FIFO, and on file: URIs unless they are enabled', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cairn-inputs-'))
    const fifo = join(directory, 'inputs.fifo')
    execFileSync('mkfifo', [fifo])
    onTestFinished(async () => {
      releaseFifoReaders(fifo)
      await rm(directory, { recursive: true, force: true })
    })
    for (const uri of ['file:///dev/zero', pathToFileURL(fifo).href]) {
      const error = await readPostedInputs(remoteInputs(uri, digest), options).catch((e: unknown) => e)
      expect(error).toMatchObject({ name: 'InputsUnavailableError', permanent: true })
      expect((error as Error).message).toMatch(/is not a regular file/)
      expect((error as Error).message).toContain(uri)
    }
    const path = join(directory, 'inputs.bin')
    await writeFile(path, bytes)
    const disabled = await readPostedInputs(remoteInputs(pathToFileURL(path).href, digest), {
      ...options,
      allowFileUris: false,
    }).catch((e: unknown) => e)
    expect(disabled).toMatchObject({ name: 'InputsUnavailableError', permanent: true })
    expect((disabled as Error).message).toMatch(/--allow-file-uris/)
  }, 10_000)

  it('refuses schemes it cannot fetch for good, and treats a missing file as something to retry', async () => {
    await expect(readPostedInputs(remoteInputs('ipfs://bafy', digest), options)).rejects.toMatchObject({
      permanent: true,
    })
    await expect(
      readPostedInputs(remoteInputs(pathToFileURL(join(tmpdir(), 'cairn-no-such-inputs')).href, digest), options),
    ).rejects.toMatchObject({ permanent: false })
    expect(await readPostedInputs(inlineInputs('0x1234'), options)).toEqual(hexToBytes('0x1234'))
  })
})
