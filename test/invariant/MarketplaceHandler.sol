// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierAdapter} from "../../src/interfaces/IVerifierAdapter.sol";
import {IInputRejections} from "../../src/interfaces/IInputRejections.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {MarketplaceDigests} from "../utils/MarketplaceDigests.sol";
import {ProofMarketplace} from "../../src/ProofMarketplace.sol";
import {ProverRegistry} from "../../src/ProverRegistry.sol";
import {NativeStaking} from "../../src/staking/NativeStaking.sol";
import {TeeRegistry} from "../../src/attestation/TeeRegistry.sol";
import {ITeeRegistry, TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {Groth16VerifierAdapter} from "../../src/verifiers/Groth16VerifierAdapter.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {IProverRegistry} from "../../src/interfaces/IProverRegistry.sol";
import {INativeStaking} from "../../src/interfaces/INativeStaking.sol";
import {Clock} from "../../src/libraries/Clock.sol";
import {Listing, ListingState, Prover} from "../../src/types/Prover.sol";
import {Assignment} from "../../src/types/Assignment.sol";
import {IPrivateClaims} from "../../src/interfaces/IPrivateClaims.sol";
import {ISignedRequests} from "../../src/interfaces/ISignedRequests.sol";
import {SignedMatch, SignedRequest} from "../../src/types/SignedRequest.sol";
import {
    Fulfilment,
    Inputs,
    MatchedRequest,
    Request,
    RequestParams,
    RequestStatus,
    Task
} from "../../src/types/Request.sol";

/// @notice A market as the handler models it: its id, tokens, stake source and slashing terms.
struct MarketConfig {
    uint256 id;
    DevToken payToken;
    NativeStaking staking;
    DevToken stakeToken;
    uint96 stakePerTask;
    uint96 penalty;
    uint16 compensationBps;
    uint32 fallbackDelay;
}

/// @notice A prover's enclave key in the TEE-path market, as registered in setUp (with a real dev quote).
struct EnclaveKey {
    uint256 secret;
    address signer;
    uint64 expiresAt;
    bool revoked;
}

/// @notice Everything the handler drives, built by the test's setUp.
struct HandlerSetup {
    ProofMarketplace marketplace;
    TeeRegistry teeRegistry;
    address teeAdmin;
    uint256 matcherKey;
    address treasury;
    address refundee;
    address stranger;
    /// Index `TEE_MARKET` is the market whose provers may hold enclave keys.
    MarketConfig[] markets;
    address[] provers;
    address[] rewardAddresses;
    /// Per prover: its enclave key secret in the TEE-path market, zero when it has none.
    uint256[] enclaveSecrets;
    uint64 enclaveExpiresAt;
    address[] requesters;
    /// The requesters' keys, in the same order: they sign requests off chain (ISignedRequests).
    uint256[] requesterKeys;
    /// Everyone who may ever hold a marketplace balance.
    address[] accounts;
    bytes[] inputs;
    bytes[] proofs;
}

/// @notice The handler's book of one request: what was posted, where it stands, and what its requester got back.
struct RequestModel {
    uint8 market;
    uint8 fixture;
    /// A proof of its public inputs exists (a fixture proof); otherwise no prover can ever prove it.
    bool provable;
    RequestStatus status;
    address requester;
    Request record;
    Task task;
    bytes inputs;
    /// Endings recorded: fulfilled, inputs rejected, slashed or cancelled (never more than one).
    uint8 endings;
    /// The prover was paid (fulfilled or inputs rejected).
    bool paid;
    bool slashed;
    /// Slashed while its prover had a way to end the task unslashed: a valid proof, or an active enclave key to
    /// attest the inputs unprovable (rejectInputs).
    bool proverCouldSettle;
    /// Pay-token credits to the refund address from this request: escrow refunds (cancel, settlement, slash).
    uint256 payReceived;
    /// Stake-token credits to the requester's side from this request: compensation to the refund address, plus the
    /// slasher reward when the requester or its refund address slashed.
    uint256 stakeReceived;
    /// keccak256 of its private inputs (an envelope's stand-in), zero when it has none.
    bytes32 privateDigest;
    /// A private fallback claim's key due time (IPrivateClaims), zero for any other task.
    uint32 keyDueBy;
    bool keyReleased;
}

/// @notice How a marketplace balance went down: the books name every debit.
enum Debit {
    Withdrawal,
    Escrow,
    FastPayment
}

/// @notice How a signed request's nonce was spent: by one of its uses (the matcher's assignSigned, postSignedRequest, the
/// fast lane's fulfilSigned or fulfilSignedBatch), or by the requester's invalidateNonces.
enum Spent {
    No,
    Assigned,
    Posted,
    Fast,
    Invalidated
}

/// @notice A request the handler signed for one of its requesters, whatever became of it: the pool every signed path
/// draws from, so a request used on one path is tried again on the others.
struct SignedEntry {
    SignedRequest q;
    bytes signature;
    uint256 id;
    uint8 market;
    uint8 fixture;
    bool provable;
    /// Its public inputs, inline in `q` or behind its URI.
    bytes inputs;
    Spent spent;
    /// Uses that went through: never more than one.
    uint8 uses;
}

/// @notice A signed request's nonce and uses, for the invariants.
struct SignedView {
    uint256 id;
    address requester;
    uint256 nonce;
    Spent spent;
    uint8 uses;
}

/// @notice A request's books without its inputs: what the invariants read, in one call for all requests.
struct RequestView {
    uint256 id;
    uint8 market;
    RequestStatus status;
    bool provable;
    uint8 endings;
    bool paid;
    bool slashed;
    bool proverCouldSettle;
    uint96 maxReward;
    address prover;
    uint32 compute;
    uint256 payReceived;
    uint256 stakeReceived;
}

/// @notice One slash as it happened: TaskSlashed fields and the balance changes measured around the call.
struct SlashRecord {
    uint256 requestId;
    uint8 market;
    /// The prover held an active enclave key in the market just before the slash (model and registry agree).
    bool enclaveActive;
    uint256 penalty;
    uint256 compensation;
    uint256 slasherReward;
    /// Measured: the treasury's stake-token balance change.
    uint256 treasuryShare;
    /// Measured: stake tokens that left the stake source.
    uint256 stakeTaken;
}

/// @notice Drives the marketplace through whole lifecycles in three markets (two native-stake markets with different
/// penalties and compensation, one TEE-path market whose provers hold real enclave keys), with real Groth16 proofs
/// and requests nobody can prove, and keeps ghost books of every balance (with the ledger behind it: credits, debits by
/// kind, tokens in and out), escrow, stake and task, and of every request signed off chain and how its nonce was spent
/// (the pool FastLaneHandler's fast lane shares).
/// @dev Nothing is caught: every action either predicts success and calls, or predicts the exact revert data and
/// calls under `vm.expectRevert`; an action that does not apply returns early. Batches are predicted item by item
/// (skip reasons and emitted records compared with the events). The invariants run with `fail_on_revert`, so any
/// unpredicted revert, or a failed in-handler assertion, is reported as a finding.
contract MarketplaceHandler is CommonBase, StdUtils, StdAssertions {
    enum Want {
        OpenMatchable,
        Claimable,
        OpenExpired,
        AssignedInTime,
        AssignedProvableInTime,
        AssignedUnprovableInTime,
        AssignedLate
    }

    /// Requests per run: keeps the invariants' loops bounded.
    uint256 public constant MAX_REQUESTS = 64;
    /// Signed requests per run (used on any path or not): bounds the pool and its invariants' loops.
    uint256 public constant MAX_SIGNED = 96;
    uint256 public constant TEE_MARKET = 2;
    /// IPrivateClaims.KEY_RELEASE_WINDOW.
    uint32 internal constant KEY_RELEASE_WINDOW = 5 minutes;
    uint256 internal constant SLASHER_REWARD_BPS = 500;

    ProofMarketplace internal immutable marketplace;
    ProverRegistry internal immutable registry;
    TeeRegistry internal immutable teeRegistry;
    address internal immutable teeAdmin;
    uint256 internal immutable matcherKey;
    address internal immutable treasury;
    address internal immutable refundee;
    address internal immutable stranger;
    /// A key that is neither a matcher nor an enclave.
    uint256 internal immutable outsiderKey;

    MarketConfig[] internal _markets;
    address[] public provers;
    address[] public requesters;
    address[] public accounts;
    address[] public slashers;
    address[] public tokens;
    NativeStaking[] public stakings;
    bytes[] internal _inputs;
    bytes[] internal _proofs;
    mapping(address prover => address) internal _rewardOf;
    mapping(address prover => EnclaveKey) internal _enclave;
    mapping(address requester => uint256) internal _requesterKey;
    /// Next unused nonce of each requester's signed requests.
    mapping(address requester => uint256) internal _nextNonce;

    // ---------------------------------------------------------------- ghost books

    uint256[] public requestIds;
    mapping(uint256 requestId => RequestModel) internal _requests;
    mapping(uint256 marketIndex => uint256) internal _posted;
    mapping(address account => mapping(address token => uint256)) public ghostBalance;
    mapping(address token => uint256) public ghostEscrow;
    mapping(address prover => uint256) public ghostCompute;
    mapping(NativeStaking source => mapping(address prover => uint256)) public ghostStaked;
    mapping(NativeStaking source => mapping(address prover => uint256)) public ghostLocked;
    mapping(NativeStaking source => mapping(address prover => uint256)) public ghostUnbonding;
    mapping(NativeStaking source => mapping(address prover => uint256)) internal _unbondingAt;
    mapping(NativeStaking source => uint256) public stakeDeposited;
    mapping(NativeStaking source => uint256) public stakeWithdrawn;
    mapping(NativeStaking source => uint256) public stakeSlashed;
    SlashRecord[] internal _slashes;
    /// Every credit booked to an account's balance, and every debit by kind: ghostBalance is their difference.
    mapping(address account => mapping(address token => uint256)) public ghostCredited;
    mapping(address account => mapping(address token => mapping(Debit => uint256))) public ghostDebited;
    /// Tokens that entered the marketplace (deposits, escrow pulled with transferFrom, slashed stake) and that left it
    /// (withdrawals).
    mapping(address token => uint256) public ghostInflow;
    mapping(address token => uint256) public ghostOutflow;
    /// Per request: the part of its escrow taken from its requester's marketplace balance.
    mapping(uint256 requestId => uint256) public escrowFromDeposit;
    /// Every request signed for a requester, used or not (SignedEntry).
    SignedEntry[] internal _signed;
    /// The requesters' nonce bitmap words as booked: a set bit is a nonce used or invalidated.
    mapping(address requester => mapping(uint256 wordPos => uint256)) public ghostNonceWord;

    // ---------------------------------------------------------------- what the run reached

    uint256 public calls;
    uint256 public predictedReverts;
    uint256 public matcherAssignments;
    uint256 public claims;
    uint256 public privateClaims;
    uint256 public keysReleased;
    uint256 public claimsAbandoned;
    uint256 public listingChangedSkips;
    uint256 public otherSkips;
    uint256 public fulfilments;
    uint256 public batchFulfilments;
    uint256 public rejections;
    uint256 public slashesWithEnclave;
    uint256 public slashesWithoutEnclave;
    uint256 public cancels;
    uint256 public withdrawals;
    uint256 public partialWithdrawals;
    uint256 public leavesCompleted;
    uint256 public deregistrations;
    uint256 public unbondsWithdrawn;
    uint256 public signedPosted;
    uint256 public signedAssigned;
    uint256 public signedSkips;

    constructor(HandlerSetup memory s) {
        marketplace = s.marketplace;
        registry = ProverRegistry(address(s.marketplace.registry()));
        teeRegistry = s.teeRegistry;
        teeAdmin = s.teeAdmin;
        matcherKey = s.matcherKey;
        treasury = s.treasury;
        refundee = s.refundee;
        stranger = s.stranger;
        outsiderKey = uint256(keccak256("cairn.test.outsider"));
        for (uint256 i; i < s.markets.length; ++i) {
            MarketConfig memory m = s.markets[i];
            _markets.push(m);
            _addOnce(tokens, address(m.payToken));
            _addOnce(tokens, address(m.stakeToken));
            bool known;
            for (uint256 j; j < stakings.length; ++j) {
                known = known || stakings[j] == m.staking;
            }
            if (!known) stakings.push(m.staking);
        }
        provers = s.provers;
        requesters = s.requesters;
        for (uint256 i; i < s.requesters.length; ++i) {
            assertEq(vm.addr(s.requesterKeys[i]), s.requesters[i], "requester key");
            _requesterKey[s.requesters[i]] = s.requesterKeys[i];
        }
        accounts = s.accounts;
        _inputs = s.inputs;
        _proofs = s.proofs;
        for (uint256 i; i < s.provers.length; ++i) {
            address p = s.provers[i];
            _rewardOf[p] = s.rewardAddresses[i];
            if (s.enclaveSecrets[i] != 0) {
                _enclave[p] = EnclaveKey(s.enclaveSecrets[i], vm.addr(s.enclaveSecrets[i]), s.enclaveExpiresAt, false);
            }
            for (uint256 j; j < stakings.length; ++j) {
                (uint128 staked, uint128 locked) = stakings[j].stakeOf(p);
                assertEq(locked, 0);
                ghostStaked[stakings[j]][p] = staked;
            }
        }
        for (uint256 j; j < stakings.length; ++j) {
            stakeDeposited[stakings[j]] = DevToken(stakings[j].stakeToken()).balanceOf(address(stakings[j]));
        }
        // Slashers: both requesters (slashing their own requests or others'), a refund address, a competitor
        // prover and a bystander. The treasury never slashes, so its balance change is its share alone.
        slashers = s.requesters;
        slashers.push(s.refundee);
        slashers.push(s.stranger);
        slashers.push(s.provers[0]);
    }

    modifier counted() {
        ++calls;
        _;
    }

    // ================================================================ requests and balances

    /// Posts a request in one of the markets, provable (a fixture's inputs) or not (a hash nobody knows a preimage
    /// of), escrowed from the requester's marketplace balance first and the shortfall pulled with transferFrom.
    function createRequest(
        uint256 marketSeed,
        uint256 fixtureSeed,
        uint256 flags,
        uint96 maxReward,
        uint32 provingTime,
        uint32 window
    ) external counted {
        if (requestIds.length >= MAX_REQUESTS) return;
        // Half the requests go to the TEE-path market, the only one with rejections and compensated slashes.
        uint8 mi = SafeCastLib.toUint8(marketSeed % (2 * _markets.length - 2));
        if (mi >= _markets.length) mi = SafeCastLib.toUint8(TEE_MARKET);
        uint8 fixture = SafeCastLib.toUint8(fixtureSeed % _inputs.length);
        bool provable = flags % 3 != 0;
        address requester = requesters[(flags >> 2) % requesters.length];
        RequestParams memory p;
        p.marketId = uint32(_markets[mi].id);
        p.maxReward = uint96(_bound(maxReward, 1e18, 60e18));
        p.provingTime = uint32(_bound(provingTime, 120, 1800));
        p.matchingExpiry = uint32(block.timestamp + _bound(window, 2 minutes, 6 hours));
        p.deadline = p.matchingExpiry + p.provingTime + uint32((flags >> 5) % 600);
        p.speedPreferenceBps = uint16((flags >> 16) % 10_001);
        p.refundAddress = (flags >> 4) & 1 == 1 ? refundee : requester;
        bytes memory inputs = provable ? _inputs[fixture] : _unprovable(fixture, requestIds.length);
        p.publicInputs = Inputs({data: inputs, uri: "", digest: bytes32(0)});
        // Some carry private inputs (an envelope's stand-in): claimed through the fallback with claimPrivate.
        if ((flags >> 24) & 1 == 1) {
            p.privateInputs = Inputs({data: abi.encode("envelope", requestIds.length), uri: "", digest: bytes32(0)});
        }
        bytes32 privateDigest = p.privateInputs.data.length == 0 ? bytes32(0) : keccak256(p.privateInputs.data);

        uint256 fromBalance = _fund(requester, address(_markets[mi].payToken), p.maxReward);
        vm.prank(requester);
        uint256 id = marketplace.createRequest(p);
        assertEq(id, (_markets[mi].id << 64) | ++_posted[mi], "request id");
        escrowFromDeposit[id] = fromBalance;

        RequestModel storage r = _requests[id];
        r.market = mi;
        r.fixture = fixture;
        r.provable = provable;
        r.status = RequestStatus.Open;
        r.requester = requester;
        r.inputs = inputs;
        r.record = Request({
            refundAddress: p.refundAddress,
            maxReward: p.maxReward,
            createdAt: uint32(block.timestamp),
            matchingExpiry: p.matchingExpiry,
            provingTime: p.provingTime,
            inputsDigest: keccak256(abi.encodePacked(keccak256(inputs), privateDigest))
        });
        r.privateDigest = privateDigest;
        requestIds.push(id);
    }

    /// A request signed off chain, used through ISignedRequests. `flags` % 4: 0 anyone posts it on chain (the
    /// censorship fallback: an Open request like any other), 1 the matcher's batch carries it twice (the second use is
    /// skipped, NonceUsed), 2 the requester's deposit is not topped up (skipped with InsufficientDeposit when it falls
    /// short), 3 the matcher's batch carries it once. A batch item that fails is predicted exactly and leaves nothing.
    function signedRequest(
        uint256 marketSeed,
        uint256 fixtureSeed,
        uint256 flags,
        uint96 maxReward,
        uint32 window,
        uint256 proverSeed
    ) external counted {
        if (requestIds.length >= MAX_REQUESTS || _signed.length >= MAX_SIGNED) return;
        SignedCase memory c = _signedCase(marketSeed, fixtureSeed, flags, maxReward, window);
        if (flags % 4 != 2) _topUp(c.q.requester, c.token, c.q.maxReward);
        c.useFailure = _useFailure(c);
        if (flags % 4 == 0) {
            _postSignedCase(c);
            return;
        }
        _assignSignedCase(c, flags % 4 == 1 ? 2 : 1, proverSeed);
    }

    /// Anyone posts the signed request on chain (postSignedRequest): an Open request, or the predicted refusal.
    function _postSignedCase(SignedCase memory c) internal {
        _expect(c.useFailure);
        vm.prank(stranger);
        ISignedRequests(address(marketplace)).postSignedRequest(c.q, c.signature);
        if (c.useFailure.length == 0) {
            _recordSigned(c, Spent.Posted);
            ++signedPosted;
        }
    }

    /// Why the signed request cannot be used now (its exact error), in the order the module checks a use: the
    /// schedule (the market, terms and inputs of a pooled request are valid, its signature is its requester's), the
    /// nonce, the requester's balance.
    function _useFailure(SignedCase memory c) internal view returns (bytes memory) {
        SignedRequest memory q = c.q;
        uint256 deadline = q.deadline;
        if (deadline <= Clock.timestamp()) {
            return abi.encodeWithSelector(IProofMarketplace.DeadlineInPast.selector, deadline);
        }
        if (deadline - Clock.timestamp() < q.provingTime) {
            return
                abi.encodeWithSelector(
                    IProofMarketplace.DeadlineShorterThanProvingTime.selector, deadline, q.provingTime
                );
        }
        if (q.matchingExpiry < Clock.timestamp()) {
            return abi.encodeWithSelector(IProofMarketplace.MatchingExpiryInPast.selector, q.matchingExpiry);
        }
        if (_nonceSpent(q.requester, q.nonce)) {
            return abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, q.requester, q.nonce);
        }
        uint256 balance = ghostBalance[q.requester][c.token];
        if (balance < q.maxReward) {
            return abi.encodeWithSelector(
                ISignedRequests.InsufficientDeposit.selector, q.requester, c.token, balance, q.maxReward
            );
        }
        return "";
    }

    /// What signedRequest signs and expects.
    struct SignedCase {
        SignedRequest q;
        uint256 id;
        Request record;
        bytes signature;
        uint8 mi;
        uint8 fixture;
        bool provable;
        address token;
        /// Why its use fails now (_useFailure), or empty.
        bytes useFailure;
        /// Its public inputs (inline in `q`, or behind its URI).
        bytes inputs;
        /// Its index in the pool of signed requests.
        uint256 entry;
    }

    function _signedCase(uint256 marketSeed, uint256 fixtureSeed, uint256 flags, uint96 maxReward, uint32 window)
        internal
        returns (SignedCase memory c)
    {
        c = _draftSignedCase(marketSeed, fixtureSeed, flags, maxReward, window);
        _sealSignedCase(c);
    }

    /// A new signed request of one of the requesters (its next nonce), not yet signed: `flags` / 4 % 2 picks the
    /// requester, / 16 % 2 the refund address, / 32 % 600 the slack after matchingExpiry + provingTime, / 256 % 3 == 0
    /// makes it unprovable, / 65536 its speed preference.
    function _draftSignedCase(uint256 marketSeed, uint256 fixtureSeed, uint256 flags, uint96 maxReward, uint32 window)
        internal
        returns (SignedCase memory c)
    {
        c.mi = SafeCastLib.toUint8(marketSeed % _markets.length);
        c.fixture = SafeCastLib.toUint8(fixtureSeed % _inputs.length);
        c.provable = (flags >> 8) % 3 != 0;
        c.token = address(_markets[c.mi].payToken);
        address requester = requesters[(flags >> 2) % requesters.length];
        SignedRequest memory q = c.q;
        q.requester = requester;
        q.nonce = _nextNonce[requester]++;
        q.marketId = uint32(_markets[c.mi].id);
        q.maxReward = uint96(_bound(maxReward, 1e18, 60e18));
        q.provingTime = uint32(_bound(window, 120, 1800));
        q.matchingExpiry = uint32(block.timestamp + _bound(window, 2 minutes, 6 hours));
        q.deadline = q.matchingExpiry + q.provingTime + uint32((flags >> 5) % 600);
        q.speedPreferenceBps = uint16((flags >> 16) % 10_001);
        q.refundAddress = (flags >> 4) & 1 == 1 ? refundee : requester;
        c.inputs = c.provable ? _inputs[c.fixture] : _unprovable(c.fixture, _add(requestIds.length, _signed.length));
        q.publicInputs = Inputs({data: c.inputs, uri: "", digest: bytes32(0)});
    }

    /// Signs `c.q` with its requester's key and pools it: its signature, its id, the record a use now gives it.
    function _sealSignedCase(SignedCase memory c) internal {
        _signSignedCase(c, _requesterKey[c.q.requester]);
        c.entry = _signed.length;
        _signed.push();
        SignedEntry storage e = _signed[c.entry];
        e.q = c.q;
        e.signature = c.signature;
        e.id = c.id;
        e.market = c.mi;
        e.fixture = c.fixture;
        e.provable = c.provable;
        e.inputs = c.inputs;
    }

    /// Signs `c.q` with `key` (its requester's, or another's for a forged signature), without pooling it.
    function _signSignedCase(SignedCase memory c, uint256 key) internal view {
        bytes32 digest = MarketplaceDigests.signedRequest(address(marketplace), c.q);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        c.signature = abi.encodePacked(r, s, v);
        c.id = (uint256(c.q.marketId) << 64) | (1 << 63) | (uint256(digest) & ((1 << 63) - 1));
        c.record = _signedRecord(c.q);
    }

    /// The pooled signed request `entry`, as a use of it now would see it.
    function _caseOf(uint256 entry) internal view returns (SignedCase memory c) {
        SignedEntry storage e = _signed[entry];
        c.q = e.q;
        c.signature = e.signature;
        c.id = e.id;
        c.mi = e.market;
        c.fixture = e.fixture;
        c.provable = e.provable;
        c.token = address(_markets[e.market].payToken);
        c.inputs = e.inputs;
        c.entry = entry;
        c.record = _signedRecord(c.q);
    }

    /// The record a use of `q` now gives it.
    function _signedRecord(SignedRequest memory q) internal view returns (Request memory) {
        bytes32 publicDigest = q.publicInputs.data.length != 0 ? keccak256(q.publicInputs.data) : q.publicInputs.digest;
        return Request({
            refundAddress: q.refundAddress,
            maxReward: q.maxReward,
            createdAt: uint32(block.timestamp),
            matchingExpiry: q.matchingExpiry,
            provingTime: q.provingTime,
            inputsDigest: keccak256(abi.encodePacked(publicDigest, bytes32(0)))
        });
    }

    function _nonceSpent(address requester, uint256 nonce) internal view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        return ghostNonceWord[requester][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// Books the spending of pooled request `entry`'s nonce: by a use (at most one ever), or by invalidation.
    function _markSpent(uint256 entry, Spent how) internal {
        SignedEntry storage e = _signed[entry];
        if (how != Spent.Invalidated) {
            assertEq(uint8(e.spent), uint8(Spent.No), "a signed request used twice");
            ++e.uses;
        }
        if (e.spent == Spent.No) e.spent = how;
        // forge-lint: disable-next-line(incorrect-shift): the nonce's bit in its word, 1 shifted by its low byte
        ghostNonceWord[e.q.requester][e.q.nonce >> 8] |= 1 << (e.q.nonce & 0xff);
    }

    /// The matcher's batch carrying the signed request `n` times (a replay within the batch when 2).
    function _assignSignedCase(SignedCase memory c, uint256 n, uint256 proverSeed) internal {
        address prover = provers[proverSeed % provers.length];
        Listing memory l = registry.listing(prover, c.q.marketId);
        Task memory task;
        bytes[] memory reasons = new bytes[](n);
        if (c.useFailure.length != 0) {
            reasons[0] = c.useFailure;
        } else {
            // Predict the first use: recorded (escrow taken), then assigned; a failure rolls all of it back.
            _recordSignedModel(c);
            (prover,) = _proverFor(c.id, proverSeed);
            l = registry.listing(prover, c.q.marketId);
            (reasons[0], task) = _assignFailure(c.id, c.record, prover, l.price, l.provingTime, true);
            _unrecordSigned(c);
        }

        SignedMatch[] memory items = new SignedMatch[](n);
        Assignment[] memory signed = new Assignment[](n);
        MatchedRequest[] memory logged = new MatchedRequest[](n);
        for (uint256 i; i < n; ++i) {
            items[i] = SignedMatch(prover, l.price, l.provingTime, c.q, c.signature);
            signed[i] = Assignment(c.id, prover, l.price, l.provingTime, "");
            logged[i].requestId = c.id;
        }
        if (n == 2) {
            reasons[1] = reasons[0].length == 0
                ? abi.encodeWithSelector(ISignedRequests.NonceUsed.selector, c.q.requester, c.q.nonce)
                : reasons[0];
        }
        uint64 validUntil = uint64(block.timestamp + 60);
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(matcherKey, MarketplaceDigests.assignmentBatch(address(marketplace), signed, validUntil));

        uint256 expected = reasons[0].length == 0 ? 1 : 0;
        if (expected == 1) {
            _recordSigned(c, Spent.Assigned);
            _applyAssign(c.id, task);
            ++signedAssigned;
        }
        signedSkips += n - expected;
        vm.recordLogs();
        assertEq(
            ISignedRequests(address(marketplace))
                .assignSigned(items, new bytes[](0), validUntil, abi.encodePacked(r, s, v)),
            expected,
            "signed assigned"
        );
        _checkAssignLogs(logged, reasons);
    }

    /// Tops the requester's marketplace deposit up to `amount` with a real deposit.
    function _topUp(address requester, address token, uint256 amount) internal {
        uint256 balance = ghostBalance[requester][token];
        if (balance >= amount) return;
        uint256 shortfall = amount - balance;
        DevToken(token).mint(requester, shortfall);
        vm.startPrank(requester);
        DevToken(token).approve(address(marketplace), shortfall);
        marketplace.deposit(token, shortfall);
        vm.stopPrank();
        _credit(requester, token, shortfall);
        ghostInflow[token] += shortfall;
    }

    function _credit(address account, address token, uint256 amount) internal {
        ghostBalance[account][token] += amount;
        ghostCredited[account][token] += amount;
    }

    function _debit(address account, address token, uint256 amount, Debit kind) internal {
        ghostBalance[account][token] -= amount;
        ghostDebited[account][token][kind] += amount;
    }

    /// Books a used signed request: escrow from the requester's balance, an Open request, its nonce spent.
    function _recordSigned(SignedCase memory c, Spent how) internal {
        _recordSignedModel(c);
        _debit(c.q.requester, c.token, c.q.maxReward, Debit.Escrow);
        ghostEscrow[c.token] += c.q.maxReward;
        escrowFromDeposit[c.id] = c.q.maxReward;
        _markSpent(c.entry, how);
    }

    /// The request model alone (a prediction's scaffolding, undone by _unrecordSigned).
    function _recordSignedModel(SignedCase memory c) internal {
        RequestModel storage r = _requests[c.id];
        r.market = c.mi;
        r.fixture = c.fixture;
        r.provable = c.provable;
        r.status = RequestStatus.Open;
        r.requester = c.q.requester;
        r.inputs = c.inputs;
        r.record = c.record;
        requestIds.push(c.id);
    }

    /// Undoes _recordSignedModel.
    function _unrecordSigned(SignedCase memory c) internal {
        delete _requests[c.id];
        requestIds.pop();
    }

    /// The escrow comes from the marketplace balance first; only the shortfall is minted, approved and pulled.
    function _fund(address requester, address token, uint256 amount) internal returns (uint256 fromBalance) {
        uint256 balance = ghostBalance[requester][token];
        fromBalance = balance < amount ? balance : amount;
        uint256 shortfall = amount - fromBalance;
        if (shortfall != 0) {
            DevToken(token).mint(requester, shortfall);
            vm.prank(requester);
            DevToken(token).approve(address(marketplace), shortfall);
        }
        _debit(requester, token, fromBalance, Debit.Escrow);
        ghostEscrow[token] += amount;
        ghostInflow[token] += shortfall;
    }

    /// A fixture's public inputs with the Poseidon hash replaced by one nobody knows a preimage of: no proof exists.
    function _unprovable(uint256 fixture, uint256 salt) internal view returns (bytes memory) {
        bytes memory inputs = _inputs[fixture];
        bytes32 publicInput;
        assembly ("memory-safe") {
            publicInput := mload(add(inputs, 0x40))
        }
        bytes32 noPreimage = keccak256(abi.encode("cairn.test.no-preimage", salt)) >> 8; // below the scalar field
        return abi.encodePacked(noPreimage, publicInput);
    }

    /// A requester deposits to its marketplace balance, to fund later requests without transfers.
    function deposit(uint256 accountSeed, uint256 marketSeed, uint256 amount) external counted {
        address account = requesters[accountSeed % requesters.length];
        address token = address(_markets[marketSeed % _markets.length].payToken);
        amount = _bound(amount, 0, 100e18);
        if (amount == 0) {
            _expect(abi.encodeWithSelector(IProofMarketplace.ZeroAmount.selector));
            vm.prank(account);
            marketplace.deposit(token, 0);
            return;
        }
        DevToken(token).mint(account, amount);
        vm.startPrank(account);
        DevToken(token).approve(address(marketplace), amount);
        marketplace.deposit(token, amount);
        vm.stopPrank();
        _credit(account, token, amount);
        ghostInflow[token] += amount;
    }

    /// Withdraws from a balance: mostly one that exists; `variant` % 8 == 7 any, maybe empty. The amount by
    /// `variant` / 8 % 4: the whole balance (0), a part of it, exactly all of it, or more than it; more than the
    /// balance, or anything from an empty one, is refused with `InsufficientBalance`.
    function withdraw(uint256 seed, uint8 variant, uint256 amount) external counted {
        uint256 n = accounts.length * tokens.length;
        uint256 pick = seed % n;
        if (variant % 8 != 7) {
            for (uint256 i; i < n; ++i) {
                uint256 k = _add(seed, i) % n;
                if (ghostBalance[accounts[k / tokens.length]][tokens[k % tokens.length]] != 0) {
                    pick = k;
                    break;
                }
            }
        }
        address account = accounts[pick / tokens.length];
        address token = tokens[pick % tokens.length];
        uint256 owed = ghostBalance[account][token];
        uint256 mode = variant / 8 % 4;
        if (mode == 0) amount = 0;
        else if (mode == 1) amount = _bound(amount, 1, owed < 2 ? 1 : owed - 1);
        else if (mode == 2) amount = owed;
        else amount = _bound(amount, owed + 1, owed + 100e18);
        uint256 sent = amount == 0 ? owed : amount;
        if (sent == 0 || sent > owed) {
            _expect(abi.encodeWithSelector(IProofMarketplace.InsufficientBalance.selector, account, token, owed, sent));
            vm.prank(account);
            marketplace.withdraw(token, account, amount);
            return;
        }
        uint256 before = DevToken(token).balanceOf(account);
        vm.prank(account);
        marketplace.withdraw(token, account, amount);
        assertEq(DevToken(token).balanceOf(account), before + sent, "withdrawn amount");
        _debit(account, token, sent, Debit.Withdrawal);
        ghostOutflow[token] += sent;
        ++withdrawals;
        if (sent < owed) ++partialWithdrawals;
    }

    /// Cancels an open request past its matching expiry (anyone may); `variant` % 8 == 7 any request.
    function cancel(uint256 requestSeed, uint8 variant) external counted {
        (uint256 id, bool found) = _target(requestSeed, Want.OpenExpired, variant % 8 == 7);
        if (!found) return;
        RequestModel storage r = _requests[id];
        Request memory record = r.record;
        bytes memory why = _notOpen(id);
        if (why.length == 0 && Clock.timestamp() <= record.matchingExpiry) {
            why = abi.encodeWithSelector(IProofMarketplace.RequestNotExpired.selector, id, record.matchingExpiry);
        }
        if (why.length != 0) {
            _expect(why);
            vm.prank(stranger);
            marketplace.cancel(id, record);
            return;
        }
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestCancelled(id, record.maxReward);
        vm.prank(stranger);
        marketplace.cancel(id, record);
        _end(id, RequestStatus.Cancelled);
        address token = address(_markets[r.market].payToken);
        _credit(record.refundAddress, token, record.maxReward);
        ghostEscrow[token] -= record.maxReward;
        r.payReceived += record.maxReward;
        ++cancels;
    }

    // ================================================================ assignment

    /// A matcher batch of one to four items. The matcher signs each prover's listed terms as they are at signing.
    /// `flags` % 16: 15 picks provers blindly (items skipped for capacity, stake, listing or price), 14 forges the
    /// first item's record, 12 and 13 have the first item's prover raise its price between signature and inclusion
    /// (`ListingChanged`), 11 signs with a key that is no matcher, 10 submits an expired signature, 9 matches any
    /// requests (assigned, settled or expired ones too), 8 repeats a request in the batch; otherwise distinct open
    /// requests to provers that can take them.
    function assignBatch(uint256 requestSeed, uint256 proverSeed, uint8 size, uint8 flags) external counted {
        uint256 variant = flags % 16;
        (, bool found) = _target(requestSeed, Want.OpenMatchable, variant == 9);
        if (!found) return;
        uint256[] memory ids = _distinct(requestSeed, 1 + size % 4, variant == 9, variant == 8);
        (MatchedRequest[] memory items, Assignment[] memory signed) = _match(ids, proverSeed, variant == 15);
        uint256 n = items.length;
        if (n == 0) return;
        if (variant == 14) items[0].request.maxReward += 1;

        uint64 validUntil = variant == 10 ? uint64(block.timestamp - 1) : uint64(block.timestamp + size % 120);
        uint256 key = variant == 11 ? outsiderKey : matcherKey;
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, MarketplaceDigests.assignmentBatch(address(marketplace), signed, validUntil));
        bytes memory signature = abi.encodePacked(r, s, v);
        if (variant == 12 || variant == 13) _raiseListing(items[0].prover, _requests[items[0].requestId].market);

        if (Clock.timestamp() > validUntil) {
            _expect(abi.encodeWithSelector(IProofMarketplace.MatcherSignatureExpired.selector, validUntil));
            marketplace.assign(items, new bytes[](0), validUntil, signature);
            return;
        }
        if (key != matcherKey) {
            _expect(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, vm.addr(key)));
            marketplace.assign(items, new bytes[](0), validUntil, signature);
            return;
        }

        // Predict item by item, applying each assignment to the books before predicting the next.
        bytes[] memory reasons = new bytes[](n);
        uint256 expected;
        for (uint256 i; i < n; ++i) {
            MatchedRequest memory m = items[i];
            (bytes memory why, Task memory task) =
                _assignFailure(m.requestId, m.request, m.prover, m.price, m.provingTime, true);
            reasons[i] = why;
            if (why.length == 0) {
                _applyAssign(m.requestId, task);
                ++expected;
                // forge-lint: disable-next-line(unsafe-typecast): a non-empty reason is a custom error
            } else if (bytes4(why) == IProofMarketplace.ListingChanged.selector) {
                ++listingChangedSkips;
            } else {
                ++otherSkips;
            }
        }
        vm.recordLogs();
        assertEq(marketplace.assign(items, new bytes[](0), validUntil, signature), expected, "assigned");
        _checkAssignLogs(items, reasons);
        matcherAssignments += expected;
    }

    /// The matcher's decisions for `ids`: each to the first prover that can take it, counting the capacity and stake
    /// the batch's earlier items take, at the listed terms; a request no prover can take is left out. With `blind`,
    /// every request goes to the prover at the seed, whether it can take it or not.
    function _match(uint256[] memory ids, uint256 proverSeed, bool blind)
        internal
        returns (MatchedRequest[] memory items, Assignment[] memory signed)
    {
        uint256 n = ids.length;
        items = new MatchedRequest[](n);
        signed = new Assignment[](n);
        bool[] memory held = new bool[](n);
        for (uint256 i; i < n; ++i) {
            uint256 id = ids[i];
            MarketConfig storage m = _markets[_requests[id].market];
            address prover = provers[_add(proverSeed, i) % provers.length];
            if (!blind) (prover, held[i]) = _proverFor(id, _add(proverSeed, i));
            Listing memory l = registry.listing(prover, m.id);
            items[i] = MatchedRequest(id, prover, l.price, l.provingTime, _requests[id].record);
            signed[i] = Assignment(id, prover, l.price, l.provingTime, "");
            // Like a matcher, count the capacity and stake earlier items of the batch take (undone below).
            if (held[i]) {
                ghostCompute[prover] += l.computePerRequest;
                ghostLocked[m.staking][prover] += m.stakePerTask;
            }
        }
        uint256 kept;
        for (uint256 i; i < n; ++i) {
            if (!held[i]) {
                if (!blind) continue;
            } else {
                MarketConfig storage m = _markets[_requests[ids[i]].market];
                ghostCompute[items[i].prover] -= registry.listing(items[i].prover, m.id).computePerRequest;
                ghostLocked[m.staking][items[i].prover] -= m.stakePerTask;
            }
            (items[kept], signed[kept]) = (items[i], signed[i]);
            ++kept;
        }
        assembly ("memory-safe") {
            mstore(items, kept)
            mstore(signed, kept)
        }
    }

    /// The fallback path: a prover claims an open request once the market's fallback delay has passed. `variant` % 8:
    /// 7 a blind prover, 6 any request (maybe before the fallback delay, expired or taken).
    function claim(uint256 requestSeed, uint256 proverSeed, uint8 variant) external counted {
        (uint256 id, bool found) = _target(requestSeed, Want.Claimable, variant % 8 == 6);
        if (!found) return;
        address prover = provers[proverSeed % provers.length];
        if (variant % 8 != 7) (prover,) = _proverFor(id, proverSeed);
        Request memory record = _requests[id].record;
        (bytes memory why, Task memory task) = _assignFailure(id, record, prover, 0, 0, false);
        if (why.length != 0) {
            _expect(why);
            vm.prank(prover);
            marketplace.claim(id, record);
            return;
        }
        _applyAssign(id, task);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskAssigned(id, prover, task, false);
        vm.prank(prover);
        marketplace.claim(id, record);
        ++claims;
    }

    /// The prover raises its listed price after the matcher signed (when it can update the listing at all).
    function _raiseListing(address prover, uint256 mi) internal {
        uint256 marketId = _markets[mi].id;
        Listing memory l = registry.listing(prover, marketId);
        Prover memory info = registry.prover(prover);
        if (!info.registered || l.state == ListingState.None || l.computePerRequest > info.capacity) return;
        vm.prank(prover);
        registry.updateListing(marketId, l.price + 1e18, l.provingTime, l.computePerRequest);
    }

    /// The first prover, from `seed` on, that can take `id` at its listed terms now; else the one at `seed`.
    function _proverFor(uint256 id, uint256 seed) internal view returns (address, bool able) {
        uint256 mi = _requests[id].market;
        for (uint256 i; i < provers.length; ++i) {
            address p = provers[_add(seed, i) % provers.length];
            Listing memory l = registry.listing(p, _markets[mi].id);
            (bytes memory why,) = _assignFailure(id, _requests[id].record, p, l.price, l.provingTime, true);
            if (why.length == 0) return (p, true);
        }
        return (provers[seed % provers.length], false);
    }

    /// Why the marketplace will not assign `id` to `prover` now (its exact revert data), or nothing and the task it
    /// will create. Mirrors the documented order of checks: request state and record, matching window, fallback
    /// delay, the registry's listing, price, proving time and capacity, the signed terms, then the stake lock.
    function _assignFailure(
        uint256 id,
        Request memory record,
        address prover,
        uint96 signedPrice,
        uint32 signedProvingTime,
        bool byMatcher
    ) internal view returns (bytes memory why, Task memory task) {
        why = _notOpen(id);
        if (why.length != 0) return (why, task);
        RequestModel storage r = _requests[id];
        if (keccak256(abi.encode(record)) != keccak256(abi.encode(r.record))) {
            return (abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id), task);
        }
        if (Clock.timestamp() > record.matchingExpiry) {
            return (abi.encodeWithSelector(IProofMarketplace.RequestExpired.selector, id, record.matchingExpiry), task);
        }
        MarketConfig storage m = _markets[r.market];
        uint256 opensAt = uint256(record.createdAt) + m.fallbackDelay;
        if (!byMatcher && Clock.timestamp() < opensAt) {
            return (abi.encodeWithSelector(IProofMarketplace.FallbackNotOpen.selector, id, opensAt), task);
        }
        why = _reserveFailure(prover, m.id, record);
        if (why.length != 0) return (why, task);
        Listing memory l = registry.listing(prover, m.id);
        if (byMatcher && (l.price != signedPrice || l.provingTime != signedProvingTime)) {
            return (
                abi.encodeWithSelector(
                    IProofMarketplace.ListingChanged.selector,
                    prover,
                    signedPrice,
                    l.price,
                    signedProvingTime,
                    l.provingTime
                ),
                task
            );
        }
        uint256 free = ghostStaked[m.staking][prover] - ghostLocked[m.staking][prover];
        if (m.stakePerTask > free) {
            return (abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, free, m.stakePerTask), task);
        }
        task = Task({
            prover: prover,
            price: l.price,
            deadline: uint32(block.timestamp) + record.provingTime,
            compute: l.computePerRequest
        });
    }

    /// The registry's reason to refuse reserving `prover` for `record` in `marketId`, or nothing.
    function _reserveFailure(address prover, uint256 marketId, Request memory record)
        internal
        view
        returns (bytes memory)
    {
        Listing memory l = registry.listing(prover, marketId);
        if (l.state != ListingState.Active) {
            if (l.state == ListingState.Leaving) {
                return abi.encodeWithSelector(IProverRegistry.ListingLeaving.selector, prover, marketId);
            }
            return abi.encodeWithSelector(IProverRegistry.NotListed.selector, prover, marketId);
        }
        if (l.price > record.maxReward) {
            return abi.encodeWithSelector(IProverRegistry.PriceAboveMaxReward.selector, l.price, record.maxReward);
        }
        if (l.provingTime > record.provingTime) {
            return abi.encodeWithSelector(
                IProverRegistry.ProvingTimeExceedsRequest.selector, l.provingTime, record.provingTime
            );
        }
        uint256 capacity = registry.prover(prover).capacity;
        uint256 inUse = ghostCompute[prover];
        uint256 free = inUse >= capacity ? 0 : capacity - inUse;
        if (l.computePerRequest > free) {
            return abi.encodeWithSelector(IProverRegistry.InsufficientCapacity.selector, free, l.computePerRequest);
        }
        return "";
    }

    function _applyAssign(uint256 id, Task memory task) internal {
        RequestModel storage r = _requests[id];
        MarketConfig storage m = _markets[r.market];
        r.status = RequestStatus.Assigned;
        r.task = task;
        ghostCompute[task.prover] += task.compute;
        ghostLocked[m.staking][task.prover] += m.stakePerTask;
    }

    /// Each item emitted, in order, TaskAssigned with the predicted task or AssignmentSkipped with the predicted reason.
    function _checkAssignLogs(MatchedRequest[] memory items, bytes[] memory reasons) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 cursor;
        for (uint256 i; i < items.length; ++i) {
            while (
                logs[cursor].emitter != address(marketplace)
                    || (logs[cursor].topics[0] != IProofMarketplace.TaskAssigned.selector
                        && logs[cursor].topics[0] != IProofMarketplace.AssignmentSkipped.selector)
            ) {
                ++cursor;
            }
            Vm.Log memory log = logs[cursor++];
            assertEq(uint256(log.topics[1]), items[i].requestId, "batch item order");
            if (reasons[i].length == 0) {
                assertEq(log.topics[0], IProofMarketplace.TaskAssigned.selector, "item assigned");
                (Task memory task, bool byMatcher) = abi.decode(log.data, (Task, bool));
                assertEq(keccak256(abi.encode(task)), keccak256(abi.encode(_requests[items[i].requestId].task)));
                assertTrue(byMatcher);
            } else {
                assertEq(log.topics[0], IProofMarketplace.AssignmentSkipped.selector, "item skipped");
                assertEq(abi.decode(log.data, (bytes)), reasons[i], "skip reason");
            }
        }
    }

    // ================================================================ fulfilment and rejection

    /// The assigned prover submits its fixture's proof (valid only for a provable request). `mode` % 16: 11 another
    /// fixture's proof, 12 another fixture's inputs, 13 a caller that is not the prover, 14 a malformed proof, 15 any
    /// request (settled, open or late ones too).
    function fulfil(uint256 requestSeed, uint8 mode) external counted {
        uint256 variant = mode % 16;
        // A prover submits proofs it has: its fixture's proof of a provable request (variants try the others).
        (uint256 id, bool found) =
            _target(requestSeed, variant < 11 ? Want.AssignedProvableInTime : Want.AssignedInTime, variant == 15);
        if (!found) return;
        Fulfilment memory f = _fulfilment(id, variant < 11 ? 0 : variant - 10, requestSeed);
        address caller = variant == 13 ? stranger : _proverOrStranger(id);
        bytes memory why = _fulfilFailure(f, caller);
        if (why.length != 0) {
            _expect(why);
            vm.prank(caller);
            marketplace.fulfil(f);
            return;
        }
        RequestModel storage r = _requests[id];
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestFulfilled(id, r.task.prover, r.task.price, r.record.maxReward - r.task.price);
        vm.prank(caller);
        marketplace.fulfil(f);
        _settle(id, RequestStatus.Fulfilled);
        ++fulfilments;
    }

    /// Fulfils one to four items in one call, from the first item's prover; `modes` gives each item two bits (3:
    /// another fixture's proof, else its own). Items of other provers, repeated or settled requests are skipped;
    /// `size` % 16 == 15 submits an empty batch.
    function fulfilBatch(uint256 requestSeed, uint8 size, uint8 modes) external counted {
        (, bool found) = _target(requestSeed, Want.AssignedProvableInTime, false);
        if (!found) return;
        uint256 n = 1 + size % 4;
        if (size % 16 == 15) {
            _expect(abi.encodeWithSelector(IProofMarketplace.EmptyBatch.selector));
            marketplace.fulfilBatch(new Fulfilment[](0));
            return;
        }
        Fulfilment[] memory items = new Fulfilment[](n);
        for (uint256 i; i < n; ++i) {
            (uint256 id,) = _target(_add(requestSeed, i * 7), Want.AssignedProvableInTime, false);
            items[i] = _fulfilment(id, (modes >> (2 * i)) & 3 == 3 ? 1 : 0, _add(requestSeed, i));
        }
        address caller = _proverOrStranger(items[0].requestId);
        bytes[] memory reasons = new bytes[](n);
        uint256 expected;
        for (uint256 i; i < n; ++i) {
            reasons[i] = _fulfilFailure(items[i], caller);
            if (reasons[i].length == 0) {
                // Logged before settling: the event carries the task's price and refund.
                _settle(items[i].requestId, RequestStatus.Fulfilled);
                ++expected;
            }
        }
        vm.recordLogs();
        vm.prank(caller);
        assertEq(marketplace.fulfilBatch(items), expected, "fulfilled");
        _checkFulfilLogs(items, reasons);
        batchFulfilments += expected;
    }

    function _checkFulfilLogs(Fulfilment[] memory items, bytes[] memory reasons) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 cursor;
        for (uint256 i; i < items.length; ++i) {
            while (
                logs[cursor].emitter != address(marketplace)
                    || (logs[cursor].topics[0] != IProofMarketplace.RequestFulfilled.selector
                        && logs[cursor].topics[0] != IProofMarketplace.FulfilmentSkipped.selector)
            ) {
                ++cursor;
            }
            Vm.Log memory log = logs[cursor++];
            assertEq(uint256(log.topics[1]), items[i].requestId, "batch item order");
            if (reasons[i].length == 0) {
                assertEq(log.topics[0], IProofMarketplace.RequestFulfilled.selector, "item fulfilled");
                Task memory task = items[i].task;
                (uint96 price, uint96 refund) = abi.decode(log.data, (uint96, uint96));
                assertEq(price, task.price);
                assertEq(refund, items[i].request.maxReward - task.price);
            } else {
                assertEq(log.topics[0], IProofMarketplace.FulfilmentSkipped.selector, "item skipped");
                assertEq(abi.decode(log.data, (bytes)), reasons[i], "skip reason");
            }
        }
    }

    function _fulfilment(uint256 id, uint256 mode, uint256 seed) internal view returns (Fulfilment memory f) {
        RequestModel storage r = _requests[id];
        f = Fulfilment({
            requestId: id,
            request: r.record,
            task: r.task,
            publicInputs: r.inputs,
            privateInputsDigest: r.privateDigest,
            proof: _proofs[r.fixture]
        });
        uint256 other = (r.fixture + 1 + seed % (_proofs.length - 1)) % _proofs.length;
        if (mode == 1) f.proof = _proofs[other];
        else if (mode == 2) f.publicInputs = _inputs[other];
        else if (mode == 4) f.proof = new bytes(255);
    }

    /// Why `caller` cannot fulfil with `f` now (exact revert data), or nothing. A proof verifies exactly when the
    /// request is provable and `f` carries its fixture's inputs and proof.
    function _fulfilFailure(Fulfilment memory f, address caller) internal view returns (bytes memory why) {
        uint256 id = f.requestId;
        why = _notAssigned(id, f.request, f.task);
        if (why.length != 0) return why;
        if (caller != f.task.prover) {
            return abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, caller, f.task.prover);
        }
        if (Clock.timestamp() > f.task.deadline) {
            return abi.encodeWithSelector(IProofMarketplace.TaskDeadlinePassed.selector, id, f.task.deadline);
        }
        if (keccak256(abi.encodePacked(keccak256(f.publicInputs), f.privateInputsDigest)) != f.request.inputsDigest) {
            return abi.encodeWithSelector(IProofMarketplace.WrongInputs.selector, id);
        }
        if (f.proof.length != 256) {
            return abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, f.proof.length);
        }
        RequestModel storage r = _requests[id];
        if (!r.provable || keccak256(f.proof) != keccak256(_proofs[r.fixture])) {
            return abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, id);
        }
        return "";
    }

    /// The assigned prover attests, with an EIP-712 `InvalidInputs` signature of its enclave key, that the inputs
    /// cannot be proven: mostly its own key on an unprovable request in the TEE-path market (an enclave signs only
    /// for inputs with no proof; a prover without a key signs with a plain key). `mode` % 16: 10 and 11 another
    /// prover's enclave key, 12 a plain key, 13 a caller that is not the prover (these on any task in time), 14 and 15
    /// any request.
    function rejectInputs(uint256 requestSeed, uint8 mode) external counted {
        uint256 variant = mode % 16;
        (uint256 id, bool found) = _target(requestSeed, Want.AssignedUnprovableInTime, variant >= 14);
        if (!found && variant >= 10) (id, found) = _target(requestSeed, Want.AssignedInTime, false);
        if (!found) return;
        RequestModel storage r = _requests[id];
        Task memory task = r.task;
        uint256 secret = outsiderKey;
        if ((variant < 10 || variant >= 13) && _enclave[task.prover].secret != 0) {
            if (r.provable) return; // an enclave does not attest inputs it can prove
            secret = _enclave[task.prover].secret;
        } else if (variant == 10 || variant == 11) {
            for (uint256 i; i < provers.length; ++i) {
                address other = provers[_add(requestSeed, i) % provers.length];
                if (other != task.prover && _enclave[other].secret != 0) {
                    secret = _enclave[other].secret;
                    break;
                }
            }
        }
        address caller = variant == 13 ? stranger : _proverOrStranger(id);
        (uint8 v, bytes32 rr, bytes32 ss) =
            vm.sign(secret, MarketplaceDigests.invalidInputs(address(marketplace), id, r.record.inputsDigest));
        bytes memory signature = abi.encodePacked(rr, ss, v);

        bytes memory why = _notAssigned(id, r.record, task);
        if (why.length == 0 && caller != task.prover) {
            why = abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, caller, task.prover);
        }
        if (why.length == 0 && Clock.timestamp() > task.deadline) {
            why = abi.encodeWithSelector(IProofMarketplace.TaskDeadlinePassed.selector, id, task.deadline);
        }
        address signer = vm.addr(secret);
        if (why.length == 0 && _enclaveOperator(r.market, signer) != task.prover) {
            why = abi.encodeWithSelector(IProofMarketplace.NotProverEnclave.selector, signer, task.prover);
        }
        if (why.length != 0) {
            _expect(why);
            vm.prank(caller);
            IInputRejections(address(marketplace)).rejectInputs(id, r.record, task, signature);
            return;
        }
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.InputsRejected(id, task.prover, task.price, r.record.maxReward - task.price);
        vm.prank(caller);
        IInputRejections(address(marketplace)).rejectInputs(id, r.record, task, signature);
        _settle(id, RequestStatus.InputsRejected);
        ++rejections;
    }

    /// Books a paid ending: the prover's price to its reward address, the rest of the escrow to the refund address,
    /// capacity and stake released.
    function _settle(uint256 id, RequestStatus status) internal {
        RequestModel storage r = _requests[id];
        MarketConfig storage m = _markets[r.market];
        Task memory task = r.task;
        _end(id, status);
        r.paid = true;
        address token = address(m.payToken);
        uint256 refund = r.record.maxReward - task.price;
        _credit(_rewardOf[task.prover], token, task.price);
        _credit(r.record.refundAddress, token, refund);
        ghostEscrow[token] -= r.record.maxReward;
        r.payReceived += refund;
        ghostCompute[task.prover] -= task.compute;
        ghostLocked[m.staking][task.prover] -= m.stakePerTask;
    }

    // ================================================================ private fallback claims

    /// The private fallback claim (IPrivateClaims.claimPrivate) of a claimable request. `variant` % 4: 3 a public
    /// request (NoPrivateInputs), 2 another private digest (InputsDigestsMismatch); late claims are refused
    /// (PrivateClaimTooLate), and the prover's listing, capacity and stake are checked as for claim.
    function claimPrivate(uint256 requestSeed, uint256 proverSeed, uint8 variant) external counted {
        uint256 v = variant % 4;
        (uint256 id, bool found) = _targetPrivate(requestSeed, v != 3);
        if (!found) return;
        (address prover,) = _proverFor(id, proverSeed);
        RequestModel storage r = _requests[id];
        Request memory record = r.record;
        bytes32 publicDigest = keccak256(r.inputs);
        bytes32 privateDigest = v == 2 ? keccak256("another envelope") : r.privateDigest;
        bytes memory why;
        Task memory task;
        uint256 latestClaim = uint256(record.matchingExpiry) - KEY_RELEASE_WINDOW;
        if (keccak256(abi.encodePacked(publicDigest, privateDigest)) != record.inputsDigest) {
            why = abi.encodeWithSelector(IPrivateClaims.InputsDigestsMismatch.selector, id);
        } else if (privateDigest == bytes32(0)) {
            why = abi.encodeWithSelector(IPrivateClaims.NoPrivateInputs.selector, id);
        } else if (Clock.timestamp() > latestClaim) {
            why = abi.encodeWithSelector(IPrivateClaims.PrivateClaimTooLate.selector, id, latestClaim);
        } else {
            (why, task) = _assignFailure(id, record, prover, 0, 0, false);
        }
        if (why.length != 0) {
            _expect(why);
            vm.prank(prover);
            IPrivateClaims(address(marketplace)).claimPrivate(id, record, publicDigest, privateDigest);
            return;
        }
        task.deadline += KEY_RELEASE_WINDOW;
        _applyAssign(id, task);
        r.keyDueBy = uint32(block.timestamp) + KEY_RELEASE_WINDOW;
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskAssigned(id, prover, task, false);
        vm.expectEmit(address(marketplace));
        emit IPrivateClaims.PrivateClaimed(id, prover, r.keyDueBy);
        vm.prank(prover);
        IPrivateClaims(address(marketplace)).claimPrivate(id, record, publicDigest, privateDigest);
        ++privateClaims;
    }

    /// The requester's key release for a private claim. `variant` % 4: 3 a stranger, 2 the prover (both
    /// NotRefundAddress); else the refund address, refused once released (InputKeyAlreadyReleased) or late
    /// (KeyReleaseWindowClosed).
    function releaseInputKey(uint256 requestSeed, uint8 variant) external counted {
        (uint256 id, bool found) = _targetKeyed(requestSeed);
        if (!found) return;
        RequestModel storage r = _requests[id];
        uint256 v = variant % 4;
        address caller = v == 3 ? stranger : v == 2 ? r.task.prover : r.record.refundAddress;
        bytes memory inputKey = abi.encode("wrapped data key", id, variant);
        bytes memory why;
        if (caller != r.record.refundAddress) {
            why = abi.encodeWithSelector(IPrivateClaims.NotRefundAddress.selector, caller, r.record.refundAddress);
        } else if (r.keyReleased) {
            why = abi.encodeWithSelector(IPrivateClaims.InputKeyAlreadyReleased.selector, id);
        } else if (Clock.timestamp() > r.keyDueBy) {
            why = abi.encodeWithSelector(IPrivateClaims.KeyReleaseWindowClosed.selector, id, r.keyDueBy);
        }
        if (why.length != 0) {
            _expect(why);
            vm.prank(caller);
            IPrivateClaims(address(marketplace)).releaseInputKey(id, r.record, r.task, inputKey);
            return;
        }
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.InputKeyReleased(id, r.task.prover, inputKey);
        vm.prank(caller);
        IPrivateClaims(address(marketplace)).releaseInputKey(id, r.record, r.task, inputKey);
        r.keyReleased = true;
        ++keysReleased;
    }

    /// Anyone abandons a private claim whose key did not come: refused while the window is open
    /// (KeyReleaseWindowOpen) or once the key came (InputKeyAlreadyReleased).
    function abandonUnkeyedClaim(uint256 requestSeed, uint256 callerSeed) external counted {
        (uint256 id, bool found) = _targetKeyed(requestSeed);
        if (!found) return;
        RequestModel storage r = _requests[id];
        address caller = slashers[callerSeed % slashers.length];
        bytes memory why;
        if (r.keyReleased) {
            why = abi.encodeWithSelector(IPrivateClaims.InputKeyAlreadyReleased.selector, id);
        } else if (Clock.timestamp() <= r.keyDueBy) {
            why = abi.encodeWithSelector(IPrivateClaims.KeyReleaseWindowOpen.selector, id, r.keyDueBy);
        }
        if (why.length != 0) {
            _expect(why);
            vm.prank(caller);
            IPrivateClaims(address(marketplace)).abandonUnkeyedClaim(id, r.record, r.task);
            return;
        }
        _abandon(id, caller);
    }

    /// Abandons an unkeyed private claim past its window: the escrow back to the refund address in full, the prover's
    /// capacity and stake released, nobody paid or slashed.
    function _abandon(uint256 id, address caller) internal {
        RequestModel storage r = _requests[id];
        MarketConfig storage m = _markets[r.market];
        Task memory task = r.task;
        vm.expectEmit(address(marketplace));
        emit IPrivateClaims.UnkeyedClaimAbandoned(id, task.prover);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestCancelled(id, r.record.maxReward);
        vm.prank(caller);
        IPrivateClaims(address(marketplace)).abandonUnkeyedClaim(id, r.record, task);
        _end(id, RequestStatus.Cancelled);
        address token = address(m.payToken);
        _credit(r.record.refundAddress, token, r.record.maxReward);
        ghostEscrow[token] -= r.record.maxReward;
        r.payReceived += r.record.maxReward;
        ghostCompute[task.prover] -= task.compute;
        ghostLocked[m.staking][task.prover] -= m.stakePerTask;
        r.keyDueBy = 0;
        ++claimsAbandoned;
    }

    /// A private claim whose requester has not released its key: it cannot be slashed, only abandoned.
    function _awaitingKey(uint256 id) internal view returns (bool) {
        RequestModel storage r = _requests[id];
        return r.status == RequestStatus.Assigned && r.keyDueBy != 0 && !r.keyReleased;
    }

    /// The first claimable request from `seed` on with private inputs (`wantPrivate`) or without.
    function _targetPrivate(uint256 seed, bool wantPrivate) internal view returns (uint256 id, bool found) {
        uint256 n = requestIds.length;
        for (uint256 i; i < n; ++i) {
            id = requestIds[(seed % (n == 0 ? 1 : n) + i) % n];
            if (_wanted(id, Want.Claimable) && (_requests[id].privateDigest != bytes32(0)) == wantPrivate) {
                return (id, true);
            }
        }
        return (0, false);
    }

    /// The first assigned private claim from `seed` on (its key awaited or released).
    function _targetKeyed(uint256 seed) internal view returns (uint256 id, bool found) {
        uint256 n = requestIds.length;
        for (uint256 i; i < n; ++i) {
            id = requestIds[(seed % (n == 0 ? 1 : n) + i) % n];
            RequestModel storage r = _requests[id];
            if (r.status == RequestStatus.Assigned && r.keyDueBy != 0) return (id, true);
        }
        return (0, false);
    }

    // ================================================================ slashing

    /// Slashes an assigned task past its deadline, from a requester, a refund address, a competitor or a bystander.
    /// `mode` % 16: 15 any request (open, settled or still in time), 14 a task still in time with a forged deadline.
    function slash(uint256 requestSeed, uint256 slasherSeed, uint8 mode) external counted {
        uint256 variant = mode % 16;
        (uint256 id, bool found) =
            _target(requestSeed, variant == 14 ? Want.AssignedInTime : Want.AssignedLate, variant == 15);
        if (!found) return;
        address slasher = slashers[slasherSeed % slashers.length];
        Task memory task = _requests[id].task;
        if (variant == 14) task.deadline = uint32(block.timestamp) - 1; // claims the deadline has passed
        bytes memory why = _notAssigned(id, _requests[id].record, task);
        if (why.length == 0 && Clock.timestamp() <= task.deadline) {
            why = abi.encodeWithSelector(IProofMarketplace.TaskDeadlineNotPassed.selector, id, task.deadline);
        }
        if (why.length == 0 && _awaitingKey(id)) {
            why = abi.encodeWithSelector(IPrivateClaims.InputKeyNotReleased.selector, id);
        }
        if (why.length != 0) {
            _expect(why);
            vm.prank(slasher);
            marketplace.slash(id, _requests[id].record, task);
            return;
        }
        _slash(id, slasher);
    }

    /// Slashes every assigned task once its deadline has passed (end of a run): each due slash is enforceable and
    /// takes exactly its market's penalty.
    function slashEveryDueTask() external {
        uint256 latest = block.timestamp;
        for (uint256 i; i < requestIds.length; ++i) {
            RequestModel storage r = _requests[requestIds[i]];
            if (r.status == RequestStatus.Assigned && r.task.deadline >= latest) latest = uint256(r.task.deadline) + 1;
        }
        vm.warp(latest);
        for (uint256 i; i < requestIds.length; ++i) {
            if (_requests[requestIds[i]].status != RequestStatus.Assigned) continue;
            // A private claim whose key never came is abandoned, never slashed.
            if (_awaitingKey(requestIds[i])) _abandon(requestIds[i], stranger);
            else _slash(requestIds[i], stranger);
        }
    }

    /// Slashes a due task and checks the split against the prediction, the TaskSlashed event and the balance changes.
    function _slash(uint256 id, address slasher) internal {
        RequestModel storage r = _requests[id];
        MarketConfig memory m = _markets[r.market];
        Request memory record = r.record;
        Task memory task = r.task;
        SlashRecord memory rec;
        rec.requestId = id;
        rec.market = r.market;
        rec.enclaveActive = _hadEnclaveAt(r.market, task.prover, task.deadline);
        assertEq(rec.enclaveActive, teeRegistry.enclaveActiveAt(m.id, task.prover, task.deadline), "enclave key model");
        uint256 compensation = rec.enclaveActive ? uint256(m.penalty) * m.compensationBps / 10_000 : 0;
        uint256 reward = rec.enclaveActive ? uint256(m.penalty) * SLASHER_REWARD_BPS / 10_000 : 0;

        address stakeToken = address(m.stakeToken);
        uint256 treasuryBefore = marketplace.balanceOf(treasury, stakeToken);
        uint256 sideBefore = _stakeSide(record.refundAddress, slasher, stakeToken);
        uint256 sourceBefore = m.stakeToken.balanceOf(address(m.staking));
        vm.recordLogs();
        vm.prank(slasher);
        marketplace.slash(id, record, task);
        (rec.penalty, rec.compensation, rec.slasherReward) = _slashEvent(id, task.prover, slasher);
        rec.treasuryShare = marketplace.balanceOf(treasury, stakeToken) - treasuryBefore;
        rec.stakeTaken = sourceBefore - m.stakeToken.balanceOf(address(m.staking));
        assertEq(rec.penalty, m.penalty, "penalty");
        assertEq(rec.compensation, compensation, "compensation");
        assertEq(rec.slasherReward, reward, "slasher reward");
        assertEq(_stakeSide(record.refundAddress, slasher, stakeToken) - sideBefore, compensation + reward);
        _slashes.push(rec);

        _end(id, RequestStatus.Slashed);
        r.slashed = true;
        r.proverCouldSettle = r.provable || rec.enclaveActive;
        r.payReceived += record.maxReward;
        r.stakeReceived += compensation;
        if (slasher == r.requester || slasher == record.refundAddress) r.stakeReceived += reward;
        _credit(record.refundAddress, address(m.payToken), record.maxReward);
        ghostEscrow[address(m.payToken)] -= record.maxReward;
        _credit(record.refundAddress, stakeToken, compensation);
        _credit(slasher, stakeToken, reward);
        _credit(treasury, stakeToken, m.penalty - compensation - reward);
        ghostInflow[stakeToken] += m.penalty;
        ghostCompute[task.prover] -= task.compute;
        ghostLocked[m.staking][task.prover] -= m.stakePerTask;
        ghostStaked[m.staking][task.prover] -= m.penalty;
        stakeSlashed[m.staking] += m.penalty;
        if (rec.enclaveActive) ++slashesWithEnclave;
        else ++slashesWithoutEnclave;
    }

    function _stakeSide(address refundTo, address slasher, address token) internal view returns (uint256) {
        uint256 side = marketplace.balanceOf(refundTo, token);
        if (slasher != refundTo) side += marketplace.balanceOf(slasher, token);
        return side;
    }

    function _slashEvent(uint256 id, address prover, address slasher)
        internal
        returns (uint256 penalty, uint256 compensation, uint256 reward)
    {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(marketplace) || logs[i].topics[0] != IProofMarketplace.TaskSlashed.selector)
            {
                continue;
            }
            assertEq(uint256(logs[i].topics[1]), id);
            assertEq(address(uint160(uint256(logs[i].topics[2]))), prover);
            address by;
            (penalty, compensation, reward, by) = abi.decode(logs[i].data, (uint256, uint256, uint256, address));
            assertEq(by, slasher, "slasher");
            return (penalty, compensation, reward);
        }
        revert("no TaskSlashed");
    }

    // ================================================================ provers: listings and registration

    /// Lists (`fresh`) or updates a listing: price, proving time and compute per request.
    function listing(
        uint256 proverSeed,
        uint256 marketSeed,
        uint96 price,
        uint32 provingTime,
        uint32 compute,
        bool fresh
    ) external counted {
        address p = provers[proverSeed % provers.length];
        uint256 marketId = _markets[marketSeed % _markets.length].id;
        price = uint96(_bound(price, 1e18, 40e18));
        provingTime = uint32(_bound(provingTime, 60, 900));
        compute = uint32(_bound(compute, 1, 3));
        Prover memory info = registry.prover(p);
        Listing memory l = registry.listing(p, marketId);
        bytes memory why;
        if (!info.registered) {
            why = abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, p);
        } else if (fresh && l.state != ListingState.None) {
            why = abi.encodeWithSelector(IProverRegistry.AlreadyListed.selector, p, marketId);
        } else if (!fresh && l.state == ListingState.None) {
            why = abi.encodeWithSelector(IProverRegistry.NotListed.selector, p, marketId);
        } else if (compute > info.capacity) {
            why = abi.encodeWithSelector(IProverRegistry.ComputeExceedsCapacity.selector, compute, info.capacity);
        }
        _expect(why);
        vm.prank(p);
        if (fresh) registry.list(marketId, price, provingTime, compute);
        else registry.updateListing(marketId, price, provingTime, compute);
    }

    /// Leaving a market: `step` % 3 is requestLeave, cancelLeave or completeLeave (after the exit delay).
    function leave(uint256 proverSeed, uint256 marketSeed, uint8 step) external counted {
        // cancelLeave and completeLeave mostly act on a listing that is leaving (for completeLeave, one whose exit
        // delay has passed when there is one); step % 8 == 7 acts on the given pair whatever its state.
        if (step % 3 != 0 && step % 8 != 7) (proverSeed, marketSeed) = _leaving(proverSeed, marketSeed, step % 3 == 2);
        address p = provers[proverSeed % provers.length];
        uint256 marketId = _markets[marketSeed % _markets.length].id;
        Listing memory l = registry.listing(p, marketId);
        bytes memory why;
        vm.prank(p);
        if (step % 3 == 0) {
            if (l.state != ListingState.Active) {
                why = abi.encodeWithSelector(IProverRegistry.NotListed.selector, p, marketId);
            }
            _expect(why);
            registry.requestLeave(marketId);
        } else if (step % 3 == 1) {
            if (l.state != ListingState.Leaving) {
                why = abi.encodeWithSelector(IProverRegistry.NotLeaving.selector, p, marketId);
            }
            _expect(why);
            registry.cancelLeave(marketId);
        } else {
            if (l.state != ListingState.Leaving) {
                why = abi.encodeWithSelector(IProverRegistry.NotLeaving.selector, p, marketId);
            } else if (Clock.timestamp() < l.leaveAvailableAt) {
                why = abi.encodeWithSelector(IProverRegistry.LeaveNotYetAvailable.selector, l.leaveAvailableAt);
            }
            _expect(why);
            registry.completeLeave(marketId);
            if (why.length == 0) ++leavesCompleted;
        }
    }

    /// The first (prover, market) from the seeds whose listing is leaving (and, if `available`, may be completed
    /// now, when one may); else the seeds.
    function _leaving(uint256 proverSeed, uint256 marketSeed, bool available) internal view returns (uint256, uint256) {
        uint256 pairs = provers.length * _markets.length;
        (uint256 fallbackP, uint256 fallbackM) = (proverSeed, marketSeed);
        bool leavingFound;
        for (uint256 i; i < pairs; ++i) {
            uint256 k = _add(proverSeed, i) % pairs;
            Listing memory l = registry.listing(provers[k / _markets.length], _markets[k % _markets.length].id);
            if (l.state != ListingState.Leaving) continue;
            if (!available || Clock.timestamp() >= l.leaveAvailableAt) {
                return (k / _markets.length, k % _markets.length);
            }
            if (!leavingFound) (fallbackP, fallbackM, leavingFound) = (k / _markets.length, k % _markets.length, true);
        }
        return (fallbackP, fallbackM);
    }

    /// `kind` % 3: deregister (only without listings and running tasks), register again, or change capacity (even
    /// below the compute in use).
    function membership(uint256 proverSeed, uint8 kind, uint32 capacity) external counted {
        address p = provers[proverSeed % provers.length];
        Prover memory info = registry.prover(p);
        capacity = uint32(_bound(capacity, 0, 5));
        bytes memory why;
        vm.prank(p);
        if (kind % 3 == 0) {
            if (!info.registered) {
                why = abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, p);
            } else if (info.listings != 0) {
                why = abi.encodeWithSelector(IProverRegistry.ProverHasListings.selector, info.listings);
            } else if (ghostCompute[p] != 0) {
                why = abi.encodeWithSelector(IProverRegistry.ProverBusy.selector, ghostCompute[p]);
            }
            _expect(why);
            registry.deregister();
            if (why.length == 0) ++deregistrations;
        } else if (kind % 3 == 1) {
            if (capacity == 0) why = abi.encodeWithSelector(IProverRegistry.ZeroCapacity.selector);
            else if (info.registered) why = abi.encodeWithSelector(IProverRegistry.AlreadyRegistered.selector, p);
            _expect(why);
            registry.register(_rewardOf[p], capacity);
        } else {
            if (capacity == 0) why = abi.encodeWithSelector(IProverRegistry.ZeroCapacity.selector);
            else if (!info.registered) why = abi.encodeWithSelector(IProverRegistry.NotRegistered.selector, p);
            _expect(why);
            registry.setCapacity(capacity);
        }
    }

    /// Governance revokes a prover's enclave key in the TEE-path market (rarely: a revoked key never comes back).
    function revokeEnclaveKey(uint256 proverSeed, uint256 chance) external counted {
        if (chance % 16 != 0) return;
        address p = provers[proverSeed % provers.length];
        EnclaveKey storage k = _enclave[p];
        address signer = k.secret != 0 ? k.signer : vm.addr(outsiderKey);
        uint256 marketId = _markets[TEE_MARKET].id;
        if (k.secret == 0 || k.revoked) {
            _expect(abi.encodeWithSelector(ITeeRegistry.KeyNotRegistered.selector, TeeRole.Prover, marketId, signer));
        } else {
            k.revoked = true;
        }
        vm.prank(teeAdmin);
        teeRegistry.revoke(TeeRole.Prover, marketId, signer);
    }

    // ================================================================ native stake

    /// `kind` % 4 on one of the stake sources: deposit for a prover, request a withdrawal (only of unlocked stake),
    /// cancel it, or withdraw after unbonding.
    function stake(uint256 proverSeed, uint256 sourceSeed, uint8 kind, uint256 amount) external counted {
        // Cancelling and withdrawing mostly act on stake that is unbonding (matured, for a withdrawal, when some is).
        if (kind % 4 >= 2 && kind % 16 < 14) {
            (proverSeed, sourceSeed) = _unbonding(proverSeed, sourceSeed, kind % 4 == 3);
        }
        address p = provers[proverSeed % provers.length];
        NativeStaking s = stakings[sourceSeed % stakings.length];
        if (kind % 4 == 0) _depositStake(p, s, amount);
        else if (kind % 4 == 1) _requestWithdrawal(p, s, amount);
        else if (kind % 4 == 2) _cancelWithdrawal(p, s);
        else _withdrawStake(p, s);
    }

    /// The first (prover, source) from the seeds with stake unbonding (and, if `matured`, withdrawable now, when some
    /// is); else the seeds.
    function _unbonding(uint256 proverSeed, uint256 sourceSeed, bool matured) internal view returns (uint256, uint256) {
        uint256 pairs = provers.length * stakings.length;
        (uint256 fallbackP, uint256 fallbackS) = (proverSeed, sourceSeed);
        bool unbondingFound;
        for (uint256 i; i < pairs; ++i) {
            uint256 k = _add(proverSeed, i) % pairs;
            (address p, NativeStaking s) = (provers[k / stakings.length], stakings[k % stakings.length]);
            if (ghostUnbonding[s][p] == 0) continue;
            if (!matured || Clock.timestamp() >= _unbondingAt[s][p]) return (k / stakings.length, k % stakings.length);
            if (!unbondingFound) {
                (fallbackP, fallbackS, unbondingFound) = (k / stakings.length, k % stakings.length, true);
            }
        }
        return (fallbackP, fallbackS);
    }

    function _depositStake(address p, NativeStaking s, uint256 amount) internal {
        amount = _bound(amount, 0, 200e18);
        DevToken token = DevToken(s.stakeToken());
        if (amount == 0) {
            _expect(abi.encodeWithSelector(INativeStaking.ZeroAmount.selector));
            s.deposit(p, 0);
            return;
        }
        token.mint(stranger, amount);
        vm.startPrank(stranger);
        token.approve(address(s), amount);
        s.deposit(p, amount);
        vm.stopPrank();
        ghostStaked[s][p] += amount;
        stakeDeposited[s] += amount;
    }

    function _requestWithdrawal(address p, NativeStaking s, uint256 amount) internal {
        uint256 free = ghostStaked[s][p] - ghostLocked[s][p];
        amount = _bound(amount, 0, free + 50e18);
        bytes memory why;
        if (amount == 0) why = abi.encodeWithSelector(INativeStaking.ZeroAmount.selector);
        else if (amount > free) why = abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, free, amount);
        _expect(why);
        vm.prank(p);
        s.requestWithdrawal(amount);
        if (why.length != 0) return;
        ghostStaked[s][p] -= amount;
        ghostUnbonding[s][p] += amount;
        _unbondingAt[s][p] = block.timestamp + s.unbondingPeriod();
    }

    function _cancelWithdrawal(address p, NativeStaking s) internal {
        uint256 amount = ghostUnbonding[s][p];
        if (amount == 0) _expect(abi.encodeWithSelector(INativeStaking.NothingUnbonding.selector));
        vm.prank(p);
        s.cancelWithdrawal();
        ghostStaked[s][p] += amount;
        ghostUnbonding[s][p] = 0;
    }

    function _withdrawStake(address p, NativeStaking s) internal {
        uint256 amount = ghostUnbonding[s][p];
        bytes memory why;
        if (amount == 0) {
            why = abi.encodeWithSelector(INativeStaking.NothingUnbonding.selector);
        } else if (Clock.timestamp() < _unbondingAt[s][p]) {
            why = abi.encodeWithSelector(INativeStaking.UnbondingNotFinished.selector, _unbondingAt[s][p]);
        }
        _expect(why);
        vm.prank(p);
        s.withdraw(p);
        if (why.length != 0) return;
        ghostUnbonding[s][p] = 0;
        stakeWithdrawn[s] += amount;
        ++unbondsWithdrawn;
    }

    /// Someone other than the marketplace tries to lock, unlock or slash native stake, or reserve or release a
    /// prover's capacity: always refused.
    function intrude(uint256 kind, uint256 proverSeed) external counted {
        address p = provers[proverSeed % provers.length];
        NativeStaking s = stakings[(kind / 5) % stakings.length];
        kind %= 5;
        if (kind < 3) _expect(abi.encodeWithSelector(INativeStaking.NotMarketplace.selector));
        else _expect(abi.encodeWithSelector(IProverRegistry.NotMarketplace.selector));
        vm.prank(stranger);
        if (kind == 0) s.lock(p, 1, 1, 0);
        else if (kind == 1) s.unlock(p, 1, 1);
        else if (kind == 2) s.slash(p, 1, 1, 1, stranger);
        else if (kind == 3) registry.reserve(p, _markets[0].id, type(uint96).max, type(uint32).max);
        else registry.release(p, 1);
    }

    // ================================================================ time

    /// Moves time (`kind` % 16): a few minutes (0-5), or just past a request's matching expiry (6-8), its fallback
    /// delay (9, 10), a task deadline (11-13), the exit delay (14) or the unbonding period (15).
    function warp(uint8 kind, uint256 seed) external counted {
        uint256 to = block.timestamp + _bound(seed, 1, 10 minutes);
        kind %= 16;
        if (kind == 14) {
            to = block.timestamp + registry.exitDelay() + 1;
        } else if (kind == 15) {
            to = block.timestamp + stakings[0].unbondingPeriod() + 1;
        } else if (kind >= 6) {
            (uint256 id, bool found) = _target(seed, kind >= 11 ? Want.AssignedInTime : Want.OpenMatchable, false);
            RequestModel storage r = _requests[id];
            uint256 target;
            if (!found) target = 0;
            else if (kind <= 8) target = uint256(r.record.matchingExpiry) + 1;
            else if (kind <= 10) target = uint256(r.record.createdAt) + _markets[r.market].fallbackDelay;
            else target = uint256(r.task.deadline) + 1;
            if (target > Clock.timestamp()) to = target;
        }
        vm.warp(to);
    }

    // ================================================================ helpers

    /// Expects the next call to revert with exactly `why`, when there is a reason.
    function _expect(bytes memory why) internal {
        if (why.length == 0) return;
        vm.expectRevert(why);
        ++predictedReverts;
    }

    function _end(uint256 id, RequestStatus status) internal {
        RequestModel storage r = _requests[id];
        r.status = status;
        ++r.endings;
    }

    function _notOpen(uint256 id) internal view returns (bytes memory) {
        RequestStatus status = _requests[id].status;
        if (status == RequestStatus.Open) return "";
        if (status == RequestStatus.None) return abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, id);
        return abi.encodeWithSelector(IProofMarketplace.RequestNotOpen.selector, id, status);
    }

    /// Why (record, task) are not the records of an assigned request, or nothing.
    function _notAssigned(uint256 id, Request memory record, Task memory task) internal view returns (bytes memory) {
        RequestModel storage r = _requests[id];
        if (r.status != RequestStatus.Assigned) {
            if (r.status == RequestStatus.Fulfilled) {
                return abi.encodeWithSelector(IProofMarketplace.RequestAlreadyFulfilled.selector, id);
            }
            if (r.status == RequestStatus.None) {
                return abi.encodeWithSelector(IProofMarketplace.UnknownRequest.selector, id);
            }
            return abi.encodeWithSelector(IProofMarketplace.RequestNotAssigned.selector, id, r.status);
        }
        if (
            keccak256(abi.encode(record)) != keccak256(abi.encode(r.record))
                || keccak256(abi.encode(task)) != keccak256(abi.encode(r.task))
        ) {
            return abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, id);
        }
        return "";
    }

    /// The first request from `seed` on that is in the wanted state, if any; with `any`, the request at `seed`
    /// whatever its state (the action then predicts its refusal).
    function _target(uint256 seed, Want want, bool any) internal view returns (uint256 id, bool found) {
        uint256 n = requestIds.length;
        if (n == 0) return (0, false);
        if (any) return (_any(seed), true);
        uint256 start = seed % n;
        for (uint256 i; i < n; ++i) {
            id = requestIds[(start + i) % n];
            if (_wanted(id, want)) return (id, true);
        }
        return (0, false);
    }

    /// Up to `n` distinct requests from `seed` on that are open for matching (with `any`, whatever their state); with
    /// `repeat`, exactly `n`, the first repeated when there are fewer (an item whose request the batch already
    /// assigned is skipped).
    function _distinct(uint256 seed, uint256 n, bool any, bool repeat) internal view returns (uint256[] memory ids) {
        ids = new uint256[](n);
        uint256 total = requestIds.length;
        uint256 found;
        for (uint256 i; i < total && found < n; ++i) {
            uint256 id = requestIds[(seed % total + i) % total];
            if (any || _wanted(id, Want.OpenMatchable)) ids[found++] = id;
        }
        if (repeat) {
            for (uint256 i = found; i < n; ++i) {
                ids[i] = ids[0];
            }
        } else {
            assembly ("memory-safe") {
                mstore(ids, found)
            }
        }
    }

    function _any(uint256 seed) internal view returns (uint256) {
        return requestIds[seed % requestIds.length];
    }

    function _wanted(uint256 id, Want want) internal view returns (bool) {
        RequestModel storage r = _requests[id];
        if (want <= Want.OpenExpired) {
            if (r.status != RequestStatus.Open) return false;
            bool expired = Clock.timestamp() > r.record.matchingExpiry;
            if (want == Want.OpenExpired) return expired;
            if (expired) return false;
            return want == Want.OpenMatchable
                || Clock.timestamp() >= uint256(r.record.createdAt) + _markets[r.market].fallbackDelay;
        }
        if (r.status != RequestStatus.Assigned) return false;
        bool late = Clock.timestamp() > r.task.deadline;
        if (want == Want.AssignedLate) return late;
        if (late) return false;
        if (want == Want.AssignedProvableInTime) return r.provable;
        return want == Want.AssignedInTime || (r.market == TEE_MARKET && !r.provable);
    }

    function _proverOrStranger(uint256 id) internal view returns (address) {
        address p = _requests[id].task.prover;
        return p == address(0) ? stranger : p;
    }

    /// The handler's own view of the registry: the prover an enclave key works for in a market, while active.
    function _enclaveOperator(uint256 mi, address signer) internal view returns (address) {
        if (mi != TEE_MARKET) return address(0);
        for (uint256 i; i < provers.length; ++i) {
            EnclaveKey storage k = _enclave[provers[i]];
            if (k.secret != 0 && k.signer == signer && !k.revoked && Clock.timestamp() < k.expiresAt) {
                return provers[i];
            }
        }
        return address(0);
    }

    /// Whether the prover held its (setUp-registered, so since before any task) key in the market at `at`: a revoked
    /// key is gone from the registry, an expired one counts up to its expiry.
    function _hadEnclaveAt(uint256 mi, address prover, uint256 at) internal view returns (bool) {
        EnclaveKey storage k = _enclave[prover];
        return mi == TEE_MARKET && k.secret != 0 && !k.revoked && at < k.expiresAt;
    }

    /// `seed + i`, wrapping: seeds are arbitrary fuzzed words.
    function _add(uint256 seed, uint256 i) internal pure returns (uint256) {
        unchecked {
            return seed + i;
        }
    }

    function _addOnce(address[] storage list, address a) internal {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == a) return;
        }
        list.push(a);
    }

    // ================================================================ views for the invariants
    // Bulk views: the invariants run after every call, so each reads the books in a few calls, not one per entry.

    function requestCount() external view returns (uint256) {
        return requestIds.length;
    }

    function requestModel(uint256 index) external view returns (RequestModel memory) {
        return _requests[requestIds[index]];
    }

    function requestViews() external view returns (RequestView[] memory views) {
        views = new RequestView[](requestIds.length);
        for (uint256 i; i < views.length; ++i) {
            RequestModel storage r = _requests[requestIds[i]];
            views[i] = RequestView({
                id: requestIds[i],
                market: r.market,
                status: r.status,
                provable: r.provable,
                endings: r.endings,
                paid: r.paid,
                slashed: r.slashed,
                proverCouldSettle: r.proverCouldSettle,
                maxReward: r.record.maxReward,
                prover: r.task.prover,
                compute: r.task.compute,
                payReceived: r.payReceived,
                stakeReceived: r.stakeReceived
            });
        }
    }

    function marketConfigs() external view returns (MarketConfig[] memory) {
        return _markets;
    }

    function slashRecords() external view returns (SlashRecord[] memory) {
        return _slashes;
    }

    function actors()
        external
        view
        returns (address[] memory, address[] memory, address[] memory, NativeStaking[] memory)
    {
        return (accounts, tokens, provers, stakings);
    }

    /// Booked marketplace balances, [account][token], and escrow per token.
    function ghostBalances() external view returns (uint256[][] memory balances, uint256[] memory escrow) {
        balances = new uint256[][](accounts.length);
        for (uint256 a; a < accounts.length; ++a) {
            balances[a] = new uint256[](tokens.length);
            for (uint256 t; t < tokens.length; ++t) {
                balances[a][t] = ghostBalance[accounts[a]][tokens[t]];
            }
        }
        escrow = new uint256[](tokens.length);
        for (uint256 t; t < tokens.length; ++t) {
            escrow[t] = ghostEscrow[tokens[t]];
        }
    }

    /// The ledger behind the booked balances, per account and token (index account * tokens + token): credits, and
    /// debits by kind (withdrawals, escrow, fast-lane payments); and per token what entered and left the marketplace.
    function ghostLedger()
        external
        view
        returns (
            uint256[] memory credited,
            uint256[] memory withdrawn,
            uint256[] memory escrowed,
            uint256[] memory fastPaid,
            uint256[] memory inflow,
            uint256[] memory outflow
        )
    {
        uint256 n = accounts.length * tokens.length;
        (credited, withdrawn, escrowed, fastPaid) =
        (new uint256[](n), new uint256[](n), new uint256[](n), new uint256[](n));
        for (uint256 k; k < n; ++k) {
            (address account, address token) = (accounts[k / tokens.length], tokens[k % tokens.length]);
            credited[k] = ghostCredited[account][token];
            withdrawn[k] = ghostDebited[account][token][Debit.Withdrawal];
            escrowed[k] = ghostDebited[account][token][Debit.Escrow];
            fastPaid[k] = ghostDebited[account][token][Debit.FastPayment];
        }
        (inflow, outflow) = (new uint256[](tokens.length), new uint256[](tokens.length));
        for (uint256 t; t < tokens.length; ++t) {
            (inflow[t], outflow[t]) = (ghostInflow[tokens[t]], ghostOutflow[tokens[t]]);
        }
    }

    /// Per request (in requestIds order): its requester and the part of its escrow taken from that requester's
    /// balance.
    function escrowsFromDeposit() external view returns (address[] memory from, uint256[] memory amounts) {
        from = new address[](requestIds.length);
        amounts = new uint256[](requestIds.length);
        for (uint256 i; i < requestIds.length; ++i) {
            (from[i], amounts[i]) = (_requests[requestIds[i]].requester, escrowFromDeposit[requestIds[i]]);
        }
    }

    /// Every signed request of the pool: its id, requester, nonce, how its nonce was spent and its uses.
    function signedViews() external view returns (SignedView[] memory views) {
        views = new SignedView[](_signed.length);
        for (uint256 i; i < views.length; ++i) {
            SignedEntry storage e = _signed[i];
            views[i] = SignedView(e.id, e.q.requester, e.q.nonce, e.spent, e.uses);
        }
    }

    function requesterList() external view returns (address[] memory) {
        return requesters;
    }

    /// Booked native stake, [source][prover]: staked, locked and unbonding.
    function ghostStakes()
        external
        view
        returns (uint256[][] memory staked, uint256[][] memory locked, uint256[][] memory unbonding)
    {
        staked = new uint256[][](stakings.length);
        locked = new uint256[][](stakings.length);
        unbonding = new uint256[][](stakings.length);
        for (uint256 s; s < stakings.length; ++s) {
            (staked[s], locked[s], unbonding[s]) =
            (new uint256[](provers.length), new uint256[](provers.length), new uint256[](provers.length));
            for (uint256 p; p < provers.length; ++p) {
                staked[s][p] = ghostStaked[stakings[s]][provers[p]];
                locked[s][p] = ghostLocked[stakings[s]][provers[p]];
                unbonding[s][p] = ghostUnbonding[stakings[s]][provers[p]];
            }
        }
    }

    /// Stake-token flows per source: deposited, withdrawn after unbonding, and taken by slashes.
    function stakeFlows()
        external
        view
        returns (uint256[] memory deposited, uint256[] memory withdrawn, uint256[] memory slashed)
    {
        deposited = new uint256[](stakings.length);
        withdrawn = new uint256[](stakings.length);
        slashed = new uint256[](stakings.length);
        for (uint256 s; s < stakings.length; ++s) {
            (deposited[s], withdrawn[s], slashed[s]) =
            (stakeDeposited[stakings[s]], stakeWithdrawn[stakings[s]], stakeSlashed[stakings[s]]);
        }
    }
}
