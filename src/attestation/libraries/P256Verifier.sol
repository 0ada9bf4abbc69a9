// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title P256Verifier
/// @notice ECDSA P-256 signature checks through the EIP-7951 precompile at 0x100 (osaka; RIP-7212 on L2s).
/// @dev The precompile returns 32 bytes of 1 for a valid signature and nothing otherwise. Empty output is an invalid
/// signature, not an error; on a chain without the precompile every check fails closed the same way.
library P256Verifier {
    address internal constant PRECOMPILE = address(0x100);

    /// @notice Whether (r, s) is a valid signature of `digest` by the public key (x, y).
    function verify(bytes32 digest, bytes32 r, bytes32 s, bytes32 x, bytes32 y) internal view returns (bool valid) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), r)
            mstore(add(m, 0x40), s)
            mstore(add(m, 0x60), x)
            mstore(add(m, 0x80), y)
            mstore(0x00, 0)
            let ok := staticcall(gas(), 0x100, m, 0xa0, 0x00, 0x20)
            valid := and(ok, and(eq(returndatasize(), 0x20), eq(mload(0x00), 1)))
        }
    }
}
