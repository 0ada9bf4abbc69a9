// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ISlashExecutor
/// @notice The slash end of Cairn's network middleware (CairnNetworkMiddleware), as its slash messenger (the
/// SlashInbox, or a canonical bridge receiver) sees it: slash orders in, each order's recorded fate out.
interface ISlashExecutor {
    /// Fate of a slash order, by order id. Every order ends in a final, recorded state (executed, vetoed or failed).
    enum SlashState {
        None,
        Requested,
        Executed,
        Vetoed,
        Failed
    }

    struct SlashOrder {
        /// Unique id chosen on the marketplace chain (e.g. keccak of task, vault): the replay key.
        bytes32 orderId;
        address vault;
        /// The marketplace prover whose task was missed: the slash reaches the operator bound to it at the capture.
        address prover;
        uint256 amount;
        uint48 captureTimestamp;
    }

    /// An order id already executed, requested or failed: an order is never executed twice.
    error SlashOrderAlreadySeen(bytes32 orderId);
    /// A call ran out of the gas it was given: the whole call reverts rather than record a due slash as failed.
    error CalleeOutOfGas();

    /// @notice Executes a slash order from the marketplace chain (the slash messenger only): instantly, or as a veto
    /// request to finalize later. An order that can never execute ends as Failed, for good; any other refusal
    /// reverts and leaves the order deliverable.
    function executeSlash(SlashOrder calldata order) external;

    /// @notice The recorded fate of an order: its vault, its veto request's slash index (veto slashers) and state.
    function slashes(bytes32 orderId) external view returns (address vault, uint64 slashIndex, SlashState state);
}
