import { type Hex, zeroHash } from 'viem'
import { TransactionRevertedError } from '../../ts/client.js'
import { stakeMirrorAbi } from '../../ts/generated.js'
import { lastBlockAtOrBefore } from '../../ts/restaking.js'
import { write } from '../../ts/write.js'
import type { RelayerContext } from './context.js'
import type { Gather } from './quorum-gathering.js'
import { peerRace } from './reverts.js'
import type { Round, RoundOutcome } from './round.js'
import {
  buildSnapshot,
  mirrorHead,
  readCapture,
  type Snapshot,
  snapshotDigest,
  snapshotTypedData,
} from './snapshots.js'

/*
 * The snapshot round (Ethereum → marketplace chain): commit the next epoch once the latest final epoch boundary is
 * newer than the mirror's capture. Deciding is pure (`decideSnapshot`, over the chain reads so far: it names the next
 * read, so no read is made that cannot change the outcome); `createSnapshotRound` reads, signs and commits.
 */

/** An Ethereum block a snapshot may capture. */
export type CaptureBlock = { number: bigint; timestamp: bigint }

/** The chain reads a snapshot round decides on. */
export type SnapshotView = {
  /** The mirror's latest epoch and its capture (zero before the first). */
  head: { epoch: bigint; captureTimestamp: number }
  /** Ethereum's tip less the finality depth. */
  finalNumber: bigint
  /** Ethereum's deployment block: nothing is captured before it. */
  deployBlock: bigint
  /** The last block at or before the final block's epoch boundary (null: none); absent until read. */
  capture?: CaptureBlock | null
  /** At a capture: whether the middleware has code there, and the marketplace chain's time; absent until read. */
  checks?: { middlewareDeployed: boolean; marketplaceNow: bigint }
}

export type SnapshotStep =
  | { kind: 'idle'; reason: string }
  /** Read `capture`. */
  | { kind: 'find-capture' }
  /** Read `checks` at this capture. */
  | { kind: 'check-capture'; capture: CaptureBlock }
  /** Read the stakes at this capture and sign them as `epoch`. */
  | { kind: 'capture'; epoch: bigint; capture: CaptureBlock }

const idle = (reason: string): SnapshotStep => ({ kind: 'idle', reason })

/** What the round does next, given its reads so far. */
export function decideSnapshot(view: SnapshotView): SnapshotStep {
  if (view.finalNumber < view.deployBlock) return idle('no final block since deployment')
  if (view.capture === undefined) return { kind: 'find-capture' }
  if (view.capture === null) return idle('no block before the epoch boundary')
  const capture = view.capture
  if (capture.timestamp <= BigInt(view.head.captureTimestamp)) return idle('mirror is up to date')
  if (view.checks === undefined) return { kind: 'check-capture', capture }
  // The deployment file's block is where the deployment started: the first boundary after it may still come before
  // the middleware existed, and there is nothing to read there.
  if (!view.checks.middlewareDeployed) return idle('no middleware at the capture block')
  if (capture.timestamp >= view.checks.marketplaceNow) return idle('capture not yet in the marketplace chain past')
  return { kind: 'capture', epoch: view.head.epoch + 1n, capture }
}

/**
 * The latest epoch boundary at or before `timestamp`. Relayers capture at a boundary, not at whatever block each saw
 * last: all of them then sign one digest.
 */
export function epochBoundary(timestamp: bigint, epochLength: number): bigint {
  const length = BigInt(epochLength)
  return (timestamp / length) * length
}

/** After a commit lost to a peer's: the epoch is still uncommitted (no peer won), or committed with our root or another. */
export function raceVerdict(committedRoot: Hex, ours: Hex): 'uncommitted' | 'ours' | 'other' {
  if (committedRoot === zeroHash) return 'uncommitted'
  return committedRoot === ours ? 'ours' : 'other'
}

export function createSnapshotRound(ctx: RelayerContext, gather: Gather): Round {
  const { eth, mkt, mirror, config, metrics, log } = ctx

  async function findCapture(finalNumber: bigint): Promise<CaptureBlock | undefined> {
    const finalBlock = await eth.public.getBlock({ blockNumber: finalNumber })
    return lastBlockAtOrBefore(eth.public, {
      target: epochBoundary(finalBlock.timestamp, config.epochLength),
      low: ctx.ethereum.deployBlock,
      high: finalNumber,
    })
  }

  async function checkCapture(capture: CaptureBlock): Promise<NonNullable<SnapshotView['checks']>> {
    const code = await eth.public.getCode({ address: ctx.ethereum.contracts.middleware, blockNumber: capture.number })
    const marketplaceNow = (await mkt.public.getBlock({ blockTag: 'latest' })).timestamp
    return { middlewareDeployed: code !== undefined && code !== '0x', marketplaceNow }
  }

  /** Reads the stakes at the capture, signs them as `epoch`, and commits once a quorum signed and it is our turn. */
  async function snapshotAt(epoch: bigint, capture: CaptureBlock): Promise<RoundOutcome> {
    // Stakes and the slashing window as of the capture block: every relayer reads the same, so all sign one digest.
    const { leaves, slashingWindow } = await readCapture(eth.public, {
      middleware: ctx.ethereum.contracts.middleware,
      token: mirror.token,
      captureTimestamp: Number(capture.timestamp),
      blockNumber: capture.number,
      pageSize: config.pageSize,
    })
    const { snapshot } = buildSnapshot({
      epoch,
      captureTimestamp: Number(capture.timestamp),
      slashingWindow,
      leaves,
      token: mirror.token,
    })
    const digest = snapshotDigest(snapshot, mirror)
    const { signed, count, myTurn } = await gather('snapshot', digest, () =>
      ctx.account.signTypedData(snapshotTypedData(snapshot, mirror)),
    )
    if (!signed || !myTurn) return { status: 'waiting', digest, signatures: count }
    const signatures = signed.map((s) => s.signature)
    return commit(snapshot, signatures, digest)
  }

  async function commit(snapshot: Snapshot, signatures: Hex[], digest: Hex): Promise<RoundOutcome> {
    try {
      await write(mkt, {
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'commitSnapshot',
        args: [snapshot, signatures],
      })
    } catch (error) {
      // Another relayer committed first: success if it committed what we signed. A commit mined after a peer's commit
      // of the same epoch in an earlier position reverts: the race, lost on chain.
      const reason = error instanceof TransactionRevertedError ? error.message : peerRace(error)
      if (reason === undefined) throw error
      const [, , root] = await mkt.public.readContract({
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'epochs',
        args: [snapshot.epoch],
      })
      const verdict = raceVerdict(root, snapshot.stakeRoot)
      // The epoch still uncommitted: no peer won a race, so the failure stands, logged decoded (errorSummary).
      if (verdict === 'uncommitted') throw error
      if (verdict === 'other') throw new Error(`epoch ${snapshot.epoch} was committed with root ${root}`)
      log.info({ epoch: Number(snapshot.epoch), digest, reason }, 'snapshot already committed by a peer')
      return { status: 'settled', digest }
    }
    metrics.snapshotsCommitted.inc()
    metrics.lastEpoch.set(Number(snapshot.epoch))
    log.info(
      {
        epoch: Number(snapshot.epoch),
        capture: snapshot.captureTimestamp,
        slashingWindow: snapshot.slashingWindow,
        root: snapshot.stakeRoot,
        leaves: snapshot.leafCount,
      },
      'snapshot committed',
    )
    return { status: 'submitted', digest }
  }

  return async function snapshotRound(): Promise<RoundOutcome> {
    const head = await mirrorHead(mkt.public, mirror.address)
    metrics.lastEpoch.set(Number(head.epoch))
    const tip = await eth.public.getBlockNumber({ cacheTime: 0 })
    const view: SnapshotView = {
      head,
      finalNumber: tip - BigInt(config.finalityDepth),
      deployBlock: ctx.ethereum.deployBlock,
    }
    // Each read fills in what the decision asked for, so this ends within three passes.
    for (;;) {
      const step = decideSnapshot(view)
      if (step.kind === 'idle') return { status: 'idle', reason: step.reason }
      if (step.kind === 'capture') return snapshotAt(step.epoch, step.capture)
      if (step.kind === 'find-capture') view.capture = (await findCapture(view.finalNumber)) ?? null
      else view.checks = await checkCapture(step.capture)
    }
  }
}
