// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {CairnNetworkMiddleware} from "./CairnNetworkMiddleware.sol";
import {ITeeRegistry, TeeRole} from "../attestation/interfaces/ITeeRegistry.sol";

/// @title SlashInbox
/// @notice Ethereum end of the marketplace chain → Ethereum slash channel: batches of slashes queued by the
/// StakeMirror, accepted on a k-of-n quorum of attested relayer keys and executed through Cairn's network
/// middleware. It is the middleware's slash messenger; a canonical bridge receiver could take its place.
/// @dev Each slash is identified as on the marketplace chain (keccak256(chainId, mirror, taskId)), so the
/// middleware's per-order replay guard also stops a batch from being delivered twice. Items that cannot execute
/// (already delivered, outside the vault's window, unbound prover) are skipped and reported; the rest go through.
contract SlashInbox is Ownable, EIP712 {
    error ZeroAddress();
    error QuorumNotReached(uint256 valid, uint256 threshold);
    error SignersNotSorted();
    error NotAnActiveRelayer(address signer);
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

    /// @notice Delivers a quorum-signed batch of slashes; anyone may submit.
    /// @return delivered Number of slashes executed or requested on their vaults.
    function deliver(Slash[] calldata slashes, bytes[] calldata signatures) external returns (uint256 delivered) {
        if (slashes.length == 0) revert EmptyBatch();
        _checkQuorum(batchDigest(slashes), signatures);
        for (uint256 i; i < slashes.length; ++i) {
            Slash calldata s = slashes[i];
            bytes32 orderId = keccak256(abi.encode(sourceChainId, sourceMirror, s.taskId));
            CairnNetworkMiddleware.SlashOrder memory order = CairnNetworkMiddleware.SlashOrder({
                orderId: orderId,
                vault: s.vault,
                operator: middleware.operatorOf(s.prover),
                amount: s.amount,
                captureTimestamp: s.captureTimestamp
            });
            uint256 gasBefore = gasleft();
            try middleware.executeSlash(order) {
                ++delivered;
                emit SlashDelivered(orderId, s.taskId);
            } catch (bytes memory reason) {
                // A submitter choosing a tight gas limit must not turn deliverable slashes into skipped ones. Running
                // out of gas, even several calls deep, reverts without data and leaves this frame a few 64ths.
                if (reason.length == 0 && gasleft() < gasBefore / 16) revert CalleeOutOfGas();
                emit SlashSkipped(orderId, s.taskId, reason);
            }
        }
    }

    /// @notice Sets how many relayer signatures a batch needs.
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

    function _checkQuorum(bytes32 digest, bytes[] calldata signatures) internal view {
        address last;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recoverCalldata(digest, signatures[i]);
            if (signer <= last) revert SignersNotSorted();
            if (!relayers.isActive(TeeRole.Relayer, 0, signer)) revert NotAnActiveRelayer(signer);
            last = signer;
        }
        if (signatures.length < threshold) revert QuorumNotReached(signatures.length, threshold);
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn SlashInbox", "1");
    }
}
