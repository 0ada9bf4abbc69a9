import type { Address } from 'viem'
import type { SignedDigest } from './signatures.js'

/**
 * Quorums as OperatorQuorum (src/libraries/OperatorQuorum.sol) checks them: attested keys are cheap, so signatures
 * count per admitted operator, never per key. Each signature must come from an active relayer key, signatures go in
 * ascending order of their key's operator (one per operator), and there must be at least max(threshold, a strict
 * majority of the admitted operators) of them. A key's operator is only ever what the chain's TeeRegistry says
 * (activeOperator, read by the relayer itself): a peer's claim counts for nothing.
 */

/** A signature whose signer the target chain's registry holds as an active relayer key of `operator`. */
export type OperatorSignature = SignedDigest & { operator: Address }

/** Operators a quorum needs: the contract's threshold, and never fewer than a strict majority of the admitted. */
export function requiredOperators(threshold: number, admittedOperators: number): number {
  const majority = Math.floor(admittedOperators / 2) + 1
  return Math.max(threshold, majority)
}

const ascending = (a: Address, b: Address) => {
  const [x, y] = [BigInt(a), BigInt(b)]
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * The signatures to submit: one per operator (the first given wins, so put this relayer's own first), ordered by
 * operator address ascending, the first `required` only (more would only cost calldata); undefined while fewer
 * operators signed.
 */
export function operatorQuorum(
  signatures: readonly OperatorSignature[],
  required: number,
): OperatorSignature[] | undefined {
  const byOperator = new Map<string, OperatorSignature>()
  for (const signed of signatures) {
    const key = signed.operator.toLowerCase()
    if (!byOperator.has(key)) byOperator.set(key, signed)
  }
  const sorted = [...byOperator.values()].sort((a, b) => ascending(a.operator, b.operator))
  return sorted.length >= required ? sorted.slice(0, required) : undefined
}

/** How many distinct operators signed (what a round reports while it waits for a quorum). */
export function operatorCount(signatures: readonly OperatorSignature[]): number {
  return new Set(signatures.map((signed) => signed.operator.toLowerCase())).size
}
