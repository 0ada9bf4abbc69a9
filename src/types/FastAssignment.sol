// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using FastAssignmentLibrary for FastAssignment global;

/// @notice A matcher's off-chain assignment of a signed request to a prover for the one-transaction fast path
/// (ISignedFulfilments.fulfilSigned), as signed (EIP-712 `FastAssignment`) under the marketplace's domain. Nothing is
/// written on chain when it is made: the prover proves, then uses the signed request, the assignment and the proof in
/// one transaction before `validUntil`.
struct FastAssignment {
    /// The signed request's derived id (ISignedRequests.signedRequestId): binds the exact request, chain and
    /// marketplace.
    uint256 requestId;
    /// The only account that may fulfil with this assignment, and the one paid (at its registered reward address).
    address prover;
    /// What the prover is paid from the requester's deposit, at most the request's maxReward.
    uint96 price;
    /// Last second (chain time) the prover may fulfil with it; the request's deadline bounds it too.
    uint64 validUntil;
}

/// @title FastAssignmentLibrary
/// @notice EIP-712 type string and struct hash of `FastAssignment`.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library FastAssignmentLibrary {
    string internal constant FAST_ASSIGNMENT_TYPE =
        "FastAssignment(uint256 requestId,address prover,uint96 price,uint64 validUntil)";
    /// keccak256(abi.encodePacked(FAST_ASSIGNMENT_TYPE))
    bytes32 internal constant FAST_ASSIGNMENT_TYPEHASH =
        0xc779d8aaa9bb2ecca10769bab85d58f6eb590cdb16662b9d3c9396531472e10e;

    /// @notice hashStruct(FastAssignment).
    function hash(FastAssignment memory a) internal pure returns (bytes32) {
        return keccak256(abi.encode(FAST_ASSIGNMENT_TYPEHASH, a.requestId, a.prover, a.price, a.validUntil));
    }
}
