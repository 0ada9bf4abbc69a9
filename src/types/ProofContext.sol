// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What a fulfilment's proof is for beyond its public statement: the request it fulfils, that request's
/// inputs and the prover assigned to it. The marketplace passes it to the market's verifier, so a proof that is not
/// self-contained (a TEE signature) can be bound to exactly one request and its prover; a ZK proof, which proves its
/// public statement whoever submits it, needs none of it.
struct ProofContext {
    /// The request being fulfilled (its market in the upper bits, as the marketplace numbers requests).
    uint256 requestId;
    /// The prover the request is assigned to, which submits the fulfilment.
    address prover;
    /// The request's committed inputsDigest: keccak256(keccak256(public inputs) ‖ private-inputs digest).
    bytes32 inputsDigest;
}
