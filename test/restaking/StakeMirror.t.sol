// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TeeRegistryFixture} from "../attestation/TeeRegistry.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {IStakeSource} from "../../src/interfaces/IStakeSource.sol";
import {KeyBinding, TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {IOperatorQuorum} from "../../src/restaking/interfaces/IOperatorQuorum.sol";
import {IStakeMirror} from "../../src/restaking/interfaces/IStakeMirror.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";
import {SlashOutcome, SlashStatus} from "../../src/types/SlashOutcome.sol";

/// @notice Builds sorted-pair Merkle trees over stake leaves, as the relayers do.
library StakeTree {
    function leaf(address prover, address vault, address token, uint256 stake) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(prover, vault, token, stake))));
    }

    function root(bytes32[] memory level) internal pure returns (bytes32) {
        while (level.length > 1) level = _up(level);
        return level[0];
    }

    function proof(bytes32[] memory level, uint256 index) internal pure returns (bytes32[] memory path) {
        uint256 depth;
        for (uint256 n = level.length; n > 1; n = (n + 1) / 2) {
            ++depth;
        }
        path = new bytes32[](depth);
        uint256 d;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            // An odd node out is promoted unpaired (no sibling at this level).
            if (sibling < level.length) path[d++] = level[sibling];
            level = _up(level);
            index /= 2;
        }
        assembly {
            mstore(path, d)
        }
    }

    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        next = new bytes32[]((level.length + 1) / 2);
        for (uint256 i; i < next.length; ++i) {
            if (2 * i + 1 == level.length) {
                next[i] = level[2 * i];
            } else {
                (bytes32 a, bytes32 b) = (level[2 * i], level[2 * i + 1]);
                next[i] = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
            }
        }
    }
}

abstract contract StakeMirrorFixture is TeeRegistryFixture {
    /// The snapshot's slashing window and the mirror's slash delay: tasks may end up to 2 days after a capture.
    uint48 internal constant SLASHING_WINDOW = 3 days;
    uint48 internal constant SLASH_DELAY = 1 days;

    StakeMirror internal mirror;
    address internal marketplaceAddress = makeAddr("marketplace");
    address internal token = makeAddr("rTKN");
    address internal mirrorOwner = makeAddr("mirrorOwner");
    uint256[3] internal relayerKeys;
    address[3] internal relayerAddrs;

    function _setUpMirror() internal {
        _setUpRegistry();
        // Relayer keys stay attested through the long time jumps of these tests.
        vm.prank(registryOwner);
        teeRegistry.setAttestValiditySeconds(30 days);
        _allow(TeeRole.Relayer, 0);
        for (uint256 i; i < 3; ++i) {
            (relayerAddrs[i], relayerKeys[i]) = makeAddrAndKey(string.concat("relayer", vm.toString(i)));
            _register(_binding(TeeRole.Relayer, 0, relayerAddrs[i]));
            vm.roll(block.number + 1);
            vm.setBlockhash(block.number - 1, keccak256(abi.encode("relayer block", i)));
        }
        mirror = new StakeMirror(mirrorOwner, marketplaceAddress, teeRegistry, token, 2, SLASH_DELAY);
    }

    /// Signatures of the given relayers, sorted by signer address.
    function _sign(Snapshot memory s, uint256[] memory which) internal view returns (bytes[] memory) {
        return _signDigest(mirror.snapshotDigest(s), which);
    }

    /// Signatures of the given relayers over a batch of slash outcomes, sorted by signer address.
    function _sign(SlashOutcome[] memory outcomes, uint256[] memory which) internal view returns (bytes[] memory) {
        return _signDigest(mirror.slashOutcomesDigest(outcomes), which);
    }

    /// Signatures of the relayers `which` (indices into relayerKeys), ordered by operator.
    function _signDigest(bytes32 digest, uint256[] memory which) internal view returns (bytes[] memory) {
        uint256[] memory keys = new uint256[](which.length);
        for (uint256 i; i < which.length; ++i) {
            keys[i] = relayerKeys[which[i]];
        }
        return _quorumSignatures(digest, keys);
    }

    function _two() internal pure returns (uint256[] memory w) {
        w = new uint256[](2);
        (w[0], w[1]) = (0, 2);
    }

    function _snapshot(uint64 epoch, bytes32 root_, uint32 leaves) internal view returns (Snapshot memory) {
        return Snapshot(epoch, uint48(block.timestamp - 1), SLASHING_WINDOW, root_, 0, leaves);
    }

    /// The order id the mirror queues task `taskId`'s slash under.
    function _orderId(uint256 taskId) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(mirror), taskId));
    }

    function _outcomes(bytes32 orderId, address vault, bool vetoed, uint256 slashed, uint48 settledAt)
        internal
        pure
        returns (SlashOutcome[] memory o)
    {
        SlashStatus status = vetoed ? SlashStatus.Vetoed : SlashStatus.Executed;
        return _outcome(orderId, vault, status, slashed, settledAt);
    }

    function _outcome(bytes32 orderId, address vault, SlashStatus status, uint256 slashed, uint48 settledAt)
        internal
        pure
        returns (SlashOutcome[] memory o)
    {
        o = new SlashOutcome[](1);
        o[0] = SlashOutcome(orderId, vault, status, slashed, settledAt);
    }
}

contract StakeMirrorTest is StakeMirrorFixture {
    address internal prover = makeAddr("prover");
    address internal vaultA = makeAddr("vaultA");
    address internal vaultB = makeAddr("vaultB");
    bytes32[] internal leaves;

    function setUp() public {
        _setUpMirror();
        leaves.push(StakeTree.leaf(prover, vaultA, token, 300e18));
        leaves.push(StakeTree.leaf(prover, vaultB, token, 100e18));
        leaves.push(StakeTree.leaf(makeAddr("other"), vaultA, token, 50e18));
        vm.warp(block.timestamp + 10);
    }

    function _commit(uint64 epoch) internal {
        Snapshot memory s = _snapshot(epoch, StakeTree.root(leaves), uint32(leaves.length));
        mirror.commitSnapshot(s, _sign(s, _two()));
    }

    function test_commitAndProve_thenLockAndSlash() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        mirror.proveStake(prover, vaultB, 100e18, StakeTree.proof(leaves, 1));
        assertEq(mirror.availableStake(prover), 400e18);

        vm.prank(marketplaceAddress);
        mirror.lock(prover, 7, 200e18, block.timestamp + 1 hours);
        (uint48 capture, uint32 vaultIndex, uint96 amount) = mirror.locks(7);
        assertEq(mirror.proverVaults(prover)[vaultIndex], vaultA);
        assertEq(capture, block.timestamp - 1);
        assertEq(amount, 200e18);
        assertEq(mirror.availableStake(prover), 200e18);

        bytes32 orderId = keccak256(abi.encode(block.chainid, address(mirror), uint256(7)));
        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashQueued(orderId, 7, prover, vaultA, 50e18, uint48(block.timestamp - 1));
        vm.prank(marketplaceAddress);
        assertEq(mirror.slash(prover, 7, 200e18, 50e18, address(this)), 0, "settled on Ethereum");
        assertEq(mirror.availableStake(prover), 350e18, "the penalty no longer backs tasks");
    }

    /// IStakeSource's indexing rule: every change of availableStake outside the marketplace's lock, unlock and slash
    /// names its prover, a new snapshot or slash delay names everyone, so an indexer never misses a change.
    function test_everyChangeOfAvailableStakeEmitsIStakeSourcesEvents() public {
        vm.expectEmit(address(mirror));
        emit IStakeSource.AllLockableStakeChanged();
        _commit(1);
        vm.expectEmit(address(mirror));
        emit IStakeSource.LockableStakeChanged(prover);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));

        vm.startPrank(marketplaceAddress);
        mirror.lock(prover, 8, 100e18, block.timestamp + 1 hours);
        mirror.slash(prover, 8, 100e18, 50e18, address(this));
        vm.stopPrank();
        SlashOutcome[] memory vetoed = _outcomes(_orderId(8), vaultA, true, 0, 0);
        vm.expectEmit(address(mirror));
        emit IStakeSource.LockableStakeChanged(prover);
        mirror.reportSlashOutcomes(vetoed, _sign(vetoed, _two()));

        vm.expectEmit(address(mirror));
        emit IStakeSource.AllLockableStakeChanged();
        vm.prank(mirrorOwner);
        mirror.setSlashDelay(SLASH_DELAY + 1);
    }

    function test_RevertWhen_quorumNotReached() public {
        Snapshot memory s = _snapshot(1, bytes32(uint256(1)), 1);
        uint256[] memory one = new uint256[](1);
        bytes[] memory sigs = _sign(s, one);
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.QuorumNotReached.selector, 1, 2));
        mirror.commitSnapshot(s, sigs);
    }

    function test_RevertWhen_signerIsNotARelayer() public {
        Snapshot memory s = _snapshot(1, bytes32(uint256(1)), 1);
        (address outsider, uint256 outsiderKey) = makeAddrAndKey("outsider");
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(outsiderKey, mirror.snapshotDigest(s));
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = abi.encodePacked(r, sig, v);
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.NotAnActiveRelayer.selector, outsider));
        mirror.commitSnapshot(s, sigs);
    }

    function test_RevertWhen_sameRelayerTwice() public {
        Snapshot memory s = _snapshot(1, bytes32(uint256(1)), 1);
        bytes[] memory sigs = _sign(s, _two());
        sigs[1] = sigs[0];
        vm.expectPartialRevert(IOperatorQuorum.OperatorsNotAscending.selector);
        mirror.commitSnapshot(s, sigs);
    }

    function test_RevertWhen_epochsOutOfOrder() public {
        _commit(1);
        vm.warp(block.timestamp + 10);
        Snapshot memory dup = _snapshot(1, bytes32(uint256(2)), 1);
        bytes[] memory sigs = _sign(dup, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.EpochOutOfOrder.selector, 2, 1));
        mirror.commitSnapshot(dup, sigs);
        Snapshot memory skip = _snapshot(3, bytes32(uint256(2)), 1);
        sigs = _sign(skip, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.EpochOutOfOrder.selector, 2, 3));
        mirror.commitSnapshot(skip, sigs);
    }

    function test_RevertWhen_captureNotInThePast() public {
        Snapshot memory s = Snapshot(1, uint48(block.timestamp), SLASHING_WINDOW, bytes32(uint256(1)), 0, 1);
        bytes[] memory sigs = _sign(s, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.CaptureNotInThePast.selector, uint48(block.timestamp)));
        mirror.commitSnapshot(s, sigs);
    }

    function test_RevertWhen_leafForged() public {
        _commit(1);
        bytes32[] memory p = StakeTree.proof(leaves, 0);
        vm.expectRevert(IStakeMirror.InvalidStakeProof.selector);
        mirror.proveStake(prover, vaultA, 301e18, p);
    }

    function test_RevertWhen_leafProvenTwice() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        bytes32[] memory p = StakeTree.proof(leaves, 0);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.LeafAlreadyProven.selector, prover, vaultA));
        mirror.proveStake(prover, vaultA, 300e18, p);
    }

    function test_RevertWhen_lockExceedsAnyOneVault() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        mirror.proveStake(prover, vaultB, 100e18, StakeTree.proof(leaves, 1));
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.InsufficientStake.selector, 300e18, 350e18));
        mirror.lock(prover, 1, 350e18, block.timestamp + 1 hours);
    }

    function test_RevertWhen_captureTooOldForAnyTask() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        uint256 latest = mirror.latestDeadline();
        assertEq(latest, block.timestamp - 1 + SLASHING_WINDOW - SLASH_DELAY);
        vm.warp(latest);
        assertEq(mirror.availableStake(prover), 0);
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, latest + 1, latest));
        mirror.lock(prover, 1, 1, latest + 1);
    }

    function test_locksSurviveANewEpochUntilTheirTaskEnds() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 300e18, block.timestamp + 1 hours);
        vm.warp(block.timestamp + 30 minutes); // relayer keys stay attested for an hour
        _commit(2);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        assertEq(mirror.availableStake(prover), 0, "the epoch-1 lock still holds the stake");
        vm.prank(marketplaceAddress);
        mirror.unlock(prover, 1, 300e18);
        assertEq(mirror.availableStake(prover), 300e18);
    }

    function test_snapshotThroughATransport() public {
        address bridge = makeAddr("canonicalBridgeReceiver");
        Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 3);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.NotSnapshotTransport.selector, bridge));
        vm.prank(bridge);
        mirror.receiveSnapshot(s);
        vm.prank(mirrorOwner);
        mirror.setSnapshotTransport(bridge);
        vm.prank(bridge);
        mirror.receiveSnapshot(s);
        assertEq(mirror.currentEpoch(), 1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
    }

    function test_RevertWhen_notMarketplace() public {
        vm.expectRevert(IStakeMirror.NotMarketplace.selector);
        mirror.lock(prover, 1, 1, block.timestamp + 1 hours);
    }

    // ---------------------------------------------------------------- issue 9 regressions

    /// Finding 1: one operator registers as many attested keys as the threshold; its signatures still count once.
    function test_RevertWhen_oneOperatorSignsWithSeveralKeys() public {
        address operator = _operatorOfKey(relayerAddrs[0]);
        uint256 secondKey = _registerExtraRelayerKey(operator, "relayer0-second-key");
        assertEq(teeRegistry.activeOperator(TeeRole.Relayer, 0, vm.addr(secondKey)), operator);

        // A made-up root giving a prover with nothing on Ethereum unlimited stake.
        leaves[0] = StakeTree.leaf(prover, vaultA, token, type(uint96).max);
        Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 3);
        bytes[] memory sigs = _twoSignatures(mirror.snapshotDigest(s), relayerKeys[0], secondKey);
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.OperatorsNotAscending.selector, operator, operator));
        mirror.commitSnapshot(s, sigs);
        assertEq(mirror.currentEpoch(), 0);
    }

    /// Finding 1: a removed operator's keys stop counting at once, and the quorum is never below a strict majority
    /// of the admitted operators, whatever the configured threshold.
    function test_quorumIsAMajorityOfAdmittedOperators() public {
        Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 3);
        bytes[] memory sigs = _sign(s, _two());
        // Two more admitted operators: 5 admitted, 3 needed although the threshold says 2.
        vm.startPrank(roleAdmin);
        teeRegistry.setOperatorAdmitted(TeeRole.Relayer, makeAddr("operator4"), true);
        teeRegistry.setOperatorAdmitted(TeeRole.Relayer, makeAddr("operator5"), true);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.QuorumNotReached.selector, 2, 3));
        mirror.commitSnapshot(s, sigs);
        uint256[] memory three = new uint256[](3);
        (three[0], three[1], three[2]) = (0, 1, 2);
        mirror.commitSnapshot(s, _sign(s, three));

        // Governance removes relayer 0's operator: its key no longer signs anything.
        vm.prank(roleAdmin);
        teeRegistry.setOperatorAdmitted(TeeRole.Relayer, _operatorOfKey(relayerAddrs[0]), false);
        assertFalse(teeRegistry.isActive(TeeRole.Relayer, 0, relayerAddrs[0]));
        vm.warp(block.timestamp + 10);
        Snapshot memory next = _snapshot(2, StakeTree.root(leaves), 3);
        bytes[] memory withRemoved = _sign(next, three);
        vm.expectPartialRevert(IOperatorQuorum.NotAnActiveRelayer.selector);
        mirror.commitSnapshot(next, withRemoved);
    }

    /// Finding 3: the stake is withdrawn on Ethereum and a lower leaf of a later epoch proven (by anyone): the slash
    /// is still queued at the capture the task's stake was read at, where the stake was.
    function test_slashUsesTheCaptureTheTaskLockedNotALaterLowerLeaf() public {
        _commit(1);
        uint48 lockCapture = uint48(block.timestamp - 1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 7, 300e18, block.timestamp + 1 hours);

        vm.warp(block.timestamp + 30 minutes);
        leaves[0] = StakeTree.leaf(prover, vaultA, token, 1e18); // withdrawn on Ethereum
        _commit(2);
        vm.prank(stranger());
        mirror.proveStake(prover, vaultA, 1e18, StakeTree.proof(leaves, 0));
        (, uint96 leaf, uint96 floor, uint128 locked,) = mirror.vaultStake(prover, vaultA);
        assertEq(leaf, 1e18);
        assertEq(floor, 1e18, "the lower leaf lowers what outstanding slashes may count on");
        assertEq(locked, 300e18);
        assertEq(mirror.freeStake(prover, vaultA), 0);

        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashQueued(_orderId(7), 7, prover, vaultA, 100e18, lockCapture);
        vm.prank(marketplaceAddress);
        mirror.slash(prover, 7, 300e18, 100e18, address(0));
    }

    /// Finding 3 (follow-up): Symbiotic takes every slash executed after a capture from that capture's stake. A
    /// higher leaf proven while an older lock is outstanding must not back new tasks beyond what the older capture
    /// can still pay, or the older task's slash would come up short whichever lands first.
    function test_higherLeafWaitsForOutstandingLocks() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 7, 300e18, block.timestamp + 1 hours);
        vm.warp(block.timestamp + 30 minutes);
        leaves[0] = StakeTree.leaf(prover, vaultA, token, 600e18); // deposited on Ethereum
        _commit(2);
        mirror.proveStake(prover, vaultA, 600e18, StakeTree.proof(leaves, 0));
        assertEq(mirror.freeStake(prover, vaultA), 0, "the epoch-1 capture holds only 300");
        vm.prank(marketplaceAddress);
        mirror.unlock(prover, 7, 300e18);
        assertEq(mirror.freeStake(prover, vaultA), 600e18, "nothing outstanding: the new leaf counts in full");
    }

    /// Finding 4: a task whose deadline plus the slash delay falls after the capture's slashing window is refused:
    /// its slash could never reach the vault.
    function test_RevertWhen_taskOutlivesTheSlashingWindow() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        uint256 latest = uint256(block.timestamp - 1) + SLASHING_WINDOW - SLASH_DELAY;
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, latest + 1, latest));
        mirror.lock(prover, 1, 1e18, latest + 1);
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 1e18, latest);
    }

    /// Finding 8: a leaf above 2^96 - 1 is counted as 2^96 - 1 (never truncated to a small number), and says so.
    function test_hugeLeafIsCappedNotTruncated() public {
        uint256 huge = uint256(type(uint96).max) + 2;
        leaves[0] = StakeTree.leaf(prover, vaultA, token, huge);
        _commit(1);
        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeProven(1, prover, vaultA, huge, type(uint96).max);
        mirror.proveStake(prover, vaultA, huge, StakeTree.proof(leaves, 0));
        assertEq(mirror.freeStake(prover, vaultA), type(uint96).max);
    }

    // ---------------------------------------------------------------- issue 11: stake that stays live

    /// A new snapshot is committed and nobody has proven the prover's leaf in it yet: a request assigned now is
    /// backed by the previous leaf, locked at that leaf's capture (Symbiotic still slashes the stake read there).
    function test_lockAfterANewSnapshotIsBackedByTheOldLeafAtItsCapture() public {
        _commit(1);
        uint48 leafCapture = uint48(block.timestamp - 1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.warp(block.timestamp + 30);
        _commit(2);
        vm.warp(block.timestamp + 30);
        _commit(3);
        assertEq(mirror.availableStake(prover), 300e18, "two snapshots later, the epoch-1 leaf still backs tasks");
        assertEq(mirror.freeStake(prover, vaultA), 300e18);

        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeLocked(prover, 7, vaultA, 200e18, leafCapture);
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 7, 200e18, block.timestamp + 1 hours);
        (uint48 capture,, uint96 amount) = mirror.locks(7);
        assertEq(capture, leafCapture, "locked at the leaf's capture, not the current epoch's");
        assertEq(amount, 200e18);
        assertEq(mirror.availableStake(prover), 100e18);
    }

    /// The old leaf backs only tasks a slash at its own capture can still reach: a deadline past its window is
    /// refused with that window's latest deadline; once the leaf is proven in the current epoch, the same task is
    /// locked at the new capture.
    function test_RevertWhen_taskOutlivesTheOldLeafsWindow_reprovenLeafAcceptsIt() public {
        _commit(1);
        uint256 oldLatest = uint256(block.timestamp - 1) + SLASHING_WINDOW - SLASH_DELAY;
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.warp(block.timestamp + 30 minutes);
        _commit(2);
        uint48 newCapture = uint48(block.timestamp - 1);
        assertEq(mirror.latestDeadlineOf(prover, vaultA), oldLatest);
        assertEq(mirror.latestDeadline(), uint256(newCapture) + SLASHING_WINDOW - SLASH_DELAY);

        uint256 deadline = oldLatest + 1;
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, deadline, oldLatest));
        mirror.lock(prover, 1, 100e18, deadline);
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 2, 100e18, oldLatest);
        (uint48 capture,,) = mirror.locks(2);
        assertEq(capture, newCapture - 30 minutes, "the old leaf's capture");

        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 100e18, deadline);
        (capture,,) = mirror.locks(1);
        assertEq(capture, newCapture, "the re-proven leaf's capture");
        assertEq(mirror.availableStake(prover), 100e18);
    }

    /// Each vault's leaf has its own window: a task too long for the first vault's old leaf goes to a vault whose
    /// leaf was proven in the current epoch, and a task too big for the re-proven vault reports its real shortfall.
    function test_lockPicksAVaultWhoseLeafsWindowFits() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.warp(block.timestamp + 30 minutes);
        _commit(2);
        mirror.proveStake(prover, vaultB, 100e18, StakeTree.proof(leaves, 1));
        uint256 deadline = mirror.latestDeadlineOf(prover, vaultA) + 1;

        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeLocked(prover, 1, vaultB, 100e18, uint48(block.timestamp - 1));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 100e18, deadline);

        // vaultA has the stake but only behind its old capture; vaultB fits the window but holds nothing more.
        vm.prank(marketplaceAddress);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, deadline, deadline - 1)
        );
        mirror.lock(prover, 2, 50e18, deadline);
        // Nobody has 400: the most any vault whose window fits this short task holds is vaultA's 300.
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.InsufficientStake.selector, 300e18, 400e18));
        mirror.lock(prover, 2, 400e18, block.timestamp + 1 hours);
    }

    /// Both vaults fit a short task: the one whose leaf the prover proved again takes it, so an older capture is
    /// only relied on while nothing newer backs the task.
    function test_lockPrefersTheNewestLeaf() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        mirror.proveStake(prover, vaultB, 100e18, StakeTree.proof(leaves, 1));
        vm.warp(block.timestamp + 30 minutes);
        _commit(2);
        mirror.proveStake(prover, vaultB, 100e18, StakeTree.proof(leaves, 1));

        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeLocked(prover, 1, vaultB, 50e18, uint48(block.timestamp - 1));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 50e18, block.timestamp + 1 hours);
        // Too much for vaultB: the older leaf of vaultA backs it, at its own capture.
        vm.expectEmit(address(mirror));
        emit IStakeMirror.StakeLocked(prover, 2, vaultA, 100e18, uint48(block.timestamp - 1 - 30 minutes));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 2, 100e18, block.timestamp + 1 hours);
    }

    /// A task locked on an old leaf is slashed at that leaf's capture, after any number of later snapshots.
    function test_slashOfATaskLockedOnAnOldLeafCarriesTheOldCapture() public {
        _commit(1);
        uint48 leafCapture = uint48(block.timestamp - 1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.warp(block.timestamp + 30);
        _commit(2);
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 7, 300e18, block.timestamp + 1 hours);
        vm.warp(block.timestamp + 1 hours + 1);
        leaves[0] = StakeTree.leaf(prover, vaultA, token, 1e18); // withdrawn on Ethereum since
        _commit(3);

        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashQueued(_orderId(7), 7, prover, vaultA, 100e18, leafCapture);
        vm.prank(marketplaceAddress);
        mirror.slash(prover, 7, 300e18, 100e18, address(0));
    }

    /// An old leaf whose window, less the slash delay, has passed backs nothing, silently (time, not a transaction):
    /// availableStake and freeStake fall to zero at that instant and a lock says why.
    function test_oldLeafWhoseWindowRanOutBacksNothing() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.warp(block.timestamp + 30 minutes);
        _commit(2);
        uint256 latest = mirror.latestDeadlineOf(prover, vaultA);
        vm.warp(latest - 1);
        assertEq(mirror.availableStake(prover), 300e18, "one second before the window ends, it still counts");
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 100e18, latest);
        vm.warp(latest);
        assertEq(mirror.availableStake(prover), 0);
        assertEq(mirror.freeStake(prover, vaultA), 0);
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.TaskOutlivesSlashingWindow.selector, latest + 1, latest));
        mirror.lock(prover, 2, 100e18, latest + 1);
    }

    /// An execution settled after the old leaf's capture and reported while that leaf still backs tasks comes out
    /// of it: Symbiotic takes it from that capture's stake, so the leaf may back only what is left.
    function test_executionReportedWhileAnOldLeafBacksTasksComesOutOfIt() public {
        _commit(1);
        mirror.proveStake(prover, vaultA, 300e18, StakeTree.proof(leaves, 0));
        vm.startPrank(marketplaceAddress);
        mirror.lock(prover, 7, 200e18, block.timestamp + 1 hours);
        mirror.slash(prover, 7, 200e18, 100e18, address(0));
        vm.stopPrank();
        uint48 executedAt = uint48(block.timestamp + 10);
        vm.warp(block.timestamp + 20);
        _commit(2); // captured after the execution; nobody proves it
        SlashOutcome[] memory executed = _outcomes(_orderId(7), vaultA, false, 100e18, executedAt);
        mirror.reportSlashOutcomes(executed, _sign(executed, _two()));
        (, uint96 leaf, uint96 floor,,) = mirror.vaultStake(prover, vaultA);
        assertEq(leaf, 200e18, "the epoch-1 leaf predates the execution");
        assertEq(floor, 200e18);
        assertEq(mirror.availableStake(prover), 200e18);
        vm.prank(marketplaceAddress);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.InsufficientStake.selector, 200e18, 201e18));
        mirror.lock(prover, 8, 201e18, block.timestamp + 1 hours);
    }

    function stranger() internal returns (address) {
        return makeAddr("anyone");
    }
}
