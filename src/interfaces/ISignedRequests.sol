// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Request} from "../types/Request.sol";
import {SignedMatch, SignedRequest} from "../types/SignedRequest.sol";

/// @title ISignedRequests
/// @notice Requests signed off chain (types/SignedRequest.sol), served at the marketplace's address by its
/// signed-request module: the matcher assigns them in its signed batches, anyone may post one on chain (the censorship
/// fallback), and a requester invalidates its unused ones by nonce. Nothing is stored for a signed request until it is
/// used; its use spends its nonce, takes its escrow from the requester's marketplace balance and records it like an
/// on-chain request (IProofMarketplace's RequestCreated, then TaskAssigned when assigned, and AssignmentSkipped for a
/// batch item that fails), under an id derived from its EIP-712 digest.
interface ISignedRequests {
    // ---------------------------------------------------------------- errors
    /// @notice The signature is not the requester's over this request under this chain's and marketplace's domain
    /// (wrong signer, malformed, or an ERC-1271 wallet that refused, reverted or answered anything else).
    error BadRequesterSignature(address requester);
    /// @notice The requester's nonce was spent by a use of a signed request or invalidated.
    error NonceUsed(address requester, uint256 nonce);
    /// @notice A request already holds the id this signed request derives (a 63-bit digest collision).
    error SignedRequestIdTaken(uint256 requestId);
    /// @notice The requester's marketplace balance cannot cover the escrow.
    error InsufficientDeposit(address requester, address token, uint256 balance, uint256 needed);

    // ---------------------------------------------------------------- events
    /// @notice A signed request was used (posted or assigned): its nonce is spent and it is the request `requestId`,
    /// whose record RequestCreated carries.
    event SignedRequestUsed(uint256 indexed requestId, address indexed requester, uint256 nonce);
    /// @notice The requester invalidated the nonces of `mask` in word `wordPos` of its nonce bitmap.
    event NoncesInvalidated(address indexed requester, uint256 indexed wordPos, uint256 mask);

    // ---------------------------------------------------------------- functions

    /// @notice Records and assigns a batch of signed requests as decided by the matcher; anyone may submit it. The
    /// matcher signs an ordinary `AssignmentBatch`, each `Assignment`'s request id being the signed request's derived
    /// id (signedRequestId), so today's matcher signature covers the exact signed request.
    /// @dev Per item, atomically: the requester's signature (ECDSA or ERC-1271), its unused nonce, the request's
    /// market, terms, inputs and schedule (as createRequest checks them), the requester's balance; then the request
    /// is recorded (one slot, RequestCreated, SignedRequestUsed) and assigned at the signed terms (TaskAssigned). An
    /// item that fails changes nothing and is skipped with `AssignmentSkipped` and its exact error; the batch never
    /// reverts for an item, except for running out of gas.
    /// @param matches The signed items, each with its requester-signed request and signature.
    /// @param inputKeys Empty, or one entry per match (see IProofMarketplace.assign).
    /// @param validUntil Last second the matcher's signature may be used.
    /// @param signature EIP-712 signature of an authorised matcher key over the assignments.
    /// @return assigned Number of requests recorded and assigned.
    function assignSigned(
        SignedMatch[] calldata matches,
        bytes[] calldata inputKeys,
        uint64 validUntil,
        bytes calldata signature
    ) external returns (uint256 assigned);

    /// @notice Posts a signed request on chain as an Open request (the censorship fallback); anyone may. Escrow is
    /// taken from the requester's balance now; the matcher may assign it, or listed provers claim it after the
    /// market's fallback delay, like any on-chain request.
    /// @return requestId The signed request's derived id.
    function postSignedRequest(SignedRequest calldata request, bytes calldata signature)
        external
        returns (uint256 requestId);

    /// @notice Invalidates msg.sender's unused signed requests whose nonces are the set bits of `mask` in word
    /// `wordPos` (nonces wordPos * 256 + bit).
    function invalidateNonces(uint256 wordPos, uint256 mask) external;

    /// @notice Most gas a requester's ERC-1271 wallet is given to check its signature, in assignSigned and
    /// postSignedRequest: a wallet needing more fails the check (BadRequesterSignature), and one that burns gas costs a
    /// batch at most this much, never the rest of its items.
    function ERC1271_GAS_LIMIT() external view returns (uint256);

    /// @notice Word `wordPos` of `requester`'s nonce bitmap: a set bit is a nonce used or invalidated.
    function nonceBitmap(address requester, uint256 wordPos) external view returns (uint256);

    /// @notice The EIP-712 digest a requester signs (or its ERC-1271 wallet approves) for `request`.
    function signedRequestDigest(SignedRequest calldata request) external view returns (bytes32);

    /// @notice The id `request` gets when used: marketId << 64 | 1 << 63 | low 63 bits of its digest.
    function signedRequestId(SignedRequest calldata request) external view returns (uint256);
}
