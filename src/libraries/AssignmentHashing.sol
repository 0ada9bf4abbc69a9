// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Assignment} from "../types/Request.sol";

/// @title AssignmentHashing
/// @notice EIP-712 struct hashes of matcher assignment batches.
library AssignmentHashing {
    bytes32 internal constant ASSIGNMENT_TYPEHASH = keccak256("Assignment(uint256 requestId,address prover)");
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "AssignmentBatch(Assignment[] assignments,uint64 validUntil)Assignment(uint256 requestId,address prover)"
    );

    /// @notice hashStruct(AssignmentBatch) for `assignments` and `validUntil`.
    function hashBatch(Assignment[] calldata assignments, uint64 validUntil) internal pure returns (bytes32) {
        uint256 n = assignments.length;
        bytes32[] memory itemHashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            itemHashes[i] = keccak256(abi.encode(ASSIGNMENT_TYPEHASH, assignments[i].requestId, assignments[i].prover));
        }
        return keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(itemHashes)), validUntil));
    }
}
