// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierAdapter} from "../../src/interfaces/IVerifierAdapter.sol";
import {CairnTest} from "../utils/CairnTest.sol";
import {TeeRegistryFixture} from "../attestation/TeeRegistry.t.sol";
import {
    Debit,
    EnclaveKey,
    HandlerSetup,
    MarketConfig,
    MarketplaceHandler,
    RequestModel,
    RequestView,
    SignedView,
    SlashRecord,
    Spent
} from "./MarketplaceHandler.sol";
import {FastLaneHandler, FastPayment, FastTotals} from "./FastLaneHandler.sol";
import {NativeStaking} from "../../src/staking/NativeStaking.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {MarketParams} from "../../src/types/Market.sol";
import {RequestStatus} from "../../src/types/Request.sol";
import {ISignedRequests} from "../../src/interfaces/ISignedRequests.sol";
import {ISignedFulfilments} from "../../src/interfaces/ISignedFulfilments.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "../../src/interfaces/IProofVerifier.sol";
import {Groth16VerifierAdapter} from "../../src/verifiers/Groth16VerifierAdapter.sol";

/// @notice Three markets on one marketplace, as the review's attacks need them: two native-stake markets with
/// different penalties, compensation rates and tokens (each its own NativeStaking), and a TEE-path market whose
/// provers 0 and 1 hold enclave keys registered with real dev TDX quotes in the real TeeRegistry (prover 2 has none).
/// Markets A and TEE verify with the generated verifier behind Groth16VerifierAdapter, market B with a
/// Groth16BatchVerifier of the same circuit (one multi-pairing per verifyBatch): a batch of both paths asks each
/// verifier once, and the proofs (fixtures.json and batch-fixtures.json) fit either.
abstract contract MarketplaceInvariantFixture is CairnTest, TeeRegistryFixture {
    /// Market B: an odd penalty and compensation rate, so the split has rounding to get right.
    uint96 internal constant B_STAKE = 50e18;
    uint96 internal constant B_PENALTY = 33_333_333_333_333_333_337;
    uint16 internal constant B_COMPENSATION_BPS = 3333;
    uint32 internal constant B_FALLBACK = 600;
    /// TEE-path market: the highest compensation rate (the treasury keeps only rounding dust) and no fallback delay.
    uint96 internal constant TEE_STAKE = 80e18;
    uint96 internal constant TEE_PENALTY = 77_777_777_777_777_777_777;
    uint16 internal constant TEE_COMPENSATION_BPS = 9500;
    /// Long enough for most runs, short enough that some runs outlive the keys.
    uint64 internal constant KEY_VALIDITY = 10 days;
    /// ProofMarketplace.SLASHER_REWARD_BPS, restated from the spec.
    uint256 internal constant SLASHER_REWARD_BPS = 500;

    FastLaneHandler internal handler;
    /// Market B's verifier.
    address internal batchVerifier;
    DevToken internal payToken2;
    DevToken internal stakeToken2;
    NativeStaking internal staking2;
    uint256 internal marketB;
    uint256 internal teeMarket;
    address[] internal ps;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal prover1Rewards = makeAddr("prover1Rewards");
    address internal bindingOperator;

    function _proverOperator() internal view override returns (address) {
        return bindingOperator;
    }

    function setUp() public virtual override {
        super.setUp();
        _setUpRegistry();
        payToken2 = new DevToken("Pay2", "PAY2");
        stakeToken2 = new DevToken("Stake2", "STK2");
        staking2 = new NativeStaking(address(stakeToken2), address(marketplace), UNBONDING);
        vm.prank(owner);
        marketplace.setStakeSourceApproval(staking2, true);
        MarketParams memory p = _marketParams();
        p.verifier = _newBatchVerifier();
        batchVerifier = address(p.verifier);
        (p.paymentToken, p.stakeSource, p.stakePerTask, p.slashPenalty) =
        (address(payToken2), staking2, B_STAKE, B_PENALTY);
        (p.requesterCompensationBps, p.fallbackDelay) = (B_COMPENSATION_BPS, B_FALLBACK);
        marketB = marketplace.createMarket(p);
        p = _marketParams();
        (p.stakePerTask, p.slashPenalty, p.requesterCompensationBps, p.fallbackDelay) =
        (TEE_STAKE, TEE_PENALTY, TEE_COMPENSATION_BPS, 0);
        teeMarket = marketplace.createMarket(p);

        for (uint256 i; i < 3; ++i) {
            ps.push(makeAddr(string.concat("prover", vm.toString(i))));
        }
        vm.prank(ps[0]);
        registry.register(ps[0], 4);
        vm.prank(ps[1]);
        registry.register(prover1Rewards, 3);
        vm.prank(ps[2]);
        registry.register(ps[2], 2);
        _list(ps[0], marketId, 5e18, 120, 1);
        _list(ps[0], marketB, 8e18, 300, 2);
        _list(ps[0], teeMarket, 10e18, 180, 1);
        _list(ps[1], marketB, 4e18, 600, 1);
        _list(ps[1], teeMarket, 6e18, 240, 1);
        _list(ps[2], marketId, 3e18, 900, 1);
        _list(ps[2], teeMarket, 2e18, 120, 1);
        _stake(ps[0], 400e18);
        _stake(ps[1], 200e18);
        _stake(ps[2], 150e18);
        _stake2(ps[0], 150e18);
        _stake2(ps[1], 100e18);

        // Enclave keys of provers 0 and 1 in the TEE-path market: real dev quotes (ffi), registered once here.
        vm.prank(registryOwner);
        teeRegistry.setAttestValiditySeconds(KEY_VALIDITY);
        _allow(TeeRole.Prover, teeMarket);
        uint256[] memory secrets = new uint256[](3);
        uint64 expiresAt;
        for (uint256 i; i < 2; ++i) {
            address signer;
            (signer, secrets[i]) = makeAddrAndKey(string.concat("enclave-prover", vm.toString(i)));
            bindingOperator = ps[i];
            expiresAt = _register(_binding(TeeRole.Prover, teeMarket, signer));
        }
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);

        _loadBatchFixtures();
        handler = new FastLaneHandler(_handlerSetup(secrets, expiresAt), 1);
    }

    function _handlerSetup(uint256[] memory secrets, uint64 expiresAt) internal view returns (HandlerSetup memory s) {
        s.marketplace = marketplace;
        s.teeRegistry = teeRegistry;
        s.teeAdmin = roleAdmin;
        s.matcherKey = matcherKey;
        s.treasury = treasury;
        s.refundee = refundee;
        s.stranger = stranger;
        s.markets = new MarketConfig[](3);
        s.markets[0] = MarketConfig(
            marketId, payToken, staking, stakeToken, STAKE_PER_TASK, SLASH_PENALTY, COMPENSATION_BPS, FALLBACK_DELAY
        );
        s.markets[1] =
            MarketConfig(marketB, payToken2, staking2, stakeToken2, B_STAKE, B_PENALTY, B_COMPENSATION_BPS, B_FALLBACK);
        s.markets[2] =
            MarketConfig(teeMarket, payToken, staking, stakeToken, TEE_STAKE, TEE_PENALTY, TEE_COMPENSATION_BPS, 0);
        s.provers = ps;
        s.rewardAddresses = new address[](3);
        (s.rewardAddresses[0], s.rewardAddresses[1], s.rewardAddresses[2]) = (ps[0], prover1Rewards, ps[2]);
        s.enclaveSecrets = secrets;
        s.enclaveExpiresAt = expiresAt;
        s.requesters = new address[](2);
        (s.requesters[0], s.requesters[1]) = (alice, bob);
        s.requesterKeys = new uint256[](2);
        (s.requesterKeys[0], s.requesterKeys[1]) = (uint256(keccak256("alice")), uint256(keccak256("bob")));
        s.accounts = new address[](9);
        (s.accounts[0], s.accounts[1], s.accounts[2], s.accounts[3], s.accounts[4]) =
        (alice, bob, refundee, stranger, treasury);
        (s.accounts[5], s.accounts[6], s.accounts[7], s.accounts[8]) = (ps[0], ps[1], prover1Rewards, ps[2]);
        // The 10 fixtures, then the 32 batch fixtures: 42 statements with their real proofs.
        s.inputs = new bytes[](fixtures.length + batchFixtures.length);
        s.proofs = new bytes[](fixtures.length + batchFixtures.length);
        for (uint256 i; i < s.inputs.length; ++i) {
            ProofFixture storage f = i < fixtures.length ? fixtures[i] : batchFixtures[i - fixtures.length];
            s.inputs[i] = f.publicInputs;
            s.proofs[i] = f.proof;
        }
    }

    function _stake2(address who, uint256 amount) internal {
        stakeToken2.mint(address(this), amount);
        stakeToken2.approve(address(staking2), amount);
        staking2.deposit(who, amount);
    }

    // ================================================================ properties

    /// What the handler booked, read in a few calls (the properties run after every call of every run).
    struct Books {
        RequestView[] requests;
        MarketConfig[] markets;
        address[] accounts;
        address[] tokens;
        address[] provers;
        NativeStaking[] stakings;
    }

    /// The records of the signed paths and the fast lane, for the sweeps at the end of every run (_checkRecords). Per
    /// account and token arrays are indexed account * tokens + token.
    struct FastBooks {
        SignedView[] signed;
        FastPayment[] payments;
        address[] requesters;
        uint256[] credited;
        uint256[] withdrawn;
        uint256[] escrowed;
        uint256[] fastPaid;
        uint256[] inflow;
        uint256[] outflow;
        /// Measured around every fast-lane call.
        uint256[] fastCredit;
        uint256[] fastDebit;
        /// Summed from the records in one pass (_sumRecords): escrow taken from each account's deposit by its own
        /// requests, fast-lane payments by each account and to each account.
        uint256[] escrowOfOwnRequests;
        uint256[] paidBy;
        uint256[] paidTo;
    }

    function _books() internal view returns (Books memory b) {
        b.requests = handler.requestViews();
        b.markets = handler.marketConfigs();
        (b.accounts, b.tokens, b.provers, b.stakings) = handler.actors();
    }

    function _fastBooks(Books memory b) internal view returns (FastBooks memory f) {
        f.signed = handler.signedViews();
        f.payments = handler.fastPayments();
        f.requesters = handler.requesterList();
        (f.credited, f.withdrawn, f.escrowed, f.fastPaid, f.inflow, f.outflow) = handler.ghostLedger();
        (f.fastCredit, f.fastDebit) = handler.measuredFastFlows();
        _sumRecords(b, f);
    }

    /// One pass over the requests and the fast payments: per account and token, the escrow its own requests took
    /// from its deposit (each at most the request's maxReward), what it paid and what it was paid on the fast lane.
    function _sumRecords(Books memory b, FastBooks memory f) internal view {
        uint256 nt = b.tokens.length;
        uint256 n = b.accounts.length * nt;
        (f.escrowOfOwnRequests, f.paidBy, f.paidTo) = (new uint256[](n), new uint256[](n), new uint256[](n));
        (address[] memory from, uint256[] memory escrows) = handler.escrowsFromDeposit();
        for (uint256 i; i < from.length; ++i) {
            assertLe(escrows[i], b.requests[i].maxReward, "escrow from deposit <= the request's maxReward");
            uint256 t = _index(b.tokens, address(b.markets[b.requests[i].market].payToken));
            f.escrowOfOwnRequests[_index(b.accounts, from[i]) * nt + t] += escrows[i];
        }
        for (uint256 i; i < f.payments.length; ++i) {
            FastPayment memory p = f.payments[i];
            uint256 t = _index(b.tokens, p.token);
            f.paidBy[_index(b.accounts, p.requester) * nt + t] += p.price;
            f.paidTo[_index(b.accounts, p.paidTo) * nt + t] += p.price;
        }
    }

    function _checkAll() internal view {
        Books memory b = _books();
        _assertTokenBalanceEqualsEscrowPlusClaimable(b);
        _assertPaidAtMostOnceAndNeverWhenSlashed(b);
        _assertLockedStakeMatchesRunningTasks(b);
        _assertPenaltySplitsExactly(b);
        _assertCompensationOnlyWithAnActiveEnclaveKey(b);
        _assertRequesterNeverEndsAhead(b);
        _assertDueSlashIsEnforceable(b);
        _assertOnlyTheMarketplaceMovesNativeStake(b);
        _assertSignedPathsAddUp(b);
    }

    /// The sweeps over every record of the signed paths and the fast lane, at the end of every run (afterInvariant)
    /// and in the fixed walks. Each record is immutable once made and what they check cannot be undone (a created
    /// request's slot never returns to None; a use, an escrow, a payment stays booked), so a violation at any call is
    /// still one at the end of its run; every call also checks the records it makes as it makes them (FastLaneHandler
    /// measures every fast-lane call).
    function _checkRecords() internal view {
        Books memory b = _books();
        FastBooks memory f = _fastBooks(b);
        _assertSignedRequestUsedAtMostOnce(f);
        _assertDepositsDecreaseOnlyAsAllowed(b, f);
        _assertFastLanePaysOnlyTheSignedProver(b, f);
    }

    /// The marketplace holds, per token, exactly the escrow of live requests plus every claimable balance, and every
    /// balance is the one the handler's books predict (fast-lane payments included: the price leaves the requester's
    /// balance and reaches the prover's reward address).
    function _assertTokenBalanceEqualsEscrowPlusClaimable(Books memory b) internal view {
        (uint256[][] memory booked, uint256[] memory escrow) = handler.ghostBalances();
        uint256[] memory live = new uint256[](b.tokens.length);
        for (uint256 i; i < b.requests.length; ++i) {
            RequestView memory r = b.requests[i];
            if (r.status != RequestStatus.Open && r.status != RequestStatus.Assigned) continue;
            live[_index(b.tokens, address(b.markets[r.market].payToken))] += r.maxReward;
        }
        for (uint256 t; t < b.tokens.length; ++t) {
            uint256 claims;
            for (uint256 a; a < b.accounts.length; ++a) {
                uint256 balance = marketplace.balanceOf(b.accounts[a], b.tokens[t]);
                assertEq(balance, booked[a][t], "claimable balance as booked");
                claims += balance;
            }
            assertEq(live[t], escrow[t], "escrow of live requests");
            assertEq(DevToken(b.tokens[t]).balanceOf(address(marketplace)), escrow[t] + claims, "escrow + claims");
        }
    }

    /// After every call, the signed paths' and the fast lane's running totals against the contract (cheap: the
    /// properties run after every call; _checkRecords sweeps the records behind them at the end of every run, and
    /// FastLaneHandler checks each fast-lane call's exact effect on every balance, stake and holding as it makes it):
    /// - per token, the marketplace holds exactly what entered (deposits, escrow pulled at createRequest, slashed
    ///   stake) less what left (withdrawals): with every balance as booked, fast-lane payments included, its payments
    ///   move money only inside the marketplace, and its measured credits equal its measured debits;
    /// - the requesters' nonce bitmaps are exactly the books' (a bit per use on any path, or invalidation): with every
    ///   use predicted (a spent nonce is refused on every path), a signed request is used at most once;
    /// - no fast-lane call moved native stake (staked, locked or unbonding), compute in use or token holdings.
    function _assertSignedPathsAddUp(Books memory b) internal view {
        FastTotals memory x = handler.fastTotals();
        for (uint256 t; t < b.tokens.length; ++t) {
            assertEq(
                DevToken(b.tokens[t]).balanceOf(address(marketplace)),
                x.inflow[t] - x.outflow[t],
                "tokens in - tokens out"
            );
            assertEq(x.fastCredit[t], x.fastDebit[t], "fast-lane credits == fast-lane debits");
        }
        for (uint256 q; q < x.requesters.length; ++q) {
            for (uint256 w; w <= x.lastWordPos[q]; ++w) {
                assertEq(
                    ISignedRequests(address(marketplace)).nonceBitmap(x.requesters[q], w),
                    x.nonceWords[q][w],
                    "nonce bitmap as booked"
                );
            }
        }
        assertEq(x.sideEffects, 0, "a fast-lane call moved stake, compute or tokens");
    }

    /// A signed request is used at most once across every path (assignSigned, postSignedRequest, fulfilSigned and
    /// fulfilSignedBatch): each pooled request has at most one use, and one exactly when its nonce went to a use (the
    /// nonce bitmaps are checked after every call, _assertSignedPathsAddUp). A request paid on the fast lane, or
    /// invalidated, has no slot: its id was never RequestCreated (a created id's slot never returns to None; the
    /// requests the matcher's batch or a poster used have theirs, as _assertPaidAtMostOnceAndNeverWhenSlashed checks).
    /// Each fast payment is its request's one use.
    function _assertSignedRequestUsedAtMostOnce(FastBooks memory f) internal view {
        for (uint256 i; i < f.signed.length; ++i) {
            SignedView memory e = f.signed[i];
            assertLe(e.uses, 1, "a signed request used twice");
            bool used = e.spent == Spent.Assigned || e.spent == Spent.Posted || e.spent == Spent.Fast;
            assertEq(e.uses, used ? 1 : 0, "uses == nonce spent by a use");
            if (e.spent == Spent.Fast || e.spent == Spent.Invalidated) {
                assertEq(uint8(marketplace.requestStatus(e.id)), uint8(RequestStatus.None), "never created");
            }
        }
        for (uint256 i; i < f.payments.length; ++i) {
            SignedView memory e = f.signed[f.payments[i].entry];
            assertEq(uint8(e.spent), uint8(Spent.Fast), "a fast payment is its request's use");
            assertEq(e.id, f.payments[i].requestId, "fast payment's request");
            assertEq(e.requester, f.payments[i].requester, "fast payment's requester");
            assertEq(e.nonce, f.payments[i].nonce, "fast payment's nonce");
        }
    }

    /// A requester's deposit goes down only through its own withdrawals, the escrow of its own requests (the part of
    /// an on-chain request's escrow taken from its balance, a used signed request's whole maxReward; each at most the
    /// request's maxReward), and fast-lane payments of at most the request's maxReward: per account and token, its
    /// booked balance (the contract's, as checked above) is its credits less exactly those three, the escrow is what
    /// its own requests took, and its fast-lane debits, booked and measured, are exactly its payments. Nobody but a
    /// requester is ever escrowed or pays on the fast lane.
    function _assertDepositsDecreaseOnlyAsAllowed(Books memory b, FastBooks memory f) internal view {
        (uint256[][] memory booked,) = handler.ghostBalances();
        for (uint256 i; i < f.payments.length; ++i) {
            assertLe(f.payments[i].price, f.payments[i].maxReward, "fast price <= the request's maxReward");
        }
        uint256 nt = b.tokens.length;
        for (uint256 k; k < b.accounts.length * nt; ++k) {
            assertEq(
                booked[k / nt][k % nt],
                f.credited[k] - f.withdrawn[k] - f.escrowed[k] - f.fastPaid[k],
                "balance == credits - withdrawals - escrow - fast payments"
            );
            assertEq(f.escrowed[k], f.escrowOfOwnRequests[k], "escrow debits == its own requests' escrow");
            assertEq(f.fastPaid[k], f.paidBy[k], "fast debits == its fast payments");
            assertEq(f.fastDebit[k], f.paidBy[k], "measured fast debits == its fast payments");
            if (!_listed(f.requesters, b.accounts[k / nt])) {
                assertEq(f.escrowed[k] + f.fastPaid[k] + f.fastDebit[k], 0, "only requesters pay");
            }
        }
    }

    /// The fast lane pays nobody but the prover the matcher signed for: each payment went to that prover's reward
    /// address, and per account and token the measured fast-lane credits are exactly the payments to it. No fast-lane
    /// call touched native stake (staked, locked or unbonding, at any source), compute in use or token holdings.
    function _assertFastLanePaysOnlyTheSignedProver(Books memory b, FastBooks memory f) internal view {
        address[] memory rewards = handler.rewardAddresses();
        for (uint256 i; i < f.payments.length; ++i) {
            FastPayment memory p = f.payments[i];
            assertEq(p.paidTo, rewards[_index(b.provers, p.prover)], "paid to the signed prover's reward address");
        }
        for (uint256 k; k < f.paidTo.length; ++k) {
            assertEq(f.fastCredit[k], f.paidTo[k], "measured fast credits == payments to the account");
        }
        assertEq(handler.fastSideEffects(), 0, "a fast-lane call moved stake, compute or tokens");
    }

    function _listed(address[] memory list, address a) internal pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == a) return true;
        }
        return false;
    }

    /// No request ends twice: a prover is paid at most once and never for a slashed task, no request nobody can
    /// prove is ever fulfilled, and every request's stored status is the one the books hold.
    function _assertPaidAtMostOnceAndNeverWhenSlashed(Books memory b) internal view {
        for (uint256 i; i < b.requests.length; ++i) {
            RequestView memory r = b.requests[i];
            assertEq(uint8(marketplace.requestStatus(r.id)), uint8(r.status), "request status as booked");
            assertLe(r.endings, 1, "ended once");
            assertFalse(r.paid && r.slashed, "paid and slashed");
            if (r.paid) {
                assertTrue(r.status == RequestStatus.Fulfilled || r.status == RequestStatus.InputsRejected);
            }
            if (r.slashed) assertEq(uint8(r.status), uint8(RequestStatus.Slashed));
            if (r.status == RequestStatus.Fulfilled) assertTrue(r.provable, "an unprovable request was fulfilled");
        }
    }

    /// Per stake source and prover, locked stake equals the stake of its running tasks (never more than staked),
    /// and each prover's compute in use equals its running tasks' compute.
    function _assertLockedStakeMatchesRunningTasks(Books memory b) internal view {
        (uint256[][] memory stakeSum,, uint256[] memory compute) = _running(b);
        for (uint256 s; s < b.stakings.length; ++s) {
            for (uint256 p; p < b.provers.length; ++p) {
                (uint128 staked, uint128 locked) = b.stakings[s].stakeOf(b.provers[p]);
                assertEq(locked, stakeSum[s][p], "locked stake == running tasks' stake");
                assertLe(locked, staked, "locked <= staked");
            }
        }
        for (uint256 p; p < b.provers.length; ++p) {
            assertEq(registry.prover(b.provers[p]).computeInUse, compute[p], "compute in use == running tasks'");
        }
    }

    /// Each slash's penalty splits exactly into requester compensation, slasher reward and the treasury's share (the
    /// TaskSlashed fields and the measured treasury credit), the stake source lost exactly the penalty, and the sums
    /// over all slashes agree per stake source with the stake the books saw slashed.
    function _assertPenaltySplitsExactly(Books memory b) internal view {
        SlashRecord[] memory slashes = handler.slashRecords();
        (,, uint256[] memory slashed) = handler.stakeFlows();
        uint256[] memory penalties = new uint256[](b.stakings.length);
        uint256[] memory shares = new uint256[](b.stakings.length);
        for (uint256 i; i < slashes.length; ++i) {
            SlashRecord memory r = slashes[i];
            MarketConfig memory m = b.markets[r.market];
            assertEq(r.compensation + r.slasherReward + r.treasuryShare, r.penalty, "three shares == penalty");
            assertEq(r.penalty, m.penalty, "the market's penalty");
            assertEq(r.stakeTaken, r.penalty, "stake taken == penalty");
            uint256 s = _index(b.stakings, m.staking);
            penalties[s] += r.penalty;
            shares[s] += r.compensation + r.slasherReward + r.treasuryShare;
        }
        for (uint256 s; s < penalties.length; ++s) {
            assertEq(shares[s], penalties[s], "sum of shares == sum of penalties");
            assertEq(penalties[s], slashed[s], "slashed stake as booked");
        }
    }

    /// Compensation and slasher reward are paid only when the slashed prover held an active enclave key in the
    /// market at slash time (it could have attested unprovable inputs instead), and then at the market's rates.
    function _assertCompensationOnlyWithAnActiveEnclaveKey(Books memory b) internal view {
        SlashRecord[] memory slashes = handler.slashRecords();
        for (uint256 i; i < slashes.length; ++i) {
            SlashRecord memory r = slashes[i];
            if (!r.enclaveActive) {
                assertEq(r.compensation, 0, "compensation without an enclave path");
                assertEq(r.slasherReward, 0, "slasher reward without an enclave path");
            } else {
                assertEq(r.market, handler.TEE_MARKET(), "enclave keys serve the TEE-path market only");
                assertEq(r.compensation, r.penalty * b.markets[r.market].compensationBps / 10_000);
                assertEq(r.slasherReward, r.penalty * SLASHER_REWARD_BPS / 10_000);
            }
        }
    }

    /// A requester never ends a request with more than it escrowed unless the prover failed a request it could have
    /// settled. Books per request (RequestModel): `payReceived` is every pay-token credit to its refund address from
    /// it (cancel refund, the unpaid part of the escrow, the escrow a slash returns), `stakeReceived` the
    /// compensation to its refund address plus the slasher reward when the requester or its refund address slashed.
    /// The requester escrowed `maxReward` pay tokens and no stake tokens, so it is ahead when pay credits exceed the
    /// escrow or any stake token came back. A prover could have settled when a valid proof exists (provable), or
    /// when it held an active enclave key in the market at slash time and so could have attested the inputs
    /// unprovable (rejectInputs) instead of missing its deadline: only then is its failure paid to the requester.
    /// For an unprovable request without that path the requester gets at most its escrow, whoever slashes.
    function _assertRequesterNeverEndsAhead(Books memory b) internal pure {
        for (uint256 i; i < b.requests.length; ++i) {
            RequestView memory r = b.requests[i];
            assertLe(r.payReceived, r.maxReward, "pay credits <= escrow");
            if (r.payReceived > r.maxReward || r.stakeReceived != 0) {
                assertTrue(r.slashed && r.proverCouldSettle, "requester ahead, yet no prover failed");
            }
            if (!r.provable && !r.proverCouldSettle) assertEq(r.stakeReceived, 0, "unprovable request paid a profit");
        }
    }

    /// A due slash is always enforceable for the market's penalty: at each running task's stake source, its prover's
    /// locked stake covers the stake (and so the penalty) of all its running tasks there, within its staked amount
    /// (stake cannot start unbonding while locked). `afterInvariant` also enforces every due slash.
    function _assertDueSlashIsEnforceable(Books memory b) internal view {
        (uint256[][] memory stakeSum, uint256[][] memory penaltySum,) = _running(b);
        for (uint256 s; s < b.stakings.length; ++s) {
            for (uint256 p; p < b.provers.length; ++p) {
                if (stakeSum[s][p] == 0) continue;
                (uint128 staked, uint128 locked) = b.stakings[s].stakeOf(b.provers[p]);
                assertGe(locked, stakeSum[s][p], "locked covers the running tasks' stake");
                assertGe(stakeSum[s][p], penaltySum[s][p], "stake covers the penalties");
                assertLe(locked, staked, "locked stake is staked");
            }
        }
    }

    /// Native stake moves only through the marketplace: each source's token balance is exactly its provers' staked
    /// plus unbonding stake, which is what was deposited less withdrawals and the penalties the marketplace took.
    function _assertOnlyTheMarketplaceMovesNativeStake(Books memory b) internal view {
        (uint256[][] memory staked, uint256[][] memory locked, uint256[][] memory unbonding) = handler.ghostStakes();
        (uint256[] memory deposited, uint256[] memory withdrawn, uint256[] memory slashed) = handler.stakeFlows();
        for (uint256 s; s < b.stakings.length; ++s) {
            NativeStaking source = b.stakings[s];
            uint256 held;
            for (uint256 p; p < b.provers.length; ++p) {
                (uint128 stakedNow, uint128 lockedNow) = source.stakeOf(b.provers[p]);
                (uint128 unbondingNow,) = source.unbondingOf(b.provers[p]);
                assertEq(stakedNow, staked[s][p], "staked as booked");
                assertEq(lockedNow, locked[s][p], "locked as booked");
                assertEq(unbondingNow, unbonding[s][p], "unbonding as booked");
                held += uint256(stakedNow) + unbondingNow;
            }
            uint256 balance = DevToken(source.stakeToken()).balanceOf(address(source));
            assertEq(balance, held, "source balance == staked + unbonding");
            assertEq(balance, deposited[s] - withdrawn[s] - slashed[s], "deposits - withdrawals - penalties");
        }
    }

    /// Stake and penalties of the running (Assigned) tasks per stake source and prover, and compute per prover.
    function _running(Books memory b)
        internal
        pure
        returns (uint256[][] memory stakeSum, uint256[][] memory penaltySum, uint256[] memory compute)
    {
        stakeSum = new uint256[][](b.stakings.length);
        penaltySum = new uint256[][](b.stakings.length);
        for (uint256 s; s < b.stakings.length; ++s) {
            stakeSum[s] = new uint256[](b.provers.length);
            penaltySum[s] = new uint256[](b.provers.length);
        }
        compute = new uint256[](b.provers.length);
        for (uint256 i; i < b.requests.length; ++i) {
            RequestView memory r = b.requests[i];
            if (r.status != RequestStatus.Assigned) continue;
            MarketConfig memory m = b.markets[r.market];
            uint256 s = _index(b.stakings, m.staking);
            uint256 p = _index(b.provers, r.prover);
            stakeSum[s][p] += m.stakePerTask;
            penaltySum[s][p] += m.penalty;
            compute[p] += r.compute;
        }
    }

    function _index(address[] memory list, address a) internal pure returns (uint256) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == a) return i;
        }
        revert("not listed");
    }

    function _index(NativeStaking[] memory list, NativeStaking a) internal pure returns (uint256) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == a) return i;
        }
        revert("not listed");
    }
}

/// @notice The marketplace's money, stake and slashing properties under random lifecycles (see MarketplaceHandler).
contract MarketplaceInvariantTest is MarketplaceInvariantFixture {
    function setUp() public override {
        super.setUp();
        targetContract(address(handler));
        // Weights (a selector listed k times is picked k times as often): lifecycle steps first.
        bytes4[] memory actions = new bytes4[](40);
        uint256 n;
        n = _weigh(actions, n, MarketplaceHandler.createRequest.selector, 3);
        n = _weigh(actions, n, MarketplaceHandler.assignBatch.selector, 3);
        n = _weigh(actions, n, MarketplaceHandler.signedRequest.selector, 3);
        n = _weigh(actions, n, MarketplaceHandler.warp.selector, 3);
        n = _weigh(actions, n, MarketplaceHandler.fulfil.selector, 2);
        n = _weigh(actions, n, MarketplaceHandler.fulfilBatch.selector, 2);
        n = _weigh(actions, n, MarketplaceHandler.rejectInputs.selector, 2);
        n = _weigh(actions, n, MarketplaceHandler.slash.selector, 2);
        n = _weigh(actions, n, MarketplaceHandler.stake.selector, 2);
        n = _weigh(actions, n, MarketplaceHandler.claim.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.claimPrivate.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.releaseInputKey.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.abandonUnkeyedClaim.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.cancel.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.deposit.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.withdraw.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.listing.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.leave.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.membership.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.intrude.selector, 1);
        n = _weigh(actions, n, MarketplaceHandler.revokeEnclaveKey.selector, 1);
        n = _weigh(actions, n, FastLaneHandler.fulfilSigned.selector, 2);
        n = _weigh(actions, n, FastLaneHandler.fulfilSignedBatch.selector, 2);
        n = _weigh(actions, n, FastLaneHandler.replaySigned.selector, 1);
        n = _weigh(actions, n, FastLaneHandler.invalidateSignedNonces.selector, 1);
        assertEq(n, actions.length);
        targetSelector(FuzzSelector({addr: address(handler), selectors: actions}));
    }

    function _weigh(bytes4[] memory actions, uint256 n, bytes4 selector, uint256 weight)
        internal
        pure
        returns (uint256)
    {
        for (uint256 i; i < weight; ++i) {
            actions[n++] = selector;
        }
        return n;
    }

    /// At the end of every run, every task still assigned is slashed once due: each slash goes through for the
    /// market's penalty, and the properties still hold afterwards; then every record of the signed paths and the fast
    /// lane is swept (_checkRecords).
    function afterInvariant() public {
        handler.slashEveryDueTask();
        _checkAll();
        _checkRecords();
    }

    // Forge runs each invariant_ function as its own campaign (256 runs x 128 calls under the deep profile), and the
    // calls, real Groth16 verifications among them, are where the time goes. One campaign checks every property after
    // every call: each property sees as many call sequences as it would in a campaign of its own, at a quarter of the
    // cost of four. A failure names its property in the assertion message. afterInvariant checks them all again at
    // the end of every run, once every due task has been slashed.

    /// Every property of _checkAll after every call:
    /// - money: per token, the marketplace holds exactly the escrow of live requests plus every claimable balance
    ///   (each as booked, fast-lane payments included), and exactly what entered less what left; each request ends
    ///   once, its prover paid at most once and never when slashed;
    /// - signed requests: each used at most once across assignSigned, postSignedRequest and the fast lane (the nonce
    ///   bitmaps as booked; no fast-lane id ever created, swept at the end of every run);
    /// - deposits: a requester's balance goes down only by its own withdrawals, its own requests' escrow and fast-lane
    ///   payments of at most the request's maxReward; the fast lane pays only the signed prover's reward address and
    ///   moves no stake, compute or token (measured around every fast-lane call; the per-record parts are swept at
    ///   the end of every run, _checkRecords);
    /// - stake: locked native stake equals the running tasks' stake and compute in use their compute; every due slash
    ///   is enforceable for its market's penalty; only the marketplace moves native stake;
    /// - slashes: each penalty splits exactly into compensation, slasher reward and treasury share, and compensation
    ///   and slasher reward are paid only when the prover held an active enclave key in the market at slash time;
    /// - the requester never ends ahead unless a prover failed a provable request (_assertRequesterNeverEndsAhead).
    function invariant_moneyStakeAndSlashesAddUp() public view {
        _checkAll();
    }

    /// The random campaign cannot promise that a given run reaches every ending, so this fixed walk shows that the
    /// handler does (fulfil, fulfilBatch, rejectInputs, slash with and without an enclave path, claim, cancel,
    /// withdraw (part, then the rest), leave, deregistration, unbond, a batch item skipped for a changed listing) and that the properties hold at each
    /// step, i.e. they are not true merely because nothing happened.
    function test_handlerReachesEveryEnding() public {
        // Fulfil: a provable request in market A, matcher-assigned; a wrong proof is refused first.
        uint256 a = _post(0, 0, 1); // flags 1: provable, alice, refunds to herself
        handler.assignBatch(a, 0, 0, 0);
        handler.fulfil(a, 11);
        assertEq(handler.fulfilments(), 0);
        handler.fulfil(a, 0);
        assertEq(handler.fulfilments(), 1);
        _checkAll();

        // Signed requests: assigned from the matcher's batch, replayed within a batch (skipped), posted on chain.
        handler.signedRequest(0, 0, 3 | (1 << 8), 10e18, 600, 0);
        assertEq(handler.signedAssigned(), 1);
        handler.signedRequest(0, 1, 1 | (1 << 8), 10e18, 600, 1);
        assertEq(handler.signedAssigned(), 2);
        assertEq(handler.signedSkips(), 1);
        handler.signedRequest(1, 2, 0 | (1 << 8), 10e18, 600, 0);
        assertEq(handler.signedPosted(), 1);
        _checkAll();

        // A batch of two in market B where the first item's prover raised its price after the matcher signed:
        // that item is skipped (ListingChanged), the other assigned; then re-matched and fulfilled in a batch.
        uint256 b1 = _post(1, 1, 1);
        _post(1, 2, 1);
        handler.assignBatch(b1, 0, 1, 12);
        assertEq(handler.listingChangedSkips(), 1);
        assertEq(handler.matcherAssignments(), 2);
        handler.assignBatch(b1, 0, 0, 0);
        handler.fulfilBatch(b1, 1, 0);
        assertEq(handler.batchFulfilments(), 1);
        _checkAll();

        // rejectInputs: an unprovable request in the TEE-path market, its enclave attests it.
        uint256 t1 = _post(2, 3, 0); // flags 0: unprovable, alice
        handler.assignBatch(t1, 0, 0, 0);
        handler.rejectInputs(t1, 0);
        assertEq(handler.rejections(), 1);
        _checkAll();

        // Slash with an enclave path: the prover could have rejected the unprovable inputs but let the deadline pass.
        uint256 t2 = _post(2, 4, 0);
        handler.assignBatch(t2, 0, 0, 0);
        handler.warp(11, t2);
        handler.slash(t2, 0, 0); // alice slashes her own request
        assertEq(handler.slashesWithEnclave(), 1);
        RequestModel memory lapsed = handler.requestModel(t2);
        assertEq(lapsed.payReceived, lapsed.record.maxReward);
        assertGt(lapsed.stakeReceived, 0, "compensated: the prover could have rejected the inputs");
        assertTrue(lapsed.proverCouldSettle);
        _checkAll();

        // Slash without an enclave path: an unprovable request in market A; the requester gets exactly its escrow.
        uint256 u = _post(0, 5, 0);
        handler.assignBatch(u, 0, 0, 0);
        handler.warp(11, u);
        handler.slash(u, 0, 0);
        assertEq(handler.slashesWithoutEnclave(), 1);
        RequestModel memory r = handler.requestModel(u);
        assertEq(r.payReceived, r.record.maxReward);
        assertEq(r.stakeReceived, 0);
        _checkAll();

        // Claim after the fallback delay, then fulfil.
        uint256 c = _post(0, 6, 1);
        handler.warp(9, c);
        handler.claim(c, 0, 0);
        assertEq(handler.claims(), 1);
        handler.fulfil(c, 0);
        _checkAll();

        // Cancel after the matching expiry.
        uint256 x = _post(1, 7, 1);
        handler.warp(6, x);
        handler.cancel(x, 0);
        assertEq(handler.cancels(), 1);
        _checkAll();

        // Withdraw part of a balance, refuse more than is left, then withdraw the rest.
        handler.withdraw(0, 8, 1);
        assertEq(handler.withdrawals(), 1);
        assertEq(handler.partialWithdrawals(), 1);
        _checkAll();
        handler.withdraw(0, 24, 0);
        assertEq(handler.withdrawals(), 1);
        _checkAll();
        handler.withdraw(0, 0, 0);
        assertEq(handler.withdrawals(), 2);
        assertEq(handler.partialWithdrawals(), 1);
        _checkAll();

        // Leave market A after the exit delay, then unbond stake.
        handler.leave(2, 0, 0);
        handler.warp(14, 0);
        handler.leave(2, 0, 2);
        assertEq(handler.leavesCompleted(), 1);
        // With no listing left and no task running, prover 2 deregisters and registers again.
        handler.leave(2, 2, 0);
        handler.warp(14, 0);
        handler.leave(2, 2, 2);
        handler.membership(2, 0, 0);
        assertEq(handler.deregistrations(), 1);
        handler.membership(2, 1, 2);
        assertTrue(registry.prover(ps[2]).registered);
        handler.stake(2, 0, 1, 10e18);
        handler.warp(15, 0);
        handler.stake(2, 0, 3, 0);
        assertEq(handler.unbondsWithdrawn(), 1);
        _checkAll();
        assertEq(handler.predictedReverts(), 2); // the wrong proof, the withdrawal above the balance
        _checkRecords();
    }

    /// The fast lane through the handler's actions, each refusal it has, and the signed paths meeting it: a request
    /// paid on the fast lane is refused when posted or matched, a request whose fast assignment failed is still used
    /// on chain, and an unregistered prover is refused. The properties hold at each step.
    function test_handlerReachesFastLaneEndings() public {
        // Prover 0 (seed 0) is paid for a fresh request: inputs inline, behind a URI, inline and given again.
        handler.fulfilSigned(0, 0);
        handler.fulfilSigned(0, 5);
        handler.fulfilSigned(0, 6);
        assertEq(handler.fastPaid(), 3);
        _checkAllAndRecords();

        // Every refusal of fulfilSigned, predicted exactly (case | variant << 4, see FastLaneHandler.fulfilSigned).
        uint8[22] memory refused = [
            7, // a pooled request already paid: NonceUsed
            8, // another prover's assignment: NotAssignedProver
            8 | (3 << 4), // sent by a stranger: NotAssignedProver
            9, // FastAssignmentExpired
            10, // PriceAboveMaxReward
            11, // a non-matcher's signature: NotMatcher
            11 | (2 << 4), // a malformed signature (v = 29, no key recovers from it): NotMatcher(address(0))
            11 | (3 << 4), // the request changed after signing: NotMatcher (the recovered key)
            12, // signed by the other requester: BadRequesterSignature
            12 | (2 << 4), // PrivateInputsNotFast
            12 | (3 << 4), // UnknownMarket
            13, // InsufficientDeposit
            14, // another fixture's proof: InvalidProof
            14 | (1 << 4), // a byte flipped: InvalidProof
            14 | (2 << 4), // an unprovable request: InvalidProof
            14 | (3 << 4), // MalformedProof
            15, // other inputs given: WrongInputs
            15 | (2 << 4), // a URI request without its inputs (they must be given): WrongInputs
            // A malformed matcher signature beside another fault: the module's first failing check is the reason.
            9 | (1 << 4), // expired too: FastAssignmentExpired (the window is checked first)
            10 | (1 << 4), // priced above maxReward too: PriceAboveMaxReward (the price is checked first)
            12 | (1 << 4), // signed by the other requester too: NotMatcher(address(0)) (the requester's is checked later)
            13 | (1 << 4) // a deposit below the price too: NotMatcher(address(0)) (the deposit is checked later)
        ];
        for (uint256 i; i < refused.length; ++i) {
            handler.fulfilSigned(0, refused[i]);
        }
        assertEq(handler.fastRefused(), refused.length);
        assertEq(handler.fastPaid(), 3);
        bytes4[12] memory reasons = [
            ISignedRequests.NonceUsed.selector,
            IProofMarketplace.NotAssignedProver.selector,
            ISignedFulfilments.FastAssignmentExpired.selector,
            ISignedFulfilments.PriceAboveMaxReward.selector,
            IProofMarketplace.NotMatcher.selector,
            ISignedRequests.BadRequesterSignature.selector,
            ISignedFulfilments.PrivateInputsNotFast.selector,
            IProofMarketplace.UnknownMarket.selector,
            ISignedRequests.InsufficientDeposit.selector,
            IProofMarketplace.InvalidProof.selector,
            IVerifierAdapter.MalformedProof.selector,
            IProofMarketplace.WrongInputs.selector
        ];
        // How many of the calls above each refusal ends (the malformed matcher signatures beside another fault
        // count under the first check to fail).
        uint8[12] memory counts = [1, 2, 2, 2, 5, 1, 1, 1, 1, 3, 1, 2];
        for (uint256 i; i < reasons.length; ++i) {
            assertEq(handler.fastRefusals(reasons[i]), counts[i], "a refusal not reached as predicted");
        }
        _checkAllAndRecords();

        // A batch of five: paid; the same item again (skipped at settlement: its nonce was just spent); a proof with
        // a flipped byte; an expired assignment; a deposit below the price.
        handler.fulfilSignedBatch(0, _batchCode(_kinds5(0, 7, 14 | (1 << 4), 9, 13), false));
        assertEq(handler.fastBatchPaid(), 1);
        assertEq(handler.fastBatchSkips(), 4);
        assertEq(handler.fastSpendSkips(), 1);
        _checkAllAndRecords();

        // Two fresh requests in market B, answered by its Groth16BatchVerifier in one verifyBatch, with a pooled
        // request already paid and a non-matcher's assignment.
        uint256 seed = _batchSeed(0, 1);
        uint256 groups = handler.fastBatchVerifierGroups();
        vm.expectCall(batchVerifier, abi.encodePacked(IProofVerifier.verifyBatch.selector));
        handler.fulfilSignedBatch(seed, _batchCode(_kinds4(0, 0, 7 | (2 << 4), 11), false));
        assertEq(handler.fastBatchVerifierGroups(), groups + 1);
        assertEq(handler.fastBatchPaid(), 3);
        _checkAllAndRecords();

        // Two fresh requests of one requester in market A whose deposit is brought to one less than both prices:
        // both pass their checks, the second finds the deposit short once the first is paid.
        seed = _batchSeed(seed + 1, 0);
        handler.fulfilSignedBatch(seed, _batchCode(_kinds2(0, 0), true));
        assertEq(handler.fastBatchPaid(), 4);
        assertEq(handler.fastSpendSkips(), 2);
        _checkAllAndRecords();

        // A request paid on the fast lane, posted and then put in the matcher's batch: refused both times.
        handler.replaySigned(0, 0, 0);
        handler.replaySigned(0, 1, 0);
        assertEq(handler.replaysRefused(), 2);
        // A request whose fast assignment failed (never used) is posted on chain, its deposit topped up first.
        handler.replaySigned(0, 6, 0);
        assertEq(handler.replaysUsed(), 1);
        // A requester invalidates an unused one.
        handler.invalidateSignedNonces(0, 0);
        assertEq(handler.invalidations(), 1);
        _checkAllAndRecords();

        // An empty batch; then prover 2 leaves both its markets and deregisters: refused, single and batch.
        handler.fulfilSignedBatch(0, 63 << 3);
        handler.leave(2, 0, 0);
        handler.leave(2, 2, 0);
        handler.warp(14, 0);
        handler.leave(2, 0, 2);
        handler.leave(2, 2, 2);
        handler.membership(2, 0, 0);
        assertEq(handler.deregistrations(), 1);
        handler.fulfilSigned(2, 0);
        handler.fulfilSignedBatch(2, _batchCode(_kinds2(0, 0), false));
        assertEq(handler.fastRefusals(ISignedFulfilments.ProverNotRegistered.selector), 2);
        _checkAllAndRecords();
    }

    function _checkAllAndRecords() internal view {
        _checkAll();
        _checkRecords();
    }

    /// A fulfilSignedBatch code for `kinds` (case | variant << 4 per item).
    function _batchCode(uint256[] memory kinds, bool tight) internal pure returns (uint256 code) {
        code = (kinds.length - 2) | (tight ? 12 : 0);
        for (uint256 i; i < kinds.length; ++i) {
            code |= kinds[i] << (9 + 6 * i);
        }
    }

    /// The first seed from `from` for prover 0 whose batch items 0 and 1, when fresh, are requests of one requester
    /// in market index `mi` (FastLaneHandler: item i's word is keccak256(seed, i); its market is the word % 3, its
    /// requester bit 34).
    function _batchSeed(uint256 from, uint256 mi) internal pure returns (uint256 seed) {
        for (seed = from;; ++seed) {
            if (seed % 3 != 0) continue;
            uint256 w0 = uint256(keccak256(abi.encode(seed, uint256(0))));
            uint256 w1 = uint256(keccak256(abi.encode(seed, uint256(1))));
            if (w0 % 3 == mi && w1 % 3 == mi && (w0 >> 34) & 1 == (w1 >> 34) & 1) return seed;
        }
    }

    function _kinds2(uint256 a, uint256 b) internal pure returns (uint256[] memory k) {
        k = new uint256[](2);
        (k[0], k[1]) = (a, b);
    }

    function _kinds4(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[] memory k) {
        k = new uint256[](4);
        (k[0], k[1], k[2], k[3]) = (a, b, c, d);
    }

    function _kinds5(uint256 a, uint256 b, uint256 c, uint256 d, uint256 e) internal pure returns (uint256[] memory k) {
        k = new uint256[](5);
        (k[0], k[1], k[2], k[3], k[4]) = (a, b, c, d, e);
    }

    /// The private fallback's endings through the handler's actions: claimed, keyed by the refund address (a
    /// stranger refused), fulfilled; and claimed, never keyed, not slashable, abandoned once the window closed.
    function test_handlerReachesPrivateClaimEndings() public {
        uint256 p = _post(0, 0, 1 | (1 << 24)); // provable, alice, refunds to herself, private inputs
        handler.warp(9, p); // the fallback opens
        handler.claimPrivate(p, 0, 0);
        assertEq(handler.privateClaims(), 1);
        handler.releaseInputKey(p, 3);
        assertEq(handler.keysReleased(), 0);
        handler.releaseInputKey(p, 0);
        assertEq(handler.keysReleased(), 1);
        handler.fulfil(p, 0);
        assertEq(handler.fulfilments(), 1);
        _checkAll();

        uint256 q = _post(0, 1, 1 | (1 << 24));
        handler.warp(9, q);
        handler.claimPrivate(q, 0, 0);
        assertEq(handler.privateClaims(), 2);
        handler.abandonUnkeyedClaim(q, 0);
        assertEq(handler.claimsAbandoned(), 0);
        handler.warp(13, q); // past the task deadline
        handler.slash(q, 0, 0);
        assertEq(handler.slashesWithoutEnclave() + handler.slashesWithEnclave(), 0);
        handler.abandonUnkeyedClaim(q, 0);
        assertEq(handler.claimsAbandoned(), 1);
        RequestModel memory r = handler.requestModel(q);
        assertEq(r.payReceived, r.record.maxReward);
        _checkAll();
        // The stranger's release, the early abandon, the slash of the unkeyed claim.
        assertEq(handler.predictedReverts(), 3);
        _checkRecords();
    }

    /// Posts through the handler and returns the request's index (the handler's pickers start there).
    function _post(uint256 marketIndex, uint256 fixture, uint256 flags) internal returns (uint256 index) {
        index = handler.requestCount();
        handler.createRequest(marketIndex, fixture, flags, 30e18, 900, 1 hours);
    }
}
