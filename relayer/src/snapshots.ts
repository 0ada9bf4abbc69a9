import type { Address, Chain, Hex, PublicClient, Transport, TypedDataDefinition } from 'viem'
import { hashTypedData } from 'viem'
import { stakeMirrorAbi } from '../../ts/generated.js'
import { readStakeLeaves } from '../../ts/restaking.js'
import { type StakeLeaf, stakeTree } from './merkle.js'

export type Snapshot = {
  epoch: bigint
  captureTimestamp: number
  stakeRoot: Hex
  totalStake: bigint
  leafCount: number
}

const snapshotTypes = {
  StakeSnapshot: [
    { name: 'token', type: 'address' },
    { name: 'epoch', type: 'uint64' },
    { name: 'captureTimestamp', type: 'uint48' },
    { name: 'stakeRoot', type: 'bytes32' },
    { name: 'totalStake', type: 'uint256' },
    { name: 'leafCount', type: 'uint32' },
  ],
} as const

/** What relayers sign for a snapshot, as StakeMirror.snapshotDigest hashes it. */
export function snapshotTypedData(
  snapshot: Snapshot,
  mirror: { chainId: number; address: Address; token: Address },
): TypedDataDefinition<typeof snapshotTypes, 'StakeSnapshot'> {
  return {
    domain: { name: 'Cairn StakeMirror', version: '1', chainId: mirror.chainId, verifyingContract: mirror.address },
    types: snapshotTypes,
    primaryType: 'StakeSnapshot',
    message: { token: mirror.token, ...snapshot },
  }
}

export const snapshotDigest = (...args: Parameters<typeof snapshotTypedData>): Hex =>
  hashTypedData(snapshotTypedData(...args))

/** The snapshot's leaves, read the way every relayer reads them (the SDK's readStakeLeaves: provers rebuild them). */
export async function readStakes(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; token: Address; captureTimestamp: number; blockNumber: bigint; pageSize: number },
): Promise<StakeLeaf[]> {
  return readStakeLeaves({ public: client }, params)
}

/** The snapshot of `leaves` as epoch `epoch`, with its tree (for proofs). */
export function buildSnapshot(params: {
  epoch: bigint
  captureTimestamp: number
  leaves: StakeLeaf[]
  token: Address
}) {
  const tree = stakeTree(params.leaves, params.token)
  const snapshot: Snapshot = {
    epoch: params.epoch,
    captureTimestamp: params.captureTimestamp,
    stakeRoot: tree.root,
    totalStake: params.leaves.reduce((sum, leaf) => sum + leaf.stake, 0n),
    leafCount: params.leaves.length,
  }
  return { snapshot, tree }
}

/** The mirror's latest committed epoch and its capture. */
export async function mirrorHead(client: PublicClient<Transport, Chain>, mirror: Address) {
  const epoch = await client.readContract({ address: mirror, abi: stakeMirrorAbi, functionName: 'currentEpoch' })
  const [captureTimestamp, stakeRoot] = await client.readContract({
    address: mirror,
    abi: stakeMirrorAbi,
    functionName: 'epochs',
    args: [epoch],
  })
  return { epoch, captureTimestamp, stakeRoot }
}
