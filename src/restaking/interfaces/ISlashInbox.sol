// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Slash} from "../../types/Slash.sol";
import {IOperatorQuorum} from "./IOperatorQuorum.sol";
import {ISlashExecutor} from "./ISlashExecutor.sol";

/// @title ISlashInbox
/// @notice Ethereum end of the marketplace chain → Ethereum slash channel: batches of slashes queued by the
/// StakeMirror, accepted on a quorum of independent admitted relayer operators (IOperatorQuorum) and executed through
/// Cairn's network middleware, whose slash messenger it is.
interface ISlashInbox is IOperatorQuorum {
    error EmptyBatch();
    /// A call starved of gas (here or in the middleware): the whole delivery reverts, so no due slash is skipped.
    error CalleeOutOfGas();

    /// @notice A slash handed to the middleware, which recorded its fate (requested, executed or failed).
    event SlashDelivered(bytes32 indexed orderId, uint256 indexed taskId);
    /// @notice A slash not handed over: delivered before (`reason` SlashOrderAlreadySeen), or refused by the
    /// middleware for a reason that may pass (it can be delivered again).
    event SlashSkipped(bytes32 indexed orderId, uint256 indexed taskId, bytes reason);

    /// @notice EIP-712 typehash of `Slash` (types/Slash.sol).
    function SLASH_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 typehash of `SlashBatch` (types/Slash.sol): what relayers sign.
    function BATCH_TYPEHASH() external view returns (bytes32);

    /// @notice The network middleware the slashes are executed through.
    function middleware() external view returns (ISlashExecutor);

    /// @notice The marketplace chain whose StakeMirror's slashes this inbox accepts.
    function sourceChainId() external view returns (uint256);

    /// @notice The StakeMirror whose slashes this inbox accepts.
    function sourceMirror() external view returns (address);

    /// @notice Delivers a quorum-signed batch of slashes; anyone may submit. The middleware records each order's
    /// fate (requested, executed, or failed for good: see its events); an order delivered before, or refused for a
    /// reason that may pass, is skipped and reported (SlashSkipped). A call starved of gas reverts as a whole.
    /// @param slashes The batch, as the StakeMirror queued its slashes (SlashQueued).
    /// @param signatures One per relayer operator, ordered by operator address, ascending.
    /// @return delivered Number of slashes handed to the middleware.
    function deliver(Slash[] calldata slashes, bytes[] calldata signatures) external returns (uint256 delivered);

    /// @notice The EIP-712 digest relayers sign for a batch (`SlashBatch` under this inbox's domain).
    function batchDigest(Slash[] calldata slashes) external view returns (bytes32);
}
