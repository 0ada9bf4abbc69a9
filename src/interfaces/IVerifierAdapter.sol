// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "./IProofVerifier.sol";

/// @title IVerifierAdapter
/// @notice A proving system's generated verifier contract (snarkjs Groth16, bb.js UltraHonk) behind IProofVerifier:
/// fixed-length proofs, public inputs as 32-byte words below the BN254 scalar field modulus, each verification given
/// a capped amount of gas.
interface IVerifierAdapter is IProofVerifier {
    /// @notice The constructor was given the zero address as the generated verifier.
    error ZeroAddress();
    /// @notice The constructor was given a circuit without public inputs (nothing would bind a proof to a request).
    error ZeroPublicInputs();
    /// @notice The constructor was given a proof length that is zero or not a whole number of 32-byte words.
    error InvalidProofLength(uint256 proofLength);
    /// @notice The constructor was given a zero gas limit for the inner verification.
    error ZeroVerifyGasLimit();
    /// @notice verify was given a proof of `length` bytes instead of `proofLength()`.
    error MalformedProof(uint256 length);
    /// @notice verify was given public inputs of `length` bytes instead of 32 × the circuit's public input count.
    error MalformedPublicInputs(uint256 length);

    /// @notice Length in bytes of every proof of the circuit.
    function proofLength() external view returns (uint256);

    /// @notice Gas forwarded to the generated verifier for each proof. A proof with points off the curve makes the
    /// EC precompiles consume all gas they are given, so the cap keeps one bad proof from starving a batch.
    function verifyGasLimit() external view returns (uint256);
}
