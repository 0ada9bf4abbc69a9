// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";

import {IProofMarketplace} from "./interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IProverRegistry} from "./interfaces/IProverRegistry.sol";
import {ISignedFulfilments} from "./interfaces/ISignedFulfilments.sol";
import {ISignedRequests} from "./interfaces/ISignedRequests.sol";
import {MarketplaceBase} from "./MarketplaceBase.sol";
import {Clock} from "./libraries/Clock.sol";
import {RequestCommitment} from "./libraries/RequestCommitment.sol";
import {ProofVerification} from "./libraries/ProofVerification.sol";
import {FastAssignment} from "./types/FastAssignment.sol";
import {Inputs} from "./types/Inputs.sol";
import {Market} from "./types/Market.sol";
import {ProofContext} from "./types/ProofContext.sol";
import {Prover} from "./types/Prover.sol";
import {OpenFulfilment} from "./types/OpenFulfilment.sol";
import {Request, RequestStatus} from "./types/Request.sol";
import {SignedFulfilment} from "./types/SignedFulfilment.sol";
import {SignedRequest, SignedRequestLibrary} from "./types/SignedRequest.sol";

/// @title SignedFulfilmentModule
/// @notice The fast lane of the signed path (ISignedFulfilments), run by the marketplace's fallback by delegatecall
/// like SignedRequestModule: in its storage, under its address and domain, with its reentrancy lock. Deployed by the
/// ProofMarketplace constructor.
/// @dev Called directly, it acts on its own empty storage and holds nothing. Design:
/// - One use per signed request: the nonce bit is the only record, and every path that uses a signed request
///   (assignSigned, postSignedRequest, this one) spends it first-come; invalidateNonces spends it without a use.
/// - The checks of an item are views, in the order ISignedFulfilments.fulfilSigned lists them; the proofs are checked
///   after them (only for items that passed), then the writes: nonce, the requester's balance, the reward address's.
///   A batch re-reads the nonce and the balance just before its writes, so two items spending one nonce, or more than
///   one deposit holds, settle only as far as the state allows and the rest are skipped with the error.
/// - Nothing here calls out to a contract that can change state: the verifier, the ERC-1271 wallet, the matcher
///   authority and the registry are read with STATICCALL.
contract SignedFulfilmentModule is ISignedFulfilments, MarketplaceBase {
    /// What an item's checks found, for its proof check and its settlement.
    struct Checked {
        uint256 requestId;
        IProofVerifier verifier;
        address token;
        /// The request's inputs digest, keccak256(public inputs digest ‖ zero), as the verifier's context carries it.
        bytes32 inputsDigest;
        /// Why the item fails, or empty.
        bytes failure;
    }

    constructor(IProverRegistry registry_) MarketplaceBase(registry_) {}

    /// @inheritdoc ISignedFulfilments
    function fulfilSigned(SignedFulfilment calldata f) external nonReentrant {
        (Checked memory c,) = _check(f, address(0));
        if (c.failure.length != 0) _reject(true, c.failure);
        address rewardAddress = _rewardAddress(f.prover);
        bytes memory failure = _proofFailure(f, c);
        if (failure.length != 0) _reject(true, failure);
        _settle(f, c, rewardAddress);
    }

    /// @inheritdoc ISignedFulfilments
    function fulfilSignedBatch(SignedFulfilment[] calldata fs) external nonReentrant returns (uint256 fulfilled) {
        uint256 n = fs.length;
        if (n == 0) revert IProofMarketplace.EmptyBatch();
        Checked[] memory checked = new Checked[](n);
        address matcher;
        for (uint256 i; i < n; ++i) {
            (checked[i], matcher) = _check(fs[i], matcher);
        }
        // Every item's prover is the sender (checked), so one registration serves the batch.
        address rewardAddress = _rewardAddress(msg.sender);
        bool[] memory accepted = _verifyGroups(fs, checked);
        for (uint256 i; i < n; ++i) {
            Checked memory c = checked[i];
            if (c.failure.length == 0 && !accepted[i]) c.failure = _proofFailure(fs[i], c);
            // The state an earlier item of this batch changed: its nonce, the requester's balance.
            if (c.failure.length == 0) c.failure = _spendFailure(fs[i].request, c.token, fs[i].price);
            if (c.failure.length != 0) {
                emit IProofMarketplace.FulfilmentSkipped(c.requestId, c.failure);
                continue;
            }
            _settle(fs[i], c, rewardAddress);
            ++fulfilled;
        }
    }

    /// @inheritdoc ISignedFulfilments
    function fulfilOpen(OpenFulfilment calldata f) external nonReentrant {
        bytes32 inputsDigest = _checkOpenFulfilment(f);
        address rewardAddress = _rewardAddress(f.prover);
        Market storage m = _markets[_marketOf(f.requestId)];
        bytes memory failure =
            _proofFailure(m.verifier, f.publicInputs, f.proof, ProofContext(f.requestId, f.prover, inputsDigest));
        if (failure.length != 0) _reject(true, failure);
        uint256 requestId = f.requestId;
        _commitments[requestId] = RequestCommitment.finished(RequestStatus.Fulfilled);
        address token = m.paymentToken;
        uint96 refund = f.request.maxReward - f.price;
        _balances[rewardAddress][token] += f.price;
        if (refund != 0) _balances[f.request.refundAddress][token] += refund;
        emit IProofMarketplace.RequestFulfilled(requestId, f.prover, f.price, refund);
    }

    /// @dev fulfilOpen's checks up to the proof, in its documented order; returns the inputs digest the proof is for.
    function _checkOpenFulfilment(OpenFulfilment calldata f) internal view returns (bytes32 inputsDigest) {
        uint256 requestId = f.requestId;
        Request calldata request = f.request;
        if (msg.sender != f.prover) revert IProofMarketplace.NotAssignedProver(msg.sender, f.prover);
        bytes memory why = _checkOpen(requestId, request);
        if (why.length != 0) _reject(true, why);
        uint256 expiresAt = f.validUntil < request.matchingExpiry ? f.validUntil : request.matchingExpiry;
        if (Clock.timestamp() > expiresAt) revert FastAssignmentExpired(requestId, expiresAt);
        if (f.price > request.maxReward) revert PriceAboveMaxReward(requestId, f.price, request.maxReward);
        inputsDigest = keccak256(abi.encodePacked(keccak256(f.publicInputs), bytes32(0)));
        if (inputsDigest != request.inputsDigest) revert IProofMarketplace.WrongInputs(requestId);
        address signer = ECDSA.tryRecoverCalldata(
            _hashTypedData(FastAssignment(requestId, f.prover, f.price, f.validUntil).hash()), f.matcherSignature
        );
        if (signer == address(0) || !matcherAuthority.isMatcher(signer)) revert IProofMarketplace.NotMatcher(signer);
    }

    /// @dev Why `request` is not the record of the Open request `requestId`, or nothing.
    function _checkOpen(uint256 requestId, Request calldata request) internal view returns (bytes memory) {
        bytes32 commitment = _commitments[requestId];
        RequestStatus status = RequestCommitment.status(commitment);
        if (status == RequestStatus.None) {
            return abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, requestId);
        }
        if (status != RequestStatus.Open) {
            return abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, requestId, status);
        }
        if (commitment != RequestCommitment.open(request)) {
            return abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, requestId);
        }
        return "";
    }

    /// @inheritdoc ISignedFulfilments
    function fastAssignmentDigest(FastAssignment calldata a) external view returns (bytes32) {
        return _hashTypedData(a.hash());
    }

    /// @dev An item's checks, up to its proof, in the order fulfilSigned documents. `knownMatcher`: a key already
    /// found to be a matcher in this call (zero for none); returned updated, so a batch asks the authority once per
    /// signing key.
    function _check(SignedFulfilment calldata f, address knownMatcher)
        internal
        view
        returns (Checked memory c, address matcher)
    {
        matcher = knownMatcher;
        SignedRequest calldata r = f.request;
        bytes32 digest = _hashTypedData(r.hash());
        c.requestId = SignedRequestLibrary.id(r.marketId, digest);
        if (msg.sender != f.prover) {
            c.failure = abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, msg.sender, f.prover);
            return (c, matcher);
        }
        uint256 expiresAt = f.validUntil < r.deadline ? f.validUntil : r.deadline;
        if (Clock.timestamp() > expiresAt) {
            c.failure = abi.encodeWithSelector(FastAssignmentExpired.selector, c.requestId, expiresAt);
            return (c, matcher);
        }
        Market storage m = _markets[r.marketId];
        c.verifier = m.verifier;
        if (address(c.verifier) == address(0)) {
            c.failure = abi.encodeWithSelector(IProofMarketplace.UnknownMarket.selector, r.marketId);
            return (c, matcher);
        }
        c.token = m.paymentToken;
        if (f.price > r.maxReward) {
            c.failure = abi.encodeWithSelector(PriceAboveMaxReward.selector, c.requestId, f.price, r.maxReward);
            return (c, matcher);
        }
        (c.inputsDigest, c.failure) = _inputsFailure(f, c.requestId);
        if (c.failure.length != 0) return (c, matcher);
        address signer = ECDSA.tryRecoverCalldata(
            _hashTypedData(FastAssignment(c.requestId, f.prover, f.price, f.validUntil).hash()), f.matcherSignature
        );
        // A malformed signature recovers no one (zero): the item fails, never the batch, and zero is never a matcher.
        if (signer == address(0) || (signer != matcher && !matcherAuthority.isMatcher(signer))) {
            c.failure = abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, signer);
            return (c, matcher);
        }
        matcher = signer;
        if (!_isRequesterSignature(r.requester, digest, f.requesterSignature)) {
            c.failure = abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, r.requester);
            return (c, matcher);
        }
        c.failure = _spendFailure(r, c.token, f.price);
    }

    /// @dev The inputs check: no private inputs; public inputs present and well-formed; the bytes the proof is for
    /// are the request's. Returns the inputs digest the verifier's context carries.
    function _inputsFailure(SignedFulfilment calldata f, uint256 requestId)
        internal
        pure
        returns (bytes32 inputsDigest, bytes memory failure)
    {
        Inputs calldata priv = f.request.privateInputs;
        if (priv.data.length != 0 || priv.digest != bytes32(0) || bytes(priv.uri).length != 0) {
            return (inputsDigest, abi.encodeWithSelector(PrivateInputsNotFast.selector, requestId));
        }
        bytes32 publicDigest;
        (publicDigest, failure) = _inputsDigestOrFailure(f.request.publicInputs);
        if (failure.length != 0) return (inputsDigest, failure);
        if (publicDigest == bytes32(0)) {
            return (inputsDigest, abi.encodeWithSelector(IProofMarketplace.MissingInputs.selector));
        }
        // Inputs behind a URI must be given, and given inputs must be the request's; inline ones need no second hash.
        bool given = f.publicInputs.length != 0 || f.request.publicInputs.data.length == 0;
        if (given && keccak256(f.publicInputs) != publicDigest) {
            return (inputsDigest, abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, requestId));
        }
        inputsDigest = keccak256(abi.encodePacked(publicDigest, bytes32(0)));
    }

    /// @dev Why the request's nonce or its requester's balance does not allow paying `price` now, or nothing.
    function _spendFailure(SignedRequest calldata r, address token, uint96 price) internal view returns (bytes memory) {
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        if (_nonceBitmap[r.requester][r.nonce >> 8] & (1 << (r.nonce & 0xff)) != 0) {
            return abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, r.requester, r.nonce);
        }
        uint256 balance = _balances[r.requester][token];
        if (balance < price) {
            return abi.encodeWithSelector(
                ISignedRequests.InsufficientDeposit.selector, r.requester, token, balance, uint256(price)
            );
        }
        return "";
    }

    /// @dev The prover's registered reward address; reverts ProverNotRegistered (for a batch too: every item is the
    /// sender's).
    function _rewardAddress(address prover) internal view returns (address) {
        Prover memory p = _registry.prover(prover);
        if (!p.registered) revert ProverNotRegistered(prover);
        return p.rewardAddress;
    }

    /// @dev The public inputs the item's proof is for: given, or the request's inline ones.
    function _publicInputs(SignedFulfilment calldata f) internal pure returns (bytes calldata) {
        return f.publicInputs.length != 0 ? f.publicInputs : f.request.publicInputs.data;
    }

    /// @dev Why the item's proof does not verify (InvalidProof, the adapter's own error, CallFailed), or nothing. A
    /// gas shortfall reverts (CalleeOutOfGas, or the adapter's InsufficientGas re-thrown).
    function _proofFailure(SignedFulfilment calldata f, Checked memory c) internal view returns (bytes memory) {
        return _proofFailure(c.verifier, _publicInputs(f), f.proof, ProofContext(c.requestId, f.prover, c.inputsDigest));
    }

    /// @dev Why `proof` does not prove `publicInputs` for `context` by `verifier`, or nothing.
    function _proofFailure(
        IProofVerifier verifier,
        bytes calldata publicInputs,
        bytes calldata proof,
        ProofContext memory context
    ) internal view returns (bytes memory) {
        uint256 gasBefore = gasleft();
        try verifier.verify(publicInputs, proof, context) returns (bool valid) {
            if (valid) return "";
            _revertIfOutOfGas(gasBefore);
            return abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, context.requestId);
        } catch (bytes memory why) {
            ProofVerification.rethrowGasShortfall(why, gasBefore);
            return _callFailure(why, address(verifier), gasBefore);
        }
    }

    /// @dev Asks each verifier once (verifyBatch) about the items that passed their checks; an item is accepted
    /// only on a canonical true. Items the batch did not accept get their own `verify`, for their exact reason. A
    /// group of one is left to that `verify`.
    function _verifyGroups(SignedFulfilment[] calldata fs, Checked[] memory checked)
        internal
        view
        returns (bool[] memory accepted)
    {
        uint256 n = fs.length;
        accepted = new bool[](n);
        bool[] memory asked = new bool[](n);
        for (uint256 i; i < n; ++i) {
            if (asked[i] || checked[i].failure.length != 0) continue;
            IProofVerifier verifier = checked[i].verifier;
            uint256 count;
            for (uint256 j = i; j < n; ++j) {
                if (_inGroup(checked[j], asked[j], verifier)) ++count;
            }
            if (count > 1) _askGroup(fs, checked, asked, accepted, i, count);
        }
    }

    /// @dev Whether an item not yet asked, which passed its checks, is `verifier`'s.
    function _inGroup(Checked memory c, bool asked, IProofVerifier verifier) internal pure returns (bool) {
        return !asked && c.failure.length == 0 && c.verifier == verifier;
    }

    /// @dev One verifyBatch call for the `count` items of item `first`'s verifier, marking them asked, and accepted
    /// where answered exactly true.
    function _askGroup(
        SignedFulfilment[] calldata fs,
        Checked[] memory checked,
        bool[] memory asked,
        bool[] memory accepted,
        uint256 first,
        uint256 count
    ) internal view {
        IProofVerifier verifier = checked[first].verifier;
        uint256[] memory index = new uint256[](count);
        bytes[] memory inputs = new bytes[](count);
        bytes[] memory proofs = new bytes[](count);
        ProofContext[] memory contexts = new ProofContext[](count);
        uint256 k;
        for (uint256 j = first; k < count; ++j) {
            if (!_inGroup(checked[j], asked[j], verifier)) continue;
            asked[j] = true;
            index[k] = j;
            inputs[k] = _publicInputs(fs[j]);
            proofs[k] = fs[j].proof;
            contexts[k++] = ProofContext(checked[j].requestId, fs[j].prover, checked[j].inputsDigest);
        }
        bool[] memory answers = ProofVerification.askBatch(
            verifier, abi.encodeCall(IProofVerifier.verifyBatch, (inputs, proofs, contexts)), count
        );
        for (uint256 j; j < count; ++j) {
            accepted[index[j]] = answers[j];
        }
    }

    /// @dev Spends the nonce, pays the price from the requester's balance to the reward address.
    function _settle(SignedFulfilment calldata f, Checked memory c, address rewardAddress) internal {
        SignedRequest calldata r = f.request;
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        _nonceBitmap[r.requester][r.nonce >> 8] |= 1 << (r.nonce & 0xff);
        _balances[r.requester][c.token] -= f.price;
        _balances[rewardAddress][c.token] += f.price;
        emit SignedRequestFulfilled(c.requestId, r.requester, f.prover, r.nonce, f.price);
    }
}
