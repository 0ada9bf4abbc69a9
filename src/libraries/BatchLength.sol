// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";

/// @title BatchLength
/// @notice The one shape check every IProofVerifier.verifyBatch starts with.
library BatchLength {
    /// @dev The batch's length: its three arrays must have one; reverts IProofVerifier.BatchLengthMismatch otherwise.
    function check(uint256 publicInputs, uint256 proofs, uint256 contexts) internal pure returns (uint256) {
        if (publicInputs != proofs || contexts != proofs) {
            revert IProofVerifier.BatchLengthMismatch(publicInputs, proofs, contexts);
        }
        return proofs;
    }
}
