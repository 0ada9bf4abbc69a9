// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StakeMirrorFixture, StakeTree} from "../restaking/StakeMirror.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";
import {SlashOutcome} from "../../src/types/SlashOutcome.sol";

/// @notice Committed gas of the stake mirror (snapshots/StakeMirrorGasTest.json): a snapshot commit with 2-of-3
/// relayer signatures for 10, 100 and 1000 (operator, vault) entries — flat by design — one leaf proof from a
/// 1000-leaf tree, the mirror's part of an assignment (a lock, on a leaf of the current epoch or an older one) and of
/// a marketplace slash, and slash outcomes reported back from Ethereum (2-of-3).
/// Transactions: 21k base and calldata included. Kalypso pays ~76k per mirrored entry.
contract StakeMirrorGasTest is StakeMirrorFixture {
    function setUp() public {
        _setUpMirror();
        vm.warp(block.timestamp + 10);
    }

    function _leaves(uint256 n) internal returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            leaves[i] = StakeTree.leaf(
                vm.addr(i + 1), makeAddr(string.concat("vault", vm.toString(i % 7))), token, 1e18 * (i + 1)
            );
        }
    }

    function _commitMeasured(uint256 n, string memory label) internal {
        bytes32[] memory leaves = _leaves(n);
        Snapshot memory s = _snapshot(mirror.currentEpoch() + 1, StakeTree.root(leaves), SafeCastLib.toUint32(n));
        bytes[] memory sigs = _sign(s, _two());
        mirror.commitSnapshot(s, sigs);
        vm.snapshotGasLastCall(label);
        vm.warp(block.timestamp + 60);
    }

    function test_gas_commitIsFlat() public {
        _commitMeasured(10, "commitSnapshot, 10 entries (2-of-3 relayers)");
        _commitMeasured(100, "commitSnapshot, 100 entries (2-of-3 relayers)");
        _commitMeasured(1000, "commitSnapshot, 1000 entries (2-of-3 relayers)");
    }

    function test_gas_proveOneLeafOfAThousand() public {
        bytes32[] memory leaves = _leaves(1000);
        Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 1000);
        mirror.commitSnapshot(s, _sign(s, _two()));
        bytes32[] memory proof = StakeTree.proof(leaves, 500);
        mirror.proveStake(vm.addr(501), makeAddr(string.concat("vault", vm.toString(uint256(500 % 7)))), 501e18, proof);
        vm.snapshotGasLastCall("proveStake, one leaf of a 1000-leaf tree (first proof by this prover)");

        // The next epoch: the same prover re-proves its leaf (steady state, no new storage).
        vm.warp(block.timestamp + 60);
        Snapshot memory next = _snapshot(2, StakeTree.root(leaves), 1000);
        mirror.commitSnapshot(next, _sign(next, _two()));
        mirror.proveStake(vm.addr(501), makeAddr(string.concat("vault", vm.toString(uint256(500 % 7)))), 501e18, proof);
        vm.snapshotGasLastCall("proveStake, one leaf of a 1000-leaf tree (next epoch, same prover)");
    }

    function test_gas_lock() public {
        address prover = makeAddr("prover");
        address vault = makeAddr("vault");
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vault, token, 1000e18);
        leaves[1] = StakeTree.leaf(makeAddr("other"), vault, token, 1e18);
        Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 2);
        mirror.commitSnapshot(s, _sign(s, _two()));
        mirror.proveStake(prover, vault, 1000e18, StakeTree.proof(leaves, 0));
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 1, 50e18, block.timestamp + 1 hours);
        vm.snapshotGasLastCall("lock (the mirror's part of an assignment), first in the vault");
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 2, 50e18, block.timestamp + 1 hours);
        vm.snapshotGasLastCall("lock (the mirror's part of an assignment), steady state, leaf of the current epoch");

        // Two snapshots later, before anyone proves the prover's leaf again: the older leaf backs the task.
        for (uint64 epoch = 2; epoch <= 3; ++epoch) {
            vm.warp(block.timestamp + 60);
            Snapshot memory next = _snapshot(epoch, StakeTree.root(leaves), 2);
            mirror.commitSnapshot(next, _sign(next, _two()));
        }
        vm.prank(marketplaceAddress);
        mirror.lock(prover, 3, 50e18, block.timestamp + 1 hours);
        vm.snapshotGasLastCall("lock (the mirror's part of an assignment), steady state, leaf two epochs old");
    }

    function test_gas_slashOutcomes() public {
        address prover = makeAddr("prover");
        address vault = makeAddr("vault");
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vault, token, 1000e18);
        leaves[1] = StakeTree.leaf(makeAddr("other"), vault, token, 1e18);
        Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 2);
        mirror.commitSnapshot(s, _sign(s, _two()));
        mirror.proveStake(prover, vault, 1000e18, StakeTree.proof(leaves, 0));
        for (uint256 task = 1; task <= 12; ++task) {
            vm.prank(marketplaceAddress);
            mirror.lock(prover, task, 50e18, block.timestamp + 1 hours);
        }
        vm.prank(marketplaceAddress);
        mirror.slash(prover, 1, 50e18, 10e18, address(0));
        vm.snapshotGasLastCall("slash (the mirror's part of a marketplace slash), first in the vault");
        for (uint256 task = 2; task <= 12; ++task) {
            vm.prank(marketplaceAddress);
            mirror.slash(prover, task, 50e18, 10e18, address(0));
        }
        vm.snapshotGasLastCall("slash (the mirror's part of a marketplace slash), steady state");

        vm.warp(block.timestamp + 1);
        SlashOutcome[] memory one = _outcomes(_orderId(1), vault, true, 0, uint48(block.timestamp));
        bytes[] memory sigs = _sign(one, _two());
        mirror.reportSlashOutcomes(one, sigs);
        vm.snapshotGasLastCall("reportSlashOutcomes: 1 vetoed (2-of-3 relayers)");

        one = _outcomes(_orderId(2), vault, false, 10e18, uint48(block.timestamp - 2));
        sigs = _sign(one, _two());
        mirror.reportSlashOutcomes(one, sigs);
        vm.snapshotGasLastCall("reportSlashOutcomes: 1 executed (2-of-3 relayers)");

        SlashOutcome[] memory ten = new SlashOutcome[](10);
        for (uint256 i; i < 10; ++i) {
            ten[i] = _outcomes(_orderId(i + 3), vault, i % 2 == 0, i % 2 == 0 ? 0 : 10e18, 1)[0];
        }
        sigs = _sign(ten, _two());
        mirror.reportSlashOutcomes(ten, sigs);
        vm.snapshotGasLastCall("reportSlashOutcomes: batch of 10, half vetoed (2-of-3 relayers)");
    }
}
