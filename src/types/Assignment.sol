// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MatchedRequest} from "./Request.sol";
import {StructArrayHashing} from "../libraries/StructArrayHashing.sol";

using AssignmentLibrary for Assignment global;

/// @notice One matcher decision, as signed (EIP-712 `Assignment`), in batches (`AssignmentBatch`) under the
/// marketplace's domain. The matcher signs the prover's listing it matched on: the request records that travel
/// with a submitted batch (MatchedRequest) are checked against storage, not against the signature.
struct Assignment {
    uint256 requestId;
    address prover;
    /// The prover's listed price the matcher matched on: the item is skipped if the listing differs at inclusion.
    uint96 price;
    /// The prover's listed proving time the matcher matched on (bound like the price).
    uint32 provingTime;
    /// The request's private-input data key, re-wrapped by the matcher enclave to the prover enclave's ECIES key
    /// (empty for a request without private inputs). Signed, so a submitter cannot swap it.
    bytes inputKey;
}

/// @title AssignmentLibrary
/// @notice EIP-712 type strings and struct hashes of `Assignment` and `AssignmentBatch`.
/// @dev Typehashes are written out as literals: solc computes keccak256 of a composed constant
/// (`keccak256(abi.encodePacked(...))`) at run time, in every function that reads it, so the composed form stays in
/// the comment and test/types/TypeHashes.t.sol checks each literal against it.
library AssignmentLibrary {
    string internal constant ASSIGNMENT_TYPE =
        "Assignment(uint256 requestId,address prover,uint96 price,uint32 provingTime,bytes inputKey)";
    /// keccak256(abi.encodePacked(ASSIGNMENT_TYPE))
    bytes32 internal constant ASSIGNMENT_TYPEHASH = 0xff976da2a52f1d30b010839623683ca42ac1d63d1a29c0e3358ae9585ea191c0;

    /// What a matcher signs: a batch of assignments, valid until `validUntil` (unix seconds).
    string internal constant ASSIGNMENT_BATCH_TYPE = "AssignmentBatch(Assignment[] assignments,uint64 validUntil)";
    /// keccak256(abi.encodePacked(ASSIGNMENT_BATCH_TYPE, ASSIGNMENT_TYPE))
    bytes32 internal constant ASSIGNMENT_BATCH_TYPEHASH =
        0x763c1a111db167f1036e0984336c25f9f26b0768d779a8ee0e473aef94794a5b;

    /// @dev keccak256 of an empty input key: the key of every request without private inputs.
    bytes32 internal constant EMPTY_KEY_HASH = keccak256("");

    /// @notice hashStruct(Assignment).
    function hash(Assignment calldata a) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(ASSIGNMENT_TYPEHASH, a.requestId, a.prover, a.price, a.provingTime, keccak256(a.inputKey))
        );
    }

    /// @notice encodeData of an `Assignment[]`: keccak256 of the assignments' hashStructs.
    function hashArray(Assignment[] calldata assignments) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](assignments.length);
        for (uint256 i; i < assignments.length; ++i) {
            items[i] = assignments[i].hash();
        }
        return StructArrayHashing.hash(items);
    }

    /// @notice hashStruct(AssignmentBatch) of the assignments a matcher signs.
    function hashBatch(Assignment[] calldata assignments, uint64 validUntil) internal pure returns (bytes32) {
        return _hashBatch(hashArray(assignments), validUntil);
    }

    /// @notice hashStruct(AssignmentBatch) of a submitted batch (ProofMarketplace.assign): each match's signed
    /// terms, with its input key from `inputKeys`, which is empty (no private inputs in the batch) or holds one key
    /// per match.
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
        return _hashBatch(StructArrayHashing.hash(items), validUntil);
    }

    /// @dev hashStruct(AssignmentBatch) from the keccak256 of its assignments' hashStructs (also SignedRequestModule's).
    function _hashBatch(bytes32 assignmentsHash, uint64 validUntil) internal pure returns (bytes32) {
        return keccak256(abi.encode(ASSIGNMENT_BATCH_TYPEHASH, assignmentsHash, validUntil));
    }
}
