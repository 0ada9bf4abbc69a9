// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SignedRequest} from "./SignedRequest.sol";

/// @notice One fast-path fulfilment (ISignedFulfilments): a signed request, the matcher's FastAssignment of it to
/// the sender, and the proof, used and settled in one step. The assignment's request id is not carried: it is derived
/// from `request` (ISignedRequests.signedRequestId), so the matcher's signature covers the exact signed request.
struct SignedFulfilment {
    SignedRequest request;
    /// The requester's EIP-712 signature of `request` (ECDSA, or anything its ERC-1271 wallet accepts).
    bytes requesterSignature;
    /// The assigned prover: must be the sender.
    address prover;
    /// The price the matcher assigned at (FastAssignment.price).
    uint96 price;
    /// FastAssignment.validUntil.
    uint64 validUntil;
    /// The matcher's EIP-712 signature of FastAssignment(requestId, prover, price, validUntil).
    bytes matcherSignature;
    /// The public inputs the proof is for: empty when the request carries them inline (they are read from it), else
    /// the bytes behind the request's input URI, checked against its digest.
    bytes publicInputs;
    /// The proof, in the market verifier's encoding.
    bytes proof;
}
