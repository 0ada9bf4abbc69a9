// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StdUtils} from "forge-std/StdUtils.sol";
import {Signing} from "../utils/Signing.sol";
import {SlashInboxFixture} from "./SlashInbox.t.sol";
import {SlashInbox} from "../../src/restaking/SlashInbox.sol";
import {CairnNetworkMiddleware} from "../../src/restaking/CairnNetworkMiddleware.sol";
import {OperatorQuorum} from "../../src/libraries/OperatorQuorum.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {ISlasher} from "@symbioticfi/core/src/interfaces/slasher/ISlasher.sol";

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
    mapping(bytes32 orderId => CairnNetworkMiddleware.SlashState) public expectedState;
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
        middleware = inbox_.middleware();
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
        } else if (last.from > block.timestamp) {
            vm.expectRevert(
                abi.encodeWithSelector(CairnNetworkMiddleware.RebindingPending.selector, operator, last.from)
            );
        }
        middleware.bindOperator(operator, prover, deadline, operatorSig, proverSig);
        if (last.from > block.timestamp || last.prover == prover) return;
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
            Order(nextTask++, provers[proverSeed % 3], uint48(block.timestamp - back), bound(amount, 1e18, 5e18))
        );
    }

    /// The relayer quorum delivers one queued slash, in any order and possibly late.
    function deliver(uint256 seed) external {
        if (_pending.length == 0) return;
        uint256 i = seed % _pending.length;
        Order memory o = _pending[i];
        _pending[i] = _pending[_pending.length - 1];
        _pending.pop();

        SlashInbox.Slash[] memory batch = new SlashInbox.Slash[](1);
        batch[0] = SlashInbox.Slash(o.taskId, o.prover, vault, o.amount, o.capture);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, sourceMirror, o.taskId));
        bytes32 digest = inbox.batchDigest(batch);
        bool bound_ = _boundAt(o.prover, o.capture);
        uint48 used = o.capture > ghostLatestCapture ? o.capture : ghostLatestCapture;
        bool inWindow = uint256(used) + epoch >= block.timestamp;
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
        CairnNetworkMiddleware.SlashState expected;
        if (bound_ && inWindow) {
            expected = CairnNetworkMiddleware.SlashState.Executed;
            require(IVault(vault).activeStake() == before - o.amount, "a due slash lands in full");
            ghostSlashed += o.amount;
            ghostLatestCapture = used;
            ++executed;
        } else {
            expected = CairnNetworkMiddleware.SlashState.Failed;
            require(IVault(vault).activeStake() == before, "a failed order takes nothing");
            ++failed;
        }
        expectedState[orderId] = expected;
        settledOrders.push(orderId);
    }

    /// One operator signs a fabricated slash with two keys: refused, nothing recorded.
    function forge(uint256 amount) external {
        SlashInbox.Slash[] memory batch = new SlashInbox.Slash[](1);
        batch[0] = SlashInbox.Slash(type(uint128).max + nextTask++, provers[0], vault, bound(amount, 1, 1000e18), 1);
        bytes[] memory sigs = _twoSignatures(inbox.batchDigest(batch), loneOperatorKeys[0], loneOperatorKeys[1]);
        vm.expectPartialRevert(OperatorQuorum.OperatorsNotAscending.selector);
        inbox.deliver(batch, sigs);
    }

    function warp(uint256 seconds_) external {
        uint256 step = bound(seconds_, 1, 36 hours);
        if (block.timestamp + step > startedAt + MAX_ELAPSED) return;
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

contract SlashDeliveryInvariantTest is SlashInboxFixture {
    SlashDeliveryHandler internal handler;
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
    }

    /// Finding 2: the middleware's checkpoints agree with the history of bindings at every point of it, for every
    /// prover, so a slash at a capture reaches the operator that backed the prover then.
    function invariant_bindingsAtEveryCaptureMatchTheHistory() public view {
        for (uint256 i; i < handler.historyLength(); ++i) {
            uint48 t = handler.historyAt(i).from;
            if (t > block.timestamp) continue;
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
            (,, CairnNetworkMiddleware.SlashState state) = middleware.slashes(orderId);
            assertEq(uint8(state), uint8(handler.expectedState(orderId)));
        }
        assertEq(IVault(vault).activeStake(), initialStake - handler.ghostSlashed());
    }
}
