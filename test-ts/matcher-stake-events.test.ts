import { type Address, encodeAbiParameters, encodeEventTopics, getAddress, type Hex, type Log, zeroHash } from 'viem'
import { describe, expect, it } from 'vitest'
import { stakeChangeOf } from '../enclave/matcher/chain.js'
import { iStakeSourceAbi, nativeStakingAbi, stakeMirrorAbi } from '../ts/generated.js'

const source: Address = '0x00000000000000000000000000000000000057a6'
const prover: Address = getAddress('0x00000000000000000000000000000000000000aa')
const vault: Address = '0x00000000000000000000000000000000000000bb'

/** A log as eth_getLogs returns it, from the topics and data the contract's event encodes to. */
function logOf(topics: Hex[], data: Hex = '0x'): Log {
  return {
    address: source,
    topics: topics as [Hex, ...Hex[]],
    data,
    blockNumber: 1n,
    blockHash: zeroHash,
    logIndex: 0,
    transactionHash: zeroHash,
    transactionIndex: 0,
    removed: false,
  }
}

describe('the matcher follows a stake source through IStakeSource’s events alone', () => {
  it('re-reads the prover a LockableStakeChanged names, from any source', () => {
    const topics = encodeEventTopics({ abi: iStakeSourceAbi, eventName: 'LockableStakeChanged', args: { prover } })
    expect(stakeChangeOf(logOf(topics as Hex[]))).toBe(prover)
  })

  it('re-reads every prover of the source on AllLockableStakeChanged (a new snapshot)', () => {
    const topics = encodeEventTopics({ abi: iStakeSourceAbi, eventName: 'AllLockableStakeChanged' })
    expect(stakeChangeOf(logOf(topics as Hex[]))).toBe('all')
  })

  it('never reads a source’s own indexed fields as a prover: the epoch StakeProven indexes first is no address', () => {
    const proven = encodeEventTopics({
      abi: stakeMirrorAbi,
      eventName: 'StakeProven',
      args: { epoch: 7n, prover, vault },
    }) as Hex[]
    const amounts = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], [1000n, 1000n])
    expect(stakeChangeOf(logOf(proven, amounts))).toBeUndefined()
    const snapshot = encodeEventTopics({ abi: stakeMirrorAbi, eventName: 'SnapshotCommitted', args: { epoch: 7n } })
    const fields = encodeAbiParameters(
      [{ type: 'uint48' }, { type: 'uint48' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'uint32' }],
      [1, 3600, zeroHash, 1000n, 1],
    )
    expect(stakeChangeOf(logOf(snapshot as Hex[], fields))).toBeUndefined()
    const deposited = encodeEventTopics({
      abi: nativeStakingAbi,
      eventName: 'Deposited',
      args: { prover, from: vault },
    }) as Hex[]
    expect(stakeChangeOf(logOf(deposited, encodeAbiParameters([{ type: 'uint256' }], [1n])))).toBeUndefined()
  })
})
