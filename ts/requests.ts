import type { TransactionReceipt } from 'viem'
import { type CairnClient, sent, simulated } from './client.js'
import { CairnContractError } from './errors.js'
import { eventOf } from './events.js'
import { proofMarketplaceAbi } from './generated.js'
import { getMarket } from './readers.js'
import { ensureAllowance } from './tokens.js'
import type { RequestParams } from './types.js'

/**
 * Posts a request, escrowing `maxReward`: approves the market's payment token first when the allowance is short.
 * createRequest pulls the tokens last, after every check, so a first simulation that fails only on the transfer
 * means the request is valid and just needs the approval; any other revert is thrown before anything is sent.
 */
export async function createRequest(
  client: CairnClient,
  params: RequestParams,
): Promise<{ requestId: bigint; receipt: TransactionReceipt; approval: TransactionReceipt | undefined }> {
  const address = client.deployment.contracts.proofMarketplace
  const simulate = () =>
    simulated(() =>
      client.public.simulateContract({
        account: client.wallet.account,
        address,
        abi: proofMarketplaceAbi,
        functionName: 'createRequest',
        args: [params],
      }),
    )
  let approval: TransactionReceipt | undefined
  let simulation: Awaited<ReturnType<typeof simulate>>
  try {
    simulation = await simulate()
  } catch (error) {
    if (!(error instanceof CairnContractError && error.name === 'TransferFromFailed')) throw error
    const market = await getMarket(client, BigInt(params.marketId))
    approval = await ensureAllowance(client, market.paymentToken, address, params.maxReward)
    if (approval === undefined) throw error
    simulation = await simulate()
  }
  const { request } = simulation
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'RequestCreated')
  return { requestId: args.requestId, receipt, approval }
}

/** Cancels an unassigned request past its matching expiry; the escrow becomes claimable by its refund address. */
export async function cancel(
  client: CairnClient,
  requestId: bigint,
): Promise<{ refund: bigint; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'cancel',
      args: [requestId],
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'RequestCancelled')
  return { refund: args.refund, receipt }
}
