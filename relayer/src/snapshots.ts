import type { Address, Chain, Hex, PublicClient, Transport } from 'viem'
import { hashTypedData } from 'viem'
import { stakeMirrorAbi } from '../../ts/generated.js'
import { getSlashingWindow, readStakeLeaves } from '../../ts/restaking.js'
import { type StakeLeaf, stakeTree } from '../../ts/stake-tree.js'
import { cairnTypedData, type SignedTypedData } from '../../ts/typed-data.js'

export type Snapshot = {
  epoch: bigint
  captureTimestamp: number
  /** How long after the capture every opted-in vault's stake can still be slashed (the middleware's, at the capture). */
  slashingWindow: number
  stakeRoot: Hex
  totalStake: bigint
  leafCount: number
}

/** What relayers sign for a snapshot, as StakeMirror.snapshotDigest hashes it. */
export function snapshotTypedData(
  snapshot: Snapshot,
  mirror: { chainId: number; address: Address; token: Address },
): SignedTypedData<'stakeSnapshot'> {
  return cairnTypedData('stakeSnapshot', mirror, { token: mirror.token, ...snapshot })
}

export const snapshotDigest = (...args: Parameters<typeof snapshotTypedData>): Hex =>
  hashTypedData(snapshotTypedData(...args))

/**
 * What a snapshot mirrors, read the way every relayer reads it, all as of the capture block: the leaves (the SDK's
 * readStakeLeaves, which provers repeat to rebuild the tree; operators bound to no prover at the capture make none)
 * and the middleware's slashing window.
 */
export async function readCapture(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; token: Address; captureTimestamp: number; blockNumber: bigint; pageSize: number },
): Promise<{ leaves: StakeLeaf[]; slashingWindow: number }> {
  const [leaves, slashingWindow] = await Promise.all([
    readStakeLeaves({ public: client }, params),
    getSlashingWindow({ public: client }, { middleware: params.middleware, blockNumber: params.blockNumber }),
  ])
  return { leaves, slashingWindow }
}

/** The snapshot of `leaves` as epoch `epoch`, with its tree (for proofs). */
export function buildSnapshot(params: {
  epoch: bigint
  captureTimestamp: number
  slashingWindow: number
  leaves: StakeLeaf[]
  token: Address
}) {
  const tree = stakeTree(params.leaves, params.token)
  const snapshot: Snapshot = {
    epoch: params.epoch,
    captureTimestamp: params.captureTimestamp,
    slashingWindow: params.slashingWindow,
    stakeRoot: tree.root,
    totalStake: params.leaves.reduce((sum, leaf) => sum + leaf.stake, 0n),
    leafCount: params.leaves.length,
  }
  return { snapshot, tree }
}

/** The mirror's latest committed epoch, its capture, slashing window and root (capture zero before the first). */
export async function mirrorHead(client: PublicClient<Transport, Chain>, mirror: Address) {
  const epoch = await client.readContract({ address: mirror, abi: stakeMirrorAbi, functionName: 'currentEpoch' })
  const [captureTimestamp, slashingWindow, stakeRoot] = await client.readContract({
    address: mirror,
    abi: stakeMirrorAbi,
    functionName: 'epochs',
    args: [epoch],
  })
  return { epoch, captureTimestamp, slashingWindow, stakeRoot }
}
