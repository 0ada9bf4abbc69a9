/**
 * Applying decoded events to the index, in chain order. Pure apart from mutating the index it is given: no RPC, so
 * the indexing is tested over log fixtures without a chain. What each event touched is collected in `Changes`, which
 * the live stream tells the open pages.
 */
import { type Address, getAddress, zeroHash } from 'viem'
import { enumName, marketIdOf, mirrorSlashStatuses, type TcbStatus, tcbStatuses, teeRoles } from '../../ts/types.js'
import type { ExplorerEvent, MarketplaceLog, MirrorLog, ModuleLog, RegistryLog, StakingLog, TeeLog } from './decode.js'
import {
  ACTIVITY_KEPT,
  type Ending,
  type ExplorerIndex,
  emptyProver,
  emptyRequest,
  type LogRef,
  listingKey,
  type ProverEntry,
  type RequestEntry,
} from './model.js'

/** What a batch of events touched. */
export type Changes = {
  requests: Set<bigint>
  markets: Set<bigint>
  /** Lower-case addresses. */
  provers: Set<string>
  /** Markets created in this batch: their verifier, stake source and token are read once. */
  newMarkets: bigint[]
  /** Provers whose native stake moved: read again at the batch's last block. */
  stakeMoved: Set<Address>
  /** Other things pages show: `restaking` (the StakeMirror), `attestation` (the TeeRegistry). */
  topics: Set<string>
}

export function noChanges(): Changes {
  return {
    requests: new Set(),
    markets: new Set(),
    provers: new Set(),
    newMarkets: [],
    stakeMoved: new Set(),
    topics: new Set(),
  }
}

export function hasChanges(changes: Changes): boolean {
  return changes.requests.size + changes.markets.size + changes.provers.size + changes.topics.size > 0
}

/** The time of a log's block, when the node does not put it in the log. */
export type BlockTime = (blockNumber: bigint) => number

type Raw = {
  blockNumber: bigint | null
  logIndex: number | null
  transactionHash: `0x${string}` | null
  blockTimestamp?: bigint | null | undefined
}

export function logRef(log: Raw, blockTime: BlockTime): LogRef {
  if (log.blockNumber === null || log.logIndex === null || log.transactionHash === null) {
    throw new Error('a pending log where a mined one was expected')
  }
  const time =
    log.blockTimestamp === undefined || log.blockTimestamp === null
      ? blockTime(log.blockNumber)
      : Number(log.blockTimestamp)
  return { blockNumber: log.blockNumber, logIndex: log.logIndex, transactionHash: log.transactionHash, time }
}

export function applyEvents(
  index: ExplorerIndex,
  events: readonly ExplorerEvent[],
  blockTime: BlockTime,
  changes: Changes = noChanges(),
): Changes {
  for (const event of events) {
    const at = logRef(event.log, blockTime)
    if (event.source === 'marketplace') applyMarketplace(index, event.log, at, changes)
    else if (event.source === 'module') applyModule(index, event.log, at, changes)
    else if (event.source === 'registry') applyRegistry(index, event.log, at, changes)
    else if (event.source === 'staking') applyStaking(event.log, changes)
    else if (event.source === 'tee') applyTee(index, event.log, at, changes)
    else applyMirror(index, event.log, at, changes)
  }
  return changes
}

function requestOf(index: ExplorerIndex, requestId: bigint, changes: Changes): RequestEntry {
  let entry = index.requests.get(requestId)
  if (entry === undefined) {
    entry = emptyRequest(requestId, marketIdOf(requestId))
    index.requests.set(requestId, entry)
    index.markets.get(entry.marketId)?.requestIds.push(requestId)
  }
  changes.requests.add(requestId)
  changes.markets.add(entry.marketId)
  return entry
}

export function proverOf(index: ExplorerIndex, address: Address, changes: Changes): ProverEntry {
  const key = address.toLowerCase()
  let entry = index.provers.get(key)
  if (entry === undefined) {
    entry = emptyProver(getAddress(address))
    index.provers.set(key, entry)
  }
  changes.provers.add(key)
  return entry
}

function note(index: ExplorerIndex, entry: RequestEntry, what: string, at: LogRef): void {
  index.activity.push({ requestId: entry.requestId, marketId: entry.marketId, what, at })
  if (index.activity.length > ACTIVITY_KEPT) index.activity.splice(0, index.activity.length - ACTIVITY_KEPT)
}

/** Ends a request: frees its task's compute and records how it ended. */
function end(index: ExplorerIndex, entry: RequestEntry, ending: Ending, changes: Changes): void {
  if (entry.task !== undefined && entry.ending === undefined) {
    const prover = proverOf(index, entry.task.prover, changes)
    prover.computeInUse = Math.max(0, prover.computeInUse - entry.task.compute)
  }
  entry.ending = ending
}

function applyMarketplace(index: ExplorerIndex, log: MarketplaceLog, at: LogRef, changes: Changes): void {
  switch (log.eventName) {
    case 'MarketCreated': {
      const { marketId, creator, params } = log.args
      index.markets.set(marketId, {
        marketId,
        creator,
        params,
        metadataURI: params.metadataURI,
        created: at,
        verifierKind: undefined,
        stakeSourceKind: undefined,
        token: undefined,
        requestIds: [],
      })
      changes.markets.add(marketId)
      changes.newMarkets.push(marketId)
      return
    }
    case 'MarketMetadataUpdated': {
      const market = index.markets.get(log.args.marketId)
      if (market !== undefined) market.metadataURI = log.args.metadataURI
      changes.markets.add(log.args.marketId)
      return
    }
    case 'RequestCreated': {
      const { requestId, requester, request, deadline, privateInputs } = log.args
      const entry = requestOf(index, requestId, changes)
      entry.requester = requester
      entry.request = request
      entry.deadline = deadline
      entry.privateInputs = privateInputs.data !== '0x' || privateInputs.uri !== '' || privateInputs.digest !== zeroHash
      entry.posted = at
      note(index, entry, 'posted', at)
      return
    }
    case 'TaskAssigned': {
      const { requestId, prover, task, byMatcher } = log.args
      const entry = requestOf(index, requestId, changes)
      entry.task = task
      entry.byMatcher = byMatcher
      entry.assigned = at
      const machine = proverOf(index, prover, changes)
      machine.computeInUse += task.compute
      machine.requestIds.push(requestId)
      note(index, entry, byMatcher ? 'assigned by the matcher' : 'claimed', at)
      return
    }
    case 'InputKeyReleased': {
      const entry = requestOf(index, log.args.requestId, changes)
      entry.keyReleases.push({ ...at, prover: log.args.prover })
      return
    }
    case 'AssignmentSkipped': {
      const entry = requestOf(index, log.args.requestId, changes)
      entry.skipped.push({ ...at, prover: log.args.prover, reason: log.args.reason })
      return
    }
    case 'RequestFulfilled': {
      const { requestId, prover, price, refund } = log.args
      const entry = requestOf(index, requestId, changes)
      const lane = entry.task === undefined ? 'fast-open' : 'assigned'
      if (lane === 'fast-open') proverOf(index, prover, changes).requestIds.push(requestId)
      end(index, entry, { kind: 'Fulfilled', lane, prover, price, refund, at }, changes)
      note(index, entry, lane === 'assigned' ? 'fulfilled' : 'fulfilled on the fast lane', at)
      return
    }
    case 'InputsRejected': {
      const { requestId, prover, price, refund } = log.args
      const entry = requestOf(index, requestId, changes)
      end(index, entry, { kind: 'InputsRejected', prover, price, refund, at }, changes)
      note(index, entry, 'inputs rejected', at)
      return
    }
    case 'TaskSlashed': {
      const { requestId, prover, penalty, compensation, slasherReward, slasher } = log.args
      const entry = requestOf(index, requestId, changes)
      end(index, entry, { kind: 'Slashed', prover, penalty, compensation, slasherReward, slasher, at }, changes)
      note(index, entry, 'slashed', at)
      return
    }
    case 'RequestCancelled': {
      const entry = requestOf(index, log.args.requestId, changes)
      // UnkeyedClaimAbandoned comes first in the same transaction when a private claim's key never came.
      const abandoned = entry.ending?.kind === 'Cancelled' && entry.ending.abandonedClaim
      end(index, entry, { kind: 'Cancelled', refund: log.args.refund, at, abandonedClaim: abandoned }, changes)
      note(index, entry, abandoned ? 'cancelled: private claim abandoned' : 'cancelled', at)
      return
    }
    default:
      return
  }
}

function applyModule(index: ExplorerIndex, log: ModuleLog, at: LogRef, changes: Changes): void {
  switch (log.eventName) {
    case 'SignedRequestUsed': {
      const entry = requestOf(index, log.args.requestId, changes)
      entry.signed = true
      entry.requester ??= log.args.requester
      return
    }
    case 'SignedRequestFulfilled': {
      const { requestId, requester, prover, price } = log.args
      const entry = requestOf(index, requestId, changes)
      entry.signed = true
      entry.requester ??= requester
      proverOf(index, prover, changes).requestIds.push(requestId)
      end(index, entry, { kind: 'Fulfilled', lane: 'fast-signed', prover, price, refund: undefined, at }, changes)
      note(index, entry, 'signed request fulfilled on the fast lane', at)
      return
    }
    case 'PrivateClaimed': {
      const entry = requestOf(index, log.args.requestId, changes)
      entry.privateClaim = { ...at, keyDueBy: log.args.keyDueBy }
      return
    }
    case 'UnkeyedClaimAbandoned': {
      const entry = requestOf(index, log.args.requestId, changes)
      // Marked so the RequestCancelled that follows in the same transaction says why.
      end(index, entry, { kind: 'Cancelled', refund: 0n, at, abandonedClaim: true }, changes)
      return
    }
    default:
      return
  }
}

function applyRegistry(index: ExplorerIndex, log: RegistryLog, at: LogRef, changes: Changes): void {
  switch (log.eventName) {
    case 'ProverRegistered': {
      const prover = proverOf(index, log.args.prover, changes)
      prover.rewardAddress = log.args.rewardAddress
      prover.capacity = log.args.capacity
      prover.registered = at
      prover.deregistered = undefined
      return
    }
    case 'ProverDeregistered':
      proverOf(index, log.args.prover, changes).deregistered = at
      return
    case 'RewardAddressUpdated':
      proverOf(index, log.args.prover, changes).rewardAddress = log.args.rewardAddress
      return
    case 'CapacityUpdated':
      proverOf(index, log.args.prover, changes).capacity = log.args.capacity
      return
    case 'Listed':
    case 'ListingUpdated': {
      const { prover, marketId, price, provingTime, computePerRequest } = log.args
      const key = listingKey(prover, marketId)
      const before = index.listings.get(key)
      index.listings.set(key, {
        prover,
        marketId,
        price,
        provingTime,
        computePerRequest,
        state: before?.state ?? 'Active',
        leaveAvailableAt: before?.leaveAvailableAt,
        listed: before?.listed ?? at,
      })
      proverOf(index, prover, changes)
      changes.markets.add(marketId)
      return
    }
    case 'LeaveRequested':
    case 'LeaveCancelled': {
      const listing = index.listings.get(listingKey(log.args.prover, log.args.marketId))
      if (listing !== undefined) {
        const leaving = log.eventName === 'LeaveRequested'
        listing.state = leaving ? 'Leaving' : 'Active'
        listing.leaveAvailableAt = leaving ? log.args.availableAt : undefined
      }
      proverOf(index, log.args.prover, changes)
      changes.markets.add(log.args.marketId)
      return
    }
    case 'Delisted':
      index.listings.delete(listingKey(log.args.prover, log.args.marketId))
      proverOf(index, log.args.prover, changes)
      changes.markets.add(log.args.marketId)
      return
    default:
      return
  }
}

function applyStaking(log: StakingLog, changes: Changes): void {
  if ('prover' in log.args && log.args.prover !== undefined) {
    changes.stakeMoved.add(log.args.prover)
    changes.provers.add(log.args.prover.toLowerCase())
  }
}

function applyTee(index: ExplorerIndex, log: TeeLog, at: LogRef, changes: Changes): void {
  changes.topics.add('attestation')
  if (log.eventName === 'KeyRegistered') {
    const { role, marketId, signer, operator, measurement, expiresAt } = log.args
    const name = teeRoles[role] ?? 'Prover'
    index.keys.push({
      role: name,
      marketId,
      signer,
      operator,
      measurement,
      expiresAt: Number(expiresAt),
      registered: at,
      revoked: undefined,
      acceptedTcb: index.acceptedTcb,
    })
    if (name === 'Prover') proverOf(index, operator, changes)
  } else if (log.eventName === 'AcceptedTcbStatusesSet') {
    index.acceptedTcb = tcbStatusesIn(log.args.mask)
  } else if (log.eventName === 'OperatorAdmissionSet') {
    const role = teeRoles[log.args.role] ?? 'Prover'
    const admitted = index.admitted.get(role) ?? new Set<string>()
    if (log.args.admitted) admitted.add(log.args.operator.toLowerCase())
    else admitted.delete(log.args.operator.toLowerCase())
    index.admitted.set(role, admitted)
  } else if (log.eventName === 'KeyRevoked') {
    for (const key of index.keys) {
      if (
        key.revoked === undefined &&
        key.signer.toLowerCase() === log.args.signer.toLowerCase() &&
        key.marketId === log.args.marketId
      ) {
        key.revoked = at
        changes.provers.add(key.operator.toLowerCase())
      }
    }
  }
}

/** The TCB statuses a TeeRegistry mask accepts: bit i set accepts TcbStatus(i). */
export function tcbStatusesIn(mask: bigint): TcbStatus[] {
  return tcbStatuses.filter((_, i) => (mask >> BigInt(i)) & 1n)
}

function applyMirror(index: ExplorerIndex, log: MirrorLog, at: LogRef, changes: Changes): void {
  const { mirror } = index
  changes.topics.add('restaking')
  switch (log.eventName) {
    case 'SnapshotCommitted': {
      const { epoch, captureTimestamp, slashingWindow, stakeRoot, totalStake, leafCount } = log.args
      mirror.epochs.push({ epoch, captureTimestamp, slashingWindow, stakeRoot, totalStake, leafCount, at })
      changes.topics.add('restaking')
      return
    }
    case 'StakeProven': {
      const { epoch, prover, vault, stake, counted } = log.args
      mirror.leaves.push({ epoch, prover, vault, stake, counted, at })
      proverOf(index, prover, changes)
      return
    }
    case 'SlashQueued': {
      const { orderId, taskId, prover, vault, amount, captureTimestamp } = log.args
      mirror.slashes.set(orderId, {
        orderId,
        taskId,
        prover,
        vault,
        amount,
        captureTimestamp,
        queued: at,
        settled: undefined,
      })
      proverOf(index, prover, changes)
      if (index.requests.has(taskId)) requestOf(index, taskId, changes)
      return
    }
    case 'SlashSettled': {
      const { orderId, prover, status, slashed, leaf } = log.args
      const slash = mirror.slashes.get(orderId)
      if (slash !== undefined) {
        slash.settled = { status: enumName(mirrorSlashStatuses, status, 'SlashStatus'), slashed, leaf, at }
        if (index.requests.has(slash.taskId)) requestOf(index, slash.taskId, changes)
      }
      proverOf(index, prover, changes)
      return
    }
    case 'ThresholdSet':
      mirror.threshold = log.args.threshold
      return
    default:
      return
  }
}
