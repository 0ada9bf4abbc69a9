import type { Chain, PublicClient, Transport } from 'viem'
import { type HeadBlock, headOf, type SyncNotes } from './chain.js'
import type { Metrics } from './metrics.js'

/*
 * Following the chain: the head last seen, the catch-up that indexes up to it, and the in-sync rule /healthz reports.
 * The rule: the first catch-up is done, the index trails the head by at most SYNC_LAG_BLOCKS and polls of the head
 * or catch-ups have not failed SYNC_FAILURES_TOLERATED times in a row. A one-block catch-up in progress is normal
 * work, not trouble. Deciding is pure (`headIsNew`, `caughtUp`, `syncLag`, `inSync`); `createFollower` acts on it.
 */

/** How far the index may trail the chain head before /healthz says unsynced: a few blocks of catch-up are normal. */
export const SYNC_LAG_BLOCKS = 3
/** Consecutive failed polls of the head or catch-ups before /healthz says unsynced (one RPC hiccup is not trouble). */
export const SYNC_FAILURES_TOLERATED = 3
/** The poll stages whose failures count towards the in-sync rule. */
export const SYNC_STAGES: readonly string[] = ['head', 'sync']

export type SyncState = {
  initialSyncDone: boolean
  /** Failed polls of the head or catch-ups in a row. */
  failures: number
  /** The number of the head last read. */
  headSeen: bigint | undefined
  /** Chain time (unix seconds) of the head last read, or of the last block indexed after a catch-up. */
  chainTime: number | undefined
}

/** Whether `head` is news to the index: nothing indexed yet, a later block, or another block (a reorg). */
export function headIsNew(indexed: HeadBlock | undefined, head: HeadBlock): boolean {
  return indexed === undefined || head.number > indexed.number || head.hash !== indexed.hash
}

/** Whether a catch-up to `head` is done: the same block, or an index past it (a node lagging behind us). */
export function caughtUp(indexed: HeadBlock | undefined, head: HeadBlock): boolean {
  return indexed !== undefined && (indexed.hash === head.hash || indexed.number > head.number)
}

/** Blocks the index trails the head last seen; undefined before both are known. */
export function syncLag(headSeen: bigint | undefined, indexed: bigint | undefined): number | undefined {
  return headSeen === undefined || indexed === undefined ? undefined : Number(headSeen - indexed)
}

export function inSync(state: Readonly<SyncState>, lag: number | undefined): boolean {
  return (
    state.initialSyncDone && state.failures < SYNC_FAILURES_TOLERATED && lag !== undefined && lag <= SYNC_LAG_BLOCKS
  )
}

/** The part of the indexer a catch-up drives (chain.ts's Indexer). */
export type SyncSource = {
  readonly view: { readonly block: HeadBlock | undefined }
  sync(head: HeadBlock): Promise<SyncNotes>
}

/** Reads the chain's latest block as a head to follow. */
export function latestHead(client: PublicClient<Transport, Chain>): () => Promise<HeadBlock> {
  return async () => headOf(await client.getBlock({ blockTag: 'latest' }))
}

export type FollowerPorts = {
  indexer: SyncSource
  latestHead: () => Promise<HeadBlock>
  /** Acts on one sync's notes; `live` is false at start-up and once a catch-up rebuilt the view. */
  onNotes: (notes: SyncNotes, live: boolean) => void
  /** A catch-up while following rebuilt the view from scratch (a reorg): its open requests are all new. */
  onRebuilt: () => void
  /** `synced_block`: the last block indexed, after each catch-up. */
  metrics: Pick<Metrics, 'syncedBlock'>
}

export type Follower = {
  readonly state: Readonly<SyncState>
  lag: () => number | undefined
  synced: () => boolean
  /** Start-up's catch-up: reads the head and indexes up to it, without acting on what each sync saw. */
  initialSync: () => Promise<void>
  /** One poll: reads the head (stage `head`) and indexes up to it when it is news (stage `sync`); returns it. */
  follow: (stage: (name: string) => void) => Promise<HeadBlock>
  /** A poll stage failed: `head` and `sync` failures count towards the in-sync rule. */
  failed: (stage: string) => void
}

export function createFollower(ports: FollowerPorts): Follower {
  const { indexer } = ports
  const state: SyncState = { initialSyncDone: false, failures: 0, headSeen: undefined, chainTime: undefined }
  const lag = () => syncLag(state.headSeen, indexer.view.block?.number)

  async function readHead(): Promise<HeadBlock> {
    const head = await ports.latestHead()
    state.headSeen = head.number
    return head
  }

  /** Indexes up to `head` (several syncs when far behind). Returns whether the view was rebuilt from scratch. */
  async function catchUp(head: HeadBlock, live: boolean): Promise<boolean> {
    let rebuilt = false
    while (!caughtUp(indexer.view.block, head)) {
      const notes = await indexer.sync(head)
      rebuilt ||= notes.rebuilt
      ports.onNotes(notes, live && !rebuilt)
    }
    const block = indexer.view.block
    if (block !== undefined) {
      state.chainTime = Number(block.timestamp)
      ports.metrics.syncedBlock.set(Number(block.number))
    }
    return rebuilt
  }

  return {
    state,
    lag,
    synced: () => inSync(state, lag()),
    async initialSync() {
      await catchUp(await readHead(), false)
      state.initialSyncDone = true
    },
    async follow(stage) {
      stage('head')
      const head = await readHead()
      if (headIsNew(indexer.view.block, head)) {
        stage('sync')
        if (await catchUp(head, true)) ports.onRebuilt()
      }
      state.failures = 0
      state.chainTime = Number(head.timestamp)
      return head
    },
    failed(stage) {
      if (SYNC_STAGES.includes(stage)) state.failures += 1
    },
  }
}
