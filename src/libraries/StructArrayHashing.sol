// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title StructArrayHashing
/// @notice EIP-712 encodeData of an array of structs: keccak256 of its elements' hashStruct, concatenated in order.
/// Each signed type's library hashes its elements (src/types/*.sol: `hashArray`) and hands the hashes here.
library StructArrayHashing {
    /// @notice keccak256 of `structHashes` as one packed run of words: `keccak256(abi.encodePacked(structHashes))`.
    /// @dev Hashes the array's words where they are, past its length word: abi.encodePacked would first copy them
    /// to fresh memory (a word each, plus the memory it grows), for the same result.
    function hash(bytes32[] memory structHashes) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            result := keccak256(add(structHashes, 0x20), shl(5, mload(structHashes)))
        }
    }
}
