import type { TransactionReceipt } from 'viem'
import { type CairnClient, sent, simulated } from './client.js'
import { eventOf } from './events.js'
import { proofMarketplaceAbi } from './generated.js'
import type { MarketParams } from './types.js'

/** Creates a market, paying the current creation fee. */
export async function createMarket(
  client: CairnClient,
  params: MarketParams,
): Promise<{ marketId: bigint; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const fee = await client.public.readContract({ address, abi: proofMarketplaceAbi, functionName: 'marketCreationFee' })
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: proofMarketplaceAbi,
      functionName: 'createMarket',
      args: [params],
      value: fee,
    }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request))
  const { args } = eventOf(receipt, address, proofMarketplaceAbi, 'MarketCreated')
  return { marketId: args.marketId, receipt }
}
