// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierAdapter} from "../src/interfaces/IVerifierAdapter.sol";
import {MarketplaceDigests} from "./utils/MarketplaceDigests.sol";
import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {CairnTest} from "./utils/CairnTest.sol";
import {TeeRegistryFixture} from "./attestation/TeeRegistry.t.sol";
import {TeeRole} from "../src/attestation/interfaces/ITeeRegistry.sol";
import {IEnclaveKeys} from "../src/interfaces/IEnclaveKeys.sol";
import {Vm} from "forge-std/Vm.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {IProverRegistry} from "../src/interfaces/IProverRegistry.sol";
import {INativeStaking} from "../src/interfaces/INativeStaking.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {IStakeSource} from "../src/interfaces/IStakeSource.sol";
import {IMatcherAuthority} from "../src/interfaces/IMatcherAuthority.sol";
import {Clock} from "../src/libraries/Clock.sol";
import {NativeStaking} from "../src/staking/NativeStaking.sol";
import {Groth16VerifierAdapter} from "../src/verifiers/Groth16VerifierAdapter.sol";
import {Market, MarketParams} from "../src/types/Market.sol";
import {Assignment} from "../src/types/Assignment.sol";
import {
    Fulfilment,
    Inputs,
    MatchedRequest,
    Request,
    RequestParams,
    RequestState,
    RequestStatus,
    Task
} from "../src/types/Request.sol";

contract ProofMarketplaceTest is CairnTest, TeeRegistryFixture {
    // ================================================================ markets

    function test_createMarket_storesParamsAndChargesFee() public {
        vm.prank(owner);
        marketplace.setMarketCreationFee(0.1 ether);
        vm.deal(stranger, 1 ether);
        MarketParams memory p = _marketParams();
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.MarketCreated(2, stranger, p);
        vm.prank(stranger);
        uint256 id = marketplace.createMarket{value: 0.1 ether}(p);
        assertEq(id, 2);
        Market memory m = marketplace.market(id);
        assertEq(address(m.verifier), address(adapter));
        assertEq(m.paymentToken, address(payToken));
        assertEq(address(m.stakeSource), address(staking));
        assertEq(m.stakePerTask, STAKE_PER_TASK);
        assertEq(m.slashPenalty, SLASH_PENALTY);
        assertEq(m.requesterCompensationBps, COMPENSATION_BPS);
        assertEq(m.fallbackDelay, FALLBACK_DELAY);
        assertEq(m.creator, stranger);
        assertTrue(marketplace.marketExists(id));
        assertFalse(marketplace.marketExists(3));
        assertEq(marketplace.balanceOf(treasury, address(0)), 0.1 ether);
        assertEq(address(marketplace).balance, 0.1 ether);
    }

    function test_RevertWhen_createMarket_wrongFee() public {
        vm.prank(owner);
        marketplace.setMarketCreationFee(1);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.WrongCreationFee.selector, 1, 0));
        marketplace.createMarket(_marketParams());
    }

    function test_RevertWhen_createMarket_verifierNotContract() public {
        MarketParams memory p = _marketParams();
        p.verifier = IProofVerifier(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotContract.selector, stranger));
        marketplace.createMarket(p);
    }

    function test_RevertWhen_createMarket_tokenNotContract() public {
        MarketParams memory p = _marketParams();
        p.paymentToken = address(0);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotContract.selector, address(0)));
        marketplace.createMarket(p);
    }

    function test_RevertWhen_createMarket_stakeSourceNotApproved() public {
        MarketParams memory p = _marketParams();
        NativeStaking rogue = new NativeStaking(address(stakeToken), address(marketplace), 1);
        p.stakeSource = rogue;
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.StakeSourceNotApproved.selector, address(rogue)));
        marketplace.createMarket(p);
    }

    function test_RevertWhen_createMarket_penaltyExceedsStake() public {
        MarketParams memory p = _marketParams();
        p.slashPenalty = p.stakePerTask + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.PenaltyExceedsStake.selector, p.slashPenalty, p.stakePerTask)
        );
        marketplace.createMarket(p);
    }

    function test_RevertWhen_createMarket_compensationTooHigh() public {
        MarketParams memory p = _marketParams();
        p.requesterCompensationBps = 9501;
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.CompensationTooHigh.selector, 9501, 9500));
        marketplace.createMarket(p);
    }

    function test_RevertWhen_createMarket_fallbackDelayTooLong() public {
        MarketParams memory p = _marketParams();
        p.fallbackDelay = 1 days + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.FallbackDelayTooLong.selector, 1 days + 1, uint32(1 days))
        );
        marketplace.createMarket(p);
    }

    function test_setMarketMetadata() public {
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.MarketMetadataUpdated(marketId, "ipfs://v2");
        marketplace.setMarketMetadata(marketId, "ipfs://v2");
    }

    function test_RevertWhen_setMarketMetadata_notCreator() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMarketCreator.selector, stranger));
        marketplace.setMarketMetadata(marketId, "x");
    }

    function test_RevertWhen_setMarketMetadata_unknownMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.UnknownMarket.selector, 99));
        marketplace.setMarketMetadata(99, "x");
    }

    // ================================================================ requests

    function test_createRequest_escrowsAndCommits() public {
        RequestParams memory p = _requestParams(0);
        payToken.mint(requester, MAX_REWARD);
        vm.startPrank(requester);
        payToken.approve(address(marketplace), MAX_REWARD);
        Request memory expected = Request({
            refundAddress: refundee,
            maxReward: MAX_REWARD,
            createdAt: uint32(block.timestamp),
            matchingExpiry: p.matchingExpiry,
            provingTime: PROVING_TIME,
            inputsDigest: keccak256(abi.encodePacked(keccak256(p.publicInputs.data), bytes32(0)))
        });
        uint256 expectedId = (marketId << 64) | 1;
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestCreated(
            expectedId, marketId, requester, expected, p.deadline, 5000, p.publicInputs, p.privateInputs
        );
        uint256 id = marketplace.createRequest(p);
        vm.stopPrank();

        assertEq(id, expectedId);
        assertEq(payToken.balanceOf(address(marketplace)), MAX_REWARD);
        assertEq(payToken.balanceOf(requester), 0);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Open));
        assertEq(marketplace.market(marketId).requestCount, 1);
        Task memory none;
        assertEq(uint8(lens.requestState(id, expected, none)), uint8(RequestState.Open));
        // The next request of the market takes the next index.
        assertEq(_post(1), expectedId + 1);
    }

    function test_createRequest_spendsDepositedBalanceFirst() public {
        payToken.mint(requester, MAX_REWARD);
        vm.startPrank(requester);
        payToken.approve(address(marketplace), MAX_REWARD);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.Deposited(requester, address(payToken), MAX_REWARD);
        marketplace.deposit(address(payToken), MAX_REWARD);
        marketplace.createRequest(_requestParams(0));
        vm.stopPrank();
        assertEq(marketplace.balanceOf(requester, address(payToken)), 0);
        assertEq(payToken.balanceOf(address(marketplace)), MAX_REWARD);
        assertEq(payToken.allowance(requester, address(marketplace)), 0);
    }

    function test_createRequest_pullsOnlyTheShortfall() public {
        payToken.mint(requester, MAX_REWARD);
        vm.startPrank(requester);
        payToken.approve(address(marketplace), MAX_REWARD);
        marketplace.deposit(address(payToken), 10e18);
        marketplace.createRequest(_requestParams(0));
        vm.stopPrank();
        assertEq(marketplace.balanceOf(requester, address(payToken)), 0);
        assertEq(payToken.balanceOf(requester), 0);
        assertEq(payToken.balanceOf(address(marketplace)), MAX_REWARD);
        assertEq(payToken.allowance(requester, address(marketplace)), 0);
    }

    function test_RevertWhen_deposit_zeroAmount() public {
        vm.expectRevert(IProofMarketplace.ZeroAmount.selector);
        marketplace.deposit(address(payToken), 0);
    }

    function test_RevertWhen_deposit_notAToken() public {
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotContract.selector, stranger));
        marketplace.deposit(stranger, 1);
    }

    function test_createRequest_inputsByUriAndPrivateInputs() public {
        RequestParams memory p = _requestParams(0);
        bytes32 publicDigest = keccak256(p.publicInputs.data);
        p.publicInputs = Inputs({data: "", uri: "ipfs://inputs", digest: publicDigest});
        p.privateInputs = Inputs({data: hex"c1c2c3", uri: "", digest: bytes32(0)});
        uint256 id = _post(p);
        assertEq(records[id].inputsDigest, keccak256(abi.encodePacked(publicDigest, keccak256(hex"c1c2c3"))));
        // The commitment holds exactly that record.
        Task memory none;
        assertEq(uint8(lens.requestState(id, records[id], none)), uint8(RequestState.Open));
    }

    function test_RevertWhen_requestState_recordMismatch() public {
        uint256 id = _post(0);
        Request memory forged = records[id];
        forged.maxReward += 1;
        Task memory none;
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
        lens.requestState(id, forged, none);
    }

    function test_RevertWhen_createRequest_unknownMarket() public {
        RequestParams memory p = _requestParams(0);
        p.marketId = 7;
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.UnknownMarket.selector, 7));
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_zeroReward() public {
        RequestParams memory p = _requestParams(0);
        p.maxReward = 0;
        vm.expectRevert(IProofMarketplace.ZeroReward.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_zeroRefundAddress() public {
        RequestParams memory p = _requestParams(0);
        p.refundAddress = address(0);
        vm.expectRevert(IProofMarketplace.ZeroAddress.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_speedPreferenceOutOfRange() public {
        RequestParams memory p = _requestParams(0);
        p.speedPreferenceBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.SpeedPreferenceOutOfRange.selector, 10_001));
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_zeroProvingTime() public {
        RequestParams memory p = _requestParams(0);
        p.provingTime = 0;
        vm.expectRevert(IProofMarketplace.ZeroProvingTime.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_deadlineInPast() public {
        RequestParams memory p = _requestParams(0);
        p.deadline = uint32(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.DeadlineInPast.selector, p.deadline));
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_deadlineTooFar() public {
        RequestParams memory p = _requestParams(0);
        p.deadline = uint32(block.timestamp + 90 days + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.DeadlineTooFar.selector, p.deadline, block.timestamp + 90 days)
        );
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_deadlineShorterThanProvingTime() public {
        RequestParams memory p = _requestParams(0);
        p.deadline = uint32(block.timestamp + PROVING_TIME - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.DeadlineShorterThanProvingTime.selector, p.deadline, PROVING_TIME)
        );
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_matchingExpiryInPast() public {
        RequestParams memory p = _requestParams(0);
        p.matchingExpiry = uint32(block.timestamp - 1);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.MatchingExpiryInPast.selector, p.matchingExpiry));
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_matchingExpiryTooLate() public {
        RequestParams memory p = _requestParams(0);
        p.matchingExpiry = p.deadline - PROVING_TIME + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IProofMarketplace.MatchingExpiryTooLate.selector, p.matchingExpiry, p.deadline - PROVING_TIME
            )
        );
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_missingPublicInputs() public {
        RequestParams memory p = _requestParams(0);
        p.publicInputs = Inputs({data: "", uri: "", digest: bytes32(0)});
        vm.expectRevert(IProofMarketplace.MissingInputs.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_uriWithoutDigest() public {
        RequestParams memory p = _requestParams(0);
        p.publicInputs = Inputs({data: "", uri: "ipfs://x", digest: bytes32(0)});
        vm.expectRevert(IProofMarketplace.MissingInputs.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_privateDigestWithoutUri() public {
        RequestParams memory p = _requestParams(0);
        p.privateInputs = Inputs({data: "", uri: "", digest: bytes32(uint256(1))});
        vm.expectRevert(IProofMarketplace.MissingInputs.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_inputsDigestMismatch() public {
        RequestParams memory p = _requestParams(0);
        p.publicInputs.digest = bytes32(uint256(1));
        vm.expectRevert(
            abi.encodeWithSelector(
                IProofMarketplace.InputsDigestMismatch.selector, bytes32(uint256(1)), keccak256(p.publicInputs.data)
            )
        );
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_invalidPublicInputs() public {
        RequestParams memory p = _requestParams(0);
        p.publicInputs.data = hex"01";
        vm.expectRevert(IProofMarketplace.InvalidPublicInputs.selector);
        marketplace.createRequest(p);
    }

    function test_RevertWhen_createRequest_notFunded() public {
        RequestParams memory p = _requestParams(0);
        vm.prank(requester);
        vm.expectRevert();
        marketplace.createRequest(p);
    }

    /// Every schedule either posts or fails with the specific error for its first broken rule.
    function testFuzz_createRequest_schedule(uint32 provingTime, uint32 expiryOffset, uint32 deadlineOffset) public {
        RequestParams memory p = _requestParams(0);
        p.provingTime = provingTime;
        p.matchingExpiry = uint32(block.timestamp + (expiryOffset % 200 days));
        p.deadline = uint32(block.timestamp + (deadlineOffset % 200 days));
        payToken.mint(requester, p.maxReward);
        vm.startPrank(requester);
        payToken.approve(address(marketplace), p.maxReward);
        bytes memory expected;
        if (provingTime == 0) {
            expected = abi.encodeWithSelector(IProofMarketplace.ZeroProvingTime.selector);
        } else if (p.deadline <= Clock.timestamp()) {
            expected = abi.encodeWithSelector(IProofMarketplace.DeadlineInPast.selector, p.deadline);
        } else if (p.deadline > Clock.timestamp() + 90 days) {
            expected = abi.encodeWithSelector(
                IProofMarketplace.DeadlineTooFar.selector, p.deadline, block.timestamp + 90 days
            );
        } else if (p.deadline - Clock.timestamp() < provingTime) {
            expected = abi.encodeWithSelector(
                IProofMarketplace.DeadlineShorterThanProvingTime.selector, p.deadline, provingTime
            );
        } else if (p.matchingExpiry > p.deadline - provingTime) {
            expected = abi.encodeWithSelector(
                IProofMarketplace.MatchingExpiryTooLate.selector, p.matchingExpiry, p.deadline - provingTime
            );
        }
        if (expected.length != 0) vm.expectRevert(expected);
        uint256 id = marketplace.createRequest(p);
        vm.stopPrank();
        if (expected.length == 0) {
            Request memory r = _recordOf(p, block.timestamp);
            assertLe(uint256(r.matchingExpiry) + r.provingTime, p.deadline);
            Task memory none;
            assertEq(uint8(lens.requestState(id, r, none)), uint8(RequestState.Open));
        }
    }

    // ================================================================ matcher assignment

    function test_assign_byMatcher() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskAssigned(
            id, prover, Task(prover, PRICE, uint32(block.timestamp + PROVING_TIME), 1), true
        );
        assertEq(_matcherAssign(id, prover), 1);

        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Assigned));
        Task memory t = tasks[id];
        assertEq(t.deadline, block.timestamp + PROVING_TIME);
        assertEq(t.compute, 1);
        assertEq(t.prover, prover);
        assertEq(t.price, PRICE);
        (uint128 staked, uint128 locked) = staking.stakeOf(prover);
        assertEq(staked, STAKE_PER_TASK);
        assertEq(locked, STAKE_PER_TASK);
        assertEq(registry.prover(prover).computeInUse, 1);
        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Assigned));
    }

    function test_assign_anyoneMaySubmitTheSignedBatch() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        MatchedRequest[] memory a = _one(id, prover);
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory sig = _sign(matcherKey, a, validUntil);
        vm.prank(stranger);
        assertEq(marketplace.assign(a, new bytes[](0), validUntil, sig), 1);
    }

    function test_assign_batchSkipsFailingItemsAndAssignsTheRest() public {
        _readyProver(prover, 2);
        address busy = makeAddr("busy");
        _registerProver(busy, 1);
        _list(busy, marketId, PRICE, LISTED_TIME, 1); // listed but unstaked
        uint256 a = _post(0);
        uint256 b = _post(1);
        MatchedRequest[] memory batch = new MatchedRequest[](4);
        batch[0] = _match(a, prover);
        batch[1] = _match(a, prover); // already assigned by item 0
        batch[2] = _match(b, busy); // no stake
        batch[3] = _match(b, prover);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.AssignmentSkipped(
            a, prover, abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, a, RequestStatus.Assigned)
        );
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.AssignmentSkipped(
            b, busy, abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, 0, STAKE_PER_TASK)
        );
        assertEq(_matcherAssign(batch), 2);
        assertEq(tasks[b].prover, prover);
        // the skipped prover's capacity reservation was undone
        assertEq(registry.prover(busy).computeInUse, 0);
    }

    function test_assign_skipReasons() public {
        _readyProver(prover, 1);
        address unlisted = makeAddr("unlisted");
        uint256 expired = _post(0);
        vm.warp(block.timestamp + 301);
        uint256 cheap;
        {
            RequestParams memory p = _requestParams(1);
            p.maxReward = PRICE - 1;
            cheap = _post(p);
        }
        uint256 quick;
        {
            RequestParams memory p = _requestParams(2);
            p.provingTime = LISTED_TIME - 1;
            quick = _post(p);
        }
        uint256 fresh = _post(3);

        MatchedRequest[] memory batch = new MatchedRequest[](5);
        batch[0] = _match(expired, prover);
        batch[1] = _match(cheap, prover);
        batch[2] = _match(quick, prover);
        batch[3] = _match(fresh, unlisted);
        batch[4] = _match(999, prover);
        assertEq(_matcherAssign(batch), 0);
        bytes[] memory reasons = skipReasons;
        assertEq(reasons.length, 5);
        assertEq(
            reasons[0],
            abi.encodeWithSelector(IProofMarketplace.RequestExpired.selector, expired, uint32(1_750_000_000 + 300))
        );
        assertEq(reasons[1], abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, PRICE, PRICE - 1));
        assertEq(
            reasons[2],
            abi.encodeWithSelector(IProverRegistry.ProvingTimeExceedsRequest.selector, LISTED_TIME, LISTED_TIME - 1)
        );
        assertEq(reasons[3], abi.encodeWithSelector(IProverRegistry.NotListed.selector, unlisted, marketId));
        assertEq(reasons[4], abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, 999));
    }

    function test_assign_busyProverIsOutOfEveryMarket() public {
        uint256 second = marketplace.createMarket(_marketParams());
        _registerProver(prover, 1);
        _list(prover, marketId, PRICE, LISTED_TIME, 1);
        _list(prover, second, PRICE, LISTED_TIME, 1);
        _stake(prover, uint256(STAKE_PER_TASK) * 5);

        uint256 a = _post(0);
        RequestParams memory p = _requestParams(1);
        p.marketId = SafeCastLib.toUint32(second);
        uint256 b = _post(p);
        assertEq(_matcherAssign(a, prover), 1);
        assertFalse(registry.isAvailable(prover, second));

        assertEq(_matcherAssign(b, prover), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 0, 1));

        _fulfil(prover, a, 0);
        assertTrue(registry.isAvailable(prover, second));
        assertEq(_matcherAssign(b, prover), 1);
    }

    function test_assign_leavingListingTakesNoNewTasks() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        vm.prank(prover);
        registry.requestLeave(marketId);
        assertEq(_matcherAssign(id, prover), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(IProverRegistry.ListingLeaving.selector, prover, marketId));
    }

    // ---------------------------------------------------------------- finding 5: signed listing terms

    /// Signs a one-item batch for (requestId, prover) at the prover's current listing, as the matcher does.
    function _signAtListing(uint256 requestId) internal view returns (MatchedRequest[] memory a, bytes memory sig) {
        a = _one(requestId, prover);
        sig = _sign(matcherKey, a, uint64(block.timestamp + 60));
    }

    function _updateListing(uint96 price, uint32 provingTime) internal {
        vm.prank(prover);
        registry.updateListing(marketId, price, provingTime, 1);
    }

    /// Submits a signed batch (by a bystander), recording tasks and skip reasons.
    function _submit(MatchedRequest[] memory a, bytes memory sig) internal returns (uint256 assigned) {
        vm.recordLogs();
        vm.prank(stranger);
        assigned = marketplace.assign(a, new bytes[](0), uint64(block.timestamp + 60), sig);
        _absorbLogs();
    }

    /// Nothing changed for a skipped item: the request is open with its record, the prover holds no compute and
    /// no stake for it.
    function _assertUntouched(uint256 id, bytes32 commitmentBefore) internal view {
        assertEq(marketplace.requestCommitment(id), commitmentBefore, "request untouched");
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Open));
        assertEq(registry.prover(prover).computeInUse, 0, "capacity not held");
        (, uint128 locked) = staking.stakeOf(prover);
        assertEq(locked, 0, "stake not locked");
    }

    /// Finding 5 (issue 9): a prover raising its listing between the matcher's signature and inclusion was paid the
    /// new price (up to the max reward). The signature binds the price: the item is skipped, nothing changes.
    function test_matcherSignatureBindsListedPrice_raisedListingIsSkipped() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        bytes32 commitmentBefore = marketplace.requestCommitment(id);
        (MatchedRequest[] memory a, bytes memory sig) = _signAtListing(id);
        assertEq(a[0].price, PRICE);

        _updateListing(MAX_REWARD, LISTED_TIME); // front-runs the batch: everything the request escrows
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.AssignmentSkipped(
            id,
            prover,
            abi.encodeWithSelector(
                IProofMarketplace.ListingChanged.selector, prover, PRICE, MAX_REWARD, LISTED_TIME, LISTED_TIME
            )
        );
        assertEq(_submit(a, sig), 0);
        _assertUntouched(id, commitmentBefore);

        // A batch signed at the new terms is the matcher's decision again, and pays those terms.
        (a, sig) = _signAtListing(id);
        assertEq(_submit(a, sig), 1);
        assertEq(tasks[id].price, MAX_REWARD);
    }

    function test_matcherSignatureBindsListedProvingTime_slowerListingIsSkipped() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        bytes32 commitmentBefore = marketplace.requestCommitment(id);
        (MatchedRequest[] memory a, bytes memory sig) = _signAtListing(id);
        _updateListing(PRICE, PROVING_TIME); // still within the request's proving time
        assertEq(_submit(a, sig), 0);
        assertEq(
            skipReasons[0],
            abi.encodeWithSelector(
                IProofMarketplace.ListingChanged.selector, prover, PRICE, PRICE, LISTED_TIME, PROVING_TIME
            )
        );
        _assertUntouched(id, commitmentBefore);
    }

    /// The terms are bound exactly: a lowered listing is not what the matcher matched on either.
    function test_matcherSignatureBindsListedPrice_loweredListingIsSkippedToo() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        (MatchedRequest[] memory a, bytes memory sig) = _signAtListing(id);
        _updateListing(PRICE - 1, LISTED_TIME);
        assertEq(_submit(a, sig), 0);
        assertEq(
            skipReasons[0],
            abi.encodeWithSelector(
                IProofMarketplace.ListingChanged.selector, prover, PRICE, PRICE - 1, LISTED_TIME, LISTED_TIME
            )
        );
    }

    /// Any listing change between signature and inclusion: assigned at exactly the signed terms, or skipped with
    /// nothing changed (a listing now outside the request's bounds is reported by the registry's own check).
    function testFuzz_matcherSignatureBindsListedPrice(uint96 price, uint32 provingTime) public {
        provingTime = uint32(bound(provingTime, 1, 7 days));
        _readyProver(prover, 1);
        uint256 id = _post(0);
        bytes32 commitmentBefore = marketplace.requestCommitment(id);
        (MatchedRequest[] memory a, bytes memory sig) = _signAtListing(id);
        _updateListing(price, provingTime);

        uint256 assigned = _submit(a, sig);
        if (price == PRICE && provingTime == LISTED_TIME) {
            assertEq(assigned, 1);
            assertEq(tasks[id].price, PRICE);
            assertEq(tasks[id].deadline, block.timestamp + PROVING_TIME);
            return;
        }
        assertEq(assigned, 0);
        bytes memory expected;
        if (price > MAX_REWARD) {
            expected = abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, price, MAX_REWARD);
        } else if (provingTime > PROVING_TIME) {
            expected =
                abi.encodeWithSelector(IProverRegistry.ProvingTimeExceedsRequest.selector, provingTime, PROVING_TIME);
        } else {
            expected = abi.encodeWithSelector(
                IProofMarketplace.ListingChanged.selector, prover, PRICE, price, LISTED_TIME, provingTime
            );
        }
        assertEq(skipReasons[0], expected);
        _assertUntouched(id, commitmentBefore);
    }

    function test_RevertWhen_assign_submitterAltersTheSignedPrice() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        (MatchedRequest[] memory a, bytes memory sig) = _signAtListing(id);
        uint64 validUntil = uint64(block.timestamp + 60);
        a[0].price = MAX_REWARD;
        Assignment[] memory altered = new Assignment[](1);
        altered[0] = Assignment(id, prover, MAX_REWARD, LISTED_TIME, "");
        address recovered =
            ECDSA.recover(MarketplaceDigests.assignmentBatch(address(marketplace), altered, validUntil), sig);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, recovered));
        marketplace.assign(a, new bytes[](0), validUntil, sig);
    }

    /// The fallback path is unchanged: a prover claims at its own listing, whatever it is now.
    function test_claim_paysTheProversListingAtInclusion() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _updateListing(MAX_REWARD, LISTED_TIME);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        _claim(prover, id);
        assertEq(tasks[id].price, MAX_REWARD);
    }

    function test_RevertWhen_assign_emptyBatch() public {
        vm.expectRevert(IProofMarketplace.EmptyBatch.selector);
        marketplace.assign(new MatchedRequest[](0), new bytes[](0), uint64(block.timestamp), "");
    }

    function test_RevertWhen_assign_signatureExpired() public {
        MatchedRequest[] memory a = _one(1, prover);
        uint64 validUntil = uint64(block.timestamp - 1);
        bytes memory sig = _sign(matcherKey, a, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.MatcherSignatureExpired.selector, validUntil));
        marketplace.assign(a, new bytes[](0), validUntil, sig);
    }

    function test_RevertWhen_assign_signerIsNotMatcher() public {
        (address impostor, uint256 impostorKey) = makeAddrAndKey("impostor");
        MatchedRequest[] memory a = _one(1, prover);
        uint64 validUntil = uint64(block.timestamp + 1);
        bytes memory sig = _sign(impostorKey, a, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, impostor));
        marketplace.assign(a, new bytes[](0), validUntil, sig);
    }

    function test_RevertWhen_assign_signatureForAnotherBatch() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory sig = _sign(matcherKey, _one(id, prover), validUntil);
        // Re-targeting the signed batch to another prover recovers some other address.
        address other = makeAddr("other");
        MatchedRequest[] memory forged = _one(id, other);
        Assignment[] memory forgedPairs = new Assignment[](1);
        forgedPairs[0] = Assignment(id, other, forged[0].price, forged[0].provingTime, "");
        address recovered =
            ECDSA.recover(MarketplaceDigests.assignmentBatch(address(marketplace), forgedPairs, validUntil), sig);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, recovered));
        marketplace.assign(forged, new bytes[](0), validUntil, sig);
    }

    function test_RevertWhen_assign_malformedSignature() public {
        MatchedRequest[] memory a = _one(1, prover);
        vm.expectRevert(ECDSA.InvalidSignature.selector);
        marketplace.assign(a, new bytes[](0), uint64(block.timestamp + 1), hex"1234");
    }

    // ================================================================ fallback claim

    function test_claim_afterFallbackDelay() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskAssigned(
            id, prover, Task(prover, PRICE, uint32(block.timestamp + PROVING_TIME), 1), false
        );
        _claim(prover, id);
        assertEq(tasks[id].prover, prover);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Assigned));
    }

    function test_RevertWhen_claim_beforeFallbackDelay() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.FallbackNotOpen.selector, id, block.timestamp + 1));
        marketplace.claim(id, records[id]);
    }

    function test_RevertWhen_claim_unlistedProver() public {
        uint256 id = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.NotListed.selector, stranger, marketId));
        marketplace.claim(id, records[id]);
    }

    function test_RevertWhen_claim_underStaked() public {
        _registerProver(prover, 1);
        _list(prover, marketId, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK - 1);
        uint256 id = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.prank(prover);
        vm.expectRevert(
            abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, STAKE_PER_TASK - 1, STAKE_PER_TASK)
        );
        marketplace.claim(id, records[id]);
    }

    function test_RevertWhen_claim_busy() public {
        _readyProver(prover, 1);
        _stake(prover, STAKE_PER_TASK);
        uint256 a = _post(0);
        uint256 b = _post(1);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.startPrank(prover);
        marketplace.claim(a, records[a]);
        vm.expectRevert(abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, 0, 1));
        marketplace.claim(b, records[b]);
        vm.stopPrank();
    }

    function test_RevertWhen_claim_expired() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        uint32 expiry = records[id].matchingExpiry;
        vm.warp(uint256(expiry) + 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestExpired.selector, id, expiry));
        marketplace.claim(id, records[id]);
    }

    function test_RevertWhen_claim_priceAboveMaxReward() public {
        _registerProver(prover, 1);
        _list(prover, marketId, MAX_REWARD + 1, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK);
        uint256 id = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.prank(prover);
        vm.expectRevert(
            abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, MAX_REWARD + 1, MAX_REWARD)
        );
        marketplace.claim(id, records[id]);
    }

    function test_RevertWhen_claim_alreadyAssigned() public {
        _readyProver(prover, 2);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, id, RequestStatus.Assigned));
        marketplace.claim(id, records[id]);
    }

    function test_RevertWhen_claim_unknownRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, 5));
        marketplace.claim(5, records[5]);
    }

    /// Whatever the listing, an assignment happens exactly when price and time fit the request.
    function testFuzz_claim_listingAgainstRequest(uint96 price, uint32 listedTime, uint96 maxReward, uint32 provingTime)
        public
    {
        listedTime = uint32(bound(listedTime, 1, 2 days));
        provingTime = uint32(bound(provingTime, 1, 2 days));
        maxReward = uint96(bound(maxReward, 1, 1e30));
        _registerProver(prover, 1);
        _list(prover, marketId, price, listedTime, 1);
        _stake(prover, STAKE_PER_TASK);
        RequestParams memory p = _requestParams(0);
        p.maxReward = maxReward;
        p.provingTime = provingTime;
        p.deadline = uint32(p.matchingExpiry + provingTime);
        uint256 id = _post(p);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        if (price > maxReward) {
            vm.expectRevert(abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, price, maxReward));
        } else if (listedTime > provingTime) {
            vm.expectRevert(
                abi.encodeWithSelector(IProverRegistry.ProvingTimeExceedsRequest.selector, listedTime, provingTime)
            );
        }
        _claim(prover, id);
        if (price <= maxReward && listedTime <= provingTime) {
            assertEq(tasks[id].price, price);
            assertLe(tasks[id].deadline, p.deadline);
        }
    }

    // ================================================================ fulfilment

    function test_fulfil_paysProverAndRefundsRest() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestFulfilled(id, prover, PRICE, MAX_REWARD - PRICE);
        _fulfil(prover, id, 0);

        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Fulfilled));
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), PRICE);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD - PRICE);
        (, uint128 locked) = staking.stakeOf(prover);
        assertEq(locked, 0);
        assertEq(registry.prover(prover).computeInUse, 0);

        vm.prank(proverRewards);
        marketplace.withdraw(address(payToken), proverRewards, 0);
        assertEq(payToken.balanceOf(proverRewards), PRICE);
        vm.prank(refundee);
        marketplace.withdraw(address(payToken), refundee, 0);
        assertEq(payToken.balanceOf(refundee), MAX_REWARD - PRICE);
        assertEq(payToken.balanceOf(address(marketplace)), 0);
    }

    function test_fulfil_withPrivateInputsDigest() public {
        _readyProver(prover, 1);
        RequestParams memory p = _requestParams(0);
        p.privateInputs = Inputs({data: "", uri: "ipfs://ciphertext", digest: keccak256("ciphertext")});
        uint256 id = _post(p);
        _matcherAssign(id, prover);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, id));
        marketplace.fulfil(_fulfilment(id, 0));
        vm.prank(prover);
        Fulfilment memory f = _fulfilment(id, 0);
        f.privateInputsDigest = keccak256("ciphertext");
        marketplace.fulfil(f);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Fulfilled));
    }

    function test_RevertWhen_fulfil_twice() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        _fulfil(prover, id, 0);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestAlreadyFulfilled.selector, id));
        marketplace.fulfil(_fulfilment(id, 0));
    }

    function test_RevertWhen_fulfil_unknownRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, 42));
        Fulfilment memory f;
        f.requestId = 42;
        marketplace.fulfil(f);
    }

    function test_RevertWhen_fulfil_notAssigned() public {
        uint256 id = _post(0);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestNotAssigned.selector, id, RequestStatus.Open));
        marketplace.fulfil(_fulfilment(id, 0));
    }

    function test_RevertWhen_fulfil_wrongProver() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, stranger, prover));
        marketplace.fulfil(_fulfilment(id, 0));
    }

    function test_RevertWhen_fulfil_afterTaskDeadline() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        uint32 taskDeadline = tasks[id].deadline;
        vm.warp(uint256(taskDeadline) + 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.TaskDeadlinePassed.selector, id, taskDeadline));
        marketplace.fulfil(_fulfilment(id, 0));
    }

    function test_RevertWhen_fulfil_inputsOfAnotherRequest() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, id));
        marketplace.fulfil(_withProof(_fulfilment(id, 0), 1, 1));
    }

    function test_RevertWhen_fulfil_invalidProof() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, id));
        marketplace.fulfil(_withProof(_fulfilment(id, 0), 0, 1));
    }

    function test_RevertWhen_fulfil_malformedProof() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 3));
        Fulfilment memory f = _fulfilment(id, 0);
        f.proof = hex"010203";
        marketplace.fulfil(f);
    }

    function test_fulfilBatch_ofTen() public {
        _readyProver(prover, 10);
        Fulfilment[] memory batch = new Fulfilment[](10);
        MatchedRequest[] memory a = new MatchedRequest[](10);
        for (uint256 i; i < 10; ++i) {
            a[i] = _match(_post(i), prover);
        }
        assertEq(_matcherAssign(a), 10);
        for (uint256 i; i < 10; ++i) {
            batch[i] = _fulfilment(a[i].requestId, i);
        }
        vm.prank(prover);
        assertEq(marketplace.fulfilBatch(batch), 10);
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), uint256(PRICE) * 10);
        assertEq(registry.prover(prover).computeInUse, 0);
    }

    function test_fulfilBatch_skipsBadProofs() public {
        _readyProver(prover, 2);
        uint256 a = _post(0);
        uint256 b = _post(1);
        MatchedRequest[] memory pairs = new MatchedRequest[](2);
        pairs[0] = _match(a, prover);
        pairs[1] = _match(b, prover);
        _matcherAssign(pairs);
        Fulfilment[] memory batch = new Fulfilment[](3);
        batch[0] = _withProof(_fulfilment(a, 0), 0, 1);
        batch[1] = _fulfilment(b, 1);
        batch[2] = _fulfilment(b, 1);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(a, abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, a));
        vm.prank(prover);
        assertEq(marketplace.fulfilBatch(batch), 1);
        assertEq(uint8(marketplace.requestStatus(a)), uint8(RequestStatus.Assigned));
        assertEq(uint8(marketplace.requestStatus(b)), uint8(RequestStatus.Fulfilled));
    }

    /// A proof with points off the curve makes the pairing precompile eat the gas it gets; the adapter's cap keeps
    /// the rest of the batch verifiable.
    function test_fulfilBatch_corruptProofDoesNotStarveTheBatch() public {
        _readyProver(prover, 2);
        uint256 a = _post(0);
        uint256 b = _post(1);
        MatchedRequest[] memory pairs = new MatchedRequest[](2);
        pairs[0] = _match(a, prover);
        pairs[1] = _match(b, prover);
        _matcherAssign(pairs);
        bytes memory corrupt = fixtures[0].proof;
        corrupt[5] = bytes1(uint8(corrupt[5]) ^ 0xff);
        Fulfilment[] memory batch = new Fulfilment[](2);
        batch[0] = _fulfilment(a, 0);
        batch[0].proof = corrupt;
        batch[1] = _fulfilment(b, 1);
        vm.prank(prover);
        assertEq(marketplace.fulfilBatch{gas: 1_500_000}(batch), 1);
        assertEq(uint8(marketplace.requestStatus(b)), uint8(RequestStatus.Fulfilled));
    }

    function test_RevertWhen_verifierGetsTooLittleGas() public {
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        adapter.verify{gas: 200_000}(fixtures[0].publicInputs, fixtures[0].proof, _proofContext(0));
    }

    /// A submitter cannot make a valid batch item look invalid by starving the verifier of gas.
    function test_RevertWhen_fulfilBatch_starvedOfGas() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        Fulfilment[] memory batch = new Fulfilment[](1);
        batch[0] = _fulfilment(id, 0);
        vm.prank(prover);
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        marketplace.fulfilBatch{gas: 250_000}(batch);
    }

    function test_RevertWhen_fulfilBatch_empty() public {
        vm.expectRevert(IProofMarketplace.EmptyBatch.selector);
        marketplace.fulfilBatch(new Fulfilment[](0));
    }

    // ================================================================ slashing

    /// Without an enclave path (no enclave-key registry here) the prover could not have refused unprovable inputs:
    /// the requester is made whole, and the whole penalty goes to the treasury.
    function test_slash_withoutEnclavePath_wholePenaltyToTreasury() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.warp(uint256(tasks[id].deadline) + 1);
        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.DeadlineMissed));

        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskSlashed(id, prover, SLASH_PENALTY, 0, 0, stranger);
        vm.prank(stranger);
        marketplace.slash(id, records[id], tasks[id]);

        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
        assertEq(marketplace.balanceOf(refundee, address(stakeToken)), 0);
        assertEq(marketplace.balanceOf(stranger, address(stakeToken)), 0);
        assertEq(marketplace.balanceOf(treasury, address(stakeToken)), SLASH_PENALTY);
        (uint128 staked, uint128 locked) = staking.stakeOf(prover);
        assertEq(staked, STAKE_PER_TASK - SLASH_PENALTY);
        assertEq(locked, 0);
        assertEq(registry.prover(prover).computeInUse, 0);
        assertEq(stakeToken.balanceOf(address(marketplace)), SLASH_PENALTY);
        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Slashed));
    }

    /// A request whose public inputs no prover can satisfy (a Poseidon hash nobody knows a preimage of).
    function _unprovableRequest(address refundTo) internal returns (uint256 id) {
        RequestParams memory p = _requestParams(0);
        p.refundAddress = refundTo;
        bytes memory inputs = p.publicInputs.data;
        bytes32 noPreimage = keccak256("a hash with no known preimage") >> 8; // below the scalar field
        assembly ("memory-safe") {
            mstore(add(inputs, 0x20), noPreimage)
        }
        id = _post(p);
    }

    /// Finding 6 (issue 9): in a market with no enclave path to reject inputs, a requester posting a statement
    /// nobody can prove got its escrow back plus the requester compensation, and the slasher reward too by
    /// slashing from another address. Now it ends with exactly its escrow, with or without an enclave-key registry
    /// (the real TeeRegistry, in which this prover holds no key).
    function test_unprovableRequestNeverPaysTheRequesterMoreThanItsEscrow() public {
        address accomplice = makeAddr("requester's other address");
        _setUpRegistry();
        for (uint256 withRegistry; withRegistry < 2; ++withRegistry) {
            vm.prank(owner);
            marketplace.setEnclaveKeys(withRegistry == 0 ? IEnclaveKeys(address(0)) : teeRegistry);
            assertFalse(teeRegistry.hasActiveEnclave(marketId, prover));
            if (withRegistry == 0) _readyProver(prover, 1);
            uint256 requesterTokensBefore = payToken.balanceOf(requester);
            uint256 treasuryBefore = marketplace.balanceOf(treasury, address(stakeToken));

            uint256 id = _unprovableRequest(requester);
            _matcherAssign(id, prover);
            vm.warp(uint256(tasks[id].deadline) + 1);
            vm.expectEmit(address(marketplace));
            emit IProofMarketplace.TaskSlashed(id, prover, SLASH_PENALTY, 0, 0, accomplice);
            vm.prank(accomplice);
            marketplace.slash(id, records[id], tasks[id]);

            assertEq(marketplace.balanceOf(requester, address(payToken)), MAX_REWARD, "escrow back");
            assertEq(marketplace.balanceOf(requester, address(stakeToken)), 0, "no compensation");
            assertEq(marketplace.balanceOf(accomplice, address(stakeToken)), 0, "no slasher reward");
            assertEq(marketplace.balanceOf(treasury, address(stakeToken)) - treasuryBefore, SLASH_PENALTY);
            vm.prank(requester);
            marketplace.withdraw(address(payToken), requester, 0);
            assertEq(payToken.balanceOf(requester), requesterTokensBefore + MAX_REWARD, "made whole, never more");
            _stake(prover, SLASH_PENALTY); // back to one task's stake for the next round
        }
    }

    function test_slash_thenFulfilIsRefused() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.warp(uint256(tasks[id].deadline) + 1);
        marketplace.slash(id, records[id], tasks[id]);
        vm.prank(prover);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.RequestNotAssigned.selector, id, RequestStatus.Slashed)
        );
        marketplace.fulfil(_fulfilment(id, 0));
    }

    function test_slash_marketWithoutStake() public {
        MarketParams memory p = _marketParams();
        p.stakePerTask = 0;
        p.slashPenalty = 0;
        uint256 free = marketplace.createMarket(p);
        _registerProver(prover, 1);
        _list(prover, free, PRICE, LISTED_TIME, 1);
        RequestParams memory rp = _requestParams(0);
        rp.marketId = SafeCastLib.toUint32(free);
        uint256 id = _post(rp);
        _matcherAssign(id, prover);
        vm.warp(uint256(tasks[id].deadline) + 1);
        marketplace.slash(id, records[id], tasks[id]);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
        assertEq(registry.prover(prover).computeInUse, 0);
    }

    function test_RevertWhen_slash_beforeDeadline() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        uint32 taskDeadline = tasks[id].deadline;
        vm.warp(taskDeadline);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.TaskDeadlineNotPassed.selector, id, taskDeadline));
        marketplace.slash(id, records[id], tasks[id]);
    }

    function test_RevertWhen_slash_fulfilled() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        _fulfil(prover, id, 0);
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestAlreadyFulfilled.selector, id));
        marketplace.slash(id, records[id], tasks[id]);
    }

    function test_RevertWhen_slash_twice() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.warp(uint256(tasks[id].deadline) + 1);
        marketplace.slash(id, records[id], tasks[id]);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.RequestNotAssigned.selector, id, RequestStatus.Slashed)
        );
        marketplace.slash(id, records[id], tasks[id]);
    }

    function test_RevertWhen_slash_unknownRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, 3));
        marketplace.slash(3, records[3], tasks[3]);
    }

    // ================================================================ cancel and withdraw

    function test_cancel_refundsAfterExpiry() public {
        uint256 id = _post(0);
        vm.warp(uint256(records[id].matchingExpiry) + 1);
        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Expired));
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestCancelled(id, MAX_REWARD);
        vm.prank(stranger);
        marketplace.cancel(id, records[id]);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Cancelled));
    }

    function test_RevertWhen_cancel_beforeExpiry() public {
        uint256 id = _post(0);
        uint32 expiry = records[id].matchingExpiry;
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestNotExpired.selector, id, expiry));
        marketplace.cancel(id, records[id]);
    }

    function test_RevertWhen_cancel_assigned() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, id, RequestStatus.Assigned));
        marketplace.cancel(id, records[id]);
    }

    function test_RevertWhen_cancel_unknownRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, 1));
        marketplace.cancel(1, records[1]);
    }

    function test_withdraw_nativeFee() public {
        vm.prank(owner);
        marketplace.setMarketCreationFee(1 ether);
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        marketplace.createMarket{value: 1 ether}(_marketParams());
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.Withdrawn(treasury, address(0), owner, 1 ether);
        vm.prank(treasury);
        marketplace.withdraw(address(0), owner, 0);
        assertEq(owner.balance, 1 ether);
        assertEq(marketplace.balanceOf(treasury, address(0)), 0);
    }

    function test_RevertWhen_withdraw_nothing() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.InsufficientBalance.selector, stranger, address(payToken), 0, 0)
        );
        marketplace.withdraw(address(payToken), stranger, 0);
    }

    function test_RevertWhen_withdraw_toZero() public {
        vm.expectRevert(IProofMarketplace.ZeroAddress.selector);
        marketplace.withdraw(address(payToken), address(0), 0);
    }

    function test_withdraw_partial() public {
        _deposit(stranger, 100e18);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.Withdrawn(stranger, address(payToken), refundee, 12.5e18);
        vm.prank(stranger);
        marketplace.withdraw(address(payToken), refundee, 12.5e18);
        assertEq(payToken.balanceOf(refundee), 12.5e18);
        assertEq(marketplace.balanceOf(stranger, address(payToken)), 87.5e18);

        vm.prank(stranger);
        marketplace.withdraw(address(payToken), stranger, 0);
        assertEq(payToken.balanceOf(stranger), 87.5e18, "the rest");
        assertEq(marketplace.balanceOf(stranger, address(payToken)), 0);
        assertEq(payToken.balanceOf(address(marketplace)), 0);
    }

    function test_withdraw_exactBalance() public {
        _deposit(stranger, 100e18);
        vm.prank(stranger);
        marketplace.withdraw(address(payToken), stranger, 100e18);
        assertEq(payToken.balanceOf(stranger), 100e18);
        assertEq(marketplace.balanceOf(stranger, address(payToken)), 0);
    }

    function test_RevertWhen_withdraw_moreThanBalance() public {
        _deposit(stranger, 100e18);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProofMarketplace.InsufficientBalance.selector, stranger, address(payToken), 100e18, 100e18 + 1
            )
        );
        marketplace.withdraw(address(payToken), stranger, 100e18 + 1);
    }

    function test_RevertWhen_withdraw_partOfAnEmptyBalance() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.InsufficientBalance.selector, stranger, address(payToken), 0, 1)
        );
        marketplace.withdraw(address(payToken), stranger, 1);
    }

    function testFuzz_withdraw_partialKeepsTheRest(uint256 deposited, uint256 amount) public {
        deposited = bound(deposited, 1, 1e30);
        amount = bound(amount, 1, deposited);
        _deposit(stranger, deposited);
        vm.prank(stranger);
        marketplace.withdraw(address(payToken), stranger, amount);
        assertEq(payToken.balanceOf(stranger), amount);
        assertEq(marketplace.balanceOf(stranger, address(payToken)), deposited - amount);
        assertEq(payToken.balanceOf(address(marketplace)), deposited - amount);
    }

    function _deposit(address account, uint256 amount) internal {
        payToken.mint(account, amount);
        vm.startPrank(account);
        payToken.approve(address(marketplace), amount);
        marketplace.deposit(address(payToken), amount);
        vm.stopPrank();
    }

    // ================================================================ governance

    function test_governance_setters() public {
        vm.startPrank(owner);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TreasuryUpdated(stranger);
        marketplace.setTreasury(stranger);
        assertEq(marketplace.treasury(), stranger);

        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.MatcherAuthorityUpdated(IMatcherAuthority(address(registry)));
        marketplace.setMatcherAuthority(IMatcherAuthority(address(registry)));

        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.StakeSourceApprovalUpdated(staking, false);
        marketplace.setStakeSourceApproval(staking, false);
        assertFalse(marketplace.approvedStakeSource(staking));

        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.MarketCreationFeeUpdated(5);
        marketplace.setMarketCreationFee(5);
        vm.stopPrank();
    }

    function test_RevertWhen_governance_notOwner() public {
        vm.startPrank(stranger);
        vm.expectRevert(Ownable.Unauthorized.selector);
        marketplace.setTreasury(stranger);
        vm.expectRevert(Ownable.Unauthorized.selector);
        marketplace.setMatcherAuthority(authority);
        vm.expectRevert(Ownable.Unauthorized.selector);
        marketplace.setStakeSourceApproval(staking, true);
        vm.expectRevert(Ownable.Unauthorized.selector);
        marketplace.setMarketCreationFee(1);
        vm.stopPrank();
    }

    function test_RevertWhen_governance_zeroAddress() public {
        vm.startPrank(owner);
        vm.expectRevert(IProofMarketplace.ZeroAddress.selector);
        marketplace.setTreasury(address(0));
        vm.expectRevert(IProofMarketplace.ZeroAddress.selector);
        marketplace.setMatcherAuthority(IMatcherAuthority(address(0)));
        vm.expectRevert(IProofMarketplace.ZeroAddress.selector);
        marketplace.setStakeSourceApproval(IStakeSource(address(0)), true);
        vm.stopPrank();
    }

    function test_unknownRequestState() public view {
        assertEq(uint8(lens.requestState(77, records[77], tasks[77])), uint8(RequestState.None));
    }

    // ================================================================ forged records

    function test_RevertWhen_claim_recordForged() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        Request memory forged = records[id];
        forged.maxReward = type(uint96).max; // would let a pricier listing in
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
        marketplace.claim(id, forged);
    }

    function test_assign_forgedRecordIsSkipped() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        MatchedRequest[] memory a = _one(id, prover);
        a[0].request.matchingExpiry += 1 days;
        assertEq(_matcherAssign(a), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
    }

    function test_RevertWhen_fulfil_taskForged() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        Fulfilment memory f = _fulfilment(id, 0);
        f.task.price += 1; // would pay the prover more
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
        marketplace.fulfil(f);
    }

    function test_RevertWhen_slash_taskForged() public {
        _readyProver(prover, 1);
        uint256 id = _post(0);
        _matcherAssign(id, prover);
        Task memory forged = tasks[id];
        forged.deadline = uint32(block.timestamp - 1); // would make it slashable early
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
        marketplace.slash(id, records[id], forged);
    }

    function test_RevertWhen_cancel_recordForged() public {
        uint256 id = _post(0);
        vm.warp(uint256(records[id].matchingExpiry) + 1);
        Request memory forged = records[id];
        forged.refundAddress = stranger; // would steal the escrow
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id));
        marketplace.cancel(id, forged);
    }

    // ================================================================ helpers

    /// `f` with the public inputs of fixture `inputs` and the proof of fixture `proof`.
    function _withProof(Fulfilment memory f, uint256 inputs, uint256 proof) internal view returns (Fulfilment memory) {
        f.publicInputs = fixtures[inputs].publicInputs;
        f.proof = fixtures[proof].proof;
        return f;
    }
}

/// @notice The slash split and the finding-6 rule against the real TeeRegistry: the prover's enclave key for the
/// market each test creates (the next market id; the registry does not need the market to exist yet) is registered
/// in setUp with a real dev TDX quote.
contract ProofMarketplaceEnclaveRuleTest is CairnTest, TeeRegistryFixture {
    address internal enclaveSigner = makeAddr("prover enclave");
    uint256 internal enclaveMarket;

    function setUp() public override {
        super.setUp();
        _setUpRegistry();
        enclaveMarket = marketplace.marketCount() + 1;
        _allow(TeeRole.Prover, enclaveMarket);
        _register(_binding(TeeRole.Prover, enclaveMarket, enclaveSigner));
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
    }

    function _proverOperator() internal view override returns (address) {
        return prover;
    }

    /// Creates the market the prover's key serves, with `mp`'s terms, and readies the prover in it.
    function _enclaveMarket(MarketParams memory mp) internal returns (uint256 id) {
        id = marketplace.createMarket(mp);
        assertEq(id, enclaveMarket);
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, mp.stakePerTask);
    }

    /// Governance removes the prover's key (a revoked key never comes back).
    function _revokeProverKey() internal {
        vm.prank(roleAdmin);
        teeRegistry.revoke(TeeRole.Prover, enclaveMarket, enclaveSigner);
    }

    /// A request in the enclave market, assigned to the prover and past its deadline.
    function _missedTask(uint256 id) internal returns (uint256 requestId) {
        RequestParams memory rp = _requestParams(0);
        rp.marketId = SafeCastLib.toUint32(id);
        requestId = _post(rp);
        _matcherAssign(requestId, prover);
        vm.warp(uint256(tasks[requestId].deadline) + 1);
    }

    /// The three shares of a slash add up to exactly the penalty, whatever the penalty and compensation rate, and
    /// compensation and slasher reward are paid only where the prover could have rejected the inputs instead: its
    /// key is active, or it was revoked before the slash.
    function testFuzz_slashSplitIsExact(uint96 penalty, uint16 compensationBps, bool proverHasEnclave) public {
        compensationBps = uint16(bound(compensationBps, 0, 10_000 - marketplace.SLASHER_REWARD_BPS()));
        MarketParams memory mp = _marketParams();
        mp.stakePerTask = uint96(bound(penalty, 1, type(uint96).max));
        mp.slashPenalty = uint96(bound(penalty, 0, mp.stakePerTask));
        mp.requesterCompensationBps = compensationBps;
        uint256 id = _enclaveMarket(mp);
        uint256 requestId = _missedTask(id);
        if (!proverHasEnclave) _revokeProverKey();
        assertEq(teeRegistry.hasActiveEnclave(id, prover), proverHasEnclave);

        vm.prank(stranger);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);

        uint256 compensation = marketplace.balanceOf(refundee, address(stakeToken));
        uint256 reward = marketplace.balanceOf(stranger, address(stakeToken));
        uint256 toTreasury = marketplace.balanceOf(treasury, address(stakeToken));
        assertEq(compensation + reward + toTreasury, mp.slashPenalty, "shares add up to the penalty");
        assertEq(stakeToken.balanceOf(address(marketplace)), mp.slashPenalty);
        uint256 expectedCompensation = proverHasEnclave ? uint256(mp.slashPenalty) * compensationBps / 10_000 : 0;
        uint256 expectedReward = proverHasEnclave ? uint256(mp.slashPenalty) * 500 / 10_000 : 0;
        assertEq(compensation, expectedCompensation);
        assertEq(reward, expectedReward);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD, "escrow back, never more");
    }

    /// The rule is read at slash time: a key that was active when the task was assigned but removed before the
    /// slash leaves the prover no way to attest the inputs, so the slash goes through without compensation or
    /// reward and the whole penalty goes to the treasury.
    function test_slash_enclaveKeyRevokedBeforeTheSlash_paysNoCompensation() public {
        uint256 id = _enclaveMarket(_marketParams());
        assertTrue(teeRegistry.hasActiveEnclave(id, prover));
        uint256 requestId = _missedTask(id);
        _revokeProverKey();
        assertFalse(teeRegistry.hasActiveEnclave(id, prover));

        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskSlashed(requestId, prover, SLASH_PENALTY, 0, 0, stranger);
        vm.prank(stranger);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
        assertEq(marketplace.balanceOf(refundee, address(stakeToken)), 0);
        assertEq(marketplace.balanceOf(stranger, address(stakeToken)), 0);
        assertEq(marketplace.balanceOf(treasury, address(stakeToken)), SLASH_PENALTY);
    }
}
