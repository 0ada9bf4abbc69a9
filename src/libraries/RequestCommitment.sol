// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Request, RequestStatus, Task} from "../types/Request.sol";

/// @title RequestCommitment
/// @notice The one storage slot of a request: its status in the top byte and, while the request is live, the low
/// 248 bits of a hash of its record (plus its task once assigned). Finished requests keep only their status.
/// @dev 248 bits leave 2^124 collision and 2^248 second-preimage resistance against forged records.
library RequestCommitment {
    uint256 private constant HASH_MASK = (1 << 248) - 1;

    /// @notice Commitment of an open request.
    function open(Request calldata request) internal pure returns (bytes32) {
        return _pack(RequestStatus.Open, keccak256(abi.encode(request)));
    }

    /// @notice Commitment of an open request being created.
    function openMemory(Request memory request) internal pure returns (bytes32) {
        return _pack(RequestStatus.Open, keccak256(abi.encode(request)));
    }

    /// @notice Commitment of an assigned request.
    function assigned(Request calldata request, Task memory task) internal pure returns (bytes32) {
        return _pack(RequestStatus.Assigned, keccak256(abi.encode(request, task)));
    }

    /// @notice Commitment of a request created and assigned in one step (a signed request in the matcher's batch).
    function assignedMemory(Request memory request, Task memory task) internal pure returns (bytes32) {
        return _pack(RequestStatus.Assigned, keccak256(abi.encode(request, task)));
    }

    /// @notice Commitment of a finished request: its status only.
    function finished(RequestStatus finalStatus) internal pure returns (bytes32) {
        return bytes32(uint256(finalStatus) << 248);
    }

    /// @notice The status a commitment records.
    function status(bytes32 commitment) internal pure returns (RequestStatus) {
        return RequestStatus(uint8(uint256(commitment) >> 248));
    }

    function _pack(RequestStatus s, bytes32 hash) private pure returns (bytes32) {
        return bytes32((uint256(s) << 248) | (uint256(hash) & HASH_MASK));
    }
}
