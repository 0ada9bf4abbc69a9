// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "solady/utils/EIP712.sol";
import {MerkleProofLib} from "solady/utils/MerkleProofLib.sol";
import {IStakeSource} from "../interfaces/IStakeSource.sol";
import {ITeeRegistry} from "../attestation/interfaces/ITeeRegistry.sol";
import {Clock} from "../libraries/Clock.sol";
import {Snapshot, SnapshotLibrary} from "../types/Snapshot.sol";
import {SlashOutcome, SlashOutcomeLibrary, SlashStatus} from "../types/SlashOutcome.sol";
import {IStakeMirror} from "./interfaces/IStakeMirror.sol";
import {OperatorQuorum} from "./OperatorQuorum.sol";

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
contract StakeMirror is IStakeMirror, OperatorQuorum, EIP712 {
    /// @inheritdoc IStakeMirror
    bytes32 public constant SNAPSHOT_TYPEHASH = SnapshotLibrary.STAKE_SNAPSHOT_TYPEHASH;
    /// @inheritdoc IStakeMirror
    bytes32 public constant SLASH_OUTCOME_TYPEHASH = SlashOutcomeLibrary.SLASH_OUTCOME_TYPEHASH;
    /// @inheritdoc IStakeMirror
    bytes32 public constant SLASH_OUTCOMES_TYPEHASH = SlashOutcomeLibrary.SLASH_OUTCOMES_TYPEHASH;

    /// @inheritdoc IStakeSource
    address public immutable stakeToken;
    /// @inheritdoc IStakeMirror
    address public immutable marketplace;

    /// @inheritdoc IStakeMirror
    uint48 public slashDelay;
    /// @inheritdoc IStakeMirror
    uint64 public currentEpoch;
    /// @inheritdoc IStakeMirror
    address public snapshotTransport;
    /// @inheritdoc IStakeMirror
    mapping(uint64 epoch => Epoch) public epochs;
    mapping(address prover => address[] vaults) internal _proverVaults;
    /// @inheritdoc IStakeMirror
    mapping(address prover => mapping(address vault => VaultStake)) public vaultStake;
    /// @inheritdoc IStakeMirror
    mapping(uint256 taskId => Lock) public locks;
    /// @inheritdoc IStakeMirror
    mapping(bytes32 orderId => QueuedSlash) public slashes;

    constructor(
        address owner_,
        address marketplace_,
        ITeeRegistry relayers_,
        address token_,
        uint8 threshold_,
        uint48 slashDelay_
    ) OperatorQuorum(owner_, relayers_, threshold_) {
        if (marketplace_ == address(0) || token_ == address(0)) revert ZeroAddress();
        marketplace = marketplace_;
        stakeToken = token_;
        slashDelay = slashDelay_;
        emit SlashDelaySet(slashDelay_);
    }

    modifier onlyMarketplace() {
        if (msg.sender != marketplace) revert NotMarketplace();
        _;
    }

    // ---------------------------------------------------------------- snapshots

    /// @inheritdoc IStakeMirror
    function commitSnapshot(Snapshot calldata s, bytes[] calldata signatures) external {
        _checkQuorum(snapshotDigest(s), signatures);
        _accept(s);
    }

    /// @inheritdoc IStakeMirror
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

    /// @inheritdoc IStakeMirror
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

    /// @inheritdoc IStakeMirror
    function reportSlashOutcomes(SlashOutcome[] calldata outcomes, bytes[] calldata signatures) external {
        _checkQuorum(slashOutcomesDigest(outcomes), signatures);
        _settle(outcomes);
    }

    /// @inheritdoc IStakeMirror
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

    /// @inheritdoc IStakeMirror
    function setSnapshotTransport(address transport) external onlyOwner {
        snapshotTransport = transport;
        emit SnapshotTransportSet(transport);
    }

    /// @inheritdoc IStakeMirror
    function setSlashDelay(uint48 delay) external onlyOwner {
        slashDelay = delay;
        emit SlashDelaySet(delay);
        emit AllLockableStakeChanged();
    }

    /// @inheritdoc IStakeMirror
    function latestDeadline() external view returns (uint256) {
        return _latestDeadline(currentEpoch);
    }

    /// @inheritdoc IStakeMirror
    function latestDeadlineOf(address prover, address vault) external view returns (uint256) {
        return _latestDeadline(vaultStake[prover][vault].epoch);
    }

    /// @inheritdoc IStakeMirror
    function freeStake(address prover, address vault) external view returns (uint256) {
        VaultStake storage v = vaultStake[prover][vault];
        if (Clock.timestamp() >= _latestDeadline(v.epoch)) return 0;
        return _free(v);
    }

    /// @inheritdoc IStakeMirror
    function proverVaults(address prover) external view returns (address[] memory) {
        return _proverVaults[prover];
    }

    /// @inheritdoc IStakeMirror
    function snapshotDigest(Snapshot calldata s) public view returns (bytes32) {
        return _hashTypedData(s.hash(stakeToken));
    }

    /// @inheritdoc IStakeMirror
    function slashOutcomesDigest(SlashOutcome[] calldata outcomes) public view returns (bytes32) {
        return _hashTypedData(SlashOutcomeLibrary.hashBatch(outcomes));
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
