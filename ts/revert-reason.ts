import type { Chain, PublicClient, TransactionReceipt, Transport } from 'viem'
import { type CairnContractError, decodeCairnError } from './errors.js'

/** Why a mined transaction reverted, as far as replaying it can tell. */
export type RevertReason =
  | { kind: 'error'; error: CairnContractError }
  | { kind: 'out-of-gas'; gasLimit: bigint }
  /** The replay did not revert (an earlier transaction of its block made the difference), or could not run. */
  | { kind: 'unknown' }

/**
 * Replays a reverted transaction on the state its block started from, with that block's number and time, to decode
 * its revert: a receipt only says that it reverted. A transaction that used its whole gas limit ran out of gas.
 */
export async function revertReasonOf(
  client: PublicClient<Transport, Chain>,
  receipt: TransactionReceipt,
): Promise<RevertReason> {
  try {
    const [transaction, block] = await Promise.all([
      client.getTransaction({ hash: receipt.transactionHash }),
      client.getBlock({ blockNumber: receipt.blockNumber }),
    ])
    if (receipt.gasUsed >= transaction.gas) return { kind: 'out-of-gas', gasLimit: transaction.gas }
    if (transaction.to === null) return { kind: 'unknown' }
    try {
      await client.call({
        account: transaction.from,
        to: transaction.to,
        data: transaction.input,
        value: transaction.value,
        gas: transaction.gas,
        blockNumber: receipt.blockNumber - 1n,
        blockOverrides: { number: block.number, time: block.timestamp },
      })
      return { kind: 'unknown' }
    } catch (error) {
      const decoded = decodeCairnError(error)
      return decoded === undefined ? { kind: 'unknown' } : { kind: 'error', error: decoded }
    }
  } catch {
    // The node no longer has the transaction or its parent state: the receipt is all there is.
    return { kind: 'unknown' }
  }
}

/** The reason as a message's tail: ": DeadlineInPast(deadline=…)", ": out of gas (limit 21000)", or nothing. */
export function describeRevertReason(reason: RevertReason): string {
  if (reason.kind === 'error') return `: ${reason.error.message}`
  if (reason.kind === 'out-of-gas') return `: out of gas (limit ${reason.gasLimit})`
  return ''
}
