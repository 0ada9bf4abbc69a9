// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using TeeProofLibrary for TeeProof global;

/// @notice What a prover's enclave signs as a TEE proof (EIP-712 `TeeProof`, under the market's TeeProofVerifier's
/// domain): this program, run on this request's inputs for its assigned prover, output values hashing to
/// `publicValuesHash`. The domain binds the chain and the verifier; the message the marketplace, the request, the
/// prover and the inputs, so a proof fulfils exactly one request.
struct TeeProof {
    address marketplace;
    uint256 requestId;
    /// The prover the request is assigned to: the signing key must be one of its enclave keys in the market.
    address prover;
    /// The request's inputsDigest, which the enclave recomputes from the bytes it evaluated.
    bytes32 inputsDigest;
    bytes32 programId;
    /// keccak256 of the program's public values (the fulfilment's publicInputs).
    bytes32 publicValuesHash;
}

/// @title TeeProofLibrary
/// @notice EIP-712 type string and struct hash of `TeeProof`.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library TeeProofLibrary {
    string internal constant TEE_PROOF_TYPE =
        "TeeProof(address marketplace,uint256 requestId,address prover,bytes32 inputsDigest,bytes32 programId,bytes32 publicValuesHash)";
    /// keccak256(abi.encodePacked(TEE_PROOF_TYPE))
    bytes32 internal constant TEE_PROOF_TYPEHASH = 0x6ad4d509775435238968a0b968ecfe681875277e57c61e70d39f657743e65536;

    /// @notice hashStruct(TeeProof).
    function hash(TeeProof memory x) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TEE_PROOF_TYPEHASH,
                x.marketplace,
                x.requestId,
                x.prover,
                x.inputsDigest,
                x.programId,
                x.publicValuesHash
            )
        );
    }
}
