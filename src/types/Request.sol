// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Inputs of a request: inline bytes, or a digest plus a URI when they are too large for calldata.
/// @dev `digest` is keccak256 of the full input bytes. With inline `data` it may be left zero (it is computed).
struct Inputs {
    bytes data;
    string uri;
    bytes32 digest;
}

/// @notice What a requester posts.
struct RequestParams {
    uint32 marketId;
    /// Escrowed in full; the prover is paid its listed price and the rest is refunded.
    uint96 maxReward;
    /// Seconds the assigned prover gets from assignment to proof.
    uint32 provingTime;
    /// Unix time after which the request can no longer be assigned (and can be cancelled if unassigned).
    uint32 matchingExpiry;
    /// Unix time after which a proof is worthless to the requester; no task runs past it.
    uint32 deadline;
    /// Price-vs-time preference for the matcher: 0 = cheapest prover, 10_000 = fastest prover.
    uint16 speedPreferenceBps;
    /// Receives refunds and slash compensation.
    address refundAddress;
    Inputs publicInputs;
    /// Optional ciphertext of private inputs (all fields empty when the request has none).
    Inputs privateInputs;
}

/// @notice Life of a request. `Open` past its matching expiry and `Assigned` past its task deadline are derived
/// states (see ProofMarketplace.requestState) that only change storage when someone acts on them.
enum RequestStatus {
    None,
    Open,
    Assigned,
    Fulfilled,
    Slashed,
    Cancelled
}

/// @notice A request as stored: three slots written once at creation; slot 1 is updated as the request moves on.
/// slot 0: refundAddress | marketId | createdAt | deadline
/// slot 1: maxReward | provingTime | matchingExpiry | taskDeadline | compute | status
/// slot 2: inputsDigest = keccak256(keccak256(publicInputs) ‖ privateInputsDigest)
struct Request {
    address refundAddress;
    uint32 marketId;
    uint32 createdAt;
    uint32 deadline;
    uint96 maxReward;
    uint32 provingTime;
    /// Unix time after which the request can no longer be assigned.
    uint32 matchingExpiry;
    /// Set at assignment: the proof is due by then.
    uint32 taskDeadline;
    /// Set at assignment: the prover's compute the task holds.
    uint32 compute;
    RequestStatus status;
    bytes32 inputsDigest;
}

/// @notice The assignment of a request: one slot, written at assignment.
struct Task {
    address prover;
    /// The prover's listed price at assignment: what it is paid.
    uint96 price;
}

/// @notice One matcher decision.
struct Assignment {
    uint256 requestId;
    address prover;
}

/// @notice One proof of a batch.
struct Fulfilment {
    uint256 requestId;
    bytes publicInputs;
    bytes32 privateInputsDigest;
    bytes proof;
}

/// @notice A request's state as of now, derived from its stored status and the clock.
enum RequestState {
    None,
    /// Waiting for a prover.
    Open,
    /// Unassigned past its matching expiry; only cancellation is left.
    Expired,
    /// A prover is working on it.
    Assigned,
    /// Assigned past its task deadline; anyone may slash.
    DeadlineMissed,
    Fulfilled,
    Slashed,
    Cancelled
}
