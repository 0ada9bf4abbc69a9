// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Request, Task} from "../types/Request.sol";

/// @title IInputRejections
/// @notice Settling a task whose inputs the prover's enclave attests unprovable, served at the marketplace's address
/// by its module (like ISignedRequests and IPrivateClaims, whose `rejectInputKey` settles the same way for a released
/// key that does not open the inputs). Its errors and its event (InputsRejected) are IProofMarketplace's.
interface IInputRejections {
    /// @notice Settles an assigned request whose inputs the prover's enclave found unprovable (e.g. private inputs
    /// for which no witness exists): the assigned prover only, before the task deadline, with an EIP-712
    /// `InvalidInputs(uint256 requestId,bytes32 inputsDigest)` signature by an active enclave key of the task's
    /// prover in this market. The prover is paid its price for the check and its stake is released.
    function rejectInputs(uint256 requestId, Request calldata request, Task calldata task, bytes calldata signature)
        external;
}
