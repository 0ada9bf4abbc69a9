// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Clock
/// @notice The one place Cairn's contracts read the time. Every rule Cairn keeps by the clock (matching expiries,
/// proving deadlines, fallback delays, listing exit delays, unbonding, enclave key validity, signature and veto
/// windows, Intel collateral validity) reads it here.
/// @dev Why validator influence over `block.timestamp` does not matter at Cairn's granularity: a block producer
/// can only move the timestamp within narrow bounds (on Ethereum it is fixed to the 12 s slot; an L2 sequencer must
/// keep it monotonic and within its drift limit of L1, seconds to minutes), while Cairn's windows are measured in
/// minutes to days and every party picks its own margin (a prover lists its proving time, a requester its expiry
/// and deadline). The most a producer can do is decide on which side of a boundary a transaction lands, which the
/// transaction's sender can do equally by sending it earlier or later; nothing here is derived from the clock as
/// randomness, and no amount scales with it. Times are stored in the width each record packs them into; the 32-bit
/// records run until 2106.
library Clock {
    /// @notice The current chain time, in seconds, at full width: compare it with any stored time without a cast.
    function timestamp() internal view returns (uint256) {
        return block.timestamp;
    }

    /// @notice The current chain time as the 32-bit seconds of the marketplace's packed records (valid until 2106).
    function timestamp32() internal view returns (uint32) {
        return uint32(block.timestamp);
    }

    /// @notice The current chain time as the 48-bit seconds of Symbiotic's checkpoints.
    function timestamp48() internal view returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice The current chain time as the 64-bit seconds of enclave key and unbonding records.
    function timestamp64() internal view returns (uint64) {
        return uint64(block.timestamp);
    }
}
