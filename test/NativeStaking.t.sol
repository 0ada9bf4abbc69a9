// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {CairnTest} from "./utils/CairnTest.sol";
import {NativeStaking} from "../src/staking/NativeStaking.sol";
import {INativeStaking} from "../src/interfaces/INativeStaking.sol";
import {IStakeSource} from "../src/interfaces/IStakeSource.sol";
import {Clock} from "../src/libraries/Clock.sol";
import {DevToken} from "../src/dev/DevToken.sol";

contract NativeStakingTest is CairnTest {
    uint256 internal constant AMOUNT = 1000e18;
    uint256 internal constant TASK = 42;

    address internal funder = makeAddr("funder");
    address internal slashRecipient = makeAddr("slashRecipient");

    // ---------------------------------------------------------------- helpers

    function _deposit(address who, uint256 amount) internal {
        stakeToken.mint(funder, amount);
        vm.startPrank(funder);
        stakeToken.approve(address(staking), amount);
        staking.deposit(who, amount);
        vm.stopPrank();
    }

    function _lock(address who, uint256 taskId, uint256 amount) internal {
        vm.prank(address(marketplace));
        staking.lock(who, taskId, amount, type(uint32).max);
    }

    function _assertStake(address who, uint256 staked, uint256 locked) internal view {
        (uint128 s, uint128 l) = staking.stakeOf(who);
        assertEq(s, staked, "staked");
        assertEq(l, locked, "locked");
        assertEq(staking.availableStake(who), staked - locked, "available");
    }

    function _assertUnbonding(address who, uint256 amount, uint256 availableAt) internal view {
        (uint128 a, uint64 at) = staking.unbondingOf(who);
        assertEq(a, amount, "unbonding amount");
        assertEq(at, availableAt, "unbonding availableAt");
    }

    // ---------------------------------------------------------------- constructor

    function test_Constructor() public view {
        assertEq(staking.stakeToken(), address(stakeToken));
        assertEq(staking.marketplace(), address(marketplace));
        assertEq(staking.unbondingPeriod(), UNBONDING);
    }

    function test_RevertWhen_ConstructorZeroToken() public {
        vm.expectRevert(INativeStaking.ZeroAddress.selector);
        new NativeStaking(address(0), address(marketplace), UNBONDING);
    }

    function test_RevertWhen_ConstructorZeroMarketplace() public {
        vm.expectRevert(INativeStaking.ZeroAddress.selector);
        new NativeStaking(address(stakeToken), address(0), UNBONDING);
    }

    // ---------------------------------------------------------------- deposit

    function test_DepositByThirdParty() public {
        stakeToken.mint(funder, AMOUNT);
        vm.startPrank(funder);
        stakeToken.approve(address(staking), AMOUNT);
        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.Deposited(prover, funder, AMOUNT);
        staking.deposit(prover, AMOUNT);
        vm.stopPrank();

        _assertStake(prover, AMOUNT, 0);
        _assertStake(funder, 0, 0);
        assertEq(stakeToken.balanceOf(funder), 0);
        assertEq(stakeToken.balanceOf(address(staking)), AMOUNT);
    }

    function test_DepositAccumulates() public {
        _deposit(prover, AMOUNT);
        _deposit(prover, 1);
        _assertStake(prover, AMOUNT + 1, 0);
        assertEq(stakeToken.balanceOf(address(staking)), AMOUNT + 1);
    }

    function test_RevertWhen_DepositZeroAddress() public {
        vm.prank(funder);
        vm.expectRevert(INativeStaking.ZeroAddress.selector);
        staking.deposit(address(0), AMOUNT);
    }

    function test_RevertWhen_DepositZeroAmount() public {
        vm.prank(funder);
        vm.expectRevert(INativeStaking.ZeroAmount.selector);
        staking.deposit(prover, 0);
    }

    function test_RevertWhen_DepositWithoutAllowance() public {
        stakeToken.mint(funder, AMOUNT);
        vm.prank(funder);
        vm.expectRevert(); // SafeTransferLib.TransferFromFailed
        staking.deposit(prover, AMOUNT);
    }

    function test_RevertWhen_DepositAmountTooLarge() public {
        _deposit(prover, type(uint128).max);
        vm.prank(funder);
        vm.expectRevert(INativeStaking.AmountTooLarge.selector);
        staking.deposit(prover, 1);
    }

    // ---------------------------------------------------------------- requestWithdrawal

    function test_RequestWithdrawal() public {
        _deposit(prover, AMOUNT);
        uint64 at = uint64(block.timestamp) + UNBONDING;
        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.WithdrawalRequested(prover, 400e18, 400e18, at);
        vm.prank(prover);
        staking.requestWithdrawal(400e18);

        // Unbonding stake stops backing tasks at once.
        _assertStake(prover, 600e18, 0);
        _assertUnbonding(prover, 400e18, at);
        assertEq(stakeToken.balanceOf(address(staking)), AMOUNT);
    }

    function test_RequestWithdrawalRestartsPeriod() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(100e18);

        vm.warp(block.timestamp + UNBONDING - 1);
        uint64 at = uint64(block.timestamp) + UNBONDING;
        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.WithdrawalRequested(prover, 50e18, 150e18, at);
        vm.prank(prover);
        staking.requestWithdrawal(50e18);
        _assertUnbonding(prover, 150e18, at);
        _assertStake(prover, 850e18, 0);

        // The first part is not withdrawable on its own schedule any more.
        vm.warp(block.timestamp + 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.UnbondingNotFinished.selector, uint256(at)));
        staking.withdraw(prover);
    }

    function test_RequestWithdrawalAllFreeStake() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 300e18);
        vm.prank(prover);
        staking.requestWithdrawal(700e18);
        _assertStake(prover, 300e18, 300e18);
    }

    function test_RevertWhen_RequestWithdrawalZeroAmount() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        vm.expectRevert(INativeStaking.ZeroAmount.selector);
        staking.requestWithdrawal(0);
    }

    function test_RevertWhen_RequestWithdrawalExceedsStake() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, AMOUNT, AMOUNT + 1));
        staking.requestWithdrawal(AMOUNT + 1);
    }

    function test_RevertWhen_RequestWithdrawalOfLockedStake() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 300e18);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, 700e18, 701e18));
        staking.requestWithdrawal(701e18);
    }

    // ---------------------------------------------------------------- cancelWithdrawal

    function test_CancelWithdrawal() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(400e18);

        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.WithdrawalCancelled(prover, 400e18);
        vm.prank(prover);
        staking.cancelWithdrawal();

        _assertStake(prover, AMOUNT, 0);
        _assertUnbonding(prover, 0, 0);
    }

    function test_RevertWhen_CancelWithdrawalNothingUnbonding() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        vm.expectRevert(INativeStaking.NothingUnbonding.selector);
        staking.cancelWithdrawal();
    }

    // ---------------------------------------------------------------- withdraw

    function test_Withdraw() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(400e18);
        vm.warp(block.timestamp + UNBONDING);

        address to = makeAddr("to");
        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.Withdrawn(prover, to, 400e18);
        vm.prank(prover);
        staking.withdraw(to);

        assertEq(stakeToken.balanceOf(to), 400e18);
        assertEq(stakeToken.balanceOf(address(staking)), 600e18);
        _assertUnbonding(prover, 0, 0);
        _assertStake(prover, 600e18, 0);

        vm.prank(prover);
        vm.expectRevert(INativeStaking.NothingUnbonding.selector);
        staking.withdraw(to);
    }

    function test_RevertWhen_WithdrawBeforeUnbondingFinished() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(400e18);
        uint256 at = block.timestamp + UNBONDING;
        vm.warp(at - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.UnbondingNotFinished.selector, at));
        staking.withdraw(prover);
    }

    function test_RevertWhen_WithdrawZeroAddress() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(400e18);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(prover);
        vm.expectRevert(INativeStaking.ZeroAddress.selector);
        staking.withdraw(address(0));
    }

    function test_RevertWhen_WithdrawNothingUnbonding() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        vm.expectRevert(INativeStaking.NothingUnbonding.selector);
        staking.withdraw(prover);
    }

    function test_RevertWhen_WithdrawAfterCancel() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(400e18);
        vm.prank(prover);
        staking.cancelWithdrawal();
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(prover);
        vm.expectRevert(INativeStaking.NothingUnbonding.selector);
        staking.withdraw(prover);
    }

    // ---------------------------------------------------------------- IStakeSource's indexing rule

    /// Every change of availableStake outside the marketplace's lock, unlock and slash (which the marketplace's task
    /// events announce) names the prover in LockableStakeChanged, so an indexer never misses one.
    function test_EveryChangeOfAvailableStakeEmitsLockableStakeChanged() public {
        stakeToken.mint(funder, AMOUNT);
        vm.startPrank(funder);
        stakeToken.approve(address(staking), AMOUNT);
        _expectLockableStakeChanged(prover);
        staking.deposit(prover, AMOUNT);
        vm.stopPrank();

        _expectLockableStakeChanged(prover);
        vm.prank(prover);
        staking.requestWithdrawal(100e18);
        _expectLockableStakeChanged(prover);
        vm.prank(prover);
        staking.cancelWithdrawal();
    }

    function _expectLockableStakeChanged(address who) internal {
        vm.expectEmit(true, true, true, true, address(staking));
        emit IStakeSource.LockableStakeChanged(who);
    }

    // ---------------------------------------------------------------- lock / unlock

    function test_Lock() public {
        _deposit(prover, AMOUNT);
        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.StakeLocked(prover, TASK, 300e18);
        _lock(prover, TASK, 300e18);
        _assertStake(prover, AMOUNT, 300e18);
        _lock(prover, TASK + 1, 700e18);
        _assertStake(prover, AMOUNT, AMOUNT);
    }

    function test_RevertWhen_LockNotMarketplace() public {
        _deposit(prover, AMOUNT);
        vm.prank(stranger);
        vm.expectRevert(INativeStaking.NotMarketplace.selector);
        staking.lock(prover, TASK, 1, type(uint32).max);
    }

    function test_RevertWhen_LockInsufficientStake() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 600e18);
        vm.prank(address(marketplace));
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, 400e18, 400e18 + 1));
        staking.lock(prover, TASK + 1, 400e18 + 1, type(uint32).max);
    }

    function test_RevertWhen_LockUnbondingStake() public {
        _deposit(prover, AMOUNT);
        vm.prank(prover);
        staking.requestWithdrawal(AMOUNT);
        vm.prank(address(marketplace));
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, 0, 1));
        staking.lock(prover, TASK, 1, type(uint32).max);
    }

    function test_Unlock() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 300e18);
        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.StakeUnlocked(prover, TASK, 300e18);
        vm.prank(address(marketplace));
        staking.unlock(prover, TASK, 300e18);
        _assertStake(prover, AMOUNT, 0);

        // Unlocked stake can start unbonding.
        vm.prank(prover);
        staking.requestWithdrawal(AMOUNT);
        _assertStake(prover, 0, 0);
    }

    function test_RevertWhen_UnlockNotMarketplace() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 300e18);
        vm.prank(prover);
        vm.expectRevert(INativeStaking.NotMarketplace.selector);
        staking.unlock(prover, TASK, 300e18);
    }

    function test_RevertWhen_UnlockInsufficientLockedStake() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 300e18);
        vm.prank(address(marketplace));
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientLockedStake.selector, 300e18, 300e18 + 1));
        staking.unlock(prover, TASK, 300e18 + 1);
    }

    // ---------------------------------------------------------------- slash

    function test_Slash() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 100e18);
        _lock(prover, TASK + 1, 100e18);

        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.StakeSlashed(prover, TASK, 60e18, slashRecipient);
        vm.prank(address(marketplace));
        uint256 paid = staking.slash(prover, TASK, 100e18, 60e18, slashRecipient);

        assertEq(paid, 60e18);
        assertEq(stakeToken.balanceOf(slashRecipient), 60e18);
        assertEq(stakeToken.balanceOf(address(staking)), AMOUNT - 60e18);
        // The whole lock ends; only the penalty leaves the stake.
        _assertStake(prover, AMOUNT - 60e18, 100e18);
    }

    function test_SlashWholeLock() public {
        _deposit(prover, 100e18);
        _lock(prover, TASK, 100e18);
        vm.prank(address(marketplace));
        uint256 paid = staking.slash(prover, TASK, 100e18, 100e18, slashRecipient);
        assertEq(paid, 100e18);
        assertEq(stakeToken.balanceOf(slashRecipient), 100e18);
        _assertStake(prover, 0, 0);
    }

    function test_SlashZeroPenaltyTransfersNothing() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 100e18);

        vm.expectEmit(true, true, true, true, address(staking));
        emit INativeStaking.StakeSlashed(prover, TASK, 0, slashRecipient);
        vm.recordLogs();
        vm.prank(address(marketplace));
        uint256 paid = staking.slash(prover, TASK, 100e18, 0, slashRecipient);

        assertEq(paid, 0);
        // Only StakeSlashed: no Transfer event from the token.
        assertEq(vm.getRecordedLogs().length, 1);
        assertEq(stakeToken.balanceOf(slashRecipient), 0);
        assertEq(stakeToken.balanceOf(address(staking)), AMOUNT);
        _assertStake(prover, AMOUNT, 0);
    }

    function test_RevertWhen_SlashNotMarketplace() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 100e18);
        vm.prank(stranger);
        vm.expectRevert(INativeStaking.NotMarketplace.selector);
        staking.slash(prover, TASK, 100e18, 60e18, stranger);
    }

    function test_RevertWhen_SlashPenaltyExceedsLock() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 100e18);
        vm.prank(address(marketplace));
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.PenaltyExceedsLock.selector, 100e18 + 1, 100e18));
        staking.slash(prover, TASK, 100e18, 100e18 + 1, slashRecipient);
    }

    function test_RevertWhen_SlashInsufficientLockedStake() public {
        _deposit(prover, AMOUNT);
        _lock(prover, TASK, 100e18);
        vm.prank(address(marketplace));
        vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientLockedStake.selector, 100e18, 200e18));
        staking.slash(prover, TASK, 200e18, 60e18, slashRecipient);
    }

    // ---------------------------------------------------------------- views

    function test_ViewsOfUnknownProver() public view {
        _assertStake(stranger, 0, 0);
        _assertUnbonding(stranger, 0, 0);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_lockNeverExceedsStake(uint128 deposit, uint128 withdrawal, uint256[4] memory locks) public {
        deposit = uint128(bound(deposit, 1, type(uint128).max));
        _deposit(prover, deposit);
        withdrawal = uint128(bound(withdrawal, 0, deposit));
        if (withdrawal != 0) {
            vm.prank(prover);
            staking.requestWithdrawal(withdrawal);
        }
        for (uint256 i; i < locks.length; ++i) {
            (uint128 staked, uint128 locked) = staking.stakeOf(prover);
            uint256 free = staked - locked;
            uint256 amount = bound(locks[i], 0, uint256(staked) + 1);
            vm.prank(address(marketplace));
            if (amount > free) {
                vm.expectRevert(abi.encodeWithSelector(INativeStaking.InsufficientStake.selector, free, amount));
                staking.lock(prover, i, amount, type(uint32).max);
            } else {
                staking.lock(prover, i, amount, type(uint32).max);
            }
            (staked, locked) = staking.stakeOf(prover);
            assertLe(locked, staked);
            assertEq(staked, deposit - withdrawal);
        }
    }

    function testFuzz_slashAccounting(uint128 deposit, uint128 lockAmount, uint128 lockedArg, uint128 penalty) public {
        deposit = uint128(bound(deposit, 1, type(uint128).max));
        lockAmount = uint128(bound(lockAmount, 0, deposit));
        lockedArg = uint128(bound(lockedArg, 0, lockAmount));
        penalty = uint128(bound(penalty, 0, lockedArg));
        _deposit(prover, deposit);
        _lock(prover, TASK, lockAmount);

        vm.prank(address(marketplace));
        uint256 paid = staking.slash(prover, TASK, lockedArg, penalty, slashRecipient);

        assertEq(paid, penalty);
        assertEq(stakeToken.balanceOf(slashRecipient), penalty);
        assertEq(stakeToken.balanceOf(address(staking)), uint256(deposit) - penalty);
        _assertStake(prover, uint256(deposit) - penalty, uint256(lockAmount) - lockedArg);
    }
}

/// @notice Drives NativeStaking with bounded random operations across three provers.
contract NativeStakingHandler is CommonBase, StdCheats, StdUtils {
    NativeStaking public immutable staking;
    DevToken public immutable token;
    address public immutable marketplace;
    address public immutable slashRecipient = address(0x5a5a);
    address public immutable withdrawRecipient = address(0x7e7e);

    address[3] internal _provers = [address(0x1001), address(0x1002), address(0x1003)];
    uint256 public nextTaskId;

    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    uint256 public ghostSlashed;
    mapping(bytes4 => uint256) public calls;

    constructor(NativeStaking staking_, DevToken token_, address marketplace_) {
        staking = staking_;
        token = token_;
        marketplace = marketplace_;
    }

    function provers() external view returns (address[3] memory) {
        return _provers;
    }

    function _prover(uint256 seed) internal view returns (address) {
        return _provers[seed % 3];
    }

    function deposit(uint256 proverSeed, uint256 amount) external {
        address p = _prover(proverSeed);
        amount = bound(amount, 1, 1e30);
        token.mint(address(this), amount);
        token.approve(address(staking), amount);
        staking.deposit(p, amount);
        ghostDeposited += amount;
        ++calls[this.deposit.selector];
    }

    function requestWithdrawal(uint256 proverSeed, uint256 amount) external {
        address p = _prover(proverSeed);
        uint256 free = staking.availableStake(p);
        if (free == 0) return;
        amount = bound(amount, 1, free);
        vm.prank(p);
        staking.requestWithdrawal(amount);
        ++calls[this.requestWithdrawal.selector];
    }

    function cancelWithdrawal(uint256 proverSeed) external {
        address p = _prover(proverSeed);
        (uint128 unbonding,) = staking.unbondingOf(p);
        if (unbonding == 0) return;
        vm.prank(p);
        staking.cancelWithdrawal();
        ++calls[this.cancelWithdrawal.selector];
    }

    function withdraw(uint256 proverSeed, uint256 extraWait) external {
        address p = _prover(proverSeed);
        (uint128 unbonding, uint64 availableAt) = staking.unbondingOf(p);
        if (unbonding == 0) return;
        if (Clock.timestamp() < availableAt) vm.warp(availableAt + bound(extraWait, 0, 1 days));
        vm.prank(p);
        staking.withdraw(withdrawRecipient);
        ghostWithdrawn += unbonding;
        ++calls[this.withdraw.selector];
    }

    function lock(uint256 proverSeed, uint256 amount) external {
        address p = _prover(proverSeed);
        uint256 free = staking.availableStake(p);
        amount = bound(amount, 0, free);
        vm.prank(marketplace);
        staking.lock(p, nextTaskId++, amount, type(uint32).max);
        ++calls[this.lock.selector];
    }

    function unlock(uint256 proverSeed, uint256 amount) external {
        address p = _prover(proverSeed);
        (, uint128 locked) = staking.stakeOf(p);
        amount = bound(amount, 0, locked);
        vm.prank(marketplace);
        staking.unlock(p, nextTaskId++, amount);
        ++calls[this.unlock.selector];
    }

    function slash(uint256 proverSeed, uint256 lockedAmount, uint256 penalty) external {
        address p = _prover(proverSeed);
        (, uint128 locked) = staking.stakeOf(p);
        lockedAmount = bound(lockedAmount, 0, locked);
        penalty = bound(penalty, 0, lockedAmount);
        vm.prank(marketplace);
        uint256 paid = staking.slash(p, nextTaskId++, lockedAmount, penalty, slashRecipient);
        ghostSlashed += paid;
        ++calls[this.slash.selector];
    }
}

contract NativeStakingInvariantTest is Test {
    uint64 internal constant UNBONDING = 7 days;

    DevToken internal token;
    NativeStaking internal staking;
    NativeStakingHandler internal handler;
    address internal marketplace = makeAddr("marketplace");

    function setUp() public {
        vm.warp(1_750_000_000);
        token = new DevToken("Stake", "STK");
        staking = new NativeStaking(address(token), marketplace, UNBONDING);
        handler = new NativeStakingHandler(staking, token, marketplace);

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = NativeStakingHandler.deposit.selector;
        selectors[1] = NativeStakingHandler.requestWithdrawal.selector;
        selectors[2] = NativeStakingHandler.cancelWithdrawal.selector;
        selectors[3] = NativeStakingHandler.withdraw.selector;
        selectors[4] = NativeStakingHandler.lock.selector;
        selectors[5] = NativeStakingHandler.unlock.selector;
        selectors[6] = NativeStakingHandler.slash.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function invariant_lockedNeverExceedsStaked() public view {
        address[3] memory ps = handler.provers();
        for (uint256 i; i < 3; ++i) {
            (uint128 staked, uint128 locked) = staking.stakeOf(ps[i]);
            assertLe(locked, staked);
            assertEq(staking.availableStake(ps[i]), staked - locked);
        }
    }

    function invariant_tokenBalanceCoversStake() public view {
        address[3] memory ps = handler.provers();
        uint256 total;
        for (uint256 i; i < 3; ++i) {
            (uint128 staked,) = staking.stakeOf(ps[i]);
            (uint128 unbonding,) = staking.unbondingOf(ps[i]);
            total += uint256(staked) + unbonding;
        }
        assertEq(token.balanceOf(address(staking)), total);
    }

    function invariant_tokenFlowsAddUp() public view {
        assertEq(
            token.balanceOf(address(staking)),
            handler.ghostDeposited() - handler.ghostWithdrawn() - handler.ghostSlashed()
        );
        assertEq(token.balanceOf(handler.slashRecipient()), handler.ghostSlashed());
        assertEq(token.balanceOf(handler.withdrawRecipient()), handler.ghostWithdrawn());
    }
}
