// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {MarketplaceDigests} from "./utils/MarketplaceDigests.sol";
import {SignedRequestSupport} from "./utils/SignedRequestSupport.sol";
import {OwnerWallet} from "./SignedRequests.t.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {ISignedFulfilments} from "../src/interfaces/ISignedFulfilments.sol";
import {ISignedRequests} from "../src/interfaces/ISignedRequests.sol";
import {FastAssignment} from "../src/types/FastAssignment.sol";
import {OpenFulfilment} from "../src/types/OpenFulfilment.sol";
import {Inputs} from "../src/types/Inputs.sol";
import {MarketParams} from "../src/types/Market.sol";
import {Request, RequestParams, RequestStatus} from "../src/types/Request.sol";
import {SignedFulfilment} from "../src/types/SignedFulfilment.sol";
import {SignedRequest} from "../src/types/SignedRequest.sol";
import {Groth16BatchVerifier} from "../src/verifiers/Groth16BatchVerifier.sol";

/// @notice The signed path's fast lane (ISignedFulfilments): a signed request, the matcher's FastAssignment and the
/// proof in one transaction. Each attack is a test: replays across every path, a sender or terms the matcher did not
/// sign, a key that is not a matcher's, an expired window, inputs that are not the request's, a forged proof, a
/// requester who cannot pay; and a batch never lets a bad item cost the good ones.
contract SignedFulfilmentsTest is SignedRequestSupport {
    address internal otherProver = makeAddr("other prover");
    address internal walletOwner;
    uint256 internal walletOwnerKey;
    OwnerWallet internal wallet;
    /// The key of a prover whose reward address is its own account, once a test made one.
    uint256 internal selfPaidKey;

    function setUp() public override {
        super.setUp();
        _readyProver(prover, 20);
        _readyProver(otherProver, 20);
        _fund(signer, uint256(MAX_REWARD) * 10);
        (walletOwner, walletOwnerKey) = makeAddrAndKey("wallet owner");
        wallet = new OwnerWallet(walletOwner);
    }

    function signerKeyOf(address who) internal view override returns (uint256) {
        if (who == address(wallet)) return walletOwnerKey;
        if (selfPaidKey != 0 && who == vm.addr(selfPaidKey)) return selfPaidKey;
        return super.signerKeyOf(who);
    }

    function _send(SignedFulfilment memory f) internal {
        vm.prank(f.prover);
        _signedFulfilments().fulfilSigned(f);
    }

    function _expectRevert(SignedFulfilment memory f, bytes memory reason) internal {
        vm.expectRevert(reason);
        vm.prank(f.prover);
        _signedFulfilments().fulfilSigned(f);
    }

    function _balance(address who) internal view returns (uint256) {
        return marketplace.balanceOf(who, address(payToken));
    }

    // ---------------------------------------------------------------- the lane

    function test_fulfilSigned_paysThePriceAndSpendsTheNonce() public {
        SignedRequest memory r = _signedRequest(signer, 3, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        uint256 id = _signedId(r);
        uint256 requesterBefore = _balance(signer);
        uint256 rewardsBefore = _balance(proverRewards);
        (uint128 staked, uint128 locked) = staking.stakeOf(prover);
        uint32 inUse = registry.prover(prover).computeInUse;

        vm.expectEmit(address(marketplace));
        emit ISignedFulfilments.SignedRequestFulfilled(id, signer, prover, 3, PRICE);
        _send(f);

        // Only the price moves: no escrow, no refund.
        assertEq(_balance(signer), requesterBefore - PRICE);
        assertEq(_balance(proverRewards), rewardsBefore + PRICE);
        assertEq(_signedRequests().nonceBitmap(signer, 0), 1 << 3);
        // No record, no stake lock, no capacity: nothing was promised on chain.
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.None));
        (uint128 stakedAfter, uint128 lockedAfter) = staking.stakeOf(prover);
        assertEq(stakedAfter, staked);
        assertEq(lockedAfter, locked);
        assertEq(registry.prover(prover).computeInUse, inUse);
    }

    function test_fulfilSigned_theDepositNeedsOnlyThePrice() public {
        address poor;
        (poor, signerKey) = makeAddrAndKey("poor requester");
        signer = poor;
        _fund(poor, PRICE);
        SignedRequest memory r = _signedRequest(poor, 0, 0);
        _send(_fast(r, prover, 0));
        assertEq(_balance(poor), 0);
    }

    function test_fulfilSigned_lowerPriceThanListed() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        f.price = 1;
        _resignFast(f);
        uint256 before = _balance(signer);
        _send(f);
        assertEq(_balance(signer), before - 1);
    }

    function test_fulfilSigned_inputsBehindAUri() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory data = r.publicInputs.data;
        r.publicInputs = Inputs({data: "", uri: "ipfs://inputs", digest: keccak256(data)});
        SignedFulfilment memory f = _fast(r, prover, 0);
        // Not given: refused, whatever the proof.
        _expectRevert(f, abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, _signedId(r)));
        // Other bytes than the digest's: refused.
        f.publicInputs = fixtures[1].publicInputs;
        _expectRevert(f, abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, _signedId(r)));
        f.publicInputs = data;
        _send(f);
        assertEq(_signedRequests().nonceBitmap(signer, 0), 1);
    }

    function test_fulfilSigned_erc1271Wallet() public {
        _fund(address(wallet), MAX_REWARD);
        SignedRequest memory r = _signedRequest(address(wallet), 0, 0);
        _send(_fast(r, prover, 0));
        assertEq(_balance(address(wallet)), MAX_REWARD - PRICE);
    }

    function test_fastAssignmentDigest_isTheSpecs() public view {
        assertEq(
            _signedFulfilments().fastAssignmentDigest(FastAssignment(7, prover, PRICE, 1000)),
            _fastDigest(7, prover, PRICE, 1000)
        );
    }

    // ---------------------------------------------------------------- replay: one use across every path

    function test_replay_fulfilTwice() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        _send(f);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
    }

    function test_replay_assignSignedAfterTheFastLane() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        _send(_fast(r, prover, 0));
        assertEq(_assignSigned(_oneSigned(r, sig, otherProver)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
    }

    function test_replay_postAfterTheFastLane() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        _send(_fast(r, prover, 0));
        vm.expectRevert(abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
        _signedRequests().postSignedRequest(r, sig);
    }

    function test_replay_fastLaneAfterAssignSigned() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        assertEq(_assignSigned(_oneSigned(r, f.requesterSignature, otherProver)), 1);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
    }

    function test_replay_fastLaneAfterPost() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        _postSigned(r, f.requesterSignature);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
    }

    function test_replay_fastLaneAfterCancellation() public {
        SignedRequest memory r = _signedRequest(signer, 5, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        vm.prank(signer);
        _signedRequests().invalidateNonces(0, 1 << 5);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 5));
    }

    /// Another request under the same nonce (a replacement the requester signed) cannot be used once one was.
    function test_replay_anotherRequestUnderASpentNonce() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        _send(_fast(r, prover, 0));
        SignedRequest memory replacement = _signedRequest(signer, 0, 1);
        _expectRevert(
            _fast(replacement, prover, 1), abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0)
        );
    }

    function test_replay_anotherChainId() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        vm.chainId(block.chainid + 1);
        // The domain moved: the id (hence the matcher's signed assignment) and the requester's digest no longer match.
        vm.prank(prover);
        vm.expectPartialRevert(IProofMarketplace.NotMatcher.selector);
        _signedFulfilments().fulfilSigned(f);
    }

    // ---------------------------------------------------------------- who and what the matcher signed

    function test_RevertWhen_senderIsNotTheAssignedProver() public {
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, stranger, prover));
        vm.prank(stranger);
        _signedFulfilments().fulfilSigned(f);
    }

    /// Another prover copying an assignment and naming itself is not what the matcher signed.
    function test_RevertWhen_anotherProverNamesItself() public {
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        f.prover = otherProver;
        vm.prank(otherProver);
        vm.expectPartialRevert(IProofMarketplace.NotMatcher.selector);
        _signedFulfilments().fulfilSigned(f);
    }

    function test_RevertWhen_termsAreNotTheSigned() public {
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        f.price = PRICE + 1;
        vm.prank(prover);
        vm.expectPartialRevert(IProofMarketplace.NotMatcher.selector);
        _signedFulfilments().fulfilSigned(f);
        f.price = PRICE;
        f.validUntil += 1;
        vm.prank(prover);
        vm.expectPartialRevert(IProofMarketplace.NotMatcher.selector);
        _signedFulfilments().fulfilSigned(f);
    }

    function test_RevertWhen_signedByAKeyThatIsNotAMatcher() public {
        (address impostor, uint256 impostorKey) = makeAddrAndKey("impostor");
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        f.matcherSignature = _signFast(impostorKey, _signedId(f.request), prover, f.price, f.validUntil);
        _expectRevert(f, abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, impostor));
    }

    function test_RevertWhen_theMatcherWasRevoked() public {
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        vm.prank(owner);
        authority.setMatcher(matcher, false);
        _expectRevert(f, abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, matcher));
    }

    function test_RevertWhen_theRequestWasAltered() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        f.request.maxReward += 1;
        // The id moved with the request: the matcher's assignment no longer covers it.
        vm.prank(prover);
        vm.expectPartialRevert(IProofMarketplace.NotMatcher.selector);
        _signedFulfilments().fulfilSigned(f);
        // Re-signed by the matcher, the requester's signature is still over the old request.
        _resignFast(f);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, signer));
    }

    function test_RevertWhen_theRequesterDidNotSign() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        (, uint256 otherKey) = makeAddrAndKey("someone else");
        f.requesterSignature = _signRequest(otherKey, r);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, signer));
    }

    function test_RevertWhen_theWalletRefuses() public {
        _fund(address(wallet), MAX_REWARD);
        SignedRequest memory r = _signedRequest(address(wallet), 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        (, uint256 otherKey) = makeAddrAndKey("not the owner");
        f.requesterSignature = _signRequest(otherKey, r);
        _expectRevert(f, abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, address(wallet)));
    }

    // ---------------------------------------------------------------- the window, the terms, the inputs, the proof

    function test_fulfilSigned_atTheLastSecondOfTheWindow() public {
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        vm.warp(f.validUntil);
        _send(f);
    }

    function test_RevertWhen_theWindowPassed() public {
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), prover, 0);
        vm.warp(f.validUntil + 1);
        _expectRevert(
            f,
            abi.encodeWithSelector(
                ISignedFulfilments.FastAssignmentExpired.selector, _signedId(f.request), f.validUntil
            )
        );
    }

    function test_RevertWhen_theRequestsDeadlinePassed() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        f.validUntil = uint64(r.deadline) + 1000;
        _resignFast(f);
        vm.warp(uint256(r.deadline) + 1);
        _expectRevert(
            f, abi.encodeWithSelector(ISignedFulfilments.FastAssignmentExpired.selector, _signedId(r), r.deadline)
        );
    }

    function test_RevertWhen_thePriceIsAboveMaxReward() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        f.price = MAX_REWARD + 1;
        _resignFast(f);
        _expectRevert(
            f,
            abi.encodeWithSelector(
                ISignedFulfilments.PriceAboveMaxReward.selector, _signedId(r), MAX_REWARD + 1, MAX_REWARD
            )
        );
    }

    function test_RevertWhen_privateInputs() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        r.privateInputs = Inputs({data: "", uri: "ipfs://sealed", digest: keccak256("sealed")});
        SignedFulfilment memory f = _fast(r, prover, 0);
        _expectRevert(f, abi.encodeWithSelector(ISignedFulfilments.PrivateInputsNotFast.selector, _signedId(r)));
    }

    function test_RevertWhen_theMarketIsUnknown() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        r.marketId = 99;
        _expectRevert(_fast(r, prover, 0), abi.encodeWithSelector(IProofMarketplace.UnknownMarket.selector, 99));
    }

    function test_RevertWhen_theProofIsForged() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 1); // a real proof, of other inputs
        _expectRevert(f, abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, _signedId(r)));
        assertEq(_signedRequests().nonceBitmap(signer, 0), 0);
    }

    function test_RevertWhen_theDepositIsShort() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedFulfilment memory f = _fast(r, prover, 0);
        uint256 balance = _balance(signer);
        vm.prank(signer);
        marketplace.withdraw(address(payToken), signer, balance - PRICE + 1);
        _expectRevert(
            f,
            abi.encodeWithSelector(
                ISignedRequests.InsufficientDeposit.selector, signer, address(payToken), PRICE - 1, uint256(PRICE)
            )
        );
    }

    function test_RevertWhen_theProverIsNotRegistered() public {
        address gone = makeAddr("never registered");
        SignedFulfilment memory f = _fast(_signedRequest(signer, 0, 0), gone, 0);
        _expectRevert(f, abi.encodeWithSelector(ISignedFulfilments.ProverNotRegistered.selector, gone));
    }

    // ---------------------------------------------------------------- batches

    function _sendBatch(SignedFulfilment[] memory fs) internal returns (uint256 fulfilled) {
        vm.recordLogs();
        vm.prank(prover);
        fulfilled = _signedFulfilments().fulfilSignedBatch(fs);
        delete skipReasons;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IProofMarketplace.FulfilmentSkipped.selector) {
                skipReasons.push(abi.decode(logs[i].data, (bytes)));
            }
        }
    }

    function _batchMarket() internal returns (uint256 market) {
        Groth16BatchVerifier verifier = _newBatchVerifier();
        MarketParams memory params = _marketParams();
        params.verifier = verifier;
        market = marketplace.createMarket(params);
        _list(prover, market, PRICE, LISTED_TIME, 1);
    }

    function _fastBatch(uint256 market, uint256 n) internal returns (SignedFulfilment[] memory fs) {
        _loadBatchFixtures();
        fs = new SignedFulfilment[](n);
        for (uint256 i; i < n; ++i) {
            SignedRequest memory r = _signedRequest(signer, 100 + i, 0);
            r.marketId = SafeCastLib.toUint32(market);
            r.publicInputs.data = batchFixtures[i].publicInputs;
            fs[i] = _fast(r, prover, 0);
            fs[i].proof = batchFixtures[i].proof;
        }
    }

    function test_fulfilSignedBatch_tenInOneMultiPairing() public {
        _fund(signer, uint256(PRICE) * 10);
        SignedFulfilment[] memory fs = _fastBatch(_batchMarket(), 10);
        uint256 before = _balance(proverRewards);
        assertEq(_sendBatch(fs), 10);
        assertEq(skipReasons.length, 0);
        assertEq(_balance(proverRewards), before + 10 * uint256(PRICE));
    }

    /// A forged proof among ten: only that request stays unused, with its exact reason; the nine are paid.
    function test_fulfilSignedBatch_aForgedProofAmongTen() public {
        SignedFulfilment[] memory fs = _fastBatch(_batchMarket(), 10);
        fs[4].proof = batchFixtures[5].proof;
        assertEq(_sendBatch(fs), 9);
        assertEq(skipReasons.length, 1);
        assertEq(
            skipReasons[0], abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, _signedId(fs[4].request))
        );
        assertEq(_signedRequests().nonceBitmap(signer, 0) >> 100 & 0x3ff, 0x3ff & ~uint256(1 << 4));
    }

    function test_fulfilSignedBatch_aDuplicateIsPaidOnce() public {
        SignedFulfilment[] memory fs = _fastBatch(_batchMarket(), 3);
        fs[2] = fs[0];
        uint256 before = _balance(signer);
        assertEq(_sendBatch(fs), 2);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 100));
        assertEq(_balance(signer), before - 2 * uint256(PRICE));
    }

    function test_fulfilSignedBatch_payOnlyAsFarAsTheDepositGoes() public {
        SignedFulfilment[] memory fs = _fastBatch(_batchMarket(), 3);
        uint256 balance = _balance(signer);
        vm.prank(signer);
        marketplace.withdraw(address(payToken), signer, balance - 2 * uint256(PRICE));
        assertEq(_sendBatch(fs), 2);
        assertEq(
            skipReasons[0],
            abi.encodeWithSelector(
                ISignedRequests.InsufficientDeposit.selector, signer, address(payToken), 0, uint256(PRICE)
            )
        );
        assertEq(_balance(signer), 0);
    }

    /// Two markets, two verifiers, a bad item of each kind: each good item is fulfilled, each bad one skipped with
    /// the reason fulfilSigned gives.
    function test_fulfilSignedBatch_mixedVerifiersAndFailures() public {
        uint256 batchMarket = _batchMarket();
        SignedFulfilment[] memory inBatch = _fastBatch(batchMarket, 3);
        SignedFulfilment[] memory fs = new SignedFulfilment[](6);
        (fs[0], fs[1], fs[2]) = (inBatch[0], inBatch[1], inBatch[2]);
        fs[3] = _fast(_signedRequest(signer, 200, 0), prover, 0);
        fs[4] = _fast(_signedRequest(signer, 201, 1), prover, 1);
        fs[5] = _fast(_signedRequest(signer, 202, 2), prover, 2);
        fs[5].validUntil = uint64(block.timestamp - 1);
        _resignFast(fs[5]);
        fs[1].price = PRICE + 1; // not what the matcher signed
        assertEq(_sendBatch(fs), 4);
        assertEq(skipReasons.length, 2);
        assertEq(bytes4(skipReasons[0]), IProofMarketplace.NotMatcher.selector);
        assertEq(
            skipReasons[1],
            abi.encodeWithSelector(
                ISignedFulfilments.FastAssignmentExpired.selector, _signedId(fs[5].request), fs[5].validUntil
            )
        );
    }

    /// A prover paid to its own account, which also requests: an item the reward address itself pays for sees what
    /// the items before it in the batch earned. Its deposit covers one price when the batch starts (each item's
    /// check), and the first item's price pays for its second request.
    function test_fulfilSignedBatch_aRewardAddressPaysFromWhatItEarnedBefore() public {
        (address selfPaid, uint256 key) = makeAddrAndKey("self-paid prover");
        selfPaidKey = key;
        _readyProver(selfPaid, 20); // its reward address is its own account
        _fund(selfPaid, PRICE);
        SignedFulfilment[] memory fs = new SignedFulfilment[](3);
        fs[0] = _fast(_signedRequest(signer, 0, 0), selfPaid, 0);
        fs[1] = _fast(_signedRequest(selfPaid, 0, 1), selfPaid, 1);
        fs[2] = _fast(_signedRequest(selfPaid, 1, 2), selfPaid, 2);
        uint256 before = _balance(signer);
        vm.prank(selfPaid);
        assertEq(_signedFulfilments().fulfilSignedBatch(fs), 3);
        assertEq(_balance(signer), before - PRICE);
        // Paid three prices, paid two of them back to itself.
        assertEq(_balance(selfPaid), uint256(PRICE) * 2);
    }

    function test_fulfilSignedBatch_itemsOfAnotherProverAreSkipped() public {
        SignedFulfilment[] memory fs = new SignedFulfilment[](2);
        fs[0] = _fast(_signedRequest(signer, 0, 0), prover, 0);
        fs[1] = _fast(_signedRequest(signer, 1, 1), otherProver, 1);
        assertEq(_sendBatch(fs), 1);
        assertEq(
            skipReasons[0], abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, prover, otherProver)
        );
    }

    function test_RevertWhen_fulfilSignedBatch_isEmpty() public {
        vm.expectRevert(IProofMarketplace.EmptyBatch.selector);
        vm.prank(prover);
        _signedFulfilments().fulfilSignedBatch(new SignedFulfilment[](0));
    }

    /// A batch given too little gas for its verification reverts as a whole: a submitter cannot turn valid items into
    /// skipped ones (and spend nothing of the requesters') by choosing a tight gas limit.
    function test_RevertWhen_fulfilSignedBatch_beyondItsGas() public {
        SignedFulfilment[] memory fs = _fastBatch(_batchMarket(), 10);
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        vm.prank(prover);
        _signedFulfilments().fulfilSignedBatch{gas: 600_000}(fs);
        assertEq(_signedRequests().nonceBitmap(signer, 0), 0);
        assertEq(_sendBatch(fs), 10);
    }

    // ---------------------------------------------------------------- beside the stake-backed path

    /// The fast lane leaves an assigned request of the same prover, its stake lock and its deadline untouched.
    function test_fastLaneBesideAnAssignedTask() public {
        SignedRequest memory assignedRequest = _signedRequest(signer, 10, 0);
        assertEq(_assignSigned(_oneSigned(assignedRequest, _signRequest(signerKey, assignedRequest), prover)), 1);
        (, uint128 locked) = staking.stakeOf(prover);
        _send(_fast(_signedRequest(signer, 11, 1), prover, 1));
        (, uint128 lockedAfter) = staking.stakeOf(prover);
        assertEq(lockedAfter, locked);
        uint256 id = _signedId(assignedRequest);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Assigned));
        _fulfil(prover, id, 0);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Fulfilled));
    }

    function _fastDigest(uint256 requestId, address who, uint96 price, uint64 validUntil)
        internal
        view
        returns (bytes32)
    {
        return MarketplaceDigests.fastAssignment(address(marketplace), requestId, who, price, validUntil);
    }

    // ---------------------------------------------------------------- on-chain requests: fulfilOpen

    function _open(uint256 id, address who, uint256 fixture) internal view returns (OpenFulfilment memory f) {
        uint64 validUntil = uint64(block.timestamp + 60);
        f = OpenFulfilment({
            requestId: id,
            request: records[id],
            prover: who,
            price: PRICE,
            validUntil: validUntil,
            matcherSignature: _signFast(matcherKey, id, who, PRICE, validUntil),
            publicInputs: fixtures[fixture].publicInputs,
            proof: fixtures[fixture].proof
        });
    }

    function _sendOpen(OpenFulfilment memory f) internal {
        vm.prank(f.prover);
        _signedFulfilments().fulfilOpen(f);
    }

    function _expectOpenRevert(OpenFulfilment memory f, bytes memory reason) internal {
        vm.expectRevert(reason);
        vm.prank(f.prover);
        _signedFulfilments().fulfilOpen(f);
    }

    function test_fulfilOpen_settlesAnOpenRequestWithoutAnAssignment() public {
        uint256 id = _post(0);
        (, uint128 locked) = staking.stakeOf(prover);
        uint256 rewardsBefore = _balance(proverRewards);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestFulfilled(id, prover, PRICE, MAX_REWARD - PRICE);
        _sendOpen(_open(id, prover, 0));
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Fulfilled));
        assertEq(_balance(proverRewards), rewardsBefore + PRICE);
        assertEq(_balance(refundee), MAX_REWARD - PRICE);
        (, uint128 lockedAfter) = staking.stakeOf(prover);
        assertEq(lockedAfter, locked);
    }

    function test_fulfilOpen_aPostedSignedRequest() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        uint256 id = _postSigned(r, _signRequest(signerKey, r));
        _sendOpen(_open(id, prover, 0));
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Fulfilled));
    }

    function test_fulfilOpen_replayAndEveryLaterPathIsRefused() public {
        uint256 id = _post(0);
        OpenFulfilment memory f = _open(id, prover, 0);
        _sendOpen(f);
        _expectOpenRevert(
            f, abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, id, RequestStatus.Fulfilled)
        );
        assertEq(_matcherAssign(id, otherProver), 0);
        vm.warp(block.timestamp + FALLBACK_DELAY + 1);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, id, RequestStatus.Fulfilled));
        vm.prank(otherProver);
        marketplace.claim(id, records[id]);
    }

    /// Once the matcher assigned it on chain (stake-backed), the fast lane is closed for that request.
    function test_RevertWhen_fulfilOpen_afterAnAssignment() public {
        uint256 id = _post(0);
        OpenFulfilment memory f = _open(id, prover, 0);
        assertEq(_matcherAssign(id, otherProver), 1);
        _expectOpenRevert(
            f, abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, id, RequestStatus.Assigned)
        );
    }

    function test_RevertWhen_fulfilOpen_recordOrRequestIsWrong() public {
        uint256 id = _post(0);
        OpenFulfilment memory f = _open(id, prover, 0);
        f.request.maxReward += 1;
        _expectOpenRevert(f, abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
        OpenFulfilment memory unknown = _open(id, prover, 0);
        unknown.requestId = id + 1;
        _expectOpenRevert(unknown, abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, id + 1));
    }

    function test_RevertWhen_fulfilOpen_notTheSignedProverOrTerms() public {
        uint256 id = _post(0);
        OpenFulfilment memory f = _open(id, prover, 0);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, stranger, prover));
        vm.prank(stranger);
        _signedFulfilments().fulfilOpen(f);
        f.price = PRICE + 1;
        vm.prank(prover);
        vm.expectPartialRevert(IProofMarketplace.NotMatcher.selector);
        _signedFulfilments().fulfilOpen(f);
        (address impostor, uint256 impostorKey) = makeAddrAndKey("impostor");
        f = _open(id, prover, 0);
        f.matcherSignature = _signFast(impostorKey, id, prover, f.price, f.validUntil);
        _expectOpenRevert(f, abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, impostor));
    }

    function test_RevertWhen_fulfilOpen_windowOrMatchingExpiryPassed() public {
        uint256 id = _post(0);
        OpenFulfilment memory f = _open(id, prover, 0);
        vm.warp(f.validUntil + 1);
        _expectOpenRevert(
            f, abi.encodeWithSelector(ISignedFulfilments.FastAssignmentExpired.selector, id, f.validUntil)
        );
        // A window past the matching expiry ends at it: the requester may cancel from then on.
        f.validUntil = uint64(records[id].matchingExpiry) + 1000;
        f.matcherSignature = _signFast(matcherKey, id, prover, f.price, f.validUntil);
        vm.warp(uint256(records[id].matchingExpiry) + 1);
        _expectOpenRevert(
            f, abi.encodeWithSelector(ISignedFulfilments.FastAssignmentExpired.selector, id, records[id].matchingExpiry)
        );
    }

    function test_RevertWhen_fulfilOpen_priceInputsOrProofAreWrong() public {
        uint256 id = _post(0);
        OpenFulfilment memory f = _open(id, prover, 0);
        f.price = MAX_REWARD + 1;
        f.matcherSignature = _signFast(matcherKey, id, prover, f.price, f.validUntil);
        _expectOpenRevert(
            f, abi.encodeWithSelector(ISignedFulfilments.PriceAboveMaxReward.selector, id, MAX_REWARD + 1, MAX_REWARD)
        );
        f = _open(id, prover, 0);
        f.publicInputs = fixtures[1].publicInputs;
        _expectOpenRevert(f, abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, id));
        f = _open(id, prover, 1);
        f.publicInputs = fixtures[0].publicInputs;
        _expectOpenRevert(f, abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, id));
    }

    /// A request with private inputs: their digest is part of the record's, so no public inputs alone match it.
    function test_RevertWhen_fulfilOpen_privateInputs() public {
        RequestParams memory p = _requestParams(0);
        p.privateInputs = Inputs({data: "", uri: "ipfs://sealed", digest: keccak256("sealed")});
        uint256 id = _post(p);
        _expectOpenRevert(_open(id, prover, 0), abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, id));
    }

    /// A malformed matcher signature fails its item (NotMatcher of no one), never the batch (found by the invariant
    /// campaign: ECDSA.recover reverted the whole fulfilSignedBatch).
    function test_fulfilSignedBatch_aMalformedMatcherSignatureFailsOnlyItsItem() public {
        SignedFulfilment[] memory fs = new SignedFulfilment[](2);
        fs[0] = _fast(_signedRequest(signer, 0, 0), prover, 0);
        fs[1] = _fast(_signedRequest(signer, 1, 1), prover, 1);
        fs[0].matcherSignature = hex"1234";
        assertEq(_sendBatch(fs), 1);
        assertEq(skipReasons[0], abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, address(0)));
        SignedFulfilment memory single = fs[0];
        _expectRevert(single, abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, address(0)));
        OpenFulfilment memory open = _open(_post(0), prover, 0);
        open.matcherSignature = hex"1234";
        _expectOpenRevert(open, abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, address(0)));
    }
}
