import { type Address, encodeFunctionData, type Hex, isAddressEqual, parseEventLogs } from 'viem'
import { cairnNetworkMiddlewareAbi, iVetoSlasherAbi, stakeMirrorAbi } from '../../ts/generated.js'
import { write } from '../../ts/write.js'
import type { RelayerContext } from './context.js'
import { failureName } from './failures.js'
import { gasForFullOutcome } from './gas.js'
import {
  mirrorStatuses,
  outcomeNames,
  QUEUED,
  reportableOutcomes,
  type Settlement,
  type SlashOutcome,
  settledOrders,
  slashOutcomesDigest,
  slashOutcomesTypedData,
} from './outcomes.js'
import type { Gather } from './quorum-gathering.js'
import { isRevert, revertName } from './reverts.js'
import type { Round, RoundOutcome } from './round.js'
import type { SlashQueue } from './slash-queue.js'
import { orderStates, type SlashOrder, vetoRequest } from './slashes.js'
import { mirrorHead } from './snapshots.js'

/*
 * The outcome round: finalize requested veto slashes once vetoed or past their veto window, then report every outcome
 * final on Ethereum that the mirror has not recorded, as one quorum-signed batch. An execution waits for a snapshot
 * captured at or after it (the mirror refuses it before); a veto or failure goes at once. Deciding is pure
 * (`openOrders`, `unsettledOrders`, `finalizeTurn`, `finalizeRetried`, `decideReport`); `createOutcomeRound` reads,
 * finalizes and reports.
 */

/** The middleware's state of a requested veto slash. */
const REQUESTED = 1

/** The orders the mirror still holds Queued, and those it recorded an outcome for: done for good. */
export function openOrders(
  known: readonly SlashOrder[],
  statuses: readonly number[],
): { open: SlashOrder[]; recorded: Hex[] } {
  return {
    open: known.filter((_, i) => statuses[i] === QUEUED),
    recorded: known.filter((_, i) => statuses[i] !== QUEUED).map((order) => order.orderId),
  }
}

/** Open orders that may have a veto request to finalize: not yet settled on Ethereum, and not given up on. */
export function unsettledOrders(
  open: readonly SlashOrder[],
  settlements: ReadonlyMap<Hex, unknown>,
  cannotFinalize: ReadonlySet<Hex>,
): SlashOrder[] {
  return open.filter((order) => !settlements.has(order.orderId) && !cannotFinalize.has(order.orderId))
}

export type FinalizeTurn =
  | { kind: 'not-due' }
  | { kind: 'wait'; dueSince: number }
  | { kind: 'finalize'; dueSince: number }

/**
 * Whether to finalize a requested veto slash now (anyone may): due once the resolver vetoed it or its veto window has
 * passed by Ethereum's clock. The lowest relayer address known goes at once, the others `submitDelay` after first
 * seeing it due (`dueSince`, wall-clock ms: kept from the turn before).
 */
export function finalizeTurn(params: {
  request: { completed: boolean; vetoDeadline: number }
  /** Ethereum's latest block time. */
  chainNow: bigint
  me: Address
  /** Other relayers' keys seen signing. */
  relayers: Iterable<Address>
  dueSince: number | undefined
  wallNow: number
  submitDelay: number
}): FinalizeTurn {
  if (!params.request.completed && BigInt(params.request.vetoDeadline) > params.chainNow) return { kind: 'not-due' }
  const dueSince = params.dueSince ?? params.wallNow
  const lowest = [params.me, ...params.relayers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0]
  const first = lowest !== undefined && isAddressEqual(lowest, params.me)
  if (!first && params.wallNow - dueSince < params.submitDelay) return { kind: 'wait', dueSince }
  return { kind: 'finalize', dueSince }
}

// A peer finalized it, this chain's clock is not quite past the deadline yet, an earlier request of the same
// operator on the vault goes first, or the vault refused it for a reason that may pass.
const RETRIED_REVERTS = new Set([
  'SlashOrderNotPending',
  'VetoPeriodNotEnded',
  'EarlierSlashPending',
  'SlashNotExecutable',
])

/**
 * Whether a finalizeSlash that reverted with `reason` is tried again next round. The middleware records a slash the
 * vault refuses as Failed; any other revert would only repeat each round.
 */
export const finalizeRetried = (reason: string | undefined): boolean =>
  reason !== undefined && RETRIED_REVERTS.has(reason)

export type ReportDecision =
  | { kind: 'idle'; reason: string; held: SlashOutcome[] }
  | { kind: 'report'; outcomes: SlashOutcome[]; held: SlashOutcome[] }

/** The outcomes to report now (`reportableOutcomes`), or why none: `held` are executions awaiting a later snapshot. */
export function decideReport(params: Parameters<typeof reportableOutcomes>[0]): ReportDecision {
  const { outcomes, held } = reportableOutcomes(params)
  if (outcomes.length > 0) return { kind: 'report', outcomes, held }
  const reason = held.length > 0 ? 'executions wait for a later snapshot' : 'no outcome to report'
  return { kind: 'idle', reason, held }
}

const middlewareErrors = [...cairnNetworkMiddlewareAbi, ...iVetoSlasherAbi]

export function createOutcomeRound(
  ctx: RelayerContext,
  queue: SlashQueue,
  quorum: { gather: Gather; knownRelayers: ReadonlySet<Address> },
): Round {
  const { eth, mkt, mirror, account, config, metrics, log } = ctx
  const middleware = ctx.ethereum.contracts.middleware
  // Settlements (executed, vetoed or failed) final on Ethereum and the first Ethereum block not yet scanned for
  // them; when each veto request was first seen due for finalizing (turn taking only).
  const settlements = new Map<Hex, Settlement>()
  let settleCursor = ctx.ethereum.deployBlock
  const dueSince = new Map<Hex, number>()
  const cannotFinalize = new Set<Hex>()

  async function scanSettlements(): Promise<void> {
    const ethTip = await eth.public.getBlockNumber({ cacheTime: 0 })
    const ethFinal = ethTip - BigInt(config.finalityDepth)
    if (ethFinal < settleCursor) return
    for (const settled of await settledOrders(eth.public, { middleware, fromBlock: settleCursor, toBlock: ethFinal })) {
      settlements.set(settled.orderId, settled)
    }
    settleCursor = ethFinal + 1n
  }

  async function finalize(order: SlashOrder): Promise<void> {
    const request = await vetoRequest(eth.public, { middleware, orderId: order.orderId })
    const chainNow = (await eth.public.getBlock({ blockTag: 'latest' })).timestamp
    const turn = finalizeTurn({
      request,
      chainNow,
      me: account.address,
      relayers: quorum.knownRelayers,
      dueSince: dueSince.get(order.orderId),
      wallNow: Date.now(),
      submitDelay: config.submitDelay,
    })
    if (turn.kind === 'not-due') return
    dueSince.set(order.orderId, turn.dueSince)
    if (turn.kind === 'wait') return
    try {
      const finalizeCall = {
        account,
        address: middleware,
        abi: middlewareErrors,
        functionName: 'finalizeSlash',
        args: [order.orderId],
      } as const
      const { request: call } = await eth.public.simulateContract(finalizeCall)
      // Enough gas for the vault to execute it, never the least with which the call merely succeeds (gas.ts).
      const { gas, checked } = await gasForFullOutcome(eth.public, {
        account,
        to: middleware,
        data: encodeFunctionData(finalizeCall),
      })
      const hash = await eth.wallet.writeContract({ ...call, gas })
      const receipt = await eth.public.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`finalizeSlash ${hash} reverted`)
      metrics.slashesFinalized.inc()
      // What the middleware recorded: the veto, the execution, or a failure for good (the vault refused it).
      const recorded = parseEventLogs({ abi: cairnNetworkMiddlewareAbi, logs: receipt.logs }).find(
        (e) =>
          (e.eventName === 'SlashVetoed' || e.eventName === 'SlashExecuted' || e.eventName === 'SlashFailed') &&
          e.args.orderId === order.orderId,
      )
      const fields = {
        orderId: order.orderId,
        taskId: String(order.taskId),
        tx: hash,
        gas: Number(gas),
        gasChecked: checked,
      }
      if (recorded?.eventName === 'SlashFailed') {
        log.warn({ ...fields, reason: failureName(recorded.args.reason) }, 'veto slash failed at finalization')
      } else if (recorded?.eventName === 'SlashExecuted') {
        log.info({ ...fields, slashed: String(recorded.args.amount) }, 'veto slash executed after its window')
      } else {
        log.info(fields, 'vetoed slash finalized')
      }
    } catch (error) {
      if (!isRevert(error)) throw error
      const reason = revertName(error)
      if (finalizeRetried(reason)) return
      cannotFinalize.add(order.orderId)
      log.warn({ orderId: order.orderId, taskId: String(order.taskId), reason }, 'veto slash cannot be finalized')
    }
  }

  async function report(outcomes: SlashOutcome[], signatures: Hex[], digest: Hex): Promise<RoundOutcome> {
    try {
      const { transactionHash: hash } = await write(mkt, {
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'reportSlashOutcomes',
        args: [outcomes, signatures],
      })
      metrics.outcomesReported.inc(outcomes.length)
      log.info(
        {
          digest,
          tx: hash,
          outcomes: outcomes.map((o) => ({
            orderId: o.orderId,
            outcome: outcomeNames[o.status],
            slashed: String(o.slashed),
          })),
        },
        'slash outcomes reported',
      )
      return { status: 'submitted', digest }
    } catch (error) {
      // A peer reported first: settled if the mirror now holds every outcome we signed.
      if (revertName(error) !== 'SlashAlreadySettled') throw error
      const now = await mirrorStatuses(mkt.public, { mirror: mirror.address, orderIds: outcomes.map((o) => o.orderId) })
      if (now.some((status) => status === QUEUED)) throw error
      log.info({ digest }, 'slash outcomes already reported by a peer')
      return { status: 'settled', digest }
    }
  }

  return async function outcomeRound(): Promise<RoundOutcome> {
    await queue.scan()
    await scanSettlements()

    // What the mirror has recorded is done for good.
    const known = [...queue.awaiting.values()]
    const statuses = await mirrorStatuses(mkt.public, { mirror: mirror.address, orderIds: known.map((o) => o.orderId) })
    const { open, recorded } = openOrders(known, statuses)
    for (const orderId of recorded) {
      queue.awaiting.delete(orderId)
      settlements.delete(orderId)
      dueSince.delete(orderId)
    }
    metrics.pendingOutcomes.set(open.length)

    // Veto requests: finalize the vetoed ones and those whose veto window has passed.
    const unsettled = unsettledOrders(open, settlements, cannotFinalize)
    const states = await orderStates(eth.public, { middleware, orderIds: unsettled.map((order) => order.orderId) })
    for (const [i, order] of unsettled.entries()) if (states[i] === REQUESTED) await finalize(order)

    const head = await mirrorHead(mkt.public, mirror.address)
    const decision = decideReport({
      open,
      settlements,
      mirrorCapture: head.captureTimestamp,
      maxBatch: config.maxBatch,
    })
    metrics.heldOutcomes.set(decision.held.length)
    if (decision.held.length > 0) {
      log.debug(
        { held: decision.held.map((o) => o.orderId), mirrorCapture: head.captureTimestamp },
        'executions wait for a snapshot captured after them',
      )
    }
    if (decision.kind === 'idle') return { status: 'idle', reason: decision.reason }

    const { outcomes } = decision
    const digest = slashOutcomesDigest(outcomes, mirror)
    const { signed, count, myTurn } = await quorum.gather('slashOutcomes', digest, () =>
      account.signTypedData(slashOutcomesTypedData(outcomes, mirror)),
    )
    if (!signed || !myTurn) return { status: 'waiting', digest, signatures: count }
    const signatures = signed.map((s) => s.signature)
    return report(outcomes, signatures, digest)
  }
}
