// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

import {IMatcherAuthority} from "./interfaces/IMatcherAuthority.sol";
import {IProofMarketplace} from "./interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IProverRegistry} from "./interfaces/IProverRegistry.sol";
import {IStakeSource} from "./interfaces/IStakeSource.sol";
import {AssignmentHashing} from "./libraries/AssignmentHashing.sol";
import {Market, MarketParams} from "./types/Market.sol";
import {
    Assignment,
    Fulfilment,
    Inputs,
    Request,
    RequestParams,
    RequestState,
    RequestStatus,
    Task
} from "./types/Request.sol";

/// @title ProofMarketplace
/// @notice Markets, escrowed requests, assignment (matcher-signed batches or the permissionless fallback claim),
/// fulfilment against each market's verifier adapter, and slashing of missed deadlines. Every payout is credited
/// to a claimable balance and withdrawn by its owner.
/// @dev Invariant: for every token, this contract's balance equals the escrow of Open and Assigned requests plus
/// all claimable balances. The prover registry and stake sources are trusted, governance-approved contracts; every
/// state-changing entry point is non-reentrant.
contract ProofMarketplace is IProofMarketplace, Ownable, EIP712, ReentrancyGuardTransient {
    /// @notice Share of a slashed penalty paid to whoever calls slash.
    uint16 public constant SLASHER_REWARD_BPS = 500;
    /// @notice Upper bound of a market's requester compensation, leaving room for the slasher reward.
    uint16 public constant MAX_COMPENSATION_BPS = 10_000 - SLASHER_REWARD_BPS;
    /// @notice Longest fallback delay a market may set.
    uint32 public constant MAX_FALLBACK_DELAY = 1 days;
    /// @notice Longest a request may live, from creation to deadline.
    uint32 public constant MAX_REQUEST_LIFETIME = 90 days;

    /// @inheritdoc IProofMarketplace
    IProverRegistry public immutable registry;

    // slot: treasury | marketCreationFee
    address public treasury;
    uint96 public marketCreationFee;
    // slot: matcherAuthority | marketCount | requestCount
    IMatcherAuthority public matcherAuthority;
    uint32 public marketCount;
    uint64 public requestCount;

    mapping(IStakeSource source => bool) public approvedStakeSource;
    mapping(uint256 marketId => Market) internal _markets;
    mapping(uint256 requestId => Request) internal _requests;
    mapping(uint256 requestId => Task) internal _tasks;
    mapping(address account => mapping(address token => uint256)) internal _claimable;

    /// @param owner_ Governance: treasury, matcher authority, stake-source approvals, creation fee.
    /// @param registry_ The prover registry (deployed with this contract's address).
    /// @param treasury_ Receives creation fees and the treasury share of slashes.
    /// @param matcherAuthority_ Decides which keys sign assignment batches.
    constructor(address owner_, IProverRegistry registry_, address treasury_, IMatcherAuthority matcherAuthority_) {
        if (
            owner_ == address(0) || address(registry_) == address(0) || treasury_ == address(0)
                || address(matcherAuthority_) == address(0)
        ) revert ZeroAddress();
        _initializeOwner(owner_);
        registry = registry_;
        treasury = treasury_;
        matcherAuthority = matcherAuthority_;
        emit TreasuryUpdated(treasury_);
        emit MatcherAuthorityUpdated(matcherAuthority_);
    }

    // ================================================================ markets

    /// @inheritdoc IProofMarketplace
    function createMarket(MarketParams calldata p) external payable nonReentrant returns (uint256 marketId) {
        if (msg.value != marketCreationFee) revert WrongCreationFee(marketCreationFee, msg.value);
        if (address(p.verifier).code.length == 0) revert NotContract(address(p.verifier));
        if (p.paymentToken.code.length == 0) revert NotContract(p.paymentToken);
        if (!approvedStakeSource[p.stakeSource]) revert StakeSourceNotApproved(address(p.stakeSource));
        if (p.slashPenalty > p.stakePerTask) revert PenaltyExceedsStake(p.slashPenalty, p.stakePerTask);
        if (p.requesterCompensationBps > MAX_COMPENSATION_BPS) {
            revert CompensationTooHigh(p.requesterCompensationBps, MAX_COMPENSATION_BPS);
        }
        if (p.fallbackDelay > MAX_FALLBACK_DELAY) revert FallbackDelayTooLong(p.fallbackDelay, MAX_FALLBACK_DELAY);

        marketId = ++marketCount;
        _markets[marketId] = Market({
            verifier: p.verifier,
            fallbackDelay: p.fallbackDelay,
            requesterCompensationBps: p.requesterCompensationBps,
            paymentToken: p.paymentToken,
            stakePerTask: p.stakePerTask,
            stakeSource: p.stakeSource,
            slashPenalty: p.slashPenalty,
            creator: msg.sender
        });
        if (msg.value != 0) _claimable[treasury][address(0)] += msg.value;
        emit MarketCreated(marketId, msg.sender, p);
    }

    /// @inheritdoc IProofMarketplace
    function setMarketMetadata(uint256 marketId, string calldata metadataURI) external {
        address creator = _markets[marketId].creator;
        if (creator == address(0)) revert UnknownMarket(marketId);
        if (msg.sender != creator) revert NotMarketCreator(msg.sender);
        emit MarketMetadataUpdated(marketId, metadataURI);
    }

    // ================================================================ requests

    /// @inheritdoc IProofMarketplace
    function createRequest(RequestParams calldata p) external nonReentrant returns (uint256 requestId) {
        Market storage m = _markets[p.marketId];
        IProofVerifier verifier = m.verifier;
        if (address(verifier) == address(0)) revert UnknownMarket(p.marketId);
        if (p.maxReward == 0) revert ZeroReward();
        if (p.refundAddress == address(0)) revert ZeroAddress();
        if (p.speedPreferenceBps > 10_000) revert SpeedPreferenceOutOfRange(p.speedPreferenceBps);
        _checkSchedule(p.provingTime, p.matchingExpiry, p.deadline);

        bytes32 publicDigest = _inputsDigest(p.publicInputs);
        if (publicDigest == bytes32(0)) revert MissingInputs();
        if (p.publicInputs.data.length != 0 && !verifier.validatePublicInputs(p.publicInputs.data)) {
            revert InvalidPublicInputs();
        }
        bytes32 privateDigest = _inputsDigest(p.privateInputs);

        requestId = ++requestCount;
        _requests[requestId] = Request({
            refundAddress: p.refundAddress,
            marketId: p.marketId,
            createdAt: uint32(block.timestamp),
            deadline: p.deadline,
            maxReward: p.maxReward,
            provingTime: p.provingTime,
            matchingExpiry: p.matchingExpiry,
            taskDeadline: 0,
            compute: 0,
            status: RequestStatus.Open,
            inputsDigest: keccak256(abi.encodePacked(publicDigest, privateDigest))
        });
        emit RequestCreated(requestId, p.marketId, msg.sender, p);
        SafeTransferLib.safeTransferFrom(m.paymentToken, msg.sender, address(this), p.maxReward);
    }

    /// @inheritdoc IProofMarketplace
    function cancel(uint256 requestId) external nonReentrant {
        Request storage r = _requests[requestId];
        RequestStatus status = r.status;
        if (status != RequestStatus.Open) {
            if (status == RequestStatus.None) revert UnknownRequest(requestId);
            revert RequestNotOpen(requestId, status);
        }
        uint32 matchingExpiry = r.matchingExpiry;
        if (block.timestamp <= matchingExpiry) revert RequestNotExpired(requestId, matchingExpiry);
        r.status = RequestStatus.Cancelled;
        uint96 refund = r.maxReward;
        _claimable[r.refundAddress][_markets[r.marketId].paymentToken] += refund;
        emit RequestCancelled(requestId, refund);
    }

    // ================================================================ assignment

    /// @inheritdoc IProofMarketplace
    function assign(Assignment[] calldata assignments, uint64 validUntil, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 assigned)
    {
        if (assignments.length == 0) revert EmptyBatch();
        if (block.timestamp > validUntil) revert MatcherSignatureExpired(validUntil);
        address signer =
            ECDSA.recoverCalldata(_hashTypedData(AssignmentHashing.hashBatch(assignments, validUntil)), signature);
        if (!matcherAuthority.isMatcher(signer)) revert NotMatcher(signer);

        for (uint256 i; i < assignments.length; ++i) {
            Assignment calldata a = assignments[i];
            bytes memory reason = _assign(a.requestId, a.prover, true, false);
            if (reason.length == 0) ++assigned;
            else emit AssignmentSkipped(a.requestId, a.prover, reason);
        }
    }

    /// @inheritdoc IProofMarketplace
    function claim(uint256 requestId) external nonReentrant {
        _assign(requestId, msg.sender, false, true);
    }

    /// @dev Assigns `requestId` to `prover` or explains why not. With `strict` every failure reverts with its
    /// specific error; otherwise the error is returned (and nothing has changed) so a batch can skip the item.
    function _assign(uint256 requestId, address prover, bool byMatcher, bool strict)
        internal
        returns (bytes memory reason)
    {
        Request storage r = _requests[requestId];
        reason = _checkAssignable(r, requestId, byMatcher);
        if (reason.length == 0) reason = _reserveAndLock(r, requestId, prover, byMatcher);
        if (reason.length != 0) return _reject(strict, reason);
    }

    /// @dev Why `requestId` cannot be assigned now through this path, or nothing.
    function _checkAssignable(Request storage r, uint256 requestId, bool byMatcher)
        internal
        view
        returns (bytes memory)
    {
        RequestStatus status = r.status;
        if (status != RequestStatus.Open) {
            if (status == RequestStatus.None) return abi.encodeWithSelector(UnknownRequest.selector, requestId);
            return abi.encodeWithSelector(RequestNotOpen.selector, requestId, status);
        }
        uint32 matchingExpiry = r.matchingExpiry;
        if (block.timestamp > matchingExpiry) {
            return abi.encodeWithSelector(RequestExpired.selector, requestId, matchingExpiry);
        }
        if (!byMatcher) {
            uint256 opensAt = uint256(r.createdAt) + _markets[r.marketId].fallbackDelay;
            if (block.timestamp < opensAt) return abi.encodeWithSelector(FallbackNotOpen.selector, requestId, opensAt);
        }
        return "";
    }

    /// @dev Reserves the prover's capacity (the registry checks listing, price and proving time), locks its stake
    /// and records the task; on failure undoes the reservation and returns why.
    function _reserveAndLock(Request storage r, uint256 requestId, address prover, bool byMatcher)
        internal
        returns (bytes memory)
    {
        uint256 marketId = r.marketId;
        uint32 provingTime = r.provingTime;
        uint96 price;
        uint32 compute;
        uint256 gasBefore = gasleft();
        try registry.reserve(prover, marketId, r.maxReward, provingTime) returns (uint96 p, uint32, uint32 c) {
            (price, compute) = (p, c);
        } catch (bytes memory why) {
            return _callFailure(why, address(registry), gasBefore);
        }
        bytes memory stakeFailure = _lockStake(marketId, prover, requestId);
        if (stakeFailure.length != 0) {
            registry.release(prover, compute);
            return stakeFailure;
        }
        // Within the deadline by construction: matchingExpiry + provingTime ≤ deadline and now ≤ matchingExpiry.
        uint32 taskDeadline = uint32(block.timestamp) + provingTime;
        r.taskDeadline = taskDeadline;
        r.compute = compute;
        r.status = RequestStatus.Assigned;
        _tasks[requestId] = Task({prover: prover, price: price});
        emit TaskAssigned(requestId, prover, price, taskDeadline, compute, byMatcher);
        return "";
    }

    function _lockStake(uint256 marketId, address prover, uint256 requestId) internal returns (bytes memory) {
        Market storage m = _markets[marketId];
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask == 0) return "";
        IStakeSource source = m.stakeSource;
        uint256 gasBefore = gasleft();
        try source.lock(prover, requestId, stakePerTask) {
            return "";
        } catch (bytes memory why) {
            return _callFailure(why, address(source), gasBefore);
        }
    }

    // ================================================================ fulfilment and slashing

    /// @inheritdoc IProofMarketplace
    function fulfil(uint256 requestId, bytes calldata publicInputs, bytes32 privateInputsDigest, bytes calldata proof)
        external
        nonReentrant
    {
        _fulfil(requestId, publicInputs, privateInputsDigest, proof, true);
    }

    /// @inheritdoc IProofMarketplace
    function fulfilBatch(Fulfilment[] calldata fulfilments) external nonReentrant returns (uint256 fulfilled) {
        if (fulfilments.length == 0) revert EmptyBatch();
        for (uint256 i; i < fulfilments.length; ++i) {
            Fulfilment calldata f = fulfilments[i];
            bytes memory reason = _fulfil(f.requestId, f.publicInputs, f.privateInputsDigest, f.proof, false);
            if (reason.length == 0) ++fulfilled;
            else emit FulfilmentSkipped(f.requestId, reason);
        }
    }

    function _fulfil(
        uint256 requestId,
        bytes calldata publicInputs,
        bytes32 privateInputsDigest,
        bytes calldata proof,
        bool strict
    ) internal returns (bytes memory reason) {
        Request storage r = _requests[requestId];
        reason = _checkFulfilment(r, requestId, publicInputs, privateInputsDigest);
        if (reason.length == 0) reason = _verifyProof(_markets[r.marketId].verifier, requestId, publicInputs, proof);
        if (reason.length != 0) return _reject(strict, reason);
        _settleFulfilment(r, requestId);
    }

    /// @dev Why msg.sender may not fulfil `requestId` with these inputs, or nothing.
    function _checkFulfilment(
        Request storage r,
        uint256 requestId,
        bytes calldata publicInputs,
        bytes32 privateInputsDigest
    ) internal view returns (bytes memory) {
        RequestStatus status = r.status;
        if (status != RequestStatus.Assigned) {
            if (status == RequestStatus.Fulfilled) {
                return abi.encodeWithSelector(RequestAlreadyFulfilled.selector, requestId);
            }
            if (status == RequestStatus.None) return abi.encodeWithSelector(UnknownRequest.selector, requestId);
            return abi.encodeWithSelector(RequestNotAssigned.selector, requestId, status);
        }
        address prover = _tasks[requestId].prover;
        if (msg.sender != prover) return abi.encodeWithSelector(NotAssignedProver.selector, msg.sender, prover);
        uint32 taskDeadline = r.taskDeadline;
        if (block.timestamp > taskDeadline) {
            return abi.encodeWithSelector(TaskDeadlinePassed.selector, requestId, taskDeadline);
        }
        if (keccak256(abi.encodePacked(keccak256(publicInputs), privateInputsDigest)) != r.inputsDigest) {
            return abi.encodeWithSelector(WrongInputs.selector, requestId);
        }
        return "";
    }

    /// @dev Why the proof does not verify (the adapter's own error for a malformed proof), or nothing.
    function _verifyProof(IProofVerifier verifier, uint256 requestId, bytes calldata publicInputs, bytes calldata proof)
        internal
        view
        returns (bytes memory)
    {
        uint256 gasBefore = gasleft();
        try verifier.verify(publicInputs, proof) returns (bool valid) {
            return valid ? bytes("") : abi.encodeWithSelector(InvalidProof.selector, requestId);
        } catch (bytes memory why) {
            if (why.length >= 4 && bytes4(why) == IProofVerifier.InsufficientGas.selector) {
                assembly ("memory-safe") {
                    revert(add(why, 0x20), mload(why))
                }
            }
            return _callFailure(why, address(verifier), gasBefore);
        }
    }

    /// @dev Pays the prover its price, refunds the rest of the escrow, frees capacity and stake.
    function _settleFulfilment(Request storage r, uint256 requestId) internal {
        r.status = RequestStatus.Fulfilled;
        Task memory t = _tasks[requestId];
        Market storage m = _markets[r.marketId];
        address rewardAddress = registry.release(t.prover, r.compute);
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask != 0) m.stakeSource.unlock(t.prover, requestId, stakePerTask);

        address token = m.paymentToken;
        uint96 refund = r.maxReward - t.price;
        _claimable[rewardAddress][token] += t.price;
        if (refund != 0) _claimable[r.refundAddress][token] += refund;
        emit RequestFulfilled(requestId, t.prover, t.price, refund);
    }

    /// @inheritdoc IProofMarketplace
    function slash(uint256 requestId) external nonReentrant {
        Request storage r = _requests[requestId];
        RequestStatus status = r.status;
        if (status != RequestStatus.Assigned) {
            if (status == RequestStatus.None) revert UnknownRequest(requestId);
            revert RequestNotAssigned(requestId, status);
        }
        uint32 taskDeadline = r.taskDeadline;
        if (block.timestamp <= taskDeadline) revert TaskDeadlineNotPassed(requestId, taskDeadline);
        r.status = RequestStatus.Slashed;

        address prover = _tasks[requestId].prover;
        Market storage m = _markets[r.marketId];
        address refundAddress = r.refundAddress;
        registry.release(prover, r.compute);
        _claimable[refundAddress][m.paymentToken] += r.maxReward;

        uint256 penalty;
        uint256 compensation;
        uint256 slasherReward;
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask != 0) {
            IStakeSource source = m.stakeSource;
            penalty = source.slash(prover, requestId, stakePerTask, m.slashPenalty, address(this));
            if (penalty != 0) {
                address stakeToken = source.stakeToken();
                compensation = penalty * m.requesterCompensationBps / 10_000;
                slasherReward = penalty * SLASHER_REWARD_BPS / 10_000;
                _claimable[refundAddress][stakeToken] += compensation;
                _claimable[msg.sender][stakeToken] += slasherReward;
                _claimable[treasury][stakeToken] += penalty - compensation - slasherReward;
            }
        }
        emit TaskSlashed(requestId, prover, penalty, compensation, slasherReward, msg.sender);
    }

    /// @inheritdoc IProofMarketplace
    function withdraw(address token, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = _claimable[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(msg.sender, token);
        _claimable[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, to, amount);
        if (token == address(0)) SafeTransferLib.safeTransferETH(to, amount);
        else SafeTransferLib.safeTransfer(token, to, amount);
    }

    // ================================================================ governance

    /// @inheritdoc IProofMarketplace
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }

    /// @inheritdoc IProofMarketplace
    function setMatcherAuthority(IMatcherAuthority authority) external onlyOwner {
        if (address(authority) == address(0)) revert ZeroAddress();
        matcherAuthority = authority;
        emit MatcherAuthorityUpdated(authority);
    }

    /// @inheritdoc IProofMarketplace
    function setStakeSourceApproval(IStakeSource stakeSource, bool approved) external onlyOwner {
        if (address(stakeSource) == address(0)) revert ZeroAddress();
        approvedStakeSource[stakeSource] = approved;
        emit StakeSourceApprovalUpdated(stakeSource, approved);
    }

    /// @inheritdoc IProofMarketplace
    function setMarketCreationFee(uint96 fee) external onlyOwner {
        marketCreationFee = fee;
        emit MarketCreationFeeUpdated(fee);
    }

    // ================================================================ views

    /// @inheritdoc IProofMarketplace
    function marketExists(uint256 marketId) external view returns (bool) {
        return address(_markets[marketId].verifier) != address(0);
    }

    /// @inheritdoc IProofMarketplace
    function market(uint256 marketId) external view returns (Market memory) {
        return _markets[marketId];
    }

    /// @inheritdoc IProofMarketplace
    function request(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IProofMarketplace
    function task(uint256 requestId) external view returns (Task memory) {
        return _tasks[requestId];
    }

    /// @inheritdoc IProofMarketplace
    function requestState(uint256 requestId) external view returns (RequestState) {
        Request storage r = _requests[requestId];
        RequestStatus status = r.status;
        if (status == RequestStatus.Open) {
            return block.timestamp > r.matchingExpiry ? RequestState.Expired : RequestState.Open;
        }
        if (status == RequestStatus.Assigned) {
            return block.timestamp > r.taskDeadline ? RequestState.DeadlineMissed : RequestState.Assigned;
        }
        if (status == RequestStatus.Fulfilled) return RequestState.Fulfilled;
        if (status == RequestStatus.Slashed) return RequestState.Slashed;
        if (status == RequestStatus.Cancelled) return RequestState.Cancelled;
        return RequestState.None;
    }

    /// @inheritdoc IProofMarketplace
    function claimable(address account, address token) external view returns (uint256) {
        return _claimable[account][token];
    }

    /// @inheritdoc IProofMarketplace
    function assignmentDigest(Assignment[] calldata assignments, uint64 validUntil) external view returns (bytes32) {
        return _hashTypedData(AssignmentHashing.hashBatch(assignments, validUntil));
    }

    // ================================================================ internal

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn ProofMarketplace", "1");
    }

    /// @dev Checks a request's timing: it can be assigned now, and any assignment before its matching expiry
    /// leaves the full proving time before the deadline.
    function _checkSchedule(uint32 provingTime, uint32 matchingExpiry, uint32 deadline) internal view {
        if (provingTime == 0) revert ZeroProvingTime();
        if (deadline <= block.timestamp) revert DeadlineInPast(deadline);
        uint256 latestDeadline = block.timestamp + MAX_REQUEST_LIFETIME;
        if (deadline > latestDeadline) revert DeadlineTooFar(deadline, latestDeadline);
        if (deadline - block.timestamp < provingTime) revert DeadlineShorterThanProvingTime(deadline, provingTime);
        if (matchingExpiry < block.timestamp) revert MatchingExpiryInPast(matchingExpiry);
        uint256 latestExpiry = deadline - provingTime;
        if (matchingExpiry > latestExpiry) revert MatchingExpiryTooLate(matchingExpiry, latestExpiry);
    }

    /// @dev keccak256 of inline inputs, or the given digest of inputs stored behind a URI; zero when absent.
    function _inputsDigest(Inputs calldata inputs) internal pure returns (bytes32 digest) {
        if (inputs.data.length != 0) {
            digest = keccak256(inputs.data);
            if (inputs.digest != bytes32(0) && inputs.digest != digest) {
                revert InputsDigestMismatch(inputs.digest, digest);
            }
            return digest;
        }
        if (inputs.digest != bytes32(0) && bytes(inputs.uri).length == 0) revert MissingInputs();
        if (inputs.digest == bytes32(0) && bytes(inputs.uri).length != 0) revert MissingInputs();
        return inputs.digest;
    }

    /// @dev A callee's revert data, or CallFailed when it reverted without any (so it is never mistaken for success).
    /// Reverts the whole call when the callee ran out of the gas it was given: a submitter choosing a tight gas limit
    /// must not be able to turn a valid item into a skipped one.
    function _callFailure(bytes memory why, address callee, uint256 gasBefore) private view returns (bytes memory) {
        if (gasleft() <= gasBefore / 63) revert InsufficientGas();
        return why.length == 0 ? abi.encodeWithSelector(CallFailed.selector, callee) : why;
    }

    function _reject(bool strict, bytes memory reason) private pure returns (bytes memory) {
        if (strict) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
        return reason;
    }
}
