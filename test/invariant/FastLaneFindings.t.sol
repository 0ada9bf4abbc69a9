// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SignedRequestSupport} from "../utils/SignedRequestSupport.sol";
import {MarketplaceDigests} from "../utils/MarketplaceDigests.sol";
import {ISignedFulfilments} from "../../src/interfaces/ISignedFulfilments.sol";
import {SignedFulfilment} from "../../src/types/SignedFulfilment.sol";
import {SignedRequest} from "../../src/types/SignedRequest.sol";

/// @notice FINDINGS of the fast-lane invariant work, each a minimal test that FAILS against the contracts as they are
/// and passes once the finding is fixed. Not an invariant campaign (the name keeps it out of `--match-contract
/// InvariantTest`); FastLaneHandler leaves the triggering inputs out of the campaign until then.
contract FastLaneFindingsTest is SignedRequestSupport {
    ISignedFulfilments internal lane;

    function setUp() public override {
        super.setUp();
        lane = ISignedFulfilments(address(marketplace));
        _registerProver(prover, 1);
        _fund(signer, 100e18);
    }

    /// FINDING: one item with a malformed matcher signature reverts the whole fulfilSignedBatch.
    /// ISignedFulfilments.fulfilSignedBatch: "An item that fails any check is skipped with
    /// IProofMarketplace.FulfilmentSkipped [...]; the batch reverts only for an empty batch or a gas shortfall."
    /// SignedFulfilmentModule._check recovers the matcher with ECDSA.recoverCalldata, which reverts InvalidSignature()
    /// for a signature of a length other than 64 or 65 bytes or one no key recovers from (v not 27/28, r off the
    /// curve): the batch reverts, and the prover's valid items in it are not paid. (fulfilSigned likewise reverts
    /// InvalidSignature() where its documented error for the matcher's signature is NotMatcher.) Expected: the bad
    /// item skipped (ECDSA.tryRecoverCalldata gives address(0), which is no matcher: NotMatcher(address(0))), the
    /// valid item paid.
    function test_FINDING_malformedMatcherSignatureRevertsTheWholeFastBatch() public {
        SignedFulfilment[] memory fs = new SignedFulfilment[](2);
        fs[0] = _fast(0, 0);
        fs[1] = _fast(1, 1);
        fs[1].matcherSignature[64] = bytes1(uint8(29)); // v = 29: no key recovers from it
        uint256 balanceBefore = marketplace.balanceOf(signer, address(payToken));

        vm.prank(prover);
        uint256 fulfilled = lane.fulfilSignedBatch(fs); // reverts InvalidSignature()

        assertEq(fulfilled, 1, "the valid item is paid");
        assertEq(marketplace.balanceOf(signer, address(payToken)), balanceBefore - PRICE);
    }

    /// A fast-lane item for `prover`: the signed requester's request (its nonce `nonce`, fixture `fixture`), the
    /// matcher's FastAssignment at PRICE for the next minute, the fixture's proof.
    function _fast(uint256 nonce, uint256 fixture) internal view returns (SignedFulfilment memory f) {
        SignedRequest memory r = _signedRequest(signer, nonce, fixture);
        uint64 validUntil = uint64(block.timestamp + 60);
        f.request = r;
        f.requesterSignature = _signRequest(signerKey, r);
        f.prover = prover;
        f.price = PRICE;
        f.validUntil = validUntil;
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(
            matcherKey, MarketplaceDigests.fastAssignment(address(marketplace), _signedId(r), prover, PRICE, validUntil)
        );
        f.matcherSignature = abi.encodePacked(rr, s, v);
        f.proof = fixtures[fixture].proof;
    }
}
