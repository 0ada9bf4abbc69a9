import {
  type Address,
  isAddressEqual,
  keccak256,
  parseEther,
  recoverTypedDataAddress,
  zeroAddress,
  zeroHash,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import type { Devnet } from '../ts/devnet/stack.js'
import {
  assignmentTypedData,
  balanceOf,
  CairnContractError,
  cancel,
  chainTime,
  claim,
  createMarket,
  createRequest,
  decodeCairnError,
  deposit,
  emptyTask,
  encodePublicSignals,
  eventOf,
  fulfil,
  fulfilBatch,
  getBalance,
  getRequestState,
  getRequestStatus,
  getStake,
  groth16BatchVerifierAbi,
  list,
  loadRequest,
  marketIdOf,
  mintDevToken,
  proofContextOf,
  proofMarketplaceAbi,
  provePoseidonPreimage,
  RequestNotFoundError,
  type RequestParams,
  register,
  remoteInputs,
  requestIdOf,
  requestIndexOf,
  requestInputsDigest,
  signAssignments,
  slash,
  stake,
  submitAssignments,
  updateListing,
  withdraw,
  withListedTerms,
} from '../ts/index.js'
import { advanceTime, useDevnet } from './anvil.js'

const STAKE = parseEther('1000')
const STAKE_PER_TASK = parseEther('100')
const SLASH_PENALTY = parseEther('50')
const COMPENSATION_BPS = 5_000n
const SLASHER_REWARD_BPS = 500n
const FALLBACK_DELAY = 30
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
const MATCHING_WINDOW = 600

/** One Groth16 market and one staked prover listed in it; every test starts from here. */
const current = useDevnet(async (devnet) => {
  const { actors, deployment } = devnet
  const { marketId } = await createMarket(
    actors.deployer,
    groth16MarketParams(deployment, {
      stakePerTask: STAKE_PER_TASK,
      slashPenalty: SLASH_PENALTY,
      requesterCompensationBps: Number(COMPENSATION_BPS),
      fallbackDelay: FALLBACK_DELAY,
    }),
  )
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, STAKE)
  await register(actors.prover, { capacity: 4 })
  await stake(actors.prover, { amount: STAKE })
  await list(actors.prover, { marketId, price: PRICE, provingTime: PROVING_TIME })
  return { marketId }
})

const addressOf = (devnet: Devnet, role: keyof Devnet['actors']): Address => devnet.actors[role].wallet.account.address

/** Request params for a fresh Poseidon preimage statement. */
async function requestFor(devnet: Devnet, marketId: bigint, overrides: Partial<RequestParams> = {}) {
  const statement = await preimageStatement()
  const params = {
    ...preimageRequest({
      marketId,
      now: await chainTime(devnet.reader),
      publicInputs: statement.publicInputs,
      maxReward: MAX_REWARD,
      refundAddress: addressOf(devnet, 'requester'),
      schedule: { provingTime: PROVING_TIME, matchingWindow: MATCHING_WINDOW },
    }),
    ...overrides,
  }
  return { statement, params }
}

/** The requester mints the reward and posts a request for a fresh statement (escrow pulled with transferFrom). */
async function postRequest(devnet: Devnet, marketId: bigint, overrides: Partial<RequestParams> = {}) {
  const { actors, deployment } = devnet
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, addressOf(devnet, 'requester'), MAX_REWARD)
  const { statement, params } = await requestFor(devnet, marketId, overrides)
  const created = await createRequest(actors.requester, params)
  return { created, requestId: created.requestId, statement, params }
}

/** The matcher signs (request, prover) and a bystander submits, records travelling with the batch. */
async function assignByMatcher(devnet: Devnet, created: Awaited<ReturnType<typeof createRequest>>) {
  const batch = await signAssignments(devnet.actors.matcher, {
    assignments: await withListedTerms(devnet.reader, [
      { requestId: created.requestId, prover: addressOf(devnet, 'prover'), request: created.request },
    ]),
    validUntil: (await chainTime(devnet.reader)) + 300n,
  })
  return { batch, outcome: await submitAssignments(devnet.actors.bystander, batch) }
}

/** Token and marketplace balances of the actors, for exact before/after checks. */
async function balances(devnet: Devnet, token: Address) {
  const { reader, deployment } = devnet
  const of = (role: keyof Devnet['actors']) => addressOf(devnet, role)
  return {
    marketplace: await balanceOf(reader, token, deployment.contracts.proofMarketplace),
    requesterTokens: await balanceOf(reader, token, of('requester')),
    requester: await getBalance(reader, of('requester'), token),
    prover: await getBalance(reader, of('prover'), token),
    bystander: await getBalance(reader, of('bystander'), token),
    treasury: await getBalance(reader, deployment.treasury, token),
  }
}

describe('Cairn end to end on anvil', () => {
  it('market → request → matcher assignment → real Groth16 proof → fulfil → withdraw', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken } = deployment.contracts
    const prover = addressOf(devnet, 'prover')
    const requester = addressOf(devnet, 'requester')

    const { created, requestId, statement } = await postRequest(devnet, fixture.marketId)
    // Request ids are marketId << 64 | index, the index counting from 1 within the market.
    expect(requestId).toBe(requestIdOf(fixture.marketId, 1n))
    expect([marketIdOf(requestId), requestIndexOf(requestId)]).toEqual([fixture.marketId, 1n])
    expect(created.escrowSource).toBe('transferFrom')
    expect(created.approval).toBeDefined()
    expect(created.marketId).toBe(fixture.marketId)
    expect(created.request.maxReward).toBe(MAX_REWARD)
    expect(await getRequestState(reader, created)).toBe('Open')
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: MAX_REWARD,
      requesterTokens: 0n,
      requester: 0n,
      prover: 0n,
      bystander: 0n,
      treasury: 0n,
    })

    const { batch, outcome } = await assignByMatcher(devnet, created)
    // The SDK's EIP-712 encoding must be the contract's: the marketplace recovered the matcher from its own digest
    // (any drift would have reverted NotMatcher), and the SDK's typed data recovers the same key.
    const signer = await recoverTypedDataAddress({
      ...assignmentTypedData(deployment, batch),
      signature: batch.signature,
    })
    expect(isAddressEqual(signer, addressOf(devnet, 'matcher'))).toBe(true)
    expect(outcome.skipped).toEqual([])
    expect(outcome.assigned).toHaveLength(1)
    const [assigned] = outcome.assigned
    if (!assigned) throw new Error('not assigned')
    expect(assigned.task.price).toBe(PRICE)
    expect(assigned.byMatcher).toBe(true)
    expect(isAddressEqual(assigned.task.prover, prover)).toBe(true)
    expect(assigned.task.deadline).toBe(Number(await chainTime(reader)) + PROVING_TIME)
    expect(assigned.request).toEqual(created.request)
    expect(await getRequestState(reader, assigned)).toBe('Assigned')
    expect(await getStake(reader, prover)).toEqual({ staked: STAKE, locked: STAKE_PER_TASK })

    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    expect(proof.publicInputs).toBe(statement.publicInputs)
    expect(proof.publicSignals).toEqual([statement.digest, statement.context])
    const verifies = await reader.public.readContract({
      address: deployment.contracts.groth16Adapter,
      abi: groth16BatchVerifierAbi,
      functionName: 'verify',
      args: [proof.publicInputs, proof.proof, proofContextOf(assigned)],
    })
    expect(verifies).toBe(true)

    const fulfilment = { ...assigned, publicInputs: proof.publicInputs, proof: proof.proof }
    const fulfilled = await fulfil(actors.prover, fulfilment)
    expect(fulfilled.price).toBe(PRICE)
    expect(fulfilled.refund).toBe(MAX_REWARD - PRICE)
    expect(await getRequestState(reader, requestId)).toBe('Fulfilled')
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: MAX_REWARD,
      requesterTokens: 0n,
      requester: MAX_REWARD - PRICE,
      prover: PRICE,
      bystander: 0n,
      treasury: 0n,
    })
    expect(await getStake(reader, prover)).toEqual({ staked: STAKE, locked: 0n })

    // A second submission is rejected in simulation, decoded, before any transaction is sent.
    await expect(fulfil(actors.prover, fulfilment)).rejects.toMatchObject({
      name: 'RequestAlreadyFulfilled',
      args: { requestId },
    })

    expect((await withdraw(actors.prover, paymentToken)).amount).toBe(PRICE)
    expect((await withdraw(actors.requester, paymentToken)).amount).toBe(MAX_REWARD - PRICE)
    expect(await balanceOf(reader, paymentToken, prover)).toBe(PRICE)
    expect(await balanceOf(reader, paymentToken, requester)).toBe(MAX_REWARD - PRICE)
    expect(await balanceOf(reader, paymentToken, deployment.contracts.proofMarketplace)).toBe(0n)
    expect(await getBalance(reader, prover, paymentToken)).toBe(0n)
    expect(await getBalance(reader, requester, paymentToken)).toBe(0n)
  })

  it('fallback claim once the matcher stays silent past the fallback delay', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken } = deployment.contracts
    const prover = addressOf(devnet, 'prover')
    const { created, requestId, statement } = await postRequest(devnet, fixture.marketId)
    const { createdAt } = created.request

    const early = await claim(actors.prover, created).catch((error: unknown) => error)
    expect(early).toBeInstanceOf(CairnContractError)
    expect(early).toMatchObject({
      name: 'FallbackNotOpen',
      args: { requestId, opensAt: BigInt(createdAt + FALLBACK_DELAY) },
      message: `FallbackNotOpen(requestId=${requestId}, opensAt=${createdAt + FALLBACK_DELAY})`,
    })

    await advanceTime(devnet, FALLBACK_DELAY + 1)
    // By id only: the record is loaded from the RequestCreated log.
    const claimed = await claim(actors.prover, requestId)
    expect(claimed.task.price).toBe(PRICE)
    expect(claimed.byMatcher).toBe(false)
    expect(claimed.request).toEqual(created.request)
    const assigned = eventOf(
      claimed.receipt,
      deployment.contracts.proofMarketplace,
      proofMarketplaceAbi,
      'TaskAssigned',
    )
    expect(assigned.args.byMatcher).toBe(false)
    expect(assigned.args.task).toEqual(claimed.task)
    expect(isAddressEqual(assigned.args.prover, prover)).toBe(true)
    expect(await getRequestState(reader, requestId)).toBe('Assigned')

    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    const fulfilled = await fulfil(actors.prover, { ...claimed, ...proof, privateInputsDigest: zeroHash })
    expect(fulfilled.price).toBe(PRICE)
    expect(await getRequestState(reader, requestId)).toBe('Fulfilled')
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: MAX_REWARD,
      requesterTokens: 0n,
      requester: MAX_REWARD - PRICE,
      prover: PRICE,
      bystander: 0n,
      treasury: 0n,
    })
  })

  it('deadline miss → third-party slash with no enclave path: escrow back, the whole penalty to the treasury', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken, stakeToken, proofMarketplace } = deployment.contracts
    const prover = addressOf(devnet, 'prover')
    const requester = addressOf(devnet, 'requester')
    const slasher = addressOf(devnet, 'bystander')

    const rewardBps = await reader.public.readContract({
      address: proofMarketplace,
      abi: proofMarketplaceAbi,
      functionName: 'SLASHER_REWARD_BPS',
    })
    expect(BigInt(rewardBps)).toBe(SLASHER_REWARD_BPS)
    // No enclave-key registry on this devnet: the prover could not have attested the inputs unprovable, so a missed
    // deadline pays no compensation and no slasher reward (a requester must not profit from an unprovable request).
    const enclaveKeys = await reader.public.readContract({
      address: proofMarketplace,
      abi: proofMarketplaceAbi,
      functionName: 'enclaveKeys',
    })
    expect(enclaveKeys).toBe(zeroAddress)

    const { created, requestId, statement } = await postRequest(devnet, fixture.marketId)
    const [task] = (await assignByMatcher(devnet, created)).outcome.assigned
    if (!task) throw new Error('not assigned')
    await expect(slash(actors.bystander, task)).rejects.toMatchObject({ name: 'TaskDeadlineNotPassed' })

    await advanceTime(devnet, PROVING_TIME + 1)
    expect(await getRequestState(reader, task)).toBe('DeadlineMissed')
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    await expect(fulfil(actors.prover, { ...task, ...proof })).rejects.toMatchObject({ name: 'TaskDeadlinePassed' })

    const slashed = await slash(actors.bystander, task)
    expect(slashed).toMatchObject({ requestId, penalty: SLASH_PENALTY, compensation: 0n, slasherReward: 0n })
    expect(isAddressEqual(slashed.prover, prover)).toBe(true)
    expect(await getRequestState(reader, requestId)).toBe('Slashed')

    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: MAX_REWARD,
      requesterTokens: 0n,
      requester: MAX_REWARD,
      prover: 0n,
      bystander: 0n,
      treasury: 0n,
    })
    expect(await balances(devnet, stakeToken)).toEqual({
      marketplace: SLASH_PENALTY,
      requesterTokens: 0n,
      requester: 0n,
      prover: 0n,
      bystander: 0n,
      treasury: SLASH_PENALTY,
    })
    expect(await getStake(reader, prover)).toEqual({ staked: STAKE - SLASH_PENALTY, locked: 0n })

    await withdraw(actors.requester, paymentToken)
    await withdraw(actors.deployer, stakeToken)
    expect(await balanceOf(reader, paymentToken, requester)).toBe(MAX_REWARD)
    expect(await balanceOf(reader, stakeToken, requester)).toBe(0n)
    expect(await balanceOf(reader, stakeToken, slasher)).toBe(0n)
    expect(await balanceOf(reader, stakeToken, deployment.treasury)).toBe(SLASH_PENALTY)
    expect(await balanceOf(reader, stakeToken, proofMarketplace)).toBe(0n)
    expect(await balanceOf(reader, paymentToken, proofMarketplace)).toBe(0n)
  })

  it('fulfilBatch: every valid item lands with the estimated gas limit, bad items are skipped', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken } = deployment.contracts
    const requester = addressOf(devnet, 'requester')
    const prover = addressOf(devnet, 'prover')
    // Several requests for one statement: one real proof answers them all. One more request, for another
    // statement, gets that proof too: its inputs match, so only the (expensive) verification rejects it.
    const statement = await preimageStatement()
    const other = await preimageStatement()
    const created = []
    for (const publicInputs of [statement, statement, other, statement].map((s) => s.publicInputs)) {
      await mintDevToken(actors.requester, paymentToken, requester, MAX_REWARD)
      const params = preimageRequest({
        marketId: fixture.marketId,
        now: await chainTime(reader),
        publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: requester,
      })
      created.push(await createRequest(actors.requester, params))
    }
    const batch = await signAssignments(actors.matcher, {
      assignments: await withListedTerms(
        reader,
        created.map(({ requestId, request }) => ({ requestId, prover, request })),
      ),
      validUntil: (await chainTime(reader)) + 300n,
    })
    const { assigned } = await submitAssignments(actors.bystander, batch)
    expect(assigned.map((t) => t.requestId)).toEqual(created.map((c) => c.requestId))

    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    // The prover's capacity (4) is all in use: four tasks.
    const [wrongInputs, good1, invalidProof, good2] = assigned
    if (!wrongInputs || !good1 || !invalidProof || !good2) throw new Error('not assigned')
    const good = [good1, good2]
    const outcome = await fulfilBatch(actors.prover, [
      {
        ...wrongInputs,
        publicInputs: encodePublicSignals([statement.digest, statement.context + 1n]),
        proof: proof.proof,
      },
      { ...good1, ...proof },
      { ...invalidProof, publicInputs: other.publicInputs, proof: proof.proof },
      { ...good2, ...proof },
    ])
    expect(outcome.fulfilled.map((f) => f.requestId)).toEqual(good.map((t) => t.requestId))
    expect(outcome.skipped.map(({ requestId, reason }) => [requestId, reason.message])).toEqual([
      [wrongInputs.requestId, `WrongInputs(requestId=${wrongInputs.requestId})`],
      [invalidProof.requestId, `InvalidProof(requestId=${invalidProof.requestId})`],
    ])
    // The estimate was no tighter than needed for all of it: the receipt used less than its limit.
    const tx = await reader.public.getTransaction({ hash: outcome.receipt.transactionHash })
    expect(outcome.receipt.gasUsed < tx.gas).toBe(true)
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: 4n * MAX_REWARD,
      requesterTokens: 0n,
      requester: 2n * (MAX_REWARD - PRICE),
      prover: 2n * PRICE,
      bystander: 0n,
      treasury: 0n,
    })
    expect(await getRequestState(reader, wrongInputs)).toBe('Assigned')
    expect(await getRequestState(reader, invalidProof)).toBe('Assigned')
  })

  it('deposit once, then requests escrow from the balance; transferFrom once it runs out; cancel refunds it', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken } = deployment.contracts
    const requester = addressOf(devnet, 'requester')
    await mintDevToken(actors.requester, paymentToken, requester, 3n * MAX_REWARD)

    const deposited = await deposit(actors.requester, paymentToken, 2n * MAX_REWARD)
    expect(deposited.amount).toBe(2n * MAX_REWARD)
    expect(deposited.approval).toBeDefined()
    expect(
      eventOf(deposited.receipt, deployment.contracts.proofMarketplace, proofMarketplaceAbi, 'Deposited').args,
    ).toMatchObject({ token: paymentToken, amount: 2n * MAX_REWARD })
    expect(await balances(devnet, paymentToken)).toMatchObject({
      marketplace: 2n * MAX_REWARD,
      requesterTokens: MAX_REWARD,
      requester: 2n * MAX_REWARD,
    })

    const first = await createRequest(actors.requester, (await requestFor(devnet, fixture.marketId)).params)
    expect(first).toMatchObject({ escrowSource: 'balance', approval: undefined })
    expect(await balances(devnet, paymentToken)).toMatchObject({
      marketplace: 2n * MAX_REWARD,
      requesterTokens: MAX_REWARD,
      requester: MAX_REWARD,
    })
    const second = await createRequest(actors.requester, (await requestFor(devnet, fixture.marketId)).params)
    expect(second).toMatchObject({ escrowSource: 'balance', approval: undefined })
    expect(await getBalance(reader, requester, paymentToken)).toBe(0n)

    // The balance is spent: the third request pulls its escrow, approving first (the deposit used the allowance).
    const third = await createRequest(actors.requester, (await requestFor(devnet, fixture.marketId)).params)
    expect(third.escrowSource).toBe('transferFrom')
    expect(third.approval).toBeDefined()
    expect([first, second, third].map((c) => requestIndexOf(c.requestId))).toEqual([1n, 2n, 3n])
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: 3n * MAX_REWARD,
      requesterTokens: 0n,
      requester: 0n,
      prover: 0n,
      bystander: 0n,
      treasury: 0n,
    })

    await expect(cancel(actors.bystander, first)).rejects.toMatchObject({ name: 'RequestNotExpired' })
    await advanceTime(devnet, MATCHING_WINDOW + 1)
    expect(await getRequestState(reader, first)).toBe('Expired')
    const cancelled = await cancel(actors.bystander, first)
    expect(cancelled).toMatchObject({ requestId: first.requestId, refund: MAX_REWARD })
    expect(await getRequestState(reader, first.requestId)).toBe('Cancelled')
    expect(await getRequestStatus(reader, first.requestId)).toBe('Cancelled')
    // By id only: the record is loaded from logs.
    expect((await cancel(actors.requester, second.requestId)).refund).toBe(MAX_REWARD)
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: 3n * MAX_REWARD,
      requesterTokens: 0n,
      requester: 2n * MAX_REWARD,
      prover: 0n,
      bystander: 0n,
      treasury: 0n,
    })
    expect((await withdraw(actors.requester, paymentToken)).amount).toBe(2n * MAX_REWARD)
    expect(await balances(devnet, paymentToken)).toMatchObject({
      marketplace: MAX_REWARD,
      requesterTokens: 2n * MAX_REWARD,
      requester: 0n,
    })
  })

  it('a forged record is refused with a decoded RecordMismatch, at every entry point', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken } = deployment.contracts
    const { created, requestId, statement } = await postRequest(devnet, fixture.marketId)
    const mismatch = {
      name: 'RecordMismatch',
      args: { requestId },
      message: `RecordMismatch(requestId=${requestId})`,
    }
    // A doubled max reward would pay out escrow that was never deposited.
    const forged = { requestId, request: { ...created.request, maxReward: 2n * MAX_REWARD } }

    const error = await getRequestState(reader, forged).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CairnContractError)
    expect(error).toMatchObject(mismatch)
    await advanceTime(devnet, FALLBACK_DELAY + 1)
    await expect(claim(actors.prover, forged)).rejects.toMatchObject(mismatch)
    // In a matcher batch the forged item is skipped, not the batch reverted: the same request with its genuine
    // record, later in the batch, is assigned (and reported with that record).
    const prover = addressOf(devnet, 'prover')
    const batch = await signAssignments(actors.matcher, {
      assignments: await withListedTerms(reader, [
        { requestId, prover, request: forged.request },
        { requestId, prover, request: created.request },
      ]),
      validUntil: (await chainTime(reader)) + 300n,
    })
    const outcome = await submitAssignments(actors.bystander, batch)
    expect(outcome.skipped.map((s) => s.reason)).toMatchObject([mismatch])
    expect(outcome.assigned).toHaveLength(1)
    const [task] = outcome.assigned
    if (!task) throw new Error('not assigned')
    expect(task.request).toEqual(created.request)
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    // A forged task: a higher price than the prover listed.
    const forgedTask = { ...task, task: { ...task.task, price: MAX_REWARD } }
    await expect(fulfil(actors.prover, { ...forgedTask, ...proof })).rejects.toMatchObject(mismatch)
    await expect(fulfil(actors.prover, { ...task, request: forged.request, ...proof })).rejects.toMatchObject(mismatch)
    // The all-zero task of an unassigned request no longer matches either.
    await expect(getRequestState(reader, { ...task, task: emptyTask })).rejects.toMatchObject(mismatch)
    await advanceTime(devnet, PROVING_TIME + 1)
    await expect(slash(actors.bystander, forgedTask)).rejects.toMatchObject(mismatch)
    await expect(cancel(actors.bystander, forged)).rejects.toMatchObject({
      name: 'RequestNotOpen',
      args: { requestId, status: 2 },
    })

    // Nothing moved: the genuine records still settle it.
    expect(await getRequestState(reader, task)).toBe('DeadlineMissed')
    expect((await slash(actors.bystander, task)).penalty).toBe(SLASH_PENALTY)
    expect(await balances(devnet, paymentToken)).toEqual({
      marketplace: MAX_REWARD,
      requesterTokens: 0n,
      requester: MAX_REWARD,
      prover: 0n,
      bystander: 0n,
      treasury: 0n,
    })
  })

  it('loadRequest reconstructs the records the events gave, through the whole life of a request', async () => {
    const { devnet, fixture } = current()
    const { reader, actors } = devnet
    const ciphertext = '0xc1f3e2' as const
    const privateInputs = remoteInputs('ipfs://cairn-test/ciphertext', keccak256(ciphertext))
    const { created, requestId, statement } = await postRequest(devnet, fixture.marketId, { privateInputs })
    const { receipt: _receipt, approval: _approval, escrowSource: _source, ...creation } = created
    expect(created.request.inputsDigest).toBe(requestInputsDigest(created.publicInputs, privateInputs))

    const open = await loadRequest(reader, requestId)
    expect(open).toMatchObject({ ...creation, status: 'Open', state: 'Open' })
    expect(open.task).toBeUndefined()
    expect(open.privateInputs).toEqual(privateInputs)
    expect(open.publicInputs.data).toBe(statement.publicInputs)

    const [assigned] = (await assignByMatcher(devnet, created)).outcome.assigned
    if (!assigned) throw new Error('not assigned')
    const loaded = await loadRequest(reader, requestId)
    expect(loaded).toMatchObject({ ...creation, status: 'Assigned', state: 'Assigned', byMatcher: true })
    expect(loaded.task).toEqual(assigned.task)
    expect(loaded.request).toEqual(assigned.request)

    // By id only: records and the private-inputs digest come from the logs.
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    expect((await fulfil(actors.prover, { requestId, ...proof })).price).toBe(PRICE)
    const fulfilled = await loadRequest(reader, requestId)
    expect(fulfilled).toMatchObject({ ...creation, task: assigned.task, status: 'Fulfilled', state: 'Fulfilled' })

    // As of an earlier block, the same request was still assigned.
    const earlier = await loadRequest(reader, requestId, { blockNumber: loaded.blockNumber })
    expect(earlier).toMatchObject({ status: 'Assigned', task: assigned.task })

    const unknown = requestIdOf(fixture.marketId, 99n)
    await expect(loadRequest(reader, unknown)).rejects.toBeInstanceOf(RequestNotFoundError)
    expect(await getRequestStatus(reader, unknown)).toBe('None')
  })

  it('bad input is rejected before sending, as a decoded readable error', async () => {
    const { devnet, fixture } = current()
    const { reader, actors } = devnet
    const requester = addressOf(devnet, 'requester')
    const now = await chainTime(reader)
    const { params } = await requestFor(devnet, fixture.marketId, { deadline: Number(now) - 1 })
    const nonceBefore = await reader.public.getTransactionCount({ address: requester })

    const error = await createRequest(actors.requester, params).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CairnContractError)
    expect(error).toMatchObject({
      name: 'DeadlineInPast',
      args: { deadline: params.deadline },
      message: `DeadlineInPast(deadline=${params.deadline})`,
    })
    expect(await reader.public.getTransactionCount({ address: requester })).toBe(nonceBefore)
    expect(decodeCairnError(new Error('not a contract error'))).toBeUndefined()
  })

  it('skipped batch items carry a decoded reason', async () => {
    const { devnet, fixture } = current()
    const { created, requestId } = await postRequest(devnet, fixture.marketId)
    await assignByMatcher(devnet, created)

    const { outcome } = await assignByMatcher(devnet, created)
    expect(outcome.assigned).toEqual([])
    expect(outcome.skipped).toHaveLength(1)
    expect(outcome.skipped[0]?.reason).toMatchObject({
      name: 'RequestNotOpen',
      message: `RequestNotOpen(requestId=${requestId}, status=Assigned)`,
    })
  })

  it('a matcher batch holds only at the listing it signed: a prover raising its price before inclusion is skipped', async () => {
    const { devnet, fixture } = current()
    const { actors, reader } = devnet
    const { created, requestId } = await postRequest(devnet, fixture.marketId)
    const prover = addressOf(devnet, 'prover')
    const signAtListing = async () =>
      signAssignments(actors.matcher, {
        assignments: await withListedTerms(reader, [{ requestId, prover, request: created.request }]),
        validUntil: (await chainTime(reader)) + 300n,
      })
    const signed = await signAtListing()
    expect(signed.assignments[0]).toMatchObject({ price: PRICE, provingTime: PROVING_TIME })

    // The prover front-runs the batch: its listing now asks the request's whole max reward.
    await updateListing(actors.prover, { marketId: fixture.marketId, price: MAX_REWARD, provingTime: PROVING_TIME })
    const outcome = await submitAssignments(actors.bystander, signed)
    expect(outcome.assigned).toEqual([])
    expect(outcome.skipped).toMatchObject([
      {
        requestId,
        prover,
        reason: {
          name: 'ListingChanged',
          args: {
            prover,
            signedPrice: PRICE,
            listedPrice: MAX_REWARD,
            signedProvingTime: PROVING_TIME,
            listedProvingTime: PROVING_TIME,
          },
        },
      },
    ])
    expect(await getRequestState(reader, created)).toBe('Open')

    // Signed again at the new listing, it is the matcher's decision again, at those terms.
    const { assigned } = await submitAssignments(actors.bystander, await signAtListing())
    expect(assigned.map((t) => t.task.price)).toEqual([MAX_REWARD])
  })
})
