import type { Address, Chain, Hex, PublicClient, Transport } from 'viem'
import { hashTypedData } from 'viem'
import { cairnNetworkMiddlewareAbi, stakeMirrorAbi } from '../../ts/generated.js'
import { cairnTypedData, type SignedTypedData } from '../../ts/typed-data.js'
import { LOG_RANGE, type SlashOrder } from './slashes.js'

/*
 * Slash outcomes: every order the middleware settled on Ethereum (executed, vetoed, or failed for good) goes back to
 * the StakeMirror, which releases a vetoed or failed penalty and makes an execution final. An execution is only
 * reported once the mirror's current snapshot was captured at or after it (the mirror refuses it earlier, with
 * OutcomeAheadOfSnapshot): every leaf proven from then on shows the slash. Vetoes and failures go back at once.
 */

/** SlashStatus (src/types/SlashOutcome.sol) of an outcome (and of the mirror's record of an order: 1 is Queued). */
export const QUEUED = 1
export const EXECUTED = 2
export const VETOED = 3
export const FAILED = 4
export type OutcomeStatus = typeof EXECUTED | typeof VETOED | typeof FAILED
export const outcomeNames: Readonly<Record<OutcomeStatus, string>> = {
  [EXECUTED]: 'executed',
  [VETOED]: 'vetoed',
  [FAILED]: 'failed',
}

/** One item of StakeMirror.reportSlashOutcomes: a queued slash's final outcome on Ethereum. */
export type SlashOutcome = {
  orderId: Hex
  /** The vault the middleware settled it on (the mirror checks it is the one it queued). */
  vault: Address
  status: OutcomeStatus
  /** Collateral the vault lost (0 unless executed). */
  slashed: bigint
  /** Timestamp of the Ethereum block that settled it. */
  settledAt: number
}

/** A settlement seen on Ethereum, with the block it is in. */
export type Settlement = SlashOutcome & { blockNumber: bigint }

/** What relayers sign for a batch of outcomes, as StakeMirror.slashOutcomesDigest hashes it. */
export function slashOutcomesTypedData(
  outcomes: readonly SlashOutcome[],
  mirror: { chainId: number; address: Address },
): SignedTypedData<'slashOutcomes'> {
  return cairnTypedData('slashOutcomes', mirror, {
    outcomes: outcomes.map(({ orderId, vault, status, slashed, settledAt }) => ({
      orderId,
      vault,
      status,
      slashed,
      settledAt,
    })),
  })
}

export const slashOutcomesDigest = (...args: Parameters<typeof slashOutcomesTypedData>): Hex =>
  hashTypedData(slashOutcomesTypedData(...args))

/**
 * Orders the middleware settled in [fromBlock, toBlock], each with its block's timestamp: executed (SlashExecuted,
 * with the amount the vault lost), vetoed (SlashVetoed) or failed for good (SlashFailed: the vault refused it, or no
 * operator backed the prover at the capture).
 */
export async function settledOrders(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; fromBlock: bigint; toBlock: bigint },
): Promise<Settlement[]> {
  const found: Settlement[] = []
  const timestamps = new Map<bigint, number>()
  const timestampOf = async (blockNumber: bigint) => {
    let timestamp = timestamps.get(blockNumber)
    if (timestamp === undefined) {
      timestamp = Number((await client.getBlock({ blockNumber })).timestamp)
      timestamps.set(blockNumber, timestamp)
    }
    return timestamp
  }
  for (let from = params.fromBlock; from <= params.toBlock; from += LOG_RANGE) {
    const to = from + LOG_RANGE - 1n < params.toBlock ? from + LOG_RANGE - 1n : params.toBlock
    const logs = await client.getContractEvents({
      address: params.middleware,
      abi: cairnNetworkMiddlewareAbi,
      fromBlock: from,
      toBlock: to,
      strict: true,
    })
    for (const log of logs) {
      const settled = settlementOf(log)
      if (settled === undefined) continue
      found.push({ ...settled, settledAt: await timestampOf(log.blockNumber), blockNumber: log.blockNumber })
    }
  }
  return found
}

/** The fields settlementOf reads of a middleware event (any of them: the others record no outcome). */
export type MiddlewareEvent = { eventName: string; args: object }

/** The outcome a middleware event records (its time aside), or undefined for other events. */
export function settlementOf(log: MiddlewareEvent): Omit<SlashOutcome, 'settledAt'> | undefined {
  const { orderId, vault, amount } = log.args as { orderId?: Hex; vault?: Address; amount?: bigint }
  if (orderId === undefined || vault === undefined) return undefined
  if (log.eventName === 'SlashExecuted') return { orderId, vault, status: EXECUTED, slashed: amount ?? 0n }
  if (log.eventName === 'SlashVetoed') return { orderId, vault, status: VETOED, slashed: 0n }
  if (log.eventName === 'SlashFailed') return { orderId, vault, status: FAILED, slashed: 0n }
  return undefined
}

/**
 * The outcomes to report now, of the orders still open on the mirror: every vetoed or failed one, and every execution
 * settled at or before the mirror's current capture (`held`: those that must wait for a later snapshot), by task id,
 * at most `maxBatch`.
 */
export function reportableOutcomes(params: {
  open: readonly SlashOrder[]
  settlements: ReadonlyMap<Hex, SlashOutcome>
  mirrorCapture: number
  maxBatch: number
}): { outcomes: SlashOutcome[]; held: SlashOutcome[] } {
  const outcomes: SlashOutcome[] = []
  const held: SlashOutcome[] = []
  const byTask = [...params.open].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))
  for (const order of byTask) {
    const settled = params.settlements.get(order.orderId)
    if (settled === undefined) continue
    const { orderId, vault, status, slashed, settledAt } = settled
    const outcome = { orderId, vault, status, slashed, settledAt }
    if (status === EXECUTED && settledAt > params.mirrorCapture) held.push(outcome)
    else outcomes.push(outcome)
  }
  return { outcomes: outcomes.slice(0, params.maxBatch), held }
}

/** The mirror's status of each order: 0 None, 1 Queued (outcome not reported), 2 Executed, 3 Vetoed, 4 Failed. */
export async function mirrorStatuses(
  client: PublicClient<Transport, Chain>,
  params: { mirror: Address; orderIds: readonly Hex[] },
): Promise<number[]> {
  return Promise.all(
    params.orderIds.map(async (orderId) => {
      const [, , , status] = await client.readContract({
        address: params.mirror,
        abi: stakeMirrorAbi,
        functionName: 'slashes',
        args: [orderId],
      })
      return status
    }),
  )
}
