// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {ProofContext} from "../types/ProofContext.sol";

/// @title MultiProofVerifier
/// @notice Requires two independent proofs of the same statement: a ZK proof AND a TEE proof over the same public
/// inputs. A flaw in either proving system alone cannot forge a result.
/// @dev proof = abi.encode(bytes zkProof, bytes teeProof); each goes to its own verifier with the same public inputs
/// and context. The ZK half proves the public statement whoever submits it; the TEE half binds the proof to the
/// request, its inputs and its assigned prover, so a copied MultiProof fails on it.
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
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata context)
        external
        view
        returns (bool)
    {
        (bytes memory zkProof, bytes memory teeProof) = abi.decode(proof, (bytes, bytes));
        return zkVerifier.verify(publicInputs, zkProof, context) && teeVerifier.verify(publicInputs, teeProof, context);
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        return zkVerifier.validatePublicInputs(publicInputs) && teeVerifier.validatePublicInputs(publicInputs);
    }
}
