// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {INativeStaking} from "../interfaces/INativeStaking.sol";
import {IStakeSource} from "../interfaces/IStakeSource.sol";
import {Clock} from "../libraries/Clock.sol";

/// @title NativeStaking
/// @notice Provers' stake on the marketplace chain, in one ERC20 token: deposits (by anyone, for a prover),
/// withdrawals behind an unbonding period, per-task locks and slashing, all driven by the marketplace.
/// @dev Unbonding stake leaves `staked` at once, so it can never back a new task; locked stake cannot start
/// unbonding, so a task's stake stays slashable until the marketplace unlocks or slashes it.
contract NativeStaking is INativeStaking, ReentrancyGuardTransient {
    /// Packed in one slot, read and written together by lock, unlock and slash.
    struct Stake {
        uint128 staked;
        uint128 locked;
    }

    struct Unbonding {
        uint128 amount;
        uint64 availableAt;
    }

    address public immutable override stakeToken;
    address public immutable marketplace;
    uint64 public immutable override unbondingPeriod;

    mapping(address prover => Stake) internal _stakes;
    mapping(address prover => Unbonding) internal _unbondings;

    /// @param token_ The stake token.
    /// @param marketplace_ The only contract allowed to lock, unlock and slash.
    /// @param unbondingPeriod_ Seconds between a withdrawal request and the withdrawal.
    constructor(address token_, address marketplace_, uint64 unbondingPeriod_) {
        if (token_ == address(0) || marketplace_ == address(0)) revert ZeroAddress();
        stakeToken = token_;
        marketplace = marketplace_;
        unbondingPeriod = unbondingPeriod_;
    }

    modifier onlyMarketplace() {
        if (msg.sender != marketplace) revert NotMarketplace();
        _;
    }

    /// @inheritdoc INativeStaking
    function deposit(address prover, uint256 amount) external nonReentrant {
        if (prover == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Stake storage stake = _stakes[prover];
        uint256 staked = uint256(stake.staked) + amount;
        if (staked > type(uint128).max) revert AmountTooLarge();
        // forge-lint: disable-next-line(unsafe-typecast): staked ≤ type(uint128).max is checked on the line above
        stake.staked = uint128(staked);
        emit Deposited(prover, msg.sender, amount);
        emit LockableStakeChanged(prover);
        SafeTransferLib.safeTransferFrom(stakeToken, msg.sender, address(this), amount);
    }

    /// @inheritdoc INativeStaking
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Stake storage stake = _stakes[msg.sender];
        uint256 free = stake.staked - stake.locked;
        if (amount > free) revert InsufficientStake(free, amount);
        // forge-lint: disable-next-line(unsafe-typecast): amount ≤ free < 2^128 is checked above
        stake.staked -= uint128(amount);
        Unbonding storage unbonding = _unbondings[msg.sender];
        // forge-lint: disable-next-line(unsafe-typecast): amount ≤ free < 2^128 is checked above
        uint128 total = unbonding.amount + uint128(amount);
        uint64 availableAt = Clock.timestamp64() + unbondingPeriod;
        unbonding.amount = total;
        unbonding.availableAt = availableAt;
        emit WithdrawalRequested(msg.sender, amount, total, availableAt);
        emit LockableStakeChanged(msg.sender);
    }

    /// @inheritdoc INativeStaking
    function cancelWithdrawal() external {
        Unbonding memory unbonding = _unbondings[msg.sender];
        if (unbonding.amount == 0) revert NothingUnbonding();
        delete _unbondings[msg.sender];
        _stakes[msg.sender].staked += unbonding.amount;
        emit WithdrawalCancelled(msg.sender, unbonding.amount);
        emit LockableStakeChanged(msg.sender);
    }

    /// @inheritdoc INativeStaking
    function withdraw(address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        Unbonding memory unbonding = _unbondings[msg.sender];
        if (unbonding.amount == 0) revert NothingUnbonding();
        if (Clock.timestamp() < unbonding.availableAt) revert UnbondingNotFinished(unbonding.availableAt);
        delete _unbondings[msg.sender];
        emit Withdrawn(msg.sender, to, unbonding.amount);
        SafeTransferLib.safeTransfer(stakeToken, to, unbonding.amount);
    }

    /// @inheritdoc IStakeSource
    /// @dev Native stake stays slashable for as long as it is locked: locked stake cannot start unbonding, so any
    /// deadline is fine.
    function lock(address prover, uint256 taskId, uint256 amount, uint256) external onlyMarketplace {
        Stake memory stake = _stakes[prover];
        uint256 free = stake.staked - stake.locked;
        if (amount > free) revert InsufficientStake(free, amount);
        // Cannot overflow: locked + amount ≤ staked ≤ type(uint128).max.
        // forge-lint: disable-next-line(unsafe-typecast): amount ≤ free < 2^128 is checked above
        _stakes[prover].locked = stake.locked + uint128(amount);
        emit StakeLocked(prover, taskId, amount);
    }

    /// @inheritdoc IStakeSource
    function unlock(address prover, uint256 taskId, uint256 amount) external onlyMarketplace {
        Stake storage stake = _stakes[prover];
        uint128 locked = stake.locked;
        if (amount > locked) revert InsufficientLockedStake(locked, amount);
        // forge-lint: disable-next-line(unsafe-typecast): amount ≤ locked < 2^128 is checked above
        stake.locked = locked - uint128(amount);
        emit StakeUnlocked(prover, taskId, amount);
    }

    /// @inheritdoc IStakeSource
    function slash(address prover, uint256 taskId, uint256 locked, uint256 penalty, address recipient)
        external
        onlyMarketplace
        nonReentrant
        returns (uint256 paid)
    {
        if (penalty > locked) revert PenaltyExceedsLock(penalty, locked);
        Stake memory stake = _stakes[prover];
        if (locked > stake.locked) revert InsufficientLockedStake(stake.locked, locked);
        // Cannot underflow: penalty ≤ locked ≤ stake.locked ≤ stake.staked.
        // forge-lint: disable-next-line(unsafe-typecast): penalty ≤ locked ≤ stake.locked < 2^128 are checked above
        _stakes[prover] = Stake({staked: stake.staked - uint128(penalty), locked: stake.locked - uint128(locked)});
        emit StakeSlashed(prover, taskId, penalty, recipient);
        if (penalty != 0) SafeTransferLib.safeTransfer(stakeToken, recipient, penalty);
        return penalty;
    }

    /// @inheritdoc IStakeSource
    function availableStake(address prover) external view returns (uint256) {
        Stake memory stake = _stakes[prover];
        return stake.staked - stake.locked;
    }

    /// @inheritdoc INativeStaking
    function stakeOf(address prover) external view returns (uint128 staked, uint128 locked) {
        Stake memory stake = _stakes[prover];
        return (stake.staked, stake.locked);
    }

    /// @inheritdoc INativeStaking
    function unbondingOf(address prover) external view returns (uint128 amount, uint64 availableAt) {
        Unbonding memory unbonding = _unbondings[prover];
        return (unbonding.amount, unbonding.availableAt);
    }
}
