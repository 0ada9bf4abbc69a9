import type { Address, TypedDataDefinition } from 'viem'
import { cairnDomain, type SigningContract } from './eip712-domains.js'

/*
 * The EIP-712 types of every struct Cairn's contracts verify signatures over, one entry each: its types, primary type
 * and the contract whose domain it is signed under. Each mirrors its type library in src/types/ (the type strings and
 * typehashes); test-ts/typed-data.test.ts keeps them equal, type string against type string and digest against each
 * contract's own. Build typed data with cairnTypedData, never with a types object written out elsewhere.
 */

const assignment = [
  { name: 'requestId', type: 'uint256' },
  { name: 'prover', type: 'address' },
  { name: 'price', type: 'uint96' },
  { name: 'provingTime', type: 'uint32' },
  { name: 'inputKey', type: 'bytes' },
] as const

const inputs = [
  { name: 'data', type: 'bytes' },
  { name: 'uri', type: 'string' },
  { name: 'digest', type: 'bytes32' },
] as const

const slash = [
  { name: 'taskId', type: 'uint256' },
  { name: 'prover', type: 'address' },
  { name: 'vault', type: 'address' },
  { name: 'amount', type: 'uint256' },
  { name: 'captureTimestamp', type: 'uint48' },
] as const

const slashOutcome = [
  { name: 'orderId', type: 'bytes32' },
  { name: 'vault', type: 'address' },
  { name: 'status', type: 'uint8' },
  { name: 'slashed', type: 'uint256' },
  { name: 'settledAt', type: 'uint48' },
] as const

export const signedTypes = {
  /** A matcher's batch of assignments (src/types/Assignment.sol): ProofMarketplace.assign. */
  assignmentBatch: {
    contract: 'proofMarketplace',
    primaryType: 'AssignmentBatch',
    types: {
      AssignmentBatch: [
        { name: 'assignments', type: 'Assignment[]' },
        { name: 'validUntil', type: 'uint64' },
      ],
      Assignment: assignment,
    },
  },
  /** A prover enclave's attestation that a request's inputs cannot be proven (src/types/InvalidInputs.sol). */
  invalidInputs: {
    contract: 'proofMarketplace',
    primaryType: 'InvalidInputs',
    types: {
      InvalidInputs: [
        { name: 'requestId', type: 'uint256' },
        { name: 'inputsDigest', type: 'bytes32' },
      ],
    },
  },
  /**
   * A prover enclave's attestation that the input key a requester released for a private fallback claim does not
   * open the request's private inputs (src/types/InvalidInputKey.sol): IPrivateClaims.rejectInputKey.
   */
  invalidInputKey: {
    contract: 'proofMarketplace',
    primaryType: 'InvalidInputKey',
    types: {
      InvalidInputKey: [
        { name: 'requestId', type: 'uint256' },
        { name: 'inputsDigest', type: 'bytes32' },
        { name: 'inputKeyHash', type: 'bytes32' },
      ],
    },
  },
  /**
   * A request signed off chain by its requester (src/types/SignedRequest.sol): used by the matcher's assignSigned
   * batch or posted with postSignedRequest, both served at the marketplace's address (ISignedRequests).
   */
  signedRequest: {
    contract: 'proofMarketplace',
    primaryType: 'SignedRequest',
    types: {
      SignedRequest: [
        { name: 'requester', type: 'address' },
        { name: 'nonce', type: 'uint256' },
        { name: 'marketId', type: 'uint32' },
        { name: 'maxReward', type: 'uint96' },
        { name: 'provingTime', type: 'uint32' },
        { name: 'matchingExpiry', type: 'uint32' },
        { name: 'deadline', type: 'uint32' },
        { name: 'speedPreferenceBps', type: 'uint16' },
        { name: 'refundAddress', type: 'address' },
        { name: 'publicInputs', type: 'Inputs' },
        { name: 'privateInputs', type: 'Inputs' },
      ],
      Inputs: inputs,
    },
  },
  /**
   * A matcher's off-chain assignment of a signed request to one prover for the one-transaction fast path
   * (src/types/FastAssignment.sol): the prover sends it with the proof in ISignedFulfilments.fulfilSigned.
   */
  fastAssignment: {
    contract: 'proofMarketplace',
    primaryType: 'FastAssignment',
    types: {
      FastAssignment: [
        { name: 'requestId', type: 'uint256' },
        { name: 'prover', type: 'address' },
        { name: 'price', type: 'uint96' },
        { name: 'validUntil', type: 'uint64' },
      ],
    },
  },
  /** An operator's or a prover's half of a binding (src/types/OperatorBinding.sol), on Ethereum. */
  operatorBinding: {
    contract: 'networkMiddleware',
    primaryType: 'OperatorBinding',
    types: {
      OperatorBinding: [
        { name: 'operator', type: 'address' },
        { name: 'prover', type: 'address' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
  },
  /** A relayer's signature of one epoch's stake snapshot, in the mirror's token (src/types/Snapshot.sol). */
  stakeSnapshot: {
    contract: 'stakeMirror',
    primaryType: 'StakeSnapshot',
    types: {
      StakeSnapshot: [
        { name: 'token', type: 'address' },
        { name: 'epoch', type: 'uint64' },
        { name: 'captureTimestamp', type: 'uint48' },
        { name: 'slashingWindow', type: 'uint48' },
        { name: 'stakeRoot', type: 'bytes32' },
        { name: 'totalStake', type: 'uint256' },
        { name: 'leafCount', type: 'uint32' },
      ],
    },
  },
  /** A relayer's signature of a batch of the mirror's slashes, for the SlashInbox (src/types/Slash.sol). */
  slashBatch: {
    contract: 'slashInbox',
    primaryType: 'SlashBatch',
    types: {
      SlashBatch: [
        { name: 'sourceChainId', type: 'uint256' },
        { name: 'sourceMirror', type: 'address' },
        { name: 'slashes', type: 'Slash[]' },
      ],
      Slash: slash,
    },
  },
  /** A relayer's signature of slash outcomes on Ethereum, for the mirror (src/types/SlashOutcome.sol). */
  slashOutcomes: {
    contract: 'stakeMirror',
    primaryType: 'SlashOutcomes',
    types: {
      SlashOutcomes: [{ name: 'outcomes', type: 'SlashOutcome[]' }],
      SlashOutcome: slashOutcome,
    },
  },
  /** A prover enclave's TEE proof of one request, for the market's TeeProofVerifier (src/types/TeeProof.sol). */
  teeProof: {
    contract: 'teeProofVerifier',
    primaryType: 'TeeProof',
    types: {
      TeeProof: [
        { name: 'marketplace', type: 'address' },
        { name: 'requestId', type: 'uint256' },
        { name: 'prover', type: 'address' },
        { name: 'inputsDigest', type: 'bytes32' },
        { name: 'programId', type: 'bytes32' },
        { name: 'publicValuesHash', type: 'bytes32' },
      ],
    },
  },
} as const satisfies Record<string, { contract: SigningContract; primaryType: string; types: object }>

export type SignedType = keyof typeof signedTypes

type TypedDataOf<D> = D extends { types: infer T extends Record<string, unknown> }
  ? D extends { primaryType: infer P extends keyof T & string }
    ? TypedDataDefinition<T, P>
    : never
  : never

/** The typed data of a `K` message, as viem signs and hashes it. */
export type SignedTypedData<K extends SignedType> = TypedDataOf<(typeof signedTypes)[K]>

/** A `K` message: the primary type's members. */
export type SignedMessage<K extends SignedType> = SignedTypedData<K>['message']

/** The typed data of `message`, a `kind` struct signed for its contract deployed at `at` (chain and address). */
export function cairnTypedData<K extends SignedType>(
  kind: K,
  at: { chainId: number; address: Address },
  message: SignedMessage<K>,
): SignedTypedData<K> {
  const { contract, primaryType, types } = signedTypes[kind]
  return { domain: cairnDomain(contract, at), types, primaryType, message } as unknown as SignedTypedData<K>
}
