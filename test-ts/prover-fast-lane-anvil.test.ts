// The fast lane on anvil: a tiny matcher (a local HTTP server serving offers signed with a matcher key the test
// authorises) hands fast assignments of real signed requests to a real prover runner, which proves them (TEE-WASM:
// the only public-input statements the dev backends can prove; the Groth16 preimage circuit needs a private witness,
// which the fast lane never carries) and fulfils them with fulfilSigned / fulfilSignedBatch; the requester's
// waitForProof and signedRequestState report them fulfilled with the proof. It also serves an open offer of a
// createRequest'ed public request (no matcher assigns it here, so it stays Open), which the runner settles with
// fulfilOpen. The SDK's fulfilSigned is also driven directly with a real Groth16 proof, for its named errors.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { type Address, concat, type Hex, parseEther, sha256, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProverRunnerConfigInput, parseConfig } from '../enclave/prover/config.js'
import { type ProverRunner, startProverRunner } from '../enclave/prover/runner.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { devMeasurementOf } from '../ts/devnet/attestation.js'
import { deployTeeProofVerifier } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement, randomFieldElement } from '../ts/devnet/scenario.js'
import type { Devnet } from '../ts/devnet/stack.js'
import { provePoseidonPreimage } from '../ts/groth16.js'
import {
  type AttestationDeployment,
  allowMeasurement,
  type CairnClient,
  chainTime,
  createMarket,
  createRequest,
  deposit,
  encodeFastAssignments,
  type FastAssignmentOffer,
  fastAssignmentTypedData,
  fulfilSigned,
  fulfilSignedBatch,
  getBalance,
  mintDevToken,
  type OpenOffer,
  ownedMatcherAuthorityAbi,
  register,
  type SignedRequestWithSignature,
  signedRequestState,
  signRequest,
  waitForProof,
  write,
} from '../ts/index.js'
import { startAttestedDevnet } from './attested-devnet.js'
import { eventually } from './eventually.js'
import { type LocalServer, serveLocally } from './local-server.js'

const SEED = 'cairn fast lane test'
const STAKE = parseEther('1000')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
const BATCH_WINDOW = 20_000

type Fixture = {
  devnet: Devnet
  attestationOut: string
  deploymentOut: string
  attestation: AttestationDeployment
  pkiTime: string
  groth16Market: bigint
  teeMarket: bigint
  keyDir: string
  /** The matcher key the test authorised: it signs the fast assignments. */
  matcher: ReturnType<typeof privateKeyToAccount>
  /** What the tiny matcher serves, by prover. */
  offers: Map<string, FastAssignmentOffer[]>
  /** Its offers of on-chain requests, by prover. */
  openOffers: Map<string, OpenOffer[]>
  server: LocalServer
}

let fixture: Fixture | undefined
let runner: ProverRunner | undefined

function current(): Fixture {
  if (!fixture) throw new Error('fixture not ready')
  return fixture
}

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
  await createMarket(actors.deployer, groth16MarketParams(deployment, { verifier }))
  await allowMeasurement(owner, { role: 'Prover', marketId: teeMarket, measurement: devMeasurementOf(pki) })
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, actors.prover.wallet.account.address, STAKE)

  // The matcher: a fresh key, authorised by the authority's owner.
  const matcher = privateKeyToAccount(generatePrivateKey())
  await write(actors.deployer, {
    address: deployment.contracts.matcherAuthority,
    abi: ownedMatcherAuthorityAbi,
    functionName: 'setMatcher',
    args: [matcher.address, true],
  })
  // The requester's deposit, which fast fulfilments are paid from.
  const requester = actors.requester.wallet.account.address
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD * 10n)
  await deposit(actors.requester, deployment.contracts.paymentToken, MAX_REWARD * 10n)
  // Another prover for the SDK's own fulfilSigned calls, so they never race the runner's nonces.
  await register(actors.bystander, { capacity: 1 })

  const offers = new Map<string, FastAssignmentOffer[]>()
  const openOffers = new Map<string, OpenOffer[]>()
  const server = await serveLocally((req, res) => {
    const match = /^\/provers\/(0x[0-9a-fA-F]{40})\/fast-assignments$/.exec(req.url ?? '')
    if (req.method !== 'GET' || match === null) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'NotFound', message: 'no such endpoint' } }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    const prover = (match[1] as string).toLowerCase()
    res.end(encodeFastAssignments(offers.get(prover) ?? [], openOffers.get(prover) ?? []))
  })

  fixture = {
    devnet,
    attestation,
    attestationOut,
    deploymentOut,
    pkiTime: pki.now.toISOString(),
    groth16Market,
    teeMarket,
    keyDir: await mkdtemp(join(tmpdir(), 'cairn-fast-')),
    matcher,
    offers,
    openOffers,
    server,
  }
  // Two forge deployments (marketplace, attestation) take most of it, minutes on a loaded machine.
}, 600_000)

afterAll(async () => {
  await runner?.stop()
  if (!fixture) return
  fixture.server.close()
  await fixture.devnet.stop()
  await rm(join(repoRoot, fixture.attestationOut), { force: true })
  await rm(fixture.keyDir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------------------------
// Helpers

async function startRunner(overrides: Partial<ProverRunnerConfigInput> = {}): Promise<ProverRunner> {
  const f = current()
  const input: ProverRunnerConfigInput = {
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
      {
        marketId: Number(f.teeMarket),
        backend: 'tee-wasm',
        teeWasm: 'sha256-preimage',
        price: PRICE.toString(),
        provingTime: 60,
      },
    ],
    capacity: 4,
    stake: STAKE.toString(),
    metricsPort: 0,
    pollInterval: 100,
    batchWindow: BATCH_WINDOW,
    matcherUrl: f.server.base,
    fastPollMs: 100,
    logLevel: 'warn',
    ...overrides,
  }
  runner = await startProverRunner(parseConfig(input), { logger: pino({ level: 'warn' }) })
  return runner
}

/** A signed request of the requester's: sha256 of the empty string, a public statement the TEE program proves. */
async function signTeeRequest(): Promise<SignedRequestWithSignature> {
  const f = current()
  const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
  return signRequest(f.devnet.actors.requester, await schedule(f.teeMarket, publicInputs))
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

/** The matcher's fast assignment of `signed` to `prover`, signed with the authorised matcher key. */
async function fastOffer(
  signed: SignedRequestWithSignature,
  prover: Address,
  options: { validFor?: bigint; price?: bigint } = {},
): Promise<FastAssignmentOffer> {
  const f = current()
  const validUntil = (await chainTime(f.devnet.reader)) + (options.validFor ?? 300n)
  const assignment = { requestId: signed.requestId, prover, price: options.price ?? PRICE, validUntil }
  const matcherSignature = await f.matcher.signTypedData(fastAssignmentTypedData(f.devnet.deployment, assignment))
  return { ...assignment, request: signed.request, signature: signed.signature, matcherSignature }
}

/** The matcher's fast assignment of the Open on-chain request `created` to `prover`. */
async function openOffer(
  created: { requestId: bigint; request: OpenOffer['record'] },
  prover: Address,
): Promise<OpenOffer> {
  const f = current()
  const validUntil = (await chainTime(f.devnet.reader)) + 300n
  const assignment = { requestId: created.requestId, prover, price: PRICE, validUntil }
  const matcherSignature = await f.matcher.signTypedData(fastAssignmentTypedData(f.devnet.deployment, assignment))
  return { ...assignment, record: created.request, matcherSignature }
}

function serveOpen(prover: Address, offers: OpenOffer[]): void {
  current().openOffers.set(prover.toLowerCase(), offers)
}

function serve(prover: Address, offers: FastAssignmentOffer[]): void {
  current().offers.set(prover.toLowerCase(), offers)
}

async function metric(url: string, line: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `))
  return found === undefined ? 0 : Number(found.slice(line.length + 1))
}

function paymentBalance(account: Address): Promise<bigint> {
  const { devnet } = current()
  return getBalance(devnet.reader, account, devnet.deployment.contracts.paymentToken)
}

// ---------------------------------------------------------------------------------------------------------------

describe('the runner’s fast lane', () => {
  it('proves fast assignments served by the matcher and fulfils them in one fulfilSignedBatch; the requester’s wait returns the proofs', async () => {
    const f = current()
    const { reader, actors } = f.devnet
    const fromBlock = await reader.public.getBlockNumber()
    const started = await startRunner()
    const [one, two] = [await signTeeRequest(), await signTeeRequest()]
    const requester = actors.requester.wallet.account.address
    const before = { requester: await paymentBalance(requester), prover: await paymentBalance(started.address) }

    const waits = [one, two].map((signed) =>
      waitForProof(reader, signed.requestId, { signed: { signed }, fromBlock, timeoutMs: 50_000, pollIntervalMs: 100 }),
    )
    serve(started.address, [await fastOffer(one, started.address), await fastOffer(two, started.address)])
    const [proofOne, proofTwo] = await Promise.all(waits)

    for (const [signed, proof] of [
      [one, proofOne],
      [two, proofTwo],
    ] as const) {
      expect(proof).toMatchObject({
        lane: 'fast',
        requestId: signed.requestId,
        prover: started.address,
        price: PRICE,
        refund: 0n,
        publicInputs: signed.request.publicInputs.data,
        signed: { request: signed.request },
      })
      expect(proof?.proof.length).toBeGreaterThan(2)
      const state = await signedRequestState(reader, signed.request, { fromBlock })
      expect(state).toMatchObject({
        state: 'fulfilled',
        fulfilment: { prover: started.address, price: PRICE, transactionHash: proof?.transactionHash },
      })
    }
    // Ready together: one transaction.
    expect(proofOne?.transactionHash).toBe(proofTwo?.transactionHash)
    expect(await metric(started.url, 'cairn_prover_submissions_total{method="fulfilSignedBatch"}')).toBe(1)
    expect(await metric(started.url, 'cairn_prover_fast_offers_fulfilled_total')).toBe(2)
    expect(await metric(started.url, 'cairn_prover_fast_offers_proved_total')).toBe(2)
    expect(await paymentBalance(requester)).toBe(before.requester - 2n * PRICE)
    expect(await paymentBalance(started.address)).toBe(before.prover + 2n * PRICE)
    // Still served by the matcher (it has not seen the use yet): skipped by the spent nonces, never sent again.
    await eventually('the offers polled again', async () => started.fastOffers().length === 0)
    expect(await metric(started.url, 'cairn_prover_submissions_total{method="fulfilSignedBatch"}')).toBe(1)
    serve(started.address, [])
  })

  it('after a restart, re-polled offers used before are skipped by their nonce; a new one is fulfilled alone', async () => {
    const f = current()
    const { reader } = f.devnet
    await runner?.stop()
    const fromBlock = await reader.public.getBlockNumber()
    // Fulfilled by the runner before its restart, and still served by the matcher after it.
    const used = await signTeeRequest()
    const prover = anvilAccount(devRoles.prover).account.address
    const fresh = await signTeeRequest()
    const started = await startRunner()
    const usedOffer = await fastOffer(used, prover)
    serve(prover, [usedOffer])
    await eventually('the first fast offer fulfilled', async () =>
      (await metric(started.url, 'cairn_prover_fast_offers_fulfilled_total')) === 1 ? true : undefined,
    )
    await started.stop()
    runner = undefined
    const restarted = await startRunner()
    serve(prover, [usedOffer, await fastOffer(fresh, prover)])
    const proof = await waitForProof(reader, fresh.requestId, {
      signed: { signed: fresh },
      fromBlock,
      timeoutMs: 50_000,
    })
    expect(proof).toMatchObject({ lane: 'fast', prover })
    expect(await metric(restarted.url, 'cairn_prover_fast_offers_dropped_total{reason="nonce-spent"}')).toBe(1)
    expect(await metric(restarted.url, 'cairn_prover_submissions_total{method="fulfilSigned"}')).toBe(1)
    serve(prover, [])
  })
})

describe('the runner’s fast lane of on-chain requests', () => {
  it('settles an open offer of a createRequest’ed public request with fulfilOpen; waitForProof returns the proof', async () => {
    const f = current()
    const { reader, actors } = f.devnet
    const fromBlock = await reader.public.getBlockNumber()
    const started = runner ?? (await startRunner())
    const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
    const created = await createRequest(actors.requester, await schedule(f.teeMarket, publicInputs))
    const refundAddress = actors.requester.wallet.account.address
    const before = { refund: await paymentBalance(refundAddress), prover: await paymentBalance(started.address) }

    const wait = waitForProof(reader, created.requestId, { fromBlock, timeoutMs: 50_000, pollIntervalMs: 100 })
    serveOpen(started.address, [await openOffer(created, started.address)])
    const proof = await wait

    expect(proof).toMatchObject({
      lane: 'fast',
      requestId: created.requestId,
      prover: started.address,
      price: PRICE,
      refund: MAX_REWARD - PRICE,
      publicInputs,
      request: created.request,
      task: { prover: started.address, price: PRICE, compute: 0 },
    })
    expect(proof.proof.length).toBeGreaterThan(2)
    expect(await metric(started.url, 'cairn_prover_submissions_total{method="fulfilOpen"}')).toBe(1)
    expect(await paymentBalance(started.address)).toBe(before.prover + PRICE)
    expect(await paymentBalance(refundAddress)).toBe(before.refund + MAX_REWARD - PRICE)
    // Still served (the matcher has not seen it settled yet): never taken again, the request is no longer Open.
    await eventually('the open offer polled again', async () => started.fastOffers().length === 0)
    expect(await metric(started.url, 'cairn_prover_submissions_total{method="fulfilOpen"}')).toBe(1)
    serveOpen(started.address, [])
  })
})

describe('fulfilSigned from the SDK, with a real Groth16 proof', () => {
  async function groth16Request() {
    const f = current()
    const statement = await preimageStatement()
    const signed = await signRequest(f.devnet.actors.requester, await schedule(f.groth16Market, statement.publicInputs))
    const { proof } = await provePoseidonPreimage(statement.preimage, statement.context)
    return { signed, proof }
  }

  it('names what is wrong: another sender, an expired assignment, a replay; a batch skips the replay', async () => {
    const f = current()
    const { actors, reader } = f.devnet
    const prover: CairnClient = actors.bystander
    const me = prover.wallet.account.address
    const fromBlock = await reader.public.getBlockNumber()
    const { signed, proof } = await groth16Request()
    const offer = await fastOffer(signed, me)

    await expect(fulfilSigned(actors.deployer, offer, proof)).rejects.toMatchObject({
      name: 'NotAssignedProver',
      message: expect.stringContaining(me),
    })
    const expired = await fastOffer(signed, me, { validFor: -1n })
    await expect(fulfilSigned(prover, expired, proof)).rejects.toMatchObject({
      name: 'FastAssignmentExpired',
      args: { requestId: signed.requestId },
    })

    const fulfilled = await fulfilSigned(prover, offer, proof)
    expect(fulfilled).toMatchObject({
      requestId: signed.requestId,
      prover: me,
      price: PRICE,
      nonce: signed.request.nonce,
    })
    await expect(fulfilSigned(prover, offer, proof)).rejects.toMatchObject({ name: 'NonceUsed' })

    // The requester sees it fulfilled, with the proof from the transaction.
    const waited = await waitForProof(reader, signed.requestId, { signed: { signed }, fromBlock, timeoutMs: 20_000 })
    expect(waited).toMatchObject({
      lane: 'fast',
      prover: me,
      price: PRICE,
      proof,
      publicInputs: signed.request.publicInputs.data,
      transactionHash: fulfilled.receipt.transactionHash,
    })
    expect(await signedRequestState(reader, signed.request, { fromBlock })).toMatchObject({ state: 'fulfilled' })

    // A batch with the replay and a new request: the new one is fulfilled, the replay skipped with its reason.
    const next = await groth16Request()
    const outcome = await fulfilSignedBatch(prover, [
      { offer, proof },
      { offer: await fastOffer(next.signed, me), proof: next.proof },
    ])
    expect(outcome.fulfilled.map((item) => item.requestId)).toEqual([next.signed.requestId])
    expect(outcome.skipped).toMatchObject([{ requestId: signed.requestId, reason: { name: 'NonceUsed' } }])
    const batched = await waitForProof(reader, next.signed.requestId, { fromBlock, timeoutMs: 20_000 })
    expect(batched).toMatchObject({ lane: 'fast', proof: next.proof })
  })
})
