import { type Address, encodeAbiParameters, type Hex, keccak256 } from 'viem'

/**
 * Sorted-pair Merkle tree over stake leaves, as StakeMirror verifies them (solady MerkleProofLib) and as the forge
 * tests' StakeTree builds them: pairs hash as keccak256(abi.encode(min, max)), and the odd node out of a level is
 * promoted unpaired (so its proof has no element for that level).
 */

export type StakeLeaf = { prover: Address; vault: Address; stake: bigint }

/** keccak256(bytes.concat(keccak256(abi.encode(prover, vault, token, stake)))): double-hashed, as OpenZeppelin's. */
export function stakeLeafHash(leaf: StakeLeaf, token: Address): Hex {
  const inner = keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }],
      [leaf.prover, leaf.vault, token, leaf.stake],
    ),
  )
  return keccak256(inner)
}

function hashPair(a: Hex, b: Hex): Hex {
  const [lo, hi] = BigInt(a) < BigInt(b) ? [a, b] : [b, a]
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [lo, hi]))
}

function up(level: readonly Hex[]): Hex[] {
  const next: Hex[] = []
  for (let i = 0; i < level.length; i += 2) {
    const left = level[i] as Hex
    const right = level[i + 1]
    next.push(right === undefined ? left : hashPair(left, right))
  }
  return next
}

export type StakeTree = {
  root: Hex
  /** Leaf hashes in tree order. */
  leaves: readonly Hex[]
  proof: (index: number) => Hex[]
}

/** An empty tree's root is zero: no leaf verifies against it. */
export function buildTree(leaves: readonly Hex[]): StakeTree {
  const levels: Hex[][] = [[...leaves]]
  while ((levels.at(-1) as Hex[]).length > 1) levels.push(up(levels.at(-1) as Hex[]))
  const root = levels.at(-1)?.[0] ?? `0x${'0'.repeat(64)}`
  const proof = (index: number): Hex[] => {
    if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`no leaf ${index}`)
    const path: Hex[] = []
    let i = index
    for (const level of levels.slice(0, -1)) {
      const sibling = level[i ^ 1]
      if (sibling !== undefined) path.push(sibling)
      i >>= 1
    }
    return path
  }
  return { root, leaves, proof }
}

/**
 * The tree of a stake snapshot. Leaves are sorted by hash so every relayer that read the same entries builds the
 * same root whatever order the chain listed them in (vault opt-outs reorder the middleware's list).
 */
export function stakeTree(entries: readonly StakeLeaf[], token: Address): StakeTree & { entries: StakeLeaf[] } {
  const hashed = entries.map((entry) => ({ entry, hash: stakeLeafHash(entry, token) }))
  hashed.sort((a, b) => (BigInt(a.hash) < BigInt(b.hash) ? -1 : BigInt(a.hash) > BigInt(b.hash) ? 1 : 0))
  const tree = buildTree(hashed.map(({ hash }) => hash))
  return { ...tree, entries: hashed.map(({ entry }) => entry) }
}

/** The proof of `prover`'s stake in `vault`, for StakeMirror.proveStake. */
export function proofFor(
  tree: ReturnType<typeof stakeTree>,
  prover: Address,
  vault: Address,
): { stake: bigint; proof: Hex[] } | undefined {
  const index = tree.entries.findIndex(
    (entry) => entry.prover.toLowerCase() === prover.toLowerCase() && entry.vault.toLowerCase() === vault.toLowerCase(),
  )
  if (index < 0) return undefined
  return { stake: (tree.entries[index] as StakeLeaf).stake, proof: tree.proof(index) }
}
