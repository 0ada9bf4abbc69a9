/**
 * Private requests through the censorship fallback, with no matcher running at all: the requester's envelope is
 * wrapped to a matcher key that never acts; the prover runner claims the request with claimPrivate after the fallback
 * delay; the requester's waitForProof releases the data key to the runner's attested enclave key; the runner proves.
 * A requester that never releases gets its escrow back when the runner abandons the claim after the window, and the
 * prover is not slashed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { type Address, type Hex, keccak256, parseEther, stringToBytes } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../enclave/prover/config.js'
import { type ProverRunner, startProverRunner } from '../enclave/prover/runner.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { devMeasurementOf } from '../ts/devnet/attestation.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
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
  getInputKeyWait,
  getRequestState,
  getStake,
  type InputKeyRelease,
  inlineInputs,
  iPrivateClaimsAbi,
  isInputKeyReleaseError,
  KEY_RELEASE_WINDOW,
  loadRequest,
  mintDevToken,
  type ProgressDetails,
  type ProofStage,
  proofMarketplaceAbi,
  releaseInputKeyToClaimant,
  type Task,
  waitForProof,
  withAttestation,
  wrapDataKey,
  write,
} from '../ts/index.js'
import { startAttestedDevnet } from './attested-devnet.js'
import { eventually } from './eventually.js'

const SEED = 'cairn private fallback test'
const STAKE = parseEther('1000')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
/** groth16MarketParams' fallback delay, plus a second. */
const PAST_FALLBACK_DELAY = 31

type Fixture = {
  devnet: Devnet
  attestation: AttestationDeployment
  attestationOut: string
  deploymentOut: string
  market: bigint
  prover: Address
  requester: Address
  keyDir: string
  runner: ProverRunner
}

let fixture: Fixture | undefined

function current(): Fixture {
  if (!fixture) throw new Error('fixture not ready')
  return fixture
}

/**
 * anvil with the marketplace and the attestation stack, a Groth16 market whose prover keys the dev TD may hold, and
 * the prover runner claiming fallbacks in it. No matcher: nothing ever assigns a request or re-wraps a key.
 */
beforeAll(async () => {
  const { devnet, pki, attestation, owner, deploymentOut, attestationOut } = await startAttestedDevnet(SEED)
  const { actors, deployment } = devnet
  const { marketId: market } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  const measurement = devMeasurementOf(pki)
  await allowMeasurement(owner, { role: 'Prover', marketId: market, measurement })
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, STAKE)

  const keyDir = await mkdtemp(join(tmpdir(), 'cairn-private-fallback-'))
  const config = parseConfig({
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: foundry.id,
    deployment: join(process.cwd(), deploymentOut),
    attestationDeployment: join(process.cwd(), attestationOut),
    privateKey: anvilAccount(devRoles.prover).privateKey,
    keyFile: join(keyDir, 'keyring.json'),
    attestation: 'dev',
    devPkiSeed: SEED,
    devPkiTime: pki.now.toISOString(),
    markets: [
      {
        marketId: Number(market),
        backend: 'groth16',
        groth16: 'poseidon-preimage',
        price: PRICE.toString(),
        provingTime: PROVING_TIME,
      },
    ],
    capacity: 4,
    stake: STAKE.toString(),
    metricsPort: 0,
    pollInterval: 100,
    claimFallback: true,
    logLevel: 'info',
  })
  const runner = await startProverRunner(config, { logger: pino({ level: 'silent' }) })
  const requester = actors.requester.wallet.account.address
  fixture = { devnet, attestation, attestationOut, deploymentOut, market, prover, requester, keyDir, runner }
})

afterAll(async () => {
  if (!fixture) return
  await fixture.runner.stop()
  await fixture.devnet.stop()
  await rm(join(process.cwd(), fixture.attestationOut), { force: true })
  await rm(fixture.keyDir, { recursive: true, force: true })
})

/**
 * A Poseidon-preimage request whose preimage travels in an envelope wrapped to a matcher key nobody runs, posted by
 * the requester (its own refund address) with createRequest. Returns its id and the data key the requester keeps.
 */
async function postPrivateRequest(): Promise<{ requestId: bigint; dataKey: Hex }> {
  const f = current()
  const { devnet } = f
  const statement = await preimageStatement()
  const { envelope, dataKey } = encryptPrivateInputs({
    plaintext: stringToBytes(JSON.stringify({ preimage: statement.preimage.toString() })),
    context: {
      chainId: foundry.id,
      marketplace: devnet.deployment.contracts.proofMarketplace,
      marketId: f.market,
      requester: f.requester,
      publicInputsDigest: keccak256(statement.publicInputs),
    },
    recipients: [eciesPublicKeyOf(generateEciesPrivateKey())],
  })
  const params = preimageRequest({
    marketId: f.market,
    now: await chainTime(devnet.reader),
    publicInputs: statement.publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: f.requester,
    schedule: { provingTime: PROVING_TIME },
  })
  await mintDevToken(devnet.actors.requester, devnet.deployment.contracts.paymentToken, f.requester, MAX_REWARD)
  const { requestId } = await createRequest(devnet.actors.requester, {
    ...params,
    marketId: Number(f.market),
    maxReward: MAX_REWARD,
    refundAddress: f.requester,
    privateInputs: inlineInputs(envelope),
  })
  return { requestId, dataKey }
}

async function claimsOf(requestId: bigint) {
  const { reader, deployment } = current().devnet
  return reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'TaskAssigned',
    args: { requestId },
    fromBlock: deployment.deployBlock,
  })
}

describe('private requests with the matcher down', () => {
  it('the runner claims with claimPrivate, the waiting requester releases the key, the runner proves', async () => {
    const f = current()
    const { requestId, dataKey } = await postPrivateRequest()
    const requesterTee = withAttestation(f.devnet.actors.requester, f.attestation)
    const released: InputKeyRelease[] = []
    const stages: ProofStage[] = []
    const waiting = waitForProof(f.devnet.reader, requestId, {
      pollIntervalMs: 100,
      onProgress: (stage: ProofStage, _details: ProgressDetails) => void stages.push(stage),
      releaseKey: { client: requesterTee, dataKey, onKeyReleased: (release) => void released.push(release) },
    })
    await advanceTime(f.devnet, PAST_FALLBACK_DELAY)

    const proof = await waiting
    expect(proof.prover).toBe(f.prover)
    expect(proof.price).toBe(PRICE)
    expect(await getRequestState(f.devnet.reader, requestId)).toBe('Fulfilled')
    const [claim] = await claimsOf(requestId)
    expect(claim?.args.byMatcher).toBe(false)
    // The task deadline holds the key release window ahead of the proving time.
    const claimedAt = (await f.devnet.reader.public.getBlock({ blockNumber: claim?.blockNumber as bigint })).timestamp
    expect(BigInt(claim?.args.task?.deadline ?? 0)).toBe(claimedAt + BigInt(KEY_RELEASE_WINDOW + PROVING_TIME))
    expect(released).toHaveLength(1)
    expect(released[0]?.prover).toBe(f.prover)
    expect(released[0]?.enclave.eciesPublicKey).toBe(f.runner.enclaveKey(f.market)?.eciesPublicKey)
    expect(await getInputKeyWait(f.devnet.reader, requestId)).toEqual({
      kind: 'released',
      inputKeyHash: keccak256(released[0]?.inputKey as Hex),
    })
    expect(stages).toEqual(expect.arrayContaining(['open', 'assigned', 'input-key-released', 'fulfilled']))
  })

  it('a requester that never releases its key is refunded when the runner abandons the claim; nobody is slashed', async () => {
    const f = current()
    const { reader, deployment } = f.devnet
    const { requestId } = await postPrivateRequest()
    const token = deployment.contracts.paymentToken
    const balanceBefore = await getBalance(reader, f.requester, token)
    const stakeBefore = await getStake(reader, f.prover)
    await advanceTime(f.devnet, PAST_FALLBACK_DELAY)
    await eventually(
      `request ${requestId} claimed`,
      async () => (await getRequestState(reader, requestId)) === 'Assigned',
    )
    expect((await getInputKeyWait(reader, requestId)).kind).toBe('awaited')
    expect(f.runner.tasks()).toContain(requestId)

    await advanceTime(f.devnet, KEY_RELEASE_WINDOW + 1)
    await eventually(
      `request ${requestId} abandoned`,
      async () => (await getRequestState(reader, requestId)) === 'Cancelled' && !f.runner.tasks().includes(requestId),
    )
    expect(await getBalance(reader, f.requester, token)).toBe(balanceBefore + MAX_REWARD)
    expect(await getStake(reader, f.prover)).toEqual({ staked: stakeBefore.staked, locked: stakeBefore.locked })
    expect(await getInputKeyWait(reader, requestId)).toEqual({ kind: 'none' })
  })

  it('a requester releasing a wrong key gets it attested (rejectInputKey): the prover is paid for the check, not slashed', async () => {
    const f = current()
    const { reader, deployment } = f.devnet
    const { requestId } = await postPrivateRequest()
    const token = deployment.contracts.paymentToken
    const proverBefore = await getBalance(reader, f.prover, token)
    const stakeBefore = await getStake(reader, f.prover)
    await advanceTime(f.devnet, PAST_FALLBACK_DELAY)
    await eventually(
      `request ${requestId} claimed`,
      async () => (await getRequestState(reader, requestId)) === 'Assigned',
    )

    // The SDK refuses a data key the envelope does not commit to...
    const requesterTee = withAttestation(f.devnet.actors.requester, f.attestation)
    const wrongDataKey = generateEciesPrivateKey()
    await expect(releaseInputKeyToClaimant(requesterTee, { requestId, dataKey: wrongDataKey })).rejects.toSatisfy(
      (error) => isInputKeyReleaseError(error) && error.reason === 'wrong-data-key',
    )
    // ...so a requester bent on it sends the release itself: a wrong data key, properly wrapped to the enclave.
    const { request, task } = await loadRequest(reader, requestId)
    const enclave = f.runner.enclaveKey(f.market)
    const inputKey = wrapDataKey(wrongDataKey, enclave?.eciesPublicKey as Hex)
    await write(f.devnet.actors.requester, {
      address: deployment.contracts.proofMarketplace,
      abi: iPrivateClaimsAbi,
      functionName: 'releaseInputKey',
      args: [requestId, request, task as Task, inputKey],
    })

    await eventually(
      `request ${requestId} rejected`,
      async () =>
        (await getRequestState(reader, requestId)) === 'InputsRejected' && !f.runner.tasks().includes(requestId),
    )
    expect(await getBalance(reader, f.prover, token)).toBe(proverBefore + PRICE)
    expect((await getStake(reader, f.prover)).staked).toBe(stakeBefore.staked)
  })
})
