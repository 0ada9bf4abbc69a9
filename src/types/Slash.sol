// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StructArrayHashing} from "../libraries/StructArrayHashing.sol";

using SlashLibrary for Slash global;

/// @notice A slash queued by the StakeMirror on the marketplace chain, as relayers deliver it to the SlashInbox on
/// Ethereum: signed in batches (EIP-712 `SlashBatch` of `Slash`, under the inbox's domain).
struct Slash {
    /// The marketplace task whose deadline was missed (the StakeMirror's lock id).
    uint256 taskId;
    /// The marketplace prover: the slash reaches the operator bound to it at the capture.
    address prover;
    /// The vault the task's stake was locked in.
    address vault;
    /// The penalty, in the vault's collateral.
    uint256 amount;
    /// The capture the task's stake was read at: the slash is made at it.
    uint48 captureTimestamp;
}

/// @title SlashLibrary
/// @notice EIP-712 type strings and struct hashes of `Slash` and `SlashBatch`.
/// @dev Typehashes are literals (see AssignmentLibrary); test/types/TypeHashes.t.sol checks them.
library SlashLibrary {
    string internal constant SLASH_TYPE =
        "Slash(uint256 taskId,address prover,address vault,uint256 amount,uint48 captureTimestamp)";
    /// keccak256(abi.encodePacked(SLASH_TYPE))
    bytes32 internal constant SLASH_TYPEHASH = 0x3dfa00867c51bbae28ac5d6476039d256b265d3252ef531442a1a9583bb44fe2;

    /// What relayers sign: slashes of one StakeMirror (`sourceMirror` on chain `sourceChainId`).
    string internal constant SLASH_BATCH_TYPE =
        "SlashBatch(uint256 sourceChainId,address sourceMirror,Slash[] slashes)";
    /// keccak256(abi.encodePacked(SLASH_BATCH_TYPE, SLASH_TYPE))
    bytes32 internal constant SLASH_BATCH_TYPEHASH = 0x2e1ebf8b446f4365b7e5d5e07fdf43abd427d9a5524cd2930047680c81c92628;

    /// @notice hashStruct(Slash).
    function hash(Slash calldata s) internal pure returns (bytes32) {
        return keccak256(abi.encode(SLASH_TYPEHASH, s.taskId, s.prover, s.vault, s.amount, s.captureTimestamp));
    }

    /// @notice encodeData of a `Slash[]`: keccak256 of the slashes' hashStructs.
    function hashArray(Slash[] calldata slashes) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](slashes.length);
        for (uint256 i; i < slashes.length; ++i) {
            items[i] = slashes[i].hash();
        }
        return StructArrayHashing.hash(items);
    }

    /// @notice hashStruct(SlashBatch).
    function hashBatch(Slash[] calldata slashes, uint256 sourceChainId, address sourceMirror)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(SLASH_BATCH_TYPEHASH, sourceChainId, sourceMirror, hashArray(slashes)));
    }
}
