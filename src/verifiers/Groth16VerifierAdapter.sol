// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibString} from "solady/utils/LibString.sol";
import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {ProofContext} from "../types/ProofContext.sol";

/// @title Groth16VerifierAdapter
/// @notice Puts a snarkjs-exported Groth16 verifier (BN254) behind the marketplace's IProofVerifier interface.
/// @dev Encodings, chosen so the adapter only concatenates calldata:
/// - publicInputs: the circuit's public signals (outputs first, then public inputs, as snarkjs orders them), each a
///   32-byte big-endian word below the BN254 scalar field modulus; exactly `publicSignalCount` words.
/// - proof: abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c) in the snarkjs Solidity calldata order
///   (G2 coordinates as `snarkjs zkey export soliditycalldata` prints them): 256 bytes.
contract Groth16VerifierAdapter is IProofVerifier {
    /// BN254 scalar field modulus: every public signal must be below it.
    uint256 internal constant SCALAR_FIELD =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;
    uint256 internal constant PROOF_LENGTH = 256;

    error ZeroAddress();
    error ZeroPublicSignals();
    error MalformedProof(uint256 length);
    error MalformedPublicInputs(uint256 length);

    /// @notice The snarkjs verifier contract.
    address public immutable groth16Verifier;
    /// @notice Number of public signals of the circuit.
    uint256 public immutable publicSignalCount;
    /// @notice Selector of verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[publicSignalCount]).
    bytes4 public immutable verifyProofSelector;
    /// @notice Gas forwarded to the verifier. A proof with points off the curve makes the pairing precompiles
    /// consume all gas they are given, so the cap keeps one bad proof from starving the rest of a batch.
    /// A valid proof needs about 190k + 7k per public signal.
    uint256 public immutable verifyGasLimit;

    /// @param groth16Verifier_ A verifier exported by `snarkjs zkey export solidityverifier`.
    /// @param publicSignalCount_ Its number of public signals.
    constructor(address groth16Verifier_, uint256 publicSignalCount_) {
        if (groth16Verifier_ == address(0)) revert ZeroAddress();
        if (publicSignalCount_ == 0) revert ZeroPublicSignals();
        groth16Verifier = groth16Verifier_;
        publicSignalCount = publicSignalCount_;
        verifyGasLimit = 260_000 + 10_000 * publicSignalCount_;
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

    /// @inheritdoc IProofVerifier
    /// @dev Reverts MalformedProof / MalformedPublicInputs on wrong lengths, and IProofVerifier.InsufficientGas when
    /// the caller left too little gas to tell a bad proof from an interrupted check; false for any other failure.
    /// The context is ignored: a ZK proof proves its public statement whoever submits it, and anyone able to copy
    /// it could equally have proven that statement; a circuit that must tie a proof to one request takes a public
    /// input the request fixes (the Poseidon preimage circuit's `context` signal).
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata)
        external
        view
        returns (bool)
    {
        if (proof.length != PROOF_LENGTH) revert MalformedProof(proof.length);
        if (publicInputs.length != publicSignalCount * 32) revert MalformedPublicInputs(publicInputs.length);
        return _verify(publicInputs, proof);
    }

    /// @inheritdoc IProofVerifier
    /// @dev One generated-verifier call per item: the snarkjs verifier takes one proof, so nothing is shared. Use
    /// Groth16BatchVerifier, which batches, for new markets.
    function verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs, ProofContext[] calldata contexts)
        external
        view
        returns (bool[] memory valid)
    {
        uint256 n = proofs.length;
        if (publicInputs.length != n || contexts.length != n) {
            revert BatchLengthMismatch(publicInputs.length, n, contexts.length);
        }
        valid = new bool[](n);
        for (uint256 i; i < n; ++i) {
            if (proofs[i].length == PROOF_LENGTH && publicInputs[i].length == publicSignalCount * 32) {
                valid[i] = _verify(publicInputs[i], proofs[i]);
            }
        }
    }

    /// @dev The generated verifier's answer for a proof and public inputs of the right lengths.
    function _verify(bytes calldata publicInputs, bytes calldata proof) internal view returns (bool) {
        uint256 limit = verifyGasLimit;
        // 63/64 of what is left must still cover the cap, or an out-of-gas would read as an invalid proof.
        uint256 required = limit + limit / 63 + 5000;
        if (gasleft() < required) revert InsufficientGas(gasleft(), required);
        (bool ok, bytes memory ret) =
            groth16Verifier.staticcall{gas: limit}(abi.encodePacked(verifyProofSelector, proof, publicInputs));
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        uint256 n = publicSignalCount;
        if (publicInputs.length != n * 32) return false;
        for (uint256 i; i < n; ++i) {
            if (uint256(bytes32(publicInputs[i * 32:i * 32 + 32])) >= SCALAR_FIELD) return false;
        }
        return true;
    }
}
