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
  funds: TopUpFunds,
): Promise<OrderAccepted> {
  try {
    return await submitOrder(matcherUrl, signed, options)
  } catch (error) {
    const shortfall = depositShortfall(error)
    if (shortfall === undefined || shortfall > (await funds.wallet())) throw error
    await funds.topUp(shortfall)
    return submitAfterTopUp(matcherUrl, signed, options, funds)
  }
}

/** What submitToppingUp may spend and read. */
export type TopUpFunds = {
  /** The wallet's payment tokens: a top-up is made only when they cover it. */
  wallet: () => Promise<bigint>
  /** Deposits `amount` into the requester's marketplace balance (resolves once mined). */
  topUp: (amount: bigint) => Promise<void>
  /**
   * The requester's marketplace balance as the chain shows it now. With it, a refusal that names an older balance
   * (the matcher reads a block from before the top-up) is retried until the matcher's view catches up.
   */
  deposited?: () => Promise<bigint>
}

/** Between the sends of an order the matcher refused on a balance older than the top-up. */
const CATCH_UP_RETRY_MS = 250
/**
 * How long a matcher may stay behind the top-up's block before its refusal stands. Generous: a matcher that follows
 * the chain catches up within a few of its polls even on a loaded machine; one that does not is broken, and its
 * refusal then reaches the caller.
 */
const CATCH_UP_LIMIT_MS = 60_000

/**
 * Sends the order again after a top-up. A matcher reads balances at the block it has followed to, which on a busy
 * node can be older than the top-up's: while it refuses naming a balance below the one on chain now, it has not seen
 * the deposit yet, and the order is sent again (for up to CATCH_UP_LIMIT_MS). Any other answer is final.
 */
async function submitAfterTopUp(
  matcherUrl: string,
  signed: SignedRequestWithSignature,
  options: OrderStreamOptions,
  funds: TopUpFunds,
): Promise<OrderAccepted> {
  const onChain = funds.deposited === undefined ? undefined : await funds.deposited()
  const until = Date.now() + CATCH_UP_LIMIT_MS
  for (;;) {
    try {
      return await submitOrder(matcherUrl, signed, options)
    } catch (error) {
      const seen = refusedBalance(error)
      const behind = onChain !== undefined && seen !== undefined && seen < onChain
      if (!behind || Date.now() + CATCH_UP_RETRY_MS > until || options.signal?.aborted) throw error
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS))
    }
  }
}

/** The balance an InsufficientDeposit refusal says the matcher saw. */
function refusedBalance(error: unknown): bigint | undefined {
  if (!(error instanceof OrderRejectedError) || error.code !== 'InsufficientDeposit') return undefined
  const { balance } = error.details
  return balance !== undefined && /^\d+$/.test(balance) ? BigInt(balance) : undefined
}

/** How much more deposit an InsufficientDeposit refusal asks for (needed − balance), when it says so in figures. */
export function depositShortfall(error: unknown): bigint | undefined {
  if (!(error instanceof OrderRejectedError) || error.code !== 'InsufficientDeposit') return undefined
  const { needed, balance } = error.details
  if (needed === undefined || balance === undefined || !/^\d+$/.test(needed) || !/^\d+$/.test(balance)) return undefined
  const shortfall = BigInt(needed) - BigInt(balance)
  return shortfall > 0n ? shortfall : undefined
}
