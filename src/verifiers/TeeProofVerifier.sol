// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {ITeeRegistry, TeeRole} from "../attestation/interfaces/ITeeRegistry.sol";

/// @title TeeProofVerifier
/// @notice A market's verifier for TEE proofs: the market's program, run inside an attested enclave whose prover
/// key (registered for this market, so its measurement is one the market allows) signs the program's public values.
/// @dev One instance per market and program. Encodings:
/// - publicInputs: the program's public values (any bytes).
/// - proof: abi.encode(uint8 digestKind, bytes32 programId, bytes signature) with a 65-byte r‖s‖v signature.
///   digestKind 0 (EIP-712): TeeProof(bytes32 programId,bytes32 publicValuesHash) under this contract's domain, so
///   the signature binds the program, the chain and this verifier. digestKind 1 (sp1-tee-prover compatible):
///   keccak256(sha256(programId ‖ publicValues)) — it does not bind chain or verifier, so only enclaves whose
///   measurement the market allows can produce it, and the program id must still be this market's.
contract TeeProofVerifier is IProofVerifier, EIP712 {
    error ZeroAddress();
    error WrongProgram(bytes32 expected, bytes32 found);
    error UnknownDigestKind(uint8 kind);

    bytes32 public constant TEE_PROOF_TYPEHASH = keccak256("TeeProof(bytes32 programId,bytes32 publicValuesHash)");
    uint8 public constant DIGEST_EIP712 = 0;
    uint8 public constant DIGEST_SP1_TEE = 1;

    ITeeRegistry public immutable registry;
    uint256 public immutable marketId;
    /// @notice The program this market proves (e.g. a WASM module hash or a zkVM verifying key).
    bytes32 public immutable programId;

    constructor(ITeeRegistry registry_, uint256 marketId_, bytes32 programId_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
        marketId = marketId_;
        programId = programId_;
    }

    /// @inheritdoc IProofVerifier
    /// @dev Reverts on a malformed proof, a foreign program or an unknown digest kind; false for a signature that
    /// does not recover to an active prover key of this market.
    function verify(bytes calldata publicInputs, bytes calldata proof) external view returns (bool) {
        (uint8 kind, bytes32 program, bytes memory signature) = abi.decode(proof, (uint8, bytes32, bytes));
        if (program != programId) revert WrongProgram(programId, program);
        address signer = ECDSA.tryRecover(digest(kind, publicInputs), signature);
        return signer != address(0) && registry.isActive(TeeRole.Prover, marketId, signer);
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata) external pure returns (bool) {
        return true;
    }

    /// @notice The digest an enclave signs for `publicValues`, in the given form.
    function digest(uint8 kind, bytes calldata publicValues) public view returns (bytes32) {
        if (kind == DIGEST_EIP712) {
            return _hashTypedData(keccak256(abi.encode(TEE_PROOF_TYPEHASH, programId, keccak256(publicValues))));
        }
        if (kind == DIGEST_SP1_TEE) {
            return keccak256(abi.encodePacked(sha256(abi.encodePacked(programId, publicValues))));
        }
        revert UnknownDigestKind(kind);
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn TeeProofVerifier", "1");
    }
}
