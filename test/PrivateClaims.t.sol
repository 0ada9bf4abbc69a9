// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Test.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {TeeRegistryFixture} from "./attestation/TeeRegistry.t.sol";
import {MarketplaceDigests} from "./utils/MarketplaceDigests.sol";
import {SignedRequestSupport} from "./utils/SignedRequestSupport.sol";
import {IPrivateClaims} from "../src/interfaces/IPrivateClaims.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {TeeRole} from "../src/attestation/interfaces/ITeeRegistry.sol";
import {Fulfilment, Inputs, Request, RequestParams, RequestStatus, Task} from "../src/types/Request.sol";
import {SignedRequest} from "../src/types/SignedRequest.sol";

/// @notice The censorship fallback for private requests (IPrivateClaims): a prover claims with claimPrivate, the
/// requester's refund address releases the data key wrapped to the prover's enclave, the prover proves; a key that
/// never comes ends in abandonUnkeyedClaim (refund, no slash), a wrong key in rejectInputKey (an enclave attestation
/// bound to the key the requester released). Runs against the real TeeRegistry with the prover's enclave key
/// registered in the Groth16 market.
contract PrivateClaimsTest is SignedRequestSupport, TeeRegistryFixture {
    uint32 internal constant WINDOW = 5 minutes;
    bytes internal constant ENVELOPE = hex"01c0ffee";
    bytes internal constant INPUT_KEY = hex"04aabbccdd";

    address internal enclaveProver;
    uint256 internal enclaveProverSecret;

    function setUp() public override {
        super.setUp();
        _setUpRegistry();
        (enclaveProver, enclaveProverSecret) = makeAddrAndKey("enclave-prover");
        _allow(TeeRole.Prover, marketId);
        _register(_binding(TeeRole.Prover, marketId, enclaveProver));
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
        _readyProver(prover, 4);
    }

    function _proverOperator() internal view override returns (address) {
        return prover;
    }

    function _claims() internal view returns (IPrivateClaims) {
        return IPrivateClaims(address(marketplace));
    }

    // ---------------------------------------------------------------- helpers

    /// A private request (fixture 0's public inputs, an envelope as private inputs) with a matching window of
    /// `window` seconds.
    function _privateParams(uint32 window) internal view returns (RequestParams memory p) {
        p = _requestParams(0);
        p.matchingExpiry = uint32(block.timestamp + window);
        p.deadline = p.matchingExpiry + PROVING_TIME;
        p.privateInputs = Inputs({data: ENVELOPE, uri: "", digest: bytes32(0)});
    }

    function _postPrivate() internal returns (uint256) {
        return _post(_privateParams(600));
    }

    function _publicDigest() internal view returns (bytes32) {
        return keccak256(fixtures[0].publicInputs);
    }

    /// claimPrivate as `who`, recording the task.
    function _claimPrivate(address who, uint256 requestId) internal {
        vm.recordLogs();
        vm.prank(who);
        _claims().claimPrivate(requestId, records[requestId], _publicDigest(), keccak256(ENVELOPE));
        _absorbLogs();
    }

    function _release(address from, uint256 requestId, bytes memory inputKey) internal {
        vm.prank(from);
        _claims().releaseInputKey(requestId, records[requestId], tasks[requestId], inputKey);
    }

    /// A private request, claimed with claimPrivate once the fallback opens.
    function _claimedPrivate() internal returns (uint256 requestId) {
        requestId = _postPrivate();
        vm.warp(block.timestamp + FALLBACK_DELAY);
        _claimPrivate(prover, requestId);
    }

    function _privateFulfilment(uint256 requestId) internal view returns (Fulfilment memory f) {
        f = _fulfilment(requestId, 0);
        f.privateInputsDigest = keccak256(ENVELOPE);
    }

    function _attestKey(uint256 requestId, bytes memory inputKey, uint256 secret) internal view returns (bytes memory) {
        bytes32 digest = MarketplaceDigests.invalidInputKey(
            address(marketplace), requestId, records[requestId].inputsDigest, keccak256(inputKey)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(secret, digest);
        return abi.encodePacked(r, s, v);
    }

    function _locked() internal view returns (uint128 locked) {
        (, locked) = staking.stakeOf(prover);
    }

    // ---------------------------------------------------------------- lifecycle

    function test_claimPrivate_releaseThenFulfil() public {
        uint256 requestId = _postPrivate();
        vm.warp(block.timestamp + FALLBACK_DELAY);
        uint32 keyDueBy = uint32(block.timestamp) + WINDOW;
        vm.expectEmit(true, true, false, true, address(marketplace));
        emit IPrivateClaims.PrivateClaimed(requestId, prover, keyDueBy);
        _claimPrivate(prover, requestId);

        Task memory t = tasks[requestId];
        assertEq(t.deadline, block.timestamp + WINDOW + PROVING_TIME, "deadline leaves the window and the proving time");
        assertEq(_claims().inputKeyWait(requestId), bytes32(uint256(keyDueBy)));
        assertEq(_locked(), STAKE_PER_TASK, "stake locked");
        assertEq(_claims().KEY_RELEASE_WINDOW(), WINDOW);

        vm.warp(block.timestamp + 60);
        vm.expectEmit(true, true, false, true, address(marketplace));
        emit IProofMarketplace.InputKeyReleased(requestId, prover, INPUT_KEY);
        _release(refundee, requestId, INPUT_KEY);
        assertEq(_claims().inputKeyWait(requestId), keccak256(INPUT_KEY));

        vm.prank(prover);
        marketplace.fulfil(_privateFulfilment(requestId));
        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Fulfilled));
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), t.price);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD - t.price);
        assertEq(_locked(), 0, "stake unlocked");
    }

    function test_abandonUnkeyedClaim_refundsInFullAndReleasesTheProverUnslashed() public {
        uint256 requestId = _claimedPrivate();
        Task memory t = tasks[requestId];
        (uint128 stakedBefore,) = staking.stakeOf(prover);
        vm.warp(block.timestamp + WINDOW + 1);

        vm.expectEmit(true, true, false, true, address(marketplace));
        emit IPrivateClaims.UnkeyedClaimAbandoned(requestId, prover);
        vm.expectEmit(true, false, false, true, address(marketplace));
        emit IProofMarketplace.RequestCancelled(requestId, MAX_REWARD);
        vm.prank(stranger);
        _claims().abandonUnkeyedClaim(requestId, records[requestId], t);

        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Cancelled));
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD, "refunded in full");
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), 0, "no payment");
        (uint128 stakedAfter, uint128 locked) = staking.stakeOf(prover);
        assertEq(stakedAfter, stakedBefore, "no slash");
        assertEq(locked, 0, "stake unlocked");
        assertEq(registry.prover(prover).computeInUse, 0, "capacity released");
        assertEq(_claims().inputKeyWait(requestId), bytes32(0));
    }

    /// A requester that withholds the key must not get the prover slashed (and collect compensation) by waiting
    /// for the task deadline: slash refuses, abandon still ends it.
    function test_RevertWhen_slashingAClaimWhoseKeyNeverCame() public {
        uint256 requestId = _claimedPrivate();
        Task memory t = tasks[requestId];
        vm.warp(uint256(t.deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.InputKeyNotReleased.selector, requestId));
        marketplace.slash(requestId, records[requestId], t);
        _claims().abandonUnkeyedClaim(requestId, records[requestId], t);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
    }

    function test_slash_keyedClaimPastItsDeadline() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Task memory t = tasks[requestId];
        vm.warp(uint256(t.deadline) + 1);
        marketplace.slash(requestId, records[requestId], t);
        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Slashed));
        (uint128 staked,) = staking.stakeOf(prover);
        assertEq(staked, uint256(STAKE_PER_TASK) * 4 - SLASH_PENALTY);
    }

    // ---------------------------------------------------------------- deadline maths

    /// The latest private claim ends its task exactly at matchingExpiry + provingTime; one second later is refused.
    function test_claimPrivate_latestClaimKeepsTheRequestsDeadline() public {
        uint256 requestId = _post(_privateParams(400));
        Request memory r = records[requestId];
        uint256 latest = uint256(r.matchingExpiry) - WINDOW;

        vm.warp(latest + 1);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.PrivateClaimTooLate.selector, requestId, latest));
        vm.prank(prover);
        _claims().claimPrivate(requestId, r, _publicDigest(), keccak256(ENVELOPE));

        vm.warp(latest);
        _claimPrivate(prover, requestId);
        assertEq(tasks[requestId].deadline, uint256(r.matchingExpiry) + r.provingTime);
    }

    /// A matching window shorter than fallbackDelay + KEY_RELEASE_WINDOW leaves no instant a private claim fits.
    function test_RevertWhen_matchingWindowTooShortForAPrivateClaim() public {
        uint256 requestId = _post(_privateParams(WINDOW + FALLBACK_DELAY - 1));
        Request memory r = records[requestId];
        vm.warp(uint256(r.createdAt) + FALLBACK_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPrivateClaims.PrivateClaimTooLate.selector, requestId, uint256(r.matchingExpiry) - WINDOW
            )
        );
        vm.prank(prover);
        _claims().claimPrivate(requestId, r, _publicDigest(), keccak256(ENVELOPE));
    }

    function test_RevertWhen_claimPrivateBeforeTheFallbackOpens() public {
        uint256 requestId = _postPrivate();
        Request memory r = records[requestId];
        vm.expectRevert(
            abi.encodeWithSelector(
                IProofMarketplace.FallbackNotOpen.selector, requestId, uint256(r.createdAt) + FALLBACK_DELAY
            )
        );
        vm.prank(prover);
        _claims().claimPrivate(requestId, r, _publicDigest(), keccak256(ENVELOPE));
    }

    function test_RevertWhen_claimPrivateWithDigestsThatDoNotComposeTheRecord() public {
        uint256 requestId = _postPrivate();
        vm.warp(block.timestamp + FALLBACK_DELAY);
        Request memory r = records[requestId];
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.InputsDigestsMismatch.selector, requestId));
        vm.prank(prover);
        _claims().claimPrivate(requestId, r, _publicDigest(), keccak256("another envelope"));
    }

    function test_RevertWhen_claimPrivateOfAPublicRequest() public {
        uint256 requestId = _post(0);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.NoPrivateInputs.selector, requestId));
        vm.prank(prover);
        _claims().claimPrivate(requestId, records[requestId], _publicDigest(), bytes32(0));
    }

    function test_RevertWhen_claimPrivateByAnUnlistedProver() public {
        uint256 requestId = _postPrivate();
        vm.warp(block.timestamp + FALLBACK_DELAY);
        Request memory r = records[requestId];
        bytes32 publicDigest = _publicDigest();
        vm.expectRevert();
        vm.prank(stranger);
        _claims().claimPrivate(requestId, r, publicDigest, keccak256(ENVELOPE));
        assertEq(_claims().inputKeyWait(requestId), bytes32(0), "nothing recorded");
    }

    // ---------------------------------------------------------------- attacks on the release

    function test_RevertWhen_someoneButTheRefundAddressReleases() public {
        uint256 requestId = _claimedPrivate();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        address[2] memory others = [stranger, prover];
        for (uint256 i; i < others.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.NotRefundAddress.selector, others[i], refundee));
            vm.prank(others[i]);
            _claims().releaseInputKey(requestId, r, t, INPUT_KEY);
        }
        // The requester that posted it, when it is not the refund address, is a third party too.
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.NotRefundAddress.selector, requester, refundee));
        vm.prank(requester);
        _claims().releaseInputKey(requestId, r, t, INPUT_KEY);
    }

    function test_RevertWhen_theRequesterReleasesTwice() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.InputKeyAlreadyReleased.selector, requestId));
        vm.prank(refundee);
        _claims().releaseInputKey(requestId, r, t, hex"04ffff");
        assertEq(_claims().inputKeyWait(requestId), keccak256(INPUT_KEY), "the first release stands");
    }

    function test_RevertWhen_releasingAfterTheWindow() public {
        uint256 requestId = _claimedPrivate();
        uint32 keyDueBy = uint32(uint256(_claims().inputKeyWait(requestId)));
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.warp(uint256(keyDueBy) + 1);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.KeyReleaseWindowClosed.selector, requestId, keyDueBy));
        vm.prank(refundee);
        _claims().releaseInputKey(requestId, r, t, INPUT_KEY);
        // At the window's last second it still goes through.
        vm.warp(keyDueBy);
        _release(refundee, requestId, INPUT_KEY);
    }

    function test_RevertWhen_releasingAnEmptyKey() public {
        uint256 requestId = _claimedPrivate();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.expectRevert(IPrivateClaims.EmptyInputKey.selector);
        vm.prank(refundee);
        _claims().releaseInputKey(requestId, r, t, "");
    }

    function test_RevertWhen_releasingForATaskNotClaimedPrivately() public {
        // A plain claim of a private request (the prover's own risk) and a matcher assignment await no key.
        uint256 claimed = _postPrivate();
        uint256 matched = _postPrivate();
        vm.warp(block.timestamp + FALLBACK_DELAY);
        _claim(prover, claimed);
        _matcherAssign(matched, prover);
        uint256[2] memory ids = [claimed, matched];
        for (uint256 i; i < ids.length; ++i) {
            Request memory r = records[ids[i]];
            Task memory t = tasks[ids[i]];
            vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.NoKeyAwaited.selector, ids[i]));
            vm.prank(refundee);
            _claims().releaseInputKey(ids[i], r, t, INPUT_KEY);
        }
        // The plain claim is slashed at its deadline as today.
        vm.warp(uint256(tasks[claimed].deadline) + 1);
        _slash(claimed);
        assertEq(uint8(marketplace.requestStatus(claimed)), uint8(RequestStatus.Slashed));
    }

    function test_RevertWhen_releasingWithForgedRecords() public {
        uint256 requestId = _claimedPrivate();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        r.refundAddress = stranger;
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, requestId));
        vm.prank(stranger);
        _claims().releaseInputKey(requestId, r, t, INPUT_KEY);
    }

    // ---------------------------------------------------------------- abandon

    function test_RevertWhen_abandoningWhileTheWindowIsOpen() public {
        uint256 requestId = _claimedPrivate();
        uint32 keyDueBy = uint32(uint256(_claims().inputKeyWait(requestId)));
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.warp(keyDueBy);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.KeyReleaseWindowOpen.selector, requestId, keyDueBy));
        _claims().abandonUnkeyedClaim(requestId, r, t);
    }

    function test_RevertWhen_abandoningAKeyedClaim() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.InputKeyAlreadyReleased.selector, requestId));
        _claims().abandonUnkeyedClaim(requestId, r, t);
    }

    // ---------------------------------------------------------------- a wrong key

    /// The requester released a key that does not open its inputs: the prover's enclave attests it over the hash of
    /// the released key; the prover is paid its price for the check and not slashed.
    function test_rejectInputKey_wrongKeyPaysTheCheckAndSlashesNobody() public {
        uint256 requestId = _claimedPrivate();
        bytes memory wrongKey = hex"04deadbeef";
        _release(refundee, requestId, wrongKey);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes memory sig = _attestKey(requestId, wrongKey, enclaveProverSecret);

        vm.expectEmit(true, true, false, true, address(marketplace));
        emit IProofMarketplace.InputsRejected(requestId, prover, t.price, MAX_REWARD - t.price);
        vm.prank(prover);
        _claims().rejectInputKey(requestId, r, t, sig);

        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.InputsRejected));
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), t.price);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD - t.price);
        assertEq(_locked(), 0, "stake unlocked");
        assertEq(registry.prover(prover).computeInUse, 0, "capacity released");
        (uint128 staked,) = staking.stakeOf(prover);
        assertEq(staked, uint256(STAKE_PER_TASK) * 4, "no slash");
    }

    /// The prover's host fakes a release (a key of its own wrapped to its enclave) to get a bogus attestation: the
    /// enclave's signature covers the fake key's hash, which is not the one the requester released.
    function test_RevertWhen_rejectInputKeyOverAKeyTheRequesterDidNotRelease() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes memory fakeKey = hex"04f00d";
        bytes memory sig = _attestKey(requestId, fakeKey, enclaveProverSecret);
        bytes32 checked =
            MarketplaceDigests.invalidInputKey(address(marketplace), requestId, r.inputsDigest, keccak256(INPUT_KEY));
        address recovered = ECDSA.recover(checked, sig);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotProverEnclave.selector, recovered, prover));
        vm.prank(prover);
        _claims().rejectInputKey(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputKeyBeforeAnyRelease() public {
        uint256 requestId = _claimedPrivate();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes memory sig = _attestKey(requestId, INPUT_KEY, enclaveProverSecret);
        vm.expectRevert(abi.encodeWithSelector(IPrivateClaims.InputKeyNotReleased.selector, requestId));
        vm.prank(prover);
        _claims().rejectInputKey(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputKeyByAnotherThanTheProver() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes memory sig = _attestKey(requestId, INPUT_KEY, enclaveProverSecret);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, stranger, prover));
        vm.prank(stranger);
        _claims().rejectInputKey(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputKeySignedOutsideTheProversEnclave() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        (address outsider, uint256 outsiderSecret) = makeAddrAndKey("not an enclave");
        bytes memory sig = _attestKey(requestId, INPUT_KEY, outsiderSecret);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotProverEnclave.selector, outsider, prover));
        vm.prank(prover);
        _claims().rejectInputKey(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputKeyAfterTheDeadline() public {
        uint256 requestId = _claimedPrivate();
        _release(refundee, requestId, INPUT_KEY);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes memory sig = _attestKey(requestId, INPUT_KEY, enclaveProverSecret);
        vm.warp(uint256(t.deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.TaskDeadlinePassed.selector, requestId, t.deadline));
        vm.prank(prover);
        _claims().rejectInputKey(requestId, r, t, sig);
    }

    // ---------------------------------------------------------------- signed requests

    /// A signed private request posted on chain (the matcher is down), then claimed privately and keyed by its
    /// refund address.
    function test_postedSignedRequest_claimPrivateReleaseFulfil() public {
        _fund(signer, MAX_REWARD);
        SignedRequest memory s = _signedRequest(signer, 3, 0);
        s.matchingExpiry = uint32(block.timestamp + 600);
        s.deadline = s.matchingExpiry + PROVING_TIME;
        s.privateInputs = Inputs({data: ENVELOPE, uri: "", digest: bytes32(0)});
        uint256 requestId = _postSigned(s, _signRequest(signerKey, s));
        vm.warp(block.timestamp + FALLBACK_DELAY);
        _claimPrivate(prover, requestId);
        _release(refundee, requestId, INPUT_KEY);
        vm.prank(prover);
        marketplace.fulfil(_privateFulfilment(requestId));
        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Fulfilled));
    }

    /// The logs a claim emits carry what the SDK needs: TaskAssigned (byMatcher false) and PrivateClaimed.
    function test_claimPrivate_emitsTheTaskAsAFallbackClaim() public {
        uint256 requestId = _postPrivate();
        vm.warp(block.timestamp + FALLBACK_DELAY);
        vm.recordLogs();
        vm.prank(prover);
        _claims().claimPrivate(requestId, records[requestId], _publicDigest(), keccak256(ENVELOPE));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool assigned;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] != IProofMarketplace.TaskAssigned.selector) continue;
            (, bool byMatcher) = abi.decode(logs[i].data, (Task, bool));
            assertFalse(byMatcher);
            assigned = true;
        }
        assertTrue(assigned);
    }
}
