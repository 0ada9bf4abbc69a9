// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {BatchLength} from "../src/libraries/BatchLength.sol";

/// @dev Calls the library externally, so a revert can be expected.
contract BatchLengthHarness {
    function check(uint256 publicInputs, uint256 proofs, uint256 contexts) external pure returns (uint256) {
        return BatchLength.check(publicInputs, proofs, contexts);
    }
}

contract BatchLengthTest is Test {
    BatchLengthHarness internal harness = new BatchLengthHarness();

    function testFuzz_check_returnsTheCommonLength(uint256 n) public view {
        assertEq(harness.check(n, n, n), n);
    }

    function testFuzz_check_revertsWithAllThreeLengthsUnlessEqual(uint256 a, uint256 b, uint256 c) public {
        vm.assume(a != b || b != c);
        vm.expectRevert(abi.encodeWithSelector(IProofVerifier.BatchLengthMismatch.selector, a, b, c));
        harness.check(a, b, c);
    }
}
