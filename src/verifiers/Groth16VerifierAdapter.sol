// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibString} from "solady/utils/LibString.sol";
import {VerifierAdapter} from "./VerifierAdapter.sol";

/// @title Groth16VerifierAdapter
/// @notice Puts a snarkjs-exported Groth16 verifier (BN254) behind the marketplace's IProofVerifier interface.
/// @dev Encodings, chosen so the adapter only concatenates calldata:
/// - publicInputs: the circuit's public signals (outputs first, then public inputs, as snarkjs orders them), each a
///   32-byte big-endian word below the BN254 scalar field modulus; exactly `publicSignalCount` words.
/// - proof: abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c) in the snarkjs Solidity calldata order
///   (G2 coordinates as `snarkjs zkey export soliditycalldata` prints them): 256 bytes.
/// One generated-verifier call per proof: use Groth16BatchVerifier, which batches, for new markets.
contract Groth16VerifierAdapter is VerifierAdapter {
    uint256 internal constant PROOF_LENGTH = 256;

    /// @notice Selector of verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[publicSignalCount]).
    bytes4 public immutable verifyProofSelector;

    /// @param groth16Verifier_ A verifier exported by `snarkjs zkey export solidityverifier`.
    /// @param publicSignalCount_ Its number of public signals. A valid proof needs about 190k gas + 7k per public
    /// signal; each verification is given 260k + 10k per public signal.
    constructor(address groth16Verifier_, uint256 publicSignalCount_)
        VerifierAdapter(groth16Verifier_, publicSignalCount_, PROOF_LENGTH, 260_000 + 10_000 * publicSignalCount_)
    {
        verifyProofSelector = bytes4(
            keccak256(
                bytes(
                    string.concat(
                        "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[",
                        LibString.toString(publicSignalCount_),
                        "])"
                    )
                )
            )
        );
    }

    /// @notice The snarkjs verifier contract.
    function groth16Verifier() external view returns (address) {
        return _verifier;
    }

    /// @notice Number of public signals of the circuit.
    function publicSignalCount() external view returns (uint256) {
        return _publicInputWords;
    }

    /// @dev verifyProof(a, b, c, signals): the proof already is a, b and c in calldata order, the signals follow.
    function _verifierCall(bytes calldata publicInputs, bytes calldata proof)
        internal
        view
        override
        returns (bytes memory)
    {
        return abi.encodePacked(verifyProofSelector, proof, publicInputs);
    }
}
