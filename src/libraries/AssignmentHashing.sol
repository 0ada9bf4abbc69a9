// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Assignment, MatchedRequest} from "../types/Request.sol";

/// @title AssignmentHashing
/// @notice EIP-712 struct hashes of matcher assignment batches. The matcher signs only (requestId, prover) pairs:
/// the request records that travel with a submitted batch are checked against storage, not against the signature.
library AssignmentHashing {
    bytes32 internal constant ASSIGNMENT_TYPEHASH = keccak256("Assignment(uint256 requestId,address prover)");
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "AssignmentBatch(Assignment[] assignments,uint64 validUntil)Assignment(uint256 requestId,address prover)"
    );

    /// @notice hashStruct(AssignmentBatch) of a submitted batch.
    function hashBatch(MatchedRequest[] calldata matches, uint64 validUntil) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](matches.length);
        for (uint256 i; i < matches.length; ++i) {
            items[i] = _hashItem(matches[i].requestId, matches[i].prover);
        }
        return _hashBatch(items, validUntil);
    }

    /// @notice hashStruct(AssignmentBatch) of the pairs a matcher signs.
    function hashBatch(Assignment[] calldata assignments, uint64 validUntil) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](assignments.length);
        for (uint256 i; i < assignments.length; ++i) {
            items[i] = _hashItem(assignments[i].requestId, assignments[i].prover);
        }
        return _hashBatch(items, validUntil);
    }

    function _hashItem(uint256 requestId, address prover) private pure returns (bytes32) {
        return keccak256(abi.encode(ASSIGNMENT_TYPEHASH, requestId, prover));
    }

    function _hashBatch(bytes32[] memory items, uint64 validUntil) private pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(items)), validUntil));
    }
}
