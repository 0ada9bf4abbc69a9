import { concat, keccak256 } from 'viem'
import { iProofVerifierAbi } from '../../generated.js'
import { getMarket } from '../../readers.js'
import { slash as slashTask } from '../../settlement.js'
import { marketIdOf } from '../../types.js'
import { TimeoutError, waitForProof } from '../../wait.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'
import { requestIdOf, requestIdPositional } from './requester.js'

export const slash = command({
  description:
    'Anyone may slash a task whose prover missed its deadline: the penalty comes out of the prover’s stake, part of it compensates the requester, part rewards you (the slasher, in your marketplace balance). The contract refuses a task still within its deadline, already settled or never assigned, and says which.',
  positionals: requestIdPositional,
  examples: ['cairn slash 340282366920938463463374607431768211457'],
  run: async (ctx) => {
    const requestId = requestIdOf(ctx)
    const client = await ctx.client()
    const stake = await ctx.token(client, client.deployment.contracts.stakeToken)
    ctx.progress.step(`slashing the prover of request ${requestId}`)
    const slashed = await slashTask(client, requestId)
    ctx.progress.done()
    return {
      requestId,
      prover: slashed.prover,
      penalty: slashed.penalty,
      penaltyFormatted: formatAmount(slashed.penalty, stake),
      compensation: slashed.compensation,
      compensationFormatted: formatAmount(slashed.compensation, stake),
      slasherReward: slashed.slasherReward,
      slasherRewardFormatted: formatAmount(slashed.slasherReward, stake),
      ...(slashed.queued === undefined ? {} : { queued: slashed.queued }),
      transactionHash: slashed.receipt.transactionHash,
    }
  },
})

export const verify = command({
  description:
    'Reads the proof from the calldata of the transaction that fulfilled the request and asks the market’s verifier contract, now, whether it proves the request’s public inputs for its prover. Exit 1 when the request is not fulfilled or the proof does not verify.',
  positionals: requestIdPositional,
  run: async (ctx) => {
    const requestId = requestIdOf(ctx)
    const reader = await ctx.reader()
    const market = await getMarket(reader, marketIdOf(requestId))
    // A fulfilled request's logs already hold its end: this returns at once, and fails typed on any other end.
    const fulfilment = await waitForProof(reader, requestId, { timeoutMs: 1 }).catch((error: unknown) => {
      if (!(error instanceof TimeoutError)) throw error
      throw new Error(
        `request ${requestId} is not fulfilled yet (last seen: ${error.state.stage ?? 'open'}): nothing to verify; \`cairn wait ${requestId}\` follows it`,
      )
    })
    const inputsDigest = keccak256(concat([keccak256(fulfilment.publicInputs), fulfilment.privateInputsDigest]))
    const valid = await reader.public.readContract({
      address: market.verifier,
      abi: iProofVerifierAbi,
      functionName: 'verify',
      args: [fulfilment.publicInputs, fulfilment.proof, { requestId, prover: fulfilment.prover, inputsDigest }],
    })
    if (!valid) {
      throw new Error(
        `the proof of request ${requestId} (fulfilled in ${fulfilment.transactionHash}) does not verify against the market's verifier ${market.verifier} now`,
      )
    }
    return {
      requestId,
      valid,
      verifier: market.verifier,
      prover: fulfilment.prover,
      fulfilledIn: fulfilment.transactionHash,
      blockNumber: fulfilment.blockNumber,
    }
  },
})
