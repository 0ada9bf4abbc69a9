// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Inputs} from "./Inputs.sol";

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

/// @notice Life of a request, as stored. `Open` past its matching expiry and `Assigned` past its task deadline are
/// derived states (see ProofMarketplace.requestState) that only change storage when someone acts on them.
enum RequestStatus {
    None,
    Open,
    Assigned,
    Fulfilled,
    Slashed,
    Cancelled,
    /// The assigned prover's enclave attested that the inputs cannot be proven; the prover was paid for the check.
    InputsRejected
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
    Cancelled,
    InputsRejected
}

/// @notice What the marketplace needs of a request after posting it. It is not stored: storage keeps one slot per
/// request, its status and a hash of this record (and of its Task once assigned). Callers pass the record back,
/// as emitted in RequestCreated; the market is the request id's upper bits.
struct Request {
    address refundAddress;
    uint96 maxReward;
    uint32 createdAt;
    uint32 matchingExpiry;
    uint32 provingTime;
    /// keccak256(keccak256(publicInputs) ‖ privateInputsDigest)
    bytes32 inputsDigest;
}

/// @notice An assignment, as emitted in TaskAssigned and passed back with its request.
struct Task {
    address prover;
    /// The prover's listed price at assignment: what it is paid.
    uint96 price;
    /// Unix time the proof is due by.
    uint32 deadline;
    /// The prover's compute the task holds.
    uint32 compute;
}

/// @notice One matcher decision as submitted: the signed terms (an Assignment, types/Assignment.sol) plus the request
/// record it refers to. Input keys travel beside the batch (see ProofMarketplace.assign), so a batch without private
/// inputs stays all static data.
struct MatchedRequest {
    uint256 requestId;
    address prover;
    /// Signed: the listed price the matcher matched on.
    uint96 price;
    /// Signed: the listed proving time the matcher matched on.
    uint32 provingTime;
    Request request;
}

/// @notice A proof of an assigned request, with the records it refers to.
struct Fulfilment {
    uint256 requestId;
    Request request;
    Task task;
    bytes publicInputs;
    bytes32 privateInputsDigest;
    bytes proof;
}
