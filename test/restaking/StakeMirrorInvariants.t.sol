// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {StakeMirrorFixture, StakeTree} from "./StakeMirror.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";

/// @notice Random locks, unlocks and slashes by the marketplace over proven stake in two vaults; slash outcomes
/// (vetoed, or executed before or after the leaf's capture) arriving from Ethereum; new epochs re-proving the leaves.
contract StakeMirrorHandler is CommonBase, StdUtils {
    StakeMirror internal immutable mirror;
    address internal immutable marketplace;
    address internal immutable transport;
    address internal immutable prover;
    bytes32[] internal leaves;
    address[2] internal vaults;
    uint256[2] internal stakes;
    /// Two relayer keys, ordered by address.
    uint256[2] internal keys;

    uint256[] public openTasks;
    uint256 internal nextTask = 1;
    /// Slashes queued and not yet settled.
    bytes32[] public queued;
    mapping(address vault => uint256) public ghostPending;

    constructor(
        StakeMirror mirror_,
        address marketplace_,
        address transport_,
        address prover_,
        bytes32[] memory leaves_,
        address[2] memory vaults_,
        uint256[2] memory stakes_,
        uint256[2] memory keys_
    ) {
        mirror = mirror_;
        marketplace = marketplace_;
        transport = transport_;
        prover = prover_;
        leaves = leaves_;
        (vaults, stakes, keys) = (vaults_, stakes_, keys_);
    }

    function lock(uint256 amount) external {
        amount = bound(amount, 1, 400e18);
        vm.prank(marketplace);
        try mirror.lock(prover, nextTask, amount, block.timestamp + 1 hours) {
            openTasks.push(nextTask);
        } catch {}
        ++nextTask;
    }

    function end(uint256 seed, bool slashIt, uint256 penalty) external {
        if (openTasks.length == 0) return;
        uint256 i = seed % openTasks.length;
        uint256 taskId = openTasks[i];
        openTasks[i] = openTasks[openTasks.length - 1];
        openTasks.pop();
        (address vault, uint96 locked) = mirror.locks(taskId);
        vm.prank(marketplace);
        if (slashIt) {
            penalty = bound(penalty, 0, locked);
            mirror.slash(prover, taskId, locked, penalty, address(0));
            queued.push(keccak256(abi.encode(block.chainid, address(mirror), taskId)));
            ghostPending[vault] += penalty;
        } else {
            mirror.unlock(prover, taskId, locked);
        }
    }

    function report(uint256 seed, bool vetoed, uint256 slashed, bool beforeCapture) external {
        if (queued.length == 0) return;
        uint256 i = seed % queued.length;
        bytes32 orderId = queued[i];
        queued[i] = queued[queued.length - 1];
        queued.pop();
        (, uint96 penalty, address vault,) = mirror.slashes(orderId);
        StakeMirror.SlashOutcome[] memory o = new StakeMirror.SlashOutcome[](1);
        o[0] = StakeMirror.SlashOutcome({
            orderId: orderId,
            vault: vault,
            vetoed: vetoed,
            slashed: vetoed ? 0 : bound(slashed, 0, penalty),
            settledAt: beforeCapture ? 0 : uint48(block.timestamp)
        });
        vm.prank(transport);
        mirror.receiveSlashOutcomes(o);
        ghostPending[vault] -= penalty;
    }

    /// A new epoch with the same leaves (e.g. a veto request pending: the vaults' stake unchanged), re-proven.
    function reprove() external {
        vm.warp(block.timestamp + 1);
        StakeMirror.Snapshot memory s = StakeMirror.Snapshot(
            mirror.currentEpoch() + 1, uint48(block.timestamp - 1), StakeTree.root(leaves), 0, uint32(leaves.length)
        );
        bytes32 digest = mirror.snapshotDigest(s);
        bytes[] memory sigs = new bytes[](2);
        for (uint256 k; k < 2; ++k) {
            (uint8 v, bytes32 r, bytes32 sig) = vm.sign(keys[k], digest);
            sigs[k] = abi.encodePacked(r, sig, v);
        }
        mirror.commitSnapshot(s, sigs);
        for (uint256 k; k < 2; ++k) {
            mirror.proveStake(prover, vaults[k], stakes[k], StakeTree.proof(leaves, k));
        }
    }
}

contract StakeMirrorInvariantTest is StakeMirrorFixture {
    StakeMirrorHandler internal handler;
    address internal prover = makeAddr("prover");
    address internal transport = makeAddr("transport");
    address[2] internal vaults = [makeAddr("vaultA"), makeAddr("vaultB")];
    uint256[2] internal stakes = [uint256(500e18), 300e18];

    function setUp() public {
        _setUpMirror();
        vm.prank(mirrorOwner);
        mirror.setSnapshotTransport(transport);
        vm.warp(block.timestamp + 10);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vaults[0], token, stakes[0]);
        leaves[1] = StakeTree.leaf(prover, vaults[1], token, stakes[1]);
        StakeMirror.Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 2);
        mirror.commitSnapshot(s, _sign(s, _two()));
        mirror.proveStake(prover, vaults[0], stakes[0], StakeTree.proof(leaves, 0));
        mirror.proveStake(prover, vaults[1], stakes[1], StakeTree.proof(leaves, 1));
        uint256[2] memory keys =
            relayerAddrs[0] < relayerAddrs[2] ? [relayerKeys[0], relayerKeys[2]] : [relayerKeys[2], relayerKeys[0]];
        handler = new StakeMirrorHandler(mirror, marketplaceAddress, transport, prover, leaves, vaults, stakes, keys);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = StakeMirrorHandler.lock.selector;
        selectors[1] = StakeMirrorHandler.end.selector;
        selectors[2] = StakeMirrorHandler.report.selector;
        selectors[3] = StakeMirrorHandler.reprove.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// Locked mirrored stake never exceeds proven stake, in any vault.
    function invariant_lockedNeverExceedsProven() public view {
        for (uint256 i; i < 2; ++i) {
            (, uint96 proven, uint96 locked) = mirror.vaultStake(prover, vaults[i]);
            assertLe(locked, proven);
        }
    }

    /// What a vault's slashes still owe is exactly the penalties queued and not yet settled.
    function invariant_pendingIsTheUnsettledPenalties() public view {
        for (uint256 i; i < 2; ++i) {
            (uint128 pending,) = mirror.slashDebt(prover, vaults[i]);
            assertEq(pending, handler.ghostPending(vaults[i]));
        }
    }

    /// The leaf covers what it can of the pending penalties, and the mirror never credits more than the leaf proved:
    /// a veto gives back what was held, never more.
    function invariant_heldBackIsWhatTheLeafCovers() public view {
        for (uint256 i; i < 2; ++i) {
            (, uint96 proven,) = mirror.vaultStake(prover, vaults[i]);
            (uint128 pending, uint128 heldBack) = mirror.slashDebt(prover, vaults[i]);
            uint256 leafStake = uint256(proven) + heldBack;
            assertEq(heldBack, pending < leafStake ? pending : leafStake);
            assertLe(leafStake, stakes[i]);
        }
    }
}
