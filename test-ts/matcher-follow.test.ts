import { describe, expect, it } from 'vitest'
import type { HeadBlock, MatcherRequest, SyncNotes } from '../enclave/matcher/chain.js'
import {
  caughtUp,
  createFollower,
  headIsNew,
  inSync,
  SYNC_FAILURES_TOLERATED,
  type SyncState,
  syncLag,
} from '../enclave/matcher/follow.js'
import { createNotesHandler, loadOpenInputs } from '../enclave/matcher/sync-notes.js'
import { remoteInputs } from '../ts/types.js'
import {
  address,
  captureLog,
  createMetrics,
  head,
  histogramCount,
  matcherRequest,
  metricValue,
  notes,
  privateInputs,
  viewWith,
} from './matcher-fakes.js'

// The matcher's following of the chain (follow.ts) and what it does with each sync's notes (sync-notes.ts), with an
// indexer double: no chain.

/** Indexes `step` blocks per sync towards the target; the syncs listed in `rebuildAt` (1-based) say they rebuilt. */
function indexerDouble(params: { step: bigint; rebuildAt?: number[]; failAt?: number[] }) {
  let calls = 0
  const view: { block: HeadBlock | undefined } = { block: undefined }
  return {
    view,
    get calls() {
      return calls
    },
    async sync(target: HeadBlock): Promise<SyncNotes> {
      calls++
      if (params.failAt?.includes(calls)) throw new Error('eth_getLogs failed')
      const from = (view.block?.number ?? 0n) + 1n
      const to = from + params.step - 1n < target.number ? from + params.step - 1n : target.number
      view.block = to === target.number ? target : head(to)
      return notes({ from, to, rebuilt: params.rebuildAt?.includes(calls) ?? false })
    },
  }
}

function follower(indexer: ReturnType<typeof indexerDouble>, latest: () => HeadBlock) {
  const live: boolean[] = []
  let rebuilds = 0
  const metrics = createMetrics()
  const created = createFollower({
    indexer,
    latestHead: async () => latest(),
    onNotes: (_notes, isLive) => void live.push(isLive),
    onRebuilt: () => void rebuilds++,
    metrics,
  })
  return { follower: created, live, metrics, rebuilds: () => rebuilds }
}

describe('following the chain', () => {
  it('decides from heads alone: news to the index, caught up, lag and the in-sync rule', () => {
    expect(headIsNew(undefined, head(1n))).toBe(true)
    expect(headIsNew(head(4n), head(4n))).toBe(false)
    expect(headIsNew(head(4n), head(5n))).toBe(true)
    expect(headIsNew(head(4n), head(4n, 'fork '))).toBe(true)
    // A node behind us: news (another hash), but caught up already, so nothing is synced.
    expect(headIsNew(head(4n), head(3n, 'fork '))).toBe(true)
    expect(caughtUp(head(4n), head(3n, 'fork '))).toBe(true)
    expect(caughtUp(head(4n), head(4n, 'fork '))).toBe(false)
    expect(caughtUp(undefined, head(0n))).toBe(false)

    expect(syncLag(undefined, 3n)).toBeUndefined()
    expect(syncLag(7n, 4n)).toBe(3)
    const state: SyncState = { initialSyncDone: true, failures: 0, headSeen: 7n, chainTime: 0 }
    expect(inSync(state, 3)).toBe(true)
    expect(inSync(state, 4)).toBe(false)
    expect(inSync(state, undefined)).toBe(false)
    expect(inSync({ ...state, initialSyncDone: false }, 0)).toBe(false)
    expect(inSync({ ...state, failures: SYNC_FAILURES_TOLERATED - 1 }, 0)).toBe(true)
    expect(inSync({ ...state, failures: SYNC_FAILURES_TOLERATED }, 0)).toBe(false)
  })

  it('catches up in several syncs: quietly at start-up, live after, and not live past a rebuild', async () => {
    const indexer = indexerDouble({ step: 2n, rebuildAt: [5] })
    let latest = head(5n)
    const { follower: following, live, metrics, rebuilds } = follower(indexer, () => latest)
    expect(following.synced()).toBe(false)
    await following.initialSync()
    expect(indexer.calls).toBe(3)
    expect(live).toEqual([false, false, false])
    expect(following.state).toMatchObject({
      initialSyncDone: true,
      headSeen: 5n,
      chainTime: Number(head(5n).timestamp),
    })
    expect(await metricValue(metrics, 'cairn_matcher_synced_block')).toBe(5)
    expect(following.synced()).toBe(true)

    latest = head(10n)
    const stages: string[] = []
    const followed = await following.follow((stage) => void stages.push(stage))
    expect(followed).toEqual(latest)
    expect(stages).toEqual(['head', 'sync'])
    // Syncs 4, 5 (rebuilt), 6: what follows a rebuild is not new, the rebuilt view's requests are loaded at once.
    expect(live.slice(3)).toEqual([true, false, false])
    expect(rebuilds()).toBe(1)
    expect(await metricValue(metrics, 'cairn_matcher_synced_block')).toBe(10)
  })

  it('counts failed head polls and catch-ups towards the rule, other stages not; a good poll clears them', async () => {
    const indexer = indexerDouble({ step: 1n, failAt: [3] })
    let latest = head(1n)
    const { follower: following } = follower(indexer, () => latest)
    await following.initialSync()
    for (let i = 0; i < SYNC_FAILURES_TOLERATED; i++) following.failed('receipt')
    expect(following.synced()).toBe(true)
    for (let i = 0; i < SYNC_FAILURES_TOLERATED; i++) following.failed(i === 0 ? 'head' : 'sync')
    expect(following.synced()).toBe(false)

    // The head it indexed already: no sync, and the failures are behind it.
    const stages: string[] = []
    await following.follow((stage) => void stages.push(stage))
    expect(stages).toEqual(['head'])
    expect(following.state.failures).toBe(0)
    expect(following.synced()).toBe(true)

    // Sync 2 indexes block 2, sync 3 fails: the index trails the head seen by 4 blocks.
    latest = head(6n)
    await expect(following.follow(() => {})).rejects.toThrow('eth_getLogs failed')
    following.failed('sync')
    expect(following.lag()).toBe(4)
    expect(following.synced()).toBe(false)
  })
})

describe('acting on a sync’s notes', () => {
  function handler(open: MatcherRequest[]) {
    const view = viewWith(open)
    const loaded: bigint[] = []
    const forgotten: bigint[] = []
    let cleared = 0
    let revoked = 0
    const metrics = createMetrics()
    const { log, messages } = captureLog()
    const onNotes = createNotesHandler({
      self: address(0x5e1f),
      view: () => view,
      inputs: {
        load: (request) => void loaded.push(request.requestId),
        forget: (requestId) => void forgotten.push(requestId),
        clear: () => void cleared++,
      },
      onRevoked: () => void revoked++,
      metrics,
      log,
    })
    return { onNotes, view, loaded, forgotten, metrics, messages, cleared: () => cleared, revoked: () => revoked }
  }

  it('forgets inputs on a rebuild, counts failed reads, and passes on a revocation of its own key only', async () => {
    const acting = handler([])
    acting.onNotes(
      notes({ rebuilt: true, readError: new Error('stake read'), revokedMatchers: [address(0xbad)] }),
      false,
    )
    expect(acting.cleared()).toBe(1)
    expect(acting.revoked()).toBe(0)
    expect(await metricValue(acting.metrics, 'cairn_matcher_rebuilds_total')).toBe(1)
    expect(await metricValue(acting.metrics, 'cairn_matcher_errors_total', { stage: 'reads' })).toBe(1)
    acting.onNotes(notes({ revokedMatchers: [address(0x5e1f)] }), true)
    expect(acting.revoked()).toBe(1)
    expect(acting.messages()).toContain('the indexed chain was reorganised: rebuilding the book from the chain')
  })

  it('live: starts loading the inputs of new open requests that have some, and times assignments', async () => {
    const behindUri = matcherRequest({ publicInputs: remoteInputs('https://inputs.example/1', `0x${'11'.repeat(32)}`) })
    const sealed = matcherRequest(privateInputs)
    const inline = matcherRequest()
    const gone = matcherRequest(privateInputs)
    const acting = handler([behindUri, sealed, inline])
    const assigned = {
      requestId: inline.requestId,
      prover: address(0xa1),
      byMatcher: true,
      blockNumber: 12n,
      createdBlock: 10n,
      transactionHash: `0x${'22'.repeat(32)}`,
    } as const
    const created = notes({ created: [behindUri, sealed, inline, gone], assigned: [assigned] })
    acting.onNotes(created, false)
    expect(acting.loaded).toEqual([])
    expect(acting.forgotten).toEqual([])
    acting.onNotes(created, true)
    expect(acting.loaded).toEqual([behindUri.requestId, sealed.requestId])
    expect(acting.forgotten).toEqual([inline.requestId])
    expect(await histogramCount(acting.metrics.latencyBlocks)).toBe(1)

    // After a (re)build: every open request with inputs to load, at once.
    acting.loaded.length = 0
    loadOpenInputs(acting.view, { load: (request) => void acting.loaded.push(request.requestId) })
    expect(acting.loaded).toEqual([behindUri.requestId, sealed.requestId])
  })
})
