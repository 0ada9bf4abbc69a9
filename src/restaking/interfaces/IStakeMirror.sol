// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IStakeSource} from "../../interfaces/IStakeSource.sol";
import {Snapshot} from "../../types/Snapshot.sol";
import {SlashOutcome, SlashStatus} from "../../types/SlashOutcome.sol";
import {IOperatorQuorum} from "./IOperatorQuorum.sol";

/// @title IStakeMirror
/// @notice Restaked stake of one collateral token, mirrored per epoch from Cairn's Symbiotic network on Ethereum, as
/// a stake source for markets: relayers commit one Merkle root of (prover, vault, token, stake) leaves per epoch on a
/// quorum of independent admitted operators (IOperatorQuorum), provers prove their own leaves, tasks lock stake at
/// the capture it was read at, and missed deadlines queue slashes for Ethereum whose outcomes come back the same way.
/// See StakeMirror for the rules that make a restaked slash land.
interface IStakeMirror is IStakeSource, IOperatorQuorum {
    // ---------------------------------------------------------------- errors

    error NotMarketplace();
    error EpochOutOfOrder(uint64 expected, uint64 got);
    error CaptureNotIncreasing(uint48 previous, uint48 got);
    error CaptureNotInThePast(uint48 captureTimestamp);
    error InvalidStakeProof();
    error LeafAlreadyProven(address prover, address vault);
    error InsufficientStake(uint256 available, uint256 required);
    /// Enough stake is free, but only behind captures that can no longer be slashed in time for this deadline: its
    /// deadline plus the slash delay falls after their slashing window (`latestDeadline`, the latest among them).
    /// Prove the vault's leaf of the current epoch, or ask for a shorter proving time.
    error TaskOutlivesSlashingWindow(uint256 deadline, uint256 latestDeadline);
    error UnknownLock(uint256 taskId);
    error NotSnapshotTransport(address caller);
    error EmptyBatch();
    error UnknownSlash(bytes32 orderId);
    error SlashAlreadySettled(bytes32 orderId, SlashStatus status);
    error SlashVaultMismatch(bytes32 orderId, address expected, address got);
    error NotAnOutcome(bytes32 orderId, SlashStatus status);
    error UnexecutedSlashWithAmount(bytes32 orderId, uint256 slashed);
    error SlashedExceedsPenalty(bytes32 orderId, uint256 slashed, uint256 penalty);
    /// An execution is reported only once a snapshot captured at or after it is committed, so every leaf proven from
    /// then on shows it.
    error OutcomeAheadOfSnapshot(bytes32 orderId, uint48 settledAt, uint48 captureTimestamp);

    // ---------------------------------------------------------------- events

    event SnapshotCommitted(
        uint64 indexed epoch,
        uint48 captureTimestamp,
        uint48 slashingWindow,
        bytes32 stakeRoot,
        uint256 totalStake,
        uint32 leafCount
    );
    /// @notice A leaf proven: `stake` as committed, `counted` what backs tasks (capped at 2^96 - 1).
    event StakeProven(
        uint64 indexed epoch, address indexed prover, address indexed vault, uint256 stake, uint256 counted
    );
    event StakeLocked(
        address indexed prover, uint256 indexed taskId, address vault, uint256 amount, uint48 captureTimestamp
    );
    event StakeUnlocked(address indexed prover, uint256 indexed taskId, uint256 amount);
    /// @notice A slash for Ethereum, at the capture its task's stake was read at: the relayers deliver it to the
    /// network middleware.
    event SlashQueued(
        bytes32 indexed orderId,
        uint256 indexed taskId,
        address prover,
        address vault,
        uint256 amount,
        uint48 captureTimestamp
    );
    /// @notice A queued slash's outcome on Ethereum: executed (`slashed` left the vault), vetoed by the vault's
    /// resolver, or failed for good; a veto or failure releases the penalty. `leaf` is the prover's stake in the vault
    /// as of its latest proven leaf afterwards.
    event SlashSettled(
        bytes32 indexed orderId,
        address indexed prover,
        address indexed vault,
        SlashStatus status,
        uint256 slashed,
        uint256 leaf
    );
    event SlashDelaySet(uint48 slashDelay);
    event SnapshotTransportSet(address transport);

    // ---------------------------------------------------------------- structs

    /// One slot per epoch.
    struct Epoch {
        uint48 captureTimestamp;
        uint48 slashingWindow;
        bytes32 stakeRoot;
    }

    /// A prover's stake in one vault (two slots).
    struct VaultStake {
        /// Epoch of the latest proven leaf.
        uint64 epoch;
        /// The latest leaf's stake, less executions settled after its capture.
        uint96 leaf;
        /// The least stake, net of executed slashes, among the captures of outstanding locks and queued slashes and
        /// the latest leaf: what they may all be slashed from. Equal to `leaf` when nothing is outstanding.
        uint96 floor;
        uint128 locked;
        /// Penalties queued and not yet settled on Ethereum.
        uint128 pending;
    }

    /// A task's lock (one slot).
    struct Lock {
        /// Capture of the epoch the stake was proven in; zero when there is no lock.
        uint48 captureTimestamp;
        /// Index of the vault in the prover's vault list.
        uint32 vaultIndex;
        uint96 amount;
    }

    /// A slash queued for Ethereum, by order id.
    struct QueuedSlash {
        address prover;
        uint96 penalty;
        address vault;
        SlashStatus status;
    }

    // ---------------------------------------------------------------- snapshots

    /// @notice Commits the next epoch's stake root, signed by a quorum of admitted relayer operators (one signature
    /// per operator, ordered by operator address, ascending); anyone may submit.
    function commitSnapshot(Snapshot calldata s, bytes[] calldata signatures) external;

    /// @notice Delivers a snapshot through the configured transport instead of the relayer quorum; the same epoch
    /// rules apply.
    function receiveSnapshot(Snapshot calldata s) external;

    /// @notice Proves a (prover, vault, stake) leaf of the current epoch; anyone may submit. The leaf's stake (at
    /// most 2^96 - 1 of it) becomes the vault's latest leaf, and new tasks on the vault are locked at its capture,
    /// within its slashing window, until the next proof; while the prover has locks or queued slashes in the vault
    /// a lower leaf also lowers the floor they are all slashed from, a higher one only counts once they have ended.
    function proveStake(address prover, address vault, uint256 stake, bytes32[] calldata proof) external;

    // ---------------------------------------------------------------- slash outcomes

    /// @notice Records the final outcomes on Ethereum of queued slashes, signed by a quorum of admitted relayer
    /// operators (as for snapshots); anyone may submit. A vetoed or failed slash releases the penalty it held back;
    /// an executed one becomes final. Every outcome must name a queued, unsettled slash and its vault.
    function reportSlashOutcomes(SlashOutcome[] calldata outcomes, bytes[] calldata signatures) external;

    /// @notice Delivers slash outcomes through the configured transport instead of the relayer quorum; the same rules
    /// apply.
    function receiveSlashOutcomes(SlashOutcome[] calldata outcomes) external;

    // ---------------------------------------------------------------- governance

    /// @notice Sets (or, with zero, removes) the transport allowed to deliver snapshots and slash outcomes without
    /// signatures; the owner only.
    function setSnapshotTransport(address transport) external;

    /// @notice Sets the time a slash needs from a task's deadline to its execution on Ethereum (see `slashDelay`);
    /// the owner only.
    function setSlashDelay(uint48 delay) external;

    // ---------------------------------------------------------------- views

    /// @notice EIP-712 typehash of `StakeSnapshot` (types/Snapshot.sol).
    function SNAPSHOT_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 typehash of `SlashOutcome` (types/SlashOutcome.sol).
    function SLASH_OUTCOME_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 typehash of `SlashOutcomes` (types/SlashOutcome.sol): what relayers sign for outcomes.
    function SLASH_OUTCOMES_TYPEHASH() external view returns (bytes32);

    /// @notice The only caller of `lock`, `unlock` and `slash`.
    function marketplace() external view returns (address);

    /// @notice Time a slash needs from a task's deadline to its execution on Ethereum: relaying, finality, and for
    /// veto vaults the room to finalize after the veto window. A task is locked only if its deadline plus this
    /// delay falls within the slashing window of the capture it is locked at.
    function slashDelay() external view returns (uint48);

    /// @notice The latest committed epoch (zero before the first snapshot).
    function currentEpoch() external view returns (uint64);

    /// @notice A trusted message receiver (e.g. a canonical bridge's) that may deliver Ethereum's messages, snapshots
    /// and slash outcomes, without relayer signatures; zero while only the relayer quorum delivers.
    function snapshotTransport() external view returns (address);

    /// @notice A committed epoch: its capture, slashing window and stake root.
    function epochs(uint64 epoch)
        external
        view
        returns (uint48 captureTimestamp, uint48 slashingWindow, bytes32 stakeRoot);

    /// @notice A prover's stake in one vault (see VaultStake).
    function vaultStake(address prover, address vault)
        external
        view
        returns (uint64 epoch, uint96 leaf, uint96 floor, uint128 locked, uint128 pending);

    /// @notice A task's lock (see Lock); all zero when there is none.
    function locks(uint256 taskId) external view returns (uint48 captureTimestamp, uint32 vaultIndex, uint96 amount);

    /// @notice A queued slash, by order id (see QueuedSlash).
    function slashes(bytes32 orderId)
        external
        view
        returns (address prover, uint96 penalty, address vault, SlashStatus status);

    /// @notice The latest deadline a task locked on a leaf of the current epoch may have: the current capture plus
    /// its slashing window, less the slash delay (zero before the first snapshot). What proving a vault's leaf now
    /// would give it; `latestDeadlineOf` is what its leaf gives today.
    function latestDeadline() external view returns (uint256);

    /// @notice The latest deadline a task locked now on `prover`'s stake in `vault` may have: the capture of the
    /// vault's latest proven leaf plus that epoch's slashing window, less the slash delay (zero when none is proven).
    function latestDeadlineOf(address prover, address vault) external view returns (uint256);

    /// @notice Stake of `prover` in `vault` that can back a new task now (zero once its leaf's window, less the
    /// slash delay, has passed).
    function freeStake(address prover, address vault) external view returns (uint256);

    /// @notice The vaults a prover has proven stake in.
    function proverVaults(address prover) external view returns (address[] memory);

    /// @notice The EIP-712 digest relayers sign for a snapshot (`StakeSnapshot` in this mirror's stake token, under
    /// its domain).
    function snapshotDigest(Snapshot calldata s) external view returns (bytes32);

    /// @notice The EIP-712 digest relayers sign for a batch of slash outcomes (`SlashOutcomes`, under this mirror's
    /// domain).
    function slashOutcomesDigest(SlashOutcome[] calldata outcomes) external view returns (bytes32);
}
