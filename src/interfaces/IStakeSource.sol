// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IStakeSource
/// @notice Where a market locks and slashes provers' stake. Native stake on the marketplace chain is one source;
/// restaked stake mirrored from Ethereum is another; the marketplace does not care which.
/// @dev Only the marketplace may lock, unlock and slash. A lock lasts until the task ends (unlock or slash), so
/// stake backing a task can never be withdrawn before its outcome is final.
///
/// Indexers (the matcher) follow a source without decoding its own events. The marketplace's `lock`, `unlock` and
/// `slash` calls are announced by the marketplace's events for the task (assigned; fulfilled, rejected or slashed),
/// so they cost no extra log on that hot path. Every other transaction that changes what `availableStake` returns
/// for a prover emits `LockableStakeChanged(prover)`, and one that may change it for every prover at once (a new
/// stake snapshot, a new rule) emits `AllLockableStakeChanged()`. Re-reading `availableStake` at the block of each
/// such event sees every change a transaction makes. The one change no transaction makes is time, and time only ever
/// lowers `availableStake`: a source whose stake can be slashed only for a limited time after it was read stops
/// counting it, without an event, once that time has run out (the StakeMirror: a vault's latest leaf, when its
/// capture's slashing window less the slash delay has passed, however many epochs after it was proven); it counts
/// again only through a transaction that emits one of the events above (the leaf proven anew). A lock refused then
/// is a reader's signal to re-read. `availableStake` is what can back some task now: a task whose deadline outlives
/// the window of the stake it would lock is still refused (see `lock`).
interface IStakeSource {
    /// @notice What `availableStake(prover)` returns may have changed in this transaction (other than through the
    /// marketplace's lock, unlock or slash): re-read it.
    event LockableStakeChanged(address indexed prover);

    /// @notice What `availableStake` returns may have changed for every prover in this transaction: re-read them all.
    event AllLockableStakeChanged();

    /// @notice Token the stake is denominated in (what a slash pays out).
    function stakeToken() external view returns (address);

    /// @notice Stake of `prover` that is neither locked nor on its way out.
    function availableStake(address prover) external view returns (uint256);

    /// @notice Locks `amount` of `prover`'s stake for `taskId`, due by `deadline`; reverts when not enough is
    /// available, or when a slash decided at `deadline` could no longer reach the stake (a source whose stake can
    /// only be slashed for a limited time after it was read refuses tasks that outlive that window).
    function lock(address prover, uint256 taskId, uint256 amount, uint256 deadline) external;

    /// @notice Releases the lock of `taskId` after the task ended without a slash.
    function unlock(address prover, uint256 taskId, uint256 amount) external;

    /// @notice Ends the lock of `taskId` by slashing `penalty` of the `locked` amount; the remainder is unlocked.
    /// @return paid Stake tokens transferred to `recipient` now. A source that settles elsewhere (e.g. on Ethereum)
    /// returns less and pays the rest through its own channel.
    function slash(address prover, uint256 taskId, uint256 locked, uint256 penalty, address recipient)
        external
        returns (uint256 paid);
}
