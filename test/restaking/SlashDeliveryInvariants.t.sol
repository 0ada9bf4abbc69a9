// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StdUtils} from "forge-std/StdUtils.sol";
import {Signing} from "../utils/Signing.sol";
import {SlashInboxFixture} from "./SlashInbox.t.sol";
import {SlashInbox} from "../../src/restaking/SlashInbox.sol";
import {CairnNetworkMiddleware} from "../../src/restaking/CairnNetworkMiddleware.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {StakeTree} from "./StakeMirror.t.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {ISlasher} from "@symbioticfi/core/src/interfaces/slasher/ISlasher.sol";
import {IBaseDelegator} from "@symbioticfi/core/src/interfaces/delegator/IBaseDelegator.sol";
import {INetworkRestakeDelegator} from "@symbioticfi/core/src/interfaces/delegator/INetworkRestakeDelegator.sol";
import {IOperatorRegistry} from "@symbioticfi/core/src/interfaces/IOperatorRegistry.sol";
import {IOptInService} from "@symbioticfi/core/src/interfaces/service/IOptInService.sol";
import {SymbioticCore} from "../../script/symbiotic/SymbioticCore.sol";
import {Clock} from "../../src/libraries/Clock.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {IOperatorQuorum} from "../../src/restaking/interfaces/IOperatorQuorum.sol";
import {IStakeMirror} from "../../src/restaking/interfaces/IStakeMirror.sol";
import {ISlashExecutor} from "../../src/restaking/interfaces/ISlashExecutor.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";
import {SlashOutcome, SlashStatus} from "../../src/types/SlashOutcome.sol";
import {Slash} from "../../src/types/Slash.sol";

/// @notice Ethereum's side of slashing under operator re-binding, on the real Symbiotic core: one operator moves
/// between three provers (with the move delay), slashes are queued for whichever prover at captures in the past and
/// delivered in any order, late or on time, and a lone operator with two relayer keys tries to deliver fabricated
/// slashes. Every outcome is predicted from a ghost history of the bindings; nothing is caught.
contract SlashDeliveryHandler is Signing, StdUtils {
    struct Binding {
        uint48 from;
        address prover;
    }

    struct Order {
        uint256 taskId;
        address prover;
        uint48 capture;
        uint256 amount;
    }

    SlashInbox internal immutable inbox;
    CairnNetworkMiddleware internal immutable middleware;
    address internal immutable vault;
    address internal immutable operator;
    uint256 internal immutable operatorKey;
    uint48 internal immutable epoch;
    uint256 internal immutable sourceChainId;
    address internal immutable sourceMirror;
    address[3] internal provers;
    uint256[3] internal proverKeys;
    /// Two relayer keys of distinct operators, ordered by operator; and two keys of one operator.
    uint256[2] internal quorumKeys;
    uint256[2] internal loneOperatorKeys;

    /// The operator's bindings over time, as the middleware should have checkpointed them.
    Binding[] internal _history;
    Order[] internal _pending;
    uint256 internal nextTask = 1;
    uint256 internal immutable startedAt;
    /// Relayer keys are attested for 30 days: campaigns stay within 25.
    uint256 internal constant MAX_ELAPSED = 25 days;
    /// At most this many orders per campaign, of at most 5 each: together far below the vault's 1000, so any due
    /// order can be paid in full at any capture.
    uint256 internal constant MAX_ORDERS = 96;

    uint256 public ghostSlashed;
    /// The latest capture an executed slash used: Symbiotic refuses older ones, so the middleware slashes there.
    uint48 public ghostLatestCapture;
    uint256 public executed;
    uint256 public failed;
    uint256 public moves;
    mapping(bytes32 orderId => ISlashExecutor.SlashState) public expectedState;
    bytes32[] public settledOrders;

    constructor(
        SlashInbox inbox_,
        address vault_,
        address operator_,
        uint256 operatorKey_,
        uint48 epoch_,
        address[3] memory provers_,
        uint256[3] memory proverKeys_,
        uint256[2] memory quorumKeys_,
        uint256[2] memory loneOperatorKeys_,
        uint48 boundSince
    ) {
        inbox = inbox_;
        middleware = CairnNetworkMiddleware(address(inbox_.middleware()));
        vault = vault_;
        operator = operator_;
        operatorKey = operatorKey_;
        epoch = epoch_;
        sourceChainId = inbox_.sourceChainId();
        sourceMirror = inbox_.sourceMirror();
        provers = provers_;
        proverKeys = proverKeys_;
        quorumKeys = quorumKeys_;
        loneOperatorKeys = loneOperatorKeys_;
        // The fixture bound the operator to provers[0] before handing over.
        _history.push(Binding(boundSince, provers_[0]));
        startedAt = block.timestamp;
    }

    // ---------------------------------------------------------------- actions

    /// The operator moves to another prover: refused while a move is pending or the prover is taken, otherwise the
    /// old prover loses it now and the new one gets it after the longest vault epoch.
    function move(uint256 proverSeed) external {
        address prover = provers[proverSeed % 3];
        uint256 key = proverKeys[proverSeed % 3];
        Binding memory last = _history[_history.length - 1];
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory operatorSig = _signature(
            operatorKey, middleware.bindingDigest(operator, prover, middleware.bindingNonce(operator), deadline)
        );
        bytes memory proverSig =
            _signature(key, middleware.bindingDigest(operator, prover, middleware.bindingNonce(prover), deadline));
        if (last.prover == prover) {
            // Bound now, or about to be after a pending move.
            vm.expectRevert(abi.encodeWithSelector(CairnNetworkMiddleware.ProverAlreadyBound.selector, prover));
        } else if (last.from > Clock.timestamp()) {
            vm.expectRevert(
                abi.encodeWithSelector(CairnNetworkMiddleware.RebindingPending.selector, operator, last.from)
            );
        }
        middleware.bindOperator(operator, prover, deadline, operatorSig, proverSig);
        if (last.from > Clock.timestamp() || last.prover == prover) return;
        uint48 now_ = uint48(block.timestamp);
        _push(now_, address(0));
        _push(now_ + middleware.maxVaultEpochDuration(), prover);
        ++moves;
    }

    /// The marketplace queues a slash of one prover at a capture in the past (what its task's lock remembered).
    function queue(uint256 proverSeed, uint256 back, uint256 amount) external {
        if (nextTask > MAX_ORDERS) return;
        back = bound(back, 1, 2 * epoch);
        _pending.push(
            Order(
                nextTask++,
                provers[proverSeed % 3],
                SafeCastLib.toUint48(Clock.timestamp() - back),
                bound(amount, 1e18, 5e18)
            )
        );
    }

    /// The relayer quorum delivers one queued slash, in any order and possibly late.
    function deliver(uint256 seed) external {
        if (_pending.length == 0) return;
        uint256 i = seed % _pending.length;
        Order memory o = _pending[i];
        _pending[i] = _pending[_pending.length - 1];
        _pending.pop();

        Slash[] memory batch = new Slash[](1);
        batch[0] = Slash(o.taskId, o.prover, vault, o.amount, o.capture);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, sourceMirror, o.taskId));
        bytes32 digest = inbox.batchDigest(batch);
        bool bound_ = _boundAt(o.prover, o.capture);
        uint48 used = o.capture > ghostLatestCapture ? o.capture : ghostLatestCapture;
        bool inWindow = uint256(used) + epoch >= Clock.timestamp();
        uint256 before = IVault(vault).activeStake();
        if (!bound_) {
            vm.expectEmit(address(middleware));
            emit CairnNetworkMiddleware.SlashFailed(
                orderId,
                vault,
                abi.encodeWithSelector(CairnNetworkMiddleware.ProverNotBoundAt.selector, o.prover, o.capture)
            );
        } else if (!inWindow) {
            vm.expectEmit(address(middleware));
            emit CairnNetworkMiddleware.SlashFailed(
                orderId, vault, abi.encodeWithSelector(ISlasher.InvalidCaptureTimestamp.selector)
            );
        }
        uint256 delivered = inbox.deliver(batch, _twoSignatures(digest, quorumKeys[0], quorumKeys[1]));
        require(delivered == 1, "a fresh order is always handed over");
        ISlashExecutor.SlashState expected;
        if (bound_ && inWindow) {
            expected = ISlashExecutor.SlashState.Executed;
            require(IVault(vault).activeStake() == before - o.amount, "a due slash lands in full");
            ghostSlashed += o.amount;
            ghostLatestCapture = used;
            ++executed;
        } else {
            expected = ISlashExecutor.SlashState.Failed;
            require(IVault(vault).activeStake() == before, "a failed order takes nothing");
            ++failed;
        }
        expectedState[orderId] = expected;
        settledOrders.push(orderId);
    }

    /// One operator signs a fabricated slash with two keys: refused, nothing recorded.
    function forge(uint256 amount) external {
        Slash[] memory batch = new Slash[](1);
        batch[0] = Slash(type(uint128).max + nextTask++, provers[0], vault, bound(amount, 1, 1000e18), 1);
        bytes[] memory sigs = _twoSignatures(inbox.batchDigest(batch), loneOperatorKeys[0], loneOperatorKeys[1]);
        vm.expectPartialRevert(IOperatorQuorum.OperatorsNotAscending.selector);
        inbox.deliver(batch, sigs);
    }

    function warp(uint256 seconds_) external {
        uint256 step = bound(seconds_, 1, 36 hours);
        if (Clock.timestamp() + step > startedAt + MAX_ELAPSED) return;
        vm.warp(block.timestamp + step);
    }

    // ---------------------------------------------------------------- views

    function historyLength() external view returns (uint256) {
        return _history.length;
    }

    function historyAt(uint256 i) external view returns (Binding memory) {
        return _history[i];
    }

    function settledCount() external view returns (uint256) {
        return settledOrders.length;
    }

    function proverAt(uint256 i) external view returns (address) {
        return provers[i];
    }

    /// The prover the operator backed at `t`, by the ghost history (the binding in force at the end of second `t`).
    function ghostProverAt(uint48 t) public view returns (address prover) {
        for (uint256 i; i < _history.length; ++i) {
            if (_history[i].from <= t) prover = _history[i].prover;
        }
    }

    // ---------------------------------------------------------------- internal

    function _boundAt(address prover, uint48 t) internal view returns (bool) {
        return ghostProverAt(t) == prover;
    }

    function _push(uint48 from, address prover) internal {
        Binding storage last = _history[_history.length - 1];
        if (last.from == from) last.prover = prover;
        else _history.push(Binding(from, prover));
    }
}

/// @notice The marketplace chain's side of the same vaults: a real StakeMirror fed with the real vault's stake read
/// at each capture, locks and slashes queued by the mirror (as the marketplace would), the same inbox delivering them
/// to the real core, and outcomes reported back. Epochs advance with and without the prover's leaf proven, so tasks
/// lock on leaves several epochs old, while a restaker deposits and withdraws, so a newer snapshot may show less
/// than the leaf still backing tasks. Its own operator and vault (bound to one prover for good), so the other
/// handler's unmirrored orders never touch the stake this one accounts for. Nothing is caught.
contract MirroredStakeHandler is Signing, StdUtils {
    struct OpenLock {
        uint256 taskId;
        uint256 amount;
        uint48 capture;
        uint256 deadline;
    }

    struct Order {
        uint256 taskId;
        uint48 capture;
        uint256 penalty;
        /// Zero until delivered; then Executed or Failed on Ethereum.
        uint256 deliveredAt;
        ISlashExecutor.SlashState state;
    }

    /// Task ids far above the other handler's, so the inbox never takes one for a replay.
    uint256 internal constant FIRST_TASK = 1e9;
    uint256 internal constant MAX_ELAPSED = 25 days;

    StakeMirror public immutable mirror;
    SlashInbox internal immutable inbox;
    CairnNetworkMiddleware internal immutable middleware;
    address public immutable vault;
    address public immutable operator;
    address public immutable prover;
    address internal immutable marketplace;
    address internal immutable restaker;
    DevToken internal immutable token;
    uint48 internal immutable epochDuration;
    uint256 internal immutable startedAt;
    uint256[2] internal quorumKeys;

    OpenLock[] internal _locks;
    Order[] internal _orders;
    uint256 internal nextTask = FIRST_TASK;
    /// Capture of the latest leaf the prover proved: where new tasks lock.
    uint48 public ghostLeafCapture;
    /// The latest deadline that leaf can back: its capture + its epoch's slashing window - the slash delay.
    uint256 public ghostLeafLatest;
    uint256 public ghostLocked;
    /// Penalties queued and not yet reported back.
    uint256 public ghostPending;
    uint256 public oldLeafLocks;
    uint256 public landed;

    constructor(
        StakeMirror mirror_,
        SlashInbox inbox_,
        address vault_,
        address operator_,
        address prover_,
        address marketplace_,
        address restaker_,
        DevToken token_,
        uint256[2] memory quorumKeys_
    ) {
        mirror = mirror_;
        inbox = inbox_;
        middleware = CairnNetworkMiddleware(address(inbox_.middleware()));
        vault = vault_;
        operator = operator_;
        prover = prover_;
        marketplace = marketplace_;
        restaker = restaker_;
        token = token_;
        epochDuration = IVault(vault_).epochDuration();
        startedAt = block.timestamp;
        quorumKeys = quorumKeys_;
    }

    // ---------------------------------------------------------------- Ethereum and the relayers

    /// The restaker deposits, or withdraws (Symbiotic keeps a withdrawal slashable for the rest of the window).
    function restake(uint256 amount, bool deposit) external {
        if (deposit) {
            amount = bound(amount, 1e18, 500e18);
            token.mint(restaker, amount);
            vm.startPrank(restaker);
            token.approve(vault, amount);
            IVault(vault).deposit(restaker, amount);
            vm.stopPrank();
            return;
        }
        uint256 balance = IVault(vault).activeBalanceOf(restaker);
        if (balance == 0) return;
        vm.prank(restaker);
        IVault(vault).withdraw(restaker, bound(amount, 1, balance));
    }

    /// The relayers commit the next epoch, the stake read from the real delegator at its capture; the prover proves
    /// its leaf, or not (then tasks keep locking on the older leaf).
    function newEpoch(uint256 elapsed, bool prove) external {
        if (!_warp(bound(elapsed, 1, 12 hours))) return;
        _commit(prove);
    }

    /// The outcome of a delivered slash comes back to the mirror: a failure at once, an execution once a snapshot
    /// captured after it is in (before that the mirror refuses it, as predicted).
    function report(uint256 seed) external {
        (bool found, uint256 i) = _pick(seed, true);
        if (!found) return;
        Order memory o = _orders[i];
        bool executed_ = o.state == ISlashExecutor.SlashState.Executed;
        SlashOutcome[] memory out = new SlashOutcome[](1);
        out[0] = SlashOutcome(
            _mirrorOrderId(o.taskId),
            vault,
            executed_ ? SlashStatus.Executed : SlashStatus.Failed,
            executed_ ? o.penalty : 0,
            uint48(o.deliveredAt)
        );
        bytes[] memory sigs = _twoSignatures(mirror.slashOutcomesDigest(out), quorumKeys[0], quorumKeys[1]);
        (uint48 capture,,) = mirror.epochs(mirror.currentEpoch());
        if (executed_ && o.deliveredAt > capture) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IStakeMirror.OutcomeAheadOfSnapshot.selector, out[0].orderId, uint48(o.deliveredAt), capture
                )
            );
            mirror.reportSlashOutcomes(out, sigs);
            return;
        }
        mirror.reportSlashOutcomes(out, sigs);
        ghostPending -= o.penalty;
        _orders[i] = _orders[_orders.length - 1];
        _orders.pop();
    }

    /// The relayer quorum delivers one queued slash to the real core, in any order, on time or late. The property
    /// itself: a slash whose capture (or the later one the middleware must use) is still in the vault's window lands
    /// in full, whatever leaf, withdrawals and other slashes came in between.
    function deliver(uint256 seed) external {
        (bool found, uint256 i) = _pick(seed, false);
        if (!found) return;
        Order storage o = _orders[i];
        Slash[] memory batch = new Slash[](1);
        batch[0] = Slash(o.taskId, prover, vault, o.penalty, o.capture);
        uint48 latest = middleware.latestCapture(vault, operator);
        uint48 used = o.capture > latest ? o.capture : latest;
        bool inWindow = uint256(used) + epochDuration >= Clock.timestamp();
        bytes32 orderId = keccak256(abi.encode(inbox.sourceChainId(), inbox.sourceMirror(), o.taskId));
        if (!inWindow) {
            vm.expectEmit(address(middleware));
            emit CairnNetworkMiddleware.SlashFailed(
                orderId, vault, abi.encodeWithSelector(ISlasher.InvalidCaptureTimestamp.selector)
            );
        }
        ISlasher slasher = ISlasher(IVault(vault).slasher());
        uint256 slashedBefore = slasher.cumulativeSlash(middleware.subnetwork(), operator);
        uint256 heldBefore = _slashablePool();
        uint256 delivered = inbox.deliver(batch, _twoSignatures(inbox.batchDigest(batch), quorumKeys[0], quorumKeys[1]));
        require(delivered == 1, "a fresh order is always handed over");
        (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
        if (inWindow) {
            require(state == ISlashExecutor.SlashState.Executed, "a due slash failed");
            uint256 slashed = slasher.cumulativeSlash(middleware.subnetwork(), operator) - slashedBefore;
            require(slashed == o.penalty, "a due slash cannot be paid in full");
            require(heldBefore - _slashablePool() == o.penalty, "the vault paid other than the slash");
            ++landed;
        } else {
            require(state == ISlashExecutor.SlashState.Failed, "a late slash is recorded as failed");
        }
        o.deliveredAt = block.timestamp;
        o.state = state;
    }

    // ---------------------------------------------------------------- the marketplace

    /// A task locks stake: on the prover's latest leaf, however many epochs old, at that leaf's capture, when its
    /// window fits the deadline and its free stake the amount; otherwise the exact error.
    function lock(uint256 amount, uint256 duration) external {
        amount = bound(amount, 1e18, 400e18);
        uint256 deadline = block.timestamp + bound(duration, 1, 3 days);
        uint256 taskId = nextTask++;
        (, uint96 leaf, uint96 floor, uint128 locked, uint128 pending) = mirror.vaultStake(prover, vault);
        uint256 owed = uint256(locked) + pending;
        uint256 free = floor > owed ? floor - owed : 0;
        uint256 latest = ghostLeafLatest;
        require(mirror.latestDeadlineOf(prover, vault) == latest, "the leaf's window is its own epoch's");
        require(floor <= leaf, "the floor never exceeds the leaf");
        vm.prank(marketplace);
        if (deadline > latest) {
            if (free >= amount) {
                vm.expectRevert(
                    abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, deadline, latest)
                );
            } else {
                vm.expectRevert(abi.encodeWithSelector(IStakeMirror.InsufficientStake.selector, 0, amount));
            }
            mirror.lock(prover, taskId, amount, deadline);
            return;
        }
        if (free < amount) {
            vm.expectRevert(abi.encodeWithSelector(IStakeMirror.InsufficientStake.selector, free, amount));
            mirror.lock(prover, taskId, amount, deadline);
            return;
        }
        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeLocked(prover, taskId, vault, amount, ghostLeafCapture);
        mirror.lock(prover, taskId, amount, deadline);
        (uint48 current,,) = mirror.epochs(mirror.currentEpoch());
        if (current != ghostLeafCapture) ++oldLeafLocks;
        _locks.push(OpenLock(taskId, amount, ghostLeafCapture, deadline));
        ghostLocked += amount;
    }

    /// The task ends: proven (unlock) or missed (a slash of up to the lock, queued at the lock's capture).
    function end(uint256 seed, bool slashIt, uint256 penalty) external {
        if (_locks.length == 0) return;
        uint256 i = seed % _locks.length;
        OpenLock memory l = _locks[i];
        _locks[i] = _locks[_locks.length - 1];
        _locks.pop();
        ghostLocked -= l.amount;
        vm.prank(marketplace);
        if (!slashIt) {
            mirror.unlock(prover, l.taskId, l.amount);
            return;
        }
        penalty = bound(penalty, 1, l.amount);
        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashQueued(_mirrorOrderId(l.taskId), l.taskId, prover, vault, penalty, l.capture);
        mirror.slash(prover, l.taskId, l.amount, penalty, address(0));
        _orders.push(Order(l.taskId, l.capture, penalty, 0, ISlashExecutor.SlashState.None));
        ghostPending += penalty;
    }

    function warp(uint256 seconds_) external {
        _warp(bound(seconds_, 1, 12 hours));
    }

    // ---------------------------------------------------------------- views for the invariants

    function lockCount() external view returns (uint256) {
        return _locks.length;
    }

    function lockAt(uint256 i) external view returns (OpenLock memory) {
        return _locks[i];
    }

    function orderCount() external view returns (uint256) {
        return _orders.length;
    }

    function orderAt(uint256 i) external view returns (Order memory) {
        return _orders[i];
    }

    /// What may still be slashed: every open lock in full and every order not yet delivered.
    function outstanding() public view returns (uint256 total) {
        total = ghostLocked;
        for (uint256 i; i < _orders.length; ++i) {
            if (_orders[i].deliveredAt == 0) total += _orders[i].penalty;
        }
    }

    // ---------------------------------------------------------------- internal

    function _commit(bool prove) internal {
        uint48 capture = uint48(block.timestamp - 1);
        uint256 stake =
            IBaseDelegator(IVault(vault).delegator()).stakeAt(middleware.subnetwork(), operator, capture, "");
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vault, address(token), stake);
        leaves[1] = StakeTree.leaf(address(this), vault, address(token), 1);
        Snapshot memory s = Snapshot(
            mirror.currentEpoch() + 1, capture, middleware.slashingWindow(), StakeTree.root(leaves), stake + 1, 2
        );
        mirror.commitSnapshot(s, _twoSignatures(mirror.snapshotDigest(s), quorumKeys[0], quorumKeys[1]));
        if (!prove) return;
        mirror.proveStake(prover, vault, stake, StakeTree.proof(leaves, 0));
        ghostLeafCapture = capture;
        ghostLeafLatest = uint256(capture) + s.slashingWindow - mirror.slashDelay();
    }

    function _warp(uint256 step) internal returns (bool) {
        if (Clock.timestamp() + step > startedAt + MAX_ELAPSED) return false;
        vm.warp(block.timestamp + step);
        return true;
    }

    /// An order delivered (`delivered`) or not, from `seed`.
    function _pick(uint256 seed, bool delivered) internal view returns (bool found, uint256 index) {
        uint256 n = _orders.length;
        if (n == 0) return (false, 0);
        uint256 start = seed % n;
        for (uint256 k; k < n; ++k) {
            index = (start + k) % n;
            if ((_orders[index].deliveredAt != 0) == delivered) return (true, index);
        }
    }

    /// All the vault could hand over for a slash now: active stake and the withdrawals of this epoch and the next.
    function _slashablePool() internal view returns (uint256) {
        uint256 epoch_ = IVault(vault).currentEpoch();
        return IVault(vault).activeStake() + IVault(vault).withdrawals(epoch_) + IVault(vault).withdrawals(epoch_ + 1);
    }

    function _mirrorOrderId(uint256 taskId) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(mirror), taskId));
    }
}

contract SlashDeliveryInvariantTest is SlashInboxFixture {
    /// Relaying and finalizing a mirrored slash: tasks end at least this long before their capture's window does.
    uint48 internal constant MIRROR_SLASH_DELAY = 1 days;

    SlashDeliveryHandler internal handler;
    MirroredStakeHandler internal mirrored;
    uint256 internal initialStake;

    function setUp() public {
        _setUpInbox();
        address[3] memory provers = [boundProver, address(0), address(0)];
        uint256[3] memory keys = [boundProverKey, 0, 0];
        for (uint256 i = 1; i < 3; ++i) {
            (provers[i], keys[i]) = makeAddrAndKey(string.concat("prover", vm.toString(i)));
        }
        uint256[2] memory quorum = _operatorOfKey(relayerAddrs[0]) < _operatorOfKey(relayerAddrs[2])
            ? [relayerKeys[0], relayerKeys[2]]
            : [relayerKeys[2], relayerKeys[0]];
        uint256[2] memory lone =
            [relayerKeys[1], _registerExtraRelayerKey(_operatorOfKey(relayerAddrs[1]), "relayer1-second-key")];
        // The fixture bound the operator to the first prover ten seconds ago: the ghost history begins then.
        uint48 boundSince = uint48(block.timestamp - 10);
        assertEq(middleware.operatorAt(boundProver, boundSince), operator);
        assertEq(middleware.operatorAt(boundProver, boundSince - 1), address(0));
        handler = new SlashDeliveryHandler(
            inbox, vault, operator, operatorKey, EPOCH, provers, keys, quorum, lone, boundSince
        );
        initialStake = IVault(vault).activeStake();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = SlashDeliveryHandler.move.selector;
        selectors[1] = SlashDeliveryHandler.queue.selector;
        selectors[2] = SlashDeliveryHandler.deliver.selector;
        selectors[3] = SlashDeliveryHandler.forge.selector;
        selectors[4] = SlashDeliveryHandler.warp.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
        _setUpMirroredStake(quorum);
    }

    /// A second operator, bound for good to its own prover, with all of Cairn's share of its own vault, mirrored by
    /// a real StakeMirror whose slashes the same inbox delivers.
    function _setUpMirroredStake(uint256[2] memory quorum) internal {
        address mirroredOperator = _mirroredOperator();
        address mirroredVault = _mirroredVault(mirroredOperator);
        address mirroredProver = _bindMirroredOperator(mirroredOperator);
        StakeMirror stakeMirror = new StakeMirror(
            governance, makeAddr("marketplace"), teeRegistry, address(restakedToken), 2, MIRROR_SLASH_DELAY
        );
        mirrored = new MirroredStakeHandler(
            stakeMirror,
            inbox,
            mirroredVault,
            mirroredOperator,
            mirroredProver,
            makeAddr("marketplace"),
            makeAddr("restaker"),
            restakedToken,
            quorum
        );
        mirrored.restake(500e18, true);
        mirrored.restake(500e18, true);
        mirrored.newEpoch(10, true);
        targetContract(address(mirrored));
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = MirroredStakeHandler.restake.selector;
        selectors[1] = MirroredStakeHandler.newEpoch.selector;
        selectors[2] = MirroredStakeHandler.report.selector;
        selectors[3] = MirroredStakeHandler.deliver.selector;
        selectors[4] = MirroredStakeHandler.lock.selector;
        selectors[5] = MirroredStakeHandler.end.selector;
        selectors[6] = MirroredStakeHandler.warp.selector;
        targetSelector(FuzzSelector(address(mirrored), selectors));
    }

    function _mirroredOperator() internal returns (address mirroredOperator) {
        mirroredOperator = makeAddr("mirroredOperator");
        vm.startPrank(mirroredOperator);
        IOperatorRegistry(core.operatorRegistry).registerOperator();
        IOptInService(core.operatorNetworkOptInService).optIn(address(middleware));
        vm.stopPrank();
    }

    /// An instant-slasher vault opted in, with all of Cairn's share to `mirroredOperator`.
    function _mirroredVault(address mirroredOperator) internal returns (address mirroredVault) {
        mirroredVault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        vm.prank(curator);
        middleware.optInVault(mirroredVault);
        vm.prank(governance);
        middleware.setMaxNetworkLimit(mirroredVault, type(uint128).max);
        address delegator = IVault(mirroredVault).delegator();
        vm.startPrank(curator);
        INetworkRestakeDelegator(delegator).setNetworkLimit(middleware.subnetwork(), type(uint128).max);
        INetworkRestakeDelegator(delegator).setOperatorNetworkShares(middleware.subnetwork(), mirroredOperator, 1);
        vm.stopPrank();
        vm.prank(mirroredOperator);
        IOptInService(core.operatorVaultOptInService).optIn(mirroredVault);
    }

    function _bindMirroredOperator(address mirroredOperator) internal returns (address mirroredProver) {
        uint256 proverKey;
        (mirroredProver, proverKey) = makeAddrAndKey("mirroredProver");
        (, uint256 operatorKey_) = makeAddrAndKey("mirroredOperator");
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digest = middleware.bindingDigest(mirroredOperator, mirroredProver, 0, deadline);
        middleware.bindOperator(
            mirroredOperator, mirroredProver, deadline, _signature(operatorKey_, digest), _signature(proverKey, digest)
        );
    }

    /// Issue 11: tasks lock on leaves several epochs old, and newer captures may show less (withdrawals, executed
    /// slashes). Still, every slash that may yet come for the mirrored vault (open locks in full, queued slashes not
    /// yet delivered) fits, all together, in what the real Symbiotic slasher can slash at the capture each of them
    /// would be executed at (its own, or the later one the middleware must use), while that capture is in the window.
    function invariant_mirroredSlashesFitAtEveryCaptureTheyMayUse() public view {
        StakeMirror stakeMirror = mirrored.mirror();
        ISlasher slasher = ISlasher(IVault(mirrored.vault()).slasher());
        bytes32 subnetwork = middleware.subnetwork();
        uint48 latest = slasher.latestSlashedCaptureTimestamp(subnetwork, mirrored.operator());
        uint256 owed = mirrored.outstanding();
        uint256 window = middleware.slashingWindow();
        for (uint256 i; i < mirrored.lockCount(); ++i) {
            MirroredStakeHandler.OpenLock memory l = mirrored.lockAt(i);
            assertLe(l.deadline + MIRROR_SLASH_DELAY, uint256(l.capture) + window, "a lock outlives its window");
            _assertPayable(slasher, subnetwork, l.capture > latest ? l.capture : latest, owed);
        }
        for (uint256 i; i < mirrored.orderCount(); ++i) {
            MirroredStakeHandler.Order memory o = mirrored.orderAt(i);
            if (o.deliveredAt != 0) continue;
            _assertPayable(slasher, subnetwork, o.capture > latest ? o.capture : latest, owed);
        }
        (,,, uint128 locked, uint128 pending) = stakeMirror.vaultStake(mirrored.prover(), mirrored.vault());
        assertEq(locked, mirrored.ghostLocked(), "locked");
        assertEq(pending, mirrored.ghostPending(), "pending");
    }

    function _assertPayable(ISlasher slasher, bytes32 subnetwork, uint48 capture, uint256 owed) internal view {
        if (uint256(capture) + EPOCH < Clock.timestamp()) return; // out of the window: such a slash fails, as predicted
        assertGe(slasher.slashableStake(subnetwork, mirrored.operator(), capture, ""), owed, "cannot pay in full");
    }

    /// Finding 2: the middleware's checkpoints agree with the history of bindings at every point of it, for every
    /// prover, so a slash at a capture reaches the operator that backed the prover then.
    function invariant_bindingsAtEveryCaptureMatchTheHistory() public view {
        for (uint256 i; i < handler.historyLength(); ++i) {
            uint48 t = handler.historyAt(i).from;
            if (t > Clock.timestamp()) continue;
            for (uint256 k; k < 3; ++k) {
                address prover = handler.proverAt(k);
                address expected = handler.ghostProverAt(t) == prover ? operator : address(0);
                assertEq(middleware.operatorAt(prover, t), expected, "operatorAt");
            }
            assertEq(middleware.proverAt(operator, t), handler.ghostProverAt(t), "proverAt");
        }
    }

    /// Every delivered order ended as predicted (executed when its prover was bound at its capture and the capture
    /// was in the window, failed for good otherwise), and the vault lost exactly the executed amounts.
    function invariant_everyOrderEndsAsPredictedAndTheVaultPaysExactly() public view {
        for (uint256 i; i < handler.settledCount(); ++i) {
            bytes32 orderId = handler.settledOrders(i);
            (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
            assertEq(uint8(state), uint8(handler.expectedState(orderId)));
        }
        assertEq(IVault(vault).activeStake(), initialStake - handler.ghostSlashed());
    }
}
