// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "solady/auth/Ownable.sol";
import {OwnedMatcherAuthority} from "../src/matching/OwnedMatcherAuthority.sol";

contract OwnedMatcherAuthorityTest is Test {
    OwnedMatcherAuthority internal authority;
    address internal owner = makeAddr("owner");
    address internal matcher = makeAddr("matcher");
    address internal stranger = makeAddr("stranger");

    function setUp() public {
        authority = new OwnedMatcherAuthority(owner);
    }

    function test_Constructor() public view {
        assertEq(authority.owner(), owner);
        assertFalse(authority.isMatcher(matcher));
    }

    function test_RevertWhen_ConstructorZeroOwner() public {
        vm.expectRevert(OwnedMatcherAuthority.ZeroAddress.selector);
        new OwnedMatcherAuthority(address(0));
    }

    function test_SetMatcher() public {
        vm.expectEmit(true, true, true, true, address(authority));
        emit OwnedMatcherAuthority.MatcherSet(matcher, true);
        vm.prank(owner);
        authority.setMatcher(matcher, true);
        assertTrue(authority.isMatcher(matcher));
        assertFalse(authority.isMatcher(stranger));
    }

    function test_SetMatcherRemoves() public {
        vm.prank(owner);
        authority.setMatcher(matcher, true);

        vm.expectEmit(true, true, true, true, address(authority));
        emit OwnedMatcherAuthority.MatcherSet(matcher, false);
        vm.prank(owner);
        authority.setMatcher(matcher, false);
        assertFalse(authority.isMatcher(matcher));
    }

    function test_SetMatcherSeveralKeys() public {
        address second = makeAddr("second");
        vm.startPrank(owner);
        authority.setMatcher(matcher, true);
        authority.setMatcher(second, true);
        authority.setMatcher(matcher, false);
        vm.stopPrank();
        assertFalse(authority.isMatcher(matcher));
        assertTrue(authority.isMatcher(second));
    }

    function test_RevertWhen_SetMatcherNotOwner() public {
        vm.prank(stranger);
        vm.expectRevert(Ownable.Unauthorized.selector);
        authority.setMatcher(matcher, true);
        assertFalse(authority.isMatcher(matcher));
    }

    function test_RevertWhen_SetMatcherZeroAddress() public {
        vm.prank(owner);
        vm.expectRevert(OwnedMatcherAuthority.ZeroAddress.selector);
        authority.setMatcher(address(0), true);
    }

    function test_OwnershipTransferMovesControl() public {
        address next = makeAddr("nextOwner");
        vm.prank(owner);
        authority.transferOwnership(next);
        assertEq(authority.owner(), next);

        vm.prank(owner);
        vm.expectRevert(Ownable.Unauthorized.selector);
        authority.setMatcher(matcher, true);

        vm.prank(next);
        authority.setMatcher(matcher, true);
        assertTrue(authority.isMatcher(matcher));
    }

    function testFuzz_RevertWhen_SetMatcherNotOwner(address caller, address who, bool authorised) public {
        vm.assume(caller != owner);
        vm.prank(caller);
        vm.expectRevert(Ownable.Unauthorized.selector);
        authority.setMatcher(who, authorised);
    }

    function testFuzz_setMatcher(address who, bool authorised) public {
        vm.assume(who != address(0));
        vm.prank(owner);
        authority.setMatcher(who, authorised);
        assertEq(authority.isMatcher(who), authorised);
    }
}
