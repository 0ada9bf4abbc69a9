// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Inputs, InputsLibrary} from "./Inputs.sol";

using SignedRequestLibrary for SignedRequest global;

/// @notice A request signed off chain by its requester (EIP-712 `SignedRequest`, under the marketplace's domain): the
/// fields of RequestParams plus the requester and a nonce. Nothing is stored for it until it is used, by the matcher's
/// signed batch (SignedRequestModule.assignSigned) or by anyone posting it on chain (postSignedRequest); either use
/// takes the escrow from the requester's marketplace balance and spends the nonce.
struct SignedRequest {
    /// Signs the request (an EOA, or a contract wallet through ERC-1271) and pays the escrow from its balance.
    address requester;
    /// Permit2-style unordered nonce: bit `nonce & 255` of word `nonce >> 8` of the requester's nonce bitmap, set
    /// when the request is used or the requester invalidates it.
    uint256 nonce;
    uint32 marketId;
    uint96 maxReward;
    uint32 provingTime;
    uint32 matchingExpiry;
    uint32 deadline;
    uint16 speedPreferenceBps;
    address refundAddress;
    Inputs publicInputs;
    Inputs privateInputs;
}

/// @notice One item of a matcher's signed batch of signed requests (SignedRequestModule.assignSigned): the matcher
/// signs an ordinary `Assignment` whose request id is the signed request's derived id (SignedRequestLibrary.id).
struct SignedMatch {
    address prover;
    /// Signed by the matcher: the listed price it matched on.
    uint96 price;
    /// Signed by the matcher: the listed proving time it matched on.
    uint32 provingTime;
    SignedRequest request;
    /// The requester's EIP-712 signature of `request` (65 or 64 bytes for an EOA; anything for ERC-1271).
    bytes signature;
}

/// @title SignedRequestLibrary
/// @notice EIP-712 type string and struct hash of `SignedRequest`, and the request id a signed request gets.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library SignedRequestLibrary {
    string internal constant SIGNED_REQUEST_TYPE =
        "SignedRequest(address requester,uint256 nonce,uint32 marketId,uint96 maxReward,uint32 provingTime,uint32 matchingExpiry,uint32 deadline,uint16 speedPreferenceBps,address refundAddress,Inputs publicInputs,Inputs privateInputs)";
    /// keccak256(abi.encodePacked(SIGNED_REQUEST_TYPE, InputsLibrary.INPUTS_TYPE))
    bytes32 internal constant SIGNED_REQUEST_TYPEHASH =
        0xb99e2593a118f010ff5235f234e7556aa7e575442dd2e024357d8f2a27ffaba6;

    /// Bit 63 of a request id's index: set for signed requests, never for the on-chain ones (a 48-bit counter).
    uint256 internal constant SIGNED_ID_FLAG = 1 << 63;

    /// @notice hashStruct(SignedRequest).
    function hash(SignedRequest calldata r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                SIGNED_REQUEST_TYPEHASH,
                r.requester,
                r.nonce,
                r.marketId,
                r.maxReward,
                r.provingTime,
                r.matchingExpiry,
                r.deadline,
                r.speedPreferenceBps,
                r.refundAddress,
                InputsLibrary.hash(r.publicInputs),
                InputsLibrary.hash(r.privateInputs)
            )
        );
    }

    /// @notice The request id of a signed request whose EIP-712 digest (domain included) is `digest`:
    /// marketId << 64 | 1 << 63 | the digest's low 63 bits. Deterministic, so the matcher and the SDK know it before
    /// it is used, and bound to one chain and one marketplace through the domain; its market is its upper bits, like
    /// every request id.
    function id(uint32 marketId, bytes32 digest) internal pure returns (uint256) {
        return (uint256(marketId) << 64) | SIGNED_ID_FLAG | (uint256(digest) & (SIGNED_ID_FLAG - 1));
    }
}
