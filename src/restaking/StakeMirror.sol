// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {MerkleProofLib} from "solady/utils/MerkleProofLib.sol";
import {IStakeSource} from "../interfaces/IStakeSource.sol";
import {ITeeRegistry, TeeRole} from "../attestation/interfaces/ITeeRegistry.sol";

/// @title StakeMirror
/// @notice Restaked stake of one collateral token, mirrored per epoch from Cairn's Symbiotic network on Ethereum, as
/// a stake source for markets. Relayers (attested TEE keys) commit one Merkle root per epoch, accepted on a k-of-n
/// quorum, so the commit costs the same for 10 or 10,000 operators; a prover proves its own (vault, stake) leaves
/// when it needs the stake. Locks are per task and per vault; a slash is queued for Ethereum with the vault and the
/// capture timestamp the stake was read at, and the lock stays until the marketplace ends the task. The penalty of a
/// queued slash is held back from the vault's proven stake, in this epoch and any later one, until its outcome on
/// Ethereum comes back (quorum-signed like a snapshot): a veto releases it, an execution makes it final.
/// @dev Leaf = keccak256(bytes.concat(keccak256(abi.encode(prover, vault, token, stake)))); sorted-pair tree.
contract StakeMirror is IStakeSource, Ownable, EIP712 {
    error ZeroAddress();
    error NotMarketplace();
    error EpochOutOfOrder(uint64 expected, uint64 got);
    error CaptureNotIncreasing(uint48 previous, uint48 got);
    error CaptureNotInThePast(uint48 captureTimestamp);
    error QuorumNotReached(uint256 valid, uint256 threshold);
    error SignersNotSorted();
    error NotAnActiveRelayer(address signer);
    error NotCurrentEpoch(uint64 epoch, uint64 current);
    error WrongToken(address token);
    error InvalidStakeProof();
    error LeafAlreadyProven(address prover, address vault);
    error StakeTooOld(uint48 captureTimestamp, uint256 maxAge);
    error InsufficientStake(uint256 available, uint256 required);
    error UnknownLock(uint256 taskId);
    error ThresholdOutOfRange();
    error NotSnapshotTransport(address caller);
    error EmptyBatch();
    error UnknownSlash(bytes32 orderId);
    error SlashAlreadySettled(bytes32 orderId, SlashStatus status);
    error SlashVaultMismatch(bytes32 orderId, address expected, address got);
    error VetoedSlashWithAmount(bytes32 orderId, uint256 slashed);
    error SlashedExceedsPenalty(bytes32 orderId, uint256 slashed, uint256 penalty);

    event SnapshotCommitted(
        uint64 indexed epoch, uint48 captureTimestamp, bytes32 stakeRoot, uint256 totalStake, uint32 leafCount
    );
    event StakeProven(uint64 indexed epoch, address indexed prover, address indexed vault, uint256 stake);
    event StakeLocked(address indexed prover, uint256 indexed taskId, address vault, uint256 amount);
    event StakeUnlocked(address indexed prover, uint256 indexed taskId, uint256 amount);
    /// @notice A slash for Ethereum: the relayers deliver it to the network middleware.
    event SlashQueued(
        bytes32 indexed orderId,
        uint256 indexed taskId,
        address prover,
        address vault,
        uint256 amount,
        uint48 captureTimestamp
    );
    /// @notice A queued slash's outcome on Ethereum: vetoed (its penalty is released) or executed (`slashed` left the
    /// vault). `proven` is the vault's proven stake for the prover afterwards.
    event SlashSettled(
        bytes32 indexed orderId,
        address indexed prover,
        address indexed vault,
        SlashStatus status,
        uint256 slashed,
        uint256 proven
    );
    event ThresholdSet(uint8 threshold);
    event MaxStakeAgeSet(uint48 maxAge);
    event SnapshotTransportSet(address transport);

    enum SlashStatus {
        None,
        /// Queued for Ethereum, outcome not yet reported: its penalty is held back.
        Queued,
        Executed,
        Vetoed
    }

    struct Snapshot {
        uint64 epoch;
        uint48 captureTimestamp;
        bytes32 stakeRoot;
        uint256 totalStake;
        uint32 leafCount;
    }

    struct Epoch {
        uint48 captureTimestamp;
        bytes32 stakeRoot;
    }

    /// The stake a prover proved in one vault (one slot).
    struct VaultStake {
        uint64 epoch;
        uint96 proven;
        uint96 locked;
    }

    struct Lock {
        address vault;
        uint96 amount;
    }

    /// A slash queued for Ethereum, by order id.
    struct QueuedSlash {
        address prover;
        uint96 penalty;
        address vault;
        SlashStatus status;
    }

    /// What a prover's queued slashes in one vault still owe (one slot).
    struct SlashDebt {
        /// Penalties queued and not yet settled on Ethereum.
        uint128 pending;
        /// The part of the vault's latest proven leaf held back for them: min(leaf stake, pending). The proven stake
        /// is the leaf's stake less this.
        uint128 heldBack;
    }

    /// The final outcome on Ethereum of a queued slash, reported back by the relayer quorum or the transport.
    struct SlashOutcome {
        /// The id the slash was queued under: keccak256(abi.encode(chainId, mirror, taskId)).
        bytes32 orderId;
        /// The vault it was queued against (checked).
        address vault;
        /// The vault's resolver vetoed it; otherwise it was executed.
        bool vetoed;
        /// Collateral actually slashed (0 when vetoed; at most the penalty).
        uint256 slashed;
        /// Ethereum timestamp of the block that settled it (executed: from then on, captures show the slash).
        uint48 settledAt;
    }

    bytes32 public constant SNAPSHOT_TYPEHASH = keccak256(
        "StakeSnapshot(address token,uint64 epoch,uint48 captureTimestamp,bytes32 stakeRoot,uint256 totalStake,uint32 leafCount)"
    );
    bytes32 public constant SLASH_OUTCOME_TYPEHASH =
        keccak256("SlashOutcome(bytes32 orderId,address vault,bool vetoed,uint256 slashed,uint48 settledAt)");
    bytes32 public constant SLASH_OUTCOMES_TYPEHASH = keccak256(
        "SlashOutcomes(SlashOutcome[] outcomes)SlashOutcome(bytes32 orderId,address vault,bool vetoed,uint256 slashed,uint48 settledAt)"
    );

    /// @inheritdoc IStakeSource
    address public immutable stakeToken;
    address public immutable marketplace;
    ITeeRegistry public immutable relayers;

    uint8 public threshold;
    /// @notice Oldest capture whose stake may back a new task: the vault's slashing window minus bridging and
    /// proving time, so a slash decided at the deadline still reaches the vault in time.
    uint48 public maxStakeAge;
    uint64 public currentEpoch;
    /// @notice A trusted message receiver (e.g. a canonical bridge's) that may deliver Ethereum's messages, snapshots
    /// and slash outcomes, without relayer signatures; zero while only the relayer quorum delivers.
    address public snapshotTransport;
    mapping(uint64 epoch => Epoch) public epochs;
    mapping(address prover => address[] vaults) internal _proverVaults;
    mapping(address prover => mapping(address vault => VaultStake)) public vaultStake;
    mapping(uint256 taskId => Lock) public locks;
    mapping(bytes32 orderId => QueuedSlash) public slashes;
    mapping(address prover => mapping(address vault => SlashDebt)) public slashDebt;

    constructor(
        address owner_,
        address marketplace_,
        ITeeRegistry relayers_,
        address token_,
        uint8 threshold_,
        uint48 maxStakeAge_
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
        maxStakeAge = maxStakeAge_;
        emit ThresholdSet(threshold_);
        emit MaxStakeAgeSet(maxStakeAge_);
    }

    modifier onlyMarketplace() {
        if (msg.sender != marketplace) revert NotMarketplace();
        _;
    }

    // ---------------------------------------------------------------- snapshots

    /// @notice Commits the next epoch's stake root, signed by at least `threshold` active relayer keys (signatures
    /// ordered by signer address, ascending); anyone may submit.
    function commitSnapshot(Snapshot calldata s, bytes[] calldata signatures) external {
        _checkQuorum(snapshotDigest(s), signatures);
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
        if (s.captureTimestamp >= block.timestamp) revert CaptureNotInThePast(s.captureTimestamp);
        currentEpoch = s.epoch;
        epochs[s.epoch] = Epoch(s.captureTimestamp, s.stakeRoot);
        emit SnapshotCommitted(s.epoch, s.captureTimestamp, s.stakeRoot, s.totalStake, s.leafCount);
    }

    /// @notice Proves a (prover, vault, stake) leaf of the current epoch; the prover's stake in that vault becomes
    /// lockable, less the penalties of its slashes still awaiting their outcome (a pending veto request leaves the
    /// vault's stake untouched on Ethereum, so the leaf does not show it). Anyone may submit.
    function proveStake(address prover, address vault, uint256 stake, bytes32[] calldata proof) external {
        uint64 epoch = currentEpoch;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(prover, vault, stakeToken, stake))));
        if (!MerkleProofLib.verifyCalldata(proof, epochs[epoch].stakeRoot, leaf)) revert InvalidStakeProof();
        VaultStake storage v = vaultStake[prover][vault];
        uint64 provenEpoch = v.epoch;
        if (provenEpoch == epoch) revert LeafAlreadyProven(prover, vault);
        if (provenEpoch == 0) _proverVaults[prover].push(vault);
        // Locks from earlier epochs stay: they remain slashable at their own capture until their tasks end.
        v.epoch = epoch;
        SlashDebt storage d = slashDebt[prover][vault];
        uint256 pending = d.pending;
        if (pending == 0) {
            v.proven = uint96(stake);
        } else {
            _holdBack(v, d, stake, pending);
        }
        emit StakeProven(epoch, prover, vault, stake);
    }

    // ---------------------------------------------------------------- IStakeSource

    /// @inheritdoc IStakeSource
    function availableStake(address prover) external view returns (uint256 total) {
        if (!_fresh()) return 0;
        address[] storage vaults = _proverVaults[prover];
        for (uint256 i; i < vaults.length; ++i) {
            total += _free(vaultStake[prover][vaults[i]]);
        }
    }

    /// @inheritdoc IStakeSource
    function lock(address prover, uint256 taskId, uint256 amount, uint256) external onlyMarketplace {
        if (!_fresh()) revert StakeTooOld(epochs[currentEpoch].captureTimestamp, maxStakeAge);
        address[] storage vaults = _proverVaults[prover];
        uint256 best;
        for (uint256 i; i < vaults.length; ++i) {
            VaultStake storage v = vaultStake[prover][vaults[i]];
            uint256 free = _free(v);
            // One vault backs a task, so its slash has one target on Ethereum.
            if (free >= amount) {
                v.locked += uint96(amount);
                locks[taskId] = Lock(vaults[i], uint96(amount));
                emit StakeLocked(prover, taskId, vaults[i], amount);
                return;
            }
            if (free > best) best = free;
        }
        revert InsufficientStake(best, amount);
    }

    /// @inheritdoc IStakeSource
    function unlock(address prover, uint256 taskId, uint256 amount) external onlyMarketplace {
        Lock memory l = _takeLock(prover, taskId);
        emit StakeUnlocked(prover, taskId, amount < l.amount ? amount : l.amount);
    }

    /// @inheritdoc IStakeSource
    /// @dev Pays nothing here: the penalty is taken from the vault on Ethereum, so `paid` is 0 (the marketplace then
    /// credits no requester compensation) and the slash is queued with the capture timestamp of the epoch the stake
    /// was proven in. The lock ends with the task; the penalty (at most the lock) is held back from the vault's proven
    /// stake until the slash's outcome comes back.
    function slash(address prover, uint256 taskId, uint256, uint256 penalty, address)
        external
        onlyMarketplace
        returns (uint256)
    {
        Lock memory l = _takeLock(prover, taskId);
        // The marketplace never asks more than the lock (penalty <= stake per task); the cap keeps that a fact here.
        if (penalty > l.amount) penalty = l.amount;
        VaultStake storage v = vaultStake[prover][l.vault];
        SlashDebt storage d = slashDebt[prover][l.vault];
        // The penalty leaves the vault on Ethereum: it stops backing tasks here at once.
        _holdBack(v, d, uint256(v.proven) + d.heldBack, uint256(d.pending) + penalty);
        bytes32 orderId = keccak256(abi.encode(block.chainid, address(this), taskId));
        slashes[orderId] = QueuedSlash(prover, uint96(penalty), l.vault, SlashStatus.Queued);
        emit SlashQueued(orderId, taskId, prover, l.vault, penalty, epochs[v.epoch].captureTimestamp);
        return 0;
    }

    // ---------------------------------------------------------------- slash outcomes

    /// @notice Records the final outcomes on Ethereum of queued slashes, signed by at least `threshold` active relayer
    /// keys (signatures ordered by signer address, ascending); anyone may submit. A vetoed slash releases the penalty
    /// it held back; an executed one becomes final. Every outcome must name a queued, unsettled slash and its vault.
    function reportSlashOutcomes(SlashOutcome[] calldata outcomes, bytes[] calldata signatures) external {
        _checkQuorum(slashOutcomesDigest(outcomes), signatures);
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
            SlashDebt storage d = slashDebt[prover][vault];
            uint256 stake = uint256(v.proven) + d.heldBack;
            if (o.vetoed) {
                if (o.slashed != 0) revert VetoedSlashWithAmount(o.orderId, o.slashed);
                status = SlashStatus.Vetoed;
            } else {
                if (o.slashed > penalty) revert SlashedExceedsPenalty(o.orderId, o.slashed, penalty);
                status = SlashStatus.Executed;
                // A leaf captured before the execution still shows the slashed collateral: take it out now.
                if (epochs[v.epoch].captureTimestamp < o.settledAt) {
                    stake -= o.slashed < stake ? o.slashed : stake;
                }
            }
            q.status = status;
            _holdBack(v, d, stake, d.pending - penalty);
            emit SlashSettled(o.orderId, prover, vault, status, o.slashed, v.proven);
        }
    }

    // ---------------------------------------------------------------- governance and views

    /// @notice Sets how many relayer signatures a snapshot or a batch of slash outcomes needs.
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

    /// @notice Sets the oldest capture that may back new tasks.
    function setMaxStakeAge(uint48 maxAge) external onlyOwner {
        maxStakeAge = maxAge;
        emit MaxStakeAgeSet(maxAge);
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
                    SNAPSHOT_TYPEHASH, stakeToken, s.epoch, s.captureTimestamp, s.stakeRoot, s.totalStake, s.leafCount
                )
            )
        );
    }

    /// @notice The EIP-712 digest relayers sign for a batch of slash outcomes.
    function slashOutcomesDigest(SlashOutcome[] calldata outcomes) public view returns (bytes32) {
        bytes32[] memory items = new bytes32[](outcomes.length);
        for (uint256 i; i < outcomes.length; ++i) {
            SlashOutcome calldata o = outcomes[i];
            items[i] =
                keccak256(abi.encode(SLASH_OUTCOME_TYPEHASH, o.orderId, o.vault, o.vetoed, o.slashed, o.settledAt));
        }
        return _hashTypedData(keccak256(abi.encode(SLASH_OUTCOMES_TYPEHASH, keccak256(abi.encodePacked(items)))));
    }

    // ---------------------------------------------------------------- internal

    /// @dev Proven stake of a leaf of `stake` that owes `pending` in queued penalties: the leaf less what it can cover.
    function _holdBack(VaultStake storage v, SlashDebt storage d, uint256 stake, uint256 pending) internal {
        uint256 heldBack = pending < stake ? pending : stake;
        v.proven = uint96(stake - heldBack);
        d.pending = uint128(pending);
        d.heldBack = uint128(heldBack);
    }

    function _checkQuorum(bytes32 digest, bytes[] calldata signatures) internal view {
        address last;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recoverCalldata(digest, signatures[i]);
            if (signer <= last) revert SignersNotSorted();
            if (!relayers.isActive(TeeRole.Relayer, 0, signer)) revert NotAnActiveRelayer(signer);
            last = signer;
        }
        if (signatures.length < threshold) revert QuorumNotReached(signatures.length, threshold);
    }

    function _takeLock(address prover, uint256 taskId) internal returns (Lock memory l) {
        l = locks[taskId];
        if (l.vault == address(0)) revert UnknownLock(taskId);
        delete locks[taskId];
        vaultStake[prover][l.vault].locked -= l.amount;
    }

    /// @dev Unlocked stake of the current epoch's proof (stake proven in an older epoch backs no new task).
    function _free(VaultStake memory v) internal view returns (uint256) {
        if (v.epoch != currentEpoch || v.locked >= v.proven) return 0;
        return v.proven - v.locked;
    }

    function _fresh() internal view returns (bool) {
        uint64 epoch = currentEpoch;
        return epoch != 0 && block.timestamp - epochs[epoch].captureTimestamp <= maxStakeAge;
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn StakeMirror", "1");
    }
}
