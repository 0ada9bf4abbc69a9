// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {CairnNetworkMiddleware} from "./CairnNetworkMiddleware.sol";
import {ITeeRegistry} from "../attestation/interfaces/ITeeRegistry.sol";
import {OperatorQuorum} from "../libraries/OperatorQuorum.sol";

/// @title SlashInbox
/// @notice Ethereum end of the marketplace chain → Ethereum slash channel: batches of slashes queued by the
/// StakeMirror, accepted on a quorum of independent admitted relayer operators (OperatorQuorum) and executed through
/// Cairn's network middleware. It is the middleware's slash messenger; a canonical bridge receiver could take its
/// place.
/// @dev Each slash is identified as on the marketplace chain (keccak256(chainId, mirror, taskId)), so the
/// middleware's per-order replay guard also stops a batch from being delivered twice: an order already seen is
/// skipped and reported, and so is an order the vault refuses for a reason that may pass (the middleware records
/// nothing, so it can be delivered again); everything else ends in a recorded state (requested, executed or failed).
contract SlashInbox is Ownable, EIP712 {
    error ZeroAddress();
    error EmptyBatch();
    error ThresholdOutOfRange();
    error CalleeOutOfGas();

    event SlashDelivered(bytes32 indexed orderId, uint256 indexed taskId);
    event SlashSkipped(bytes32 indexed orderId, uint256 indexed taskId, bytes reason);
    event ThresholdSet(uint8 threshold);

    struct Slash {
        uint256 taskId;
        address prover;
        address vault;
        uint256 amount;
        uint48 captureTimestamp;
    }

    bytes32 public constant SLASH_TYPEHASH =
        keccak256("Slash(uint256 taskId,address prover,address vault,uint256 amount,uint48 captureTimestamp)");
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "SlashBatch(uint256 sourceChainId,address sourceMirror,Slash[] slashes)Slash(uint256 taskId,address prover,address vault,uint256 amount,uint48 captureTimestamp)"
    );

    CairnNetworkMiddleware public immutable middleware;
    ITeeRegistry public immutable relayers;
    /// @notice The marketplace chain and StakeMirror whose slashes this inbox accepts.
    uint256 public immutable sourceChainId;
    address public immutable sourceMirror;
    uint8 public threshold;

    constructor(
        address owner_,
        CairnNetworkMiddleware middleware_,
        ITeeRegistry relayers_,
        uint256 sourceChainId_,
        address sourceMirror_,
        uint8 threshold_
    ) {
        if (
            owner_ == address(0) || address(middleware_) == address(0) || address(relayers_) == address(0)
                || sourceMirror_ == address(0)
        ) revert ZeroAddress();
        if (threshold_ == 0) revert ThresholdOutOfRange();
        _initializeOwner(owner_);
        middleware = middleware_;
        relayers = relayers_;
        sourceChainId = sourceChainId_;
        sourceMirror = sourceMirror_;
        threshold = threshold_;
        emit ThresholdSet(threshold_);
    }

    /// @notice Delivers a quorum-signed batch of slashes; anyone may submit. The middleware records each order's
    /// fate (requested, executed, or failed for good: see its events); an order delivered before, or refused for a
    /// reason that may pass, is skipped and reported (SlashSkipped). A call starved of gas reverts as a whole.
    /// @return delivered Number of slashes handed to the middleware.
    function deliver(Slash[] calldata slashes, bytes[] calldata signatures) external returns (uint256 delivered) {
        if (slashes.length == 0) revert EmptyBatch();
        OperatorQuorum.check(relayers, threshold, batchDigest(slashes), signatures);
        for (uint256 i; i < slashes.length; ++i) {
            Slash calldata s = slashes[i];
            bytes32 orderId = keccak256(abi.encode(sourceChainId, sourceMirror, s.taskId));
            (,, CairnNetworkMiddleware.SlashState state) = middleware.slashes(orderId);
            if (state != CairnNetworkMiddleware.SlashState.None) {
                emit SlashSkipped(
                    orderId,
                    s.taskId,
                    abi.encodeWithSelector(CairnNetworkMiddleware.SlashOrderAlreadySeen.selector, orderId)
                );
                continue;
            }
            uint256 gasBefore = gasleft();
            try middleware.executeSlash(
                CairnNetworkMiddleware.SlashOrder({
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
                        || (reason.length >= 4 && bytes4(reason) == CairnNetworkMiddleware.CalleeOutOfGas.selector)
                ) revert CalleeOutOfGas();
                emit SlashSkipped(orderId, s.taskId, reason);
            }
        }
    }

    /// @notice Sets how many relayer operators must sign a batch (never fewer than a majority of the admitted).
    function setThreshold(uint8 threshold_) external onlyOwner {
        if (threshold_ == 0) revert ThresholdOutOfRange();
        threshold = threshold_;
        emit ThresholdSet(threshold_);
    }

    /// @notice The EIP-712 digest relayers sign for a batch.
    function batchDigest(Slash[] calldata slashes) public view returns (bytes32) {
        bytes32[] memory items = new bytes32[](slashes.length);
        for (uint256 i; i < slashes.length; ++i) {
            Slash calldata s = slashes[i];
            items[i] = keccak256(abi.encode(SLASH_TYPEHASH, s.taskId, s.prover, s.vault, s.amount, s.captureTimestamp));
        }
        return _hashTypedData(
            keccak256(abi.encode(BATCH_TYPEHASH, sourceChainId, sourceMirror, keccak256(abi.encodePacked(items))))
        );
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn SlashInbox", "1");
    }
}
