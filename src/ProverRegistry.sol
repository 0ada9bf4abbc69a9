// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProverRegistry} from "./interfaces/IProverRegistry.sol";
import {IProofMarketplace} from "./interfaces/IProofMarketplace.sol";
import {Clock} from "./libraries/Clock.sol";
import {Listing, ListingState, Prover} from "./types/Prover.sol";

/// @title ProverRegistry
/// @notice Prover machines and their offers. One machine lists in many markets and shares one compute capacity
/// between them: every assigned task holds its market's compute until it ends, and a prover without room for a
/// market's request is out of that market (and, when full, out of every market) until a task ends.
contract ProverRegistry is IProverRegistry {
    /// @notice Seconds between asking to leave a market and leaving it.
    uint32 public immutable exitDelay;
    /// @notice The marketplace, the only caller of reserve and release.
    IProofMarketplace public immutable marketplace;

    mapping(address prover => Prover) internal _provers;
    mapping(address prover => mapping(uint256 marketId => Listing)) internal _listings;

    /// @param marketplace_ The marketplace (its address may be precomputed: it is only called for market existence).
    /// @param exitDelay_ Seconds a listing stays in its leaving state before it can be removed.
    constructor(IProofMarketplace marketplace_, uint32 exitDelay_) {
        if (address(marketplace_) == address(0)) revert ZeroAddress();
        marketplace = marketplace_;
        exitDelay = exitDelay_;
    }

    modifier onlyMarketplace() {
        if (msg.sender != address(marketplace)) revert NotMarketplace();
        _;
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IProverRegistry
    function register(address rewardAddress, uint32 capacity) external {
        if (rewardAddress == address(0)) revert ZeroAddress();
        if (capacity == 0) revert ZeroCapacity();
        if (_provers[msg.sender].registered) revert AlreadyRegistered(msg.sender);
        _provers[msg.sender] =
            Prover({rewardAddress: rewardAddress, capacity: capacity, computeInUse: 0, listings: 0, registered: true});
        emit ProverRegistered(msg.sender, rewardAddress, capacity);
    }

    /// @inheritdoc IProverRegistry
    function deregister() external {
        Prover memory p = _registered(msg.sender);
        if (p.listings != 0) revert ProverHasListings(p.listings);
        if (p.computeInUse != 0) revert ProverBusy(p.computeInUse);
        delete _provers[msg.sender];
        emit ProverDeregistered(msg.sender);
    }

    /// @inheritdoc IProverRegistry
    function setRewardAddress(address rewardAddress) external {
        if (rewardAddress == address(0)) revert ZeroAddress();
        _registered(msg.sender);
        _provers[msg.sender].rewardAddress = rewardAddress;
        emit RewardAddressUpdated(msg.sender, rewardAddress);
    }

    /// @inheritdoc IProverRegistry
    function setCapacity(uint32 capacity) external {
        if (capacity == 0) revert ZeroCapacity();
        _registered(msg.sender);
        _provers[msg.sender].capacity = capacity;
        emit CapacityUpdated(msg.sender, capacity);
    }

    // ---------------------------------------------------------------- listings

    /// @inheritdoc IProverRegistry
    function list(uint256 marketId, uint96 price, uint32 provingTime, uint32 computePerRequest) external {
        Prover memory p = _registered(msg.sender);
        if (!marketplace.marketExists(marketId)) revert UnknownMarket(marketId);
        if (_listings[msg.sender][marketId].state != ListingState.None) revert AlreadyListed(msg.sender, marketId);
        _checkOffer(p, provingTime, computePerRequest);
        _listings[msg.sender][marketId] = Listing({
            price: price,
            provingTime: provingTime,
            computePerRequest: computePerRequest,
            leaveAvailableAt: 0,
            state: ListingState.Active
        });
        _provers[msg.sender].listings = p.listings + 1;
        emit Listed(msg.sender, marketId, price, provingTime, computePerRequest);
    }

    /// @inheritdoc IProverRegistry
    function updateListing(uint256 marketId, uint96 price, uint32 provingTime, uint32 computePerRequest) external {
        Prover memory p = _registered(msg.sender);
        Listing storage l = _listings[msg.sender][marketId];
        if (l.state == ListingState.None) revert NotListed(msg.sender, marketId);
        _checkOffer(p, provingTime, computePerRequest);
        l.price = price;
        l.provingTime = provingTime;
        l.computePerRequest = computePerRequest;
        emit ListingUpdated(msg.sender, marketId, price, provingTime, computePerRequest);
    }

    /// @inheritdoc IProverRegistry
    function requestLeave(uint256 marketId) external {
        Listing storage l = _listings[msg.sender][marketId];
        if (l.state != ListingState.Active) revert NotListed(msg.sender, marketId);
        uint32 availableAt = Clock.timestamp32() + exitDelay;
        l.state = ListingState.Leaving;
        l.leaveAvailableAt = availableAt;
        emit LeaveRequested(msg.sender, marketId, availableAt);
    }

    /// @inheritdoc IProverRegistry
    function cancelLeave(uint256 marketId) external {
        Listing storage l = _listings[msg.sender][marketId];
        if (l.state != ListingState.Leaving) revert NotLeaving(msg.sender, marketId);
        l.state = ListingState.Active;
        l.leaveAvailableAt = 0;
        emit LeaveCancelled(msg.sender, marketId);
    }

    /// @inheritdoc IProverRegistry
    function completeLeave(uint256 marketId) external {
        Listing memory l = _listings[msg.sender][marketId];
        if (l.state != ListingState.Leaving) revert NotLeaving(msg.sender, marketId);
        if (Clock.timestamp() < l.leaveAvailableAt) revert LeaveNotYetAvailable(l.leaveAvailableAt);
        delete _listings[msg.sender][marketId];
        _provers[msg.sender].listings -= 1;
        emit Delisted(msg.sender, marketId);
    }

    // ---------------------------------------------------------------- marketplace hooks

    /// @inheritdoc IProverRegistry
    function reserve(address prover_, uint256 marketId, uint96 maxPrice, uint32 maxProvingTime)
        external
        onlyMarketplace
        returns (uint96 price, uint32 provingTime, uint32 compute)
    {
        Listing memory l = _listings[prover_][marketId];
        if (l.state != ListingState.Active) {
            if (l.state == ListingState.Leaving) revert ListingLeaving(prover_, marketId);
            revert NotListed(prover_, marketId);
        }
        if (l.price > maxPrice) revert PriceAboveMaxReward(l.price, maxPrice);
        if (l.provingTime > maxProvingTime) revert ProvingTimeExceedsRequest(l.provingTime, maxProvingTime);
        Prover storage p = _provers[prover_];
        uint32 inUse = p.computeInUse;
        uint32 capacity = p.capacity;
        // A capacity lowered below the running tasks' compute leaves no room rather than underflowing.
        uint32 free = inUse >= capacity ? 0 : capacity - inUse;
        if (l.computePerRequest > free) revert InsufficientCapacity(free, l.computePerRequest);
        p.computeInUse = inUse + l.computePerRequest;
        return (l.price, l.provingTime, l.computePerRequest);
    }

    /// @inheritdoc IProverRegistry
    function release(address prover_, uint32 compute) external onlyMarketplace returns (address rewardAddress) {
        Prover storage p = _provers[prover_];
        // The marketplace only releases what it reserved, and a prover with compute in use cannot deregister.
        p.computeInUse -= compute;
        return p.rewardAddress;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProverRegistry
    function prover(address prover_) external view returns (Prover memory) {
        return _provers[prover_];
    }

    /// @inheritdoc IProverRegistry
    function listing(address prover_, uint256 marketId) external view returns (Listing memory) {
        return _listings[prover_][marketId];
    }

    /// @inheritdoc IProverRegistry
    function isAvailable(address prover_, uint256 marketId) external view returns (bool) {
        Listing memory l = _listings[prover_][marketId];
        Prover memory p = _provers[prover_];
        return l.state == ListingState.Active && p.computeInUse < p.capacity
            && l.computePerRequest <= p.capacity - p.computeInUse;
    }

    // ---------------------------------------------------------------- internal

    function _registered(address who) internal view returns (Prover memory p) {
        p = _provers[who];
        if (!p.registered) revert NotRegistered(who);
    }

    function _checkOffer(Prover memory p, uint32 provingTime, uint32 computePerRequest) internal pure {
        if (provingTime == 0) revert ZeroProvingTime();
        if (computePerRequest == 0) revert ZeroCompute();
        if (computePerRequest > p.capacity) revert ComputeExceedsCapacity(computePerRequest, p.capacity);
    }
}
