// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {StakeMirrorFixture, StakeTree} from "./StakeMirror.t.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";

/// @notice Random locks, unlocks and slashes by the marketplace over proven stake in two vaults.
contract StakeMirrorHandler is CommonBase, StdUtils {
    StakeMirror internal immutable mirror;
    address internal immutable marketplace;
    address internal immutable prover;
    uint256[] public openTasks;
    uint256 internal nextTask = 1;

    constructor(StakeMirror mirror_, address marketplace_, address prover_) {
        mirror = mirror_;
        marketplace = marketplace_;
        prover = prover_;
    }

    function lock(uint256 amount) external {
        amount = bound(amount, 1, 400e18);
        vm.prank(marketplace);
        try mirror.lock(prover, nextTask, amount) {
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
        (, uint96 locked) = mirror.locks(taskId);
        vm.prank(marketplace);
        if (slashIt) mirror.slash(prover, taskId, locked, bound(penalty, 0, locked), address(0));
        else mirror.unlock(prover, taskId, locked);
    }
}

contract StakeMirrorInvariantTest is StakeMirrorFixture {
    StakeMirrorHandler internal handler;
    address internal prover = makeAddr("prover");
    address[2] internal vaults = [makeAddr("vaultA"), makeAddr("vaultB")];

    function setUp() public {
        _setUpMirror();
        vm.warp(block.timestamp + 10);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StakeTree.leaf(prover, vaults[0], token, 500e18);
        leaves[1] = StakeTree.leaf(prover, vaults[1], token, 300e18);
        StakeMirror.Snapshot memory s = _snapshot(1, StakeTree.root(leaves), 2);
        mirror.commitSnapshot(s, _sign(s, _two()));
        mirror.proveStake(prover, vaults[0], 500e18, StakeTree.proof(leaves, 0));
        mirror.proveStake(prover, vaults[1], 300e18, StakeTree.proof(leaves, 1));
        handler = new StakeMirrorHandler(mirror, marketplaceAddress, prover);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](2);
        selectors[0] = StakeMirrorHandler.lock.selector;
        selectors[1] = StakeMirrorHandler.end.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// Locked mirrored stake never exceeds proven stake, in any vault.
    function invariant_lockedNeverExceedsProven() public view {
        for (uint256 i; i < 2; ++i) {
            (, uint96 proven, uint96 locked) = mirror.vaultStake(prover, vaults[i]);
            assertLe(locked, proven);
        }
    }
}
