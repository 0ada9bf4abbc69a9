// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Request} from "./Request.sol";

/// @notice A fast-lane fulfilment of an on-chain request still Open (ISignedFulfilments.fulfilOpen): the matcher's
/// FastAssignment of request `requestId` to the sender, and the proof, settled in one step without an assignment
/// transaction.
struct OpenFulfilment {
    uint256 requestId;
    /// The request's record as RequestCreated emitted it (checked against its commitment).
    Request request;
    /// The assigned prover: must be the sender.
    address prover;
    /// FastAssignment.price: paid to the prover; the rest of the escrow is refunded.
    uint96 price;
    /// FastAssignment.validUntil.
    uint64 validUntil;
    /// The matcher's EIP-712 signature of FastAssignment(requestId, prover, price, validUntil).
    bytes matcherSignature;
    /// The request's public inputs (their keccak256 is the first half of the record's inputsDigest).
    bytes publicInputs;
    /// The proof, in the market verifier's encoding.
    bytes proof;
}
