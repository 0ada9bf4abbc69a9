// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using InvalidInputsLibrary for InvalidInputs global;

/// @notice What a prover's enclave signs (EIP-712 `InvalidInputs`, under the marketplace's domain) to attest that an
/// assigned request's inputs cannot be proven (IInputRejections.rejectInputs, served at the marketplace).
struct InvalidInputs {
    uint256 requestId;
    /// The request record's inputsDigest: keccak256(keccak256(public inputs) ‖ private-inputs digest).
    bytes32 inputsDigest;
}

/// @title InvalidInputsLibrary
/// @notice EIP-712 type string and struct hash of `InvalidInputs`.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library InvalidInputsLibrary {
    string internal constant INVALID_INPUTS_TYPE = "InvalidInputs(uint256 requestId,bytes32 inputsDigest)";
    /// keccak256(abi.encodePacked(INVALID_INPUTS_TYPE))
    bytes32 internal constant INVALID_INPUTS_TYPEHASH =
        0x69340c9ff6db6a46317e19db6b2f9678fa3bcb355e883d6236bbd269919dff14;

    /// @notice hashStruct(InvalidInputs).
    function hash(InvalidInputs memory x) internal pure returns (bytes32) {
        return keccak256(abi.encode(INVALID_INPUTS_TYPEHASH, x.requestId, x.inputsDigest));
    }
}
