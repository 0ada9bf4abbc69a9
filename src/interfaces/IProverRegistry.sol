// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Listing, Prover} from "../types/Prover.sol";

/// @title IProverRegistry
/// @notice Prover machines, their shared compute capacity and their listings in markets.
interface IProverRegistry {
    error ZeroAddress();
    error ZeroCapacity();
    error AlreadyRegistered(address prover);
    error NotRegistered(address prover);
    error UnknownMarket(uint256 marketId);
    error AlreadyListed(address prover, uint256 marketId);
    error NotListed(address prover, uint256 marketId);
    error NotLeaving(address prover, uint256 marketId);
    error ListingLeaving(address prover, uint256 marketId);
    error LeaveNotYetAvailable(uint256 availableAt);
    error ZeroProvingTime();
    error ZeroCompute();
    error ComputeExceedsCapacity(uint32 computePerRequest, uint32 capacity);
    error ProverHasListings(uint16 listings);
    error ProverBusy(uint32 computeInUse);
    error InsufficientCapacity(uint32 available, uint32 required);
    error NotMarketplace();
    error PriceAboveMaxReward(uint96 price, uint96 maxReward);
    error ProvingTimeExceedsRequest(uint32 listedProvingTime, uint32 requestProvingTime);

    event ProverRegistered(address indexed prover, address rewardAddress, uint32 capacity);
    event ProverDeregistered(address indexed prover);
    event RewardAddressUpdated(address indexed prover, address rewardAddress);
    event CapacityUpdated(address indexed prover, uint32 capacity);
    event Listed(
        address indexed prover, uint256 indexed marketId, uint96 price, uint32 provingTime, uint32 computePerRequest
    );
    event ListingUpdated(
        address indexed prover, uint256 indexed marketId, uint96 price, uint32 provingTime, uint32 computePerRequest
    );
    event LeaveRequested(address indexed prover, uint256 indexed marketId, uint32 availableAt);
    event LeaveCancelled(address indexed prover, uint256 indexed marketId);
    event Delisted(address indexed prover, uint256 indexed marketId);

    /// @notice Registers msg.sender as a prover machine.
    /// @param rewardAddress Receives earnings.
    /// @param capacity Compute units the machine offers across all its markets.
    function register(address rewardAddress, uint32 capacity) external;

    /// @notice Removes msg.sender's registration; it must have no listings and no running task.
    function deregister() external;

    /// @notice Changes where msg.sender's future earnings go.
    function setRewardAddress(address rewardAddress) external;

    /// @notice Changes msg.sender's declared capacity; tasks already running keep their compute.
    function setCapacity(uint32 capacity) external;

    /// @notice Lists msg.sender in a market.
    /// @param price Price per proof, in the market's payment token.
    /// @param provingTime Seconds the prover needs per proof.
    /// @param computePerRequest Compute units held per assigned request of this market.
    function list(uint256 marketId, uint96 price, uint32 provingTime, uint32 computePerRequest) external;

    /// @notice Changes msg.sender's offer in a market; applies to assignments from now on.
    function updateListing(uint256 marketId, uint96 price, uint32 provingTime, uint32 computePerRequest) external;

    /// @notice Stops new assignments in a market at once; the listing is removed after the exit delay.
    function requestLeave(uint256 marketId) external;

    /// @notice Returns a leaving listing to active.
    function cancelLeave(uint256 marketId) external;

    /// @notice Removes a leaving listing once its exit delay has passed.
    function completeLeave(uint256 marketId) external;

    /// @notice Reserves capacity for one task of `marketId` if the prover's offer fits the request; marketplace only.
    /// @param maxPrice The request's max reward: the listed price must not exceed it.
    /// @param maxProvingTime The request's proving time: the listed proving time must not exceed it.
    /// @return price The prover's listed price.
    /// @return provingTime The prover's listed proving time.
    /// @return compute Compute units reserved (returned by `release`).
    function reserve(address prover, uint256 marketId, uint96 maxPrice, uint32 maxProvingTime)
        external
        returns (uint96 price, uint32 provingTime, uint32 compute);

    /// @notice Frees the capacity of an ended task; marketplace only.
    /// @return rewardAddress Where the prover's earnings go.
    function release(address prover, uint32 compute) external returns (address rewardAddress);

    /// @notice A prover's registration.
    function prover(address prover) external view returns (Prover memory);

    /// @notice A prover's listing in a market.
    function listing(address prover, uint256 marketId) external view returns (Listing memory);

    /// @notice Whether a task of `marketId` could be reserved for `prover` now.
    function isAvailable(address prover, uint256 marketId) external view returns (bool);
}
