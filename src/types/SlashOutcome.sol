// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StructArrayHashing} from "../libraries/StructArrayHashing.sol";

using SlashOutcomeLibrary for SlashOutcome global;

/// @notice A slash queued by the StakeMirror, through its life: the mirror's record of it, and the outcome on Ethereum
/// reported back.
enum SlashStatus {
    None,
    /// Queued for Ethereum, outcome not yet reported: its penalty is held back.
    Queued,
    Executed,
    Vetoed,
    /// The middleware could never execute it (recorded on Ethereum as Failed).
    Failed
}

/// @notice The final outcome on Ethereum of a queued slash, reported back to the StakeMirror by the relayer quorum
/// (signed in batches: EIP-712 `SlashOutcomes` of `SlashOutcome`, under the mirror's domain) or by the transport.
struct SlashOutcome {
    /// The id the slash was queued under: keccak256(abi.encode(chainId, mirror, taskId)).
    bytes32 orderId;
    /// The vault it was queued against (checked).
    address vault;
    /// Executed, Vetoed or Failed (signed as a uint8).
    SlashStatus status;
    /// Collateral actually slashed (0 unless executed; at most the penalty).
    uint256 slashed;
    /// Ethereum timestamp of the block that settled it (executed: captures from then on show the slash).
    uint48 settledAt;
}

/// @title SlashOutcomeLibrary
/// @notice EIP-712 type strings and struct hashes of `SlashOutcome` and `SlashOutcomes`.
/// @dev Typehashes are literals (see AssignmentLibrary); test/types/TypeHashes.t.sol checks them.
library SlashOutcomeLibrary {
    string internal constant SLASH_OUTCOME_TYPE =
        "SlashOutcome(bytes32 orderId,address vault,uint8 status,uint256 slashed,uint48 settledAt)";
    /// keccak256(abi.encodePacked(SLASH_OUTCOME_TYPE))
    bytes32 internal constant SLASH_OUTCOME_TYPEHASH =
        0xb16e0789c47a5fa7b917b3571708d34f5041bfbe3dc6534d619d1c46a5475124;

    /// What relayers sign: a batch of outcomes.
    string internal constant SLASH_OUTCOMES_TYPE = "SlashOutcomes(SlashOutcome[] outcomes)";
    /// keccak256(abi.encodePacked(SLASH_OUTCOMES_TYPE, SLASH_OUTCOME_TYPE))
    bytes32 internal constant SLASH_OUTCOMES_TYPEHASH =
        0xc8781cf38025b90295765841738ba82607636bad39a910307fd4c63c096c20d6;

    /// @notice hashStruct(SlashOutcome).
    function hash(SlashOutcome calldata o) internal pure returns (bytes32) {
        return
            keccak256(abi.encode(SLASH_OUTCOME_TYPEHASH, o.orderId, o.vault, uint8(o.status), o.slashed, o.settledAt));
    }

    /// @notice encodeData of a `SlashOutcome[]`: keccak256 of the outcomes' hashStructs.
    function hashArray(SlashOutcome[] calldata outcomes) internal pure returns (bytes32) {
        bytes32[] memory items = new bytes32[](outcomes.length);
        for (uint256 i; i < outcomes.length; ++i) {
            items[i] = outcomes[i].hash();
        }
        return StructArrayHashing.hash(items);
    }

    /// @notice hashStruct(SlashOutcomes).
    function hashBatch(SlashOutcome[] calldata outcomes) internal pure returns (bytes32) {
        return keccak256(abi.encode(SLASH_OUTCOMES_TYPEHASH, hashArray(outcomes)));
    }
}
