// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofMarketplace} from "../interfaces/IProofMarketplace.sol";
import {Clock} from "../libraries/Clock.sol";
import {RequestCommitment} from "../libraries/RequestCommitment.sol";
import {Request, RequestState, RequestStatus, Task} from "../types/Request.sol";

/// @title RequestLens
/// @notice Read-only views over a marketplace's requests that need more than its storage: the time-derived states
/// (Expired, DeadlineMissed) checked against the caller's records. Kept out of the marketplace to leave its
/// bytecode room under EIP-170.
contract RequestLens {
    error ZeroAddress();

    IProofMarketplace public immutable marketplace;

    constructor(IProofMarketplace marketplace_) {
        if (address(marketplace_) == address(0)) revert ZeroAddress();
        marketplace = marketplace_;
    }

    /// @notice A request's state as of now, including the time-derived Expired and DeadlineMissed; reverts with
    /// RecordMismatch when the records are not the request's (pass an all-zero task while it is unassigned).
    /// @param request The request's record, as emitted in RequestCreated.
    /// @param task The task's record, as emitted in TaskAssigned (all zero while unassigned).
    function requestState(uint256 requestId, Request calldata request, Task calldata task)
        external
        view
        returns (RequestState)
    {
        bytes32 commitment = marketplace.requestCommitment(requestId);
        RequestStatus status = RequestCommitment.status(commitment);
        if (status == RequestStatus.Open) {
            if (commitment != RequestCommitment.open(request)) revert IProofMarketplace.RecordMismatch(requestId);
            return Clock.timestamp() > request.matchingExpiry ? RequestState.Expired : RequestState.Open;
        }
        if (status == RequestStatus.Assigned) {
            if (commitment != RequestCommitment.assigned(request, task)) {
                revert IProofMarketplace.RecordMismatch(requestId);
            }
            return Clock.timestamp() > task.deadline ? RequestState.DeadlineMissed : RequestState.Assigned;
        }
        if (status == RequestStatus.Fulfilled) return RequestState.Fulfilled;
        if (status == RequestStatus.Slashed) return RequestState.Slashed;
        if (status == RequestStatus.Cancelled) return RequestState.Cancelled;
        if (status == RequestStatus.InputsRejected) return RequestState.InputsRejected;
        return RequestState.None;
    }
}
