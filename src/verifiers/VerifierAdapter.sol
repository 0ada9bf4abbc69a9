// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {IVerifierAdapter} from "../interfaces/IVerifierAdapter.sol";
import {BatchLength} from "../libraries/BatchLength.sol";
import {ProofContext} from "../types/ProofContext.sol";

/// @title VerifierAdapter
/// @notice What every adapter over a generated verifier contract shares: the length checks, the field check of the
/// public inputs, the capped call and the reading of its answer. A proving system adds only how it encodes the
/// call (`_verifierCall`).
/// @dev The context is ignored: a proof proves its public statement whoever submits it, and anyone able to copy it
/// could equally have proven that statement; a circuit that must tie a proof to one request takes a public input the
/// request fixes (the Poseidon preimage circuits' `context`).
abstract contract VerifierAdapter is IVerifierAdapter {
    /// BN254 scalar field modulus: every public input must be below it.
    uint256 internal constant SCALAR_FIELD =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;

    /// @dev The generated verifier.
    address internal immutable _verifier;
    /// @dev The circuit's number of public inputs (32-byte words in `publicInputs`).
    uint256 internal immutable _publicInputWords;
    /// @inheritdoc IVerifierAdapter
    uint256 public immutable proofLength;
    /// @inheritdoc IVerifierAdapter
    uint256 public immutable verifyGasLimit;

    constructor(address verifier_, uint256 publicInputWords_, uint256 proofLength_, uint256 verifyGasLimit_) {
        if (verifier_ == address(0)) revert ZeroAddress();
        if (publicInputWords_ == 0) revert ZeroPublicInputs();
        if (proofLength_ == 0 || proofLength_ % 32 != 0) revert InvalidProofLength(proofLength_);
        if (verifyGasLimit_ == 0) revert ZeroVerifyGasLimit();
        _verifier = verifier_;
        _publicInputWords = publicInputWords_;
        proofLength = proofLength_;
        verifyGasLimit = verifyGasLimit_;
    }

    /// @inheritdoc IProofVerifier
    /// @dev Reverts MalformedProof / MalformedPublicInputs on wrong lengths (the proof's first), and
    /// IProofVerifier.InsufficientGas when the caller left too little gas to tell a bad proof from an interrupted
    /// check; false for any other failure, including a public input at or above the scalar field modulus.
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata)
        external
        view
        returns (bool)
    {
        if (proof.length != proofLength) revert MalformedProof(proof.length);
        if (publicInputs.length != _publicInputWords * 32) revert MalformedPublicInputs(publicInputs.length);
        return _verify(publicInputs, proof);
    }

    /// @inheritdoc IProofVerifier
    /// @dev One generated-verifier call per item: a generated verifier takes one proof, so nothing is shared. An item
    /// of the wrong lengths is false.
    function verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs, ProofContext[] calldata contexts)
        external
        view
        returns (bool[] memory valid)
    {
        uint256 n = BatchLength.check(publicInputs.length, proofs.length, contexts.length);
        valid = new bool[](n);
        for (uint256 i; i < n; ++i) {
            if (proofs[i].length == proofLength && publicInputs[i].length == _publicInputWords * 32) {
                valid[i] = _verify(publicInputs[i], proofs[i]);
            }
        }
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        return publicInputs.length == _publicInputWords * 32 && _inField(publicInputs);
    }

    /// @dev The calldata of the generated verifier's check of `proof` for `publicInputs`, both of the right lengths.
    function _verifierCall(bytes calldata publicInputs, bytes calldata proof)
        internal
        view
        virtual
        returns (bytes memory);

    /// @dev The generated verifier's answer for a proof and public inputs of the right lengths: true only for a
    /// call that succeeded and returned exactly the word 1 (both generated verifiers return a bool).
    function _verify(bytes calldata publicInputs, bytes calldata proof) internal view returns (bool) {
        if (!_inField(publicInputs)) return false;
        uint256 limit = verifyGasLimit;
        // 63/64 of what is left must still cover the cap, or an out-of-gas would read as an invalid proof.
        uint256 required = limit + limit / 63 + 5000;
        if (gasleft() < required) revert InsufficientGas(gasleft(), required);
        (bool ok, bytes memory ret) = _verifier.staticcall{gas: limit}(_verifierCall(publicInputs, proof));
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// @dev Whether every 32-byte word of `publicInputs` (a whole number of words) is below the scalar field modulus.
    /// Read word by word from calldata: checked slices cost more than the comparisons here.
    function _inField(bytes calldata publicInputs) internal pure returns (bool inField) {
        inField = true;
        assembly ("memory-safe") {
            let end := add(publicInputs.offset, publicInputs.length)
            for { let word := publicInputs.offset } lt(word, end) { word := add(word, 0x20) } {
                if iszero(lt(calldataload(word), SCALAR_FIELD)) {
                    inField := 0
                    break
                }
            }
        }
    }
}
