import { type Address, encodePacked, type Hex, hexToBytes, keccak256, numberToBytes } from 'viem'

/*
 * Tie-breaking among provers whose offers score the same for a request.
 *
 *   rank(request, p) = keccak256(abi.encodePacked(uint256 requestId, bytes32 createdBlockHash, address p))
 *   winner           = the tied prover with the lowest rank (read as a uint256)
 *
 * (requestId, createdBlockHash) is the request's seed: createdBlockHash is the hash of the block RequestCreated was
 * mined in.
 *
 * Why the submitter cannot bias it: both parts of the seed are fixed before any matcher sees the request. The
 * marketplace numbers requests itself, and the block hash is unknown to the requester when it sends the transaction
 * and exists only once the request does, so neither the matcher, the batch submitter nor the requester can choose
 * it (only the block producer could grind it, and the matcher is not the block producer). Each request therefore
 * carries its own fixed random order of all provers, and among the tied provers the first in that order wins. The
 * order does not depend on which other provers happen to be tied or free: a prover that is not the winner dropping
 * out never changes the winner, so delaying a round until some prover is busy cannot steer the choice between the
 * others. Every input is public, so anyone can recompute every pick from the chain and audit it.
 *
 * Not covered: a prover that sees the seed may grind a fresh address that ranks first and list it with the same
 * offer before the request is matched. It pays a registration and listing per attempt and races the matcher; a
 * service that cares can restrict ties to listings older than the request.
 */

/** A prover's place in a request's tie order; lower goes first. */
export function tieRank(requestId: bigint, createdBlockHash: Hex, prover: Address): Hex {
  return keccak256(encodePacked(['uint256', 'bytes32', 'address'], [requestId, createdBlockHash, prover]))
}

/** The prover a tie between `provers` goes to, as an auditor recomputes it; undefined when there is none. */
export function pickTied(requestId: bigint, createdBlockHash: Hex, provers: readonly Address[]): Address | undefined {
  let winner: Address | undefined
  let best: bigint | undefined
  for (const prover of provers) {
    const rank = BigInt(tieRank(requestId, createdBlockHash, prover))
    if (best === undefined || rank < best) {
      best = rank
      winner = prover
    }
  }
  return winner
}

// The engine's hot path: the same hash over a reused byte buffer, without hex round trips.

/** requestId ‖ createdBlockHash: the first 64 bytes of every rank's preimage. */
export function seedBytes(requestId: bigint, createdBlockHash: Hex): Uint8Array {
  const seed = new Uint8Array(64)
  seed.set(numberToBytes(requestId, { size: 32 }), 0)
  seed.set(hexToBytes(createdBlockHash, { size: 32 }), 32)
  return seed
}

const rankInput = new Uint8Array(84)

/** tieRank over bytes: `seed` from seedBytes, `prover` the 20 address bytes. */
export function tieRankBytes(seed: Uint8Array, prover: Uint8Array): Uint8Array {
  rankInput.set(seed, 0)
  rankInput.set(prover, 64)
  return keccak256(rankInput, 'bytes')
}

/** Big-endian unsigned comparison of two 32-byte hashes (uint256 order). */
export function compareHashes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
