// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";

/// @notice ECDSA signatures as the contracts take them (r ‖ s ‖ v), for tests and invariant handlers alike.
abstract contract Signing is CommonBase {
    function _signature(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// Signatures of two keys over `digest`, in this order.
    function _twoSignatures(bytes32 digest, uint256 first, uint256 second) internal pure returns (bytes[] memory sigs) {
        sigs = new bytes[](2);
        (sigs[0], sigs[1]) = (_signature(first, digest), _signature(second, digest));
    }
}
