/**
 * The explorer's index: everything its pages show, built from the marketplace's logs alone (plus one read per market
 * of what never changes, and native stake read after the blocks that moved it). It lives in memory and is rebuilt
 * from the chain at every start, so there is nothing to migrate or corrupt.
 */
import type { Address, Hex } from 'viem'
import type { HeadBlock } from '../../ts/chain-head.js'
import type { MarketParams, MirrorSlashStatus, Request, Task, TcbStatus, TeeRole } from '../../ts/types.js'

/** Where something happened: its log's block, time, transaction and position. */
export type LogRef = { blockNumber: bigint; time: number; transactionHash: Hex; logIndex: number }

/** How a request ended, if it did. */
export type Ending =
  | {
      kind: 'Fulfilled'
      /** Assigned (stake-backed task), fast lane on an on-chain request (fulfilOpen), or a fast signed request. */
      lane: 'assigned' | 'fast-open' | 'fast-signed'
      prover: Address
      price: bigint
      /** Undefined on the fast signed lane: nothing was escrowed, so nothing is refunded. */
      refund: bigint | undefined
      at: LogRef
    }
  | { kind: 'InputsRejected'; prover: Address; price: bigint; refund: bigint; at: LogRef }
  | {
      kind: 'Slashed'
      prover: Address
      penalty: bigint
      compensation: bigint
      slasherReward: bigint
      slasher: Address
      at: LogRef
    }
  | { kind: 'Cancelled'; refund: bigint; at: LogRef; abandonedClaim: boolean }

export type RequestEntry = {
  requestId: bigint
  marketId: bigint
  requester: Address | undefined
  /** The record RequestCreated emitted; undefined for a fast signed request, which never had one. */
  request: Request | undefined
  /** The requester's deadline (emitted, not stored). */
  deadline: number | undefined
  privateInputs: boolean
  /** Posted through a signed request (SignedRequestUsed), or settled on the fast signed lane. */
  signed: boolean
  posted: LogRef | undefined
  task: Task | undefined
  byMatcher: boolean | undefined
  assigned: LogRef | undefined
  privateClaim: (LogRef & { keyDueBy: number }) | undefined
  keyReleases: (LogRef & { prover: Address })[]
  skipped: (LogRef & { prover: Address; reason: Hex })[]
  ending: Ending | undefined
}

export type TokenFacts = { symbol: string; decimals: number }

/** What the explorer could learn about a market's verifier by asking it once. */
export type VerifierKind = 'Groth16' | 'TEE' | 'MultiProof' | 'Noir (UltraHonk)' | 'unknown'
export type StakeSourceKind = 'native' | 'restaked' | 'other'

export type MarketEntry = {
  marketId: bigint
  creator: Address
  params: MarketParams
  metadataURI: string
  created: LogRef
  /** Filled in after the block that created the market is indexed (one read each, never repeated). */
  verifierKind: VerifierKind | undefined
  stakeSourceKind: StakeSourceKind | undefined
  token: TokenFacts | undefined
  /** Its requests in posting order. */
  requestIds: bigint[]
}

export type ListingEntry = {
  prover: Address
  marketId: bigint
  price: bigint
  provingTime: number
  computePerRequest: number
  state: 'Active' | 'Leaving'
  /** When the leave can be completed, while Leaving. */
  leaveAvailableAt: number | undefined
  listed: LogRef
}

export type EnclaveKey = {
  role: TeeRole
  marketId: bigint
  signer: Address
  operator: Address
  measurement: Hex
  expiresAt: number
  registered: LogRef
  revoked: LogRef | undefined
  /**
   * The TCB statuses the registry accepted when the key registered (its AcceptedTcbStatusesSet policy then): the
   * quote's own status was one of them. The registry checks it and stores nothing more, so a single accepted status
   * is the key's status. Undefined when no policy was seen in the indexed logs.
   */
  acceptedTcb: readonly TcbStatus[] | undefined
}

export type ProverEntry = {
  address: Address
  rewardAddress: Address | undefined
  capacity: number
  registered: LogRef | undefined
  deregistered: LogRef | undefined
  /** Compute held by its running tasks. */
  computeInUse: number
  /** Request ids of its tasks (assigned or fast-lane), in order. */
  requestIds: bigint[]
  /** NativeStaking's view after the last block that moved it. */
  nativeStake: { staked: bigint; locked: bigint; blockNumber: bigint } | undefined
}

/** A snapshot the relayers committed to the StakeMirror: one epoch of Ethereum stake. */
export type MirrorEpoch = {
  epoch: bigint
  captureTimestamp: number
  slashingWindow: number
  stakeRoot: Hex
  totalStake: bigint
  leafCount: number
  at: LogRef
}

/** A prover's leaf proven on the StakeMirror: its stake in one vault as of one epoch. */
export type ProvenLeaf = { epoch: bigint; prover: Address; vault: Address; stake: bigint; counted: bigint; at: LogRef }

/** A slash the StakeMirror queued for Ethereum, and its outcome once the relayers reported it back. */
export type MirrorSlash = {
  orderId: Hex
  /** The request whose task missed its deadline. */
  taskId: bigint
  prover: Address
  vault: Address
  amount: bigint
  captureTimestamp: number
  queued: LogRef
  settled: { status: MirrorSlashStatus; slashed: bigint; leaf: bigint; at: LogRef } | undefined
}

export type MirrorIndex = {
  epochs: MirrorEpoch[]
  leaves: ProvenLeaf[]
  slashes: Map<Hex, MirrorSlash>
  /** Relayer operators' signatures a snapshot or outcome needs (ThresholdSet). */
  threshold: number | undefined
}

/** One line of the live feed. */
export type Activity = { requestId: bigint; marketId: bigint; what: string; at: LogRef }

export type ExplorerIndex = {
  /** The last block indexed; undefined before the first sync. */
  block: HeadBlock | undefined
  markets: Map<bigint, MarketEntry>
  requests: Map<bigint, RequestEntry>
  /** Keyed by lower-case address. */
  provers: Map<string, ProverEntry>
  /** Keyed by `listingKey`. */
  listings: Map<string, ListingEntry>
  keys: EnclaveKey[]
  /** The StakeMirror's epochs, proven leaves and slashes, when a restaking deployment is known. */
  mirror: MirrorIndex
  /** Operators admitted per TEE role (OperatorAdmissionSet), lower-case. */
  admitted: Map<TeeRole, Set<string>>
  /** The TeeRegistry's accepted TCB statuses as its last AcceptedTcbStatusesSet set them. */
  acceptedTcb: readonly TcbStatus[] | undefined
  /** Native staking's token (the deployment's stake token), read once. */
  stakeToken: TokenFacts | undefined
  /** The newest activity last; at most ACTIVITY_KEPT entries. */
  activity: Activity[]
}

export const ACTIVITY_KEPT = 200

export function emptyIndex(): ExplorerIndex {
  return {
    block: undefined,
    markets: new Map(),
    requests: new Map(),
    provers: new Map(),
    listings: new Map(),
    keys: [],
    mirror: { epochs: [], leaves: [], slashes: new Map(), threshold: undefined },
    admitted: new Map(),
    acceptedTcb: undefined,
    stakeToken: undefined,
    activity: [],
  }
}

export function listingKey(prover: Address, marketId: bigint): string {
  return `${prover.toLowerCase()}:${marketId}`
}

export function emptyRequest(requestId: bigint, marketId: bigint): RequestEntry {
  return {
    requestId,
    marketId,
    requester: undefined,
    request: undefined,
    deadline: undefined,
    privateInputs: false,
    signed: false,
    posted: undefined,
    task: undefined,
    byMatcher: undefined,
    assigned: undefined,
    privateClaim: undefined,
    keyReleases: [],
    skipped: [],
    ending: undefined,
  }
}

export function emptyProver(address: Address): ProverEntry {
  return {
    address,
    rewardAddress: undefined,
    capacity: 0,
    registered: undefined,
    deregistered: undefined,
    computeInUse: 0,
    requestIds: [],
    nativeStake: undefined,
  }
}
