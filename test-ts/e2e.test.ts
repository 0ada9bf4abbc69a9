import { type Address, hashTypedData, isAddressEqual, parseEther, zeroHash } from 'viem'
import { describe, expect, it } from 'vitest'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import type { Devnet } from '../ts/devnet/stack.js'
import {
  assignmentTypedData,
  balanceOf,
  CairnContractError,
  chainTime,
  claim,
  createMarket,
  createRequest,
  decodeCairnError,
  encodePublicSignals,
  eventOf,
  fulfil,
  fulfilBatch,
  getClaimable,
  getRequest,
  getRequestState,
  getStake,
  getTask,
  groth16VerifierAdapterAbi,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  provePoseidonPreimage,
  register,
  signAssignments,
  slash,
  stake,
  submitAssignments,
  withdraw,
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

/** The requester funds and posts a request for a fresh Poseidon preimage statement. */
async function postRequest(devnet: Devnet, marketId: bigint) {
  const { actors, deployment, reader } = devnet
  const requester = addressOf(devnet, 'requester')
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD)
  const statement = await preimageStatement()
  const params = preimageRequest({
    marketId,
    now: await chainTime(reader),
    publicInputs: statement.publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: requester,
    schedule: { provingTime: PROVING_TIME },
  })
  const { requestId } = await createRequest(actors.requester, params)
  return { requestId, statement, params }
}

async function assignByMatcher(devnet: Devnet, requestId: bigint) {
  const batch = await signAssignments(devnet.actors.matcher, {
    assignments: [{ requestId, prover: addressOf(devnet, 'prover') }],
    validUntil: (await chainTime(devnet.reader)) + 300n,
  })
  return { batch, outcome: await submitAssignments(devnet.actors.bystander, batch) }
}

describe('Cairn end to end on anvil', () => {
  it('market → request → matcher assignment → real Groth16 proof → fulfil → withdraw', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const { paymentToken } = deployment.contracts
    const prover = addressOf(devnet, 'prover')
    const requester = addressOf(devnet, 'requester')

    const { requestId, statement } = await postRequest(devnet, fixture.marketId)
    expect(await getRequestState(reader, requestId)).toBe('Open')
    expect(await balanceOf(reader, paymentToken, requester)).toBe(0n)
    expect(await balanceOf(reader, paymentToken, deployment.contracts.proofMarketplace)).toBe(MAX_REWARD)

    const { batch, outcome } = await assignByMatcher(devnet, requestId)
    // The SDK's EIP-712 encoding must be the contract's, or no matcher signature would ever verify.
    const onChainDigest = await reader.public.readContract({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      functionName: 'assignmentDigest',
      args: [batch.assignments, batch.validUntil],
    })
    expect(hashTypedData(assignmentTypedData(deployment, batch))).toBe(onChainDigest)
    expect(outcome.skipped).toEqual([])
    expect(outcome.assigned).toHaveLength(1)
    expect(outcome.assigned[0]?.price).toBe(PRICE)
    expect(await getRequestState(reader, requestId)).toBe('Assigned')
    expect(isAddressEqual((await getTask(reader, requestId)).prover, prover)).toBe(true)
    expect(await getStake(reader, prover)).toEqual({ staked: STAKE, locked: STAKE_PER_TASK })

    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    expect(proof.publicInputs).toBe(statement.publicInputs)
    expect(proof.publicSignals).toEqual([statement.digest, statement.context])
    const verifies = await reader.public.readContract({
      address: deployment.contracts.groth16Adapter,
      abi: groth16VerifierAdapterAbi,
      functionName: 'verify',
      args: [proof.publicInputs, proof.proof],
    })
    expect(verifies).toBe(true)

    const fulfilled = await fulfil(actors.prover, { requestId, publicInputs: proof.publicInputs, proof: proof.proof })
    expect(fulfilled.price).toBe(PRICE)
    expect(fulfilled.refund).toBe(MAX_REWARD - PRICE)
    expect(await getRequestState(reader, requestId)).toBe('Fulfilled')
    expect(await getClaimable(reader, prover, paymentToken)).toBe(PRICE)
    expect(await getClaimable(reader, requester, paymentToken)).toBe(MAX_REWARD - PRICE)
    expect(await getStake(reader, prover)).toEqual({ staked: STAKE, locked: 0n })

    // A second submission is rejected in simulation, decoded, before any transaction is sent.
    await expect(
      fulfil(actors.prover, { requestId, publicInputs: proof.publicInputs, proof: proof.proof }),
    ).rejects.toMatchObject({ name: 'RequestAlreadyFulfilled', args: { requestId } })

    expect((await withdraw(actors.prover, paymentToken)).amount).toBe(PRICE)
    expect((await withdraw(actors.requester, paymentToken)).amount).toBe(MAX_REWARD - PRICE)
    expect(await balanceOf(reader, paymentToken, prover)).toBe(PRICE)
    expect(await balanceOf(reader, paymentToken, requester)).toBe(MAX_REWARD - PRICE)
    expect(await balanceOf(reader, paymentToken, deployment.contracts.proofMarketplace)).toBe(0n)
    expect(await getClaimable(reader, prover, paymentToken)).toBe(0n)
  })

  it('fallback claim once the matcher stays silent past the fallback delay', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const prover = addressOf(devnet, 'prover')
    const { requestId, statement } = await postRequest(devnet, fixture.marketId)
    const { createdAt } = await getRequest(reader, requestId)

    const early = await claim(actors.prover, requestId).catch((error: unknown) => error)
    expect(early).toBeInstanceOf(CairnContractError)
    expect(early).toMatchObject({
      name: 'FallbackNotOpen',
      args: { requestId, opensAt: BigInt(createdAt + FALLBACK_DELAY) },
      message: `FallbackNotOpen(requestId=${requestId}, opensAt=${createdAt + FALLBACK_DELAY})`,
    })

    await advanceTime(devnet, FALLBACK_DELAY + 1)
    const claimed = await claim(actors.prover, requestId)
    expect(claimed.price).toBe(PRICE)
    const assigned = eventOf(
      claimed.receipt,
      deployment.contracts.proofMarketplace,
      proofMarketplaceAbi,
      'TaskAssigned',
    )
    expect(assigned.args.byMatcher).toBe(false)
    expect(isAddressEqual(assigned.args.prover, prover)).toBe(true)
    expect(await getRequestState(reader, requestId)).toBe('Assigned')

    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    const fulfilled = await fulfil(actors.prover, { requestId, ...proof, privateInputsDigest: zeroHash })
    expect(fulfilled.price).toBe(PRICE)
    expect(await getRequestState(reader, requestId)).toBe('Fulfilled')
    expect(await getClaimable(reader, prover, deployment.contracts.paymentToken)).toBe(PRICE)
  })

  it('deadline miss → third-party slash: escrow back + compensation, slasher reward, treasury rest', async () => {
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

    const { requestId, statement } = await postRequest(devnet, fixture.marketId)
    await assignByMatcher(devnet, requestId)
    await expect(slash(actors.bystander, requestId)).rejects.toMatchObject({ name: 'TaskDeadlineNotPassed' })

    await advanceTime(devnet, PROVING_TIME + 1)
    expect(await getRequestState(reader, requestId)).toBe('DeadlineMissed')
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    await expect(fulfil(actors.prover, { requestId, ...proof })).rejects.toMatchObject({ name: 'TaskDeadlinePassed' })

    const compensation = (SLASH_PENALTY * COMPENSATION_BPS) / 10_000n
    const slasherReward = (SLASH_PENALTY * SLASHER_REWARD_BPS) / 10_000n
    const treasuryShare = SLASH_PENALTY - compensation - slasherReward
    expect([compensation, slasherReward, treasuryShare]).toEqual([
      parseEther('25'),
      parseEther('2.5'),
      parseEther('22.5'),
    ])

    const slashed = await slash(actors.bystander, requestId)
    expect(slashed).toMatchObject({ penalty: SLASH_PENALTY, compensation, slasherReward })
    expect(isAddressEqual(slashed.prover, prover)).toBe(true)
    expect(await getRequestState(reader, requestId)).toBe('Slashed')

    expect(await getClaimable(reader, requester, paymentToken)).toBe(MAX_REWARD)
    expect(await getClaimable(reader, requester, stakeToken)).toBe(compensation)
    expect(await getClaimable(reader, slasher, stakeToken)).toBe(slasherReward)
    expect(await getClaimable(reader, deployment.treasury, stakeToken)).toBe(treasuryShare)
    expect(await getClaimable(reader, prover, paymentToken)).toBe(0n)
    expect(await getStake(reader, prover)).toEqual({ staked: STAKE - SLASH_PENALTY, locked: 0n })
    expect(await balanceOf(reader, stakeToken, proofMarketplace)).toBe(SLASH_PENALTY)

    await withdraw(actors.requester, paymentToken)
    await withdraw(actors.requester, stakeToken)
    await withdraw(actors.bystander, stakeToken)
    await withdraw(actors.deployer, stakeToken)
    expect(await balanceOf(reader, paymentToken, requester)).toBe(MAX_REWARD)
    expect(await balanceOf(reader, stakeToken, requester)).toBe(compensation)
    expect(await balanceOf(reader, stakeToken, slasher)).toBe(slasherReward)
    expect(await balanceOf(reader, stakeToken, deployment.treasury)).toBe(treasuryShare)
    expect(await balanceOf(reader, stakeToken, proofMarketplace)).toBe(0n)
  })

  it('fulfilBatch: every valid item lands (gas limit covers all verifications), bad items are skipped', async () => {
    const { devnet, fixture } = current()
    const { reader, deployment, actors } = devnet
    const requester = addressOf(devnet, 'requester')
    const prover = addressOf(devnet, 'prover')
    // Several requests for one statement: one real proof answers them all.
    const statement = await preimageStatement()
    const ids: bigint[] = []
    for (let i = 0; i < 4; i++) {
      await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD)
      const params = preimageRequest({
        marketId: fixture.marketId,
        now: await chainTime(reader),
        publicInputs: statement.publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: requester,
      })
      ids.push((await createRequest(actors.requester, params)).requestId)
    }
    const batch = await signAssignments(actors.matcher, {
      assignments: ids.map((requestId) => ({ requestId, prover })),
      validUntil: (await chainTime(reader)) + 300n,
    })
    expect((await submitAssignments(actors.bystander, batch)).assigned).toHaveLength(4)

    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    const [bad, ...good] = ids as [bigint, ...bigint[]]
    // The expensive verification comes last: that is the item a too-low gas estimate starves (skipped as InvalidProof).
    const outcome = await fulfilBatch(actors.prover, [
      {
        requestId: bad,
        publicInputs: encodePublicSignals([statement.digest, statement.context + 1n]),
        proof: proof.proof,
      },
      ...good.map((requestId) => ({ requestId, ...proof })),
    ])
    expect(outcome.fulfilled.map((f) => f.requestId)).toEqual(good)
    expect(outcome.skipped).toHaveLength(1)
    expect(outcome.skipped[0]?.reason).toMatchObject({ name: 'WrongInputs', message: `WrongInputs(requestId=${bad})` })
    expect(await getClaimable(reader, prover, deployment.contracts.paymentToken)).toBe(PRICE * BigInt(good.length))
    expect(await getRequestState(reader, bad)).toBe('Assigned')
  })

  it('bad input is rejected before sending, as a decoded readable error', async () => {
    const { devnet, fixture } = current()
    const { reader, actors } = devnet
    const requester = addressOf(devnet, 'requester')
    const statement = await preimageStatement()
    const now = await chainTime(reader)
    const params = {
      ...preimageRequest({
        marketId: fixture.marketId,
        now,
        publicInputs: statement.publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: requester,
      }),
      deadline: Number(now) - 1,
    }
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
    const { requestId } = await postRequest(devnet, fixture.marketId)
    await assignByMatcher(devnet, requestId)

    const { outcome } = await assignByMatcher(devnet, requestId)
    expect(outcome.assigned).toEqual([])
    expect(outcome.skipped).toHaveLength(1)
    expect(outcome.skipped[0]?.reason).toMatchObject({
      name: 'RequestNotOpen',
      message: `RequestNotOpen(requestId=${requestId}, status=Assigned)`,
    })
  })
})
