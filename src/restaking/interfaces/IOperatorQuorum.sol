// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITeeRegistry} from "../../attestation/interfaces/ITeeRegistry.sol";

/// @title IOperatorQuorum
/// @notice A contract that accepts what a quorum of independent relayer operators signed (the StakeMirror's snapshots
/// and slash outcomes, the SlashInbox's slash batches). Attested keys are cheap (one TD registers as many as it
/// likes), so signatures count per admitted operator, never per key: each signature must come from an active relayer
/// key, signatures are ordered by their key's operator (strictly ascending, so each operator counts at most once),
/// and their number must reach both the threshold and a strict majority of the operators governance admitted.
interface IOperatorQuorum {
    error ZeroAddress();
    error ThresholdOutOfRange();
    error QuorumNotReached(uint256 operators, uint256 required);
    /// Signatures must be ordered by operator, one per operator.
    error OperatorsNotAscending(address previous, address operator);
    error NotAnActiveRelayer(address signer);

    event ThresholdSet(uint8 threshold);

    /// @notice The registry of attested relayer keys and of the relayer operators governance admitted.
    function relayers() external view returns (ITeeRegistry);

    /// @notice Relayer operators a signed message needs at least (and never fewer than a strict majority of the
    /// admitted relayer operators).
    function threshold() external view returns (uint8);

    /// @notice Sets the threshold (at least 1); the owner only.
    function setThreshold(uint8 threshold_) external;
}
