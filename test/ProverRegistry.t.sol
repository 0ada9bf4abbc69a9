// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CairnTest} from "./utils/CairnTest.sol";
import {ProverRegistry} from "../src/ProverRegistry.sol";
import {IProverRegistry} from "../src/interfaces/IProverRegistry.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {Listing, ListingState, Prover} from "../src/types/Prover.sol";

contract ProverRegistryTest is CairnTest {
    uint32 internal constant CAPACITY = 4;

    // ---------------------------------------------------------------- helpers

    function _reserve(address who, uint256 id) internal returns (uint96, uint32, uint32) {
        vm.prank(address(marketplace));
        return registry.reserve(who, id, MAX_REWARD, PROVING_TIME);
    }

    function _release(address who, uint32 compute) internal returns (address) {
        vm.prank(address(marketplace));
        return registry.release(who, compute);
    }

    function _expectReserveRevert(address who, uint256 id, bytes memory err) internal {
        vm.prank(address(marketplace));
        vm.expectRevert(err);
        registry.reserve(who, id, MAX_REWARD, PROVING_TIME);
    }

    function _registeredAndListed() internal {
        _registerProver(prover, CAPACITY);
        _list(prover, marketId, PRICE, LISTED_TIME, 1);
    }

    function _assertListing(
        address who,
        uint256 id,
        uint96 price,
        uint32 provingTime,
        uint32 compute,
        uint32 leaveAt,
        ListingState state
    ) internal view {
        Listing memory l = registry.listing(who, id);
        assertEq(l.price, price, "price");
        assertEq(l.provingTime, provingTime, "provingTime");
        assertEq(l.computePerRequest, compute, "compute");
        assertEq(l.leaveAvailableAt, leaveAt, "leaveAvailableAt");
        assertEq(uint8(l.state), uint8(state), "state");
    }

    // ---------------------------------------------------------------- constructor

    function test_Constructor() public view {
        assertEq(address(registry.marketplace()), address(marketplace));
        assertEq(registry.exitDelay(), EXIT_DELAY);
    }

    function test_RevertWhen_ConstructorZeroMarketplace() public {
        vm.expectRevert(IProverRegistry.ZeroAddress.selector);
        new ProverRegistry(IProofMarketplace(address(0)), EXIT_DELAY);
    }

    // ---------------------------------------------------------------- register

    function test_Register() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.ProverRegistered(prover, proverRewards, CAPACITY);
        vm.prank(prover);
        registry.register(proverRewards, CAPACITY);

        Prover memory p = registry.prover(prover);
        assertEq(p.rewardAddress, proverRewards);
        assertEq(p.capacity, CAPACITY);
        assertEq(p.computeInUse, 0);
        assertEq(p.listings, 0);
        assertTrue(p.registered);
    }

    function test_RevertWhen_RegisterZeroRewardAddress() public {
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroAddress.selector);
        registry.register(address(0), CAPACITY);
    }

    function test_RevertWhen_RegisterZeroCapacity() public {
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroCapacity.selector);
        registry.register(proverRewards, 0);
    }

    function test_RevertWhen_RegisterTwice() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.AlreadyRegistered.selector, prover));
        registry.register(proverRewards, CAPACITY);
    }

    // ---------------------------------------------------------------- deregister

    function test_Deregister() public {
        _registerProver(prover, CAPACITY);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.ProverDeregistered(prover);
        vm.prank(prover);
        registry.deregister();

        Prover memory p = registry.prover(prover);
        assertFalse(p.registered);
        assertEq(p.rewardAddress, address(0));
        assertEq(p.capacity, 0);

        // Registering again is allowed after deregistering.
        _registerProver(prover, 1);
        assertTrue(registry.prover(prover).registered);
    }

    function test_RevertWhen_DeregisterNotRegistered() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, stranger));
        registry.deregister();
    }

    function test_RevertWhen_DeregisterWithListings() public {
        _registeredAndListed();
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.ProverHasListings.selector, uint16(1)));
        registry.deregister();
    }

    function test_RevertWhen_DeregisterWhileLeaving() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        // A leaving listing still counts.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.ProverHasListings.selector, uint16(1)));
        registry.deregister();
    }

    function test_RevertWhen_DeregisterWhileBusy() public {
        _registeredAndListed();
        _reserve(prover, marketId);
        vm.prank(prover);
        registry.requestLeave(marketId);
        vm.warp(block.timestamp + EXIT_DELAY);
        vm.prank(prover);
        registry.completeLeave(marketId);
        assertEq(registry.prover(prover).listings, 0);

        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.ProverBusy.selector, uint32(1)));
        registry.deregister();

        // Once the running task ends the prover may leave.
        _release(prover, 1);
        vm.prank(prover);
        registry.deregister();
        assertFalse(registry.prover(prover).registered);
    }

    // ---------------------------------------------------------------- setRewardAddress / setCapacity

    function test_SetRewardAddress() public {
        _registerProver(prover, CAPACITY);
        address next = makeAddr("nextRewards");
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.RewardAddressUpdated(prover, next);
        vm.prank(prover);
        registry.setRewardAddress(next);
        assertEq(registry.prover(prover).rewardAddress, next);
    }

    function test_RevertWhen_SetRewardAddressZero() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroAddress.selector);
        registry.setRewardAddress(address(0));
    }

    function test_RevertWhen_SetRewardAddressNotRegistered() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, stranger));
        registry.setRewardAddress(stranger);
    }

    function test_SetCapacity() public {
        _registerProver(prover, CAPACITY);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.CapacityUpdated(prover, 9);
        vm.prank(prover);
        registry.setCapacity(9);
        assertEq(registry.prover(prover).capacity, 9);
    }

    function test_RevertWhen_SetCapacityZero() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroCapacity.selector);
        registry.setCapacity(0);
    }

    function test_RevertWhen_SetCapacityNotRegistered() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, stranger));
        registry.setCapacity(1);
    }

    // ---------------------------------------------------------------- list

    function test_List() public {
        _registerProver(prover, CAPACITY);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.Listed(prover, marketId, PRICE, LISTED_TIME, 2);
        vm.prank(prover);
        registry.list(marketId, PRICE, LISTED_TIME, 2);

        _assertListing(prover, marketId, PRICE, LISTED_TIME, 2, 0, ListingState.Active);
        assertEq(registry.prover(prover).listings, 1);
        assertTrue(registry.isAvailable(prover, marketId));
    }

    function test_ListInTwoMarketsCountsBoth() public {
        uint256 second = marketplace.createMarket(_marketParams());
        _registeredAndListed();
        _list(prover, second, 0, 1, CAPACITY);
        assertEq(registry.prover(prover).listings, 2);
        // A zero price and a compute equal to the capacity are valid offers.
        _assertListing(prover, second, 0, 1, CAPACITY, 0, ListingState.Active);
    }

    function test_RevertWhen_ListNotRegistered() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, stranger));
        registry.list(marketId, PRICE, LISTED_TIME, 1);
    }

    function test_RevertWhen_ListUnknownMarket() public {
        _registerProver(prover, CAPACITY);
        uint256 unknown = marketId + 100;
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.UnknownMarket.selector, unknown));
        registry.list(unknown, PRICE, LISTED_TIME, 1);
    }

    function test_RevertWhen_ListAlreadyListed() public {
        _registeredAndListed();
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.AlreadyListed.selector, prover, marketId));
        registry.list(marketId, PRICE, LISTED_TIME, 1);
    }

    function test_RevertWhen_ListWhileLeaving() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.AlreadyListed.selector, prover, marketId));
        registry.list(marketId, PRICE, LISTED_TIME, 1);
    }

    function test_RevertWhen_ListZeroProvingTime() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroProvingTime.selector);
        registry.list(marketId, PRICE, 0, 1);
    }

    function test_RevertWhen_ListZeroCompute() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroCompute.selector);
        registry.list(marketId, PRICE, LISTED_TIME, 0);
    }

    function test_RevertWhen_ListComputeExceedsCapacity() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.ComputeExceedsCapacity.selector, CAPACITY + 1, CAPACITY));
        registry.list(marketId, PRICE, LISTED_TIME, CAPACITY + 1);
    }

    // ---------------------------------------------------------------- updateListing

    function test_UpdateListing() public {
        _registeredAndListed();
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.ListingUpdated(prover, marketId, 7e18, 120, 3);
        vm.prank(prover);
        registry.updateListing(marketId, 7e18, 120, 3);
        _assertListing(prover, marketId, 7e18, 120, 3, 0, ListingState.Active);
        assertEq(registry.prover(prover).listings, 1);

        // The new offer applies to the next reservation.
        (uint96 price, uint32 provingTime, uint32 compute) = _reserve(prover, marketId);
        assertEq(price, 7e18);
        assertEq(provingTime, 120);
        assertEq(compute, 3);
    }

    function test_UpdateListingWhileLeavingKeepsLeaving() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        uint32 at = uint32(block.timestamp) + EXIT_DELAY;
        vm.prank(prover);
        registry.updateListing(marketId, 1, 2, 3);
        _assertListing(prover, marketId, 1, 2, 3, at, ListingState.Leaving);
    }

    function test_RevertWhen_UpdateListingNotListed() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotListed.selector, prover, marketId));
        registry.updateListing(marketId, PRICE, LISTED_TIME, 1);
    }

    function test_RevertWhen_UpdateListingNotRegistered() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, stranger));
        registry.updateListing(marketId, PRICE, LISTED_TIME, 1);
    }

    function test_RevertWhen_UpdateListingZeroProvingTime() public {
        _registeredAndListed();
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroProvingTime.selector);
        registry.updateListing(marketId, PRICE, 0, 1);
    }

    function test_RevertWhen_UpdateListingZeroCompute() public {
        _registeredAndListed();
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.ZeroCompute.selector);
        registry.updateListing(marketId, PRICE, LISTED_TIME, 0);
    }

    function test_RevertWhen_UpdateListingComputeExceedsCapacity() public {
        _registeredAndListed();
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.ComputeExceedsCapacity.selector, CAPACITY + 1, CAPACITY));
        registry.updateListing(marketId, PRICE, LISTED_TIME, CAPACITY + 1);
    }

    // ---------------------------------------------------------------- leaving

    function test_RequestLeave() public {
        _registeredAndListed();
        uint32 at = uint32(block.timestamp) + EXIT_DELAY;
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.LeaveRequested(prover, marketId, at);
        vm.prank(prover);
        registry.requestLeave(marketId);

        _assertListing(prover, marketId, PRICE, LISTED_TIME, 1, at, ListingState.Leaving);
        assertFalse(registry.isAvailable(prover, marketId));
        // No new assignment in a leaving market, effective at once.
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.ListingLeaving.selector, prover, marketId)
        );
    }

    function test_RevertWhen_RequestLeaveNotListed() public {
        _registerProver(prover, CAPACITY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotListed.selector, prover, marketId));
        registry.requestLeave(marketId);
    }

    function test_RevertWhen_RequestLeaveTwice() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotListed.selector, prover, marketId));
        registry.requestLeave(marketId);
    }

    function test_CancelLeave() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);

        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.LeaveCancelled(prover, marketId);
        vm.prank(prover);
        registry.cancelLeave(marketId);

        _assertListing(prover, marketId, PRICE, LISTED_TIME, 1, 0, ListingState.Active);
        assertTrue(registry.isAvailable(prover, marketId));
        _reserve(prover, marketId);
        assertEq(registry.prover(prover).computeInUse, 1);
    }

    function test_RevertWhen_CancelLeaveNotLeaving() public {
        _registeredAndListed();
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotLeaving.selector, prover, marketId));
        registry.cancelLeave(marketId);
    }

    function test_RevertWhen_CancelLeaveNotListed() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotLeaving.selector, stranger, marketId));
        registry.cancelLeave(marketId);
    }

    function test_CompleteLeave() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        uint256 at = block.timestamp + EXIT_DELAY;

        vm.warp(at - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.LeaveNotYetAvailable.selector, at));
        registry.completeLeave(marketId);

        vm.warp(at);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IProverRegistry.Delisted(prover, marketId);
        vm.prank(prover);
        registry.completeLeave(marketId);

        _assertListing(prover, marketId, 0, 0, 0, 0, ListingState.None);
        assertEq(registry.prover(prover).listings, 0);
        assertFalse(registry.isAvailable(prover, marketId));
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.NotListed.selector, prover, marketId)
        );

        // Without listings the prover can deregister.
        vm.prank(prover);
        registry.deregister();
        assertFalse(registry.prover(prover).registered);
    }

    function test_CompleteLeaveThenListAgain() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        vm.warp(block.timestamp + EXIT_DELAY);
        vm.prank(prover);
        registry.completeLeave(marketId);

        _list(prover, marketId, PRICE + 1, LISTED_TIME, 2);
        _assertListing(prover, marketId, PRICE + 1, LISTED_TIME, 2, 0, ListingState.Active);
        assertEq(registry.prover(prover).listings, 1);
    }

    function test_RevertWhen_CompleteLeaveNotYetAvailable() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        uint256 at = block.timestamp + EXIT_DELAY;
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.LeaveNotYetAvailable.selector, at));
        registry.completeLeave(marketId);
    }

    function test_RevertWhen_CompleteLeaveNotLeaving() public {
        _registeredAndListed();
        vm.warp(block.timestamp + EXIT_DELAY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotLeaving.selector, prover, marketId));
        registry.completeLeave(marketId);
    }

    function test_RevertWhen_CompleteLeaveAfterCancel() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        vm.prank(prover);
        registry.cancelLeave(marketId);
        vm.warp(block.timestamp + EXIT_DELAY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotLeaving.selector, prover, marketId));
        registry.completeLeave(marketId);
    }

    // ---------------------------------------------------------------- reserve

    function test_Reserve() public {
        _registeredAndListed();
        (uint96 price, uint32 provingTime, uint32 compute) = _reserve(prover, marketId);
        assertEq(price, PRICE);
        assertEq(provingTime, LISTED_TIME);
        assertEq(compute, 1);
        assertEq(registry.prover(prover).computeInUse, 1);
    }

    function test_ReserveAtExactBounds() public {
        _registerProver(prover, CAPACITY);
        _list(prover, marketId, MAX_REWARD, PROVING_TIME, CAPACITY);
        (uint96 price, uint32 provingTime, uint32 compute) = _reserve(prover, marketId);
        assertEq(price, MAX_REWARD);
        assertEq(provingTime, PROVING_TIME);
        assertEq(compute, CAPACITY);
        assertEq(registry.prover(prover).computeInUse, CAPACITY);
        assertFalse(registry.isAvailable(prover, marketId));
    }

    function test_RevertWhen_ReserveNotMarketplace() public {
        _registeredAndListed();
        vm.prank(stranger);
        vm.expectRevert(IProverRegistry.NotMarketplace.selector);
        registry.reserve(prover, marketId, MAX_REWARD, PROVING_TIME);
    }

    function test_RevertWhen_ReserveNotListed() public {
        _registerProver(prover, CAPACITY);
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.NotListed.selector, prover, marketId)
        );
    }

    function test_RevertWhen_ReserveListingLeaving() public {
        _registeredAndListed();
        vm.prank(prover);
        registry.requestLeave(marketId);
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.ListingLeaving.selector, prover, marketId)
        );
    }

    function test_RevertWhen_ReservePriceAboveMaxReward() public {
        _registerProver(prover, CAPACITY);
        _list(prover, marketId, MAX_REWARD + 1, LISTED_TIME, 1);
        _expectReserveRevert(
            prover,
            marketId,
            abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, MAX_REWARD + 1, MAX_REWARD)
        );
    }

    function test_RevertWhen_ReserveProvingTimeExceedsRequest() public {
        _registerProver(prover, CAPACITY);
        _list(prover, marketId, PRICE, PROVING_TIME + 1, 1);
        _expectReserveRevert(
            prover,
            marketId,
            abi.encodeWithSelector(IProverRegistry.ProvingTimeExceedsRequest.selector, PROVING_TIME + 1, PROVING_TIME)
        );
    }

    function test_RevertWhen_ReserveInsufficientCapacity() public {
        _registerProver(prover, 3);
        _list(prover, marketId, PRICE, LISTED_TIME, 2);
        _reserve(prover, marketId);
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 1, 2)
        );
        assertEq(registry.prover(prover).computeInUse, 2);
    }

    function test_RevertWhen_ReserveAfterCapacityLoweredBelowComputeInUse() public {
        _registerProver(prover, 3);
        _list(prover, marketId, PRICE, LISTED_TIME, 1);
        _reserve(prover, marketId);
        _reserve(prover, marketId);

        // Running tasks keep their compute; the machine now holds more than it declares.
        vm.prank(prover);
        registry.setCapacity(1);
        assertEq(registry.prover(prover).computeInUse, 2);
        assertFalse(registry.isAvailable(prover, marketId));
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 0, 1)
        );

        // Capacity lowered exactly to what is in use: still no room.
        vm.prank(prover);
        registry.setCapacity(2);
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 0, 1)
        );

        _release(prover, 1);
        _release(prover, 1);
        assertTrue(registry.isAvailable(prover, marketId));
        _reserve(prover, marketId);
    }

    // ---------------------------------------------------------------- release

    function test_Release() public {
        _registeredAndListed();
        _reserve(prover, marketId);
        _reserve(prover, marketId);
        assertEq(_release(prover, 1), proverRewards);
        assertEq(registry.prover(prover).computeInUse, 1);
        assertEq(_release(prover, 1), proverRewards);
        assertEq(registry.prover(prover).computeInUse, 0);
    }

    function test_ReleaseReturnsCurrentRewardAddress() public {
        _registeredAndListed();
        _reserve(prover, marketId);
        address next = makeAddr("nextRewards");
        vm.prank(prover);
        registry.setRewardAddress(next);
        assertEq(_release(prover, 1), next);
    }

    function test_ReleaseFreesCapacity() public {
        _registerProver(prover, 1);
        _list(prover, marketId, PRICE, LISTED_TIME, 1);
        _reserve(prover, marketId);
        assertFalse(registry.isAvailable(prover, marketId));
        _expectReserveRevert(
            prover, marketId, abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 0, 1)
        );
        _release(prover, 1);
        assertTrue(registry.isAvailable(prover, marketId));
        _reserve(prover, marketId);
    }

    function test_RevertWhen_ReleaseNotMarketplace() public {
        _registeredAndListed();
        _reserve(prover, marketId);
        vm.prank(prover);
        vm.expectRevert(IProverRegistry.NotMarketplace.selector);
        registry.release(prover, 1);
    }

    // ---------------------------------------------------------------- isAvailable / views

    function test_IsAvailable() public {
        assertFalse(registry.isAvailable(prover, marketId), "unregistered");
        _registerProver(prover, 2);
        assertFalse(registry.isAvailable(prover, marketId), "not listed");
        _list(prover, marketId, PRICE, LISTED_TIME, 2);
        assertTrue(registry.isAvailable(prover, marketId), "listed, idle");
        assertFalse(registry.isAvailable(prover, marketId + 1), "other market");
        _reserve(prover, marketId);
        assertFalse(registry.isAvailable(prover, marketId), "full");
        _release(prover, 2);
        assertTrue(registry.isAvailable(prover, marketId), "released");
        vm.prank(prover);
        registry.requestLeave(marketId);
        assertFalse(registry.isAvailable(prover, marketId), "leaving");
    }

    function test_IsAvailablePartialRoom() public {
        _registerProver(prover, 3);
        _list(prover, marketId, PRICE, LISTED_TIME, 2);
        _reserve(prover, marketId);
        // One unit free, but a request of this market needs two.
        assertFalse(registry.isAvailable(prover, marketId));
    }

    function test_ViewsOfUnknownProver() public view {
        Prover memory p = registry.prover(stranger);
        assertFalse(p.registered);
        assertEq(p.capacity, 0);
        _assertListing(stranger, marketId, 0, 0, 0, 0, ListingState.None);
    }

    // ---------------------------------------------------------------- shared capacity

    function test_SharedCapacityAcrossMarkets() public {
        uint256 second = marketplace.createMarket(_marketParams());
        _registerProver(prover, 2);
        _list(prover, marketId, PRICE, LISTED_TIME, 1);
        _list(prover, second, PRICE, LISTED_TIME, 1);

        _reserve(prover, marketId);
        assertTrue(registry.isAvailable(prover, second));
        _reserve(prover, second);
        assertEq(registry.prover(prover).computeInUse, 2);

        // Full: out of both markets.
        assertFalse(registry.isAvailable(prover, marketId));
        assertFalse(registry.isAvailable(prover, second));
        bytes memory full = abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 0, 1);
        _expectReserveRevert(prover, marketId, full);
        _expectReserveRevert(prover, second, full);

        // A task ending in one market frees room in both.
        _release(prover, 1);
        assertTrue(registry.isAvailable(prover, marketId));
        assertTrue(registry.isAvailable(prover, second));
        _reserve(prover, second);
        _expectReserveRevert(prover, marketId, full);
        _expectReserveRevert(prover, second, full);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_reserveRespectsCapacity(uint32 capacity, uint32 compute, uint8 n) public {
        capacity = uint32(bound(capacity, 1, type(uint32).max));
        // Keep floor(capacity / compute) small enough to loop over.
        compute = uint32(bound(compute, uint256(capacity) / 64 + 1, capacity));
        uint256 fits = capacity / compute;
        uint256 attempts = bound(n, 0, fits + 3);

        _registerProver(prover, capacity);
        _list(prover, marketId, PRICE, LISTED_TIME, compute);

        uint256 succeeded;
        for (uint256 i; i < attempts; ++i) {
            uint32 inUse = registry.prover(prover).computeInUse;
            vm.prank(address(marketplace));
            try registry.reserve(prover, marketId, MAX_REWARD, PROVING_TIME) returns (uint96, uint32, uint32 c) {
                assertEq(c, compute);
                ++succeeded;
            } catch (bytes memory why) {
                assertEq(
                    why,
                    abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, capacity - inUse, compute)
                );
            }
            assertLe(registry.prover(prover).computeInUse, capacity);
            assertEq(registry.isAvailable(prover, marketId), succeeded < fits);
        }
        assertEq(succeeded, attempts < fits ? attempts : fits);
        assertEq(registry.prover(prover).computeInUse, succeeded * compute);
    }

    function testFuzz_reserveChecksOffer(uint96 price, uint32 provingTime, uint96 maxPrice, uint32 maxProvingTime)
        public
    {
        provingTime = uint32(bound(provingTime, 1, type(uint32).max));
        _registerProver(prover, 1);
        _list(prover, marketId, price, provingTime, 1);
        vm.prank(address(marketplace));
        if (price > maxPrice) {
            vm.expectRevert(abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, price, maxPrice));
        } else if (provingTime > maxProvingTime) {
            vm.expectRevert(
                abi.encodeWithSelector(IProverRegistry.ProvingTimeExceedsRequest.selector, provingTime, maxProvingTime)
            );
        }
        registry.reserve(prover, marketId, maxPrice, maxProvingTime);
    }
}
