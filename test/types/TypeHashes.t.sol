// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {TypedDataHarness} from "../utils/TypedDataHarness.sol";

/// @notice The type libraries write their typehashes out as literals (solc would hash a composed type string at run
/// time): each must be keccak256 of its type's encodeType, composed from the libraries' type strings.
contract TypeHashesTest is Test {
    function test_everyTypehashIsTheHashOfItsEncodeType() public {
        TypedDataHarness.TypeDefinition[] memory types = new TypedDataHarness().types();
        for (uint256 i; i < types.length; ++i) {
            assertEq(keccak256(bytes(types[i].encodeType)), types[i].typehash, types[i].primaryType);
        }
    }
}
