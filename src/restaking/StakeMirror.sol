// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {MerkleProofLib} from "solady/utils/MerkleProofLib.sol";
import {IStakeSource} from "../interfaces/IStakeSource.sol";
import {ITeeRegistry} from "../attestation/interfaces/ITeeRegistry.sol";
import {OperatorQuorum} from "../libraries/OperatorQuorum.sol";
import {Clock} from "../libraries/Clock.sol";

/// @title StakeMirror
/// @notice Restaked stake of one collateral token, mirrored per epoch from Cairn's Symbiotic network on Ethereum, as
/// a stake source for markets. Relayers commit one Merkle root per epoch, accepted on a quorum of independent admitted
/// operators (OperatorQuorum), so the commit costs the same for 10 or 10,000 operators; a prover proves its own
/// (vault, stake) leaves when it needs the stake.
///
/// Freshness: a vault's latest proven leaf backs new tasks for as long as its own capture can still be slashed in
/// time, not only during its own epoch. Symbiotic lets a slash at capture `c` take the stake read at `c` until
/// `c` + the vault's epoch (less the veto window: the snapshot's `slashingWindow`), whatever was withdrawn or
/// captured since. So a task locked on the leaf of epoch `e` is locked *at `e`'s capture* and only if its deadline +
/// `slashDelay` falls within `e`'s window; new snapshots do not interrupt a prover's stake until its next proof.
///
/// What makes a restaked slash land:
/// - Each lock remembers the capture its stake was read at (its vault's leaf epoch, which may be older than the
///   current epoch), and its slash is queued at that capture: stake withdrawn on Ethereum later (and a lower leaf
///   proven or merely committed since) does not shrink it.
/// - A task is only locked when a slash decided at its deadline still reaches the vault in time: deadline +
///   `slashDelay` (bridging, finality, veto finalization) within the slashing window of the capture it is locked at,
///   which the snapshot carries from the middleware (the shortest window among the opted-in vaults). A leaf whose
///   window, less the slash delay, has passed backs nothing.
/// - Symbiotic counts every slash executed after a capture against that capture's stake. So while any lock or queued
///   slash of a vault is outstanding, the vault's lockable stake is the *least* stake among the captures they were
///   taken at and the latest leaf (`floor`), less everything locked and queued: every outstanding slash then fits in
///   every capture it might be executed against, whatever order they land in. With nothing outstanding, the floor
///   is the latest leaf again. Locks on an older leaf change nothing here: every lock and queued slash is still at
///   the capture of a leaf this vault proved, and every such leaf entered the floor when it was proven. A snapshot
///   committed after the leaf, and never proven, showing less stake (a withdrawal, another network's slash, Cairn's
///   own executed slash) is no capture any of Cairn's slashes uses: the middleware slashes at the order's capture or
///   at the latest capture Cairn already slashed the operator at, both captures of proven leaves. At the leaf's own
///   capture, Symbiotic still counts the stake read then, less Cairn's slashes executed after it: those are either
///   still pending here (held back) or reported and taken out of the floor and, when the leaf predates them, of the
///   leaf.
/// - A queued slash's penalty stays held back until its outcome on Ethereum comes back (quorum-signed like a
///   snapshot): a veto or a failure releases it, an execution makes it final.
/// @dev Leaf = keccak256(bytes.concat(keccak256(abi.encode(prover, vault, token, stake)))); sorted-pair tree.
contract StakeMirror is IStakeSource, Ownable, EIP712 {
    error ZeroAddress();
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
    error ThresholdOutOfRange();
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
    event ThresholdSet(uint8 threshold);
    event SlashDelaySet(uint48 slashDelay);
    event SnapshotTransportSet(address transport);

    enum SlashStatus {
        None,
        /// Queued for Ethereum, outcome not yet reported: its penalty is held back.
        Queued,
        Executed,
        Vetoed,
        /// The middleware could never execute it (recorded on Ethereum as Failed).
        Failed
    }

    struct Snapshot {
        uint64 epoch;
        uint48 captureTimestamp;
        /// How long after the capture every opted-in vault's stake can still be slashed (middleware.slashingWindow).
        uint48 slashingWindow;
        bytes32 stakeRoot;
        uint256 totalStake;
        uint32 leafCount;
    }

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

    /// The final outcome on Ethereum of a queued slash, reported back by the relayer quorum or the transport.
    struct SlashOutcome {
        /// The id the slash was queued under: keccak256(abi.encode(chainId, mirror, taskId)).
        bytes32 orderId;
        /// The vault it was queued against (checked).
        address vault;
        /// Executed, Vetoed or Failed.
        SlashStatus status;
        /// Collateral actually slashed (0 unless executed; at most the penalty).
        uint256 slashed;
        /// Ethereum timestamp of the block that settled it (executed: captures from then on show the slash).
        uint48 settledAt;
    }

    bytes32 public constant SNAPSHOT_TYPEHASH = keccak256(
        "StakeSnapshot(address token,uint64 epoch,uint48 captureTimestamp,uint48 slashingWindow,bytes32 stakeRoot,uint256 totalStake,uint32 leafCount)"
    );
    bytes32 public constant SLASH_OUTCOME_TYPEHASH =
        keccak256("SlashOutcome(bytes32 orderId,address vault,uint8 status,uint256 slashed,uint48 settledAt)");
    bytes32 public constant SLASH_OUTCOMES_TYPEHASH = keccak256(
        "SlashOutcomes(SlashOutcome[] outcomes)SlashOutcome(bytes32 orderId,address vault,uint8 status,uint256 slashed,uint48 settledAt)"
    );

    /// @inheritdoc IStakeSource
    address public immutable stakeToken;
    address public immutable marketplace;
    ITeeRegistry public immutable relayers;

    /// @notice Relayer operators a snapshot or a batch of outcomes needs at least (and never fewer than a strict
    /// majority of the admitted relayer operators).
    uint8 public threshold;
    /// @notice Time a slash needs from a task's deadline to its execution on Ethereum: relaying, finality, and for
    /// veto vaults the room to finalize after the veto window. A task is locked only if its deadline plus this
    /// delay falls within the slashing window of the capture it is locked at.
    uint48 public slashDelay;
    uint64 public currentEpoch;
    /// @notice A trusted message receiver (e.g. a canonical bridge's) that may deliver Ethereum's messages, snapshots
    /// and slash outcomes, without relayer signatures; zero while only the relayer quorum delivers.
    address public snapshotTransport;
    mapping(uint64 epoch => Epoch) public epochs;
    mapping(address prover => address[] vaults) internal _proverVaults;
    mapping(address prover => mapping(address vault => VaultStake)) public vaultStake;
    mapping(uint256 taskId => Lock) public locks;
    mapping(bytes32 orderId => QueuedSlash) public slashes;

    constructor(
        address owner_,
        address marketplace_,
        ITeeRegistry relayers_,
        address token_,
        uint8 threshold_,
        uint48 slashDelay_
    ) {
        if (
            owner_ == address(0) || marketplace_ == address(0) || address(relayers_) == address(0)
                || token_ == address(0)
        ) {
            revert ZeroAddress();
        }
        if (threshold_ == 0) revert ThresholdOutOfRange();
        _initializeOwner(owner_);
        marketplace = marketplace_;
        relayers = relayers_;
        stakeToken = token_;
        threshold = threshold_;
        slashDelay = slashDelay_;
        emit ThresholdSet(threshold_);
        emit SlashDelaySet(slashDelay_);
    }

    modifier onlyMarketplace() {
        if (msg.sender != marketplace) revert NotMarketplace();
        _;
    }

    // ---------------------------------------------------------------- snapshots

    /// @notice Commits the next epoch's stake root, signed by a quorum of admitted relayer operators (one signature
    /// per operator, ordered by operator address, ascending); anyone may submit.
    function commitSnapshot(Snapshot calldata s, bytes[] calldata signatures) external {
        OperatorQuorum.check(relayers, threshold, snapshotDigest(s), signatures);
        _accept(s);
    }

    /// @notice Delivers a snapshot through the configured transport instead of the relayer quorum; the same epoch
    /// rules apply.
    function receiveSnapshot(Snapshot calldata s) external {
        if (msg.sender != snapshotTransport) revert NotSnapshotTransport(msg.sender);
        _accept(s);
    }

    function _accept(Snapshot calldata s) internal {
        uint64 expected = currentEpoch + 1;
        if (currentEpoch != 0 && s.epoch != expected) revert EpochOutOfOrder(expected, s.epoch);
        uint48 previous = epochs[currentEpoch].captureTimestamp;
        if (s.captureTimestamp <= previous) revert CaptureNotIncreasing(previous, s.captureTimestamp);
        if (s.captureTimestamp >= Clock.timestamp()) revert CaptureNotInThePast(s.captureTimestamp);
        currentEpoch = s.epoch;
        epochs[s.epoch] = Epoch(s.captureTimestamp, s.slashingWindow, s.stakeRoot);
        emit SnapshotCommitted(s.epoch, s.captureTimestamp, s.slashingWindow, s.stakeRoot, s.totalStake, s.leafCount);
        emit AllLockableStakeChanged();
    }

    /// @notice Proves a (prover, vault, stake) leaf of the current epoch; anyone may submit. The leaf's stake (at
    /// most 2^96 - 1 of it) becomes the vault's latest leaf, and new tasks on the vault are locked at its capture,
    /// within its slashing window, until the next proof; while the prover has locks or queued slashes in the vault
    /// a lower leaf also lowers the floor they are all slashed from, a higher one only counts once they have ended.
    function proveStake(address prover, address vault, uint256 stake, bytes32[] calldata proof) external {
        uint64 epoch = currentEpoch;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(prover, vault, stakeToken, stake))));
        if (!MerkleProofLib.verifyCalldata(proof, epochs[epoch].stakeRoot, leaf)) revert InvalidStakeProof();
        VaultStake storage v = vaultStake[prover][vault];
        uint64 provenEpoch = v.epoch;
        if (provenEpoch == epoch) revert LeafAlreadyProven(prover, vault);
        if (provenEpoch == 0) _proverVaults[prover].push(vault);
        // Counting less than the vault holds is safe; anything above 2^96 - 1 of one token is not a real stake.
        // forge-lint: disable-next-line(unsafe-typecast): capped at type(uint96).max on the same line
        uint96 counted = stake > type(uint96).max ? type(uint96).max : uint96(stake);
        v.epoch = epoch;
        v.leaf = counted;
        if (v.locked == 0 && v.pending == 0 || counted < v.floor) v.floor = counted;
        emit StakeProven(epoch, prover, vault, stake, counted);
        emit LockableStakeChanged(prover);
    }

    // ---------------------------------------------------------------- IStakeSource

    /// @inheritdoc IStakeSource
    /// @dev Counts each vault's latest leaf while its capture can still back a task (its slashing window, less the
    /// slash delay, has not passed), whichever epoch it was proven in; a vault whose window has passed counts zero
    /// until its leaf is proven again.
    function availableStake(address prover) external view returns (uint256 total) {
        address[] storage vaults = _proverVaults[prover];
        for (uint256 i; i < vaults.length; ++i) {
            VaultStake storage v = vaultStake[prover][vaults[i]];
            if (Clock.timestamp() < _latestDeadline(v.epoch)) total += _free(v);
        }
    }

    /// @inheritdoc IStakeSource
    /// @dev One vault backs a task, so its slash has one target on Ethereum: among the vaults whose leaf's window
    /// fits the deadline and whose free stake suffices, the one with the newest leaf (the first of them on a tie), so
    /// a stake the prover has just proven again is used before one only an older capture still shows. The lock is
    /// taken at that leaf's capture. When none fits, the error says which part is missing:
    /// `TaskOutlivesSlashingWindow` when some vault has the stake but only behind a capture whose window ends too
    /// soon, else `InsufficientStake` with the most any vault whose window fits holds.
    function lock(address prover, uint256 taskId, uint256 amount, uint256 deadline) external onlyMarketplace {
        address[] storage vaults = _proverVaults[prover];
        uint256 best;
        bool outlived;
        uint256 outlivedLatest;
        uint256 chosen = type(uint256).max;
        uint64 chosenEpoch;
        for (uint256 i; i < vaults.length; ++i) {
            VaultStake storage v = vaultStake[prover][vaults[i]];
            uint64 epoch = v.epoch;
            uint256 latest = _latestDeadline(epoch);
            uint256 free = _free(v);
            if (deadline > latest) {
                if (free >= amount && (!outlived || latest > outlivedLatest)) {
                    (outlived, outlivedLatest) = (true, latest);
                }
            } else if (free >= amount) {
                if (chosen == type(uint256).max || epoch > chosenEpoch) (chosen, chosenEpoch) = (i, epoch);
            } else if (free > best) {
                best = free;
            }
        }
        if (chosen != type(uint256).max) {
            address vault = vaults[chosen];
            // forge-lint: disable-next-line(unsafe-typecast): amount ≤ the vault's free stake ≤ its floor, a uint96
            vaultStake[prover][vault].locked += uint128(amount);
            uint48 capture = epochs[chosenEpoch].captureTimestamp;
            // forge-lint: disable-next-line(unsafe-typecast): amount ≤ free ≤ floor (uint96); vault lists stay far below 2^32
            locks[taskId] = Lock(capture, uint32(chosen), uint96(amount));
            emit StakeLocked(prover, taskId, vault, amount, capture);
            return;
        }
        if (outlived) revert TaskOutlivesSlashingWindow(deadline, outlivedLatest);
        revert InsufficientStake(best, amount);
    }

    /// @inheritdoc IStakeSource
    function unlock(address prover, uint256 taskId, uint256 amount) external onlyMarketplace {
        (Lock memory l, VaultStake storage v) = _takeLock(prover, taskId);
        _resetFloorWhenIdle(v);
        emit StakeUnlocked(prover, taskId, amount < l.amount ? amount : l.amount);
    }

    /// @inheritdoc IStakeSource
    /// @dev Pays nothing here: the penalty is taken from the vault on Ethereum, so `paid` is 0 (the marketplace then
    /// credits no requester compensation) and the slash is queued at the capture the task's stake was read at. The
    /// penalty (at most the lock) is held back until the slash's outcome comes back.
    function slash(address prover, uint256 taskId, uint256, uint256 penalty, address)
        external
        onlyMarketplace
        returns (uint256)
    {
        (Lock memory l, VaultStake storage v) = _takeLock(prover, taskId);
        // The marketplace never asks more than the lock (penalty <= stake per task); the cap keeps that a fact here.
        if (penalty > l.amount) penalty = l.amount;
        // forge-lint: disable-next-line(unsafe-typecast): penalty ≤ the lock amount, a uint96, as capped above
        v.pending += uint128(penalty);
        _resetFloorWhenIdle(v);
        address vault = _proverVaults[prover][l.vaultIndex];
        bytes32 orderId = keccak256(abi.encode(block.chainid, address(this), taskId));
        // forge-lint: disable-next-line(unsafe-typecast): penalty ≤ the lock amount, a uint96, as capped above
        slashes[orderId] = QueuedSlash(prover, uint96(penalty), vault, SlashStatus.Queued);
        emit SlashQueued(orderId, taskId, prover, vault, penalty, l.captureTimestamp);
        return 0;
    }

    // ---------------------------------------------------------------- slash outcomes

    /// @notice Records the final outcomes on Ethereum of queued slashes, signed by a quorum of admitted relayer
    /// operators (as for snapshots); anyone may submit. A vetoed or failed slash releases the penalty it held back;
    /// an executed one becomes final. Every outcome must name a queued, unsettled slash and its vault.
    function reportSlashOutcomes(SlashOutcome[] calldata outcomes, bytes[] calldata signatures) external {
        OperatorQuorum.check(relayers, threshold, slashOutcomesDigest(outcomes), signatures);
        _settle(outcomes);
    }

    /// @notice Delivers slash outcomes through the configured transport instead of the relayer quorum; the same rules
    /// apply.
    function receiveSlashOutcomes(SlashOutcome[] calldata outcomes) external {
        if (msg.sender != snapshotTransport) revert NotSnapshotTransport(msg.sender);
        _settle(outcomes);
    }

    function _settle(SlashOutcome[] calldata outcomes) internal {
        if (outcomes.length == 0) revert EmptyBatch();
        for (uint256 i; i < outcomes.length; ++i) {
            SlashOutcome calldata o = outcomes[i];
            QueuedSlash storage q = slashes[o.orderId];
            SlashStatus status = q.status;
            if (status == SlashStatus.None) revert UnknownSlash(o.orderId);
            if (status != SlashStatus.Queued) revert SlashAlreadySettled(o.orderId, status);
            (address prover, uint256 penalty, address vault) = (q.prover, q.penalty, q.vault);
            if (o.vault != vault) revert SlashVaultMismatch(o.orderId, vault, o.vault);
            VaultStake storage v = vaultStake[prover][vault];
            if (o.status == SlashStatus.Executed) {
                if (o.slashed > penalty) revert SlashedExceedsPenalty(o.orderId, o.slashed, penalty);
                // Against the current capture, not the vault's leaf: every leaf proven from now on is of this epoch
                // or a later one, so shows the execution; the vault's leaf, however old and still backing tasks, is
                // corrected below when it predates the execution.
                uint48 capture = epochs[currentEpoch].captureTimestamp;
                if (o.settledAt > capture) revert OutcomeAheadOfSnapshot(o.orderId, o.settledAt, capture);
                _takeOut(v, o.slashed, epochs[v.epoch].captureTimestamp < o.settledAt);
            } else if (o.status == SlashStatus.Vetoed || o.status == SlashStatus.Failed) {
                if (o.slashed != 0) revert UnexecutedSlashWithAmount(o.orderId, o.slashed);
            } else {
                revert NotAnOutcome(o.orderId, o.status);
            }
            q.status = o.status;
            // forge-lint: disable-next-line(unsafe-typecast): penalty was read from a uint96 field
            v.pending -= uint128(penalty);
            _resetFloorWhenIdle(v);
            emit SlashSettled(o.orderId, prover, vault, o.status, o.slashed, v.leaf);
            emit LockableStakeChanged(prover);
        }
    }

    // ---------------------------------------------------------------- governance and views

    /// @notice Sets how many relayer operators a snapshot or a batch of slash outcomes needs at least.
    function setThreshold(uint8 threshold_) external onlyOwner {
        if (threshold_ == 0) revert ThresholdOutOfRange();
        threshold = threshold_;
        emit ThresholdSet(threshold_);
    }

    /// @notice Sets (or, with zero, removes) the transport allowed to deliver snapshots and slash outcomes without
    /// signatures.
    function setSnapshotTransport(address transport) external onlyOwner {
        snapshotTransport = transport;
        emit SnapshotTransportSet(transport);
    }

    /// @notice Sets the time a slash needs from a task's deadline to its execution on Ethereum (see `slashDelay`).
    function setSlashDelay(uint48 delay) external onlyOwner {
        slashDelay = delay;
        emit SlashDelaySet(delay);
        emit AllLockableStakeChanged();
    }

    /// @notice The latest deadline a task locked on a leaf of the current epoch may have: the current capture plus
    /// its slashing window, less the slash delay (zero before the first snapshot). What proving a vault's leaf now
    /// would give it; `latestDeadlineOf` is what its leaf gives today.
    function latestDeadline() external view returns (uint256) {
        return _latestDeadline(currentEpoch);
    }

    /// @notice The latest deadline a task locked now on `prover`'s stake in `vault` may have: the capture of the
    /// vault's latest proven leaf plus that epoch's slashing window, less the slash delay (zero when none is proven).
    function latestDeadlineOf(address prover, address vault) external view returns (uint256) {
        return _latestDeadline(vaultStake[prover][vault].epoch);
    }

    /// @notice Stake of `prover` in `vault` that can back a new task now (zero once its leaf's window, less the
    /// slash delay, has passed).
    function freeStake(address prover, address vault) external view returns (uint256) {
        VaultStake storage v = vaultStake[prover][vault];
        if (Clock.timestamp() >= _latestDeadline(v.epoch)) return 0;
        return _free(v);
    }

    /// @notice The vaults a prover has proven stake in.
    function proverVaults(address prover) external view returns (address[] memory) {
        return _proverVaults[prover];
    }

    /// @notice The EIP-712 digest relayers sign for a snapshot.
    function snapshotDigest(Snapshot calldata s) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    SNAPSHOT_TYPEHASH,
                    stakeToken,
                    s.epoch,
                    s.captureTimestamp,
                    s.slashingWindow,
                    s.stakeRoot,
                    s.totalStake,
                    s.leafCount
                )
            )
        );
    }

    /// @notice The EIP-712 digest relayers sign for a batch of slash outcomes.
    function slashOutcomesDigest(SlashOutcome[] calldata outcomes) public view returns (bytes32) {
        bytes32[] memory items = new bytes32[](outcomes.length);
        for (uint256 i; i < outcomes.length; ++i) {
            SlashOutcome calldata o = outcomes[i];
            items[i] = keccak256(
                abi.encode(SLASH_OUTCOME_TYPEHASH, o.orderId, o.vault, uint8(o.status), o.slashed, o.settledAt)
            );
        }
        return _hashTypedData(keccak256(abi.encode(SLASH_OUTCOMES_TYPEHASH, keccak256(abi.encodePacked(items)))));
    }

    // ---------------------------------------------------------------- internal

    function _takeLock(address prover, uint256 taskId) internal returns (Lock memory l, VaultStake storage v) {
        l = locks[taskId];
        if (l.captureTimestamp == 0) revert UnknownLock(taskId);
        delete locks[taskId];
        v = vaultStake[prover][_proverVaults[prover][l.vaultIndex]];
        v.locked -= l.amount;
    }

    /// @dev An execution of `slashed` took that much from every capture before it, so from the floor; from the
    /// latest leaf too when it was captured before the execution.
    function _takeOut(VaultStake storage v, uint256 slashed, bool leafPredatesIt) internal {
        uint96 floor = v.floor;
        // forge-lint: disable-next-line(unsafe-typecast): slashed < floor (a uint96) in this branch
        v.floor = slashed < floor ? floor - uint96(slashed) : 0;
        if (leafPredatesIt) {
            uint96 leaf = v.leaf;
            // forge-lint: disable-next-line(unsafe-typecast): slashed < leaf (a uint96) in this branch
            v.leaf = slashed < leaf ? leaf - uint96(slashed) : 0;
        }
    }

    /// @dev With no lock and no queued slash left, no older capture can be slashed for this vault any more: the
    /// latest leaf alone counts again.
    function _resetFloorWhenIdle(VaultStake storage v) internal {
        if (v.locked == 0 && v.pending == 0) v.floor = v.leaf;
    }

    /// @dev The latest deadline a task locked at `epoch`'s capture may have: capture + slashing window - slash delay.
    function _latestDeadline(uint64 epoch) internal view returns (uint256) {
        return _latestDeadline(epochs[epoch]);
    }

    function _latestDeadline(Epoch storage e) internal view returns (uint256) {
        uint256 end = uint256(e.captureTimestamp) + e.slashingWindow;
        uint256 delay = slashDelay;
        return end > delay ? end - delay : 0;
    }

    /// @dev Stake of the vault's latest leaf not yet owed: the floor less what is locked and queued. Whether its
    /// capture can still be slashed in time is the caller's check (against the task's deadline, or the time now).
    function _free(VaultStake storage v) internal view returns (uint256) {
        uint256 owed = uint256(v.locked) + v.pending;
        uint256 floor = v.floor;
        return floor > owed ? floor - owed : 0;
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn StakeMirror", "1");
    }
}
