// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {CairnTest} from "./utils/CairnTest.sol";
import {Groth16BatchVerifier} from "../src/verifiers/Groth16BatchVerifier.sol";
import {Groth16VerifierAdapter} from "../src/verifiers/Groth16VerifierAdapter.sol";
import {IGroth16BatchVerifier} from "../src/interfaces/IGroth16BatchVerifier.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {MarketParams} from "../src/types/Market.sol";
import {ProofContext} from "../src/types/ProofContext.sol";
import {Fulfilment, Inputs, MatchedRequest, RequestParams, RequestStatus} from "../src/types/Request.sol";

/// A verifier deployed before verifyBatch existed: verify and validatePublicInputs only.
contract LegacyVerifier {
    Groth16VerifierAdapter internal immutable inner;

    constructor(Groth16VerifierAdapter inner_) {
        inner = inner_;
    }

    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata context)
        external
        view
        returns (bool)
    {
        return inner.verify(publicInputs, proof, context);
    }

    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        return inner.validatePublicInputs(publicInputs);
    }

    /// Answers anything else (verifyBatch included) with a word that is no boolean array.
    fallback() external {
        assembly {
            mstore(0, 1)
            return(0, 0x20)
        }
    }
}

/// @notice fulfilBatch with batch verification: one verifyBatch per verifier, per-item outcomes as before.
contract ProofMarketplaceBatchVerifyTest is CairnTest {
    uint256 internal constant R =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;

    Groth16BatchVerifier internal batchVerifier;
    uint256 internal batchMarket;

    function setUp() public override {
        super.setUp();
        batchVerifier = _newBatchVerifier();
        _loadBatchFixtures();
        batchMarket = _marketWith(batchVerifier);
        _readyProver(prover, 64);
        _list(prover, batchMarket, PRICE, LISTED_TIME, 1);
    }

    function _marketWith(IProofVerifier verifier) internal returns (uint256) {
        MarketParams memory p = _marketParams();
        p.verifier = verifier;
        return marketplace.createMarket(p);
    }

    /// Proof fixture `i` of the 42: batch-fixtures.json first, then fixtures.json.
    function _fixture(uint256 i) internal view returns (ProofFixture storage) {
        return i < 32 ? batchFixtures[i] : fixtures[i - 32];
    }

    function _postIn(uint256 market, bytes memory publicInputs) internal returns (uint256) {
        RequestParams memory p = _requestParams(0);
        p.marketId = SafeCastLib.toUint32(market);
        p.publicInputs = Inputs({data: publicInputs, uri: "", digest: bytes32(0)});
        return _post(p);
    }

    /// Posts and assigns one request per fixture in `markets[i]`; returns their fulfilments, proofs as fixtures give.
    function _assigned(uint256[] memory markets, uint256[] memory fixtureOf) internal returns (Fulfilment[] memory f) {
        uint256 n = markets.length;
        MatchedRequest[] memory a = new MatchedRequest[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = _match(_postIn(markets[i], _fixture(fixtureOf[i]).publicInputs), prover);
        }
        assertEq(_matcherAssign(a), n);
        f = new Fulfilment[](n);
        for (uint256 i; i < n; ++i) {
            f[i] = _fulfilment(a[i].requestId, 0);
            f[i].publicInputs = _fixture(fixtureOf[i]).publicInputs;
            f[i].proof = _fixture(fixtureOf[i]).proof;
        }
    }

    function _inBatchMarket(uint256 n) internal returns (Fulfilment[] memory) {
        uint256[] memory markets = new uint256[](n);
        uint256[] memory fixtureOf = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            (markets[i], fixtureOf[i]) = (batchMarket, i);
        }
        return _assigned(markets, fixtureOf);
    }

    function _status(uint256 requestId) internal view returns (RequestStatus) {
        return marketplace.requestStatus(requestId);
    }

    function _fulfilBatch(Fulfilment[] memory f) internal returns (uint256) {
        vm.prank(prover);
        return marketplace.fulfilBatch(f);
    }

    // ---------------------------------------------------------------- all valid

    function _allValid(uint256 n) internal {
        Fulfilment[] memory f = _inBatchMarket(n);
        // One verifyBatch for the market's items; verify only for a group of one.
        vm.expectCall(address(batchVerifier), abi.encodePacked(IProofVerifier.verifyBatch.selector), n > 1 ? 1 : 0);
        vm.expectCall(address(batchVerifier), abi.encodePacked(IProofVerifier.verify.selector), n > 1 ? 0 : 1);
        assertEq(_fulfilBatch(f), n);
        for (uint256 i; i < n; ++i) {
            assertEq(uint8(_status(f[i].requestId)), uint8(RequestStatus.Fulfilled));
        }
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), n * PRICE);
    }

    function test_fulfilBatch_allValid_one() public {
        _allValid(1);
    }

    function test_fulfilBatch_allValid_two() public {
        _allValid(2);
    }

    function test_fulfilBatch_allValid_ten() public {
        _allValid(10);
    }

    function test_fulfilBatch_allValid_thirtyTwo() public {
        _allValid(32);
    }

    function test_fulfil_singleUsesVerify() public {
        Fulfilment[] memory f = _inBatchMarket(1);
        vm.expectCall(address(batchVerifier), abi.encodePacked(IProofVerifier.verifyBatch.selector), 0);
        vm.prank(prover);
        marketplace.fulfil(f[0]);
        assertEq(uint8(_status(f[0].requestId)), uint8(RequestStatus.Fulfilled));
    }

    // ---------------------------------------------------------------- failures, reported as single fulfilments are

    /// A forged proof (a real proof of other public inputs) among ten: that request is never fulfilled, the nine are.
    function test_fulfilBatch_oneForgedAmongTen() public {
        Fulfilment[] memory f = _inBatchMarket(10);
        f[6].proof = f[7].proof;
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(
            f[6].requestId, abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, f[6].requestId)
        );
        // The batch fails, the verifier finds the bad item, the marketplace asks verify for its reason (once here,
        // once for the single fulfil below).
        vm.expectCall(address(batchVerifier), abi.encodePacked(IProofVerifier.verify.selector), 2);
        assertEq(_fulfilBatch(f), 9);
        for (uint256 i; i < 10; ++i) {
            assertEq(uint8(_status(f[i].requestId)), uint8(i == 6 ? RequestStatus.Assigned : RequestStatus.Fulfilled));
        }
        // And it stays unfulfillable with that proof.
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, f[6].requestId));
        vm.prank(prover);
        marketplace.fulfil(f[6]);
    }

    /// A public signal at or above r (posted by digest, so createRequest could not check it): never verifies.
    function test_fulfilBatch_publicInputAboveField() public {
        Fulfilment[] memory f = _inBatchMarket(3);
        (uint256 digest, uint256 context) = abi.decode(_fixture(3).publicInputs, (uint256, uint256));
        bytes memory aliased = abi.encode(digest + R, context);
        RequestParams memory p = _requestParams(0);
        p.marketId = SafeCastLib.toUint32(batchMarket);
        p.publicInputs = Inputs({data: "", uri: "ipfs://aliased", digest: keccak256(aliased)});
        uint256 id = _post(p);
        _matcherAssign(id, prover);
        Fulfilment[] memory g = new Fulfilment[](4);
        (g[0], g[1], g[3]) = (f[0], f[1], f[2]);
        g[2] = _fulfilment(id, 0);
        (g[2].publicInputs, g[2].proof) = (aliased, _fixture(3).proof);
        // The proof is valid for the signals mod r; the verifier still refuses it.
        assertTrue(batchVerifier.verify(_fixture(3).publicInputs, _fixture(3).proof, _proofContext(id)));
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(
            id, abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, id)
        );
        assertEq(_fulfilBatch(g), 3);
        assertEq(uint8(_status(id)), uint8(RequestStatus.Assigned));
    }

    /// A malformed proof is reported with the adapter's own error, as fulfil would revert with it.
    function test_fulfilBatch_malformedProofReportsTheAdapterError() public {
        Fulfilment[] memory f = _inBatchMarket(3);
        f[1].proof = new bytes(255);
        bytes memory reason = abi.encodeWithSelector(IGroth16BatchVerifier.MalformedProof.selector, 255);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(f[1].requestId, reason);
        assertEq(_fulfilBatch(f), 2);
        vm.expectRevert(reason);
        vm.prank(prover);
        marketplace.fulfil(f[1]);
    }

    /// Records checks still come first, in order: a duplicate item fails them, whatever its proof.
    function test_fulfilBatch_duplicateItemIsSkipped() public {
        Fulfilment[] memory f = _inBatchMarket(2);
        Fulfilment[] memory g = new Fulfilment[](3);
        (g[0], g[1], g[2]) = (f[0], f[1], f[0]);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(
            f[0].requestId, abi.encodeWithSelector(IProofMarketplace.RequestAlreadyFulfilled.selector, f[0].requestId)
        );
        assertEq(_fulfilBatch(g), 2);
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), 2 * PRICE);
    }

    // ---------------------------------------------------------------- several verifiers

    /// Items of two markets with different verifiers, interleaved: one verifyBatch per verifier.
    function test_fulfilBatch_mixedVerifiers() public {
        uint256[] memory markets = new uint256[](7);
        uint256[] memory fixtureOf = new uint256[](7);
        for (uint256 i; i < 7; ++i) {
            // The default market's adapter (the generated verifier, one proof at a time) and the batch verifier.
            (markets[i], fixtureOf[i]) = i % 2 == 0 ? (batchMarket, i) : (marketId, 32 + i);
        }
        Fulfilment[] memory f = _assigned(markets, fixtureOf);
        f[3].proof = f[1].proof; // forged, in the adapter's market
        f[4].proof = f[2].proof; // forged, in the batch verifier's market
        vm.expectCall(address(batchVerifier), abi.encodePacked(IProofVerifier.verifyBatch.selector), 1);
        vm.expectCall(address(adapter), abi.encodePacked(IProofVerifier.verifyBatch.selector), 1);
        assertEq(_fulfilBatch(f), 5);
        for (uint256 i; i < 7; ++i) {
            bool forged = i == 3 || i == 4;
            assertEq(uint8(_status(f[i].requestId)), uint8(forged ? RequestStatus.Assigned : RequestStatus.Fulfilled));
        }
    }

    /// A market whose verifier predates verifyBatch (and answers it with junk): every item goes through verify.
    function test_fulfilBatch_legacyVerifierWithoutVerifyBatch() public {
        uint256 legacy = _marketWith(IProofVerifier(address(new LegacyVerifier(adapter))));
        _list(prover, legacy, PRICE, LISTED_TIME, 1);
        uint256[] memory markets = new uint256[](3);
        uint256[] memory fixtureOf = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            (markets[i], fixtureOf[i]) = (legacy, 32 + i);
        }
        Fulfilment[] memory f = _assigned(markets, fixtureOf);
        f[2].proof = f[0].proof;
        assertEq(_fulfilBatch(f), 2);
        assertEq(uint8(_status(f[2].requestId)), uint8(RequestStatus.Assigned));
    }

    // ---------------------------------------------------------------- gas

    /// What the per-proof gas cap of the generated verifier's adapter meant becomes intrinsic: every precompile call
    /// gets exactly its price, so a proof with a point off the curve costs what a valid one costs. Ten items with one
    /// such proof cost at most the batch check plus ten single checks (and verify once more for the reason), and
    /// the nine others are fulfilled.
    function test_fulfilBatch_offCurveProofDoesNotStarveTheBatch() public {
        Fulfilment[] memory f = _inBatchMarket(10);
        f[3].proof[31] = bytes1(uint8(f[3].proof[31]) ^ 0x01);
        uint256 before = gasleft();
        assertEq(_fulfilBatch(f), 9);
        uint256 used = before - gasleft();
        // batch (≤ 700k) + 10 singles (≤ 200k each) + the reason (≤ 200k) + settling nine (≤ 60k each)
        assertLt(used, 700_000 + 11 * 200_000 + 9 * 60_000);
    }

    /// A batch whose verification needs more gas than the call has reverts as a whole: a submitter cannot turn valid
    /// items into skipped ones by choosing a tight gas limit.
    function test_RevertWhen_fulfilBatch_beyondItsGas() public {
        Fulfilment[] memory f = _inBatchMarket(10);
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        vm.prank(prover);
        marketplace.fulfilBatch{gas: 600_000}(f);
        for (uint256 i; i < 10; ++i) {
            assertEq(uint8(_status(f[i].requestId)), uint8(RequestStatus.Assigned));
        }
        // With enough gas the same batch goes through.
        assertEq(_fulfilBatch(f), 10);
    }

    /// One gas budget for a batch of 32 across two markets: the batch verifier's market cannot starve the other's items.
    function test_fulfilBatch_largeBatchBesideAnotherMarket() public {
        uint256[] memory markets = new uint256[](34);
        uint256[] memory fixtureOf = new uint256[](34);
        for (uint256 i; i < 34; ++i) {
            (markets[i], fixtureOf[i]) = i < 32 ? (batchMarket, i) : (marketId, i);
        }
        Fulfilment[] memory f = _assigned(markets, fixtureOf);
        assertEq(_fulfilBatch(f), 34);
    }
}
