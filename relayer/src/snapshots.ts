import type { Address, Chain, Hex, PublicClient, Transport, TypedDataDefinition } from 'viem'
import { hashTypedData, isAddressEqual, zeroAddress } from 'viem'
import { cairnNetworkMiddlewareAbi, stakeMirrorAbi } from '../../ts/generated.js'
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

/**
 * Every (prover, vault) stake at `captureTimestamp` in `token`, read page by page from the middleware as of
 * `blockNumber`, so relayers reading at different times see the same operator and vault lists. Unbound operators
 * and empty stakes make no leaf: nothing could prove or use them.
 */
export async function readStakes(
  client: PublicClient<Transport, Chain>,
  params: { middleware: Address; token: Address; captureTimestamp: number; blockNumber: bigint; pageSize: number },
): Promise<StakeLeaf[]> {
  const leaves: StakeLeaf[] = []
  const page = BigInt(params.pageSize)
  for (let offset = 0n, total = 1n; offset < total; offset += page) {
    const [entries, count] = await client.readContract({
      address: params.middleware,
      abi: cairnNetworkMiddlewareAbi,
      functionName: 'stakesAt',
      args: [params.captureTimestamp, offset, page],
      blockNumber: params.blockNumber,
    })
    total = count
    for (const entry of entries) {
      if (entry.stake === 0n || isAddressEqual(entry.prover, zeroAddress)) continue
      if (!isAddressEqual(entry.collateral, params.token)) continue
      leaves.push({ prover: entry.prover, vault: entry.vault, stake: entry.stake })
    }
  }
  return leaves
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
