// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StdUtils} from "forge-std/StdUtils.sol";
import {Signing} from "../utils/Signing.sol";
import {StakeMirrorFixture, StakeTree} from "./StakeMirror.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {IOperatorQuorum} from "../../src/restaking/interfaces/IOperatorQuorum.sol";
import {IStakeMirror} from "../../src/restaking/interfaces/IStakeMirror.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";
import {SlashOutcome, SlashStatus} from "../../src/types/SlashOutcome.sol";

/// @notice Ethereum as Symbiotic's slasher sees it, for two vaults of one operator: the stake at each capture, and
/// every executed slash with its time. Symbiotic lets a slash at capture `c` take at most the stake at `c` less
/// every slash of the operator executed after `c` (BaseSlasher: slashable = stakeAt(c) - cumulativeSlash since c),
/// and refuses captures older than the latest it slashed at; the middleware then slashes at that latest capture.
contract SymbioticModel {
    struct Executed {
        uint256 at;
        uint256 amount;
    }

    mapping(address vault => uint256) public stakeNow;
    mapping(address vault => mapping(uint256 capture => uint256)) public stakeAt;
    mapping(address vault => Executed[]) internal _executed;
    mapping(address vault => uint256) public latestSlashedCapture;

    function setStake(address vault, uint256 amount) external {
        stakeNow[vault] = amount;
    }

    function capture(address vault, uint256 at) external {
        stakeAt[vault][at] = stakeNow[vault];
    }

    /// What a slash at `c` could still take now.
    function slashable(address vault, uint256 c) public view returns (uint256) {
        uint256 since;
        Executed[] storage e = _executed[vault];
        for (uint256 i; i < e.length; ++i) {
            if (e[i].at > c) since += e[i].amount;
        }
        uint256 stake = stakeAt[vault][c];
        return stake > since ? stake - since : 0;
    }

    /// The capture a slash queued at `c` is executed at: `c`, or the latest capture already slashed when later.
    function effectiveCapture(address vault, uint256 c) public view returns (uint256) {
        uint256 latest = latestSlashedCapture[vault];
        return latest > c ? latest : c;
    }

    function execute(address vault, uint256 amount, uint256 at, uint256 captureTimestamp) external {
        latestSlashedCapture[vault] = effectiveCapture(vault, captureTimestamp);
        _executed[vault].push(Executed(at, amount));
        // Stake withdrawn since the capture is still slashable (Symbiotic slashes pending withdrawals too); what
        // remains active shrinks by at most what it holds.
        uint256 active = stakeNow[vault];
        stakeNow[vault] = active > amount ? active - amount : 0;
    }
}

/// @notice Drives the mirror as the marketplace, the relayers, Ethereum and an attacker would: new epochs whose leaves
/// rise and fall (deposits, withdrawals, leaves proven or skipped), locks with deadlines near and past the slashing
/// window, unlocks and slashes, executions on Ethereum (in any order), vetoes and failures reported back, time jumps,
/// and snapshots forged by one operator holding several attested keys. Nothing is caught: every call either succeeds
/// or reverts with the exact error the handler predicted.
contract StakeMirrorHandler is Signing, StdUtils {
    struct OpenLock {
        uint256 taskId;
        address vault;
        uint256 amount;
        uint48 capture;
        uint256 deadline;
    }

    struct Obligation {
        bytes32 orderId;
        address vault;
        uint256 penalty;
        uint48 capture;
        uint256 executedAt; // zero until executed on Ethereum
    }

    StakeMirror internal immutable mirror;
    SymbioticModel public immutable eth;
    address internal immutable marketplace;
    address internal immutable transport;
    address internal immutable prover;
    uint48 internal immutable window;
    address[2] internal vaults;
    /// Two relayer keys of distinct operators (sorted by operator), and two more keys of the first one's operator.
    uint256[2] internal honestKeys;
    uint256[2] internal sameOperatorKeys;

    OpenLock[] internal _locks;
    Obligation[] internal _queued;
    uint256 internal nextTask = 1;
    bytes32 public honestRoot;
    mapping(address vault => uint256) public ghostLocked;
    mapping(address vault => uint256) public ghostPending;
    /// Capture of each vault's latest proven leaf, where its new tasks lock, and the latest deadline it can back.
    mapping(address vault => uint48) public ghostLeafCapture;
    mapping(address vault => uint256) public ghostLeafLatest;
    /// Locks taken on a leaf older than the current epoch (the campaign's coverage of issue 11).
    uint256 public oldLeafLocks;
    uint256 public forgeriesRefused;

    constructor(
        StakeMirror mirror_,
        address marketplace_,
        address transport_,
        address prover_,
        uint48 window_,
        address[2] memory vaults_,
        uint256[2] memory honestKeys_,
        uint256[2] memory sameOperatorKeys_
    ) {
        mirror = mirror_;
        eth = new SymbioticModel();
        marketplace = marketplace_;
        transport = transport_;
        prover = prover_;
        window = window_;
        vaults = vaults_;
        honestKeys = honestKeys_;
        sameOperatorKeys = sameOperatorKeys_;
    }

    // ---------------------------------------------------------------- Ethereum and the relayers

    /// Stake deposited or withdrawn on Ethereum before the next capture.
    function restake(uint256 vaultSeed, uint256 amount) external {
        eth.setStake(vaults[vaultSeed % 2], bound(amount, 0, 1000e18));
    }

    /// The relayers commit the next epoch; the prover (or anyone) proves each leaf, or not.
    function newEpoch(uint256 elapsed, bool proveA, bool proveB) external {
        vm.warp(block.timestamp + bound(elapsed, 1, 2 hours));
        uint48 capture = uint48(block.timestamp - 1);
        bytes32[] memory leaves = new bytes32[](2);
        for (uint256 k; k < 2; ++k) {
            eth.capture(vaults[k], capture);
            leaves[k] = StakeTree.leaf(prover, vaults[k], mirror.stakeToken(), eth.stakeNow(vaults[k]));
        }
        Snapshot memory s = Snapshot(mirror.currentEpoch() + 1, capture, window, StakeTree.root(leaves), 0, 2);
        mirror.commitSnapshot(s, _twoSignatures(mirror.snapshotDigest(s), honestKeys[0], honestKeys[1]));
        honestRoot = s.stakeRoot;
        bool[2] memory prove = [proveA, proveB];
        for (uint256 k; k < 2; ++k) {
            if (!prove[k]) continue;
            mirror.proveStake(prover, vaults[k], eth.stakeNow(vaults[k]), StakeTree.proof(leaves, k));
            ghostLeafCapture[vaults[k]] = capture;
            ghostLeafLatest[vaults[k]] = uint256(capture) + window - mirror.slashDelay();
        }
    }

    /// One operator with several attested keys tries to commit a made-up root: refused however many keys it holds.
    function forgeSnapshot(bytes32 root, bool bothKeys) external {
        Snapshot memory s =
            Snapshot(mirror.currentEpoch() + 1, uint48(block.timestamp - 1), window, root, type(uint128).max, 1);
        bytes32 digest = mirror.snapshotDigest(s);
        bytes[] memory sigs;
        if (bothKeys) {
            sigs = _twoSignatures(digest, sameOperatorKeys[0], sameOperatorKeys[1]);
            vm.expectPartialRevert(IOperatorQuorum.OperatorsNotAscending.selector);
        } else {
            sigs = new bytes[](1);
            sigs[0] = _signature(sameOperatorKeys[0], digest);
            vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.QuorumNotReached.selector, 1, 2));
        }
        mirror.commitSnapshot(s, sigs);
        ++forgeriesRefused;
    }

    /// Ethereum executes a queued slash at the capture its task's stake was read at, whatever order slashes land in.
    function execute(uint256 seed) external {
        if (_queued.length == 0) return;
        Obligation storage o = _queued[seed % _queued.length];
        if (o.executedAt != 0) return;
        // The property itself: the vault can still pay the whole penalty at that capture.
        uint256 capture = eth.effectiveCapture(o.vault, o.capture);
        require(eth.slashable(o.vault, capture) >= o.penalty, "a due slash cannot be paid in full");
        vm.warp(block.timestamp + 1);
        o.executedAt = block.timestamp;
        // Symbiotic refuses a zero slash (InsufficientSlash): it takes nothing and moves no capture, and comes back
        // as failed.
        if (o.penalty != 0) eth.execute(o.vault, o.penalty, block.timestamp, o.capture);
    }

    /// The outcome of a queued slash comes back: a veto or a failure at once, an execution once a capture after it
    /// is committed (before that the mirror refuses it, as predicted).
    function report(uint256 seed, uint8 kind) external {
        if (_queued.length == 0) return;
        uint256 i = seed % _queued.length;
        Obligation memory o = _queued[i];
        SlashOutcome[] memory out = new SlashOutcome[](1);
        if (o.executedAt == 0 || o.penalty == 0) {
            // Not executed (a zero slash never is): vetoed by the resolver, or failed for good.
            SlashStatus status = kind % 2 == 0 ? SlashStatus.Vetoed : SlashStatus.Failed;
            out[0] = SlashOutcome(o.orderId, o.vault, status, 0, uint48(block.timestamp));
        } else {
            out[0] = SlashOutcome(o.orderId, o.vault, SlashStatus.Executed, o.penalty, uint48(o.executedAt));
            (uint48 capture,,) = mirror.epochs(mirror.currentEpoch());
            if (o.executedAt > capture) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IStakeMirror.OutcomeAheadOfSnapshot.selector, o.orderId, uint48(o.executedAt), capture
                    )
                );
                vm.prank(transport);
                mirror.receiveSlashOutcomes(out);
                return;
            }
        }
        vm.prank(transport);
        mirror.receiveSlashOutcomes(out);
        ghostPending[o.vault] -= o.penalty;
        _queued[i] = _queued[_queued.length - 1];
        _queued.pop();
    }

    // ---------------------------------------------------------------- the marketplace

    /// A task locks on the first vault whose latest leaf, however many epochs old, can still be slashed in time for
    /// its deadline and holds enough free stake, at that leaf's capture; otherwise the error names what is missing.
    function lock(uint256 amount, uint256 duration) external {
        amount = bound(amount, 1, 400e18);
        uint256 deadline = block.timestamp + bound(duration, 1, 8 hours);
        uint256 taskId = nextTask++;
        (uint256 index, uint256 best, bool outlived, uint256 outlivedLatest) = _pickVault(amount, deadline);
        if (index == type(uint256).max) {
            vm.prank(marketplace);
            if (outlived) {
                vm.expectRevert(
                    abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, deadline, outlivedLatest)
                );
            } else {
                vm.expectRevert(abi.encodeWithSelector(IStakeMirror.InsufficientStake.selector, best, amount));
            }
            mirror.lock(prover, taskId, amount, deadline);
            return;
        }
        address vault = mirror.proverVaults(prover)[index];
        uint48 capture = ghostLeafCapture[vault];
        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeLocked(prover, taskId, vault, amount, capture);
        vm.prank(marketplace);
        mirror.lock(prover, taskId, amount, deadline);
        (uint48 current,,) = mirror.epochs(mirror.currentEpoch());
        if (capture != current) ++oldLeafLocks;
        _locks.push(OpenLock(taskId, vault, amount, capture, deadline));
        ghostLocked[vault] += amount;
    }

    /// The task ends: proven (unlock) or missed (slash of up to the lock, queued at the lock's capture).
    function end(uint256 seed, bool slashIt, uint256 penalty) external {
        if (_locks.length == 0) return;
        uint256 i = seed % _locks.length;
        OpenLock memory l = _locks[i];
        _locks[i] = _locks[_locks.length - 1];
        _locks.pop();
        ghostLocked[l.vault] -= l.amount;
        vm.prank(marketplace);
        if (!slashIt) {
            mirror.unlock(prover, l.taskId, l.amount);
            return;
        }
        penalty = bound(penalty, 0, l.amount);
        bytes32 orderId = keccak256(abi.encode(block.chainid, address(mirror), l.taskId));
        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashQueued(orderId, l.taskId, prover, l.vault, penalty, l.capture);
        mirror.slash(prover, l.taskId, l.amount, penalty, address(0));
        _queued.push(Obligation(orderId, l.vault, penalty, l.capture, 0));
        ghostPending[l.vault] += penalty;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 hours));
    }

    // ---------------------------------------------------------------- views for the invariants

    function lockCount() external view returns (uint256) {
        return _locks.length;
    }

    function lockAt(uint256 i) external view returns (OpenLock memory) {
        return _locks[i];
    }

    function queuedCount() external view returns (uint256) {
        return _queued.length;
    }

    function queuedAt(uint256 i) external view returns (Obligation memory) {
        return _queued[i];
    }

    /// What the vault owes in the worst case: every open lock slashed in full, every queued slash not yet executed.
    function outstanding(address vault) public view returns (uint256 total) {
        total = ghostLocked[vault];
        for (uint256 i; i < _queued.length; ++i) {
            if (_queued[i].vault == vault && _queued[i].executedAt == 0) total += _queued[i].penalty;
        }
    }

    // ---------------------------------------------------------------- internal

    /// The vault a lock of `amount` due by `deadline` must take (type(uint256).max when none): among the vaults
    /// whose window fits and whose free stake suffices, the newest leaf, the first on a tie. Else the error's
    /// numbers: the most free stake among vaults whose window fits, or the latest window among vaults that have the
    /// stake but whose window ends too soon.
    function _pickVault(uint256 amount, uint256 deadline)
        internal
        view
        returns (uint256 index, uint256 best, bool outlived, uint256 outlivedLatest)
    {
        index = type(uint256).max;
        uint48 newest;
        address[] memory vs = mirror.proverVaults(prover);
        for (uint256 i; i < vs.length; ++i) {
            uint256 latest = ghostLeafLatest[vs[i]];
            require(mirror.latestDeadlineOf(prover, vs[i]) == latest, "a leaf's window is its own epoch's");
            (,, uint96 floor, uint128 locked, uint128 pending) = mirror.vaultStake(prover, vs[i]);
            uint256 owed = uint256(locked) + pending;
            uint256 free = floor > owed ? floor - owed : 0;
            if (deadline > latest) {
                if (free >= amount && (!outlived || latest > outlivedLatest)) {
                    (outlived, outlivedLatest) = (true, latest);
                }
                continue;
            }
            if (free >= amount) {
                if (index == type(uint256).max || ghostLeafCapture[vs[i]] > newest) {
                    (index, newest) = (i, ghostLeafCapture[vs[i]]);
                }
                continue;
            }
            if (free > best) best = free;
        }
    }
}

contract StakeMirrorInvariantTest is StakeMirrorFixture {
    /// Short windows, so that a campaign's time jumps (at most a few hours each) cross them often while the relayer
    /// keys stay attested (30 days).
    uint48 internal constant INVARIANT_WINDOW = 6 hours;
    uint48 internal constant INVARIANT_DELAY = 1 hours;
    StakeMirrorHandler internal handler;
    address internal prover = makeAddr("prover");
    address internal transport = makeAddr("transport");
    address[2] internal vaults = [makeAddr("vaultA"), makeAddr("vaultB")];

    function setUp() public {
        _setUpMirror();
        vm.startPrank(mirrorOwner);
        mirror.setSnapshotTransport(transport);
        mirror.setSlashDelay(INVARIANT_DELAY);
        vm.stopPrank();
        // The operator of relayer 0 registers two more attested keys: one operator, three keys.
        uint256[2] memory extra;
        for (uint256 i; i < 2; ++i) {
            extra[i] = _registerExtraRelayerKey(
                _operatorOfKey(relayerAddrs[0]), string.concat("relayer0-extra", vm.toString(i))
            );
        }
        uint256[2] memory honest = _operatorOfKey(relayerAddrs[0]) < _operatorOfKey(relayerAddrs[2])
            ? [relayerKeys[0], relayerKeys[2]]
            : [relayerKeys[2], relayerKeys[0]];
        handler = new StakeMirrorHandler(
            mirror, marketplaceAddress, transport, prover, INVARIANT_WINDOW, vaults, honest, extra
        );
        vm.warp(block.timestamp + 10);
        handler.restake(0, 500e18);
        handler.restake(1, 300e18);
        handler.newEpoch(1, true, true);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = StakeMirrorHandler.restake.selector;
        selectors[1] = StakeMirrorHandler.newEpoch.selector;
        selectors[2] = StakeMirrorHandler.forgeSnapshot.selector;
        selectors[3] = StakeMirrorHandler.execute.selector;
        selectors[4] = StakeMirrorHandler.report.selector;
        selectors[5] = StakeMirrorHandler.lock.selector;
        selectors[6] = StakeMirrorHandler.end.selector;
        selectors[7] = StakeMirrorHandler.warp.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// Findings 3 and 4: every slash that may still come (open locks slashed in full, queued slashes not yet
    /// executed) can be paid in full at the capture of each of them, whatever order they are executed in.
    function invariant_everyDueSlashIsEnforceableAtItsCapture() public view {
        for (uint256 k; k < 2; ++k) {
            address vault = vaults[k];
            uint256 owed = handler.outstanding(vault);
            for (uint256 i; i < handler.lockCount(); ++i) {
                StakeMirrorHandler.OpenLock memory l = handler.lockAt(i);
                if (l.vault != vault) continue;
                uint256 c = handler.eth().effectiveCapture(vault, l.capture);
                assertGe(handler.eth().slashable(vault, c), owed, "an open lock's capture cannot pay");
                assertLe(l.deadline + mirror.slashDelay(), uint256(l.capture) + INVARIANT_WINDOW, "outlives window");
            }
            for (uint256 i; i < handler.queuedCount(); ++i) {
                StakeMirrorHandler.Obligation memory o = handler.queuedAt(i);
                // A zero penalty owes nothing at its capture (and Symbiotic refuses it, so it moves no capture).
                if (o.vault != vault || o.executedAt != 0 || o.penalty == 0) continue;
                uint256 c = handler.eth().effectiveCapture(vault, o.capture);
                assertGe(handler.eth().slashable(vault, c), owed, "a queued slash's capture cannot pay");
            }
        }
    }

    /// Finding 1: only the admitted operators' quorum moved the stake root.
    function invariant_onlyTheQuorumCommitsRoots() public view {
        (,, bytes32 root) = mirror.epochs(mirror.currentEpoch());
        assertEq(root, handler.honestRoot());
    }

    /// The mirror's books match the marketplace's: locked is the open locks, pending the unsettled penalties.
    function invariant_locksAndPendingMatchTheGhosts() public view {
        for (uint256 k; k < 2; ++k) {
            (,,, uint128 locked, uint128 pending) = mirror.vaultStake(prover, vaults[k]);
            assertEq(locked, handler.ghostLocked(vaults[k]));
            assertEq(pending, handler.ghostPending(vaults[k]));
        }
    }

    /// The mirror never counts more than a leaf proved, nor lets more be locked than the floor holds.
    function invariant_floorBoundsEverything() public view {
        for (uint256 k; k < 2; ++k) {
            (, uint96 leaf, uint96 floor, uint128 locked, uint128 pending) = mirror.vaultStake(prover, vaults[k]);
            assertLe(floor, leaf);
            uint256 free = mirror.freeStake(prover, vaults[k]);
            if (free != 0) assertEq(free + locked + pending, floor, "free is the floor less what is owed");
            if (locked + pending == 0) assertEq(floor, leaf);
        }
    }
}
