// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {FastAssignment} from "../types/FastAssignment.sol";
import {OpenFulfilment} from "../types/OpenFulfilment.sol";
import {SignedFulfilment} from "../types/SignedFulfilment.sol";

/// @title ISignedFulfilments
/// @notice The signed path's fast lane, served at the marketplace's address by its fulfilment module: a signed request
/// the matcher assigned off chain (a FastAssignment to one prover, at one price, until a time) is used and settled by
/// that prover in one transaction carrying the proof. Nothing is stored for the request before; after, its nonce is
/// spent (so it can never be used again, by this path or another), the price moves from the requester's deposit to
/// the prover's reward address, and SignedRequestFulfilled records it.
/// @dev What the fast lane gives up, and why that is safe: no stake is locked and no capacity reserved, because no
/// deadline is promised on chain. A prover that never delivers loses nothing and costs the requester only the window:
/// when `validUntil` passes unused, the matcher assigns the request with assignSigned (stake-backed, slashable), and
/// the matcher only fast-assigns a request whose schedule still leaves that room. The assignment is exclusive off
/// chain (the attested matcher's promise), not on chain: whichever use lands first spends the nonce. Requests with
/// private inputs are not fast-assigned (their key release needs the on-chain assignment). The requester's deposit is
/// not escrowed until the proof lands: a requester that withdraws or cancels first costs the prover its proving work,
/// which the matcher counts against the requester.
/// A fulfilled fast request has no commitment slot: `requestStatus` reads None for its id, its nonce reads spent, and
/// SignedRequestFulfilled (indexed by id) is its record.
/// An on-chain request (createRequest, or a posted signed one) takes the same lane while it is Open: `fulfilOpen`
/// settles it with the matcher's FastAssignment and the proof, skipping the assignment transaction, until its matching
/// expiry (after which it can be cancelled, so a prover proving on would race its refund).
interface ISignedFulfilments {
    // ---------------------------------------------------------------- errors
    /// @notice The fast assignment ran out: `expiredAt` is the earlier of its validUntil and the request's deadline.
    error FastAssignmentExpired(uint256 requestId, uint256 expiredAt);
    /// @notice The assigned price is above what the requester offered.
    error PriceAboveMaxReward(uint256 requestId, uint96 price, uint96 maxReward);
    /// @notice Requests with private inputs are assigned on chain (assignSigned), which releases their input key.
    error PrivateInputsNotFast(uint256 requestId);
    /// @notice The prover is not registered, so it has no reward address to be paid at.
    error ProverNotRegistered(address prover);

    // ---------------------------------------------------------------- events
    /// @notice The signed request `requestId` was fulfilled on the fast path: its nonce is spent and `price` went from
    /// the requester's deposit to the prover's reward address.
    event SignedRequestFulfilled(
        uint256 indexed requestId, address indexed requester, address indexed prover, uint256 nonce, uint96 price
    );

    // ---------------------------------------------------------------- functions

    /// @notice Uses the signed request, checks the matcher's fast assignment of it to the sender and the proof, and
    /// settles: spends the nonce, pays the price from the requester's deposit to the prover's reward address.
    /// @dev Reverts with the exact error of the first check that fails: the sender (NotAssignedProver), the window
    /// (FastAssignmentExpired), the market (UnknownMarket), the price (PriceAboveMaxReward), the inputs
    /// (PrivateInputsNotFast, MissingInputs, InputsDigestMismatch, WrongInputs), the matcher's signature
    /// (NotMatcher), the requester's signature (BadRequesterSignature), the nonce (NonceUsed), the deposit
    /// (InsufficientDeposit), the prover's registration (ProverNotRegistered), then the proof (InvalidProof, the
    /// adapter's own error, or CallFailed; a gas shortfall is CalleeOutOfGas or the adapter's InsufficientGas).
    function fulfilSigned(SignedFulfilment calldata fulfilment) external;

    /// @notice fulfilSigned for several requests, all the sender's, with one verifier call per verifier
    /// (IProofVerifier.verifyBatch). An item that fails any check is skipped with
    /// IProofMarketplace.FulfilmentSkipped and the same error fulfilSigned would give, and changes nothing; the batch
    /// reverts only for an empty batch, a gas shortfall, or a sender that is not a registered prover
    /// (ProverNotRegistered: every item is the sender's, so none could be paid).
    /// @return fulfilled Number of requests fulfilled.
    function fulfilSignedBatch(SignedFulfilment[] calldata fulfilments) external returns (uint256 fulfilled);

    /// @notice Settles an Open on-chain request with the matcher's fast assignment of it to the sender and the proof,
    /// without an assignment: the prover is paid its price, the rest of the escrow refunded (RequestFulfilled, as any
    /// fulfilment).
    /// @dev Reverts with the exact error of the first check that fails: the sender (NotAssignedProver), the request
    /// and its record (UnknownRequest, RequestNotOpen, RecordMismatch), the window (FastAssignmentExpired: the
    /// earlier of validUntil and the request's matching expiry), the price (PriceAboveMaxReward), the inputs
    /// (WrongInputs: they are not the record's, or the request has private inputs, which are assigned on chain), the
    /// matcher's signature (NotMatcher), the prover's registration (ProverNotRegistered), the proof (as fulfilSigned).
    function fulfilOpen(OpenFulfilment calldata fulfilment) external;

    /// @notice The EIP-712 digest a matcher key signs for `assignment`.
    function fastAssignmentDigest(FastAssignment calldata assignment) external view returns (bytes32);
}
