// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {ITeeRegistry, TeeRole} from "../attestation/interfaces/ITeeRegistry.sol";
import {IOperatorQuorum} from "./interfaces/IOperatorQuorum.sol";

/// @title OperatorQuorum
/// @notice Checks that a digest is signed by a quorum of independent relayer operators (see IOperatorQuorum), with
/// the relayer registry and the owner-set threshold it needs: the StakeMirror and the SlashInbox build on it.
abstract contract OperatorQuorum is IOperatorQuorum, Ownable {
    /// @inheritdoc IOperatorQuorum
    ITeeRegistry public immutable relayers;
    /// @inheritdoc IOperatorQuorum
    uint8 public threshold;

    /// @dev Checks and sets the owner, the registry and the threshold; a derived contract checks its own addresses.
    constructor(address owner_, ITeeRegistry relayers_, uint8 threshold_) {
        if (owner_ == address(0) || address(relayers_) == address(0)) revert ZeroAddress();
        if (threshold_ == 0) revert ThresholdOutOfRange();
        _initializeOwner(owner_);
        relayers = relayers_;
        threshold = threshold_;
        emit ThresholdSet(threshold_);
    }

    /// @inheritdoc IOperatorQuorum
    function setThreshold(uint8 threshold_) external onlyOwner {
        if (threshold_ == 0) revert ThresholdOutOfRange();
        threshold = threshold_;
        emit ThresholdSet(threshold_);
    }

    /// @dev Reverts unless `signatures` over `digest` come from a quorum of distinct admitted relayer operators.
    function _checkQuorum(bytes32 digest, bytes[] calldata signatures) internal view {
        ITeeRegistry registry = relayers;
        address last;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recoverCalldata(digest, signatures[i]);
            address operator = registry.activeOperator(TeeRole.Relayer, 0, signer);
            if (operator == address(0)) revert NotAnActiveRelayer(signer);
            if (operator <= last) revert OperatorsNotAscending(last, operator);
            last = operator;
        }
        uint256 needed = _requiredOperators(registry);
        if (signatures.length < needed) revert QuorumNotReached(signatures.length, needed);
    }

    /// @dev Operators needed for a quorum: the threshold, and never fewer than a strict majority of the admitted.
    function _requiredOperators(ITeeRegistry registry) internal view returns (uint256) {
        uint256 majority = uint256(registry.admittedOperatorCount(TeeRole.Relayer)) / 2 + 1;
        uint256 t = threshold;
        return majority > t ? majority : t;
    }
}
