// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using InvalidInputKeyLibrary for InvalidInputKey global;

/// @notice What a prover's enclave signs (EIP-712 `InvalidInputKey`, under the marketplace's domain) to attest that
/// the input key a requester released for a private fallback claim (IPrivateClaims.releaseInputKey) does not open the
/// request's private inputs: it unwraps under none of the enclave's keys, is not the data key the envelope commits
/// to, or does not decrypt the envelope under this request (IPrivateClaims.rejectInputKey).
/// @dev Binding the released bytes' hash (the one the marketplace recorded) keeps a prover's host from feeding its
/// enclave a key of its own making: the attestation holds only for the key the requester published.
struct InvalidInputKey {
    uint256 requestId;
    /// The request record's inputsDigest: keccak256(keccak256(public inputs) ‖ private-inputs digest).
    bytes32 inputsDigest;
    /// keccak256 of the input key the requester released (its InputKeyReleased `inputKey`).
    bytes32 inputKeyHash;
}

/// @title InvalidInputKeyLibrary
/// @notice EIP-712 type string and struct hash of `InvalidInputKey`.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library InvalidInputKeyLibrary {
    string internal constant INVALID_INPUT_KEY_TYPE =
        "InvalidInputKey(uint256 requestId,bytes32 inputsDigest,bytes32 inputKeyHash)";
    /// keccak256(abi.encodePacked(INVALID_INPUT_KEY_TYPE))
    bytes32 internal constant INVALID_INPUT_KEY_TYPEHASH =
        0x99156583c88afb9e12ed89431ae496786499806ffa3f2563e2c11dab94ae3b1d;

    /// @notice hashStruct(InvalidInputKey).
    function hash(InvalidInputKey memory x) internal pure returns (bytes32) {
        return keccak256(abi.encode(INVALID_INPUT_KEY_TYPEHASH, x.requestId, x.inputsDigest, x.inputKeyHash));
    }
}
