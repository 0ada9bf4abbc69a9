// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "solady/utils/EIP712.sol";
import {ITeeRegistry} from "../attestation/interfaces/ITeeRegistry.sol";
import {Slash, SlashLibrary} from "../types/Slash.sol";
import {ISlashExecutor} from "./interfaces/ISlashExecutor.sol";
import {ISlashInbox} from "./interfaces/ISlashInbox.sol";
import {OperatorQuorum} from "./OperatorQuorum.sol";

/// @title SlashInbox
/// @notice Ethereum end of the marketplace chain → Ethereum slash channel: batches of slashes queued by the
/// StakeMirror, accepted on a quorum of independent admitted relayer operators (OperatorQuorum) and executed through
/// Cairn's network middleware. It is the middleware's slash messenger; a canonical bridge receiver could take its
/// place.
/// @dev Each slash is identified as on the marketplace chain (keccak256(chainId, mirror, taskId)), so the
/// middleware's per-order replay guard also stops a batch from being delivered twice: an order already seen is
/// skipped and reported, and so is an order the vault refuses for a reason that may pass (the middleware records
/// nothing, so it can be delivered again); everything else ends in a recorded state (requested, executed or failed).
contract SlashInbox is ISlashInbox, OperatorQuorum, EIP712 {
    /// @inheritdoc ISlashInbox
    bytes32 public constant SLASH_TYPEHASH = SlashLibrary.SLASH_TYPEHASH;
    /// @inheritdoc ISlashInbox
    bytes32 public constant BATCH_TYPEHASH = SlashLibrary.SLASH_BATCH_TYPEHASH;

    /// @inheritdoc ISlashInbox
    ISlashExecutor public immutable middleware;
    /// @inheritdoc ISlashInbox
    uint256 public immutable sourceChainId;
    /// @inheritdoc ISlashInbox
    address public immutable sourceMirror;

    constructor(
        address owner_,
        ISlashExecutor middleware_,
        ITeeRegistry relayers_,
        uint256 sourceChainId_,
        address sourceMirror_,
        uint8 threshold_
    ) OperatorQuorum(owner_, relayers_, threshold_) {
        if (address(middleware_) == address(0) || sourceMirror_ == address(0)) {
            revert ZeroAddress();
        }
        middleware = middleware_;
        sourceChainId = sourceChainId_;
        sourceMirror = sourceMirror_;
    }

    /// @inheritdoc ISlashInbox
    function deliver(Slash[] calldata slashes, bytes[] calldata signatures) external returns (uint256 delivered) {
        if (slashes.length == 0) revert EmptyBatch();
        _checkQuorum(batchDigest(slashes), signatures);
        for (uint256 i; i < slashes.length; ++i) {
            Slash calldata s = slashes[i];
            bytes32 orderId = keccak256(abi.encode(sourceChainId, sourceMirror, s.taskId));
            (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
            if (state != ISlashExecutor.SlashState.None) {
                emit SlashSkipped(
                    orderId, s.taskId, abi.encodeWithSelector(ISlashExecutor.SlashOrderAlreadySeen.selector, orderId)
                );
                continue;
            }
            uint256 gasBefore = gasleft();
            try middleware.executeSlash(
                ISlashExecutor.SlashOrder({
                    orderId: orderId,
                    vault: s.vault,
                    prover: s.prover,
                    amount: s.amount,
                    captureTimestamp: s.captureTimestamp
                })
            ) {
                ++delivered;
                emit SlashDelivered(orderId, s.taskId);
            } catch (bytes memory reason) {
                // Starved of gas here or deeper: the whole call reverts, so nobody can make a due slash skip.
                if (
                    (reason.length == 0 && gasleft() < gasBefore / 16)
                        // forge-lint: disable-next-line(unsafe-typecast): the selector; length checked ≥ 4
                        || (reason.length >= 4 && bytes4(reason) == ISlashExecutor.CalleeOutOfGas.selector)
                ) revert CalleeOutOfGas();
                emit SlashSkipped(orderId, s.taskId, reason);
            }
        }
    }

    /// @inheritdoc ISlashInbox
    function batchDigest(Slash[] calldata slashes) public view returns (bytes32) {
        return _hashTypedData(SlashLibrary.hashBatch(slashes, sourceChainId, sourceMirror));
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn SlashInbox", "1");
    }
}
