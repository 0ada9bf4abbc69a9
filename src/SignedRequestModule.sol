// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";

import {IEnclaveKeys} from "./interfaces/IEnclaveKeys.sol";
import {IInputRejections} from "./interfaces/IInputRejections.sol";
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
import {InvalidInputs} from "./types/InvalidInputs.sol";
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
/// - assignSigned verifies the matcher's signature once, then runs each item in the reason pattern: every check first
///   (views, in createRequest's and postSignedRequest's order), then the prover's reservation and stake lock (which
///   undo themselves when either fails), then the writes (nonce, escrow, record) and events. A failing item has
///   changed nothing and is skipped with its exact error; nothing needs rolling back.
/// - Private claims (IPrivateClaims) keep one slot per claim (_inputKeyWaits): its key's due time, then the released
///   key's hash. They assign with the marketplace's own rules (_checkAssignable, _reserveAndLock with the window as
///   extra deadline); their two settlements (abandon, reject the key) release capacity and stake as the marketplace's
///   settlements do.
contract SignedRequestModule is ISignedRequests, IPrivateClaims, IInputRejections, MarketplaceBase {
    /// @inheritdoc IPrivateClaims
    /// @dev Five minutes: room for a requester's SDK to see the claim (a few polls) and land a transaction through
    /// congestion on any chain Cairn targets, short enough that a requester who never releases ties up the prover's
    /// capacity and stake lock for little. Both sides run software (the SDK's waitForProof releases on its own).
    uint32 public constant KEY_RELEASE_WINDOW = 5 minutes;

    /// @inheritdoc ISignedRequests
    uint256 public constant ERC1271_GAS_LIMIT = _ERC1271_GAS_LIMIT;

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

        bytes32[] memory digests = _checkMatcher(matches, inputKeys, withKeys, validUntil, signature);
        for (uint256 i; i < matches.length; ++i) {
            SignedMatch calldata m = matches[i];
            uint256 requestId = SignedRequestLibrary.id(m.request.marketId, digests[i]);
            bytes memory reason = _assignItem(m, requestId, digests[i]);
            if (reason.length != 0) {
                emit IProofMarketplace.AssignmentSkipped(requestId, m.prover, reason);
                continue;
            }
            ++assigned;
            if (withKeys && inputKeys[i].length != 0) {
                emit IProofMarketplace.InputKeyReleased(requestId, m.prover, inputKeys[i]);
            }
        }
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
        _requireProversOpenTask(requestId, request, task);
        bytes32 keyHash = _inputKeyWaits[requestId];
        if (uint256(keyHash) <= type(uint32).max) {
            if (keyHash == bytes32(0)) revert NoKeyAwaited(requestId);
            revert InputKeyNotReleased(requestId);
        }
        _settleAttested(
            requestId, request, task, signature, InvalidInputKey(requestId, request.inputsDigest, keyHash).hash()
        );
    }

    /// @inheritdoc IInputRejections
    function rejectInputs(uint256 requestId, Request calldata request, Task calldata task, bytes calldata signature)
        external
        nonReentrant
    {
        _requireProversOpenTask(requestId, request, task);
        _settleAttested(requestId, request, task, signature, InvalidInputs(requestId, request.inputsDigest).hash());
    }

    /// @dev Reverts unless (request, task) are `requestId`'s assigned records, the caller is the task's prover and
    /// its deadline has not passed.
    function _requireProversOpenTask(uint256 requestId, Request calldata request, Task calldata task) internal view {
        _requireAssigned(requestId, request, task);
        if (msg.sender != task.prover) revert IProofMarketplace.NotAssignedProver(msg.sender, task.prover);
        if (Clock.timestamp() > task.deadline) revert IProofMarketplace.TaskDeadlinePassed(requestId, task.deadline);
    }

    /// @dev Settles (request, task) as InputsRejected when `signature` of the EIP-712 struct `structHash` is by one of
    /// the task prover's active enclave keys in the request's market.
    function _settleAttested(
        uint256 requestId,
        Request calldata request,
        Task calldata task,
        bytes calldata signature,
        bytes32 structHash
    ) internal {
        IEnclaveKeys keys = enclaveKeys;
        if (address(keys) == address(0)) revert IProofMarketplace.EnclaveKeysNotSet();
        address signer = ECDSA.recoverCalldata(_hashTypedData(structHash), signature);
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

    /// @dev Checks the matcher's signature over the batch; returns each signed request's EIP-712 digest, hashed once:
    /// it derives the id the matcher signs and is what the requester signed.
    function _checkMatcher(
        SignedMatch[] calldata matches,
        bytes[] calldata inputKeys,
        bool withKeys,
        uint64 validUntil,
        bytes calldata signature
    ) internal view returns (bytes32[] memory digests) {
        digests = new bytes32[](matches.length);
        bytes32[] memory items = new bytes32[](matches.length);
        for (uint256 i; i < matches.length; ++i) {
            SignedMatch calldata m = matches[i];
            digests[i] = _hashTypedData(m.request.hash());
            items[i] = keccak256(
                abi.encode(
                    AssignmentLibrary.ASSIGNMENT_TYPEHASH,
                    SignedRequestLibrary.id(m.request.marketId, digests[i]),
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
    }

    /// @dev Uses a signed request: checks it as createRequest checks a posted one, then its signature, nonce, id and
    /// the requester's balance (_useFailure); spends the nonce, takes the escrow and records it Open under its derived
    /// id. Reverts with the exact error of the first check that fails.
    function _use(SignedRequest calldata r, bytes calldata signature, Request memory record)
        internal
        returns (uint256 requestId)
    {
        bytes32 digest = _hashTypedData(r.hash());
        requestId = SignedRequestLibrary.id(r.marketId, digest);
        (address token, bytes memory failure) = _useFailure(r, requestId, digest, signature);
        if (failure.length != 0) _reject(true, failure);
        _record(r, requestId, token, record, RequestCommitment.openMemory(record));
    }

    /// @dev One item of assignSigned: records the signed request and assigns it at the matcher's signed terms, or
    /// returns why not having changed nothing. The checks run first (views), then the reservation and stake lock
    /// (_reserve undoes them itself when one fails), then the writes. _assign's own checks hold by construction for
    /// a request recorded in this step: its id was unused (so it is Open with exactly this record) and _scheduleFailure
    /// passed (so now ≤ matchingExpiry); the record is committed Assigned at once, without its Open write.
    function _assignItem(SignedMatch calldata m, uint256 requestId, bytes32 digest)
        internal
        returns (bytes memory failure)
    {
        SignedRequest calldata r = m.request;
        address token;
        (token, failure) = _useFailure(r, requestId, digest, m.signature);
        if (failure.length != 0) return failure;
        Task memory task;
        (task, failure) = _reserve(requestId, r.maxReward, r.provingTime, m.prover, m.price, m.provingTime, true, 0);
        if (failure.length != 0) return failure;
        Request memory record = _recordOf(r);
        _record(r, requestId, token, record, RequestCommitment.assignedMemory(record, task));
        emit IProofMarketplace.TaskAssigned(requestId, m.prover, task, true);
    }

    /// @dev Why the signed request (under `digest`, its id `requestId`) cannot be used now, in the order createRequest
    /// and the use check it: market, terms, schedule and inputs, then its signature, nonce, id and the requester's
    /// balance; or nothing, and the market's payment token.
    function _useFailure(SignedRequest calldata r, uint256 requestId, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (address token, bytes memory failure)
    {
        (token, failure) = _termsFailure(r);
        if (failure.length != 0) return (token, failure);
        if (!_isRequesterSignature(r.requester, digest, signature)) {
            return (token, abi.encodeWithSelector(BadRequesterSignature.selector, r.requester));
        }
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        uint256 bit = 1 << (r.nonce & 0xff);
        if (_nonceBitmap[r.requester][r.nonce >> 8] & bit != 0) {
            return (token, abi.encodeWithSelector(NonceUsed.selector, r.requester, r.nonce));
        }
        // Never true for a request used before (its nonce is spent): only a 63-bit digest collision reaches it.
        if (RequestCommitment.status(_commitments[requestId]) != RequestStatus.None) {
            return (token, abi.encodeWithSelector(SignedRequestIdTaken.selector, requestId));
        }
        uint256 balance = _balances[r.requester][token];
        if (balance < r.maxReward) {
            return
                (token, abi.encodeWithSelector(InsufficientDeposit.selector, r.requester, token, balance, r.maxReward));
        }
    }

    /// @dev createRequest's checks of the market, terms, schedule and inputs, as a failure; and the market's
    /// payment token.
    function _termsFailure(SignedRequest calldata r) internal view returns (address token, bytes memory failure) {
        Market storage m = _markets[r.marketId];
        IProofVerifier verifier = m.verifier;
        if (address(verifier) == address(0)) {
            return (token, abi.encodeWithSelector(IProofMarketplace.UnknownMarket.selector, r.marketId));
        }
        if (r.maxReward == 0) return (token, abi.encodeWithSelector(IProofMarketplace.ZeroReward.selector));
        if (r.refundAddress == address(0)) {
            return (token, abi.encodeWithSelector(IProofMarketplace.ZeroAddress.selector));
        }
        if (r.speedPreferenceBps > 10_000) {
            return
                (
                    token,
                    abi.encodeWithSelector(IProofMarketplace.SpeedPreferenceOutOfRange.selector, r.speedPreferenceBps)
                );
        }
        failure = _scheduleFailure(r.provingTime, r.matchingExpiry, r.deadline);
        if (failure.length != 0) return (token, failure);
        bytes32 publicDigest;
        (publicDigest, failure) = _inputsDigestOrFailure(r.publicInputs);
        if (failure.length == 0 && publicDigest == bytes32(0)) {
            failure = abi.encodeWithSelector(IProofMarketplace.MissingInputs.selector);
        }
        // The private inputs are checked for their errors only: for well-formed inputs the digest is _recordOf's.
        if (failure.length == 0) (, failure) = _inputsDigestOrFailure(r.privateInputs);
        if (failure.length == 0 && r.publicInputs.data.length != 0) {
            failure = _publicInputsFailure(verifier, r.publicInputs.data);
        }
        return (m.paymentToken, failure);
    }

    /// @dev Why the market's verifier refuses these public inputs (InvalidPublicInputs, or its own revert), or
    /// nothing. A low-level staticcall: an answer other than a boolean fails the item (CallFailed), never the batch.
    function _publicInputsFailure(IProofVerifier verifier, bytes calldata data) internal view returns (bytes memory) {
        bytes4 selector = IProofVerifier.validatePublicInputs.selector;
        uint256 gasBefore = gasleft();
        bool ok;
        uint256 valid;
        assembly ("memory-safe") {
            // validatePublicInputs(data), encoded in scratch memory past the free pointer (not kept).
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 0x04), 0x20)
            mstore(add(p, 0x24), data.length)
            calldatacopy(add(p, 0x44), data.offset, data.length)
            ok := staticcall(gas(), verifier, p, add(0x44, data.length), 0x00, 0x20)
            // Anything but one whole word is not a boolean answer: 2 marks it.
            valid := 2
            if and(ok, gt(returndatasize(), 0x1f)) { valid := mload(0x00) }
        }
        if (!ok) {
            bytes memory why;
            assembly ("memory-safe") {
                why := mload(0x40)
                mstore(why, returndatasize())
                returndatacopy(add(why, 0x20), 0x00, returndatasize())
                mstore(0x40, add(add(why, 0x20), and(add(returndatasize(), 0x1f), not(0x1f))))
            }
            return _callFailure(why, address(verifier), gasBefore);
        }
        if (valid == 1) return "";
        if (valid == 0) return abi.encodeWithSelector(IProofMarketplace.InvalidPublicInputs.selector);
        return abi.encodeWithSelector(IProofMarketplace.CallFailed.selector, verifier);
    }

    /// @dev Uses a signed request that passed _useFailure: spends its nonce, takes its escrow from the requester's
    /// balance (never with transferFrom: a signature is not an approval to move tokens) and records it under its id
    /// with `commitment` (Open when posted, Assigned when the matcher's batch assigns it in the same step).
    function _record(
        SignedRequest calldata r,
        uint256 requestId,
        address token,
        Request memory record,
        bytes32 commitment
    ) internal {
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        uint256 bit = 1 << (r.nonce & 0xff);
        _nonceBitmap[r.requester][r.nonce >> 8] |= bit;
        _balances[r.requester][token] -= r.maxReward;
        _commitments[requestId] = commitment;
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
