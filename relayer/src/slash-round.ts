import { type Address, encodeFunctionData, type Hex, isAddressEqual, type Log, parseEventLogs } from 'viem'
import { decodeRevertData } from '../../ts/errors.js'
import { cairnNetworkMiddlewareAbi, slashInboxAbi } from '../../ts/generated.js'
import type { RelayerContext } from './context.js'
import { failureName } from './failures.js'
import { gasForFullOutcome } from './gas.js'
import type { Gather } from './quorum-gathering.js'
import type { Round, RoundOutcome } from './round.js'
import type { SlashQueue } from './slash-queue.js'
import { type InboxSlash, orderStates, type SlashOrder, slashBatchDigest, slashBatchTypedData } from './slashes.js'

/*
 * The slash round (marketplace chain → Ethereum): deliver every queued slash the middleware has not seen, as one
 * quorum-signed batch. The middleware records every order it is handed (requested, executed or failed for good), so an
 * order it knows is delivered for good; the inbox skips one delivered before. Deciding is pure (`decideSlashBatch`,
 * `deliveryReport`); `createSlashRound` reads, signs and delivers.
 */

/** The middleware's state of an order it has never been handed. */
const UNSEEN = 0

export type SlashBatchDecision = {
  /** Orders the middleware has never been handed. */
  pending: SlashOrder[]
  /** Orders the middleware recorded: delivered for good, never looked at again. */
  delivered: Hex[]
  /** What to deliver now: the pending orders by task id, at most `maxBatch`. */
  batch: InboxSlash[]
}

/** The batch to deliver, from the known undelivered orders and the middleware's state of each (`orderStates`). */
export function decideSlashBatch(params: {
  known: readonly SlashOrder[]
  states: readonly number[]
  maxBatch: number
}): SlashBatchDecision {
  const pending = params.known.filter((_, i) => params.states[i] === UNSEEN)
  const delivered = params.known.filter((_, i) => params.states[i] !== UNSEEN).map((order) => order.orderId)
  const batch = [...pending]
    .sort((a, b) => (a.taskId < b.taskId ? -1 : 1))
    .slice(0, params.maxBatch)
    .map(({ taskId, prover, vault, amount, captureTimestamp }) => ({ taskId, prover, vault, amount, captureTimestamp }))
  return { pending, delivered, batch }
}

export type DeliveryReport = {
  /** Slashes the inbox handed to the middleware. */
  delivered: number
  /**
   * Slashes the inbox skipped: delivered before (by a peer, or a replayed batch: nothing more to do), or refused for
   * a reason that may pass (nothing was recorded on Ethereum: the order stays pending and is delivered again).
   */
  skipped: { orderId: Hex; taskId: bigint; alreadyDelivered: boolean; reason: string }[]
  /** Slashes the middleware recorded as failed, for good: their outcome goes back to the mirror, which releases it. */
  failed: { orderId: Hex; vault: Address; reason: string }[]
}

/** What a delivery's receipt says happened to each slash of the batch, reasons decoded. */
export function deliveryReport(logs: Log[], inbox: Address): DeliveryReport {
  const events = parseEventLogs({ abi: slashInboxAbi, logs }).filter((e) => isAddressEqual(e.address, inbox))
  return {
    delivered: events.filter((e) => e.eventName === 'SlashDelivered').length,
    skipped: events.flatMap((e) =>
      e.eventName === 'SlashSkipped'
        ? [
            {
              orderId: e.args.orderId,
              taskId: e.args.taskId,
              alreadyDelivered: decodeRevertData(e.args.reason).name === 'SlashOrderAlreadySeen',
              reason: failureName(e.args.reason),
            },
          ]
        : [],
    ),
    failed: parseEventLogs({ abi: cairnNetworkMiddlewareAbi, logs, eventName: 'SlashFailed' }).map((e) => ({
      orderId: e.args.orderId,
      vault: e.args.vault,
      reason: failureName(e.args.reason),
    })),
  }
}

export function createSlashRound(ctx: RelayerContext, queue: SlashQueue, gather: Gather): Round {
  const { eth, inbox, account, metrics, log } = ctx

  async function deliver(batch: InboxSlash[], signatures: Hex[], digest: Hex): Promise<RoundOutcome> {
    // Reverts (a quorum refused, …) surface from the simulation. The gas must let every slash do what it does with
    // ample gas: a vault call starved of gas would be recorded as a failed slash, for good (see gas.ts).
    const call = {
      account,
      address: inbox.address,
      abi: slashInboxAbi,
      functionName: 'deliver',
      args: [batch, signatures],
    } as const
    const { request, result: handed } = await eth.public.simulateContract(call)
    const { gas, checked } = await gasForFullOutcome(eth.public, {
      account,
      to: inbox.address,
      data: encodeFunctionData(call),
    })
    if (handed !== BigInt(batch.length))
      log.info({ digest, batch: batch.length, handed: Number(handed) }, 'some slashes were delivered before')
    const hash = await eth.wallet.writeContract({ ...request, gas })
    const receipt = await eth.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`deliver ${hash} reverted`)
    const report = deliveryReport(receipt.logs, inbox.address)
    for (const { orderId, taskId, alreadyDelivered, reason } of report.skipped) {
      const fields = { orderId, taskId: String(taskId) }
      if (alreadyDelivered) log.info(fields, 'slash already delivered')
      else log.warn({ ...fields, reason }, 'slash refused for now: retried next round')
    }
    // Final on Ethereum: its outcome goes back to the mirror, which releases the penalty. Operators need to see it.
    for (const failed of report.failed) log.warn(failed, 'slash failed')
    metrics.slashesDelivered.inc(report.delivered)
    log.info(
      { digest, batch: batch.length, delivered: report.delivered, tx: hash, gas: Number(gas), gasChecked: checked },
      'slash batch delivered',
    )
    return { status: 'submitted', digest }
  }

  return async function slashRound(): Promise<RoundOutcome> {
    const tip = await queue.scan()
    const known = [...queue.undelivered.values()]
    const states = await orderStates(eth.public, {
      middleware: ctx.ethereum.contracts.middleware,
      orderIds: known.map((order) => order.orderId),
    })
    const { pending, delivered, batch } = decideSlashBatch({ known, states, maxBatch: ctx.config.maxBatch })
    for (const orderId of delivered) queue.undelivered.delete(orderId)
    metrics.pendingSlashes.set(pending.length)
    log.debug(
      {
        tip: Number(tip),
        scannedTo: Number(queue.scannedTo()),
        known: queue.undelivered.size,
        pending: pending.length,
        states,
      },
      'slash scan',
    )
    if (pending.length === 0) return { status: 'idle', reason: 'no pending slash' }

    const digest = slashBatchDigest(batch, inbox)
    const { signed, count, myTurn } = await gather('slashBatch', digest, () =>
      account.signTypedData(slashBatchTypedData(batch, inbox)),
    )
    if (!signed || !myTurn) return { status: 'waiting', digest, signatures: count }
    const signatures = signed.map((s) => s.signature)
    return deliver(batch, signatures, digest)
  }
}
