import {
  type Address,
  type Chain,
  getAddress,
  type Hex,
  isAddressEqual,
  type Log,
  type PublicClient,
  parseEventLogs,
  type Transport,
  zeroHash,
} from 'viem'
import { blockRanges } from '../../ts/block-ranges.js'
import { type HeadBlock, headOf, stillCanonical } from '../../ts/chain-head.js'
import type { AttestationDeployment, Deployment } from '../../ts/deployment.js'
import {
  iSignedFulfilmentsAbi,
  iSignedRequestsAbi,
  iStakeSourceAbi,
  proofMarketplaceAbi,
  proverRegistryAbi,
  teeRegistryAbi,
} from '../../ts/generated.js'
import type { SignedRequest } from '../../ts/signed-requests.js'
import { type Inputs, inputsDigest, marketIdOf, type Request, teeRoles } from '../../ts/types.js'
import {
  addMarket,
  addRequest,
  applyTaskAssigned,
  applyTaskEnded,
  type Book,
  createBook,
  noteProverAlive,
  noteTaskAssigned,
  noteTaskEnded,
  type OpenRequest,
  removeListing,
  removeProver,
  removeRequest,
  setAvailableStake,
  setListing,
  setListingActive,
  setProver,
} from './engine.js'

/*
 * The matcher's indexer: everything the engine needs, rebuilt from logs alone (marketplace, prover registry,
 * TeeRegistry) plus IStakeSource.availableStake reads, so a restart needs no local state. Replaying RequestCreated,
 * TaskAssigned and RequestCancelled from the deployment block leaves exactly the open requests in the book (an
 * assigned request is never open again), and replaying TaskAssigned and the task endings gives each prover's
 * compute in use exactly as the registry counts it.
 *
 * sync() follows the chain by block ranges: it fetches every log of a range first and only then applies them, so a
 * failed RPC call leaves the view untouched and the same range is simply fetched again. It checks that the last
 * block it indexed is still canonical (head's parent, or a fresh read of that block) and rebuilds from scratch when
 * it is not: a reorg, or a devnet reverted to a snapshot.
 */

/** A request in the book: what the engine matches on, plus what the assign call and the re-wrap need. */
export type MatcherRequest = OpenRequest & {
  /** The record as emitted: it travels with the batch. */
  record: Request
  /** RequestCreated's `requester`: private inputs are encrypted for the request of this account. */
  requester: Address
  /** As posted: inline, or behind a URI the matcher reads and checks before matching the request. */
  publicInputs: Inputs
  /** The marketplace's digest of the public inputs (keccak256 of inline bytes, else the posted digest). */
  publicInputsDigest: Hex
  privateInputs: Inputs
  createdBlock: bigint
  /**
   * Set for a signed order not used on chain yet (order stream): assigned with assignSigned from the requester's
   * signed request and signature. Its `record` is what the use would create at `createdAt` (the acknowledgement).
   * `wallet`: the requester had code at intake (an ERC-1271 wallet, whose check may cost up to its gas cap).
   */
  signed?: { request: SignedRequest; signature: Hex; wallet: boolean } | undefined
}

/** A prover's current enclave key in a market (the latest KeyRegistered for that market and operator). */
export type ProverKey = { signer: Address; eciesPublicKey: Hex; expiresAt: number }

export { type HeadBlock, headOf } from '../../ts/chain-head.js'

export type ChainView = {
  book: Book<MatcherRequest>
  /** Requests in the book, by id. */
  open: Map<bigint, MatcherRequest>
  /** Tasks in flight: what TaskAssigned reserved, released when the task ends. */
  tasks: Map<bigint, { prover: Address; compute: number }>
  /** By proverKeyId(marketId, operator). */
  proverKeys: Map<string, ProverKey>
  /** Provers listed in each market (active or leaving). */
  listed: Map<bigint, Set<Address>>
  /** Stake source of each market that locks stake. */
  stakeSources: Map<bigint, Address>
  /** Available stake to re-read at the end of the sync: per stake source (lowercase), some provers or all. */
  stakeDirty: Map<string, Set<string> | 'all'>
  /** Provers whose registry record (capacity, compute in use) to re-read at the end of the sync. */
  proversDirty: Set<Address>
  /** The last block indexed. */
  block: HeadBlock | undefined
}

export type AssignedNote = {
  requestId: bigint
  prover: Address
  byMatcher: boolean
  blockNumber: bigint
  /** The request's creation block, when it was indexed. */
  createdBlock: bigint | undefined
  transactionHash: Hex
}

/** What a sync saw that the service acts on beyond the book. */
export type SyncNotes = {
  from: bigint
  to: bigint
  /** The view was rebuilt from scratch (reorg or reverted chain). */
  rebuilt: boolean
  created: MatcherRequest[]
  assigned: AssignedNote[]
  skipped: { requestId: bigint; prover: Address; reason: Hex; transactionHash: Hex }[]
  matcherKeys: { signer: Address; expiresAt: number }[]
  revokedMatchers: Address[]
  /** Signed requests used on chain (SignedRequestUsed): their nonce is spent, whoever used them. */
  signedUsed: { requestId: bigint; requester: Address; nonce: bigint }[]
  /** Nonces requesters invalidated (NoncesInvalidated): bits of `mask` in word `wordPos`. */
  noncesInvalidated: { requester: Address; wordPos: bigint; mask: bigint }[]
  /** Signed requests used and settled on the fast lane (SignedRequestFulfilled): their nonce is spent. */
  signedFulfilled: { requestId: bigint; requester: Address; prover: Address; nonce: bigint; price: bigint }[]
  /**
   * Accounts whose marketplace balance went down (Withdrawn, or escrow and payment taken by RequestCreated,
   * SignedRequestUsed, SignedRequestFulfilled): a fast assignment's requester may no longer cover its price.
   */
  balanceLowered: Address[]
  /**
   * Requests settled while Open, without an assignment (RequestFulfilled of a request the book held open: fulfilOpen,
   * the fast lane of on-chain requests): they left the book.
   */
  openFulfilled: { requestId: bigint; prover: Address; price: bigint }[]
  /** Requests cancelled (RequestCancelled): they left the book. */
  cancelled: bigint[]
  /** Available-stake or prover reads failed; they are retried on the next sync. */
  readError: unknown
}

export type Indexer = {
  /** The current view; replaced by a fresh one when the chain reorganises. */
  readonly view: ChainView
  /** Indexes from the last block indexed up to `head` (at most `maxSyncBlocks` at a time). */
  sync(head: HeadBlock): Promise<SyncNotes>
}

export type IndexerParams = {
  client: PublicClient<Transport, Chain>
  deployment: Deployment
  attestation: AttestationDeployment
  fromBlock: bigint
  /** Blocks per eth_getLogs call. */
  logRange: bigint
  /** Blocks per sync call (bounds memory while catching up on a long history). */
  maxSyncBlocks?: bigint
  /** Seconds past its listed proving time a prover has to answer a task before the engine stops matching it. */
  livenessGrace?: number
}

/** The default of IndexerParams.livenessGrace: room for a slow proof and its transaction on a loaded machine. */
export const DEFAULT_LIVENESS_GRACE = 60

const PROVER_ROLE = teeRoles.indexOf('Prover')
const MATCHER_ROLE = teeRoles.indexOf('Matcher')
const STAKE_READ_CONCURRENCY = 16

export function proverKeyId(marketId: bigint, operator: Address): string {
  return `${marketId}:${operator.toLowerCase()}`
}

/** Whether a request carries private inputs (inline, or a URI and digest). */
export function hasPrivateInputs(inputs: Inputs): boolean {
  return inputs.data !== '0x' || inputs.uri !== '' || inputs.digest !== zeroHash
}

/** Takes a request out of the book for good (expired, cancelled, or inputs that cannot load or open). */
export function dropRequest(view: ChainView, requestId: bigint): void {
  removeRequest(view.book, requestId)
  view.open.delete(requestId)
}

export function emptyView(): ChainView {
  return {
    book: createBook<MatcherRequest>(),
    open: new Map(),
    tasks: new Map(),
    proverKeys: new Map(),
    listed: new Map(),
    stakeSources: new Map(),
    stakeDirty: new Map(),
    proversDirty: new Set(),
    block: undefined,
  }
}

export function createIndexer(params: IndexerParams): Indexer {
  const { client } = params
  const maxSyncBlocks = params.maxSyncBlocks ?? params.logRange * 10n
  const grace = params.livenessGrace ?? DEFAULT_LIVENESS_GRACE
  const contracts = {
    marketplace: params.deployment.contracts.proofMarketplace,
    registry: params.deployment.contracts.proverRegistry,
    teeRegistry: params.attestation.contracts.teeRegistry,
  }
  let view = emptyView()

  async function sync(head: HeadBlock): Promise<SyncNotes> {
    let rebuilt = false
    const indexed = view.block
    if (indexed !== undefined && !(await stillCanonical(client, indexed, head))) rebuilt = true
    const current = rebuilt ? emptyView() : view
    const from = current.block === undefined ? params.fromBlock : current.block.number + 1n
    const notes = newNotes(from, head.number, rebuilt)
    if (head.number < from) {
      view = current
      return notes
    }
    const to = head.number - from + 1n > maxSyncBlocks ? from + maxSyncBlocks - 1n : head.number
    const target = to === head.number ? head : headOf(await client.getBlock({ blockNumber: to }))
    const logs = await fetchLogs(current, from, to)
    // Fetched in full: apply. From here nothing awaits until the view is consistent at `to`.
    // Logs carry their block's time where the node gives it; otherwise the range's end, which is exact live (one
    // block per sync) and only late, never early, while catching up.
    const context: ApplyContext = { notes, rangeTime: Number(target.timestamp), grace }
    for (const event of decode(logs)) apply(current, event, context)
    current.block = target
    notes.to = to
    view = current
    try {
      await Promise.all([refreshStake(client, current, to), refreshProvers(client, contracts.registry, current, to)])
    } catch (error) {
      notes.readError = error
    }
    return notes
  }

  async function fetchLogs(current: ChainView, from: bigint, to: bigint): Promise<Log[]> {
    const address = [contracts.marketplace, contracts.registry, contracts.teeRegistry, ...stakeSourcesOf(current)]
    const logs: Log[] = []
    for (const range of blockRanges(from, to, params.logRange))
      logs.push(...(await client.getLogs({ address, ...range })))
    return logs
  }

  function decode(logs: Log[]): Decoded[] {
    const of = (address: Address) => logs.filter((log) => isAddressEqual(log.address, address))
    const events: Decoded[] = [
      ...parseEventLogs({ abi: proofMarketplaceAbi, logs: of(contracts.marketplace) }).map(
        (log) => ({ kind: 'marketplace', log }) as const,
      ),
      ...parseEventLogs({
        abi: iSignedRequestsAbi,
        eventName: ['SignedRequestUsed', 'NoncesInvalidated'],
        logs: of(contracts.marketplace),
      }).map((log) => ({ kind: 'signed', log }) as const),
      ...parseEventLogs({
        abi: iSignedFulfilmentsAbi,
        eventName: 'SignedRequestFulfilled',
        logs: of(contracts.marketplace),
      }).map((log) => ({ kind: 'fulfilled', log }) as const),
      ...parseEventLogs({ abi: proverRegistryAbi, logs: of(contracts.registry) }).map(
        (log) => ({ kind: 'registry', log }) as const,
      ),
      ...parseEventLogs({ abi: teeRegistryAbi, logs: of(contracts.teeRegistry) }).map(
        (log) => ({ kind: 'tee', log }) as const,
      ),
    ]
    const known = new Set(Object.values(contracts).map((address) => address.toLowerCase()))
    for (const log of logs) if (!known.has(log.address.toLowerCase())) events.push({ kind: 'stake', log })
    return events.sort(
      (a, b) =>
        compareBigints(a.log.blockNumber ?? 0n, b.log.blockNumber ?? 0n) ||
        (a.log.logIndex ?? 0) - (b.log.logIndex ?? 0),
    )
  }

  return {
    get view() {
      return view
    },
    sync,
  }
}

// ---------------------------------------------------------------------------------------------------------------

type MarketplaceLog = ReturnType<typeof parseEventLogs<typeof proofMarketplaceAbi>>[number]
type RegistryLog = ReturnType<typeof parseEventLogs<typeof proverRegistryAbi>>[number]
type TeeLog = ReturnType<typeof parseEventLogs<typeof teeRegistryAbi>>[number]
type SignedLog = ReturnType<
  typeof parseEventLogs<typeof iSignedRequestsAbi, true, 'SignedRequestUsed' | 'NoncesInvalidated'>
>[number]

type FulfilledLog = ReturnType<
  typeof parseEventLogs<typeof iSignedFulfilmentsAbi, true, 'SignedRequestFulfilled'>
>[number]

type Decoded =
  | { kind: 'marketplace'; log: MarketplaceLog }
  | { kind: 'fulfilled'; log: FulfilledLog }
  | { kind: 'registry'; log: RegistryLog }
  | { kind: 'tee'; log: TeeLog }
  | { kind: 'signed'; log: SignedLog }
  | { kind: 'stake'; log: Log }

function newNotes(from: bigint, to: bigint, rebuilt: boolean): SyncNotes {
  return {
    from,
    to,
    rebuilt,
    created: [],
    assigned: [],
    skipped: [],
    matcherKeys: [],
    revokedMatchers: [],
    signedUsed: [],
    noncesInvalidated: [],
    signedFulfilled: [],
    balanceLowered: [],
    openFulfilled: [],
    cancelled: [],
    readError: undefined,
  }
}

type ApplyContext = { notes: SyncNotes; rangeTime: number; grace: number }

function apply(view: ChainView, event: Decoded, context: ApplyContext): void {
  if (event.kind === 'marketplace') applyMarketplace(view, event.log, context)
  else if (event.kind === 'registry') applyRegistry(view, event.log, context)
  else if (event.kind === 'tee') applyTee(view, event.log, context.notes)
  else if (event.kind === 'signed') applySigned(event.log, context.notes)
  else if (event.kind === 'fulfilled') applyFulfilled(view, event.log, context)
  else applyStakeLog(view, event.log)
}

/** A fast-lane use: the prover's own transaction (a sign of life), the requester's balance paid from. */
function applyFulfilled(view: ChainView, log: FulfilledLog, context: ApplyContext): void {
  const { requestId, requester, prover, nonce, price } = log.args
  context.notes.signedFulfilled.push({ requestId, requester, prover, nonce, price })
  context.notes.balanceLowered.push(requester)
  noteProverAlive(view.book, { prover, at: timeOf(log, context) })
}

function timeOf(log: Log, context: ApplyContext): number {
  return log.blockTimestamp === undefined || log.blockTimestamp === null
    ? context.rangeTime
    : Number(log.blockTimestamp)
}

function applySigned(log: SignedLog, notes: SyncNotes): void {
  if (log.eventName === 'SignedRequestUsed') {
    notes.signedUsed.push(log.args)
    notes.balanceLowered.push(log.args.requester)
  } else notes.noncesInvalidated.push(log.args)
}

function applyMarketplace(view: ChainView, log: MarketplaceLog, context: ApplyContext): void {
  const notes = context.notes
  switch (log.eventName) {
    case 'MarketCreated': {
      const { marketId, params } = log.args
      addMarket(view.book, { marketId, stakePerTask: params.stakePerTask, stakeSource: params.stakeSource })
      if (params.stakePerTask !== 0n) view.stakeSources.set(marketId, getAddress(params.stakeSource))
      return
    }
    case 'RequestCreated': {
      const { requestId, marketId, requester, request, deadline, speedPreferenceBps, publicInputs, privateInputs } =
        log.args
      // A signed order of the book used on chain (posted, or by a batch): the chain's record replaces it.
      if (view.open.get(requestId)?.signed !== undefined) dropRequest(view, requestId)
      const open: MatcherRequest = {
        requestId,
        marketId,
        maxReward: request.maxReward,
        provingTime: request.provingTime,
        createdAt: request.createdAt,
        matchingExpiry: request.matchingExpiry,
        deadline,
        speedPreferenceBps,
        createdBlockHash: log.blockHash,
        hasPrivateInputs: hasPrivateInputs(privateInputs),
        record: request,
        requester,
        publicInputs,
        publicInputsDigest: inputsDigest(publicInputs),
        privateInputs,
        createdBlock: log.blockNumber,
      }
      if (addRequest(view.book, open)) {
        view.open.set(requestId, open)
        notes.created.push(open)
      }
      notes.balanceLowered.push(requester)
      return
    }
    case 'Withdrawn':
      notes.balanceLowered.push(log.args.account)
      return
    case 'TaskAssigned': {
      const { requestId, prover, task, byMatcher } = log.args
      const request = view.open.get(requestId)
      const createdBlock = request?.createdBlock
      applyTaskAssigned(view.book, { requestId, prover, compute: task.compute })
      // The task's deadline is its assignment time plus the request's proving time (ProofMarketplace._reserveAndLock).
      const assignedAt = request === undefined ? timeOf(log, context) : task.deadline - request.provingTime
      noteTaskAssigned(view.book, {
        requestId,
        prover,
        marketId: marketIdOf(requestId),
        assignedAt,
        deadline: task.deadline,
        grace: context.grace,
        byMatcher,
      })
      view.open.delete(requestId)
      view.tasks.set(requestId, { prover, compute: task.compute })
      markStake(view, marketIdOf(requestId), prover)
      notes.assigned.push({
        requestId,
        prover,
        byMatcher,
        blockNumber: log.blockNumber,
        createdBlock,
        transactionHash: log.transactionHash,
      })
      return
    }
    case 'AssignmentSkipped': {
      // The chain disagreed with the book about this prover (its stake, its room): read both afresh, so a stake
      // source whose availability changes without an event cannot make the matcher repeat the same refused pick.
      const { requestId, prover, reason } = log.args
      markStake(view, marketIdOf(requestId), prover)
      view.proversDirty.add(prover)
      notes.skipped.push({ requestId, prover, reason, transactionHash: log.transactionHash })
      return
    }
    case 'RequestFulfilled':
    case 'InputsRejected':
    case 'TaskSlashed': {
      const requestId = log.args.requestId
      noteTaskEnded(view.book, {
        requestId,
        prover: log.args.prover,
        answered: log.eventName !== 'TaskSlashed',
        at: timeOf(log, context),
      })
      const task = view.tasks.get(requestId)
      if (task === undefined) {
        // Fulfilled straight from Open (fulfilOpen: the matcher's FastAssignment and the proof, no assignment): the
        // request leaves the book, and any hold on it ends with it.
        if (log.eventName === 'RequestFulfilled' && view.open.get(requestId)?.signed === undefined) {
          if (view.open.has(requestId))
            context.notes.openFulfilled.push({ requestId, prover: log.args.prover, price: log.args.price })
          dropRequest(view, requestId)
        }
        return
      }
      applyTaskEnded(view.book, task)
      view.tasks.delete(requestId)
      markStake(view, marketIdOf(requestId), task.prover)
      return
    }
    case 'RequestCancelled':
      dropRequest(view, log.args.requestId)
      notes.cancelled.push(log.args.requestId)
      return
    default:
      return
  }
}

function applyRegistry(view: ChainView, log: RegistryLog, context: ApplyContext): void {
  applyRegistryEvent(view, log)
  // The prover's own calls (the registry takes them from msg.sender only): signs of life (liveness.ts).
  switch (log.eventName) {
    case 'ProverRegistered':
    case 'CapacityUpdated':
    case 'Listed':
    case 'ListingUpdated':
    case 'LeaveCancelled':
      noteProverAlive(view.book, { prover: log.args.prover, at: timeOf(log, context) })
      return
    default:
      return
  }
}

function applyRegistryEvent(view: ChainView, log: RegistryLog): void {
  switch (log.eventName) {
    case 'ProverRegistered':
    case 'CapacityUpdated':
      setProver(view.book, { prover: log.args.prover, capacity: log.args.capacity })
      return
    case 'ProverDeregistered':
      removeProver(view.book, log.args.prover)
      for (const provers of view.listed.values()) provers.delete(log.args.prover)
      return
    case 'Listed':
    case 'ListingUpdated': {
      const { prover, marketId, price, provingTime, computePerRequest } = log.args
      const active = log.eventName === 'Listed' ? true : undefined
      setListing(view.book, { prover, marketId, price, provingTime, computePerRequest, active })
      let provers = view.listed.get(marketId)
      if (provers === undefined) {
        provers = new Set()
        view.listed.set(marketId, provers)
      }
      provers.add(prover)
      markStake(view, marketId, prover)
      return
    }
    case 'LeaveRequested':
    case 'LeaveCancelled': {
      const { prover, marketId } = log.args
      setListingActive(view.book, { prover, marketId, active: log.eventName === 'LeaveCancelled' })
      return
    }
    case 'Delisted': {
      const { prover, marketId } = log.args
      removeListing(view.book, { prover, marketId })
      view.listed.get(marketId)?.delete(prover)
      return
    }
    default:
      return
  }
}

function applyTee(view: ChainView, log: TeeLog, notes: SyncNotes): void {
  if (log.eventName === 'KeyRegistered') {
    const { role, marketId, signer, operator, eciesPublicKey, expiresAt } = log.args
    if (role === PROVER_ROLE) {
      view.proverKeys.set(proverKeyId(marketId, operator), { signer, eciesPublicKey, expiresAt: Number(expiresAt) })
    } else if (role === MATCHER_ROLE) {
      notes.matcherKeys.push({ signer, expiresAt: Number(expiresAt) })
    }
  } else if (log.eventName === 'KeyRevoked') {
    const { role, marketId, signer } = log.args
    if (role === MATCHER_ROLE) notes.revokedMatchers.push(signer)
    if (role !== PROVER_ROLE) return
    for (const [id, key] of view.proverKeys) {
      if (id.startsWith(`${marketId}:`) && isAddressEqual(key.signer, signer)) view.proverKeys.delete(id)
    }
  }
}

/**
 * A stake source tells indexers what changed through IStakeSource's two events alone (the rule IStakeSource
 * documents): LockableStakeChanged(prover) marks that prover, AllLockableStakeChanged marks every prover of the
 * source. Locks, unlocks and slashes are the marketplace's calls, marked from its task events (markStake). A source's
 * other events are its own business and change nothing here.
 */
function applyStakeLog(view: ChainView, log: Log): void {
  const change = stakeChangeOf(log)
  if (change === undefined) return
  const source = log.address.toLowerCase()
  if (change === 'all') view.stakeDirty.set(source, 'all')
  else markSource(view, source, change.toLowerCase())
}

/** Whose lockable stake a stake source's log says may have changed: one prover, every prover, or nobody's. */
export function stakeChangeOf(log: Log): Address | 'all' | undefined {
  const [event] = parseEventLogs({ abi: iStakeSourceAbi, logs: [log], strict: true })
  if (event === undefined) return undefined
  return event.eventName === 'LockableStakeChanged' ? event.args.prover : 'all'
}

function markStake(view: ChainView, marketId: bigint, prover: Address): void {
  const source = view.stakeSources.get(marketId)
  if (source !== undefined) markSource(view, source.toLowerCase(), prover.toLowerCase())
}

function markSource(view: ChainView, source: string, prover: string): void {
  const dirty = view.stakeDirty.get(source)
  if (dirty === 'all') return
  if (dirty === undefined) view.stakeDirty.set(source, new Set([prover]))
  else dirty.add(prover)
}

function stakeSourcesOf(view: ChainView): Address[] {
  const unique = new Map<string, Address>()
  for (const source of view.stakeSources.values()) unique.set(source.toLowerCase(), source)
  return [...unique.values()]
}

/** Re-reads IStakeSource.availableStake at `blockNumber` for every dirty (source, listed prover) pair. */
async function refreshStake(client: PublicClient<Transport, Chain>, view: ChainView, blockNumber: bigint) {
  if (view.stakeDirty.size === 0) return
  const pairs: { source: Address; prover: Address }[] = []
  for (const [source, dirty] of view.stakeDirty) {
    const provers = new Map<string, Address>()
    for (const [marketId, marketSource] of view.stakeSources) {
      if (marketSource.toLowerCase() !== source) continue
      for (const prover of view.listed.get(marketId) ?? []) provers.set(prover.toLowerCase(), prover)
    }
    for (const [key, prover] of provers) {
      if (dirty === 'all' || dirty.has(key)) pairs.push({ source: getAddress(source), prover })
    }
  }
  const amounts = await mapLimit(pairs, STAKE_READ_CONCURRENCY, ({ source, prover }) =>
    client.readContract({
      address: source,
      abi: iStakeSourceAbi,
      functionName: 'availableStake',
      args: [prover],
      blockNumber,
    }),
  )
  for (const [i, { source, prover }] of pairs.entries()) {
    setAvailableStake(view.book, { prover, stakeSource: source, amount: amounts[i] ?? 0n })
  }
  view.stakeDirty.clear()
}

/** Re-reads the registry record (capacity, compute in use) of provers a skipped assignment named. */
async function refreshProvers(
  client: PublicClient<Transport, Chain>,
  registry: Address,
  view: ChainView,
  blockNumber: bigint,
): Promise<void> {
  if (view.proversDirty.size === 0) return
  const provers = [...view.proversDirty]
  const records = await mapLimit(provers, STAKE_READ_CONCURRENCY, (prover) =>
    client.readContract({
      address: registry,
      abi: proverRegistryAbi,
      functionName: 'prover',
      args: [prover],
      blockNumber,
    }),
  )
  for (const [i, prover] of provers.entries()) {
    const record = records[i]
    if (record?.registered)
      setProver(view.book, { prover, capacity: record.capacity, computeInUse: record.computeInUse })
  }
  view.proversDirty.clear()
}

async function mapLimit<item, result>(
  items: readonly item[],
  limit: number,
  run: (item: item) => Promise<result>,
): Promise<result[]> {
  const results: result[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await run(items[i] as item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}
