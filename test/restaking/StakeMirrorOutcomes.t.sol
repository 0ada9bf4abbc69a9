// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StakeMirrorFixture, StakeTree} from "./StakeMirror.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {IOperatorQuorum} from "../../src/restaking/interfaces/IOperatorQuorum.sol";
import {IStakeMirror} from "../../src/restaking/interfaces/IStakeMirror.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";
import {SlashOutcome, SlashStatus} from "../../src/types/SlashOutcome.sol";

/// @notice Slash outcomes reported back from Ethereum: a veto releases the penalty the slash held back, an execution
/// makes it final (and takes the slashed collateral out of a leaf captured before it), a pending slash stays held
/// back across epochs; unknown, settled, mismatched, malformed and unsigned outcomes are refused.
contract StakeMirrorOutcomesTest is StakeMirrorFixture {
    address internal prover = makeAddr("prover");
    address internal vaultA = makeAddr("vaultA");
    address internal vaultB = makeAddr("vaultB");
    uint256 internal constant TASK = 7;
    uint256 internal constant PENALTY = 50e18;

    function setUp() public {
        _setUpMirror();
        vm.warp(block.timestamp + 10);
        _commitAndProve(1, 300e18, 100e18);
        vm.prank(marketplaceAddress);
        mirror.lock(prover, TASK, 200e18, block.timestamp + 1 hours);
    }

    // ---------------------------------------------------------------- helpers

    /// Commits epoch `epoch` with the prover's stake in vaults A and B (and someone else's) and proves the prover's.
    function _commitAndProve(uint64 epoch, uint256 stakeA, uint256 stakeB) internal {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = StakeTree.leaf(prover, vaultA, token, stakeA);
        leaves[1] = StakeTree.leaf(prover, vaultB, token, stakeB);
        leaves[2] = StakeTree.leaf(makeAddr("other"), vaultA, token, 50e18);
        Snapshot memory s = _snapshot(epoch, StakeTree.root(leaves), 3);
        mirror.commitSnapshot(s, _sign(s, _two()));
        mirror.proveStake(prover, vaultA, stakeA, StakeTree.proof(leaves, 0));
        mirror.proveStake(prover, vaultB, stakeB, StakeTree.proof(leaves, 1));
    }

    /// The marketplace slashes task TASK: PENALTY is queued against vault A.
    function _slashTask() internal returns (bytes32 orderId) {
        vm.prank(marketplaceAddress);
        mirror.slash(prover, TASK, 200e18, PENALTY, address(this));
        return _orderId(TASK);
    }

    /// A minute later, the relayers commit epoch `epoch` (captured now) and nobody proves the prover's leaves yet.
    function _commitLater(uint64 epoch) internal {
        vm.warp(block.timestamp + 60);
        Snapshot memory s = _snapshot(epoch, bytes32(uint256(1)), 1);
        mirror.commitSnapshot(s, _sign(s, _two()));
    }

    function _report(SlashOutcome[] memory outcomes) internal {
        mirror.reportSlashOutcomes(outcomes, _sign(outcomes, _two()));
    }

    function _free(address vault) internal view returns (uint256) {
        return mirror.freeStake(prover, vault);
    }

    function _status(bytes32 orderId) internal view returns (SlashStatus status) {
        (,,, status) = mirror.slashes(orderId);
    }

    function _vault(address vault) internal view returns (uint96 leaf, uint96 floor, uint128 locked, uint128 pending) {
        (, leaf, floor, locked, pending) = mirror.vaultStake(prover, vault);
    }

    function _pending(address vault) internal view returns (uint128 pending) {
        (,,, pending) = _vault(vault);
    }

    // ---------------------------------------------------------------- outcomes

    function test_slash_holdsThePenaltyBackAndRecordsIt() public {
        bytes32 orderId = _slashTask();
        (address p, uint96 penalty, address vault, SlashStatus status) = mirror.slashes(orderId);
        assertEq(p, prover);
        assertEq(penalty, PENALTY);
        assertEq(vault, vaultA);
        assertEq(uint8(status), uint8(SlashStatus.Queued));
        assertEq(_free(vaultA), 250e18);
        (uint96 leaf, uint96 floor, uint128 locked, uint128 pending) = _vault(vaultA);
        assertEq(leaf, 300e18);
        assertEq(floor, 300e18);
        assertEq(locked, 0);
        assertEq(pending, PENALTY);
        assertEq(mirror.availableStake(prover), 350e18);
    }

    function test_vetoReportedBack_restoresTheStake() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp));
        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashSettled(orderId, prover, vaultA, SlashStatus.Vetoed, 0, 300e18);
        _report(o);
        assertEq(uint8(_status(orderId)), uint8(SlashStatus.Vetoed));
        assertEq(_free(vaultA), 300e18, "the penalty backs tasks again");
        assertEq(_pending(vaultA), 0);
        assertEq(mirror.availableStake(prover), 400e18);
    }

    /// Finding 8 (skipped deliveries): a slash the middleware could never execute is reported as Failed and
    /// releases its hold, instead of holding the penalty back for ever.
    function test_failedOutcome_releasesThePenalty() public {
        bytes32 orderId = _slashTask();
        _report(_outcome(orderId, vaultA, SlashStatus.Failed, 0, uint48(block.timestamp)));
        assertEq(uint8(_status(orderId)), uint8(SlashStatus.Failed));
        assertEq(_free(vaultA), 300e18);
        assertEq(_pending(vaultA), 0);
    }

    /// An execution is final; the leaf the prover holds predates it, so the slashed collateral leaves it at once.
    function test_executedOutcome_isFinal() public {
        bytes32 orderId = _slashTask();
        uint48 executedAt = uint48(block.timestamp);
        vm.warp(block.timestamp + 60);
        // The next snapshot is captured after the execution; the prover has not proven its leaf yet.
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = StakeTree.leaf(prover, vaultA, token, 250e18);
        Snapshot memory s = _snapshot(2, StakeTree.root(leaves), 1);
        mirror.commitSnapshot(s, _sign(s, _two()));
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, false, PENALTY, executedAt);
        vm.expectEmit(address(mirror));
        emit IStakeMirror.SlashSettled(orderId, prover, vaultA, SlashStatus.Executed, PENALTY, 250e18);
        _report(o);
        assertEq(uint8(_status(orderId)), uint8(SlashStatus.Executed));
        (uint96 leaf, uint96 floor,, uint128 pending) = _vault(vaultA);
        assertEq(leaf, 250e18, "the leaf predates the execution: the slashed collateral is out");
        assertEq(floor, 250e18);
        assertEq(pending, 0);
        mirror.proveStake(prover, vaultA, 250e18, StakeTree.proof(leaves, 0));
        assertEq(_free(vaultA), 250e18);
    }

    function test_executedOutcome_slashedLessThanThePenalty() public {
        bytes32 orderId = _slashTask();
        uint48 executedAt = uint48(block.timestamp);
        _commitLater(2);
        _report(_outcomes(orderId, vaultA, false, 30e18, executedAt));
        (uint96 leaf,,,) = _vault(vaultA);
        assertEq(leaf, 270e18, "only what left the vault is gone");
    }

    /// A veto request leaves the vault's stake untouched on Ethereum, so the next leaf still shows the penalty: it
    /// stays held back until the outcome, whatever the epoch.
    function test_pendingSlashStaysHeldBackAcrossEpochs_untilVetoed() public {
        bytes32 orderId = _slashTask();
        vm.warp(block.timestamp + 60);
        _commitAndProve(2, 300e18, 100e18);
        assertEq(_free(vaultA), 250e18, "the new leaf does not free the penalty");
        assertEq(mirror.availableStake(prover), 350e18);

        _report(_outcomes(orderId, vaultA, true, 0, uint48(block.timestamp)));
        assertEq(_free(vaultA), 300e18);
        assertEq(mirror.availableStake(prover), 400e18);
    }

    /// A leaf captured after the execution already shows it: the report only releases the hold.
    function test_executedOutcome_afterALaterCapture_isNotTakenTwice() public {
        bytes32 orderId = _slashTask();
        uint48 executedAt = uint48(block.timestamp);
        vm.warp(block.timestamp + 60);
        _commitAndProve(2, 250e18, 100e18);
        assertEq(_free(vaultA), 200e18, "held back until the outcome is known");

        _report(_outcomes(orderId, vaultA, false, PENALTY, executedAt));
        assertEq(_free(vaultA), 250e18);
    }

    /// Several slashes on one vault: each outcome releases or settles only its own penalty.
    function test_twoSlashes_oneVetoedOneExecuted() public {
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 8, 50e18, block.timestamp + 1 hours);
        bytes32 first = _slashTask();
        vm.prank(marketplaceAddress);
        mirror.slash(prover, 8, 50e18, 20e18, address(this));
        bytes32 second = _orderId(8);
        assertEq(_free(vaultA), 230e18);

        uint48 executedAt = uint48(block.timestamp);
        _commitLater(2);
        SlashOutcome[] memory both = new SlashOutcome[](2);
        both[0] = _outcomes(first, vaultA, true, 0, uint48(block.timestamp))[0];
        both[1] = _outcomes(second, vaultA, false, 20e18, executedAt)[0];
        _report(both);
        assertEq(uint8(_status(first)), uint8(SlashStatus.Vetoed));
        assertEq(uint8(_status(second)), uint8(SlashStatus.Executed));
        (uint96 leaf, uint96 floor,,) = _vault(vaultA);
        assertEq(leaf, 280e18);
        assertEq(floor, 280e18);
        assertEq(_pending(vaultA), 0);
    }

    function test_outcomesThroughTheTransport() public {
        bytes32 orderId = _slashTask();
        address bridge = makeAddr("canonicalBridgeReceiver");
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp));
        vm.prank(bridge);
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.NotSnapshotTransport.selector, bridge));
        mirror.receiveSlashOutcomes(o);
        vm.prank(mirrorOwner);
        mirror.setSnapshotTransport(bridge);
        vm.prank(bridge);
        mirror.receiveSlashOutcomes(o);
        assertEq(uint8(_status(orderId)), uint8(SlashStatus.Vetoed));
        assertEq(_free(vaultA), 300e18);
    }

    // ---------------------------------------------------------------- rejections

    function test_RevertWhen_outcomeOfAnUnknownSlash() public {
        _slashTask();
        // Task 8 was never slashed; an order id of another chain's mirror is unknown here too.
        bytes32[2] memory unknown = [_orderId(8), keccak256(abi.encode(uint256(1), address(mirror), TASK))];
        for (uint256 i; i < 2; ++i) {
            SlashOutcome[] memory o = _outcomes(unknown[i], vaultA, true, 0, uint48(block.timestamp));
            bytes[] memory sigs = _sign(o, _two());
            vm.expectRevert(abi.encodeWithSelector(IStakeMirror.UnknownSlash.selector, unknown[i]));
            mirror.reportSlashOutcomes(o, sigs);
        }
    }

    function test_RevertWhen_outcomeReportedTwice() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp));
        bytes[] memory sigs = _sign(o, _two());
        mirror.reportSlashOutcomes(o, sigs);
        // The same signed batch replayed.
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.SlashAlreadySettled.selector, orderId, SlashStatus.Vetoed));
        mirror.reportSlashOutcomes(o, sigs);
        // A contradicting outcome for a settled slash.
        SlashOutcome[] memory executed = _outcomes(orderId, vaultA, false, PENALTY, uint48(block.timestamp - 1));
        sigs = _sign(executed, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.SlashAlreadySettled.selector, orderId, SlashStatus.Vetoed));
        mirror.reportSlashOutcomes(executed, sigs);
        assertEq(_free(vaultA), 300e18, "restored once");
    }

    function test_RevertWhen_outcomeNamesAnotherVault() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultB, true, 0, uint48(block.timestamp));
        bytes[] memory sigs = _sign(o, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.SlashVaultMismatch.selector, orderId, vaultA, vaultB));
        mirror.reportSlashOutcomes(o, sigs);
    }

    function test_RevertWhen_outcomeAmountsAreInconsistent() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 1, uint48(block.timestamp));
        bytes[] memory sigs = _sign(o, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.UnexecutedSlashWithAmount.selector, orderId, 1));
        mirror.reportSlashOutcomes(o, sigs);
        o = _outcome(orderId, vaultA, SlashStatus.Failed, 1, uint48(block.timestamp));
        sigs = _sign(o, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.UnexecutedSlashWithAmount.selector, orderId, 1));
        mirror.reportSlashOutcomes(o, sigs);
        for (uint8 status; status < 2; ++status) {
            o = _outcome(orderId, vaultA, SlashStatus(status), 0, uint48(block.timestamp));
            sigs = _sign(o, _two());
            vm.expectRevert(abi.encodeWithSelector(IStakeMirror.NotAnOutcome.selector, orderId, SlashStatus(status)));
            mirror.reportSlashOutcomes(o, sigs);
        }
        o = _outcomes(orderId, vaultA, false, PENALTY + 1, uint48(block.timestamp - 1));
        sigs = _sign(o, _two());
        vm.expectRevert(
            abi.encodeWithSelector(IStakeMirror.SlashedExceedsPenalty.selector, orderId, PENALTY + 1, PENALTY)
        );
        mirror.reportSlashOutcomes(o, sigs);
    }

    /// One bad outcome refuses the whole batch: nothing is recorded.
    function test_RevertWhen_anyOutcomeOfTheBatchIsBad() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = new SlashOutcome[](2);
        o[0] = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp))[0];
        o[1] = o[0];
        bytes[] memory sigs = _sign(o, _two());
        vm.expectRevert(abi.encodeWithSelector(IStakeMirror.SlashAlreadySettled.selector, orderId, SlashStatus.Vetoed));
        mirror.reportSlashOutcomes(o, sigs);
        assertEq(uint8(_status(orderId)), uint8(SlashStatus.Queued));
        assertEq(_free(vaultA), 250e18);
    }

    function test_RevertWhen_outcomeBatchEmpty() public {
        SlashOutcome[] memory none = new SlashOutcome[](0);
        bytes[] memory sigs = _sign(none, _two());
        vm.expectRevert(IStakeMirror.EmptyBatch.selector);
        mirror.reportSlashOutcomes(none, sigs);
    }

    function test_RevertWhen_outcomeQuorumNotReached() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp));
        bytes[] memory one = _sign(o, new uint256[](1));
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.QuorumNotReached.selector, 1, 2));
        mirror.reportSlashOutcomes(o, one);

        bytes[] memory sigs = _sign(o, _two());
        (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
        vm.expectPartialRevert(IOperatorQuorum.OperatorsNotAscending.selector);
        mirror.reportSlashOutcomes(o, sigs);
    }

    function test_RevertWhen_outcomeSignedByAnOutsider() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp));
        (address outsider, uint256 outsiderKey) = makeAddrAndKey("outsider");
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(outsiderKey, mirror.slashOutcomesDigest(o));
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = abi.encodePacked(r, sig, v);
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.NotAnActiveRelayer.selector, outsider));
        mirror.reportSlashOutcomes(o, sigs);
    }

    /// Signatures over a vetoed outcome do not carry an altered one (here: the amount an execution would need).
    function test_RevertWhen_outcomeAlteredAfterSigning() public {
        bytes32 orderId = _slashTask();
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, true, 0, uint48(block.timestamp));
        bytes[] memory sigs = _sign(o, _two());
        o[0].status = SlashStatus.Executed;
        vm.expectPartialRevert(IOperatorQuorum.NotAnActiveRelayer.selector);
        mirror.reportSlashOutcomes(o, sigs);
    }

    /// An execution settled after the current capture cannot be reported yet: a leaf proven later from an older
    /// capture would still show the slashed collateral.
    function test_RevertWhen_executionReportedAheadOfTheSnapshots() public {
        bytes32 orderId = _slashTask();
        uint48 capture = uint48(block.timestamp - 1);
        SlashOutcome[] memory o = _outcomes(orderId, vaultA, false, PENALTY, uint48(block.timestamp));
        bytes[] memory sigs = _sign(o, _two());
        vm.expectRevert(
            abi.encodeWithSelector(IStakeMirror.OutcomeAheadOfSnapshot.selector, orderId, block.timestamp, capture)
        );
        mirror.reportSlashOutcomes(o, sigs);
    }
}
