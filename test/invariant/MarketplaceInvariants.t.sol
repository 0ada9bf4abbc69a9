// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketplaceDigests} from "../utils/MarketplaceDigests.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";
import {CairnTest} from "../utils/CairnTest.sol";
import {ProofMarketplace} from "../../src/ProofMarketplace.sol";
import {ProverRegistry} from "../../src/ProverRegistry.sol";
import {NativeStaking} from "../../src/staking/NativeStaking.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {Listing} from "../../src/types/Prover.sol";
import {
    Assignment,
    Fulfilment,
    Inputs,
    MatchedRequest,
    Request,
    RequestParams,
    RequestStatus,
    Task
} from "../../src/types/Request.sol";

/// @notice Drives the marketplace through random lifecycles with real proofs and keeps ghost books.
contract MarketplaceHandler is CommonBase, StdCheats, StdUtils {
    ProofMarketplace internal immutable marketplace;
    ProverRegistry internal immutable registry;
    NativeStaking internal immutable staking;
    DevToken internal immutable payToken;
    DevToken internal immutable stakeToken;
    uint256 internal immutable matcherKey;
    uint256 internal immutable marketId;
    bytes[] internal inputs;
    bytes[] internal proofs;

    address[] public provers;
    address[] public accounts; // everyone who may hold a claimable balance
    uint256[] public requestIds;
    mapping(uint256 requestId => uint256 fixture) internal fixtureOf;
    mapping(uint256 requestId => Request) internal records;
    mapping(uint256 requestId => Task) internal tasks;

    mapping(uint256 requestId => uint256) public timesPaid;
    mapping(uint256 requestId => uint256) public timesSlashed;
    uint256 public escrowOpen; // ghost: escrow of Open and Assigned requests
    uint256 public calls;
    uint256 public fulfilments;
    uint256 public slashes;

    constructor(
        ProofMarketplace marketplace_,
        ProverRegistry registry_,
        NativeStaking staking_,
        DevToken payToken_,
        DevToken stakeToken_,
        uint256 matcherKey_,
        uint256 marketId_,
        bytes[] memory inputs_,
        bytes[] memory proofs_,
        address[] memory provers_,
        address[] memory accounts_
    ) {
        marketplace = marketplace_;
        registry = registry_;
        staking = staking_;
        payToken = payToken_;
        stakeToken = stakeToken_;
        matcherKey = matcherKey_;
        marketId = marketId_;
        inputs = inputs_;
        proofs = proofs_;
        provers = provers_;
        accounts = accounts_;
    }

    modifier counted() {
        ++calls;
        _;
    }

    function createRequest(uint256 fixture, uint96 maxReward, uint32 provingTime, uint32 window) external counted {
        fixture = bound(fixture, 0, inputs.length - 1);
        maxReward = uint96(bound(maxReward, 1e18, 100e18));
        // Bounds keep most requests matchable by some listed prover (listed 60-180 s) before they expire.
        provingTime = uint32(bound(provingTime, 180, 1 hours));
        window = uint32(bound(window, 10 minutes, 1 hours));
        address requester = accounts[fixture % accounts.length];
        RequestParams memory p;
        p.marketId = uint32(marketId);
        p.maxReward = maxReward;
        p.provingTime = provingTime;
        p.matchingExpiry = uint32(block.timestamp + window);
        p.deadline = p.matchingExpiry + provingTime;
        p.refundAddress = requester;
        p.publicInputs = Inputs({data: inputs[fixture], uri: "", digest: bytes32(0)});
        payToken.mint(requester, maxReward);
        vm.startPrank(requester);
        payToken.approve(address(marketplace), maxReward);
        uint256 id = marketplace.createRequest(p);
        vm.stopPrank();
        records[id] = Request({
            refundAddress: requester,
            maxReward: maxReward,
            createdAt: uint32(block.timestamp),
            matchingExpiry: p.matchingExpiry,
            provingTime: provingTime,
            inputsDigest: keccak256(abi.encodePacked(keccak256(inputs[fixture]), bytes32(0)))
        });
        requestIds.push(id);
        fixtureOf[id] = fixture;
        escrowOpen += maxReward;
    }

    /// The first request in `status` at or after a random position, so actions mostly hit live requests.
    function _pick(uint256 seed, RequestStatus status) internal view returns (uint256) {
        uint256 n = requestIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = requestIds[(seed % n + i) % n];
            if (marketplace.requestStatus(id) == status) return id;
        }
        return requestIds[seed % n];
    }

    /// Like _pick for open requests, preferring ones still inside (or, for cancel, past) their matching window.
    function _pickOpen(uint256 seed, bool expired) internal view returns (uint256) {
        uint256 n = requestIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = requestIds[(seed % n + i) % n];
            if (marketplace.requestStatus(id) != RequestStatus.Open) continue;
            if ((block.timestamp > records[id].matchingExpiry) == expired) return id;
        }
        return _pick(seed, RequestStatus.Open);
    }

    function assignByMatcher(uint256 requestSeed, uint256 proverSeed) external counted {
        if (requestIds.length == 0) return;
        uint256 id = _pickOpen(requestSeed, false);
        address prover = provers[proverSeed % provers.length];
        // The matcher signs the listing it matched on: the prover's terms as they are now.
        Listing memory l = registry.listing(prover, id >> 64);
        Assignment[] memory signed = new Assignment[](1);
        signed[0] = Assignment(id, prover, l.price, l.provingTime, "");
        MatchedRequest[] memory a = new MatchedRequest[](1);
        a[0] = MatchedRequest(id, prover, l.price, l.provingTime, records[id]);
        uint64 validUntil = uint64(block.timestamp);
        bytes32 digest = MarketplaceDigests.assignmentBatch(address(marketplace), signed, validUntil);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(matcherKey, digest);
        vm.recordLogs();
        marketplace.assign(a, new bytes[](0), validUntil, abi.encodePacked(r, s, v));
        _recordTasks();
    }

    function claim(uint256 requestSeed, uint256 proverSeed) external counted {
        if (requestIds.length == 0) return;
        uint256 id = _pickOpen(requestSeed, false);
        vm.recordLogs();
        vm.prank(provers[proverSeed % provers.length]);
        try marketplace.claim(id, records[id]) {} catch {}
        _recordTasks();
    }

    function fulfil(uint256 requestSeed, bool wrongProof) external counted {
        if (requestIds.length == 0) return;
        uint256 id = _pick(requestSeed, RequestStatus.Assigned);
        uint256 fixture = fixtureOf[id];
        bytes memory proof = wrongProof ? proofs[(fixture + 1) % proofs.length] : proofs[fixture];
        vm.prank(tasks[id].prover);
        try marketplace.fulfil(Fulfilment(id, records[id], tasks[id], inputs[fixture], bytes32(0), proof)) {
            ++timesPaid[id];
            ++fulfilments;
            escrowOpen -= records[id].maxReward;
        } catch {}
    }

    function slash(uint256 requestSeed) external counted {
        if (requestIds.length == 0) return;
        uint256 id = _pick(requestSeed, RequestStatus.Assigned);
        vm.prank(accounts[requestSeed % accounts.length]);
        try marketplace.slash(id, records[id], tasks[id]) {
            ++timesSlashed[id];
            ++slashes;
            escrowOpen -= records[id].maxReward;
        } catch {}
    }

    function cancel(uint256 requestSeed) external counted {
        if (requestIds.length == 0) return;
        uint256 id = _pickOpen(requestSeed, true);
        try marketplace.cancel(id, records[id]) {
            escrowOpen -= records[id].maxReward;
        } catch {}
    }

    function withdraw(uint256 accountSeed, bool stakeSide) external counted {
        address account = accounts[accountSeed % accounts.length];
        address token = stakeSide ? address(stakeToken) : address(payToken);
        vm.prank(account);
        try marketplace.withdraw(token, account) {} catch {}
    }

    function _recordTasks() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IProofMarketplace.TaskAssigned.selector) {
                (Task memory task,) = abi.decode(logs[i].data, (Task, bool));
                tasks[uint256(logs[i].topics[1])] = task;
            }
        }
    }

    function record(uint256 id) external view returns (Request memory) {
        return records[id];
    }

    function task(uint256 id) external view returns (Task memory) {
        return tasks[id];
    }

    function warp(uint32 seconds_) external counted {
        vm.warp(block.timestamp + bound(seconds_, 1, 1 hours));
    }

    function requestCount() external view returns (uint256) {
        return requestIds.length;
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function proverCount() external view returns (uint256) {
        return provers.length;
    }
}

contract MarketplaceInvariantTest is CairnTest {
    MarketplaceHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory ps = new address[](3);
        address[] memory accounts = new address[](6);
        for (uint256 i; i < 3; ++i) {
            ps[i] = makeAddr(string.concat("prover", vm.toString(i)));
            _registerProver(ps[i], uint32(1 + i));
            _list(ps[i], marketId, uint96(5e18 * (i + 1)), uint32(60 * (i + 1)), 1);
            _stake(ps[i], uint256(STAKE_PER_TASK) * (i + 1));
            accounts[i] = ps[i];
        }
        accounts[3] = requester;
        accounts[4] = stranger;
        accounts[5] = treasury;
        bytes[] memory ins = new bytes[](fixtures.length);
        bytes[] memory prs = new bytes[](fixtures.length);
        for (uint256 i; i < fixtures.length; ++i) {
            ins[i] = fixtures[i].publicInputs;
            prs[i] = fixtures[i].proof;
        }
        handler = new MarketplaceHandler(
            marketplace, registry, staking, payToken, stakeToken, matcherKey, marketId, ins, prs, ps, accounts
        );
        targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](8);
        actions[0] = MarketplaceHandler.createRequest.selector;
        actions[1] = MarketplaceHandler.assignByMatcher.selector;
        actions[2] = MarketplaceHandler.claim.selector;
        actions[3] = MarketplaceHandler.fulfil.selector;
        actions[4] = MarketplaceHandler.slash.selector;
        actions[5] = MarketplaceHandler.cancel.selector;
        actions[6] = MarketplaceHandler.withdraw.selector;
        actions[7] = MarketplaceHandler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: actions}));
    }

    /// The random campaign cannot promise that a given run settles a task, so this fixed walk shows that the
    /// handler reaches every ending (payment, rejected proof, slash, cancel, withdrawal) and that the invariants
    /// hold at each step, i.e. they are not true merely because nothing happened.
    function test_handlerReachesEveryEnding() public {
        handler.createRequest(0, 30e18, 600, 10 minutes);
        handler.assignByMatcher(0, 0);
        handler.fulfil(0, true); // wrong proof: refused
        assertEq(handler.fulfilments(), 0);
        handler.fulfil(0, false);
        assertEq(handler.fulfilments(), 1);
        _checkAll();

        handler.createRequest(1, 30e18, 600, 10 minutes);
        vm.warp(block.timestamp + FALLBACK_DELAY);
        handler.claim(1, 1);
        handler.warp(1 hours);
        handler.slash(1);
        assertEq(handler.slashes(), 1);
        _checkAll();

        handler.createRequest(2, 30e18, 600, 10 minutes);
        handler.warp(1 hours);
        handler.cancel(2);
        _checkAll();
        assertEq(handler.escrowOpen(), 0);
        address refunded = handler.accounts(2); // the third request's requester and refund address
        uint256 before = payToken.balanceOf(refunded);
        uint256 owed = marketplace.balanceOf(refunded, address(payToken));
        assertGe(owed, 30e18);
        handler.withdraw(2, false);
        assertEq(payToken.balanceOf(refunded), before + owed);
        assertEq(marketplace.balanceOf(refunded, address(payToken)), 0);
        _checkAll();
    }

    function _checkAll() internal view {
        invariant_tokenBalanceEqualsEscrowPlusClaimable();
        invariant_paidAtMostOnceAndNeverWhenSlashed();
        invariant_lockedStakeMatchesRunningTasks();
    }

    /// The marketplace holds exactly the escrow of live requests plus every claimable balance.
    function invariant_tokenBalanceEqualsEscrowPlusClaimable() public view {
        uint256 payClaims;
        uint256 stakeClaims;
        for (uint256 i; i < handler.accountCount(); ++i) {
            address account = handler.accounts(i);
            payClaims += marketplace.balanceOf(account, address(payToken));
            stakeClaims += marketplace.balanceOf(account, address(stakeToken));
        }
        assertEq(payToken.balanceOf(address(marketplace)), handler.escrowOpen() + payClaims);
        assertEq(stakeToken.balanceOf(address(marketplace)), stakeClaims);
        // And the ghost escrow matches the stored requests.
        uint256 escrow;
        for (uint256 i; i < handler.requestCount(); ++i) {
            uint256 id = handler.requestIds(i);
            RequestStatus status = marketplace.requestStatus(id);
            if (status == RequestStatus.Open || status == RequestStatus.Assigned) {
                escrow += handler.record(id).maxReward;
            }
        }
        assertEq(escrow, handler.escrowOpen());
    }

    /// No task is paid twice, and a slashed task is never also paid.
    function invariant_paidAtMostOnceAndNeverWhenSlashed() public view {
        for (uint256 i; i < handler.requestCount(); ++i) {
            uint256 id = handler.requestIds(i);
            uint256 paid = handler.timesPaid(id);
            uint256 slashed = handler.timesSlashed(id);
            assertLe(paid, 1);
            assertLe(slashed, 1);
            assertLe(paid + slashed, 1);
            RequestStatus status = marketplace.requestStatus(id);
            if (paid == 1) assertEq(uint8(status), uint8(RequestStatus.Fulfilled));
            if (slashed == 1) assertEq(uint8(status), uint8(RequestStatus.Slashed));
        }
    }

    /// Locked stake never exceeds stake, and equals the stake of the tasks still running.
    function invariant_lockedStakeMatchesRunningTasks() public view {
        uint256[] memory running = new uint256[](handler.proverCount());
        uint256[] memory compute = new uint256[](handler.proverCount());
        for (uint256 i; i < handler.requestCount(); ++i) {
            uint256 id = handler.requestIds(i);
            if (marketplace.requestStatus(id) != RequestStatus.Assigned) continue;
            address p = handler.task(id).prover;
            for (uint256 j; j < running.length; ++j) {
                if (handler.provers(j) == p) {
                    ++running[j];
                    compute[j] += handler.task(id).compute;
                }
            }
        }
        for (uint256 j; j < running.length; ++j) {
            address p = handler.provers(j);
            (uint128 staked, uint128 locked) = staking.stakeOf(p);
            assertLe(locked, staked);
            assertEq(locked, running[j] * STAKE_PER_TASK);
            assertEq(registry.prover(p).computeInUse, compute[j]);
            assertLe(registry.prover(p).computeInUse, registry.prover(p).capacity);
        }
    }
}
