// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using InputsLibrary for Inputs global;

/// @notice Inputs of a request: inline bytes, or a digest plus a URI when they are too large for calldata.
/// @dev `digest` is keccak256 of the full input bytes. With inline `data` it may be left zero (it is computed).
struct Inputs {
    bytes data;
    string uri;
    bytes32 digest;
}

/// @title InputsLibrary
/// @notice EIP-712 type string and struct hash of `Inputs`, as a member of a signed request (types/SignedRequest.sol).
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library InputsLibrary {
    string internal constant INPUTS_TYPE = "Inputs(bytes data,string uri,bytes32 digest)";
    /// keccak256(abi.encodePacked(INPUTS_TYPE))
    bytes32 internal constant INPUTS_TYPEHASH = 0x50cd62bb2f9a8abed7539055f8b02d676b34b9ccae340f02669d3f165b893fd9;

    /// @notice hashStruct(Inputs).
    function hash(Inputs calldata x) internal pure returns (bytes32) {
        return keccak256(abi.encode(INPUTS_TYPEHASH, keccak256(x.data), keccak256(bytes(x.uri)), x.digest));
    }
}
