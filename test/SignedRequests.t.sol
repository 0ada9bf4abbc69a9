// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {SignedRequestSupport} from "./utils/SignedRequestSupport.sol";
import {MarketplaceDigests} from "./utils/MarketplaceDigests.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {ISignedRequests} from "../src/interfaces/ISignedRequests.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {MarketParams} from "../src/types/Market.sol";
import {Request, RequestStatus} from "../src/types/Request.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {SignedMatch, SignedRequest} from "../src/types/SignedRequest.sol";

/// @notice An ERC-1271 wallet approving what its owner key signs.
contract OwnerWallet {
    address internal immutable _owner;

    constructor(address owner_) {
        _owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view virtual returns (bytes4) {
        return ECDSA.recoverCalldata(hash, signature) == _owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}

/// @notice Answers every signature with a wrong magic value.
contract WrongMagicWallet {
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return 0xdeadbeef;
    }
}

/// @notice Reverts on every signature check.
contract RevertingWallet {
    error No();

    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        revert No();
    }
}

/// @notice Burns every unit of gas its signature check is given.
contract GasBurnerWallet {
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        while (true) {}
        return 0x1626ba7e;
    }
}

/// @notice Answers with the magic value followed by a second word: not the one-word answer ERC-1271 specifies.
contract LongAnswerWallet {
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4, uint256) {
        return (0x1626ba7e, 1);
    }
}

/// @notice A verifier answering every call with a word that is not a boolean (2).
contract NonBooleanVerifier {
    fallback() external {
        assembly {
            mstore(0x00, 2)
            return(0x00, 0x20)
        }
    }
}

/// @notice Tries to re-enter the marketplace from its signature check (posting the request being checked), then
/// approves anyway: the re-entry must fail (the check is a staticcall, and the marketplace holds its lock).
contract ReentrantWallet {
    ISignedRequests internal immutable _marketplace;
    SignedRequest internal _request;
    bool public reentered;

    constructor(ISignedRequests marketplace_) {
        _marketplace = marketplace_;
    }

    function setRequest(SignedRequest calldata request) external {
        _request = request;
    }

    function isValidSignature(bytes32, bytes calldata signature) external returns (bytes4) {
        try _marketplace.postSignedRequest(_request, signature) {
            reentered = true;
        } catch {}
        return 0x1626ba7e;
    }
}

/// @notice Requests signed off chain: assignment in the matcher's batch, the on-chain posting fallback, cancellation,
/// and every replay form.
contract SignedRequestsTest is SignedRequestSupport {
    function setUp() public override {
        super.setUp();
        _readyProver(prover, 20);
        _fund(signer, uint256(MAX_REWARD) * 10);
    }

    // ---------------------------------------------------------------- the signed path

    function test_assignSigned_recordsEscrowsAndAssigns() public {
        SignedRequest memory r = _signedRequest(signer, 7, 0);
        uint256 id = _signedId(r);
        assertEq(_signedRequests().signedRequestId(r), id);
        assertEq(_signedRequests().signedRequestDigest(r), MarketplaceDigests.signedRequest(address(marketplace), r));
        uint256 before = marketplace.balanceOf(signer, address(payToken));

        vm.expectEmit(address(marketplace));
        emit ISignedRequests.SignedRequestUsed(id, signer, 7);
        assertEq(_assignSigned(_oneSigned(r, _signRequest(signerKey, r), prover)), 1);

        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Assigned));
        assertEq(marketplace.balanceOf(signer, address(payToken)), before - MAX_REWARD);
        assertEq(_signedRequests().nonceBitmap(signer, 0), 1 << 7);
        assertEq(records[id].createdAt, block.timestamp);
        assertEq(records[id].refundAddress, refundee);
        assertEq(tasks[id].prover, prover);

        // The records the events carried settle it like any request.
        _fulfil(prover, id, 0);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Fulfilled));
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD - PRICE);
    }

    function test_assignSigned_idsAreOutsideTheOnChainRange() public {
        uint256 onChain = _post(0);
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        uint256 id = _signedId(r);
        assertEq(id >> 64, marketId);
        assertTrue(id & (1 << 63) != 0);
        assertTrue(onChain & (1 << 63) == 0);
    }

    function test_assignSigned_failingItemRollsBackAndOthersAssign() public {
        SignedRequest memory a = _signedRequest(signer, 1, 0);
        SignedRequest memory b = _signedRequest(signer, 2, 1);
        SignedMatch[] memory m = new SignedMatch[](2);
        m[0] = _signedMatch(a, _signRequest(signerKey, a), prover);
        m[0].price = PRICE + 1; // the matcher signed other terms than the listing's: the assignment fails
        m[1] = _signedMatch(b, _signRequest(signerKey, b), prover);
        uint256 before = marketplace.balanceOf(signer, address(payToken));

        assertEq(_assignSigned(m), 1);
        assertEq(
            skipReasons[0],
            abi.encodeWithSelector(
                IProofMarketplace.ListingChanged.selector, prover, PRICE + 1, PRICE, LISTED_TIME, LISTED_TIME
            )
        );
        // The failed item left nothing: nonce unused, escrow untouched, no request.
        assertEq(uint8(marketplace.requestStatus(_signedId(a))), uint8(RequestStatus.None));
        assertEq(_signedRequests().nonceBitmap(signer, 0), 1 << 2);
        assertEq(marketplace.balanceOf(signer, address(payToken)), before - MAX_REWARD);
    }

    function test_assignSigned_depositTooSmallIsSkipped() public {
        (address poor, uint256 poorKey) = makeAddrAndKey("poor");
        _fund(poor, MAX_REWARD - 1);
        SignedRequest memory r = _signedRequest(poor, 0, 0);
        assertEq(_assignSigned(_oneSigned(r, _signRequest(poorKey, r), prover)), 0);
        assertEq(
            skipReasons[0],
            abi.encodeWithSelector(
                ISignedRequests.InsufficientDeposit.selector, poor, address(payToken), MAX_REWARD - 1, MAX_REWARD
            )
        );
        assertEq(_signedRequests().nonceBitmap(poor, 0), 0);
    }

    /// Public inputs the market's verifier refuses: skipped with InvalidPublicInputs (posting reverts with it), and
    /// nothing spent.
    function test_assignSigned_invalidPublicInputsIsSkipped() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        r.publicInputs.data = abi.encodePacked(r.publicInputs.data, uint256(1)); // one signal too many
        bytes memory sig = _signRequest(signerKey, r);
        uint256 balance = marketplace.balanceOf(signer, address(payToken));
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(IProofMarketplace.InvalidPublicInputs.selector));
        vm.expectRevert(IProofMarketplace.InvalidPublicInputs.selector);
        _signedRequests().postSignedRequest(r, sig);
        assertEq(_signedRequests().nonceBitmap(signer, 0), 0);
        assertEq(marketplace.balanceOf(signer, address(payToken)), balance);
    }

    /// A verifier whose validatePublicInputs answers something other than a boolean fails its item (CallFailed, naming
    /// the verifier), never the batch: the next item is assigned.
    function test_assignSigned_nonBooleanValidationFailsTheItemOnly() public {
        MarketParams memory params = _marketParams();
        params.verifier = IProofVerifier(address(new NonBooleanVerifier()));
        uint256 odd = marketplace.createMarket(params);
        SignedRequest memory a = _signedRequest(signer, 0, 0);
        a.marketId = SafeCastLib.toUint32(odd);
        SignedRequest memory b = _signedRequest(signer, 1, 1);
        SignedMatch[] memory m = new SignedMatch[](2);
        m[0] = SignedMatch({
            prover: prover, price: PRICE, provingTime: LISTED_TIME, request: a, signature: _signRequest(signerKey, a)
        });
        m[1] = _signedMatch(b, _signRequest(signerKey, b), prover);
        assertEq(_assignSigned(m), 1);
        assertEq(skipReasons[0], abi.encodeWithSelector(IProofMarketplace.CallFailed.selector, params.verifier));
        assertEq(uint8(marketplace.requestStatus(_signedId(b))), uint8(RequestStatus.Assigned));
        assertEq(_signedRequests().nonceBitmap(signer, 0), 1 << 1);
    }

    function test_assignSigned_badScheduleIsSkipped() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        vm.warp(uint256(r.matchingExpiry) + 1);
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 0);
        assertEq(
            skipReasons[0],
            abi.encodeWithSelector(IProofMarketplace.DeadlineShorterThanProvingTime.selector, r.deadline, r.provingTime)
        );
    }

    function test_assignSigned_badMatcherSignatureReverts() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        SignedMatch[] memory m = _oneSigned(r, _signRequest(signerKey, r), prover);
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory sig = _signSigned(signerKey, m, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, signer));
        _signedRequests().assignSigned(m, new bytes[](0), validUntil, sig);
    }

    // ---------------------------------------------------------------- the censorship fallback

    function test_postSignedRequest_opensAClaimableRequest() public {
        SignedRequest memory r = _signedRequest(signer, 3, 0);
        vm.prank(stranger);
        uint256 id = _postSigned(r, _signRequest(signerKey, r));
        assertEq(id, _signedId(r));
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Open));

        vm.prank(prover);
        vm.expectRevert(
            abi.encodeWithSelector(IProofMarketplace.FallbackNotOpen.selector, id, block.timestamp + FALLBACK_DELAY)
        );
        marketplace.claim(id, records[id]);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        _claim(prover, id);
        _fulfil(prover, id, 0);
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Fulfilled));
    }

    function test_postSignedRequest_expiredIsCancellable() public {
        SignedRequest memory r = _signedRequest(signer, 3, 0);
        uint256 id = _postSigned(r, _signRequest(signerKey, r));
        vm.warp(uint256(r.matchingExpiry) + 1);
        marketplace.cancel(id, records[id]);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
    }

    // ---------------------------------------------------------------- replay

    function test_replay_sameSignatureTwiceInOneBatch() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        SignedMatch[] memory m = new SignedMatch[](2);
        m[0] = _signedMatch(r, sig, prover);
        m[1] = m[0];
        assertEq(_assignSigned(m), 1);
        assertEq(skipReasons.length, 1);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
    }

    function test_replay_acrossTwoBatches() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 1);
        uint256 balance = marketplace.balanceOf(signer, address(payToken));
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
        assertEq(marketplace.balanceOf(signer, address(payToken)), balance);
    }

    function test_replay_assignAfterPost() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        _postSigned(r, sig);
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
    }

    function test_replay_postAfterAssign() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        _assignSigned(_oneSigned(r, sig, prover));
        vm.expectRevert(abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
        _signedRequests().postSignedRequest(r, sig);
    }

    function test_replay_postTwice() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        _postSigned(r, sig);
        vm.expectRevert(abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 0));
        _signedRequests().postSignedRequest(r, sig);
    }

    function test_replay_anotherChainId() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        uint256 chainId = block.chainid;
        vm.chainId(chainId + 1);
        bytes memory sig = _signRequest(signerKey, r);
        vm.chainId(chainId);
        _expectBadSignature(r, sig, signer);
    }

    function test_replay_anotherMarketplace() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes32 structHash = MarketplaceDigests.signedRequestStructHash(r);
        bytes32 otherDomain = keccak256(
            abi.encode(
                MarketplaceDigests.DOMAIN_TYPEHASH,
                keccak256("Cairn ProofMarketplace"),
                keccak256("1"),
                block.chainid,
                makeAddr("another marketplace")
            )
        );
        (uint8 v, bytes32 rr, bytes32 s) =
            vm.sign(signerKey, keccak256(abi.encodePacked("\x19\x01", otherDomain, structHash)));
        _expectBadSignature(r, abi.encodePacked(rr, s, v), signer);
    }

    function test_replay_afterCancellation() public {
        SignedRequest memory r = _signedRequest(signer, 300, 0);
        bytes memory sig = _signRequest(signerKey, r);
        vm.expectEmit(address(marketplace));
        emit ISignedRequests.NoncesInvalidated(signer, 1, 1 << 44);
        vm.prank(signer);
        _signedRequests().invalidateNonces(1, 1 << 44);
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 300));
        vm.expectRevert(abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, signer, 300));
        _signedRequests().postSignedRequest(r, sig);
    }

    function test_replay_cancellationIsTheRequesters() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        vm.prank(stranger);
        _signedRequests().invalidateNonces(0, type(uint256).max);
        assertEq(_assignSigned(_oneSigned(r, _signRequest(signerKey, r), prover)), 1);
    }

    function test_replay_signatureBySomeoneElse() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        (, uint256 otherKey) = makeAddrAndKey("other");
        _expectBadSignature(r, _signRequest(otherKey, r), signer);
    }

    function test_replay_malformedSignatures() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        _expectBadSignature(r, "", signer);
        _expectBadSignature(r, hex"1234", signer);
        bytes memory short = new bytes(64);
        for (uint256 i; i < 63; ++i) {
            short[i] = sig[i];
        }
        _expectBadSignature(r, short, signer);
        sig[64] = bytes1(uint8(29)); // v out of range
        _expectBadSignature(r, sig, signer);
    }

    function test_replay_alteredRequest() public {
        SignedRequest memory r = _signedRequest(signer, 0, 0);
        bytes memory sig = _signRequest(signerKey, r);
        r.maxReward += 1;
        _expectBadSignature(r, sig, signer);
    }

    // ---------------------------------------------------------------- ERC-1271 wallets

    function test_erc1271_walletSigns() public {
        (address walletOwner, uint256 walletKey) = makeAddrAndKey("wallet owner");
        address wallet = address(new OwnerWallet(walletOwner));
        _fund(wallet, MAX_REWARD);
        SignedRequest memory r = _signedRequest(wallet, 0, 0);
        assertEq(_assignSigned(_oneSigned(r, _signRequest(walletKey, r), prover)), 1);
        assertEq(marketplace.balanceOf(wallet, address(payToken)), 0);
        // The wallet's owner key is not the requester: only the wallet's answer counts.
        _fund(walletOwner, MAX_REWARD);
        SignedRequest memory own = _signedRequest(walletOwner, 0, 0);
        assertEq(_assignSigned(_oneSigned(own, _signRequest(walletKey, own), prover)), 1);
    }

    function test_erc1271_wrongMagicValue() public {
        address wallet = address(new WrongMagicWallet());
        _fund(wallet, MAX_REWARD);
        SignedRequest memory r = _signedRequest(wallet, 0, 0);
        _expectBadSignature(r, _signRequest(signerKey, r), wallet);
    }

    function test_erc1271_reverting() public {
        address wallet = address(new RevertingWallet());
        _fund(wallet, MAX_REWARD);
        SignedRequest memory r = _signedRequest(wallet, 0, 0);
        _expectBadSignature(r, _signRequest(signerKey, r), wallet);
    }

    function test_erc1271_reentrant() public {
        ReentrantWallet wallet = new ReentrantWallet(_signedRequests());
        _fund(address(wallet), uint256(MAX_REWARD) * 2);
        SignedRequest memory r = _signedRequest(address(wallet), 0, 0);
        wallet.setRequest(r);
        bytes memory sig = hex"01";
        // Its signature check runs by staticcall, inside the marketplace's lock: the re-entry fails, and the check (an
        // approval) lets the request be used exactly once.
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 1);
        assertFalse(wallet.reentered());
        assertEq(marketplace.balanceOf(address(wallet), address(payToken)), MAX_REWARD);
        vm.expectRevert(abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, address(wallet), 0));
        _signedRequests().postSignedRequest(r, sig);
    }

    function test_erc1271_gasBurner() public {
        address wallet = address(new GasBurnerWallet());
        _fund(wallet, MAX_REWARD);
        SignedRequest memory r = _signedRequest(wallet, 0, 0);
        // Its check fails inside its staticcall: the item is skipped with nothing spent.
        assertEq(_assignSigned(_oneSigned(r, hex"01", prover)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, wallet));
        assertEq(_signedRequests().nonceBitmap(wallet, 0), 0);
        assertEq(marketplace.balanceOf(wallet, address(payToken)), MAX_REWARD);
    }

    /// A wallet that burns gas costs the batch at most ERC1271_GAS_LIMIT: uncapped, its staticcall would take 63/64
    /// of the batch's gas and the good items after it could not finish (the whole batch reverting out of gas).
    function test_erc1271_gasBurnerCannotStarveTheRestOfABatch() public {
        address wallet = address(new GasBurnerWallet());
        _fund(wallet, MAX_REWARD);
        SignedMatch[] memory m = new SignedMatch[](4);
        SignedRequest memory burner = _signedRequest(wallet, 0, 0);
        m[0] = _signedMatch(burner, hex"01", prover);
        for (uint256 i = 1; i < m.length; ++i) {
            SignedRequest memory r = _signedRequest(signer, 100 + i, i % 2);
            m[i] = _signedMatch(r, _signRequest(signerKey, r), prover);
        }
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory signature = _signSigned(matcherKey, m, validUntil);
        ISignedRequests signed = _signedRequests();

        // A gas limit a matcher would send: what the three good items need plus the wallet's cap.
        vm.recordLogs();
        uint256 assigned =
            signed.assignSigned{gas: 1_000_000 + signed.ERC1271_GAS_LIMIT()}(m, new bytes[](0), validUntil, signature);
        _absorbLogs();
        assertEq(assigned, 3);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, wallet));
        for (uint256 i = 1; i < m.length; ++i) {
            assertEq(uint8(marketplace.requestStatus(_signedId(m[i].request))), uint8(RequestStatus.Assigned));
        }
        assertEq(marketplace.balanceOf(wallet, address(payToken)), MAX_REWARD);
    }

    /// The ERC-1271 answer counts only as exactly one word holding the magic value.
    function test_erc1271_magicValueMustBeExactlyOneWord() public {
        address wallet = address(new LongAnswerWallet());
        _fund(wallet, MAX_REWARD);
        SignedRequest memory r = _signedRequest(wallet, 0, 0);
        _expectBadSignature(r, hex"01", wallet);
    }

    // ---------------------------------------------------------------- helpers

    /// The item is skipped in a batch and posting reverts, with BadRequesterSignature; nothing changes.
    function _expectBadSignature(SignedRequest memory r, bytes memory sig, address requester_) internal {
        uint256 balance = marketplace.balanceOf(requester_, address(payToken));
        assertEq(_assignSigned(_oneSigned(r, sig, prover)), 0);
        assertEq(skipReasons[0], abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, requester_));
        vm.expectRevert(abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, requester_));
        _signedRequests().postSignedRequest(r, sig);
        assertEq(marketplace.balanceOf(requester_, address(payToken)), balance);
        assertEq(_signedRequests().nonceBitmap(requester_, r.nonce >> 8), 0);
    }
}
