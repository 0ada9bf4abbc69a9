import { OrderRejectedError, type OrderStreamOptions, submitOrder } from './order-stream.js'
import type { OrderAccepted } from './orders.js'
import type { SignedRequestWithSignature } from './signed-requests.js'

/**
 * Sends the order; when the matcher refuses it because the requester's deposit does not also cover its other orders
 * still pending there (which this process cannot see: another process of the same account may have sent them), deposits
 * the shortfall the matcher names, once and only when the wallet covers it, and sends it again. The top-up stays in the
 * requester's own marketplace balance (withdraw takes it back), so a matcher that overstates it moves nothing away.
 */
export async function submitToppingUp(
  matcherUrl: string,
  signed: SignedRequestWithSignature,
  options: OrderStreamOptions,
  funds: { wallet: () => Promise<bigint>; topUp: (amount: bigint) => Promise<void> },
): Promise<OrderAccepted> {
  try {
    return await submitOrder(matcherUrl, signed, options)
  } catch (error) {
    const shortfall = depositShortfall(error)
    if (shortfall === undefined || shortfall > (await funds.wallet())) throw error
    await funds.topUp(shortfall)
    return submitOrder(matcherUrl, signed, options)
  }
}

/** How much more deposit an InsufficientDeposit refusal asks for (needed − balance), when it says so in figures. */
export function depositShortfall(error: unknown): bigint | undefined {
  if (!(error instanceof OrderRejectedError) || error.code !== 'InsufficientDeposit') return undefined
  const { needed, balance } = error.details
  if (needed === undefined || balance === undefined || !/^\d+$/.test(needed) || !/^\d+$/.test(balance)) return undefined
  const shortfall = BigInt(needed) - BigInt(balance)
  return shortfall > 0n ? shortfall : undefined
}
