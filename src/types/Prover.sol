// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A registered prover machine: one slot.
struct Prover {
    /// Receives the prover's earnings.
    address rewardAddress;
    /// Declared compute units, shared by every market the prover is listed in.
    uint32 capacity;
    /// Compute units held by assigned, unfinished tasks.
    uint32 computeInUse;
    /// Number of markets the prover is listed in (active or leaving).
    uint16 listings;
    bool registered;
}

enum ListingState {
    None,
    Active,
    Leaving
}

/// @notice A prover's offer in one market: one slot.
struct Listing {
    /// Price per proof, in the market's payment token.
    uint96 price;
    /// Seconds the prover needs per proof.
    uint32 provingTime;
    /// Compute units one request of this market holds while assigned.
    uint32 computePerRequest;
    /// When a leave was requested: the time the prover may complete it.
    uint32 leaveAvailableAt;
    ListingState state;
}
