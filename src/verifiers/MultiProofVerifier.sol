// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {ProofContext} from "../types/ProofContext.sol";
import {BatchLength} from "../libraries/BatchLength.sol";

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
    /// @dev Splits every proof and hands each half to its verifier's verifyBatch, once per half: the ZK half gets the
    /// whole batch in one call (one multi-pairing with a Groth16BatchVerifier), the TEE half its own batching (one
    /// registry read per enclave key). A proof that does not split cleanly is false here (verify reports why).
    function verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs, ProofContext[] calldata contexts)
        external
        view
        returns (bool[] memory valid)
    {
        uint256 n = BatchLength.check(publicInputs.length, proofs.length, contexts.length);
        bytes[] memory zkProofs = new bytes[](n);
        bytes[] memory teeProofs = new bytes[](n);
        valid = new bool[](n);
        for (uint256 i; i < n; ++i) {
            bool ok;
            (ok, zkProofs[i], teeProofs[i]) = _split(proofs[i]);
            valid[i] = ok;
        }
        bool[] memory zkValid = zkVerifier.verifyBatch(publicInputs, zkProofs, contexts);
        bool[] memory teeValid = teeVerifier.verifyBatch(publicInputs, teeProofs, contexts);
        for (uint256 i; i < n; ++i) {
            valid[i] = valid[i] && i < zkValid.length && zkValid[i] && i < teeValid.length && teeValid[i];
        }
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        return zkVerifier.validatePublicInputs(publicInputs) && teeVerifier.validatePublicInputs(publicInputs);
    }

    /// @dev abi.decode(proof, (bytes, bytes)) without reverting: whether both offsets and lengths lie within `proof`.
    function _split(bytes calldata proof) internal pure returns (bool ok, bytes memory zkProof, bytes memory teeProof) {
        if (proof.length < 0x40) return (false, zkProof, teeProof);
        bytes calldata zk;
        bytes calldata tee;
        (ok, zk) = _member(proof, uint256(bytes32(proof[0:0x20])));
        if (!ok) return (false, zkProof, teeProof);
        (ok, tee) = _member(proof, uint256(bytes32(proof[0x20:0x40])));
        if (!ok) return (false, zkProof, teeProof);
        return (true, zk, tee);
    }

    /// @dev The `bytes` member at head offset `offset` of an ABI encoding, if it lies within `data`.
    function _member(bytes calldata data, uint256 offset) internal pure returns (bool, bytes calldata member) {
        member = data[0:0];
        if (offset > data.length || data.length - offset < 0x20) return (false, member);
        uint256 length = uint256(bytes32(data[offset:offset + 0x20]));
        if (length > data.length - offset - 0x20) return (false, member);
        return (true, data[offset + 0x20:offset + 0x20 + length]);
    }
}
