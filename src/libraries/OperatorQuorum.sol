// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {ITeeRegistry, TeeRole} from "../attestation/interfaces/ITeeRegistry.sol";

/// @title OperatorQuorum
/// @notice Checks that a digest is signed by a quorum of independent relayer operators. Attested keys are cheap (one
/// TD registers as many as it likes), so signatures count per admitted operator, never per key: each signature must
/// come from an active relayer key, signatures are ordered by their key's operator (strictly ascending, so each
/// operator counts at most once), and their number must reach both the configured threshold and a strict majority of
/// the operators governance admitted.
library OperatorQuorum {
    error QuorumNotReached(uint256 operators, uint256 required);
    /// Signatures must be ordered by operator, one per operator.
    error OperatorsNotAscending(address previous, address operator);
    error NotAnActiveRelayer(address signer);

    /// @notice Operators needed for a quorum: `threshold`, and never fewer than a strict majority of the admitted.
    function required(ITeeRegistry registry, uint8 threshold) internal view returns (uint256) {
        uint256 majority = uint256(registry.admittedOperatorCount(TeeRole.Relayer)) / 2 + 1;
        return majority > threshold ? majority : threshold;
    }

    /// @notice Reverts unless `signatures` over `digest` come from a quorum of distinct admitted relayer operators.
    function check(ITeeRegistry registry, uint8 threshold, bytes32 digest, bytes[] calldata signatures) internal view {
        address last;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recoverCalldata(digest, signatures[i]);
            address operator = registry.activeOperator(TeeRole.Relayer, 0, signer);
            if (operator == address(0)) revert NotAnActiveRelayer(signer);
            if (operator <= last) revert OperatorsNotAscending(last, operator);
            last = operator;
        }
        uint256 needed = required(registry, threshold);
        if (signatures.length < needed) revert QuorumNotReached(signatures.length, needed);
    }
}
