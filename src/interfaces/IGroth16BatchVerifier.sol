// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "./IProofVerifier.sol";
import {Groth16VerifyingKey} from "../types/Groth16VerifyingKey.sol";

/// @title IGroth16BatchVerifier
/// @notice A Groth16 (BN254) verifier whose verifying key is data, so any circom circuit gets a verifier, and batch
/// verification, from its snarkjs verification_key.json alone, without generated code.
interface IGroth16BatchVerifier is IProofVerifier {
    /// @notice The verifying key has no IC point for a public signal (a circuit without public signals).
    error NoPublicSignals();
    /// @notice A point of the verifying key is not a valid curve point (the precompiles refused it).
    error InvalidVerifyingKey();
    /// @notice `proof` is not 256 bytes.
    error MalformedProof(uint256 length);
    /// @notice `publicInputs` is not `publicSignalCount` 32-byte words.
    error MalformedPublicInputs(uint256 length);

    /// @notice The verifying key was stored (its data contract is `verifyingKeyPointer`).
    event VerifyingKeyStored(address indexed pointer, uint256 publicSignalCount);

    /// @notice Number of public signals of the circuit (its verifying key has one more IC point).
    function publicSignalCount() external view returns (uint256);

    /// @notice The data contract (SSTORE2) holding the verifying key, in the precompiles' word order: alpha, beta,
    /// gamma, delta, then the IC points.
    function verifyingKeyPointer() external view returns (address);

    /// @notice The verifying key, as given to the constructor.
    function verifyingKey() external view returns (Groth16VerifyingKey memory);
}
