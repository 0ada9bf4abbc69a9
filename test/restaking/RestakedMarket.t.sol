// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {CairnTest} from "../utils/CairnTest.sol";
import {SlashInboxFixture} from "./SlashInbox.t.sol";
import {StakeTree} from "./StakeMirror.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {SlashInbox} from "../../src/restaking/SlashInbox.sol";
import {CairnNetworkMiddleware} from "../../src/restaking/CairnNetworkMiddleware.sol";
import {MarketParams} from "../../src/types/Market.sol";
import {RequestParams, RequestStatus} from "../../src/types/Request.sol";
import {SymbioticCore} from "../../script/symbiotic/SymbioticCore.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IVetoSlasher} from "@symbioticfi/core/src/interfaces/slasher/IVetoSlasher.sol";
import {ISlasher} from "@symbioticfi/core/src/interfaces/slasher/ISlasher.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {IStakeMirror} from "../../src/restaking/interfaces/IStakeMirror.sol";
import {ISlashExecutor} from "../../src/restaking/interfaces/ISlashExecutor.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";
import {SlashOutcome, SlashStatus} from "../../src/types/SlashOutcome.sol";
import {Slash} from "../../src/types/Slash.sol";

/// @notice The whole restaked-security path in one EVM (both "chains" side by side): stake deposited in a real
/// Symbiotic vault is read by the middleware at a capture, committed to the StakeMirror by a relayer quorum, proven
/// by the prover, locked by a marketplace task; the task misses its deadline, the marketplace slashes, the mirror
/// queues the slash, the relayers deliver it, and the vault's active stake drops by exactly the penalty; the outcome
/// (executed, or vetoed by a veto slasher's resolver) comes back to the mirror.
contract RestakedMarketTest is CairnTest, SlashInboxFixture {
    uint48 internal constant SHORT_VETO = 20 minutes;
    /// Relaying a slash and finalizing it on Ethereum.
    uint48 internal constant SLASH_DELAY = 1 days;

    StakeMirror internal stakeMirror;
    uint256 internal restakedMarket;

    function setUp() public override {
        super.setUp(); // marketplace (CairnTest)
        _setUpRegistry(); // attested relayer keys
        stakeMirror = new StakeMirror(owner, address(marketplace), teeRegistry, address(0xE7), 2, SLASH_DELAY);
        // The inbox accepts slashes from this mirror on this chain.
        sourceChainId = block.chainid;
        mirror = address(stakeMirror);
        _setUpInboxWithoutRegistry();
        vm.prank(owner);
        marketplace.setStakeSourceApproval(stakeMirror, true);
        MarketParams memory p = _marketParams();
        p.stakeSource = stakeMirror;
        p.stakePerTask = 200e18;
        p.slashPenalty = 50e18;
        restakedMarket = marketplace.createMarket(p);
        _registerProver(prover, 1);
        _list(prover, restakedMarket, PRICE, LISTED_TIME, 1);
    }

    function test_missedDeadlineSlashesTheRealVault() public {
        // 1. Ethereum: the middleware reads the stake at a capture in the past.
        uint48 capture = uint48(block.timestamp - 1);
        (CairnNetworkMiddleware.StakeEntry[] memory entries,) = middleware.stakesAt(capture, 0, 10);
        assertEq(entries.length, 1);
        assertEq(entries[0].prover, prover);
        assertEq(entries[0].stake, 1000e18);

        // 2. Relayers commit the snapshot to the mirror; the prover proves its leaf.
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, entries[0].vault, address(0xE7), entries[0].stake);
        leaves[1] = StakeTree.leaf(makeAddr("someone"), entries[0].vault, address(0xE7), 1e18);
        Snapshot memory snapshot = Snapshot(1, capture, middleware.slashingWindow(), StakeTree.root(leaves), 1001e18, 2);
        stakeMirror.commitSnapshot(snapshot, _relayerSignatures(stakeMirror.snapshotDigest(snapshot)));
        stakeMirror.proveStake(prover, entries[0].vault, entries[0].stake, StakeTree.proof(leaves, 0));
        assertEq(stakeMirror.availableStake(prover), 1000e18);

        // 3. A task backed by restaked stake is assigned and missed.
        RequestParams memory r = _requestParams(0);
        r.marketId = SafeCastLib.toUint32(restakedMarket);
        uint256 id = _post(r);
        _matcherAssign(id, prover);
        assertEq(stakeMirror.availableStake(prover), 800e18);
        vm.warp(uint256(tasks[id].deadline) + 1);

        // 4. Anyone slashes on the marketplace: the requester is refunded there, the penalty is queued for Ethereum.
        vm.recordLogs();
        vm.prank(stranger);
        _slash(id);
        Slash memory queued = _queuedSlash();
        assertEq(uint8(marketplace.requestStatus(id)), uint8(RequestStatus.Slashed));
        assertEq(marketplace.balanceOf(refundee, address(payToken)), MAX_REWARD);
        assertEq(queued.amount, 50e18);
        assertEq(queued.captureTimestamp, capture);
        assertEq(stakeMirror.availableStake(prover), 950e18, "the penalty stops backing tasks at once");

        // 5. Relayers deliver it to Ethereum: the real vault loses exactly the penalty, once.
        Slash[] memory batch = new Slash[](1);
        batch[0] = queued;
        bytes[] memory sigs = _relayerSignatures(inbox.batchDigest(batch));
        assertEq(inbox.deliver(batch, sigs), 1);
        assertEq(IVault(entries[0].vault).activeStake(), 950e18);
        assertEq(inbox.deliver(batch, sigs), 0);
        assertEq(IVault(entries[0].vault).activeStake(), 950e18);

        // 6. The outcome comes back once a snapshot captured after the execution is in: executed, for good; the leaf
        // the prover holds predates it, so the slashed collateral stays out.
        _reportExecuted(id, entries[0].vault, leaves);
    }

    /// Issue 11: the relayers commit a snapshot every few seconds and a request arrives before anyone proved the
    /// prover's leaf again; meanwhile the staker withdrew almost everything, so the newer snapshots show 10. The task
    /// is backed by the old leaf at its own capture, and its slash at that capture lands in full on the real vault
    /// (Symbiotic slashes pending withdrawals for the epoch).
    function test_requestAfterNewSnapshotsIsBackedByTheOldLeafAndItsSlashLands() public {
        uint48 capture = uint48(block.timestamp - 1);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vault, address(0xE7), 1000e18);
        leaves[1] = StakeTree.leaf(makeAddr("someone"), vault, address(0xE7), 1e18);
        _commit(1, capture, leaves);
        stakeMirror.proveStake(prover, vault, 1000e18, StakeTree.proof(leaves, 0));

        vm.warp(block.timestamp + 30);
        vm.prank(staker);
        IVault(vault).withdraw(staker, 990e18);
        for (uint64 epoch = 2; epoch <= 3; ++epoch) {
            vm.warp(block.timestamp + 30);
            uint48 later = uint48(block.timestamp - 1);
            (CairnNetworkMiddleware.StakeEntry[] memory entries,) = middleware.stakesAt(later, 0, 10);
            assertEq(entries[0].stake, 10e18, "the newer captures show the withdrawal");
            leaves[0] = StakeTree.leaf(prover, vault, address(0xE7), 10e18);
            _commit(epoch, later, leaves);
        }

        RequestParams memory r = _requestParams(0);
        r.marketId = SafeCastLib.toUint32(restakedMarket);
        uint256 id = _post(r);
        assertEq(_matcherAssign(id, prover), 1, "assigned on the epoch-1 leaf, before anyone proves epoch 3");
        (uint48 lockCapture,,) = stakeMirror.locks(id);
        assertEq(lockCapture, capture);
        assertEq(stakeMirror.availableStake(prover), 800e18);

        vm.warp(uint256(tasks[id].deadline) + 1);
        vm.recordLogs();
        _slash(id);
        Slash[] memory batch = new Slash[](1);
        batch[0] = _queuedSlash();
        assertEq(batch[0].captureTimestamp, capture, "queued at the old leaf's capture");
        assertEq(batch[0].amount, 50e18);

        ISlasher slasher = ISlasher(IVault(vault).slasher());
        uint256 nextWithdrawals = IVault(vault).withdrawals(IVault(vault).currentEpoch() + 1);
        uint256 slashableBefore = IVault(vault).activeStake() + nextWithdrawals;
        assertEq(inbox.deliver(batch, _relayerSignatures(inbox.batchDigest(batch))), 1);
        assertEq(slasher.cumulativeSlash(middleware.subnetwork(), operator), 50e18, "the whole penalty, not 10");
        uint256 slashableAfter =
            IVault(vault).activeStake() + IVault(vault).withdrawals(IVault(vault).currentEpoch() + 1);
        assertEq(slashableBefore - slashableAfter, 50e18, "taken from the vault, withdrawals included");
    }

    function _reportExecuted(uint256 id, address vault_, bytes32[] memory leaves) internal {
        bytes32 orderId = keccak256(abi.encode(block.chainid, address(stakeMirror), id));
        uint48 executedAt = uint48(block.timestamp);
        vm.warp(block.timestamp + 60);
        _commit(2, uint48(block.timestamp - 1), leaves);
        SlashOutcome[] memory outcome = new SlashOutcome[](1);
        outcome[0] = SlashOutcome(orderId, vault_, SlashStatus.Executed, 50e18, executedAt);
        stakeMirror.reportSlashOutcomes(outcome, _relayerSignatures(stakeMirror.slashOutcomesDigest(outcome)));
        (,,, SlashStatus status) = stakeMirror.slashes(orderId);
        assertEq(uint8(status), uint8(SlashStatus.Executed));
        (, uint96 leaf,,, uint128 pending) = stakeMirror.vaultStake(prover, vault_);
        assertEq(leaf, 950e18);
        assertEq(pending, 0);
    }

    /// A task backed by a veto-slasher vault: the slash is requested on Ethereum, the resolver vetoes it, anyone
    /// finalizes, the veto is reported back and the mirror gives the prover its stake back.
    function test_vetoedSlashIsReportedBackAndTheStakeRestored() public {
        (address vetoVault, bytes32 orderId, uint64 index) = _vetoVaultSlashRequested();
        IVetoSlasher slasher = IVetoSlasher(IVault(vetoVault).slasher());
        vm.prank(resolver);
        slasher.vetoSlash(index, "");
        vm.prank(stranger);
        middleware.finalizeSlash(orderId);
        (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Vetoed));
        assertEq(IVault(vetoVault).activeStake(), 1000e18);

        // The veto comes back, quorum-signed: the held-back penalty backs tasks again.
        SlashOutcome[] memory outcome = new SlashOutcome[](1);
        outcome[0] = SlashOutcome(orderId, vetoVault, SlashStatus.Vetoed, 0, uint48(block.timestamp));
        vm.expectEmit(address(stakeMirror));
        emit IStakeMirror.SlashSettled(orderId, prover, vetoVault, SlashStatus.Vetoed, 0, 1000e18);
        stakeMirror.reportSlashOutcomes(outcome, _relayerSignatures(stakeMirror.slashOutcomesDigest(outcome)));
        assertEq(stakeMirror.availableStake(prover), 1000e18);
    }

    /// Not vetoed: anyone finalizes once the veto window has passed, the vault loses the penalty, and the execution
    /// comes back as final.
    function test_vetoVaultSlashExecutedAfterTheWindowIsReportedBack() public {
        (address vetoVault, bytes32 orderId,) = _vetoVaultSlashRequested();
        vm.expectRevert(); // VetoPeriodNotEnded
        middleware.finalizeSlash(orderId);
        vm.warp(block.timestamp + SHORT_VETO);
        vm.prank(stranger);
        middleware.finalizeSlash(orderId);
        assertEq(IVault(vetoVault).activeStake(), 950e18);

        // Reported once a snapshot captured after the execution is in; the prover's leaf predates it.
        uint48 executedAt = uint48(block.timestamp);
        vm.warp(block.timestamp + 60);
        _commit(2, uint48(block.timestamp - 1), new bytes32[](1));
        SlashOutcome[] memory outcome = new SlashOutcome[](1);
        outcome[0] = SlashOutcome(orderId, vetoVault, SlashStatus.Executed, 50e18, executedAt);
        stakeMirror.reportSlashOutcomes(outcome, _relayerSignatures(stakeMirror.slashOutcomesDigest(outcome)));
        (,,, SlashStatus status) = stakeMirror.slashes(orderId);
        assertEq(uint8(status), uint8(SlashStatus.Executed));
        (, uint96 leaf,,, uint128 pending) = stakeMirror.vaultStake(prover, vetoVault);
        assertEq(leaf, 950e18);
        assertEq(pending, 0);
    }

    /// A veto vault with a resolver backs a task (only its leaf is proven); the task is missed, slashed, delivered:
    /// the slash is requested on the vault, waiting out its veto window.
    function _vetoVaultSlashRequested() internal returns (address vetoVault, bytes32 orderId, uint64 index) {
        // A short veto window: the relayer keys' attestations (an hour) outlive it.
        vetoVault = _vault(SymbioticCore.VETO_SLASHER, EPOCH, SHORT_VETO);
        _fund(vetoVault, 1000e18);
        vm.prank(governance);
        middleware.setResolver(vetoVault, resolver);
        vm.warp(block.timestamp + 10);

        uint48 capture = uint48(block.timestamp - 1);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vault, address(0xE7), 1000e18);
        leaves[1] = StakeTree.leaf(prover, vetoVault, address(0xE7), 1000e18);
        Snapshot memory snapshot = Snapshot(1, capture, middleware.slashingWindow(), StakeTree.root(leaves), 2000e18, 2);
        stakeMirror.commitSnapshot(snapshot, _relayerSignatures(stakeMirror.snapshotDigest(snapshot)));
        stakeMirror.proveStake(prover, vetoVault, 1000e18, StakeTree.proof(leaves, 1));

        RequestParams memory r = _requestParams(0);
        r.marketId = SafeCastLib.toUint32(restakedMarket);
        uint256 id = _post(r);
        _matcherAssign(id, prover);
        vm.warp(uint256(tasks[id].deadline) + 1);
        vm.recordLogs();
        _slash(id);
        Slash[] memory batch = new Slash[](1);
        batch[0] = _queuedSlash();
        assertEq(batch[0].vault, vetoVault);
        assertEq(stakeMirror.availableStake(prover), 950e18, "the penalty is held back");

        assertEq(inbox.deliver(batch, _relayerSignatures(inbox.batchDigest(batch))), 1);
        orderId = keccak256(abi.encode(block.chainid, address(stakeMirror), id));
        ISlashExecutor.SlashState state;
        (, index, state) = middleware.slashes(orderId);
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Requested));
        assertEq(IVault(vetoVault).activeStake(), 1000e18, "a request takes nothing yet");
    }

    function _queuedSlash() internal returns (Slash memory s) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(stakeMirror) && logs[i].topics[0] == IStakeMirror.SlashQueued.selector) {
                (s.prover, s.vault, s.amount, s.captureTimestamp) =
                    abi.decode(logs[i].data, (address, address, uint256, uint48));
                s.taskId = uint256(logs[i].topics[2]);
            }
        }
    }

    function _commit(uint64 epoch, uint48 capture, bytes32[] memory leaves) internal {
        Snapshot memory snapshot =
            Snapshot(epoch, capture, middleware.slashingWindow(), StakeTree.root(leaves), 0, uint32(leaves.length));
        stakeMirror.commitSnapshot(snapshot, _relayerSignatures(stakeMirror.snapshotDigest(snapshot)));
    }
}
