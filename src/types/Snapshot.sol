// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using SnapshotLibrary for Snapshot global;

/// @notice One epoch of restaked stake, mirrored from Cairn's Symbiotic network to the StakeMirror: a Merkle root
/// of (prover, vault, token, stake) leaves read at one capture. Relayers sign it as EIP-712 `StakeSnapshot`, under the
/// mirror's domain, with the mirror's stake token as its first member (see SnapshotLibrary).
struct Snapshot {
    uint64 epoch;
    uint48 captureTimestamp;
    /// How long after the capture every opted-in vault's stake can still be slashed (middleware.slashingWindow).
    uint48 slashingWindow;
    bytes32 stakeRoot;
    uint256 totalStake;
    uint32 leafCount;
}

/// @title SnapshotLibrary
/// @notice EIP-712 type string and struct hash of a `Snapshot` as signed: `StakeSnapshot`, which also names the token
/// the stake is in (the mirror's stakeToken, not carried in the struct), so a snapshot of one token can never be
/// committed to the mirror of another.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library SnapshotLibrary {
    string internal constant STAKE_SNAPSHOT_TYPE =
        "StakeSnapshot(address token,uint64 epoch,uint48 captureTimestamp,uint48 slashingWindow,bytes32 stakeRoot,uint256 totalStake,uint32 leafCount)";
    /// keccak256(abi.encodePacked(STAKE_SNAPSHOT_TYPE))
    bytes32 internal constant STAKE_SNAPSHOT_TYPEHASH =
        0xaaab5908b8498e4d0987fd0c4121eeaff820facc6e577001e46141729744b9ab;

    /// @notice hashStruct(StakeSnapshot) of `s` in `token`.
    function hash(Snapshot calldata s, address token) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                STAKE_SNAPSHOT_TYPEHASH,
                token,
                s.epoch,
                s.captureTimestamp,
                s.slashingWindow,
                s.stakeRoot,
                s.totalStake,
                s.leafCount
            )
        );
    }
}
