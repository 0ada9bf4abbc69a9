// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";

/// @title MultiProofVerifier
/// @notice Requires two independent proofs of the same statement: a ZK proof AND a TEE proof over the same public
/// inputs. A flaw in either proving system alone cannot forge a result.
/// @dev proof = abi.encode(bytes zkProof, bytes teeProof); each goes to its own verifier with the same public inputs.
contract MultiProofVerifier is IProofVerifier {
    error ZeroAddress();

    IProofVerifier public immutable zkVerifier;
    IProofVerifier public immutable teeVerifier;

    constructor(IProofVerifier zkVerifier_, IProofVerifier teeVerifier_) {
        if (address(zkVerifier_) == address(0) || address(teeVerifier_) == address(0)) revert ZeroAddress();
        zkVerifier = zkVerifier_;
        teeVerifier = teeVerifier_;
    }

    /// @inheritdoc IProofVerifier
    function verify(bytes calldata publicInputs, bytes calldata proof) external view returns (bool) {
        (bytes memory zkProof, bytes memory teeProof) = abi.decode(proof, (bytes, bytes));
        return zkVerifier.verify(publicInputs, zkProof) && teeVerifier.verify(publicInputs, teeProof);
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        return zkVerifier.validatePublicInputs(publicInputs) && teeVerifier.validatePublicInputs(publicInputs);
    }
}
