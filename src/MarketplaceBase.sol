// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";

import {IEnclaveKeys} from "./interfaces/IEnclaveKeys.sol";
import {IProofMarketplace} from "./interfaces/IProofMarketplace.sol";
import {IMatcherAuthority} from "./interfaces/IMatcherAuthority.sol";
import {IProverRegistry} from "./interfaces/IProverRegistry.sol";
import {IStakeSource} from "./interfaces/IStakeSource.sol";
import {Clock} from "./libraries/Clock.sol";
import {RequestCommitment} from "./libraries/RequestCommitment.sol";
import {Inputs} from "./types/Inputs.sol";
import {Market} from "./types/Market.sol";
import {Request, RequestStatus, Task} from "./types/Request.sol";

/// @title MarketplaceBase
/// @notice The marketplace's storage and the assignment rules it shares with its signed-request module.
/// Errors and events are IProofMarketplace's, named through it (this contract does not implement the interface).
/// @dev ProofMarketplace and SignedRequestModule both inherit this contract and nothing else with storage, so they
/// have one storage layout: the module runs by delegatecall in the marketplace's storage (see
/// ProofMarketplace's fallback). Append new state at the end only. The assignment rules live here once, compiled into
/// both contracts: a module that re-implemented them could drift from the marketplace's.
abstract contract MarketplaceBase is EIP712, ReentrancyGuardTransient {
    /// @notice Longest a request may live, from creation to deadline (no getter; ts/request-proof.ts mirrors it).
    uint32 internal constant MAX_REQUEST_LIFETIME = 90 days;
    /// Most gas a requester's ERC-1271 wallet gets to check a signature (ISignedRequests.ERC1271_GAS_LIMIT).
    uint256 internal constant _ERC1271_GAS_LIMIT = 250_000;

    /// The prover registry (the marketplace also exposes it as `registry`).
    IProverRegistry internal immutable _registry;

    // slot: treasury | marketCreationFee
    address public treasury;
    uint96 public marketCreationFee;
    // slot: matcherAuthority | marketCount
    IMatcherAuthority public matcherAuthority;
    uint32 public marketCount;
    /// Prover enclave keys, for invalid-input attestations (unset: the path is closed).
    IEnclaveKeys public enclaveKeys;

    mapping(IStakeSource source => bool) public approvedStakeSource;
    mapping(uint256 marketId => Market) internal _markets;
    mapping(uint256 requestId => bytes32) internal _commitments;
    mapping(address account => mapping(address token => uint256)) internal _balances;
    /// Signed requests' Permit2-style unordered nonces: a set bit is a nonce used or invalidated.
    mapping(address requester => mapping(uint256 wordPos => uint256)) internal _nonceBitmap;
    /// Private fallback claims' input-key waits (IPrivateClaims): the key's due time, then the released key's hash.
    mapping(uint256 requestId => bytes32) internal _inputKeyWaits;

    constructor(IProverRegistry registry_) {
        _registry = registry_;
    }

    /// @dev Assigns `requestId` to `prover` or explains why not. With `strict` every failure reverts with its
    /// specific error; otherwise the error is returned (and nothing has changed) so a batch can skip the item.
    /// A matcher assignment holds only at the listing terms the matcher signed (`price`, `provingTime`); the
    /// fallback claim takes the prover's listing as it is and ignores them.
    function _assign(
        uint256 requestId,
        Request calldata request,
        address prover,
        uint96 price,
        uint32 provingTime,
        bool byMatcher,
        bool strict
    ) internal returns (bytes memory reason) {
        reason = _checkAssignable(requestId, request, byMatcher);
        if (reason.length == 0) reason = _reserveAndLock(requestId, request, prover, price, provingTime, byMatcher, 0);
        if (reason.length != 0) return _reject(strict, reason);
    }

    /// @dev Why `requestId` cannot be assigned now through this path, or nothing.
    function _checkAssignable(uint256 requestId, Request calldata request, bool byMatcher)
        internal
        view
        returns (bytes memory)
    {
        bytes32 commitment = _commitments[requestId];
        RequestStatus status = RequestCommitment.status(commitment);
        if (status != RequestStatus.Open) {
            if (status == RequestStatus.None) {
                return abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, requestId);
            }
            return abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, requestId, status);
        }
        if (commitment != RequestCommitment.open(request)) {
            return abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, requestId);
        }
        if (Clock.timestamp() > request.matchingExpiry) {
            return abi.encodeWithSelector(IProofMarketplace.RequestExpired.selector, requestId, request.matchingExpiry);
        }
        if (!byMatcher) {
            uint256 opensAt = uint256(request.createdAt) + _markets[_marketOf(requestId)].fallbackDelay;
            if (Clock.timestamp() < opensAt) {
                return abi.encodeWithSelector(IProofMarketplace.FallbackNotOpen.selector, requestId, opensAt);
            }
        }
        return "";
    }

    /// @dev Reserves the prover's capacity (the registry checks listing, price and proving time against the
    /// request), checks a matcher assignment's signed terms against the listing, locks the prover's stake and
    /// commits the task; on failure undoes the reservation and returns why. `keyWait`: seconds added to the task's
    /// deadline ahead of its proving time (a private claim's key release window; zero otherwise).
    function _reserveAndLock(
        uint256 requestId,
        Request calldata request,
        address prover,
        uint96 signedPrice,
        uint32 signedProvingTime,
        bool byMatcher,
        uint32 keyWait
    ) internal returns (bytes memory failure) {
        Task memory task;
        (task, failure) = _reserve(
            requestId,
            request.maxReward,
            request.provingTime,
            prover,
            signedPrice,
            signedProvingTime,
            byMatcher,
            keyWait
        );
        if (failure.length != 0) return failure;
        _commitments[requestId] = RequestCommitment.assigned(request, task);
        emit IProofMarketplace.TaskAssigned(requestId, prover, task, byMatcher);
        return "";
    }

    /// @dev _reserveAndLock's calls, without its write: the task (reserved capacity, locked stake) or, with nothing
    /// left reserved or locked, why not. The signed path (which has its request's record in memory) commits it itself.
    function _reserve(
        uint256 requestId,
        uint96 maxReward,
        uint32 maxProvingTime,
        address prover,
        uint96 signedPrice,
        uint32 signedProvingTime,
        bool byMatcher,
        uint32 keyWait
    ) internal returns (Task memory task, bytes memory failure) {
        uint256 marketId = _marketOf(requestId);
        task.prover = prover;
        uint256 gasBefore = gasleft();
        try _registry.reserve(prover, marketId, maxReward, maxProvingTime) returns (
            uint96 price, uint32 provingTime, uint32 compute
        ) {
            (task.price, task.compute) = (price, compute);
            if (byMatcher && (price != signedPrice || provingTime != signedProvingTime)) {
                failure = abi.encodeWithSelector(
                    IProofMarketplace.ListingChanged.selector,
                    prover,
                    signedPrice,
                    price,
                    signedProvingTime,
                    provingTime
                );
            }
        } catch (bytes memory why) {
            return (task, _callFailure(why, address(_registry), gasBefore));
        }
        // Within the request's deadline by construction: matchingExpiry + provingTime ≤ deadline at creation,
        // and now + keyWait ≤ matchingExpiry (a private claim checks it); keyWait is at most KEY_RELEASE_WINDOW.
        unchecked {
            task.deadline = Clock.timestamp32() + maxProvingTime + keyWait;
        }
        if (failure.length == 0) failure = _lockStake(marketId, prover, requestId, task.deadline);
        if (failure.length != 0) _registry.release(prover, task.compute);
    }

    function _lockStake(uint256 marketId, address prover, uint256 requestId, uint32 deadline)
        internal
        returns (bytes memory)
    {
        Market storage m = _markets[marketId];
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask == 0) return "";
        IStakeSource source = m.stakeSource;
        uint256 gasBefore = gasleft();
        try source.lock(prover, requestId, stakePerTask, deadline) {
            return "";
        } catch (bytes memory why) {
            return _callFailure(why, address(source), gasBefore);
        }
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn ProofMarketplace", "1");
    }

    /// @dev Checks a request's timing: it can be assigned now, and any assignment before its matching expiry
    /// leaves the full proving time before the deadline.
    function _checkSchedule(uint32 provingTime, uint32 matchingExpiry, uint32 deadline) internal view {
        if (provingTime == 0) revert IProofMarketplace.ZeroProvingTime();
        if (deadline <= Clock.timestamp()) revert IProofMarketplace.DeadlineInPast(deadline);
        uint256 latestDeadline = Clock.timestamp() + MAX_REQUEST_LIFETIME;
        if (deadline > latestDeadline) revert IProofMarketplace.DeadlineTooFar(deadline, latestDeadline);
        if (deadline - Clock.timestamp() < provingTime) {
            revert IProofMarketplace.DeadlineShorterThanProvingTime(deadline, provingTime);
        }
        if (matchingExpiry < Clock.timestamp()) revert IProofMarketplace.MatchingExpiryInPast(matchingExpiry);
        uint256 latestExpiry = deadline - provingTime;
        if (matchingExpiry > latestExpiry) {
            revert IProofMarketplace.MatchingExpiryTooLate(matchingExpiry, latestExpiry);
        }
    }

    /// @dev keccak256 of inline inputs, or the given digest of inputs stored behind a URI; zero when absent.
    function _inputsDigest(Inputs calldata inputs) internal pure returns (bytes32 digest) {
        if (inputs.data.length != 0) {
            digest = keccak256(inputs.data);
            if (inputs.digest != bytes32(0) && inputs.digest != digest) {
                revert IProofMarketplace.InputsDigestMismatch(inputs.digest, digest);
            }
            return digest;
        }
        if (inputs.digest != bytes32(0) && bytes(inputs.uri).length == 0) revert IProofMarketplace.MissingInputs();
        if (inputs.digest == bytes32(0) && bytes(inputs.uri).length != 0) revert IProofMarketplace.MissingInputs();
        return inputs.digest;
    }

    /// @dev _checkSchedule's rules as a failure, or nothing: for a signed batch item, which is skipped instead. Kept
    /// beside _checkSchedule (whose reverts stay compact for ProofMarketplace's EIP-170 budget); a fuzz test checks
    /// that both give the same error (test/ScheduleParity.t.sol).
    function _scheduleFailure(uint32 provingTime, uint32 matchingExpiry, uint32 deadline)
        internal
        view
        returns (bytes memory)
    {
        if (provingTime == 0) return abi.encodeWithSelector(IProofMarketplace.ZeroProvingTime.selector);
        if (deadline <= Clock.timestamp()) {
            return abi.encodeWithSelector(IProofMarketplace.DeadlineInPast.selector, deadline);
        }
        uint256 latestDeadline = Clock.timestamp() + MAX_REQUEST_LIFETIME;
        if (deadline > latestDeadline) {
            return abi.encodeWithSelector(IProofMarketplace.DeadlineTooFar.selector, deadline, latestDeadline);
        }
        if (deadline - Clock.timestamp() < provingTime) {
            return
                abi.encodeWithSelector(IProofMarketplace.DeadlineShorterThanProvingTime.selector, deadline, provingTime);
        }
        if (matchingExpiry < Clock.timestamp()) {
            return abi.encodeWithSelector(IProofMarketplace.MatchingExpiryInPast.selector, matchingExpiry);
        }
        uint256 latestExpiry = deadline - provingTime;
        if (matchingExpiry > latestExpiry) {
            return
                abi.encodeWithSelector(IProofMarketplace.MatchingExpiryTooLate.selector, matchingExpiry, latestExpiry);
        }
        return "";
    }

    /// @dev _inputsDigest's rules with the failure returned instead of reverted (a signed batch item is skipped);
    /// kept beside it, and checked against it by the same fuzz test.
    function _inputsDigestOrFailure(Inputs calldata inputs)
        internal
        pure
        returns (bytes32 digest, bytes memory failure)
    {
        if (inputs.data.length != 0) {
            digest = keccak256(inputs.data);
            if (inputs.digest != bytes32(0) && inputs.digest != digest) {
                failure = abi.encodeWithSelector(IProofMarketplace.InputsDigestMismatch.selector, inputs.digest, digest);
            }
            return (digest, failure);
        }
        // A digest without its URI, or a URI without its digest.
        if ((inputs.digest == bytes32(0)) != (bytes(inputs.uri).length == 0)) {
            failure = abi.encodeWithSelector(IProofMarketplace.MissingInputs.selector);
        }
        return (inputs.digest, failure);
    }

    /// @dev The market of a request: the upper bits of its id.
    function _marketOf(uint256 requestId) internal pure returns (uint256) {
        return requestId >> 64;
    }

    /// @dev A callee's revert data, or CallFailed when it reverted without any (so it is never mistaken for success).
    function _callFailure(bytes memory why, address callee, uint256 gasBefore) internal view returns (bytes memory) {
        if (why.length == 0) {
            // Running out of gas, even several calls deep, reverts without data and leaves this frame a few 64ths.
            _revertIfOutOfGas(gasBefore);
            return abi.encodeWithSelector(IProofMarketplace.CallFailed.selector, callee);
        }
        return why;
    }

    /// @dev Reverts the whole call when a callee used up the gas it was given: a submitter choosing a tight gas
    /// limit must not be able to turn a valid batch item into a skipped one.
    function _revertIfOutOfGas(uint256 gasBefore) internal view {
        if (gasleft() < gasBefore / 16) revert IProofMarketplace.CalleeOutOfGas();
    }

    /// @dev Whether `signature` is the requester's over `digest`: the requester's own ECDSA signature (65 bytes, or 64
    /// as EIP-2098); failing that, for an account with code, ERC-1271, by staticcall (a wallet cannot change state)
    /// with at most _ERC1271_GAS_LIMIT gas, and valid only for exactly one word holding the magic value. The cap is
    /// what keeps one wallet from starving a batch: uncapped, a wallet that burns the 63/64 of the gas it is handed
    /// would leave the other items of a batch too little to finish, and the whole batch would revert.
    /// ECDSA comes first because only the account's key can produce it (no key exists for a contract's address), so
    /// it needs no code check: that saves an EOA requester a cold account access (2,600 gas) on every use, and an
    /// EIP-7702 account signs with its key as it always could.
    function _isRequesterSignature(address requester, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool valid)
    {
        if (requester == address(0)) return false;
        if (ECDSA.tryRecoverCalldata(digest, signature) == requester) return true;
        if (requester.code.length == 0) return false;
        uint256 gasLimit = _ERC1271_GAS_LIMIT;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let magic := shl(224, 0x1626ba7e) // isValidSignature(bytes32,bytes), and the value it returns
            mstore(m, magic)
            mstore(add(m, 0x04), digest)
            mstore(add(m, 0x24), 0x40)
            mstore(add(m, 0x44), signature.length)
            calldatacopy(add(m, 0x64), signature.offset, signature.length)
            let ok := staticcall(gasLimit, requester, m, add(0x64, signature.length), 0x00, 0x20)
            valid := and(ok, and(eq(returndatasize(), 0x20), eq(mload(0x00), magic)))
        }
    }

    function _reject(bool strict, bytes memory reason) internal pure returns (bytes memory) {
        if (strict) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
        return reason;
    }
}
