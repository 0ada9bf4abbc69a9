import {
  type Address,
  BaseError,
  concat,
  encodeAbiParameters,
  encodeErrorResult,
  encodeEventTopics,
  type Hex,
  keccak256,
  toHex,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../relayer/src/config.js'
import { recordedBy } from '../relayer/src/gas.js'
import {
  EXECUTED,
  FAILED,
  reportableOutcomes,
  type SlashOutcome,
  settlementOf,
  slashOutcomesDigest,
  VETOED,
} from '../relayer/src/outcomes.js'
import { type OperatorSignature, operatorCount, operatorQuorum, requiredOperators } from '../relayer/src/quorum.js'
import { isRevert, peerRace, revertName } from '../relayer/src/reverts.js'
import { mySubmitTurn } from '../relayer/src/signatures.js'
import type { SlashOrder } from '../relayer/src/slashes.js'
import { type Snapshot, snapshotDigest } from '../relayer/src/snapshots.js'
import { cairnNetworkMiddlewareAbi, stakeMirrorAbi } from '../ts/generated.js'
import { stakeLeavesOf } from '../ts/restaking.js'
import { buildTree, proofFor, stakeLeafHash, stakeTree } from '../ts/stake-tree.js'

/** solady's MerkleProofLib.verify: fold the proof with sorted-pair hashing. */
function verify(proof: readonly Hex[], root: Hex, leaf: Hex): boolean {
  let node = leaf
  for (const sibling of proof) {
    const [lo, hi] = BigInt(node) < BigInt(sibling) ? [node, sibling] : [sibling, node]
    node = keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [lo, hi]))
  }
  return node === root
}

const address = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`
const token = address(0xc0)

describe('stake tree', () => {
  it('matches the forge tests StakeTree: pairs hashed sorted, the odd node promoted without a sibling', () => {
    const [a, b, c] = [1, 2, 3].map((i) =>
      stakeLeafHash({ prover: address(i), vault: address(10), stake: 10n ** 18n }, token),
    ) as [Hex, Hex, Hex]
    const pair = (x: Hex, y: Hex) =>
      keccak256(
        encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], BigInt(x) < BigInt(y) ? [x, y] : [y, x]),
      )
    const tree = buildTree([a, b, c])
    expect(tree.root).toBe(pair(pair(a, b), c))
    expect(tree.proof(0)).toEqual([b, c])
    expect(tree.proof(2)).toEqual([pair(a, b)])
    expect(buildTree([a]).root).toBe(a)
    expect(buildTree([a]).proof(0)).toEqual([])
  })

  it('every leaf of trees of 1 to 9 leaves verifies, in any input order', () => {
    for (let n = 1; n <= 9; n++) {
      const entries = Array.from({ length: n }, (_, i) => ({
        prover: address(i + 1),
        vault: address(100 + (i % 2)),
        stake: BigInt(i + 1),
      }))
      const tree = stakeTree(entries, token)
      expect(stakeTree([...entries].reverse(), token).root).toBe(tree.root)
      for (const entry of entries) {
        const found = proofFor(tree, entry.prover, entry.vault)
        expect(found?.stake).toBe(entry.stake)
        expect(verify(found?.proof ?? [], tree.root, stakeLeafHash(entry, token))).toBe(true)
      }
    }
  })

  it('the leaf is the double keccak of abi.encode(prover, vault, token, stake)', () => {
    const leaf = { prover: address(1), vault: address(2), stake: 5n }
    const inner = keccak256(
      encodeAbiParameters(
        [{ type: 'address' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }],
        [leaf.prover, leaf.vault, token, leaf.stake],
      ),
    )
    expect(stakeLeafHash(leaf, token)).toBe(keccak256(inner))
  })
})

/** The EIP-712 domain separator of a StakeMirror ("Cairn StakeMirror", "1"). */
function mirrorDomain(mirror: { chainId: number; address: Address }): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }],
      [
        keccak256(toHex('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')),
        keccak256(toHex('Cairn StakeMirror')),
        keccak256(toHex('1')),
        BigInt(mirror.chainId),
        mirror.address,
      ],
    ),
  )
}

describe('snapshot digest', () => {
  it('is EIP-712 over the StakeMirror type string, the slashing window signed after the capture', () => {
    const mirror = { chainId: 31338, address: address(0xa1), token: address(0xc0) }
    const snapshot: Snapshot = {
      epoch: 4n,
      captureTimestamp: 1_800_000_000,
      slashingWindow: 86_400,
      stakeRoot: keccak256(toHex('root')),
      totalStake: 10n ** 21n,
      leafCount: 3,
    }
    // The string StakeMirror.sol hashes into SNAPSHOT_TYPEHASH.
    const type =
      'StakeSnapshot(address token,uint64 epoch,uint48 captureTimestamp,uint48 slashingWindow,bytes32 stakeRoot,uint256 totalStake,uint32 leafCount)'
    const struct = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'address' },
          { type: 'uint64' },
          { type: 'uint48' },
          { type: 'uint48' },
          { type: 'bytes32' },
          { type: 'uint256' },
          { type: 'uint32' },
        ],
        [
          keccak256(toHex(type)),
          mirror.token,
          snapshot.epoch,
          snapshot.captureTimestamp,
          snapshot.slashingWindow,
          snapshot.stakeRoot,
          snapshot.totalStake,
          snapshot.leafCount,
        ],
      ),
    )
    expect(snapshotDigest(snapshot, mirror)).toBe(keccak256(concat(['0x1901', mirrorDomain(mirror), struct])))
    // Another window is another message: relayers that read different windows never form a quorum.
    expect(snapshotDigest({ ...snapshot, slashingWindow: 3_600 }, mirror)).not.toBe(snapshotDigest(snapshot, mirror))
  })
})

describe('snapshot leaves', () => {
  it('leave out operators bound to no prover at the capture, other collaterals and empty stakes', () => {
    const token = address(0xc0)
    const entry = (operator: number, prover: Address, stake: bigint, collateral = token) => ({
      operator: address(operator),
      prover,
      vault: address(0xd0),
      collateral,
      stake,
    })
    const leaves = stakeLeavesOf(
      [
        entry(1, address(0x11), 5n),
        // Moving to a new prover: backs nobody until its new binding takes effect.
        entry(2, zeroAddress, 7n),
        entry(3, address(0x13), 0n),
        entry(4, address(0x14), 9n, address(0xc1)),
        entry(5, address(0x15), 3n),
      ],
      token,
    )
    expect(leaves).toEqual([
      { prover: address(0x11), vault: address(0xd0), stake: 5n },
      { prover: address(0x15), vault: address(0xd0), stake: 3n },
    ])
  })
})

describe('slash outcomes digest', () => {
  it('is EIP-712 over the StakeMirror type strings, item by item in batch order', () => {
    const mirror = { chainId: 31338, address: address(0xa1) }
    const outcomes: SlashOutcome[] = [
      {
        orderId: keccak256(toHex('order 1')),
        vault: address(0xb1),
        status: VETOED,
        slashed: 0n,
        settledAt: 1_800_000_000,
      },
      {
        orderId: keccak256(toHex('order 2')),
        vault: address(0xb2),
        status: EXECUTED,
        slashed: 5n * 10n ** 19n,
        settledAt: 7,
      },
      { orderId: keccak256(toHex('order 3')), vault: address(0xb3), status: FAILED, slashed: 0n, settledAt: 9 },
    ]
    // The strings StakeMirror.sol hashes into SLASH_OUTCOME_TYPEHASH and SLASH_OUTCOMES_TYPEHASH.
    const item = 'SlashOutcome(bytes32 orderId,address vault,uint8 status,uint256 slashed,uint48 settledAt)'
    const itemType = keccak256(toHex(item))
    const batchType = keccak256(toHex(`SlashOutcomes(SlashOutcome[] outcomes)${item}`))
    const items = outcomes.map((o) =>
      keccak256(
        encodeAbiParameters(
          [
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'address' },
            { type: 'uint8' },
            { type: 'uint256' },
            { type: 'uint48' },
          ],
          [itemType, o.orderId, o.vault, o.status, o.slashed, o.settledAt],
        ),
      ),
    )
    const struct = keccak256(
      encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [batchType, keccak256(concat(items))]),
    )
    const domain = mirrorDomain(mirror)
    expect(slashOutcomesDigest(outcomes, mirror)).toBe(keccak256(concat(['0x1901', domain, struct])))
    // Order matters: a reordered batch is another message.
    expect(slashOutcomesDigest([...outcomes].reverse(), mirror)).not.toBe(slashOutcomesDigest(outcomes, mirror))
  })
})

describe('quorum by operator', () => {
  const keys = [1, 2, 3, 4].map((i) => privateKeyToAccount(keccak256(`0x0${i}`)).address)
  const signed = (signer: Address, operator: Address): OperatorSignature => ({
    kind: 'snapshot',
    digest: '0x00',
    signer,
    signature: '0x',
    operator,
  })
  // Operators in the reverse order of their keys: ordering by signer would be wrong.
  const [k1, k2, k3, k4] = [...keys].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)) as [
    Address,
    Address,
    Address,
    Address,
  ]
  const [opHigh, opMid, opLow] = [address(0xf3), address(0xf2), address(0xf1)]

  it('orders signatures by their key’s operator, not by signer, and stops at the number required', () => {
    const q = operatorQuorum([signed(k1, opHigh), signed(k2, opMid), signed(k3, opLow)], 2)
    expect(q?.map((s) => s.operator)).toEqual([opLow, opMid])
    expect(q?.map((s) => s.signer)).toEqual([k3, k2])
  })

  it('counts an operator once however many of its keys signed (the first given wins)', () => {
    const twoKeysOneOperator = [signed(k4, opLow), signed(k1, opLow)]
    expect(operatorQuorum(twoKeysOneOperator, 2)).toBeUndefined()
    expect(operatorCount(twoKeysOneOperator)).toBe(1)
    const q = operatorQuorum([...twoKeysOneOperator, signed(k2, opHigh)], 2)
    expect(q?.map((s) => [s.operator, s.signer])).toEqual([
      [opLow, k4],
      [opHigh, k2],
    ])
  })

  it('needs the threshold and never fewer than a strict majority of the admitted operators', () => {
    expect(requiredOperators(2, 3)).toBe(2)
    expect(requiredOperators(2, 4)).toBe(3)
    expect(requiredOperators(2, 5)).toBe(3)
    expect(requiredOperators(3, 2)).toBe(3)
    expect(requiredOperators(1, 0)).toBe(1)
    expect(requiredOperators(1, 1)).toBe(1)
  })

  it('the first signer of the quorum submits at once, the others after the delay', () => {
    const signers = [address(1), address(2)]
    expect(mySubmitTurn({ me: address(1), signers, firstSeen: Date.now(), delayMs: 60_000 })).toBe(true)
    expect(mySubmitTurn({ me: address(2), signers, firstSeen: Date.now(), delayMs: 60_000 })).toBe(false)
    expect(mySubmitTurn({ me: address(2), signers, firstSeen: Date.now() - 61_000, delayMs: 60_000 })).toBe(true)
  })
})

describe('slash outcomes to report', () => {
  const order = (taskId: bigint): SlashOrder => ({
    orderId: keccak256(toHex(`order ${taskId}`)),
    taskId,
    prover: address(0x11),
    vault: address(0xd0),
    amount: 50n,
    captureTimestamp: 1_000,
    blockNumber: 1n,
  })
  const outcome = (o: SlashOrder, status: SlashOutcome['status'], settledAt: number): SlashOutcome => ({
    orderId: o.orderId,
    vault: o.vault,
    status,
    slashed: status === EXECUTED ? o.amount : 0n,
    settledAt,
  })

  it('holds an execution until the mirror’s capture reaches it; vetoes and failures go at once, by task id', () => {
    const [a, b, c, d] = [4n, 1n, 3n, 2n].map(order) as [SlashOrder, SlashOrder, SlashOrder, SlashOrder]
    const settlements = new Map(
      [
        outcome(a, EXECUTED, 2_000),
        outcome(b, VETOED, 5_000),
        outcome(c, FAILED, 5_000),
        outcome(d, EXECUTED, 1_500),
      ].map((o) => [o.orderId, o] as const),
    )
    const open = [a, b, c, d, order(9n)]
    const early = reportableOutcomes({ open, settlements, mirrorCapture: 1_499, maxBatch: 50 })
    expect(early.outcomes.map((o) => o.orderId)).toEqual([b.orderId, c.orderId])
    expect(early.held.map((o) => o.orderId)).toEqual([d.orderId, a.orderId])
    // A capture at the very second of the execution shows it.
    const later = reportableOutcomes({ open, settlements, mirrorCapture: 1_500, maxBatch: 50 })
    expect(later.outcomes.map((o) => o.orderId)).toEqual([b.orderId, d.orderId, c.orderId])
    expect(later.held.map((o) => o.orderId)).toEqual([a.orderId])
    const all = reportableOutcomes({ open, settlements, mirrorCapture: 2_000, maxBatch: 2 })
    expect(all.outcomes.map((o) => o.orderId)).toEqual([b.orderId, d.orderId])
    expect(all.held).toEqual([])
  })

  it('reads executed, vetoed and failed orders from the middleware’s events, and nothing else', () => {
    const orderId = keccak256(toHex('o'))
    const vault = address(0xd0)
    expect(
      settlementOf({ eventName: 'SlashExecuted', args: { orderId, vault, operator: address(5), amount: 7n } }),
    ).toEqual({
      orderId,
      vault,
      status: EXECUTED,
      slashed: 7n,
    })
    expect(settlementOf({ eventName: 'SlashVetoed', args: { orderId, vault } })).toMatchObject({ status: VETOED })
    expect(settlementOf({ eventName: 'SlashFailed', args: { orderId, vault, reason: '0x' } })).toEqual({
      orderId,
      vault,
      status: FAILED,
      slashed: 0n,
    })
    expect(settlementOf({ eventName: 'SlashRequested', args: { orderId, vault, slashIndex: 0n } })).toBeUndefined()
  })
})

describe('gas for the full outcome', () => {
  it('compares runs by what the middleware records per order, whatever the log order', () => {
    const middleware = address(0xe0)
    const [o1, o2] = [keccak256(toHex('o1')), keccak256(toHex('o2'))]
    const vault = address(0xd0)
    const executed = {
      address: middleware,
      topics: encodeEventTopics({
        abi: cairnNetworkMiddlewareAbi,
        eventName: 'SlashExecuted',
        args: { orderId: o1, vault, operator: address(5) },
      }) as Hex[],
      data: encodeAbiParameters([{ type: 'uint256' }], [50n]),
    }
    const failed = {
      address: middleware,
      topics: encodeEventTopics({
        abi: cairnNetworkMiddlewareAbi,
        eventName: 'SlashFailed',
        args: { orderId: o2, vault },
      }) as Hex[],
      data: encodeAbiParameters([{ type: 'bytes' }], ['0x1425ea42']),
    }
    const starved = { ...failed, topics: [failed.topics[0], o1, failed.topics[2]] as Hex[] }
    expect(recordedBy([failed, executed])).toEqual(recordedBy([executed, failed]))
    expect(recordedBy([executed, failed])).toEqual([`SlashExecuted:${o1}`, `SlashFailed:${o2}`].sort())
    // The same order failed instead of executed (a vault call starved of gas) is another outcome.
    expect(recordedBy([starved, failed])).not.toEqual(recordedBy([executed, failed]))
  })
})

describe('reverts', () => {
  it('are named whether viem decoded them or an RPC error carries the raw data (a write whose state moved)', () => {
    const data = encodeErrorResult({ abi: stakeMirrorAbi, errorName: 'EpochOutOfOrder', args: [3n, 2n] })
    const rpc = Object.assign(new Error('execution reverted'), { data })
    const wrapped = new BaseError('estimateGas failed', { cause: rpc })
    expect(revertName(wrapped)).toBe('EpochOutOfOrder')
    expect(isRevert(wrapped)).toBe(true)
    const transport = new BaseError('fetch failed', { cause: new Error('ECONNREFUSED') })
    expect(revertName(transport)).toBeUndefined()
    expect(isRevert(transport)).toBe(false)
  })

  it('a peer committing the epoch first is the quorum race, logged by its decoded name, never the raw data', () => {
    const data = encodeErrorResult({ abi: stakeMirrorAbi, errorName: 'EpochOutOfOrder', args: [3n, 2n] })
    // viem's write errors carry the call's ABI and arguments: tens of kilobytes when printed whole.
    const rpc = Object.assign(new Error(`execution reverted ${'0'.repeat(30_000)}`), { data })
    const race = peerRace(new BaseError('estimateGas failed', { cause: rpc }))
    expect(race).toMatch(/^EpochOutOfOrder\(/)
    expect(race).toContain('3')
    expect(race?.length).toBeLessThan(200)
    expect(race).not.toContain(data.slice(2, 10))
    expect(peerRace(new BaseError('fetch failed', { cause: new Error('ECONNREFUSED') }))).toBeUndefined()
  })
})

describe('config', () => {
  const required = [
    '--ethereum-rpc-url=http://127.0.0.1:8545',
    '--marketplace-rpc-url=http://127.0.0.1:8546',
    '--ethereum-deployment=deployments/1.restaking.json',
    '--marketplace-deployment=deployments/2.restaking.json',
  ]
  const key = `0x${'11'.repeat(32)}`
  const operatorKey = `0x${'22'.repeat(32)}`
  const keys = { RELAYER_PRIVATE_KEY: key, RELAYER_OPERATOR_PRIVATE_KEY: operatorKey }

  it('reads flags over RELAYER_* variables, with defaults', () => {
    const config = loadConfig([...required, '--epoch-length=600', '--peers=http://a:1, http://b:2'], {
      ...keys,
      RELAYER_EPOCH_LENGTH: '10',
    })
    expect(config).toMatchObject({
      epochLength: 600,
      finalityDepth: 12,
      peers: ['http://a:1', 'http://b:2'],
      privateKey: key,
      operatorPrivateKey: operatorKey,
      attestation: 'configfs',
    })
    expect(loadConfig([...required, `--operator-private-key=${key}`], keys).operatorPrivateKey).toBe(key)
  })

  it('refuses a bad key or URL with the field named, never echoing a key', () => {
    expect(() => loadConfig(required, { ...keys, RELAYER_PRIVATE_KEY: '0x12' })).toThrow(
      /--private-key \(or RELAYER_PRIVATE_KEY\)/,
    )
    expect(() => loadConfig([...required.slice(1), '--ethereum-rpc-url=nope'], keys)).toThrow(/--ethereum-rpc-url/)
    // The operator's account is required: it registers the relayer key.
    expect(() => loadConfig(required, { RELAYER_PRIVATE_KEY: key })).toThrow(/--operator-private-key/)
    const secretish = `0x${'ab'.repeat(31)}`
    const refused = (() => {
      try {
        loadConfig(required, { ...keys, RELAYER_OPERATOR_PRIVATE_KEY: secretish })
      } catch (error) {
        return (error as Error).message
      }
      return ''
    })()
    expect(refused).toMatch(/--operator-private-key/)
    expect(refused).not.toContain('abab')
  })

  it('dev attestation needs the dev PKI seed and time', () => {
    expect(() => loadConfig([...required, '--attestation=dev'], keys)).toThrow(/--dev-pki-seed[\s\S]*--dev-pki-time/)
    expect(
      loadConfig([...required, '--attestation=dev', '--dev-pki-seed=s', '--dev-pki-time=1700000000'], keys),
    ).toMatchObject({ attestation: 'dev', devPkiSeed: 's', devPkiTime: 1_700_000_000 })
  })
})
