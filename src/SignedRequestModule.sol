// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {SignatureCheckerLib} from "solady/utils/SignatureCheckerLib.sol";

import {IEnclaveKeys} from "./interfaces/IEnclaveKeys.sol";
import {IPrivateClaims} from "./interfaces/IPrivateClaims.sol";
import {IProofMarketplace} from "./interfaces/IProofMarketplace.sol";
import {IProverRegistry} from "./interfaces/IProverRegistry.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {ISignedRequests} from "./interfaces/ISignedRequests.sol";
import {MarketplaceBase} from "./MarketplaceBase.sol";
import {Clock} from "./libraries/Clock.sol";
import {RequestCommitment} from "./libraries/RequestCommitment.sol";
import {StructArrayHashing} from "./libraries/StructArrayHashing.sol";
import {AssignmentLibrary} from "./types/Assignment.sol";
import {Inputs} from "./types/Inputs.sol";
import {InvalidInputKey} from "./types/InvalidInputKey.sol";
import {Market} from "./types/Market.sol";
import {Request, RequestStatus, Task} from "./types/Request.sol";
import {SignedMatch, SignedRequest, SignedRequestLibrary} from "./types/SignedRequest.sol";

/// @title SignedRequestModule
/// @notice Requests signed off chain (ISignedRequests) and the private-input fallback claim (IPrivateClaims), run by the marketplace's fallback by delegatecall: in its
/// storage, under its address and domain, with its reentrancy lock. Deployed by the ProofMarketplace constructor.
/// @dev Called directly, it acts on its own empty storage and holds nothing. Design:
/// - Replay: a signed request's EIP-712 digest binds chain and marketplace (domain), requester and nonce; its use spends
///   the nonce (Permit2-style bitmap, one bit per nonce, 256 to a slot) and records it under an id derived from the
///   digest, whose slot never returns to None: a signed request is used at most once, on one chain and marketplace.
/// - Cancellation spends nonces without a use (invalidateNonces), a word of 256 at a time.
/// - Escrow is taken from the requester's marketplace balance at use, never pulled with transferFrom: a signature is
///   not an approval to move the requester's tokens.
/// - assignSigned verifies the matcher's signature once, then runs each item in a self-call (assignSignedItem) that
///   records the request and assigns it with the marketplace's own rules (MarketplaceBase._assign, strict): a failing
///   item reverts its call whole (nonce, escrow, record, reservation) and is skipped with its exact error.
/// - Private claims (IPrivateClaims) keep one slot per claim (_inputKeyWaits): its key's due time, then the released
///   key's hash. They assign with the marketplace's own rules (_checkAssignable, _reserveAndLock with the window as
///   extra deadline); their two settlements (abandon, reject the key) release capacity and stake as the marketplace's
///   settlements do.
contract SignedRequestModule is ISignedRequests, IPrivateClaims, MarketplaceBase {
    /// @inheritdoc IPrivateClaims
    /// @dev Five minutes: room for a requester's SDK to see the claim (a few polls) and land a transaction through
    /// congestion on any chain Cairn targets, short enough that a requester who never releases ties up the prover's
    /// capacity and stake lock for little. Both sides run software (the SDK's waitForProof releases on its own).
    uint32 public constant KEY_RELEASE_WINDOW = 5 minutes;

    constructor(IProverRegistry registry_) MarketplaceBase(registry_) {}

    /// @inheritdoc ISignedRequests
    function assignSigned(
        SignedMatch[] calldata matches,
        bytes[] calldata inputKeys,
        uint64 validUntil,
        bytes calldata signature
    ) external nonReentrant returns (uint256 assigned) {
        if (matches.length == 0) revert IProofMarketplace.EmptyBatch();
        bool withKeys = inputKeys.length != 0;
        if (withKeys && inputKeys.length != matches.length) {
            revert IProofMarketplace.InputKeysLengthMismatch(inputKeys.length, matches.length);
        }
        if (Clock.timestamp() > validUntil) revert IProofMarketplace.MatcherSignatureExpired(validUntil);

        uint256[] memory ids = new uint256[](matches.length);
        bytes32[] memory items = new bytes32[](matches.length);
        for (uint256 i; i < matches.length; ++i) {
            SignedMatch calldata m = matches[i];
            ids[i] = SignedRequestLibrary.id(m.request.marketId, _hashTypedData(m.request.hash()));
            items[i] = keccak256(
                abi.encode(
                    AssignmentLibrary.ASSIGNMENT_TYPEHASH,
                    ids[i],
                    m.prover,
                    m.price,
                    m.provingTime,
                    withKeys ? keccak256(inputKeys[i]) : AssignmentLibrary.EMPTY_KEY_HASH
                )
            );
        }
        address signer = ECDSA.recoverCalldata(
            _hashTypedData(AssignmentLibrary._hashBatch(StructArrayHashing.hash(items), validUntil)), signature
        );
        if (!matcherAuthority.isMatcher(signer)) revert IProofMarketplace.NotMatcher(signer);

        for (uint256 i; i < matches.length; ++i) {
            SignedMatch calldata m = matches[i];
            uint256 gasBefore = gasleft();
            try ISignedRequests(address(this)).assignSignedItem(m, _recordOf(m.request)) {
                ++assigned;
                if (withKeys && inputKeys[i].length != 0) {
                    emit IProofMarketplace.InputKeyReleased(ids[i], m.prover, inputKeys[i]);
                }
            } catch (bytes memory why) {
                emit IProofMarketplace.AssignmentSkipped(ids[i], m.prover, _callFailure(why, address(this), gasBefore));
            }
        }
    }

    /// @inheritdoc ISignedRequests
    /// @dev Not nonReentrant: it runs inside assignSigned, which holds the lock; only the marketplace may call it.
    function assignSignedItem(SignedMatch calldata item, Request calldata record) external {
        if (msg.sender != address(this)) revert OnlyMarketplace(msg.sender);
        uint256 requestId = _use(item.request, item.signature, record);
        _assign(requestId, record, item.prover, item.price, item.provingTime, true, true);
    }

    /// @inheritdoc ISignedRequests
    function postSignedRequest(SignedRequest calldata request, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        return _use(request, signature, _recordOf(request));
    }

    /// @inheritdoc ISignedRequests
    function invalidateNonces(uint256 wordPos, uint256 mask) external nonReentrant {
        _nonceBitmap[msg.sender][wordPos] |= mask;
        emit NoncesInvalidated(msg.sender, wordPos, mask);
    }

    /// @inheritdoc ISignedRequests
    function nonceBitmap(address requester, uint256 wordPos) external view returns (uint256) {
        return _nonceBitmap[requester][wordPos];
    }

    /// @inheritdoc ISignedRequests
    function signedRequestDigest(SignedRequest calldata request) external view returns (bytes32) {
        return _hashTypedData(request.hash());
    }

    /// @inheritdoc ISignedRequests
    function signedRequestId(SignedRequest calldata request) external view returns (uint256) {
        return SignedRequestLibrary.id(request.marketId, _hashTypedData(request.hash()));
    }

    // ================================================================ private claims

    /// @inheritdoc IPrivateClaims
    function claimPrivate(
        uint256 requestId,
        Request calldata request,
        bytes32 publicInputsDigest,
        bytes32 privateInputsDigest
    ) external nonReentrant {
        bytes memory why = _checkAssignable(requestId, request, false);
        if (why.length != 0) _reject(true, why);
        if (keccak256(abi.encodePacked(publicInputsDigest, privateInputsDigest)) != request.inputsDigest) {
            revert InputsDigestsMismatch(requestId);
        }
        if (privateInputsDigest == bytes32(0)) revert NoPrivateInputs(requestId);
        // The task's deadline (now + window + provingTime) must stay within matchingExpiry + provingTime.
        uint256 latestClaim = uint256(request.matchingExpiry) - KEY_RELEASE_WINDOW;
        if (Clock.timestamp() > latestClaim) revert PrivateClaimTooLate(requestId, latestClaim);
        uint32 keyDueBy = Clock.timestamp32() + KEY_RELEASE_WINDOW;
        _inputKeyWaits[requestId] = bytes32(uint256(keyDueBy));
        why = _reserveAndLock(requestId, request, msg.sender, 0, 0, false, KEY_RELEASE_WINDOW);
        if (why.length != 0) _reject(true, why);
        emit PrivateClaimed(requestId, msg.sender, keyDueBy);
    }

    /// @inheritdoc IPrivateClaims
    function releaseInputKey(uint256 requestId, Request calldata request, Task calldata task, bytes calldata inputKey)
        external
        nonReentrant
    {
        _requireAssigned(requestId, request, task);
        if (msg.sender != request.refundAddress) revert NotRefundAddress(msg.sender, request.refundAddress);
        if (inputKey.length == 0) revert EmptyInputKey();
        uint32 keyDueBy = _awaitedKeyDueBy(requestId);
        if (Clock.timestamp() > keyDueBy) revert KeyReleaseWindowClosed(requestId, keyDueBy);
        _inputKeyWaits[requestId] = keccak256(inputKey);
        emit IProofMarketplace.InputKeyReleased(requestId, task.prover, inputKey);
    }

    /// @inheritdoc IPrivateClaims
    function abandonUnkeyedClaim(uint256 requestId, Request calldata request, Task calldata task)
        external
        nonReentrant
    {
        _requireAssigned(requestId, request, task);
        uint32 keyDueBy = _awaitedKeyDueBy(requestId);
        if (Clock.timestamp() <= keyDueBy) revert KeyReleaseWindowOpen(requestId, keyDueBy);
        delete _inputKeyWaits[requestId];
        _commitments[requestId] = RequestCommitment.finished(RequestStatus.Cancelled);
        Market storage m = _markets[_marketOf(requestId)];
        _balances[request.refundAddress][m.paymentToken] += request.maxReward;
        emit UnkeyedClaimAbandoned(requestId, task.prover);
        emit IProofMarketplace.RequestCancelled(requestId, request.maxReward);
        _registry.release(task.prover, task.compute);
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask != 0) m.stakeSource.unlock(task.prover, requestId, stakePerTask);
    }

    /// @inheritdoc IPrivateClaims
    function rejectInputKey(uint256 requestId, Request calldata request, Task calldata task, bytes calldata signature)
        external
        nonReentrant
    {
        _requireAssigned(requestId, request, task);
        if (msg.sender != task.prover) revert IProofMarketplace.NotAssignedProver(msg.sender, task.prover);
        if (Clock.timestamp() > task.deadline) revert IProofMarketplace.TaskDeadlinePassed(requestId, task.deadline);
        bytes32 keyHash = _inputKeyWaits[requestId];
        if (uint256(keyHash) <= type(uint32).max) {
            if (keyHash == bytes32(0)) revert NoKeyAwaited(requestId);
            revert InputKeyNotReleased(requestId);
        }
        IEnclaveKeys keys = enclaveKeys;
        if (address(keys) == address(0)) revert IProofMarketplace.EnclaveKeysNotSet();
        address signer = ECDSA.recoverCalldata(
            _hashTypedData(InvalidInputKey(requestId, request.inputsDigest, keyHash).hash()), signature
        );
        uint256 marketId = _marketOf(requestId);
        if (keys.enclaveOperator(marketId, signer) != task.prover) {
            revert IProofMarketplace.NotProverEnclave(signer, task.prover);
        }
        _settleRejected(requestId, request, task, _markets[marketId]);
    }

    /// @dev The marketplace's InputsRejected settlement (ProofMarketplace._settle): the prover is paid its price, the
    /// rest of the escrow refunded, its capacity and stake released.
    function _settleRejected(uint256 requestId, Request calldata request, Task calldata task, Market storage m)
        internal
    {
        _commitments[requestId] = RequestCommitment.finished(RequestStatus.InputsRejected);
        address token = m.paymentToken;
        uint96 refund = request.maxReward - task.price;
        emit IProofMarketplace.InputsRejected(requestId, task.prover, task.price, refund);
        address rewardAddress = _registry.release(task.prover, task.compute);
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask != 0) m.stakeSource.unlock(task.prover, requestId, stakePerTask);
        _balances[rewardAddress][token] += task.price;
        if (refund != 0) _balances[request.refundAddress][token] += refund;
    }

    /// @inheritdoc IPrivateClaims
    function inputKeyWait(uint256 requestId) external view returns (bytes32) {
        return _inputKeyWaits[requestId];
    }

    /// @dev Reverts unless (request, task) are the records of the assigned request `requestId`, with the
    /// marketplace's errors.
    function _requireAssigned(uint256 requestId, Request calldata request, Task calldata task) internal view {
        bytes32 commitment = _commitments[requestId];
        RequestStatus status = RequestCommitment.status(commitment);
        if (status != RequestStatus.Assigned) {
            if (status == RequestStatus.None) revert IProofMarketplace.UnknownRequest(requestId);
            if (status == RequestStatus.Fulfilled) revert IProofMarketplace.RequestAlreadyFulfilled(requestId);
            revert IProofMarketplace.RequestNotAssigned(requestId, status);
        }
        if (commitment != RequestCommitment.assigned(request, task)) {
            revert IProofMarketplace.RecordMismatch(requestId);
        }
    }

    /// @dev The due time of the input key awaited for `requestId`; reverts when none is awaited or it was released.
    function _awaitedKeyDueBy(uint256 requestId) internal view returns (uint32) {
        uint256 wait = uint256(_inputKeyWaits[requestId]);
        if (wait == 0) revert NoKeyAwaited(requestId);
        if (wait > type(uint32).max) revert InputKeyAlreadyReleased(requestId);
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint32(wait); // at most 2^32 - 1: checked above
    }

    /// @dev Uses a signed request: checks it as createRequest checks a posted one, then its signature, nonce, id and
    /// the requester's balance; spends the nonce, takes the escrow and records it Open under its derived id. Reverts
    /// with the exact error of the first check that fails (the whole use then reverts).
    function _use(SignedRequest calldata r, bytes calldata signature, Request memory record)
        internal
        returns (uint256 requestId)
    {
        address token = _checkTerms(r);
        bytes32 digest = _checkSignature(r, signature);
        _spendNonce(r.requester, r.nonce);
        requestId = SignedRequestLibrary.id(r.marketId, digest);
        // Never true for a request used before (its nonce is spent): only a 63-bit digest collision reaches it.
        if (RequestCommitment.status(_commitments[requestId]) != RequestStatus.None) {
            revert SignedRequestIdTaken(requestId);
        }
        _takeEscrow(r.requester, token, r.maxReward);
        _commitments[requestId] = RequestCommitment.openMemory(record);
        emit IProofMarketplace.RequestCreated(
            requestId,
            r.marketId,
            r.requester,
            record,
            r.deadline,
            r.speedPreferenceBps,
            r.publicInputs,
            r.privateInputs
        );
        emit SignedRequestUsed(requestId, r.requester, r.nonce);
    }

    /// @dev createRequest's checks of the market, terms, schedule and inputs; returns the market's payment token.
    function _checkTerms(SignedRequest calldata r) internal view returns (address token) {
        Market storage m = _markets[r.marketId];
        IProofVerifier verifier = m.verifier;
        if (address(verifier) == address(0)) revert IProofMarketplace.UnknownMarket(r.marketId);
        if (r.maxReward == 0) revert IProofMarketplace.ZeroReward();
        if (r.refundAddress == address(0)) revert IProofMarketplace.ZeroAddress();
        if (r.speedPreferenceBps > 10_000) revert IProofMarketplace.SpeedPreferenceOutOfRange(r.speedPreferenceBps);
        _checkSchedule(r.provingTime, r.matchingExpiry, r.deadline);
        if (_inputsDigest(r.publicInputs) == bytes32(0)) revert IProofMarketplace.MissingInputs();
        // Checked for its errors only: for well-formed inputs it is the digest _recordOf put in the record.
        _inputsDigest(r.privateInputs);
        if (r.publicInputs.data.length != 0 && !verifier.validatePublicInputs(r.publicInputs.data)) {
            revert IProofMarketplace.InvalidPublicInputs();
        }
        return m.paymentToken;
    }

    /// @dev Checks the requester's signature of the request under this marketplace's domain (ECDSA for an account
    /// without code; ERC-1271 otherwise, by staticcall, so a wallet cannot change state); returns the signed digest.
    function _checkSignature(SignedRequest calldata r, bytes calldata signature)
        internal
        view
        returns (bytes32 digest)
    {
        digest = _hashTypedData(r.hash());
        if (!SignatureCheckerLib.isValidSignatureNowCalldata(r.requester, digest, signature)) {
            revert BadRequesterSignature(r.requester);
        }
    }

    /// @dev Spends an unused nonce of the requester's bitmap.
    function _spendNonce(address requester, uint256 nonce) internal {
        mapping(uint256 => uint256) storage bitmap = _nonceBitmap[requester];
        uint256 word = bitmap[nonce >> 8];
        uint256 bit = 1 << (nonce & 0xff);
        if (word & bit != 0) revert NonceUsed(requester, nonce);
        bitmap[nonce >> 8] = word | bit;
    }

    /// @dev Takes `amount` of `token` from the requester's marketplace balance (never with transferFrom).
    function _takeEscrow(address requester, address token, uint256 amount) internal {
        uint256 balance = _balances[requester][token];
        if (balance < amount) revert InsufficientDeposit(requester, token, balance, amount);
        unchecked {
            _balances[requester][token] = balance - amount;
        }
    }

    /// @dev The record a signed request gets when used now. Its inputs digest is computed without the input checks
    /// (_use makes them; for inputs that pass them it is the same digest).
    function _recordOf(SignedRequest calldata r) internal view returns (Request memory) {
        return Request({
            refundAddress: r.refundAddress,
            maxReward: r.maxReward,
            createdAt: Clock.timestamp32(),
            matchingExpiry: r.matchingExpiry,
            provingTime: r.provingTime,
            inputsDigest: keccak256(abi.encodePacked(_looseDigest(r.publicInputs), _looseDigest(r.privateInputs)))
        });
    }

    /// @dev _inputsDigest without its checks.
    function _looseDigest(Inputs calldata inputs) internal pure returns (bytes32) {
        return inputs.data.length != 0 ? keccak256(inputs.data) : inputs.digest;
    }
}
