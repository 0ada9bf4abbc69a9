// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {CairnTest} from "./CairnTest.sol";
import {MarketplaceDigests} from "./MarketplaceDigests.sol";
import {ISignedFulfilments} from "../../src/interfaces/ISignedFulfilments.sol";
import {ISignedRequests} from "../../src/interfaces/ISignedRequests.sol";
import {Assignment} from "../../src/types/Assignment.sol";
import {Inputs} from "../../src/types/Inputs.sol";
import {Listing} from "../../src/types/Prover.sol";
import {SignedFulfilment} from "../../src/types/SignedFulfilment.sol";
import {SignedMatch, SignedRequest} from "../../src/types/SignedRequest.sol";

/// @notice Signed requests for tests: built, signed (digests from the spec, MarketplaceDigests), matched and
/// submitted, with the records they create kept like CairnTest keeps the on-chain path's.
abstract contract SignedRequestSupport is CairnTest {
    address internal signer;
    uint256 internal signerKey;

    function setUp() public virtual override {
        super.setUp();
        (signer, signerKey) = makeAddrAndKey("signed requester");
    }

    function _signedRequests() internal view returns (ISignedRequests) {
        return ISignedRequests(address(marketplace));
    }

    /// Mints `amount` to `who` and deposits it in the marketplace.
    function _fund(address who, uint256 amount) internal {
        payToken.mint(who, amount);
        vm.startPrank(who);
        payToken.approve(address(marketplace), amount);
        marketplace.deposit(address(payToken), amount);
        vm.stopPrank();
    }

    function _signedRequest(address from, uint256 nonce, uint256 fixture)
        internal
        view
        returns (SignedRequest memory r)
    {
        r.requester = from;
        r.nonce = nonce;
        r.marketId = SafeCastLib.toUint32(marketId);
        r.maxReward = MAX_REWARD;
        r.provingTime = PROVING_TIME;
        r.matchingExpiry = uint32(block.timestamp + 300);
        r.deadline = uint32(block.timestamp + 300 + PROVING_TIME);
        r.speedPreferenceBps = 5000;
        r.refundAddress = refundee;
        r.publicInputs = Inputs({data: fixtures[fixture].publicInputs, uri: "", digest: bytes32(0)});
    }

    function _signRequest(uint256 key, SignedRequest memory r) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, MarketplaceDigests.signedRequest(address(marketplace), r));
        return abi.encodePacked(rr, s, v);
    }

    /// The id the spec gives a signed request: marketId << 64 | 1 << 63 | low 63 bits of its digest.
    function _signedId(SignedRequest memory r) internal view returns (uint256) {
        bytes32 digest = MarketplaceDigests.signedRequest(address(marketplace), r);
        return (uint256(r.marketId) << 64) | (1 << 63) | (uint256(digest) & ((1 << 63) - 1));
    }

    /// A matcher decision for a signed request at the prover's current listing.
    function _signedMatch(SignedRequest memory r, bytes memory signature, address who)
        internal
        view
        returns (SignedMatch memory)
    {
        Listing memory l = registry.listing(who, r.marketId);
        return SignedMatch({prover: who, price: l.price, provingTime: l.provingTime, request: r, signature: signature});
    }

    function _oneSigned(SignedRequest memory r, bytes memory signature, address who)
        internal
        view
        returns (SignedMatch[] memory m)
    {
        m = new SignedMatch[](1);
        m[0] = _signedMatch(r, signature, who);
    }

    /// The matcher's signature over a batch of signed requests: ordinary Assignments with the derived ids.
    function _signSigned(uint256 key, SignedMatch[] memory m, uint64 validUntil) internal view returns (bytes memory) {
        Assignment[] memory pairs = new Assignment[](m.length);
        for (uint256 i; i < m.length; ++i) {
            pairs[i] = Assignment(_signedId(m[i].request), m[i].prover, m[i].price, m[i].provingTime, "");
        }
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, MarketplaceDigests.assignmentBatch(address(marketplace), pairs, validUntil));
        return abi.encodePacked(r, s, v);
    }

    /// Submits a matcher-signed batch of signed requests, recording records, tasks and skip reasons.
    function _assignSigned(SignedMatch[] memory m) internal returns (uint256 assigned) {
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory signature = _signSigned(matcherKey, m, validUntil);
        vm.recordLogs();
        assigned = _signedRequests().assignSigned(m, new bytes[](0), validUntil, signature);
        _absorbLogs();
    }

    /// Posts a signed request on chain, recording its record.
    function _postSigned(SignedRequest memory r, bytes memory signature) internal returns (uint256 id) {
        vm.recordLogs();
        id = _signedRequests().postSignedRequest(r, signature);
        _absorbLogs();
    }

    // ---------------------------------------------------------------- the fast lane

    function _signedFulfilments() internal view returns (ISignedFulfilments) {
        return ISignedFulfilments(address(marketplace));
    }

    /// The matcher's FastAssignment signature by `key`, digest written from the spec.
    function _signFast(uint256 key, uint256 requestId, address who, uint96 price, uint64 validUntil)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, MarketplaceDigests.fastAssignment(address(marketplace), requestId, who, price, validUntil));
        return abi.encodePacked(r, s, v);
    }

    /// A fast-lane fulfilment of `r` by `who` at the listed price, valid for a minute, signed by the matcher, with
    /// proof fixture `fixture` (the request's inputs are inline: publicInputs stays empty).
    function _fast(SignedRequest memory r, address who, uint256 fixture)
        internal
        view
        returns (SignedFulfilment memory f)
    {
        uint64 validUntil = uint64(block.timestamp + 60);
        f = SignedFulfilment({
            request: r,
            requesterSignature: _signRequest(signerKeyOf(r.requester), r),
            prover: who,
            price: PRICE,
            validUntil: validUntil,
            matcherSignature: _signFast(matcherKey, _signedId(r), who, PRICE, validUntil),
            publicInputs: "",
            proof: fixtures[fixture].proof
        });
    }

    /// Re-signs `f`'s assignment with the matcher key (after a test changed its terms).
    function _resignFast(SignedFulfilment memory f) internal view {
        f.matcherSignature = _signFast(matcherKey, _signedId(f.request), f.prover, f.price, f.validUntil);
    }

    /// The key of a requester these tests sign for (the signer); overridden by tests with more requesters.
    function signerKeyOf(address who) internal view virtual returns (uint256) {
        require(who == signer, "SignedRequestSupport: no key for this requester");
        return signerKey;
    }
}
