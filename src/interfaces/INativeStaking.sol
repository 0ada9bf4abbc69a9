// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IStakeSource} from "./IStakeSource.sol";

/// @title INativeStaking
/// @notice Stake held on the marketplace chain in one ERC20 token.
interface INativeStaking is IStakeSource {
    error ZeroAmount();
    error ZeroAddress();
    error NotMarketplace();
    error InsufficientStake(uint256 available, uint256 required);
    error InsufficientLockedStake(uint256 locked, uint256 required);
    error PenaltyExceedsLock(uint256 penalty, uint256 locked);
    error NothingUnbonding();
    error UnbondingNotFinished(uint256 availableAt);
    error AmountTooLarge();

    event Deposited(address indexed prover, address indexed from, uint256 amount);
    event WithdrawalRequested(address indexed prover, uint256 amount, uint256 totalUnbonding, uint64 availableAt);
    event WithdrawalCancelled(address indexed prover, uint256 amount);
    event Withdrawn(address indexed prover, address indexed to, uint256 amount);
    event StakeLocked(address indexed prover, uint256 indexed taskId, uint256 amount);
    event StakeUnlocked(address indexed prover, uint256 indexed taskId, uint256 amount);
    event StakeSlashed(address indexed prover, uint256 indexed taskId, uint256 penalty, address recipient);

    /// @notice Adds `amount` to `prover`'s stake, pulled from msg.sender.
    function deposit(address prover, uint256 amount) external;

    /// @notice Starts unbonding `amount` of msg.sender's unlocked stake; it stops backing tasks at once and can be
    /// withdrawn after the unbonding period. A new request restarts the period for everything unbonding.
    function requestWithdrawal(uint256 amount) external;

    /// @notice Returns everything unbonding to active stake.
    function cancelWithdrawal() external;

    /// @notice Sends msg.sender's fully unbonded stake to `to`.
    function withdraw(address to) external;

    /// @notice Seconds between a withdrawal request and the withdrawal.
    function unbondingPeriod() external view returns (uint64);

    /// @notice Staked (including locked) and locked amounts of `prover`.
    function stakeOf(address prover) external view returns (uint128 staked, uint128 locked);

    /// @notice Amount unbonding and when it can be withdrawn.
    function unbondingOf(address prover) external view returns (uint128 amount, uint64 availableAt);
}
