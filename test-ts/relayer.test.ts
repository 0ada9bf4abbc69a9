import { type Address, concat, encodeAbiParameters, type Hex, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../relayer/src/config.js'
import { buildTree, proofFor, stakeLeafHash, stakeTree } from '../relayer/src/merkle.js'
import { mySubmitTurn, quorum, type SignedDigest } from '../relayer/src/signatures.js'
import { type SlashOutcome, slashOutcomesDigest } from '../relayer/src/slashes.js'

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

describe('slash outcomes digest', () => {
  it('is EIP-712 over the StakeMirror type strings, item by item in batch order', () => {
    const mirror = { chainId: 31338, address: address(0xa1) }
    const outcomes: SlashOutcome[] = [
      {
        orderId: keccak256(toHex('order 1')),
        vault: address(0xb1),
        vetoed: true,
        slashed: 0n,
        settledAt: 1_800_000_000,
      },
      {
        orderId: keccak256(toHex('order 2')),
        vault: address(0xb2),
        vetoed: false,
        slashed: 5n * 10n ** 19n,
        settledAt: 7,
      },
    ]
    // The strings StakeMirror.sol hashes into SLASH_OUTCOME_TYPEHASH and SLASH_OUTCOMES_TYPEHASH.
    const item = 'SlashOutcome(bytes32 orderId,address vault,bool vetoed,uint256 slashed,uint48 settledAt)'
    const itemType = keccak256(toHex(item))
    const batchType = keccak256(toHex(`SlashOutcomes(SlashOutcome[] outcomes)${item}`))
    const items = outcomes.map((o) =>
      keccak256(
        encodeAbiParameters(
          [
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'address' },
            { type: 'bool' },
            { type: 'uint256' },
            { type: 'uint48' },
          ],
          [itemType, o.orderId, o.vault, o.vetoed, o.slashed, o.settledAt],
        ),
      ),
    )
    const struct = keccak256(
      encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [batchType, keccak256(concat(items))]),
    )
    const domain = keccak256(
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
    expect(slashOutcomesDigest(outcomes, mirror)).toBe(keccak256(concat(['0x1901', domain, struct])))
    // Order matters: a reordered batch is another message.
    expect(slashOutcomesDigest([...outcomes].reverse(), mirror)).not.toBe(slashOutcomesDigest(outcomes, mirror))
  })
})

describe('quorum', () => {
  const accounts = [1, 2, 3].map((i) => privateKeyToAccount(keccak256(`0x0${i}`)))
  const signed = (i: number): SignedDigest => ({
    kind: 'snapshot',
    digest: '0x00',
    signer: (accounts[i] as { address: Address }).address,
    signature: '0x',
  })

  it('orders signers ascending, drops duplicates, stops at the threshold', () => {
    const q = quorum([signed(0), signed(1), signed(0), signed(2)], 2)
    const sorted = accounts.map((a) => a.address).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
    expect(q?.map((s) => s.signer)).toEqual(sorted.slice(0, 2))
    expect(quorum([signed(0), signed(0)], 2)).toBeUndefined()
  })

  it('the lowest signer submits at once, the others after the delay', () => {
    const signers = [address(1), address(2)]
    expect(mySubmitTurn({ me: address(1), signers, firstSeen: Date.now(), delayMs: 60_000 })).toBe(true)
    expect(mySubmitTurn({ me: address(2), signers, firstSeen: Date.now(), delayMs: 60_000 })).toBe(false)
    expect(mySubmitTurn({ me: address(2), signers, firstSeen: Date.now() - 61_000, delayMs: 60_000 })).toBe(true)
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

  it('reads flags over RELAYER_* variables, with defaults', () => {
    const config = loadConfig([...required, '--epoch-length=600', '--peers=http://a:1, http://b:2'], {
      RELAYER_PRIVATE_KEY: key,
      RELAYER_EPOCH_LENGTH: '10',
    })
    expect(config).toMatchObject({
      epochLength: 600,
      finalityDepth: 12,
      peers: ['http://a:1', 'http://b:2'],
      privateKey: key,
    })
  })

  it('refuses a bad key or URL with the field named', () => {
    expect(() => loadConfig(required, { RELAYER_PRIVATE_KEY: '0x12' })).toThrow(/privateKey/)
    expect(() => loadConfig([...required.slice(1), '--ethereum-rpc-url=nope'], { RELAYER_PRIVATE_KEY: key })).toThrow(
      /ethereumRpcUrl/,
    )
  })
})
