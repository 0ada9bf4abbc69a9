// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

import {IEnclaveKeys} from "./interfaces/IEnclaveKeys.sol";
import {IMatcherAuthority} from "./interfaces/IMatcherAuthority.sol";
import {IPrivateClaims} from "./interfaces/IPrivateClaims.sol";
import {IProofMarketplace} from "./interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IProverRegistry} from "./interfaces/IProverRegistry.sol";
import {ISignedFulfilments} from "./interfaces/ISignedFulfilments.sol";
import {MarketplaceBase} from "./MarketplaceBase.sol";
import {SignedRequestModule} from "./SignedRequestModule.sol";
import {IStakeSource} from "./interfaces/IStakeSource.sol";
import {Clock} from "./libraries/Clock.sol";
import {ProofVerification} from "./libraries/ProofVerification.sol";
import {RequestCommitment} from "./libraries/RequestCommitment.sol";
import {AssignmentLibrary} from "./types/Assignment.sol";
import {InvalidInputsLibrary} from "./types/InvalidInputs.sol";
import {Market, MarketParams} from "./types/Market.sol";
import {ProofContext} from "./types/ProofContext.sol";
import {
    Fulfilment,
    Inputs,
    MatchedRequest,
    Request,
    RequestParams,
    RequestState,
    RequestStatus,
    Task
} from "./types/Request.sol";

/// @title ProofMarketplace
/// @notice Markets, escrowed requests, assignment (matcher-signed batches or the permissionless fallback claim),
/// fulfilment against each market's verifier adapter, and slashing of missed deadlines. Every payout is credited
/// to a balance its owner withdraws (or spends on requests). A matcher assignment pays exactly the listed price the
/// matcher signed; a slash pays compensation and slasher reward only where the prover could have attested
/// unprovable inputs instead (see IProofMarketplace).
/// @dev A request costs one storage slot: its status and a hash of its record (RequestCommitment). Callers pass
/// the record back as emitted, which keeps posting, assigning and settling a request to a handful of storage
/// writes. Invariant: for every token, this contract's balance equals the escrow of Open and Assigned requests plus
/// all balances. The prover registry and stake sources are trusted, governance-approved contracts; every
/// state-changing entry point is non-reentrant.
contract ProofMarketplace is IProofMarketplace, Ownable, MarketplaceBase {
    /// @notice Share of a slashed penalty paid to whoever calls slash.
    uint16 public constant SLASHER_REWARD_BPS = 500;
    /// @notice Upper bound of a market's requester compensation, leaving room for the slasher reward.
    /// @dev The bounds have no getters (EIP-170 room for the signed-request fallback); ts/market.ts mirrors them.
    uint16 internal constant MAX_COMPENSATION_BPS = 10_000 - SLASHER_REWARD_BPS;
    /// @notice Longest fallback delay a market may set.
    uint32 internal constant MAX_FALLBACK_DELAY = 1 days;
    /// @notice EIP-712 typehash of InvalidInputs (types/InvalidInputs.sol).
    bytes32 public constant INVALID_INPUTS_TYPEHASH = InvalidInputsLibrary.INVALID_INPUTS_TYPEHASH;

    /// @inheritdoc IProofMarketplace
    IProverRegistry public immutable registry;
    /// The signed-request module (ISignedRequests), deployed by this constructor and run by the fallback.
    address internal immutable _signedRequests;
    /// The signed path's fast-lane module (ISignedFulfilments, a SignedFulfilmentModule), run by the fallback.
    address internal immutable _signedFulfilments;

    /// @param owner_ Governance: treasury, matcher authority, stake-source approvals, creation fee.
    /// @param registry_ The prover registry (deployed with this contract's address).
    /// @param treasury_ Receives creation fees and the treasury share of slashes.
    /// @param matcherAuthority_ Decides which keys sign assignment batches.
    /// @param signedFulfilments_ A SignedFulfilmentModule built with `registry_`, deployed just before (its creation
    /// code does not fit in this constructor's beside SignedRequestModule's: EIP-3860 caps initcode at 49,152 bytes).
    constructor(
        address owner_,
        IProverRegistry registry_,
        address treasury_,
        IMatcherAuthority matcherAuthority_,
        ISignedFulfilments signedFulfilments_
    ) MarketplaceBase(registry_) {
        if (
            owner_ == address(0) || address(registry_) == address(0) || treasury_ == address(0)
                || address(matcherAuthority_) == address(0)
        ) revert ZeroAddress();
        if (address(signedFulfilments_).code.length == 0) revert NotContract(address(signedFulfilments_));
        _initializeOwner(owner_);
        registry = registry_;
        _signedRequests = address(new SignedRequestModule(registry_));
        _signedFulfilments = address(signedFulfilments_);
        treasury = treasury_;
        matcherAuthority = matcherAuthority_;
        emit TreasuryUpdated(treasury_);
        emit MatcherAuthorityUpdated(matcherAuthority_);
    }

    /// @notice Serves ISignedRequests and IPrivateClaims (signed requests: assignSigned, postSignedRequest,
    /// invalidateNonces and their views; the private fallback claim) and ISignedFulfilments (the fast lane:
    /// fulfilSigned, fulfilSignedBatch, fulfilOpen) by delegatecall to the module that implements them, in this contract's storage
    /// and under its address, so requesters, matchers and indexers see one marketplace.
    /// @dev Why modules: this contract is at the EIP-170 size limit, and the signed path (EIP-712 hashing of a
    /// request with two nested inputs, ERC-1271, the nonce bitmap, batch loops) needs several kilobytes. Modules
    /// keep one address and one storage for the whole marketplace (SignedRequestModule is deployed by this
    /// constructor, SignedFulfilmentModule just before it), and cost the signed path one cold delegatecall (2,600 gas) while leaving
    /// every existing path untouched. Their code is immutable like this contract's: no upgrade path is added.
    fallback() external {
        address module = _signedRequests;
        bytes4 selector = msg.sig;
        if (
            selector == ISignedFulfilments.fulfilSigned.selector
                || selector == ISignedFulfilments.fulfilSignedBatch.selector
                || selector == ISignedFulfilments.fulfilOpen.selector
                || selector == ISignedFulfilments.fastAssignmentDigest.selector
        ) module = _signedFulfilments;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, 0x00, calldatasize())
            let ok := delegatecall(gas(), module, p, calldatasize(), 0x00, 0x00)
            returndatacopy(p, 0x00, returndatasize())
            if iszero(ok) { revert(p, returndatasize()) }
            return(p, returndatasize())
        }
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
            requestCount: 0,
            paymentToken: p.paymentToken,
            stakePerTask: p.stakePerTask,
            stakeSource: p.stakeSource,
            slashPenalty: p.slashPenalty,
            creator: msg.sender
        });
        if (msg.value != 0) _balances[treasury][address(0)] += msg.value;
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
        Request memory request = Request({
            refundAddress: p.refundAddress,
            maxReward: p.maxReward,
            createdAt: Clock.timestamp32(),
            matchingExpiry: p.matchingExpiry,
            provingTime: p.provingTime,
            inputsDigest: keccak256(abi.encodePacked(publicDigest, _inputsDigest(p.privateInputs)))
        });

        uint48 index = m.requestCount + 1;
        m.requestCount = index;
        requestId = (uint256(p.marketId) << 64) | index;
        _commitments[requestId] = RequestCommitment.openMemory(request);
        emit RequestCreated(
            requestId,
            p.marketId,
            msg.sender,
            request,
            p.deadline,
            p.speedPreferenceBps,
            p.publicInputs,
            p.privateInputs
        );
        _escrow(m.paymentToken, p.maxReward);
    }

    /// @inheritdoc IProofMarketplace
    function cancel(uint256 requestId, Request calldata request) external nonReentrant {
        bytes32 commitment = _commitments[requestId];
        RequestStatus status = RequestCommitment.status(commitment);
        if (status != RequestStatus.Open) {
            if (status == RequestStatus.None) revert UnknownRequest(requestId);
            revert RequestNotOpen(requestId, status);
        }
        if (commitment != RequestCommitment.open(request)) revert RecordMismatch(requestId);
        if (Clock.timestamp() <= request.matchingExpiry) revert RequestNotExpired(requestId, request.matchingExpiry);
        _commitments[requestId] = RequestCommitment.finished(RequestStatus.Cancelled);
        _balances[request.refundAddress][_markets[_marketOf(requestId)].paymentToken] += request.maxReward;
        emit RequestCancelled(requestId, request.maxReward);
    }

    // ================================================================ assignment

    /// @inheritdoc IProofMarketplace
    function assign(
        MatchedRequest[] calldata matches,
        bytes[] calldata inputKeys,
        uint64 validUntil,
        bytes calldata signature
    ) external nonReentrant returns (uint256 assigned) {
        if (matches.length == 0) revert EmptyBatch();
        if (inputKeys.length != 0 && inputKeys.length != matches.length) {
            revert InputKeysLengthMismatch(inputKeys.length, matches.length);
        }
        if (Clock.timestamp() > validUntil) revert MatcherSignatureExpired(validUntil);
        address signer = ECDSA.recoverCalldata(
            _hashTypedData(AssignmentLibrary.hashBatch(matches, inputKeys, validUntil)), signature
        );
        if (!matcherAuthority.isMatcher(signer)) revert NotMatcher(signer);

        for (uint256 i; i < matches.length; ++i) {
            MatchedRequest calldata m = matches[i];
            bytes memory reason = _assign(m.requestId, m.request, m.prover, m.price, m.provingTime, true, false);
            if (reason.length != 0) {
                emit AssignmentSkipped(m.requestId, m.prover, reason);
                continue;
            }
            ++assigned;
            if (inputKeys.length != 0 && inputKeys[i].length != 0) {
                emit InputKeyReleased(m.requestId, m.prover, inputKeys[i]);
            }
        }
    }

    /// @inheritdoc IProofMarketplace
    function claim(uint256 requestId, Request calldata request) external nonReentrant {
        _assign(requestId, request, msg.sender, 0, 0, false, true);
    }

    // ================================================================ fulfilment and slashing

    /// @inheritdoc IProofMarketplace
    /// @dev A single proof is verified here, with one `verify` call, not through ProofVerification: the library's
    /// DELEGATECALL (2,600 cold) and calldata copy buy nothing for one item. Same outcome and reason as
    /// ProofVerification._verifyOne, after the records checks (the order fulfilBatch reports them in).
    function fulfil(Fulfilment calldata f) external nonReentrant {
        bytes memory why = _checkFulfilment(f);
        if (why.length != 0) _reject(true, why);
        IProofVerifier verifier = _markets[_marketOf(f.requestId)].verifier;
        uint256 gasBefore = gasleft();
        try verifier.verify(
            f.publicInputs, f.proof, ProofContext(f.requestId, f.task.prover, f.request.inputsDigest)
        ) returns (
            bool valid
        ) {
            if (!valid) {
                _revertIfOutOfGas(gasBefore);
                revert InvalidProof(f.requestId);
            }
        } catch (bytes memory failure) {
            // The adapter's own error (a malformed proof, InsufficientGas), or CallFailed when it gave none.
            _reject(true, _callFailure(failure, address(verifier), gasBefore));
        }
        _settle(f.requestId, f.request, f.task, RequestStatus.Fulfilled);
    }

    /// @inheritdoc IProofMarketplace
    function fulfilBatch(Fulfilment[] calldata fulfilments) external nonReentrant returns (uint256 fulfilled) {
        if (fulfilments.length == 0) revert EmptyBatch();
        bytes[] memory proofFailures = _proofFailures();
        for (uint256 i; i < fulfilments.length; ++i) {
            bytes memory reason = _fulfil(fulfilments[i], proofFailures[i]);
            if (reason.length == 0) ++fulfilled;
            else emit FulfilmentSkipped(fulfilments[i].requestId, reason);
        }
    }

    /// @dev `proofFailure`: why the proof does not verify (ProofVerification), reported once the records hold.
    function _fulfil(Fulfilment calldata f, bytes memory proofFailure) internal returns (bytes memory reason) {
        reason = _checkFulfilment(f);
        if (reason.length == 0) reason = proofFailure;
        if (reason.length == 0) _settle(f.requestId, f.request, f.task, RequestStatus.Fulfilled);
    }

    /// @dev ProofVerification.verify(_markets, fulfilments) for fulfilBatch's fulfilments. Delegated to the linked
    /// library with the calldata forwarded as it came (its offsets stay valid behind the new head), which is what keeps
    /// the batched verifier calls out of this contract's size budget. A revert (a gas shortfall) is re-thrown.
    function _proofFailures() private returns (bytes[] memory failures) {
        address library_ = address(ProofVerification);
        bytes4 selector = ProofVerification.verify.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            // slot ‖ offset + 0x40 ‖ fulfilBatch's arguments
            mstore(p, selector)
            mstore(add(p, 0x04), _markets.slot)
            mstore(add(p, 0x24), add(calldataload(0x04), 0x40))
            calldatacopy(add(p, 0x44), 0x04, sub(calldatasize(), 0x04))
            if iszero(delegatecall(gas(), library_, p, add(calldatasize(), 0x40), 0x00, 0x00)) {
                returndatacopy(p, 0x00, returndatasize())
                revert(p, returndatasize())
            }
            // The library's abi-encoded bytes[], turned into a memory bytes[] in place: offsets become pointers.
            returndatacopy(p, 0x00, returndatasize())
            failures := add(p, mload(p))
            let heads := add(failures, 0x20)
            for { let i := 0 } lt(i, mload(failures)) { i := add(i, 1) } {
                let head := add(heads, mul(i, 0x20))
                mstore(head, add(heads, mload(head)))
            }
            mstore(0x40, add(p, returndatasize()))
        }
    }

    /// @dev Why msg.sender may not fulfil with these records and inputs, or nothing.
    function _checkFulfilment(Fulfilment calldata f) internal view returns (bytes memory) {
        uint256 requestId = f.requestId;
        bytes memory why = _checkAssigned(requestId, f.request, f.task);
        if (why.length != 0) return why;
        if (msg.sender != f.task.prover) {
            return abi.encodeWithSelector(NotAssignedProver.selector, msg.sender, f.task.prover);
        }
        if (Clock.timestamp() > f.task.deadline) {
            return abi.encodeWithSelector(TaskDeadlinePassed.selector, requestId, f.task.deadline);
        }
        if (keccak256(abi.encodePacked(keccak256(f.publicInputs), f.privateInputsDigest)) != f.request.inputsDigest) {
            return abi.encodeWithSelector(WrongInputs.selector, requestId);
        }
        return "";
    }

    /// @dev Pays the prover its price, refunds the rest of the escrow, frees capacity and stake.
    function _settle(uint256 requestId, Request calldata request, Task calldata task, RequestStatus finalStatus)
        internal
    {
        _commitments[requestId] = RequestCommitment.finished(finalStatus);
        Market storage m = _markets[_marketOf(requestId)];
        address rewardAddress = registry.release(task.prover, task.compute);
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask != 0) m.stakeSource.unlock(task.prover, requestId, stakePerTask);

        address token = m.paymentToken;
        uint96 refund = request.maxReward - task.price;
        _balances[rewardAddress][token] += task.price;
        if (refund != 0) _balances[request.refundAddress][token] += refund;
        if (finalStatus == RequestStatus.Fulfilled) emit RequestFulfilled(requestId, task.prover, task.price, refund);
        else emit InputsRejected(requestId, task.prover, task.price, refund);
    }

    /// @inheritdoc IProofMarketplace
    /// @dev Compensation and slasher reward require `enclaveKeys.enclaveActiveAt(market, prover, task.deadline)`: only
    /// then could the prover have answered an unprovable request with `rejectInputs`, so only then is missing the
    /// deadline its fault (a key registered after the deadline does not count). Without it a requester could post a statement with no witness, collect escrow plus compensation, and
    /// the slasher reward too by slashing from another address.
    function slash(uint256 requestId, Request calldata request, Task calldata task) external nonReentrant {
        bytes memory why = _checkAssigned(requestId, request, task);
        if (why.length != 0) _reject(true, why);
        if (Clock.timestamp() <= task.deadline) revert TaskDeadlineNotPassed(requestId, task.deadline);
        // A private claim whose requester withheld the key (a due time in the slot) is abandoned, not slashed.
        unchecked {
            if (uint256(_inputKeyWaits[requestId]) - 1 < type(uint32).max) {
                revert IPrivateClaims.InputKeyNotReleased(requestId);
            }
        }
        _commitments[requestId] = RequestCommitment.finished(RequestStatus.Slashed);

        uint256 marketId = _marketOf(requestId);
        Market storage m = _markets[marketId];
        address refundAddress = request.refundAddress;
        registry.release(task.prover, task.compute);
        _balances[refundAddress][m.paymentToken] += request.maxReward;

        uint256 penalty;
        uint256 compensation;
        uint256 slasherReward;
        uint96 stakePerTask = m.stakePerTask;
        if (stakePerTask != 0) {
            IStakeSource source = m.stakeSource;
            penalty = source.slash(task.prover, requestId, stakePerTask, m.slashPenalty, address(this));
            if (penalty != 0) {
                address stakeToken = source.stakeToken();
                // Only a prover that could have attested unprovable inputs (rejectInputs) instead of missing its
                // deadline pays compensation and slasher reward; otherwise the requester is made whole, never more.
                if (_askEnclaveKeys(IEnclaveKeys.enclaveActiveAt.selector, marketId, task.prover, task.deadline) == 1) {
                    compensation = penalty * m.requesterCompensationBps / 10_000;
                    slasherReward = penalty * SLASHER_REWARD_BPS / 10_000;
                    _balances[refundAddress][stakeToken] += compensation;
                    _balances[msg.sender][stakeToken] += slasherReward;
                }
                _balances[treasury][stakeToken] += penalty - compensation - slasherReward;
            }
        }
        emit TaskSlashed(requestId, task.prover, penalty, compensation, slasherReward, msg.sender);
    }

    /// @dev Why (request, task) are not the records of an assigned request, or nothing.
    function _checkAssigned(uint256 requestId, Request calldata request, Task calldata task)
        internal
        view
        returns (bytes memory)
    {
        bytes32 commitment = _commitments[requestId];
        RequestStatus status = RequestCommitment.status(commitment);
        if (status != RequestStatus.Assigned) {
            if (status == RequestStatus.Fulfilled) {
                return abi.encodeWithSelector(RequestAlreadyFulfilled.selector, requestId);
            }
            if (status == RequestStatus.None) return abi.encodeWithSelector(UnknownRequest.selector, requestId);
            return abi.encodeWithSelector(RequestNotAssigned.selector, requestId, status);
        }
        if (commitment != RequestCommitment.assigned(request, task)) {
            return abi.encodeWithSelector(RecordMismatch.selector, requestId);
        }
        return "";
    }

    // ================================================================ balances

    /// @inheritdoc IProofMarketplace
    function deposit(address token, uint256 amount) external nonReentrant {
        if (token.code.length == 0) revert NotContract(token);
        if (amount == 0) revert ZeroAmount();
        _balances[msg.sender][token] += amount;
        emit Deposited(msg.sender, token, amount);
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
    }

    /// @inheritdoc IProofMarketplace
    function withdraw(address token, address to, uint256 amount) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 held = _balances[msg.sender][token];
        unchecked {
            if (amount == 0) amount = held;
            // One check for both an empty balance (nothing to withdraw) and an amount above the balance.
            if (amount - 1 >= held) {
                // InsufficientBalance(msg.sender, token, held, amount), encoded by hand: solc's encoder for a
                // four-word error costs bytes this contract does not have (EIP-170).
                assembly ("memory-safe") {
                    let p := mload(0x40)
                    mstore(p, 0x861da4bd) // InsufficientBalance.selector
                    mstore(add(p, 0x20), caller())
                    mstore(add(p, 0x40), token)
                    mstore(add(p, 0x60), held)
                    mstore(add(p, 0x80), amount)
                    revert(add(p, 0x1c), 0x84)
                }
            }
            _balances[msg.sender][token] = held - amount;
        }
        emit Withdrawn(msg.sender, token, to, amount);
        if (token == address(0)) SafeTransferLib.safeTransferETH(to, amount);
        else SafeTransferLib.safeTransfer(token, to, amount);
    }

    /// @dev Escrows `amount` from msg.sender: its balance first, the shortfall pulled with transferFrom.
    function _escrow(address token, uint256 amount) internal {
        uint256 balance = _balances[msg.sender][token];
        if (balance >= amount) {
            _balances[msg.sender][token] = balance - amount;
            return;
        }
        if (balance != 0) _balances[msg.sender][token] = 0;
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount - balance);
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
    function setEnclaveKeys(IEnclaveKeys keys) external onlyOwner {
        enclaveKeys = keys;
        emit EnclaveKeysUpdated(keys);
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
    function requestStatus(uint256 requestId) external view returns (RequestStatus) {
        return RequestCommitment.status(_commitments[requestId]);
    }

    /// @inheritdoc IProofMarketplace
    function requestCommitment(uint256 requestId) external view returns (bytes32) {
        return _commitments[requestId];
    }

    /// @inheritdoc IProofMarketplace
    function balanceOf(address account, address token) external view returns (uint256) {
        return _balances[account][token];
    }

    // ================================================================ internal

    /// @dev One-word answer of the enclave-key registry to `selector(marketId, account, at)` (IEnclaveKeys), as
    /// returned (zero when no registry is set or it returns less than a word). A failing call reverts with its data.
    function _askEnclaveKeys(bytes4 selector, uint256 marketId, address account, uint256 at)
        private
        view
        returns (uint256 answer)
    {
        address keys = address(enclaveKeys);
        assembly ("memory-safe") {
            if keys {
                let p := mload(0x40)
                mstore(p, selector)
                mstore(add(p, 0x04), marketId)
                mstore(add(p, 0x24), account)
                // A third word: the time for enclaveActiveAt; two-argument views ignore it.
                mstore(add(p, 0x44), at)
                if iszero(staticcall(gas(), keys, p, 0x64, 0x00, 0x20)) {
                    returndatacopy(p, 0x00, returndatasize())
                    revert(p, returndatasize())
                }
                answer := mul(mload(0x00), gt(returndatasize(), 0x1f))
            }
        }
    }
}
