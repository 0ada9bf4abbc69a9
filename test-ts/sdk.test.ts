import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Address,
  createPublicClient,
  custom,
  encodeErrorResult,
  type Hex,
  keccak256,
  parseEther,
  stringToBytes,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest'
import { freePort } from '../ts/devnet/anvil.js'
import { prepareDevAttestation } from '../ts/devnet/attestation.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import type { Devnet } from '../ts/devnet/stack.js'
import {
  allowMeasurement,
  CairnContractError,
  cairnNetworkMiddlewareAbi,
  cancel,
  cancelLeave,
  cancelSignedRequest,
  cancelUnstake,
  chainTime,
  completeLeave,
  createMarket,
  decodeCairnError,
  decodeRevertData,
  decryptWithInputKey,
  deposit as depositBalance,
  deregister,
  devTokenAbi,
  eciesPublicKeyOf,
  fulfil,
  getActiveMatcherKeys,
  getBalance,
  getBalances,
  getListing,
  getMarketDetails,
  getMarketProvers,
  getNativeStake,
  getProver,
  getProverEnclave,
  getProverListings,
  getRequestStatus,
  groth16BatchVerifierAbi,
  InsufficientFundsError,
  InvalidParameterError,
  invalidInputsTypedData,
  isActiveKey,
  iVaultAbi,
  list,
  listMarkets,
  loadRequest,
  mintDevToken,
  nativeStakingAbi,
  openPrivateInputs,
  PrivateInputsSetupError,
  type ProgressDetails,
  ProofRequestFailedError,
  type ProofStage,
  parseEnvelope,
  postSignedRequest,
  privateInputsContextFor,
  proofContextOf,
  proofMarketplaceAbi,
  provePoseidonPreimage,
  proverRegistryAbi,
  recipientIdOf,
  register,
  registerEnclaveKey,
  rejectInputs,
  requestLeave,
  requestLensAbi,
  requestProof,
  resolveSchedule,
  rewrapForProver,
  SignedRequestUnusedError,
  sent,
  setCapacity,
  setEnclaveKeys,
  setMarketMetadata,
  setOperatorAdmitted,
  signAssignments,
  signedRequestState,
  signInvalidInputs,
  signRequest,
  slash,
  stake,
  stakeMirrorAbi,
  submitAssignments,
  type TeeClient,
  TimeoutError,
  TransactionRevertedError,
  teeRegistryAbi,
  unstake,
  updateListing,
  validateMarketParams,
  waitForProof,
  withAttestation,
  withdrawStake,
  withListedTerms,
} from '../ts/index.js'
import { advanceTime, useDevnet } from './anvil.js'

const STAKE = parseEther('1000')
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
const SEED = 'cairn sdk test'
/** The matcher enclave's ECIES key: generated inside the TD in production, known here so the test can decrypt. */
const MATCHER_ECIES_KEY = keccak256(toHex(`${SEED} matcher ecies`))
const PROVER_ECIES_KEY = keccak256(toHex(`${SEED} prover ecies`))
const matcherEnclave = privateKeyToAccount(keccak256(toHex(`${SEED} matcher signer`)))
const proverEnclave = privateKeyToAccount(keccak256(toHex(`${SEED} prover signer`)))

let attestationOut: string | undefined

/**
 * A Groth16 market with one staked, listed prover; an attestation stack with one attested matcher key (whose ECIES
 * key the test knows) and the prover's attested enclave key in the market; the marketplace reads prover enclave keys
 * from the registry (rejectInputs).
 */
const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment } = devnet
  const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, STAKE)
  await register(actors.prover, { capacity: 4 })
  await stake(actors.prover, { amount: STAKE })
  await list(actors.prover, { marketId, price: PRICE, provingTime: PROVING_TIME })

  attestationOut = `deployments/e2e-${anvil.port}.attestation.json`
  // The bystander runs the attested matcher: governance admitted it as a matcher operator.
  const { attestation, owner, measurement, enclave } = await prepareDevAttestation(devnet, {
    seed: SEED,
    out: attestationOut,
    matcherOperators: [actors.bystander.wallet.account.address],
  })
  await allowMeasurement(owner, { role: 'Matcher', measurement })
  await allowMeasurement(owner, { role: 'Prover', marketId, measurement })
  await registerEnclaveKey(withAttestation(actors.bystander, attestation), {
    enclave: enclave('Matcher'),
    signer: matcherEnclave.address,
    eciesPublicKey: eciesPublicKeyOf(MATCHER_ECIES_KEY),
  })
  await registerEnclaveKey(withAttestation(actors.prover, attestation), {
    enclave: enclave('Prover'),
    marketId,
    signer: proverEnclave.address,
    eciesPublicKey: eciesPublicKeyOf(PROVER_ECIES_KEY),
  })
  await setEnclaveKeys(actors.deployer, attestation.contracts.teeRegistry)
  return { marketId, attestation, enclave }
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
})

type Role = keyof Devnet['actors']
const addressOf = (devnet: Devnet, role: Role): Address => devnet.actors[role].wallet.account.address
const requester = (devnet: Devnet): TeeClient => withAttestation(devnet.actors.requester, current().fixture.attestation)

/** The requester mints `amount` of the payment token into its wallet. */
async function fund(devnet: Devnet, amount = MAX_REWARD) {
  await mintDevToken(
    devnet.actors.requester,
    devnet.deployment.contracts.paymentToken,
    addressOf(devnet, 'requester'),
    amount,
  )
}

/** The devnet's owner-set matcher signs (request → prover) and a bystander submits. */
async function assign(devnet: Devnet, requestId: bigint, inputKey?: Hex) {
  const batch = await signAssignments(devnet.actors.matcher, {
    assignments: await withListedTerms(devnet.reader, [
      { requestId, prover: addressOf(devnet, 'prover'), ...(inputKey ? { inputKey } : {}) },
    ]),
    validUntil: (await chainTime(devnet.reader)) + 300n,
  })
  const outcome = await submitAssignments(devnet.actors.bystander, batch)
  expect(outcome.skipped).toEqual([])
  const [task] = outcome.assigned
  if (!task) throw new Error('not assigned')
  return task
}

/** Collects waitForProof's progress reports. */
function progressLog() {
  const seen: { stage: ProofStage; details: ProgressDetails }[] = []
  return { seen, onProgress: (stage: ProofStage, details: ProgressDetails) => seen.push({ stage, details }) }
}

describe('SDK on anvil', () => {
  it('requestProof (public) → matcher assignment → fulfil: waitForProof resolves with the proof from the calldata', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    await fund(devnet)
    const statement = await preimageStatement()
    const now = await chainTime(reader)
    const created = await requestProof(actors.requester, {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs: statement.publicInputs,
    })
    // Defaults from chain time: ten minutes to match, then the whole proving time.
    expect(created.params.matchingExpiry).toBe(Number(now) + 600)
    expect(created.params.deadline).toBe(created.params.matchingExpiry + PROVING_TIME)
    expect(created.params.speedPreferenceBps).toBe(5_000)
    expect(created.params.refundAddress).toBe(addressOf(devnet, 'requester'))
    expect(created.escrowSource).toBe('transferFrom')
    expect(created.encrypted).toBeUndefined()

    const progress = progressLog()
    const waiting = waitForProof(reader, created.requestId, { pollIntervalMs: 20, ...progress })
    const task = await assign(devnet, created.requestId)
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    await fulfil(actors.prover, { ...task, publicInputs: proof.publicInputs, proof: proof.proof })

    const result = await waiting
    expect(result).toMatchObject({
      requestId: created.requestId,
      prover: addressOf(devnet, 'prover'),
      price: PRICE,
      refund: MAX_REWARD - PRICE,
      publicInputs: statement.publicInputs,
      proof: proof.proof,
      request: created.request,
      task: task.task,
    })
    expect(progress.seen.map(({ stage }) => stage)).toEqual(['open', 'assigned', 'fulfilled'])
    expect(progress.seen[1]?.details).toMatchObject({ prover: addressOf(devnet, 'prover'), price: PRICE })
    // What came back verifies on chain.
    expect(
      await reader.public.readContract({
        address: deployment.contracts.groth16Adapter,
        abi: groth16BatchVerifierAbi,
        functionName: 'verify',
        args: [result.publicInputs, result.proof, proofContextOf(result)],
      }),
    ).toBe(true)
    // A late waiter reads the same from history.
    expect(await waitForProof(reader, created.requestId)).toEqual(result)
  })

  it('a prover with an active enclave key that misses its deadline compensates the requester and pays the slasher', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    await fund(devnet)
    const statement = await preimageStatement()
    const created = await requestProof(actors.requester, {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs: statement.publicInputs,
    })
    // The prover could have attested the inputs unprovable (rejectInputs) instead: its enclave key is active here.
    expect(await getProverEnclave(requester(devnet), fixture.marketId, addressOf(devnet, 'prover'))).toBeDefined()
    const task = await assign(devnet, created.requestId)
    await advanceTime(devnet, PROVING_TIME + 1)

    const penalty = parseEther('50') // groth16MarketParams: 50 of 100 staked per task, 50% to the requester
    const compensation = penalty / 2n
    const slasherReward = (penalty * 500n) / 10_000n
    const slashed = await slash(actors.bystander, task)
    expect(slashed).toMatchObject({ requestId: created.requestId, penalty, compensation, slasherReward })
    const { paymentToken, stakeToken } = deployment.contracts
    expect(await getBalance(reader, addressOf(devnet, 'requester'), paymentToken)).toBe(MAX_REWARD)
    expect(await getBalance(reader, addressOf(devnet, 'requester'), stakeToken)).toBe(compensation)
    expect(await getBalance(reader, addressOf(devnet, 'bystander'), stakeToken)).toBe(slasherReward)
    expect(await getBalance(reader, deployment.treasury, stakeToken)).toBe(penalty - compensation - slasherReward)
  })

  it('waitForProof gives up with a TimeoutError carrying the last known state', async () => {
    const { devnet, fixture } = current()
    await fund(devnet)
    const { publicInputs } = await preimageStatement()
    const { requestId, request } = await requestProof(devnet.actors.requester, {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
    })
    const error = await waitForProof(devnet.reader, requestId, { timeoutMs: 150, pollIntervalMs: 20 }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error).toMatchObject({ requestId, timeoutMs: 150, state: { stage: 'open', request, task: undefined } })
    expect((error as Error).message).toMatch(
      new RegExp(`no proof for request ${requestId} within 150 ms; last seen open`),
    )
  })

  it('an unassigned request expires: waitForProof says so, cancel refunds, waitForProof then reports Cancelled', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    await fund(devnet)
    const { publicInputs } = await preimageStatement()
    const created = await requestProof(actors.requester, {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      matchingWindow: 60,
      publicInputs,
    })
    // Not yet: the request is still open.
    const early = await cancel(actors.bystander, created.requestId).catch((e: unknown) => e)
    expect(early).toMatchObject({ name: 'RequestNotExpired', args: { requestId: created.requestId } })

    await advanceTime(devnet, 61)
    const expired = await waitForProof(reader, created.requestId).catch((e: unknown) => e)
    expect(expired).toBeInstanceOf(ProofRequestFailedError)
    expect(expired).toMatchObject({ outcome: 'Expired', requestId: created.requestId })
    expect((expired as Error).message).toContain('cancel it to get the escrow back')

    const cancelled = await cancel(actors.bystander, created.requestId)
    expect(cancelled.refund).toBe(MAX_REWARD)
    const [payment] = await getBalances(reader, addressOf(devnet, 'requester'))
    expect(payment).toEqual({ token: deployment.contracts.paymentToken, marketplace: MAX_REWARD, wallet: 0n })
    const progress = progressLog()
    const after = await waitForProof(reader, created.requestId, progress).catch((e: unknown) => e)
    expect(after).toMatchObject({ name: 'ProofRequestFailedError', outcome: 'Cancelled' })
    expect(progress.seen.map(({ stage }) => stage)).toEqual(['open', 'cancelled'])
  })

  it('signed requests: signed off chain, posted by anyone from the deposit, used once; an unused one cancelled', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    await fund(devnet, 2n * MAX_REWARD)
    await depositBalance(actors.requester, deployment.contracts.paymentToken, 2n * MAX_REWARD)
    const { publicInputs } = await preimageStatement()
    const now = Number(await chainTime(reader))
    const params = {
      marketId: Number(fixture.marketId),
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      matchingExpiry: now + 600,
      deadline: now + 600 + PROVING_TIME,
      speedPreferenceBps: 5_000,
      refundAddress: addressOf(devnet, 'requester'),
      publicInputs: { data: publicInputs, uri: '', digest: zeroHash },
      privateInputs: { data: '0x' as Hex, uri: '', digest: zeroHash },
    }
    const [before] = await getBalances(reader, addressOf(devnet, 'requester'))
    const signed = await signRequest(actors.requester, params, 1n)
    expect(await signedRequestState(reader, signed.request)).toEqual({ state: 'unused', requestId: signed.requestId })

    // The censorship fallback: a bystander posts it; the escrow comes from the requester's deposit.
    const posted = await postSignedRequest(actors.bystander, signed)
    expect(posted.requestId).toBe(signed.requestId)
    expect(posted.requester).toBe(addressOf(devnet, 'requester'))
    expect(await signedRequestState(reader, signed.request)).toEqual({
      state: 'used',
      requestId: signed.requestId,
      status: 'Open',
    })
    const replay = await postSignedRequest(actors.bystander, signed).catch((e: unknown) => e)
    expect(replay).toMatchObject({ name: 'NonceUsed', args: { requester: addressOf(devnet, 'requester'), nonce: 1n } })

    // Another, cancelled before anyone uses it.
    const other = await signRequest(actors.requester, params, 2n)
    await cancelSignedRequest(actors.requester, 2n)
    expect(await signedRequestState(reader, other.request)).toEqual({ state: 'nonceSpent', requestId: other.requestId })
    const refused = await postSignedRequest(actors.bystander, other).catch((e: unknown) => e)
    expect(refused).toMatchObject({ name: 'NonceUsed' })
    const [after] = await getBalances(reader, addressOf(devnet, 'requester'))
    expect(after?.marketplace).toBe((before?.marketplace ?? 0n) - MAX_REWARD)
  })

  it('signRequest refuses what createRequest would, before signing', async () => {
    const { devnet, fixture } = current()
    const { reader, actors } = devnet
    const { publicInputs } = await preimageStatement()
    const now = Number(await chainTime(reader))
    const params = {
      marketId: Number(fixture.marketId),
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      matchingExpiry: now + 600,
      deadline: now + 600 + PROVING_TIME,
      speedPreferenceBps: 5_000,
      refundAddress: addressOf(devnet, 'requester'),
      publicInputs: { data: publicInputs, uri: '', digest: zeroHash as Hex },
      privateInputs: { data: '0x' as Hex, uri: '', digest: zeroHash as Hex },
    }
    const none = { data: '0x' as Hex, uri: '', digest: zeroHash }
    const cases: [typeof params, string][] = [
      [{ ...params, marketId: 7 }, 'marketId: no market 7'],
      [{ ...params, marketId: 0 }, 'marketId: expected 1 to'],
      [{ ...params, maxReward: 0n }, 'maxReward: expected 1 to'],
      [{ ...params, speedPreferenceBps: 10_001 }, 'speedPreferenceBps: expected 0 to 10000'],
      [{ ...params, refundAddress: zeroAddress }, 'refundAddress: the zero address'],
      [{ ...params, publicInputs: none }, 'publicInputs: a request needs public inputs'],
      [{ ...params, publicInputs: { ...params.publicInputs, digest: keccak256('0x01') } }, 'not the keccak256'],
      [{ ...params, privateInputs: { data: '0x', uri: 'ipfs://x', digest: zeroHash } }, 'privateInputs: inputs behind'],
      [{ ...params, provingTime: 0 }, 'provingTime: expected 1 to'],
      [{ ...params, matchingExpiry: now - 1 }, 'matchingExpiry:'],
      [{ ...params, deadline: now + 600 }, 'deadline:'],
      [{ ...params, deadline: now + 91 * 86_400 }, 'more than 90 days'],
    ]
    for (const [bad, message] of cases) {
      const error = await signRequest(actors.requester, bad).catch((e: unknown) => e)
      expect(error, message).toBeInstanceOf(InvalidParameterError)
      expect((error as Error).message).toContain(message)
    }
    // A good one gets a random 256-bit nonce: two signatures never share one.
    const [a, b] = [await signRequest(actors.requester, params), await signRequest(actors.requester, params)]
    expect(a.request.nonce).not.toBe(b.request.nonce)
    expect(a.requestId).not.toBe(b.requestId)
  })

  it('requestProof with the matcher down: deposits the shortfall, posts the same signed request; private inputs bound to the signer', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    await fund(devnet)
    const { publicInputs } = await preimageStatement()
    const secret = stringToBytes('signed path secret')
    const matcherUrl = `http://127.0.0.1:${await freePort()}`
    const created = await requestProof(requester(devnet), {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
      privateInputs: secret,
      matcherUrl,
    })
    if (created.path === 'onchain') throw new Error('the signed path was not taken')
    expect(created.path).toBe('posted')
    expect(created.unavailable).toMatchObject({ name: 'MatcherUnavailableError', kind: 'unreachable' })
    // The id was known before it was used; the escrow came from the deposit the SDK made from the wallet.
    expect(created.posted?.requestId).toBe(created.requestId)
    expect(created.deposited?.amount).toBe(MAX_REWARD)
    expect(await signedRequestState(reader, created.signed.request)).toEqual({
      state: 'used',
      requestId: created.requestId,
      status: 'Open',
    })
    const [payment] = await getBalances(reader, addressOf(devnet, 'requester'))
    expect(payment).toEqual({ token: deployment.contracts.paymentToken, marketplace: 0n, wallet: 0n })
    // The envelope names the signing account as requester, which RequestCreated emits: the matcher opens it.
    const loaded = await loadRequest(reader, created.requestId)
    expect(loaded.requester).toBe(addressOf(devnet, 'requester'))
    const context = {
      chainId: foundry.id,
      marketplace: deployment.contracts.proofMarketplace,
      marketId: fixture.marketId,
      requester: loaded.requester,
      publicInputsDigest: keccak256(publicInputs),
    }
    const envelope = created.encrypted?.envelope ?? '0x'
    expect(loaded.privateInputs.data).toBe(envelope)
    expect(openPrivateInputs({ envelope, privateKey: MATCHER_ECIES_KEY, context })).toEqual(secret)

    // Forced on chain with a matcher URL: createRequest, as without one.
    await fund(devnet)
    const onchain = await requestProof(actors.requester, {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
      matcherUrl,
      path: 'onchain',
    })
    expect(onchain).toMatchObject({ path: 'onchain', escrowSource: 'transferFrom' })
    // Not enough in wallet and deposit together: refused before signing anything.
    const poor = await requestProof(actors.requester, {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
      matcherUrl,
    }).catch((e: unknown) => e)
    expect(poor).toBeInstanceOf(InsufficientFundsError)
  })

  it('waitForProof on a signed request not used yet: watches it, posts it once chain time passes postAfter, follows it to the proof', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    await fund(devnet)
    await depositBalance(actors.requester, deployment.contracts.paymentToken, MAX_REWARD)
    const statement = await preimageStatement()
    const now = Number(await chainTime(reader))
    const signed = await signRequest(actors.requester, {
      marketId: Number(fixture.marketId),
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      matchingExpiry: now + 600,
      deadline: now + 600 + PROVING_TIME,
      speedPreferenceBps: 5_000,
      refundAddress: addressOf(devnet, 'requester'),
      publicInputs: { data: statement.publicInputs, uri: '', digest: zeroHash },
      privateInputs: { data: '0x', uri: '', digest: zeroHash },
    })
    const pending: bigint[] = []
    const postedAt: bigint[] = []
    const progress = progressLog()
    const waiting = waitForProof(reader, signed.requestId, {
      pollIntervalMs: 20,
      ...progress,
      signed: {
        signed,
        client: actors.requester,
        postAfterSeconds: 60,
        onPending: ({ chainTime }) => pending.push(chainTime),
        onPosted: ({ receipt }) => postedAt.push(receipt.blockNumber),
      },
    })
    // Not used yet: the wait watches without posting (chain time stands still here).
    await vi.waitFor(() => expect(pending.length).toBeGreaterThan(0))
    expect(await getRequestStatus(reader, signed.requestId)).toBe('None')
    await advanceTime(devnet, 61)
    await vi.waitFor(async () => expect(await getRequestStatus(reader, signed.requestId)).toBe('Open'), {
      timeout: 30_000,
    })
    await vi.waitFor(() => expect(progress.seen.map(({ stage }) => stage)).toEqual(['open']), { timeout: 30_000 })
    const task = await assign(devnet, signed.requestId)
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    await fulfil(actors.prover, { ...task, publicInputs: proof.publicInputs, proof: proof.proof })
    const result = await waiting
    expect(result.requestId).toBe(signed.requestId)
    expect(postedAt).toHaveLength(1)
    expect(progress.seen.map(({ stage }) => stage)).toEqual(['open', 'assigned', 'fulfilled'])
  })

  it('waitForProof on a signed request: used by someone else meanwhile it follows it; cancelled by nonce it ends', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    await fund(devnet)
    await depositBalance(actors.requester, deployment.contracts.paymentToken, MAX_REWARD)
    const { publicInputs } = await preimageStatement()
    const now = Number(await chainTime(reader))
    const params = {
      marketId: Number(fixture.marketId),
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      matchingExpiry: now + 600,
      deadline: now + 600 + PROVING_TIME,
      speedPreferenceBps: 5_000,
      refundAddress: addressOf(devnet, 'requester'),
      publicInputs: { data: publicInputs, uri: '', digest: zeroHash },
      privateInputs: { data: '0x' as Hex, uri: '', digest: zeroHash },
    }
    const signed = await signRequest(actors.requester, params)
    const progress = progressLog()
    const pending: unknown[] = []
    const waiting = waitForProof(reader, signed.requestId, {
      pollIntervalMs: 20,
      ...progress,
      signed: { signed, client: actors.requester, postAfterSeconds: 3_600, onPending: (p) => pending.push(p) },
    })
    await vi.waitFor(() => expect(pending.length).toBeGreaterThan(0))
    // The matcher (here a bystander: anyone may) uses it first; the wait's later post would be "already used".
    await postSignedRequest(actors.bystander, signed)
    await vi.waitFor(() => expect(progress.seen.map(({ stage }) => stage)).toEqual(['open']), { timeout: 30_000 })
    await advanceTime(devnet, 601)
    await expect(waiting).rejects.toMatchObject({ name: 'ProofRequestFailedError', outcome: 'Expired' })

    // Cancelled before use: the wait ends at once with what happened; nothing was escrowed.
    const other = await signRequest(actors.requester, { ...params, matchingExpiry: now + 1_200, deadline: now + 2_000 })
    await cancelSignedRequest(actors.requester, other.request.nonce)
    const error = await waitForProof(reader, other.requestId, {
      signed: { signed: other, client: actors.requester },
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SignedRequestUnusedError)
    expect(error).toMatchObject({ outcome: 'NonceSpent', requestId: other.requestId })
    // An unused one whose matching expiry passed: also ended, no log scan of a request that never existed.
    const late = await signRequest(actors.requester, { ...params, matchingExpiry: now + 1_300, deadline: now + 2_000 })
    await advanceTime(devnet, 800)
    const expired = await waitForProof(reader, late.requestId, { signed: { signed: late } }).catch((e: unknown) => e)
    expect(expired).toMatchObject({ name: 'SignedRequestUnusedError', outcome: 'Expired' })
    expect((expired as Error).message).toContain('nothing was escrowed')
  })

  it('a prover registers, lists, updates, leaves through the exit delay and deregisters', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    const newcomer = actors.bystander
    const me = addressOf(devnet, 'bystander')
    await register(newcomer, { capacity: 2 })
    const again = await register(newcomer, { capacity: 2 }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(CairnContractError)
    expect(again).toMatchObject({ name: 'AlreadyRegistered', args: { prover: me } })
    await list(newcomer, { marketId: fixture.marketId, price: parseEther('30'), provingTime: 900 })

    const provers = await getMarketProvers(reader, fixture.marketId)
    expect(provers.map(({ prover }) => prover).sort()).toEqual([addressOf(devnet, 'prover'), me].sort())
    await updateListing(newcomer, {
      marketId: fixture.marketId,
      price: parseEther('20'),
      provingTime: 300,
      computePerRequest: 2,
    })
    expect(await getProverListings(reader, me)).toEqual([
      {
        prover: me,
        marketId: fixture.marketId,
        price: parseEther('20'),
        provingTime: 300,
        computePerRequest: 2,
        leaveAvailableAt: 0,
        state: 'Active',
      },
    ])
    const tooMuch = await updateListing(newcomer, {
      marketId: fixture.marketId,
      price: 1n,
      provingTime: 300,
      computePerRequest: 3,
    }).catch((e: unknown) => e)
    expect(tooMuch).toMatchObject({ name: 'ComputeExceedsCapacity', args: { computePerRequest: 3, capacity: 2 } })
    await setCapacity(newcomer, { capacity: 3 })
    expect((await getProver(reader, me)).capacity).toBe(3)

    const exitDelay = await reader.public.readContract({
      address: deployment.contracts.proverRegistry,
      abi: proverRegistryAbi,
      functionName: 'exitDelay',
    })
    const { availableAt } = await requestLeave(newcomer, { marketId: fixture.marketId })
    expect(availableAt).toBe(Number(await chainTime(reader)) + exitDelay)
    expect((await getProverListings(reader, me))[0]?.state).toBe('Leaving')
    const early = await completeLeave(newcomer, { marketId: fixture.marketId }).catch((e: unknown) => e)
    expect(early).toMatchObject({
      name: 'LeaveNotYetAvailable',
      message: `LeaveNotYetAvailable(availableAt=${availableAt})`,
    })
    const listed = await deregister(newcomer).catch((e: unknown) => e)
    expect(listed).toMatchObject({ name: 'ProverHasListings', args: { listings: 1 } })
    await cancelLeave(newcomer, { marketId: fixture.marketId })
    expect((await getListing(reader, me, fixture.marketId)).state).toBe(1)
    await requestLeave(newcomer, { marketId: fixture.marketId })
    await advanceTime(devnet, exitDelay)
    await completeLeave(newcomer, { marketId: fixture.marketId })
    expect(await getProverListings(reader, me)).toEqual([])
    expect((await getMarketProvers(reader, fixture.marketId)).map(({ prover }) => prover)).toEqual([
      addressOf(devnet, 'prover'),
    ])
    await deregister(newcomer)
    expect((await getProver(reader, me)).registered).toBe(false)
    const gone = await setCapacity(newcomer, { capacity: 1 }).catch((e: unknown) => e)
    expect(gone).toMatchObject({ name: 'NotRegistered', args: { prover: me } })
  })

  it('native stake: unbond, cancel, unbond again, withdraw after the unbonding period', async () => {
    const { devnet } = current()
    const { reader, actors, deployment } = devnet
    const prover = addressOf(devnet, 'prover')
    const period = await reader.public.readContract({
      address: deployment.contracts.nativeStaking,
      abi: nativeStakingAbi,
      functionName: 'unbondingPeriod',
    })
    const unbonding = await unstake(actors.prover, { amount: parseEther('300') })
    expect(unbonding).toMatchObject({ unbonding: parseEther('300'), availableAt: (await chainTime(reader)) + period })
    expect(await getNativeStake(reader, prover)).toEqual({
      staked: STAKE - parseEther('300'),
      locked: 0n,
      available: STAKE - parseEther('300'),
      unbonding: parseEther('300'),
      unbondingAvailableAt: unbonding.availableAt,
    })
    const tooEarly = await withdrawStake(actors.prover).catch((e: unknown) => e)
    expect(tooEarly).toMatchObject({ name: 'UnbondingNotFinished', args: { availableAt: unbonding.availableAt } })
    expect((await cancelUnstake(actors.prover)).amount).toBe(parseEther('300'))
    expect((await getNativeStake(reader, prover)).staked).toBe(STAKE)

    const tooMuch = await unstake(actors.prover, { amount: STAKE + 1n }).catch((e: unknown) => e)
    expect(tooMuch).toMatchObject({ name: 'InsufficientStake', args: { available: STAKE, required: STAKE + 1n } })
    await unstake(actors.prover, { amount: parseEther('100') })
    await advanceTime(devnet, Number(period))
    const withdrawn = await withdrawStake(actors.prover, { to: addressOf(devnet, 'bystander') })
    expect(withdrawn.amount).toBe(parseEther('100'))
    const [, stakeToken] = await getBalances(reader, addressOf(devnet, 'bystander'))
    expect(stakeToken).toEqual({ token: deployment.contracts.stakeToken, marketplace: 0n, wallet: parseEther('100') })
    expect(await getNativeStake(reader, prover)).toMatchObject({ staked: STAKE - parseEther('100'), unbonding: 0n })
  })

  it('private inputs: encrypted to the active matcher key, re-wrapped to the prover enclave, rejected as invalid', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    expect(await getActiveMatcherKeys(requester(devnet))).toEqual([
      expect.objectContaining({ signer: matcherEnclave.address, eciesPublicKey: eciesPublicKeyOf(MATCHER_ECIES_KEY) }),
    ])
    await fund(devnet)
    const { publicInputs } = await preimageStatement()
    const secret = stringToBytes('the preimage is 42')
    const created = await requestProof(requester(devnet), {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
      privateInputs: secret,
    })
    const { encrypted } = created
    if (!encrypted) throw new Error('no envelope')
    expect(encrypted.matchers.map(({ signer }) => signer)).toEqual([matcherEnclave.address])
    // Posted inline, committed to by its digest.
    expect(created.privateInputs.data).toBe(encrypted.envelope)
    expect(keccak256(created.privateInputs.data)).toBe(encrypted.digest)
    // Encrypted for this request: its poster (RequestCreated's requester) and its public inputs.
    const context = {
      chainId: foundry.id,
      marketplace: deployment.contracts.proofMarketplace,
      marketId: fixture.marketId,
      requester: created.requester,
      publicInputsDigest: keccak256(created.publicInputs.data),
    }
    expect(created.requester).toBe(addressOf(devnet, 'requester'))
    expect(
      privateInputsContextFor(requester(devnet), { marketId: fixture.marketId, publicInputs: created.publicInputs }),
    ).toEqual(context)
    // The matcher opens it with its ECIES key under the request's context, and under no other.
    expect(openPrivateInputs({ envelope: encrypted.envelope, privateKey: MATCHER_ECIES_KEY, context })).toEqual(secret)
    for (const other of [
      { marketId: 2n },
      { requester: addressOf(devnet, 'bystander') },
      { publicInputsDigest: keccak256((await preimageStatement()).publicInputs) },
    ]) {
      expect(() =>
        openPrivateInputs({
          envelope: encrypted.envelope,
          privateKey: MATCHER_ECIES_KEY,
          context: { ...context, ...other },
        }),
      ).toThrow(/DecryptionFailed/)
    }
    expect(() => openPrivateInputs({ envelope: encrypted.envelope, privateKey: PROVER_ECIES_KEY, context })).toThrow(
      /NoWrapForRecipient/,
    )

    // The matcher re-wraps the data key to the prover's attested enclave key; the prover's enclave decrypts.
    const inputKey = rewrapForProver({
      envelope: encrypted.envelope,
      matcherPrivateKey: MATCHER_ECIES_KEY,
      proverPublicKey: eciesPublicKeyOf(PROVER_ECIES_KEY),
      context,
    })
    const progress = progressLog()
    const waiting = waitForProof(reader, created.requestId, { pollIntervalMs: 20, ...progress }).catch(
      (e: unknown) => e,
    )
    const task = await assign(devnet, created.requestId, inputKey)
    expect(
      decryptWithInputKey({ envelope: encrypted.envelope, inputKey, privateKey: PROVER_ECIES_KEY, context }),
    ).toEqual(secret)

    // The enclave finds no witness and attests it; the SDK's typed data is the marketplace's.
    const statement = { requestId: created.requestId, inputsDigest: created.request.inputsDigest }
    const forged = await signInvalidInputs(matcherEnclave, deployment, statement)
    const refused = await rejectInputs(actors.prover, { ...task, signature: forged }).catch((e: unknown) => e)
    expect(refused).toMatchObject({
      name: 'NotProverEnclave',
      args: { signer: matcherEnclave.address, prover: addressOf(devnet, 'prover') },
    })
    const signature = await proverEnclave.signTypedData(invalidInputsTypedData(deployment, statement))
    expect(signature).toBe(await signInvalidInputs(proverEnclave, deployment, statement))
    const rejected = await rejectInputs(actors.prover, { requestId: created.requestId, signature })
    expect(rejected).toMatchObject({ requestId: created.requestId, price: PRICE, refund: MAX_REWARD - PRICE })
    expect((await loadRequest(reader, created.requestId)).state).toBe('InputsRejected')

    const failed = await waiting
    expect(failed).toBeInstanceOf(ProofRequestFailedError)
    expect(failed).toMatchObject({ outcome: 'InputsRejected', details: { price: PRICE, refund: MAX_REWARD - PRICE } })
    expect(progress.seen.map(({ stage }) => stage)).toEqual([
      'open',
      'assigned',
      'input-key-released',
      'inputs-rejected',
    ])
  })

  it('private inputs are never wrapped to a key of an operator governance removed', async () => {
    const { devnet, fixture } = current()
    const owner = withAttestation(devnet.actors.deployer, fixture.attestation)
    const second = withAttestation(devnet.actors.matcher, fixture.attestation)
    const secondKey = keccak256(toHex(`${SEED} second matcher ecies`))
    const secondSigner = privateKeyToAccount(keccak256(toHex(`${SEED} second matcher signer`))).address
    const operator = second.wallet.account.address
    await setOperatorAdmitted(owner, { role: 'Matcher', operator })
    await registerEnclaveKey(second, {
      enclave: fixture.enclave('Matcher'),
      signer: secondSigner,
      eciesPublicKey: eciesPublicKeyOf(secondKey),
    })
    await fund(devnet, 2n * MAX_REWARD)
    const { publicInputs } = await preimageStatement()
    const secret = stringToBytes('only for admitted matchers')
    const params = {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
      privateInputs: secret,
    }
    const context = {
      chainId: foundry.id,
      marketplace: devnet.deployment.contracts.proofMarketplace,
      marketId: fixture.marketId,
      requester: addressOf(devnet, 'requester'),
      publicInputsDigest: keccak256(publicInputs),
    }
    // Both operators admitted: both keys receive the data key.
    const both = await requestProof(requester(devnet), params)
    expect(both.encrypted?.matchers.map((m) => m.signer).sort()).toEqual([matcherEnclave.address, secondSigner].sort())
    const envelope = both.encrypted?.envelope as Hex
    expect(openPrivateInputs({ envelope, privateKey: secondKey, context })).toEqual(secret)

    // Governance removes the second operator: its (unexpired, unrevoked) key is no longer a recipient.
    await setOperatorAdmitted(owner, { role: 'Matcher', operator, admitted: false })
    expect(await isActiveKey(requester(devnet), { role: 'Matcher', signer: secondSigner })).toBe(false)
    expect((await getActiveMatcherKeys(requester(devnet))).map((m) => m.signer)).toEqual([matcherEnclave.address])
    const one = await requestProof(requester(devnet), params)
    expect(one.encrypted?.matchers.map((m) => m.signer)).toEqual([matcherEnclave.address])
    const sealed = one.encrypted?.envelope as Hex
    expect(parseEnvelope(sealed).wraps.map((w) => w.recipient)).toEqual([
      recipientIdOf(eciesPublicKeyOf(MATCHER_ECIES_KEY)),
    ])
    expect(() => openPrivateInputs({ envelope: sealed, privateKey: secondKey, context })).toThrow(/NoWrapForRecipient/)
    expect(openPrivateInputs({ envelope: sealed, privateKey: MATCHER_ECIES_KEY, context })).toEqual(secret)
  })

  it('private inputs need an attestation deployment and an active matcher key', async () => {
    const { devnet, fixture } = current()
    await fund(devnet)
    const { publicInputs } = await preimageStatement()
    const params = {
      marketId: fixture.marketId,
      maxReward: MAX_REWARD,
      provingTime: PROVING_TIME,
      publicInputs,
      privateInputs: new Uint8Array([1, 2, 3]),
    }
    const noAttestation = await requestProof(devnet.actors.requester, params).catch((e: unknown) => e)
    expect(noAttestation).toBeInstanceOf(PrivateInputsSetupError)
    expect(noAttestation).toMatchObject({ code: 'NoAttestationDeployment' })
    // The matcher's attestation lapses after an hour: nobody could decrypt any more.
    await advanceTime(devnet, 3_601)
    expect(await getActiveMatcherKeys(requester(devnet))).toEqual([])
    const noKey = await requestProof(requester(devnet), params).catch((e: unknown) => e)
    expect(noKey).toMatchObject({ name: 'PrivateInputsSetupError', code: 'NoActiveMatcherKey' })
  })

  it('markets: create with validation, list from logs with their current metadata URI', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    expect(() => validateMarketParams(groth16MarketParams(deployment, { slashPenalty: parseEther('101') }))).toThrow(
      new InvalidParameterError(
        'slashPenalty',
        `the penalty (${parseEther('101')}) cannot exceed the stake locked per task (${parseEther('100')})`,
      ),
    )
    const badBps = await createMarket(
      actors.bystander,
      groth16MarketParams(deployment, { requesterCompensationBps: 9_501 }),
    ).catch((e: unknown) => e)
    expect(badBps).toBeInstanceOf(InvalidParameterError)
    expect((badBps as Error).message).toBe('requesterCompensationBps: expected 0 to 9500 basis points, got 9501')
    const unapproved = await createMarket(
      actors.bystander,
      groth16MarketParams(deployment, { stakeSource: deployment.contracts.paymentToken }),
    ).catch((e: unknown) => e)
    expect(unapproved).toMatchObject({
      name: 'StakeSourceNotApproved',
      args: { stakeSource: deployment.contracts.paymentToken },
    })

    const { marketId } = await createMarket(
      actors.bystander,
      groth16MarketParams(deployment, { metadataURI: 'ipfs://first', fallbackDelay: 0 }),
    )
    await setMarketMetadata(actors.bystander, { marketId, metadataURI: 'ipfs://second' })
    const notCreator = await setMarketMetadata(actors.requester, { marketId, metadataURI: 'x' }).catch(
      (e: unknown) => e,
    )
    expect(notCreator).toMatchObject({ name: 'NotMarketCreator', args: { caller: addressOf(devnet, 'requester') } })

    const markets = await listMarkets(reader)
    expect(markets.map(({ marketId, metadataURI }) => ({ marketId, metadataURI }))).toEqual([
      { marketId: fixture.marketId, metadataURI: 'ipfs://cairn-devnet/poseidon_preimage' },
      { marketId, metadataURI: 'ipfs://second' },
    ])
    const details = await getMarketDetails(reader, marketId)
    expect(details).toMatchObject({
      marketId,
      creator: addressOf(devnet, 'bystander'),
      metadataURI: 'ipfs://second',
      params: { metadataURI: 'ipfs://first', fallbackDelay: 0 },
      market: {
        creator: addressOf(devnet, 'bystander'),
        requestCount: 0,
        paymentToken: deployment.contracts.paymentToken,
      },
    })
    expect(await getMarketDetails(reader, 99n)).toBeUndefined()
  })

  it('refuses bad requests before sending, with typed errors', async () => {
    const { devnet, fixture } = current()
    const { reader, actors } = devnet
    const { publicInputs } = await preimageStatement()
    const base = { marketId: fixture.marketId, maxReward: MAX_REWARD, provingTime: PROVING_TIME, publicInputs }

    const poor = await requestProof(actors.requester, base).catch((e: unknown) => e)
    expect(poor).toBeInstanceOf(InsufficientFundsError)
    expect(poor).toMatchObject({ required: MAX_REWARD, available: { marketplace: 0n, wallet: 0n } })
    await fund(devnet)

    const now = await chainTime(reader)
    const cases: [Parameters<typeof requestProof>[1], string][] = [
      [{ ...base, marketId: 7n }, 'marketId: no market 7'],
      [{ ...base, maxReward: 0n }, 'maxReward: expected 1 to'],
      [{ ...base, speedPreferenceBps: 10_001 }, 'speedPreferenceBps: expected 0 to 10000 basis points'],
      [{ ...base, publicInputs: '0x' }, 'publicInputs: must not be empty'],
      [{ ...base, deadline: now + 100n }, 'matchingExpiry:'],
      [{ ...base, matchingExpiry: now + 600n, deadline: now + 700n }, 'deadline:'],
      [{ ...base, deadline: now + 91n * 86_400n }, 'more than 90 days'],
    ]
    for (const [params, message] of cases) {
      const error = await requestProof(actors.requester, params).catch((e: unknown) => e)
      expect(error, message).toBeInstanceOf(InvalidParameterError)
      expect((error as Error).message).toContain(message)
    }
    expect(resolveSchedule(1_000n, { provingTime: 100, deadline: 2_000 })).toEqual({
      provingTime: 100,
      matchingExpiry: 1_900,
      deadline: 2_000,
    })
    // The chain still has the last word, decoded: a verifier that refuses the public inputs' shape.
    const wrongShape = await requestProof(actors.requester, { ...base, publicInputs: '0x01' }).catch((e: unknown) => e)
    expect(wrongShape).toMatchObject({ name: 'InvalidPublicInputs', message: 'InvalidPublicInputs()' })
  })

  it('decodes the reverts of every contract family, restaking included, and marks unknown data', () => {
    const cases = [
      [
        encodeErrorResult({ abi: stakeMirrorAbi, errorName: 'TaskOutlivesSlashingWindow', args: [9_000n, 8_000n] }),
        'TaskOutlivesSlashingWindow(deadline=9000, latestDeadline=8000)',
      ],
      [
        encodeErrorResult({ abi: stakeMirrorAbi, errorName: 'SlashAlreadySettled', args: [zeroHash, 2] }),
        `SlashAlreadySettled(orderId=${zeroHash}, status=Executed)`,
      ],
      [
        encodeErrorResult({ abi: stakeMirrorAbi, errorName: 'QuorumNotReached', args: [1n, 2n] }),
        'QuorumNotReached(operators=1, required=2)',
      ],
      [
        encodeErrorResult({ abi: teeRegistryAbi, errorName: 'OperatorNotAdmitted', args: [0, zeroAddress] }),
        `OperatorNotAdmitted(role=Matcher, operator=${zeroAddress})`,
      ],
      [
        encodeErrorResult({ abi: cairnNetworkMiddlewareAbi, errorName: 'ProverAlreadyBound', args: [zeroAddress] }),
        `ProverAlreadyBound(prover=${zeroAddress})`,
      ],
      [encodeErrorResult({ abi: iVaultAbi, errorName: 'InsufficientDeposit' }), 'InsufficientDeposit()'],
      [encodeErrorResult({ abi: requestLensAbi, errorName: 'ZeroAddress' }), 'ZeroAddress()'],
    ] as const
    for (const [data, message] of cases) {
      const decoded = decodeRevertData(data)
      expect(decoded).toBeInstanceOf(CairnContractError)
      expect(decoded.message).toBe(message)
    }
    expect(decodeRevertData('0xdeadbeef')).toMatchObject({ name: 'UnknownError', selector: '0xdeadbeef' })
    // A failure without revert data (a network error) is not a contract error.
    expect(decodeCairnError(new Error('fetch failed'))).toBeUndefined()
  })
})

describe('reading a request across a reorg', () => {
  it('reads again when a reorg lands between the request’s log and its state, and returns the new chain’s record', async () => {
    const { devnet, fixture } = current()
    const { actors, reader, test } = devnet
    await fund(devnet, 2n * MAX_REWARD)
    const post = async () =>
      requestProof(actors.requester, {
        marketId: fixture.marketId,
        maxReward: MAX_REWARD,
        provingTime: PROVING_TIME,
        publicInputs: (await preimageStatement()).publicInputs,
      })
    const snapshot = await test.snapshot()
    const lost = await post()
    let replacing: Awaited<ReturnType<typeof post>> | undefined
    // A node that serves the lost request's log, and then, before the state read, the chain of a reorg that
    // replaced it with another request under the same id.
    const racing = {
      deployment: reader.deployment,
      public: createPublicClient({
        chain: foundry,
        transport: custom({
          request: async ({ method, params }) => {
            const result = await reader.public.request({ method, params } as never)
            if (method === 'eth_getLogs' && replacing === undefined && (result as unknown[]).length > 0) {
              await test.revert({ id: snapshot })
              replacing = await post()
            }
            return result
          },
        }),
      }),
    }
    const loaded = await loadRequest(racing, lost.requestId)
    expect(replacing?.requestId).toBe(lost.requestId)
    expect(loaded.request).toEqual(replacing?.request)
    expect(loaded.request).not.toEqual(lost.request)
    expect(loaded.state).toBe('Open')
  })
})

describe('following a sent transaction', () => {
  it('ends the wait with TransactionDroppedError a few blocks after the node drops the transaction', async () => {
    const { actors, deployment, test, reader } = current().devnet
    await test.setAutomine(false)
    onTestFinished(async () => {
      await test.setIntervalMining({ interval: 0 })
      await test.setAutomine(true)
    })
    const account = actors.bystander.wallet.account.address
    const token = deployment.contracts.paymentToken
    const nonce = await reader.public.getTransactionCount({ address: account })
    const minting = mintDevToken(actors.bystander, token, account, 1n).catch((error: unknown) => error)
    const pooled = await vi.waitFor(
      async () => {
        const { pending } = await test.getTxpoolContent()
        const mine = Object.entries(pending).find(([address]) => address.toLowerCase() === account.toLowerCase())
        const [tx] = mine ? Object.values(mine[1]) : []
        if (tx === undefined) throw new Error('not in the pool yet')
        return tx
      },
      { timeout: 30_000, interval: 50 },
    )
    await test.dropTransaction({ hash: pooled.hash })
    await test.setIntervalMining({ interval: 1 })
    // Not viem's fixed 180 s: the wait ends once the node has not known the transaction for two blocks.
    expect(await minting).toMatchObject({ name: 'TransactionDroppedError', hash: pooled.hash })
    expect(await reader.public.getTransactionCount({ address: account })).toBe(nonce)
  })

  it('names why a transaction reverted once mined: the decoded error at its block’s time, or out of gas', async () => {
    const { devnet, fixture } = current()
    const { actors, deployment, reader, test } = devnet
    const params = preimageRequest({
      marketId: fixture.marketId,
      now: await chainTime(reader),
      publicInputs: (await preimageStatement()).publicInputs,
      maxReward: MAX_REWARD,
      refundAddress: addressOf(devnet, 'requester'),
      schedule: { provingTime: PROVING_TIME, matchingWindow: 60 },
    })
    const caught = (sending: Promise<unknown>) => sending.catch((error: unknown) => error)
    // Valid when sent, mined after its deadline: what a slow send meets. The replay runs at the block's own time.
    await test.setNextBlockTimestamp({ timestamp: BigInt(params.deadline + 1) })
    const late = await caught(
      sent(reader, () =>
        actors.requester.wallet.writeContract({
          address: deployment.contracts.proofMarketplace,
          abi: proofMarketplaceAbi,
          functionName: 'createRequest',
          args: [params],
          gas: 1_000_000n,
        }),
      ),
    )
    expect(late).toBeInstanceOf(TransactionRevertedError)
    expect((late as TransactionRevertedError).reason).toMatchObject({
      kind: 'error',
      error: { name: 'DeadlineInPast' },
    })
    expect((late as Error).message).toMatch(/reverted in block \d+: DeadlineInPast\(deadline=\d+\)/)
    // An approval to a fresh spender writes a new slot (22,100 gas): 30,000 in all cannot pay for it.
    const starved = await caught(
      sent(reader, () =>
        actors.requester.wallet.writeContract({
          address: deployment.contracts.paymentToken,
          abi: devTokenAbi,
          functionName: 'approve',
          args: [privateKeyToAccount(keccak256(toHex('a fresh spender'))).address, 1n],
          gas: 30_000n,
        }),
      ),
    )
    expect((starved as TransactionRevertedError).reason).toEqual({ kind: 'out-of-gas', gasLimit: 30_000n })
    expect((starved as Error).message).toMatch(/out of gas \(limit 30000\)/)
  })
})
