// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Request, Task} from "../types/Request.sol";

/// @title IPrivateClaims
/// @notice The censorship fallback for requests with private inputs, served at the marketplace's address by its
/// module (like ISignedRequests). A matcher-assigned private request gets its data key in the matcher's batch
/// (IProofMarketplace.InputKeyReleased); a fallback claim has no matcher, so the requester releases the key itself:
/// 1. a listed prover claims the request with `claimPrivate` once the fallback is open. Its task deadline is
///    KEY_RELEASE_WINDOW + the request's proving time away, so the wait for the key costs the prover none of its
///    proving time; the claim must leave that much before matchingExpiry + provingTime, the latest deadline the
///    request promised its requester.
/// 2. the requester (the request's refund address, the only requester identity in the record) wraps the data key
///    to the prover's attested enclave key and publishes it with `releaseInputKey` within KEY_RELEASE_WINDOW:
///    the same InputKeyReleased event the matcher's release emits, and its hash is recorded.
/// 3. the prover proves and fulfils as usual (slashed at its deadline like any task); or its enclave attests that
///    the released key does not open the inputs (`rejectInputKey`, bound to the recorded hash), which settles like
///    IInputRejections.rejectInputs; or, when no key came within the window, anyone calls `abandonUnkeyedClaim`:
///    the requester is refunded in full and the prover released unslashed. A task still waiting for its key cannot
///    be slashed (IProofMarketplace.slash reverts with KeyNotReleased).
/// @dev One storage slot per private claim, keyed by request id: the time the key is due by while waiting, the
/// released key's keccak256 after (a value above 2^32 - 1, which a hash is but with probability 2^-224), zero once
/// abandoned (and for every request claimed otherwise).
interface IPrivateClaims {
    // ---------------------------------------------------------------- errors
    /// @notice The inputs digests given do not compose the request record's inputsDigest
    /// (keccak256(publicInputsDigest ‖ privateInputsDigest)).
    error InputsDigestsMismatch(uint256 requestId);
    /// @notice claimPrivate is for requests with private inputs; claim a public request with claim.
    error NoPrivateInputs(uint256 requestId);
    /// @notice Claimed now, the task would end after the request's latest deadline (matchingExpiry + provingTime):
    /// a private claim must come by `latestClaim` to leave the requester its KEY_RELEASE_WINDOW.
    error PrivateClaimTooLate(uint256 requestId, uint256 latestClaim);
    /// @notice The request's task was not made by claimPrivate (or its wait was abandoned): no key is awaited.
    error NoKeyAwaited(uint256 requestId);
    /// @notice Only the request's refund address releases its input key.
    error NotRefundAddress(address caller, address refundAddress);
    /// @notice The input key to release is empty.
    error EmptyInputKey();
    /// @notice The requester already released this request's input key (its hash is recorded).
    error InputKeyAlreadyReleased(uint256 requestId);
    /// @notice The key release window closed at `keyDueBy`: too late to release; the claim may be abandoned.
    error KeyReleaseWindowClosed(uint256 requestId, uint32 keyDueBy);
    /// @notice The requester may still release the key until `keyDueBy`: the claim cannot be abandoned yet.
    error KeyReleaseWindowOpen(uint256 requestId, uint32 keyDueBy);
    /// @notice The requester has not released this private claim's input key: the task can be neither slashed nor
    /// its key rejected; wait for the key, or abandon the claim once the window has closed (abandonUnkeyedClaim).
    error InputKeyNotReleased(uint256 requestId);

    // ---------------------------------------------------------------- events
    /// @notice `prover` claimed a private request with claimPrivate: the requester releases its input key by
    /// `keyDueBy` (the claim's TaskAssigned carries the task).
    event PrivateClaimed(uint256 indexed requestId, address indexed prover, uint32 keyDueBy);
    /// @notice No input key came within the window: the request was cancelled (RequestCancelled, escrow refunded in
    /// full) and its prover released without slash.
    event UnkeyedClaimAbandoned(uint256 indexed requestId, address indexed prover);

    // ---------------------------------------------------------------- functions

    /// @notice Seconds a requester has, from a private claim, to release the input key (its task deadline is this
    /// much later than a plain claim's).
    function KEY_RELEASE_WINDOW() external view returns (uint32);

    /// @notice Claims an open private request as its listed prover (msg.sender), like IProofMarketplace.claim (the
    /// market's fallback delay passed, not expired, the prover's listing, capacity and stake), and opens the
    /// requester's key release window. The task deadline is now + KEY_RELEASE_WINDOW + the request's proving time,
    /// so it must be claimed by matchingExpiry - KEY_RELEASE_WINDOW.
    /// @param request The request's record, as emitted in RequestCreated.
    /// @param publicInputsDigest The request's public inputs digest (keccak256 of inline bytes, or the posted digest).
    /// @param privateInputsDigest The request's private inputs digest (keccak256 of its envelope); must be non-zero.
    function claimPrivate(
        uint256 requestId,
        Request calldata request,
        bytes32 publicInputsDigest,
        bytes32 privateInputsDigest
    ) external;

    /// @notice Publishes the request's data key wrapped to the claiming prover's enclave key (InputKeyReleased), as
    /// the matcher's batch does for an assignment; the request's refund address only, once, within the window.
    /// @param request The request's record; `task` its claim's, as emitted in TaskAssigned.
    /// @param inputKey The data key, ECIES-wrapped to the prover's active enclave key in the market.
    function releaseInputKey(uint256 requestId, Request calldata request, Task calldata task, bytes calldata inputKey)
        external;

    /// @notice Ends a private claim whose key never came (the window has closed); anyone may call. The request is
    /// cancelled with its escrow refunded in full to its refund address; the prover is paid nothing and its
    /// capacity and stake are released without slash.
    function abandonUnkeyedClaim(uint256 requestId, Request calldata request, Task calldata task) external;

    /// @notice Settles a private claim whose released input key does not open the inputs: the assigned prover only,
    /// before its task deadline, with an EIP-712 `InvalidInputKey(uint256 requestId,bytes32 inputsDigest,bytes32
    /// inputKeyHash)` signature by an active enclave key of the prover in this market, over the hash of the key the
    /// requester released. Settles like IInputRejections.rejectInputs (InputsRejected: the prover is paid its price,
    /// the rest refunded, nobody slashed): the requester released a wrong key.
    function rejectInputKey(uint256 requestId, Request calldata request, Task calldata task, bytes calldata signature)
        external;

    /// @notice A private claim's slot: the time its key is due by (≤ 2^32 - 1) while awaited, the released key's
    /// keccak256 once released, zero when none is awaited.
    function inputKeyWait(uint256 requestId) external view returns (bytes32);
}
