// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierAdapter} from "../../src/interfaces/IVerifierAdapter.sol";
import {Vm} from "forge-std/Vm.sol";
import {MarketplaceDigests} from "../utils/MarketplaceDigests.sol";
import {Debit, HandlerSetup, MarketplaceHandler, Spent} from "./MarketplaceHandler.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {ISignedFulfilments} from "../../src/interfaces/ISignedFulfilments.sol";
import {ISignedRequests} from "../../src/interfaces/ISignedRequests.sol";
import {Groth16VerifierAdapter} from "../../src/verifiers/Groth16VerifierAdapter.sol";
import {Clock} from "../../src/libraries/Clock.sol";
import {Inputs} from "../../src/types/Inputs.sol";
import {RequestStatus} from "../../src/types/Request.sol";
import {SignedFulfilment} from "../../src/types/SignedFulfilment.sol";
import {SignedRequest} from "../../src/types/SignedRequest.sol";

/// @notice One fast-lane payment (SignedRequestFulfilled) as the handler predicted it and the event confirmed it.
struct FastPayment {
    uint256 requestId;
    /// Its signed request in the handler's pool.
    uint256 entry;
    address requester;
    /// The prover the matcher's FastAssignment named (the sender, and the event's prover).
    address prover;
    /// Where the price went: that prover's reward address.
    address paidTo;
    address token;
    uint96 price;
    /// The request's maxReward, as its requester signed it.
    uint96 maxReward;
    uint256 nonce;
}

/// @notice The running totals the per-call properties read, in one call (FastLaneHandler.fastTotals). Per token: what
/// entered and left the marketplace, and the fast lane's measured credits and debits; per requester: its nonce bitmap
/// words as booked (words 0 to `lastWordPos`); and the fast-lane calls' measured side effects.
struct FastTotals {
    address[] requesters;
    uint256[] inflow;
    uint256[] outflow;
    uint256[] fastCredit;
    uint256[] fastDebit;
    uint256[] lastWordPos;
    uint256[][] nonceWords;
    uint256 sideEffects;
}

/// @notice MarketplaceHandler with the signed path's fast lane (ISignedFulfilments): fulfilSigned and
/// fulfilSignedBatch with requester-signed requests, the matcher's EIP-712 FastAssignment signatures (digests from the
/// spec, MarketplaceDigests) and real Groth16 proofs, including every refusal the lane has; requests used on one signed
/// path tried again on the others (replaySigned); and nonces invalidated by their requesters.
/// @dev As in MarketplaceHandler, nothing is caught: a single fulfilSigned that must fail is called under
/// `vm.expectRevert` with its exact error, and a batch's items are predicted one by one and compared with the
/// FulfilmentSkipped and SignedRequestFulfilled events it emits (nothing else). Every fast-lane call that goes through is
/// measured: the balance of every account in every token, the native stake (staked, locked, unbonding) of every prover
/// at every source, the registry's compute in use and the tokens the marketplace holds, before and after; only the
/// predicted payments may move, and only between the paying requesters and the signed prover's reward address.
contract FastLaneHandler is MarketplaceHandler {
    /// No pooled request (a request no use can ever take: forged signature, private inputs, unknown market).
    uint256 internal constant NO_ENTRY = type(uint256).max;
    /// A market id no market has.
    uint32 internal constant NO_MARKET = 999;

    address internal immutable matcherAddress;
    ISignedFulfilments internal immutable lane;
    /// Per market index, its verifier: markets sharing one are asked together (one verifyBatch per verifier).
    address[] internal _verifierOf;

    FastPayment[] internal _payments;
    /// Balance changes the fast-lane calls made, as measured around them: [account][token].
    mapping(address account => mapping(address token => uint256)) public measuredFastCredit;
    mapping(address account => mapping(address token => uint256)) public measuredFastDebit;
    /// Per token, the measured fast-lane credits and debits summed over all accounts.
    mapping(address token => uint256) public measuredFastCreditTotal;
    mapping(address token => uint256) public measuredFastDebitTotal;
    /// Native stake, compute in use or marketplace token holdings a fast-lane call changed (measured): never any.
    uint256 public fastSideEffects;

    // ---------------------------------------------------------------- what the run reached

    /// fulfilSigned calls that paid; fast-lane calls refused whole (a single fulfilSigned, a batch of an unregistered
    /// prover).
    uint256 public fastPaid;
    uint256 public fastRefused;
    uint256 public fastBatches;
    uint256 public fastBatchPaid;
    uint256 public fastBatchSkips;
    /// Batch items that passed their checks and proof but found their nonce spent or their requester's deposit short
    /// once the batch's earlier items were paid.
    uint256 public fastSpendSkips;
    /// Batches with at least two items for one verifier that passed their checks (so verifyBatch was asked), and of
    /// those, the batches where that verifier was a market's Groth16BatchVerifier (index BATCH_VERIFIER_MARKET).
    uint256 public fastVerifyBatchGroups;
    uint256 public fastBatchVerifierGroups;
    uint256 public replaysRefused;
    uint256 public replaysUsed;
    uint256 public invalidations;
    /// Refusals (whole calls) and skips (batch items) by the selector of their error.
    mapping(bytes4 selector => uint256) public fastRefusals;

    /// The market whose verifier is a Groth16BatchVerifier.
    uint256 public immutable BATCH_VERIFIER_MARKET;

    /// One item as built: the fulfilment sent, and what the books know of it.
    struct FastItem {
        SignedFulfilment f;
        /// Its pooled request, or NO_ENTRY.
        uint256 entry;
        /// The id the spec gives `f.request` (what the marketplace derives).
        uint256 id;
        /// Its market's index, and pay token (zero for an unknown market).
        uint8 market;
        address token;
        /// A fixture proof of its public inputs exists, and which.
        bool provable;
        uint8 fixture;
        /// The public inputs a proof must be for.
        bytes inputs;
        /// Who signed the FastAssignment the marketplace rebuilds from `f` (recovered for a tampered request).
        address matcherSigner;
        /// `f.requesterSignature` is the requester's over `f.request`.
        bool requesterSigned;
        /// The item is meant to find its requester's deposit short (no top-up for it).
        bool short;
    }

    constructor(HandlerSetup memory s, uint256 batchVerifierMarket) MarketplaceHandler(s) {
        matcherAddress = vm.addr(s.matcherKey);
        lane = ISignedFulfilments(address(s.marketplace));
        BATCH_VERIFIER_MARKET = batchVerifierMarket;
        for (uint256 i; i < s.markets.length; ++i) {
            _verifierOf.push(address(s.marketplace.market(s.markets[i].id).verifier));
        }
    }

    // ================================================================ fulfilSigned

    /// One fast-lane fulfilment by a prover. `code` % 16 picks the case (see _fastItem): a fresh request assigned to
    /// the sender and its fixture's proof (0-6, inputs inline or behind a URI), a pooled request (7: mostly one whose
    /// nonce is spent, by any path), another prover's assignment or a stranger sending it (8), an expired assignment
    /// (9), a price above maxReward (10), a non-matcher's signature, a malformed one or a tampered request (11), a
    /// forged requester signature, private inputs or an unknown market (12), a deposit below the price (13), a forged
    /// proof (14), wrong or missing public inputs (15); variant 1 of cases 9, 10, 12 and 13 adds a malformed matcher
    /// signature. The exact error is predicted (the first check to fail, in the module's order); anything else is a
    /// finding.
    function fulfilSigned(uint256 seed, uint256 code) external counted {
        uint256 pi = seed % provers.length;
        address sender = provers[pi];
        FastItem[] memory items = new FastItem[](1);
        items[0] = _fastItem(uint256(keccak256(abi.encode(seed, code))), code, pi, items, 0);
        FastItem memory it = items[0];
        if (it.f.request.requester == address(0)) return; // nothing pooled to reuse yet
        if (code % 16 == 8 && (code >> 4) % 4 == 3) sender = stranger;
        _fundItems(items, false);

        bytes memory why = _checkFailure(it, sender);
        if (why.length == 0 && !registry.prover(it.f.prover).registered) {
            why = abi.encodeWithSelector(ISignedFulfilments.ProverNotRegistered.selector, it.f.prover);
        }
        if (why.length == 0) why = _proofFailure(it);
        if (why.length != 0) {
            _expect(why);
            vm.prank(sender);
            lane.fulfilSigned(it.f);
            ++fastRefused;
            // forge-lint: disable-next-line(unsafe-typecast): a non-empty reason is a custom error
            ++fastRefusals[bytes4(why)];
            return;
        }
        uint256[] memory before = _holdings();
        _bookPayment(it, sender);
        bytes[] memory reasons = new bytes[](1);
        vm.recordLogs();
        vm.prank(sender);
        lane.fulfilSigned(it.f);
        _checkFastLogs(items, reasons);
        _checkHoldings(before, items, reasons);
        ++fastPaid;
    }

    // ================================================================ fulfilSignedBatch

    /// Two to five fast-lane items from one prover (`code` % 4 + 2), each built from six bits of `code` as in
    /// fulfilSigned, where case 7 may also repeat an earlier item of the batch; `code` / 4 % 4 == 3 brings the
    /// requesters' deposits to one less than the batch's prices (the last of their items to settle finds the deposit
    /// short), and `code` / 8 % 64 == 63 sends an empty batch. Each item's outcome is predicted as the module decides it:
    /// its checks against the state before the batch, its proof, then its nonce and its requester's balance as the
    /// batch's earlier payments left them.
    function fulfilSignedBatch(uint256 seed, uint256 code) external counted {
        uint256 pi = seed % provers.length;
        address sender = provers[pi];
        if ((code >> 3) % 64 == 63) {
            _expect(abi.encodeWithSelector(IProofMarketplace.EmptyBatch.selector));
            vm.prank(sender);
            lane.fulfilSignedBatch(new SignedFulfilment[](0));
            return;
        }
        uint256 n = 2 + code % 4;
        FastItem[] memory items = new FastItem[](n);
        SignedFulfilment[] memory fs = new SignedFulfilment[](n);
        for (uint256 i; i < n; ++i) {
            items[i] = _fastItem(uint256(keccak256(abi.encode(seed, i))), code >> (9 + 6 * i), pi, items, i);
            if (items[i].f.request.requester == address(0)) return; // nothing pooled to reuse yet
            fs[i] = items[i].f;
        }
        _fundItems(items, (code >> 2) & 3 == 3);

        if (!registry.prover(sender).registered) {
            // Every item is the sender's (or skipped), so the batch needs the sender's reward address.
            _expect(abi.encodeWithSelector(ISignedFulfilments.ProverNotRegistered.selector, sender));
            ++fastRefused;
            ++fastRefusals[ISignedFulfilments.ProverNotRegistered.selector];
            vm.prank(sender);
            lane.fulfilSignedBatch(fs);
            return;
        }
        bytes[] memory reasons = _predictBatch(items, sender);
        uint256 expected;
        for (uint256 i; i < n; ++i) {
            if (reasons[i].length == 0) {
                ++expected;
            } else {
                ++fastBatchSkips;
                // forge-lint: disable-next-line(unsafe-typecast): a non-empty reason is a custom error
                ++fastRefusals[bytes4(reasons[i])];
            }
        }
        uint256[] memory before = _holdings();
        // The payments were booked by _predictBatch (each item's spend check sees the earlier ones).
        vm.recordLogs();
        vm.prank(sender);
        assertEq(lane.fulfilSignedBatch(fs), expected, "fast items fulfilled");
        _checkFastLogs(items, reasons);
        _checkHoldings(before, items, reasons);
        ++fastBatches;
        fastBatchPaid += expected;
    }

    /// Each item's reason (empty: paid), booking the payments in order.
    function _predictBatch(FastItem[] memory items, address sender) internal returns (bytes[] memory reasons) {
        uint256 n = items.length;
        reasons = new bytes[](n);
        // The checks, against the state before the batch.
        for (uint256 i; i < n; ++i) {
            reasons[i] = _checkFailure(items[i], sender);
        }
        _countGroups(items, reasons);
        // The proofs of the items that passed.
        for (uint256 i; i < n; ++i) {
            if (reasons[i].length == 0) reasons[i] = _proofFailure(items[i]);
        }
        // Settlement in order: the nonce and the balance as the earlier payments left them.
        for (uint256 i; i < n; ++i) {
            if (reasons[i].length != 0) continue;
            reasons[i] = _spendFailure(items[i]);
            if (reasons[i].length == 0) _bookPayment(items[i], sender);
            else ++fastSpendSkips;
        }
    }

    /// Counts the verifier groups of two or more items that passed their checks: the module asks each such group's
    /// verifier once with verifyBatch.
    function _countGroups(FastItem[] memory items, bytes[] memory reasons) internal {
        for (uint256 v; v < _verifierOf.length; ++v) {
            address verifier = _verifierOf[v];
            bool seen;
            for (uint256 w; w < v; ++w) {
                seen = seen || _verifierOf[w] == verifier;
            }
            if (seen) continue;
            uint256 count;
            for (uint256 i; i < items.length; ++i) {
                if (reasons[i].length == 0 && _verifierOf[items[i].market] == verifier) ++count;
            }
            if (count < 2) continue;
            ++fastVerifyBatchGroups;
            if (verifier == _verifierOf[BATCH_VERIFIER_MARKET]) ++fastBatchVerifierGroups;
        }
    }

    // ================================================================ items

    /// Builds one item for the prover at index `pi` from `code` (6 bits: case `code` % 16, variant `code` / 16 % 4)
    /// and the random word `seed`. `earlier[0:count]` are the batch's items before it (case 7, variants 0 and 1,
    /// repeats the previous or the first one).
    function _fastItem(uint256 seed, uint256 code, uint256 pi, FastItem[] memory earlier, uint256 count)
        internal
        returns (FastItem memory it)
    {
        uint256 kind = code % 16;
        uint256 variant = (code >> 4) % 4;
        if (kind == 7 && count != 0 && variant < 2) return earlier[variant == 0 ? count - 1 : 0];
        if (kind == 7 || _signed.length >= MAX_SIGNED) return _pooledItem(seed, variant != 3, pi);

        // A fresh request of a requester (its next nonce), provable unless case 14's variant 2 says otherwise
        // (_draftSignedCase: unprovable when flags / 256 % 3 == 0).
        uint256 flags = seed >> 32;
        flags = (flags & 0xff) | (((flags >> 8) / 3 * 3 + (kind == 14 && variant == 2 ? 0 : 1)) << 8);
        // forge-lint: disable-next-line(unsafe-typecast): random words, truncated on purpose
        SignedCase memory c = _draftSignedCase(seed, seed >> 16, flags, uint96(seed >> 64), uint32(seed >> 160));
        bool pooled = true;
        uint256 requesterKey = _requesterKey[c.q.requester];
        if (kind == 5 || (kind == 15 && variant >= 2)) {
            // Its public inputs behind a URI: the prover supplies them (or, case 15, does not / supplies others).
            c.q.publicInputs = Inputs({data: "", uri: "ipfs://cairn-fast-inputs", digest: keccak256(c.inputs)});
        } else if (kind == 12 && variant == 2) {
            c.q.privateInputs = Inputs({data: abi.encode("envelope", seed), uri: "", digest: bytes32(0)});
            pooled = false;
        } else if (kind == 12 && variant == 3) {
            c.q.marketId = NO_MARKET;
            pooled = false;
        } else if (kind == 12) {
            // Signed by the other requester.
            requesterKey = _requesterKey[requesters[(_indexOf(requesters, c.q.requester) + 1) % requesters.length]];
            pooled = false;
        } else if (kind == 13) {
            // A maxReward (and price) just above what the requester's deposit holds.
            c.q.maxReward = uint96(ghostBalance[c.q.requester][c.token] + 1 + (seed >> 200) % 5e18);
        }
        if (pooled) _sealSignedCase(c);
        else _signSignedCase(c, requesterKey);

        it.f.request = c.q;
        it.f.requesterSignature = c.signature;
        it.entry = pooled ? c.entry : NO_ENTRY;
        it.market = c.mi;
        it.token = c.q.marketId == NO_MARKET ? address(0) : c.token;
        it.provable = c.provable;
        it.fixture = c.fixture;
        it.inputs = c.inputs;
        it.requesterSigned = kind != 12 || variant >= 2;
        it.short = kind == 13;
        // The inputs behind the URI (case 5), or the inline ones again (case 6).
        if (kind == 5 || kind == 6) it.f.publicInputs = c.inputs;
        _assignFast(it, seed, kind, variant, pi);
    }

    /// An item using a pooled request (one whose nonce is spent, mostly, when `preferSpent`), assigned to the sender
    /// with its fixture's proof.
    function _pooledItem(uint256 seed, bool preferSpent, uint256 pi) internal view returns (FastItem memory it) {
        if (_signed.length == 0) return it;
        uint256 entry = _pickEntry(seed, preferSpent);
        SignedCase memory c = _caseOf(entry);
        it.f.request = c.q;
        it.f.requesterSignature = c.signature;
        it.entry = entry;
        it.market = c.mi;
        it.token = c.token;
        it.provable = c.provable;
        it.fixture = c.fixture;
        it.inputs = c.inputs;
        it.requesterSigned = true;
        if (c.q.publicInputs.data.length == 0) it.f.publicInputs = c.inputs;
        _assignFast(it, seed, 0, 0, pi);
    }

    /// The matcher's FastAssignment of the item and its proof, bent by case `kind` / `variant`.
    function _assignFast(FastItem memory it, uint256 seed, uint256 kind, uint256 variant, uint256 pi) internal view {
        SignedFulfilment memory f = it.f;
        f.prover = provers[kind == 8 && variant < 3 ? (pi + 1 + variant % 2) % provers.length : pi];
        uint96 maxReward = f.request.maxReward;
        f.price = kind == 13 ? maxReward : uint96(_bound(seed >> 192, maxReward / 8, maxReward));
        if (kind == 10) f.price = maxReward + 1 + uint96((seed >> 192) % 1e18);
        f.validUntil = kind == 9
            ? uint64(block.timestamp - 1 - (seed >> 224) % 1 hours)
            : uint64(block.timestamp + (seed >> 224) % 2 hours);
        f.proof = _proofs[it.fixture];
        if (kind == 14) f.proof = _forgedProof(it.fixture, variant, seed);
        if (kind == 15 && variant != 2) {
            // Another fixture's inputs, given beside the request's inline ones (variants 0, 1) or for the ones behind
            // its URI (3); variant 2 gives none for a URI request (inputs behind a URI must be given: WrongInputs).
            f.publicInputs = _inputs[(it.fixture + 1 + seed % (_inputs.length - 1)) % _inputs.length];
        }

        it.id = _specId(f.request);
        uint256 key = kind == 11 && variant < 3 ? outsiderKey : matcherKey;
        bytes32 digest = MarketplaceDigests.fastAssignment(address(marketplace), it.id, f.prover, f.price, f.validUntil);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        f.matcherSignature = abi.encodePacked(r, s, v);
        it.matcherSigner = vm.addr(key);
        if ((kind == 11 && variant == 2) || (variant == 1 && (kind == 9 || kind == 10 || kind == 12 || kind == 13))) {
            // A matcher signature no key recovers from (v = 29): the module recovers zero, which is never a matcher
            // (NotMatcher of the zero address), and fails the item, never the whole batch. Beside another fault
            // (variant 1 of cases 9, 10, 12, 13) the first check to fail in the module's order is the reason: the
            // window and the price come before the matcher's signature; the requester's signature and the deposit
            // after it.
            f.matcherSignature[64] = bytes1(uint8(29));
            it.matcherSigner = address(0);
        }
        if (kind == 11 && variant == 3) {
            // The request changed after both signed (a larger maxReward): the requester's signature no longer covers
            // it, its id changes, and the matcher's signature recovers to some unrelated key.
            SignedRequest memory tampered = _copyRequest(f.request);
            tampered.maxReward += 1;
            f.request = tampered;
            it.id = _specId(tampered);
            it.entry = NO_ENTRY;
            it.requesterSigned = false;
            it.matcherSigner = ecrecover(
                MarketplaceDigests.fastAssignment(address(marketplace), it.id, f.prover, f.price, f.validUntil), v, r, s
            );
        }
    }

    /// A proof that does not verify for the fixture's inputs: another fixture's (variant 0), the fixture's with one
    /// byte flipped (1), the fixture's own for an unprovable request (2, the request was drafted unprovable), or one
    /// of the wrong length (3).
    function _forgedProof(uint256 fixture, uint256 variant, uint256 seed) internal view returns (bytes memory proof) {
        if (variant == 0) return _proofs[(fixture + 1 + seed % (_proofs.length - 1)) % _proofs.length];
        if (variant == 2) return _proofs[fixture];
        if (variant == 3) return new bytes(seed % 2 == 0 ? 0 : 255);
        proof = bytes.concat(_proofs[fixture]);
        proof[seed % proof.length] ^= bytes1(uint8(1 + (seed >> 8) % 255));
    }

    /// Tops up each requester's deposit in each token to what its items of the call cost, unless one of them is meant
    /// to find it short. `tight`: the deposit is brought to exactly one less (topped up, or the requester withdraws
    /// the rest first), so the last of its items to settle finds it short.
    function _fundItems(FastItem[] memory items, bool tight) internal {
        for (uint256 q; q < requesters.length; ++q) {
            for (uint256 t; t < tokens.length; ++t) {
                uint256 need;
                bool short;
                for (uint256 i; i < items.length; ++i) {
                    FastItem memory it = items[i];
                    if (it.f.request.requester != requesters[q] || it.token != tokens[t]) continue;
                    if (it.f.price <= it.f.request.maxReward) need += it.f.price;
                    short = short || it.short;
                }
                if (need == 0 || short) continue;
                if (tight) _withdrawDownTo(requesters[q], tokens[t], need - 1);
                _topUp(requesters[q], tokens[t], tight ? need - 1 : need);
            }
        }
    }

    /// The requester withdraws what its deposit holds above `amount`.
    function _withdrawDownTo(address requester, address token, uint256 amount) internal {
        uint256 balance = ghostBalance[requester][token];
        if (balance <= amount) return;
        uint256 excess = balance - amount;
        uint256 before = DevToken(token).balanceOf(requester);
        vm.prank(requester);
        marketplace.withdraw(token, requester, excess);
        assertEq(DevToken(token).balanceOf(requester), before + excess, "withdrawn amount");
        _debit(requester, token, excess, Debit.Withdrawal);
        ghostOutflow[token] += excess;
    }

    // ================================================================ the module's decisions, from the spec

    /// Why the module refuses the item before its proof (ISignedFulfilments.fulfilSigned's order), or nothing.
    function _checkFailure(FastItem memory it, address sender) internal view returns (bytes memory) {
        SignedFulfilment memory f = it.f;
        SignedRequest memory q = f.request;
        if (sender != f.prover) {
            return abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, sender, f.prover);
        }
        uint256 expiresAt = f.validUntil < q.deadline ? f.validUntil : q.deadline;
        if (Clock.timestamp() > expiresAt) {
            return abi.encodeWithSelector(ISignedFulfilments.FastAssignmentExpired.selector, it.id, expiresAt);
        }
        if (q.marketId == NO_MARKET) {
            return abi.encodeWithSelector(IProofMarketplace.UnknownMarket.selector, q.marketId);
        }
        if (f.price > q.maxReward) {
            return abi.encodeWithSelector(ISignedFulfilments.PriceAboveMaxReward.selector, it.id, f.price, q.maxReward);
        }
        bytes memory inputsFailure = _inputsFailure(it);
        if (inputsFailure.length != 0) return inputsFailure;
        if (it.matcherSigner != matcherAddress) {
            return abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, it.matcherSigner);
        }
        if (!it.requesterSigned) {
            return abi.encodeWithSelector(ISignedRequests.BadRequesterSignature.selector, q.requester);
        }
        return _spendFailure(it);
    }

    /// Why the item's inputs are refused, or nothing: private inputs of any kind (PrivateInputsNotFast); public ones
    /// whose inline bytes are not their digest's (InputsDigestMismatch), a digest without its URI or a URI without its
    /// digest, or none at all (MissingInputs); then the bytes the proof is for, which must be given for inputs behind
    /// a URI and, when given, must be the request's (WrongInputs). Inline inputs may be left out (read from the
    /// request).
    function _inputsFailure(FastItem memory it) internal pure returns (bytes memory) {
        SignedFulfilment memory f = it.f;
        Inputs memory priv = f.request.privateInputs;
        if (priv.data.length != 0 || priv.digest != bytes32(0) || bytes(priv.uri).length != 0) {
            return abi.encodeWithSelector(ISignedFulfilments.PrivateInputsNotFast.selector, it.id);
        }
        Inputs memory pub = f.request.publicInputs;
        bytes32 publicDigest = pub.digest;
        if (pub.data.length != 0) {
            publicDigest = keccak256(pub.data);
            if (pub.digest != bytes32(0) && pub.digest != publicDigest) {
                return abi.encodeWithSelector(IProofMarketplace.InputsDigestMismatch.selector, pub.digest, publicDigest);
            }
        } else if ((pub.digest == bytes32(0)) != (bytes(pub.uri).length == 0)) {
            return abi.encodeWithSelector(IProofMarketplace.MissingInputs.selector);
        }
        if (publicDigest == bytes32(0)) return abi.encodeWithSelector(IProofMarketplace.MissingInputs.selector);
        bool given = f.publicInputs.length != 0 || pub.data.length == 0;
        if (given && keccak256(f.publicInputs) != publicDigest) {
            return abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, it.id);
        }
        return "";
    }

    /// Why the item's nonce or its requester's balance does not allow paying it now, or nothing.
    function _spendFailure(FastItem memory it) internal view returns (bytes memory) {
        SignedRequest memory q = it.f.request;
        if (_nonceSpent(q.requester, q.nonce)) {
            return abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, q.requester, q.nonce);
        }
        uint256 balance = ghostBalance[q.requester][it.token];
        if (balance < it.f.price) {
            return abi.encodeWithSelector(
                ISignedRequests.InsufficientDeposit.selector, q.requester, it.token, balance, uint256(it.f.price)
            );
        }
        return "";
    }

    /// Why the item's proof does not verify: the adapter's MalformedProof / MalformedPublicInputs for wrong lengths,
    /// else InvalidProof unless it is the fixture's proof of a provable request's inputs.
    function _proofFailure(FastItem memory it) internal view returns (bytes memory) {
        SignedFulfilment memory f = it.f;
        bytes memory inputs = f.publicInputs.length != 0 ? f.publicInputs : f.request.publicInputs.data;
        if (f.proof.length != 256) {
            return abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, f.proof.length);
        }
        if (inputs.length != 64) {
            return abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, inputs.length);
        }
        if (
            it.provable && keccak256(inputs) == keccak256(it.inputs)
                && keccak256(f.proof) == keccak256(_proofs[it.fixture])
        ) return "";
        return abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, it.id);
    }

    /// Books a payment: the price from the requester's balance to the sender's reward address, the nonce spent.
    function _bookPayment(FastItem memory it, address sender) internal {
        SignedRequest memory q = it.f.request;
        address paidTo = _rewardOf[sender];
        _debit(q.requester, it.token, it.f.price, Debit.FastPayment);
        _credit(paidTo, it.token, it.f.price);
        _markSpent(it.entry, Spent.Fast);
        _payments.push(
            FastPayment({
                requestId: it.id,
                entry: it.entry,
                requester: q.requester,
                prover: it.f.prover,
                paidTo: paidTo,
                token: it.token,
                price: it.f.price,
                maxReward: q.maxReward,
                nonce: q.nonce
            })
        );
    }

    // ================================================================ what a call did

    /// The call's events, in item order: SignedRequestFulfilled with the request, requester, signed prover, nonce
    /// and price of each paid item, FulfilmentSkipped with the predicted reason of each other one; nothing else (no
    /// request created, no task, no transfer).
    function _checkFastLogs(FastItem[] memory items, bytes[] memory reasons) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, items.length, "one event per fast item, nothing else");
        for (uint256 i; i < items.length; ++i) {
            Vm.Log memory log = logs[i];
            assertEq(log.emitter, address(marketplace), "fast event emitter");
            assertEq(uint256(log.topics[1]), items[i].id, "fast item order");
            if (reasons[i].length != 0) {
                assertEq(log.topics[0], IProofMarketplace.FulfilmentSkipped.selector, "fast item skipped");
                assertEq(abi.decode(log.data, (bytes)), reasons[i], "fast skip reason");
                continue;
            }
            assertEq(log.topics[0], ISignedFulfilments.SignedRequestFulfilled.selector, "fast item paid");
            assertEq(address(uint160(uint256(log.topics[2]))), items[i].f.request.requester, "fast requester");
            assertEq(address(uint160(uint256(log.topics[3]))), items[i].f.prover, "fast prover");
            (uint256 nonce, uint96 price) = abi.decode(log.data, (uint256, uint96));
            assertEq(nonce, items[i].f.request.nonce, "fast nonce");
            assertEq(price, items[i].f.price, "fast price");
            assertEq(
                uint8(marketplace.requestStatus(items[i].id)), uint8(RequestStatus.None), "a fast request has no slot"
            );
            uint256 nonceWord = ISignedRequests(address(marketplace))
                .nonceBitmap(items[i].f.request.requester, items[i].f.request.nonce >> 8);
            // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
            assertTrue(nonceWord & (1 << (items[i].f.request.nonce & 0xff)) != 0, "a fast request's nonce is spent");
        }
    }

    /// Everything a fast-lane call could touch, in one array: every account's balance in every token, then per stake
    /// source and prover its staked, locked and unbonding stake, then every prover's compute in use, then the
    /// marketplace's holdings of every token.
    function _holdings() internal view returns (uint256[] memory h) {
        uint256 nb = accounts.length * tokens.length;
        h = new uint256[](nb + stakings.length * provers.length * 3 + provers.length + tokens.length);
        uint256 k;
        for (uint256 a; a < accounts.length; ++a) {
            for (uint256 t; t < tokens.length; ++t) {
                h[k++] = marketplace.balanceOf(accounts[a], tokens[t]);
            }
        }
        for (uint256 s; s < stakings.length; ++s) {
            for (uint256 p; p < provers.length; ++p) {
                (uint128 staked, uint128 locked) = stakings[s].stakeOf(provers[p]);
                (uint128 unbonding,) = stakings[s].unbondingOf(provers[p]);
                (h[k], h[k + 1], h[k + 2]) = (staked, locked, unbonding);
                k += 3;
            }
        }
        for (uint256 p; p < provers.length; ++p) {
            h[k++] = registry.prover(provers[p]).computeInUse;
        }
        for (uint256 t; t < tokens.length; ++t) {
            h[k++] = DevToken(tokens[t]).balanceOf(address(marketplace));
        }
    }

    /// Compares what the call changed with its paid items: each paid item's price left its requester's balance and
    /// reached its prover's reward address; no other balance, no stake, no compute and no token holding moved.
    /// Books the measured balance changes.
    function _checkHoldings(uint256[] memory before, FastItem[] memory items, bytes[] memory reasons) internal {
        uint256[] memory afterwards = _holdings();
        uint256 nb = accounts.length * tokens.length;
        int256[] memory predicted = new int256[](nb);
        for (uint256 i; i < items.length; ++i) {
            if (reasons[i].length != 0) continue;
            FastItem memory it = items[i];
            uint256 t = _indexOf(tokens, it.token);
            predicted[_indexOf(accounts, it.f.request.requester) * tokens.length + t] -= int256(uint256(it.f.price));
            predicted[_indexOf(accounts, _rewardOf[it.f.prover]) * tokens.length + t] += int256(uint256(it.f.price));
        }
        for (uint256 k; k < nb; ++k) {
            int256 change = int256(afterwards[k]) - int256(before[k]);
            assertEq(change, predicted[k], "a fast-lane call moved a balance it should not");
            (address account, address token) = (accounts[k / tokens.length], tokens[k % tokens.length]);
            if (change > 0) {
                // forge-lint: disable-next-line(unsafe-typecast): the sign is checked
                measuredFastCredit[account][token] += uint256(change);
                // forge-lint: disable-next-line(unsafe-typecast): the sign is checked
                measuredFastCreditTotal[token] += uint256(change);
            } else if (change < 0) {
                // forge-lint: disable-next-line(unsafe-typecast): the sign is checked
                measuredFastDebit[account][token] += uint256(-change);
                // forge-lint: disable-next-line(unsafe-typecast): the sign is checked
                measuredFastDebitTotal[token] += uint256(-change);
            }
        }
        for (uint256 k = nb; k < afterwards.length; ++k) {
            if (afterwards[k] != before[k]) ++fastSideEffects;
        }
        assertEq(fastSideEffects, 0, "a fast-lane call moved stake, compute or tokens");
    }

    // ================================================================ the other signed paths, again

    /// A pooled signed request (one whose nonce is spent, by any path: assigned, posted, paid on the fast lane or
    /// invalidated; `how` % 8 >= 6 one whose nonce is not) used again: posted on chain (`how` % 2 == 0) or in the
    /// matcher's batch. A spent nonce is refused (NonceUsed) after the schedule checks; an unspent one is used like a
    /// new request (`how` / 4 % 2 tops the deposit up first).
    function replaySigned(uint256 seed, uint8 how, uint256 proverSeed) external counted {
        if (_signed.length == 0) return;
        uint256 entry = _pickEntry(seed, how % 8 < 6);
        bool unspent = _signed[entry].spent == Spent.No;
        if (unspent && requestIds.length >= MAX_REQUESTS) return;
        SignedCase memory c = _caseOf(entry);
        if (unspent && (how >> 2) & 1 == 1) _topUp(c.q.requester, c.token, c.q.maxReward);
        c.useFailure = _useFailure(c);
        if (c.useFailure.length != 0) ++replaysRefused;
        if (how % 2 == 0) _postSignedCase(c);
        else _assignSignedCase(c, 1, proverSeed);
        if (unspent && _signed[entry].spent != Spent.No) ++replaysUsed;
    }

    /// A requester invalidates the nonce of one of its pooled requests (mostly an unspent one), and with `how` % 4 ==
    /// 3 that of another of its pooled requests in the same bitmap word: each is refused everywhere afterwards.
    function invalidateSignedNonces(uint256 seed, uint8 how) external counted {
        if (_signed.length == 0) return;
        uint256 entry = _pickEntry(seed, how % 8 == 7);
        SignedRequest memory q = _signed[entry].q;
        uint256 wordPos = q.nonce >> 8;
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        uint256 mask = 1 << (q.nonce & 0xff);
        uint256 second = NO_ENTRY;
        if (how % 4 == 3) {
            for (uint256 i = 1; i < _signed.length; ++i) {
                uint256 k = (entry + i) % _signed.length;
                SignedRequest storage other = _signed[k].q;
                if (other.requester == q.requester && other.nonce >> 8 == wordPos) {
                    // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
                    (second, mask) = (k, mask | (1 << (other.nonce & 0xff)));
                    break;
                }
            }
        }
        vm.expectEmit(address(marketplace));
        emit ISignedRequests.NoncesInvalidated(q.requester, wordPos, mask);
        vm.prank(q.requester);
        ISignedRequests(address(marketplace)).invalidateNonces(wordPos, mask);
        _markSpent(entry, Spent.Invalidated);
        if (second != NO_ENTRY) _markSpent(second, Spent.Invalidated);
        ++invalidations;
    }

    // ================================================================ helpers

    /// The first pooled request from `seed` on whose nonce is spent (`spent`) or not; else the one at `seed`.
    function _pickEntry(uint256 seed, bool spent) internal view returns (uint256) {
        uint256 n = _signed.length;
        uint256 start = seed % n;
        for (uint256 i; i < n; ++i) {
            uint256 k = (start + i) % n;
            if ((_signed[k].spent != Spent.No) == spent) return k;
        }
        return start;
    }

    /// The id the spec gives a signed request: marketId << 64 | 1 << 63 | the low 63 bits of its EIP-712 digest.
    function _specId(SignedRequest memory q) internal view returns (uint256) {
        bytes32 digest = MarketplaceDigests.signedRequest(address(marketplace), q);
        return (uint256(q.marketId) << 64) | (1 << 63) | (uint256(digest) & ((1 << 63) - 1));
    }

    function _copyRequest(SignedRequest memory q) internal pure returns (SignedRequest memory) {
        return abi.decode(abi.encode(q), (SignedRequest));
    }

    function _indexOf(address[] storage list, address a) internal view returns (uint256) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == a) return i;
        }
        revert("not listed");
    }

    // ================================================================ views for the invariants

    /// The totals the per-call properties compare with the contract (FastTotals).
    function fastTotals() external view returns (FastTotals memory x) {
        uint256 nt = tokens.length;
        x.requesters = requesters;
        (x.inflow, x.outflow) = (new uint256[](nt), new uint256[](nt));
        (x.fastCredit, x.fastDebit) = (new uint256[](nt), new uint256[](nt));
        for (uint256 t; t < nt; ++t) {
            address token = tokens[t];
            (x.inflow[t], x.outflow[t]) = (ghostInflow[token], ghostOutflow[token]);
            (x.fastCredit[t], x.fastDebit[t]) = (measuredFastCreditTotal[token], measuredFastDebitTotal[token]);
        }
        (x.lastWordPos, x.nonceWords) = (new uint256[](requesters.length), new uint256[][](requesters.length));
        for (uint256 q; q < requesters.length; ++q) {
            uint256 next = _nextNonce[requesters[q]];
            x.lastWordPos[q] = next == 0 ? 0 : (next - 1) >> 8;
            x.nonceWords[q] = new uint256[](x.lastWordPos[q] + 1);
            for (uint256 w; w <= x.lastWordPos[q]; ++w) {
                x.nonceWords[q][w] = ghostNonceWord[requesters[q]][w];
            }
        }
        x.sideEffects = fastSideEffects;
    }

    function fastPayments() external view returns (FastPayment[] memory) {
        return _payments;
    }

    /// The measured fast-lane balance changes per account and token (index account * tokens + token): credits and
    /// debits.
    function measuredFastFlows() external view returns (uint256[] memory credit, uint256[] memory debit) {
        uint256 n = accounts.length * tokens.length;
        (credit, debit) = (new uint256[](n), new uint256[](n));
        for (uint256 k; k < n; ++k) {
            (address account, address token) = (accounts[k / tokens.length], tokens[k % tokens.length]);
            (credit[k], debit[k]) = (measuredFastCredit[account][token], measuredFastDebit[account][token]);
        }
    }

    /// The reward address the handler registered for each prover, in `provers` order.
    function rewardAddresses() external view returns (address[] memory rewards) {
        rewards = new address[](provers.length);
        for (uint256 p; p < provers.length; ++p) {
            rewards[p] = _rewardOf[provers[p]];
        }
    }
}
