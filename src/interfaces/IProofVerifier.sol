// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProofContext} from "../types/ProofContext.sol";

/// @title IProofVerifier
/// @notice One interface for every proving system a market can use (Groth16, TEE, MultiProof, ...).
/// @dev Adapters return false for a proof that does not verify and revert only on malformed encodings.
interface IProofVerifier {
    /// @notice The caller left too little gas to tell an invalid proof from an interrupted check. The marketplace
    /// always re-throws it, so a batch can never turn a gas shortfall into a skipped item.
    error InsufficientGas(uint256 available, uint256 required);

    /// @notice Whether `proof` proves the statement given by `publicInputs`, for the request and prover in `context`.
    /// @param publicInputs The request's public inputs, in the adapter's documented encoding.
    /// @param proof The proof, in the adapter's documented encoding.
    /// @param context The request being fulfilled, its inputs digest and its assigned prover, as the marketplace
    /// holds them: an adapter whose proofs could be copied (a signature) must bind them to it.
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata context)
        external
        view
        returns (bool);

    /// @notice Cheap well-formedness check of public inputs, run when a request posts them inline, so that no prover
    /// is assigned a request that no proof could ever satisfy for encoding reasons.
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool);
}
