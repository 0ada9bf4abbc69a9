// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Assignment, MatchedRequest} from "../types/Request.sol";

/// @title AssignmentHashing
/// @notice EIP-712 struct hashes of matcher assignment batches. The matcher signs (requestId, prover, price,
/// provingTime, inputKey), the price and proving time being the prover's listing it matched on: the request records
/// that travel with a submitted batch are checked against storage, not against the signature.
library AssignmentHashing {
    bytes32 internal constant ASSIGNMENT_TYPEHASH =
        keccak256("Assignment(uint256 requestId,address prover,uint96 price,uint32 provingTime,bytes inputKey)");
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "AssignmentBatch(Assignment[] assignments,uint64 validUntil)Assignment(uint256 requestId,address prover,uint96 price,uint32 provingTime,bytes inputKey)"
    );

    /// @dev keccak256 of an empty input key: the key of every request without private inputs.
    bytes32 internal constant EMPTY_KEY_HASH = keccak256("");

    /// @notice hashStruct(AssignmentBatch) of a submitted batch; `inputKeys` is empty (no private inputs in the
    /// batch) or holds one key per match.
    function hashBatch(MatchedRequest[] calldata matches, bytes[] calldata inputKeys, uint64 validUntil)
        internal
        pure
        returns (bytes32)
    {
        bytes32[] memory items = new bytes32[](matches.length);
        bool withKeys = inputKeys.length != 0;
        bytes32 typehash = ASSIGNMENT_TYPEHASH;
        for (uint256 i; i < matches.length; ++i) {
            bytes32 keyHash = withKeys ? keccak256(inputKeys[i]) : EMPTY_KEY_HASH;
            MatchedRequest calldata m = matches[i];
            bytes32 item;
            assembly ("memory-safe") {
                // hashStruct(Assignment): a MatchedRequest starts with the four signed words, in the type's order,
                // ABI-encoded in place. They are hashed as given: a value with dirty high bits hashes differently
                // from its clean form, so it can only fail the signature check.
                let p := mload(0x40)
                mstore(p, typehash)
                calldatacopy(add(p, 0x20), m, 0x80)
                mstore(add(p, 0xa0), keyHash)
                item := keccak256(p, 0xc0)
            }
            items[i] = item;
        }
        return _hashBatch(items, validUntil);
    }

    /// @notice hashStruct(AssignmentBatch) of the assignments a matcher signs.
    function hashBatch(Assignment[] calldata assignments, uint64 validUntil) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](assignments.length);
        for (uint256 i; i < assignments.length; ++i) {
            items[i] = keccak256(
                abi.encode(
                    ASSIGNMENT_TYPEHASH,
                    assignments[i].requestId,
                    assignments[i].prover,
                    assignments[i].price,
                    assignments[i].provingTime,
                    keccak256(assignments[i].inputKey)
                )
            );
        }
        return _hashBatch(items, validUntil);
    }

    function _hashBatch(bytes32[] memory items, uint64 validUntil) private pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(items)), validUntil));
    }
}
