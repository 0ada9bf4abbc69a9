// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {INetworkRegistry} from "@symbioticfi/core/src/interfaces/INetworkRegistry.sol";
import {IOperatorRegistry} from "@symbioticfi/core/src/interfaces/IOperatorRegistry.sol";
import {IRegistry} from "@symbioticfi/core/src/interfaces/common/IRegistry.sol";
import {IEntity} from "@symbioticfi/core/src/interfaces/common/IEntity.sol";
import {INetworkMiddlewareService} from "@symbioticfi/core/src/interfaces/service/INetworkMiddlewareService.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IBaseDelegator} from "@symbioticfi/core/src/interfaces/delegator/IBaseDelegator.sol";
import {ISlasher} from "@symbioticfi/core/src/interfaces/slasher/ISlasher.sol";
import {IVetoSlasher} from "@symbioticfi/core/src/interfaces/slasher/IVetoSlasher.sol";

import {Clock} from "../libraries/Clock.sol";
import {OperatorBinding, OperatorBindingLibrary} from "../types/OperatorBinding.sol";
import {ISlashExecutor} from "./interfaces/ISlashExecutor.sol";

interface IVaultOwner {
    function owner() external view returns (address);
}

/// @title CairnNetworkMiddleware
/// @notice Cairn's Symbiotic network on Ethereum, and its middleware: vaults opt in under explicit checks, operators
/// bind their Symbiotic operator address to their marketplace prover address, stake is read per capture timestamp,
/// and slashes decided on the marketplace chain are executed against the real vaults (instant, or request + execute
/// through a VetoSlasher, honouring the resolver's veto).
/// @dev The contract is the network itself: it registers in the NetworkRegistry and sets itself as the network's
/// middleware, so only it may slash for Cairn. Slash orders arrive through `slashMessenger` (the relayer quorum's
/// receiver, or a canonical bridge later). Bindings are checkpointed by timestamp: stake read at a capture and a
/// slash at that capture resolve the same operator, however often the binding changed since. Every slash order ends
/// in a final, recorded state (executed, vetoed or failed), so its outcome can be reported back.
contract CairnNetworkMiddleware is ISlashExecutor, Ownable, EIP712 {
    using Checkpoints for Checkpoints.Trace208;

    error ZeroAddress();
    error NotVaultOwner(address caller);
    error NotAVault(address vault);
    error VaultNotInitialized(address vault);
    error CollateralNotAccepted(address collateral);
    error NoSlasher(address vault);
    error UnsupportedSlasherType(uint64 slasherType);
    error SlashingWindowTooShort(uint48 window, uint48 required);
    error VaultAlreadyOptedIn(address vault);
    error VaultNotOptedIn(address vault);
    error OperatorNotRegistered(address operator);
    error ProverAlreadyBound(address prover);
    error SignatureExpired(uint256 deadline);
    error InvalidOperatorSignature();
    error InvalidProverSignature();
    error NotSlashMessenger(address caller);
    error UnknownSlashOrder(bytes32 orderId);
    error SlashOrderNotPending(bytes32 orderId);
    error UnsupportedDelegatorType(uint64 delegatorType);
    error VetoPeriodNotEnded(bytes32 orderId, uint48 vetoDeadline);
    /// Why a slash order failed for good (reported in SlashFailed).
    error ProverNotBoundAt(address prover, uint48 captureTimestamp);
    error RebindingPending(address operator, uint48 effectiveAt);
    /// The vault refused the slash for a reason that may pass (e.g. a hook starved of gas, a configuration to fix):
    /// nothing is recorded and the order can be delivered again.
    error SlashNotExecutable(bytes32 orderId, bytes reason);
    /// Veto requests of one operator on one vault execute in the order they were made (see finalizeSlash).
    error EarlierSlashPending(bytes32 orderId, uint256 earlierSlashIndex);

    event AcceptedCollateralSet(address indexed collateral, bool accepted);
    event SlashMessengerSet(address messenger);
    event MinSlashingWindowSet(uint48 window);
    event VaultOptedIn(address indexed vault, address collateral, uint64 slasherType);
    event VaultOptedOut(address indexed vault);
    /// @notice `operator` backs `prover` for captures from `effectiveAt` on.
    event OperatorBound(address indexed operator, address indexed prover, uint48 effectiveAt);
    event SlashExecuted(bytes32 indexed orderId, address indexed vault, address indexed operator, uint256 amount);
    event SlashRequested(bytes32 indexed orderId, address indexed vault, uint256 slashIndex, uint48 vetoDeadline);
    event SlashVetoed(bytes32 indexed orderId, address indexed vault);
    /// @notice A slash order that can never execute (e.g. its capture left the vault's window): final, reported back.
    event SlashFailed(bytes32 indexed orderId, address indexed vault, bytes reason);

    struct PendingSlash {
        address vault;
        uint64 slashIndex;
        SlashState state;
    }

    struct StakeEntry {
        address operator;
        address prover;
        address vault;
        address collateral;
        uint256 stake;
    }

    /// @notice EIP-712 typehash of OperatorBinding (types/OperatorBinding.sol).
    bytes32 public constant BINDING_TYPEHASH = OperatorBindingLibrary.OPERATOR_BINDING_TYPEHASH;
    uint96 public constant SUBNETWORK_IDENTIFIER = 0;

    address public immutable vaultFactory;
    address public immutable operatorRegistry;
    /// @notice Cairn's subnetwork: this contract's address ‖ identifier 0.
    bytes32 public immutable subnetwork;

    /// @notice Shortest slashing window a vault must leave after a capture: bridging delay + veto window + margin.
    uint48 public minSlashingWindow;
    address public slashMessenger;
    mapping(address collateral => bool) public acceptedCollateral;

    address[] internal _vaults;
    mapping(address vault => uint256 indexPlusOne) internal _vaultIndex;
    /// @notice The slashing window each opted-in vault leaves after a capture (epoch duration, less the veto window).
    mapping(address vault => uint48) public slashingWindowOf;
    /// @notice The longest epoch of any vault ever opted in: how long a capture stays slashable at most, hence how
    /// long an operator moving to a new prover backs nobody (see bindOperator).
    uint48 public maxVaultEpochDuration;
    address[] internal _operators;
    mapping(address operator => bool) internal _everBound;
    mapping(address operator => Checkpoints.Trace208) internal _proverOf;
    mapping(address prover => Checkpoints.Trace208) internal _operatorOf;
    mapping(address account => uint256) public bindingNonce;
    /// @inheritdoc ISlashExecutor
    mapping(bytes32 orderId => PendingSlash) public slashes;
    /// @notice The latest capture any of Cairn's slashes (executed or requested) of an operator used on a vault.
    /// Symbiotic refuses a slash at a capture older than the latest it slashed the operator at, so orders arriving
    /// out of capture order are slashed at this capture instead of failing.
    mapping(address vault => mapping(address operator => uint48)) public latestCapture;
    /// Veto requests of an operator on a vault, by slash index in the order made, and how many are finalized.
    mapping(address vault => mapping(address operator => uint64[])) internal _requests;
    mapping(address vault => mapping(address operator => uint256)) internal _requestsFinalized;

    /// @param owner_ Governance: accepted collateral, window, messenger, network limits, resolvers.
    /// @param networkRegistry Symbiotic NetworkRegistry.
    /// @param networkMiddlewareService Symbiotic NetworkMiddlewareService.
    /// @param vaultFactory_ Symbiotic VaultFactory.
    /// @param operatorRegistry_ Symbiotic OperatorRegistry.
    /// @param minSlashingWindow_ See `minSlashingWindow`.
    constructor(
        address owner_,
        address networkRegistry,
        address networkMiddlewareService,
        address vaultFactory_,
        address operatorRegistry_,
        uint48 minSlashingWindow_
    ) {
        if (
            owner_ == address(0) || networkRegistry == address(0) || networkMiddlewareService == address(0)
                || vaultFactory_ == address(0) || operatorRegistry_ == address(0)
        ) revert ZeroAddress();
        _initializeOwner(owner_);
        vaultFactory = vaultFactory_;
        operatorRegistry = operatorRegistry_;
        subnetwork = bytes32(uint256(uint160(address(this))) << 96 | SUBNETWORK_IDENTIFIER);
        minSlashingWindow = minSlashingWindow_;
        INetworkRegistry(networkRegistry).registerNetwork();
        INetworkMiddlewareService(networkMiddlewareService).setMiddleware(address(this));
        emit MinSlashingWindowSet(minSlashingWindow_);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Accepts or refuses a collateral token for vaults opting in from now on.
    function setAcceptedCollateral(address collateral, bool accepted) external onlyOwner {
        if (collateral == address(0)) revert ZeroAddress();
        acceptedCollateral[collateral] = accepted;
        emit AcceptedCollateralSet(collateral, accepted);
    }

    /// @notice Sets the contract allowed to deliver slash orders (the cross-chain receiver).
    function setSlashMessenger(address messenger) external onlyOwner {
        if (messenger == address(0)) revert ZeroAddress();
        slashMessenger = messenger;
        emit SlashMessengerSet(messenger);
    }

    /// @notice Sets the slashing window new vaults must leave.
    function setMinSlashingWindow(uint48 window) external onlyOwner {
        minSlashingWindow = window;
        emit MinSlashingWindowSet(window);
    }

    /// @notice Sets Cairn's max network limit on a vault's delegator (Symbiotic: only the network may).
    function setMaxNetworkLimit(address vault, uint256 amount) external onlyOwner {
        IBaseDelegator(IVault(vault).delegator()).setMaxNetworkLimit(SUBNETWORK_IDENTIFIER, amount);
    }

    /// @notice Sets the resolver that may veto Cairn's slashes on a veto-slasher vault.
    function setResolver(address vault, address resolver) external onlyOwner {
        IVetoSlasher(IVault(vault).slasher()).setResolver(SUBNETWORK_IDENTIFIER, resolver, "");
    }

    // ---------------------------------------------------------------- vaults and operators

    /// @notice Opts a vault in; its owner (curator) only. The vault must come from Symbiotic's VaultFactory, hold an
    /// accepted collateral, have an instant or veto slasher, and leave at least `minSlashingWindow` to slash.
    function optInVault(address vault) external {
        if (msg.sender != IVaultOwner(vault).owner()) revert NotVaultOwner(msg.sender);
        if (!IRegistry(vaultFactory).isEntity(vault)) revert NotAVault(vault);
        if (!IVault(vault).isInitialized()) revert VaultNotInitialized(vault);
        if (_vaultIndex[vault] != 0) revert VaultAlreadyOptedIn(vault);
        address collateral = IVault(vault).collateral();
        if (!acceptedCollateral[collateral]) revert CollateralNotAccepted(collateral);
        address slasher = IVault(vault).slasher();
        if (slasher == address(0)) revert NoSlasher(vault);
        // A full-restake delegator lets one collateral back several operators at once: a slash of one would take
        // the stake another operator's leaf still shows.
        uint64 delegatorType = IEntity(IVault(vault).delegator()).TYPE();
        if (delegatorType == 1) revert UnsupportedDelegatorType(delegatorType);
        uint64 slasherType = IEntity(slasher).TYPE();
        uint48 window = IVault(vault).epochDuration();
        if (slasherType == 1) window -= IVetoSlasher(slasher).vetoDuration();
        else if (slasherType != 0) revert UnsupportedSlasherType(slasherType);
        if (window < minSlashingWindow) revert SlashingWindowTooShort(window, minSlashingWindow);
        _vaults.push(vault);
        _vaultIndex[vault] = _vaults.length;
        slashingWindowOf[vault] = window;
        uint48 epochDuration = IVault(vault).epochDuration();
        if (epochDuration > maxVaultEpochDuration) maxVaultEpochDuration = epochDuration;
        emit VaultOptedIn(vault, collateral, slasherType);
    }

    /// @notice Opts a vault out; its owner or governance. Slashes already requested still complete.
    function optOutVault(address vault) external {
        if (msg.sender != owner() && msg.sender != IVaultOwner(vault).owner()) revert NotVaultOwner(msg.sender);
        uint256 index = _vaultIndex[vault];
        if (index == 0) revert VaultNotOptedIn(vault);
        address last = _vaults[_vaults.length - 1];
        _vaults[index - 1] = last;
        _vaultIndex[last] = index;
        _vaults.pop();
        delete _vaultIndex[vault];
        emit VaultOptedOut(vault);
    }

    /// @notice Binds a Symbiotic operator to a marketplace prover; both sign (EIP-712 OperatorBinding), anyone submits.
    /// An operator's first binding holds from now. An operator already bound moves: its old prover loses it now,
    /// and the new prover gets it only after `maxVaultEpochDuration`, when no capture of the old binding can be
    /// slashed any more (otherwise the old prover's outstanding slashes and the new prover's tasks would both count
    /// on the same stake, and Symbiotic takes every later slash from every earlier capture).
    function bindOperator(
        address operator,
        address prover,
        uint256 deadline,
        bytes calldata operatorSignature,
        bytes calldata proverSignature
    ) external {
        if (operator == address(0) || prover == address(0)) revert ZeroAddress();
        if (Clock.timestamp() > deadline) revert SignatureExpired(deadline);
        if (!IRegistry(operatorRegistry).isEntity(operator)) revert OperatorNotRegistered(operator);
        if (operatorOf(prover) != address(0)) revert ProverAlreadyBound(prover);
        if (
            ECDSA.recoverCalldata(bindingDigest(operator, prover, bindingNonce[operator], deadline), operatorSignature)
                != operator
        ) {
            revert InvalidOperatorSignature();
        }
        if (
            ECDSA.recoverCalldata(bindingDigest(operator, prover, bindingNonce[prover], deadline), proverSignature)
                != prover
        ) {
            revert InvalidProverSignature();
        }
        ++bindingNonce[operator];
        ++bindingNonce[prover];
        _bind(operator, prover);
    }

    function _bind(address operator, address prover) internal {
        if (!_everBound[operator]) {
            _everBound[operator] = true;
            _operators.push(operator);
        }
        uint48 now_ = Clock.timestamp48();
        uint48 effectiveAt = now_;
        (bool bound, uint48 since, uint208 previous) = _proverOf[operator].latestCheckpoint();
        if (bound && since > now_) revert RebindingPending(operator, since);
        if (previous != 0) {
            // The old prover's history stays: slashes at its earlier captures still reach this operator.
            // forge-lint: disable-next-line(unsafe-typecast): an address, stored widened from uint160
            _operatorOf[address(uint160(previous))].push(now_, 0);
            _proverOf[operator].push(now_, 0);
            effectiveAt = now_ + maxVaultEpochDuration;
        }
        _proverOf[operator].push(effectiveAt, uint160(prover));
        _operatorOf[prover].push(effectiveAt, uint160(operator));
        emit OperatorBound(operator, prover, effectiveAt);
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Executes a slash order from the marketplace chain: instantly, or as a veto request to finalize later.
    /// The operator slashed is the one bound to the order's prover at its capture; the slash is made at that capture,
    /// or at the latest capture Cairn already slashed the operator at on the vault when that is later (Symbiotic only
    /// slashes at non-decreasing captures; the StakeMirror's floor rule keeps every outstanding slash payable at every
    /// capture it locked at, hence at the later one too). An order that can never execute
    /// (no operator bound at the capture, not a vault, its capture left the window, nothing left to slash at it) ends
    /// as Failed, for good; any other refusal reverts with SlashNotExecutable and leaves the order deliverable.
    function executeSlash(SlashOrder calldata order) external {
        if (msg.sender != slashMessenger) revert NotSlashMessenger(msg.sender);
        bytes32 orderId = order.orderId;
        if (slashes[orderId].state != SlashState.None) revert SlashOrderAlreadySeen(orderId);
        address vault = order.vault;
        address operator = operatorAt(order.prover, order.captureTimestamp);
        if (operator == address(0)) {
            return _fail(
                orderId, vault, abi.encodeWithSelector(ProverNotBoundAt.selector, order.prover, order.captureTimestamp)
            );
        }
        if (!IRegistry(vaultFactory).isEntity(vault)) {
            return _fail(orderId, vault, abi.encodeWithSelector(NotAVault.selector, vault));
        }
        uint48 capture = order.captureTimestamp;
        uint48 latest = latestCapture[vault][operator];
        if (latest > capture) capture = latest;
        address slasher = IVault(vault).slasher();
        uint256 gasBefore = gasleft();
        if (IEntity(slasher).TYPE() == 0) {
            try ISlasher(slasher).slash(subnetwork, operator, order.amount, capture, "") returns (uint256 slashed) {
                slashes[orderId] = PendingSlash(vault, 0, SlashState.Executed);
                latestCapture[vault][operator] = capture;
                emit SlashExecuted(orderId, vault, operator, slashed);
            } catch (bytes memory reason) {
                _recordRefusal(orderId, vault, reason, gasBefore);
            }
        } else {
            try IVetoSlasher(slasher).requestSlash(subnetwork, operator, order.amount, capture, "") returns (
                uint256 index
            ) {
                uint64 requestIndex = SafeCastLib.toUint64(index);
                slashes[orderId] = PendingSlash(vault, requestIndex, SlashState.Requested);
                latestCapture[vault][operator] = capture;
                _requests[vault][operator].push(requestIndex);
                (,,,, uint48 vetoDeadline,) = IVetoSlasher(slasher).slashRequests(index);
                emit SlashRequested(orderId, vault, index, vetoDeadline);
            } catch (bytes memory reason) {
                _recordRefusal(orderId, vault, reason, gasBefore);
            }
        }
    }

    /// @notice Completes a requested veto slash once its veto window has passed: executes it, records the
    /// resolver's veto, or records that the vault can never execute it (its slashing period ended, nothing left to
    /// slash); any other refusal reverts and leaves the request to finalize later. Anyone may call. An operator's
    /// requests on a vault are finalized in the order they were made (their captures never decrease), so executing a
    /// later one first can never make Symbiotic refuse an earlier one.
    function finalizeSlash(bytes32 orderId) external {
        PendingSlash memory pending = slashes[orderId];
        if (pending.state == SlashState.None) revert UnknownSlashOrder(orderId);
        if (pending.state != SlashState.Requested) revert SlashOrderNotPending(orderId);
        address vault = pending.vault;
        IVetoSlasher slasher = IVetoSlasher(IVault(vault).slasher());
        (, address operator,,, uint48 vetoDeadline, bool completed) = slasher.slashRequests(pending.slashIndex);
        uint256 finalized = _requestsFinalized[vault][operator];
        uint64 next = _requests[vault][operator][finalized];
        if (next != pending.slashIndex) revert EarlierSlashPending(orderId, next);
        if (completed) {
            // Completed without our execution: the resolver vetoed it.
            slashes[orderId].state = SlashState.Vetoed;
            _requestsFinalized[vault][operator] = finalized + 1;
            emit SlashVetoed(orderId, vault);
            return;
        }
        if (Clock.timestamp() < vetoDeadline) revert VetoPeriodNotEnded(orderId, vetoDeadline);
        uint256 gasBefore = gasleft();
        try slasher.executeSlash(pending.slashIndex, "") returns (uint256 slashed) {
            slashes[orderId].state = SlashState.Executed;
            emit SlashExecuted(orderId, vault, operator, slashed);
        } catch (bytes memory reason) {
            _recordRefusal(orderId, vault, reason, gasBefore);
        }
        _requestsFinalized[vault][operator] = finalized + 1;
    }

    /// @notice The slash index of the oldest unfinalized veto request of `operator` on `vault` (the one finalizeSlash
    /// accepts next); `pending` is false when there is none.
    function nextRequest(address vault, address operator) external view returns (bool pending, uint64 slashIndex) {
        uint64[] storage requests = _requests[vault][operator];
        uint256 finalized = _requestsFinalized[vault][operator];
        if (finalized == requests.length) return (false, 0);
        return (true, requests[finalized]);
    }

    /// @dev Records a failure only when the vault's reason can never change, whatever gas or time the next attempt
    /// has: a submitter choosing a tight gas limit (running out of gas reverts without data and leaves this frame a
    /// few 64ths; Symbiotic's hook and burner gas checks revert with data) must not turn a due slash into a failed
    /// one.
    function _recordRefusal(bytes32 orderId, address vault, bytes memory reason, uint256 gasBefore) internal {
        if (reason.length == 0 && gasleft() < gasBefore / 16) revert CalleeOutOfGas();
        if (!_isFinal(reason)) revert SlashNotExecutable(orderId, reason);
        _fail(orderId, vault, reason);
    }

    /// @dev Symbiotic refusals that hold for good: the capture is out of the vault's window (or in the future), the
    /// operator has nothing left to slash at the capture (later slashes only lower it), the slashing period of a
    /// request ended.
    function _isFinal(bytes memory reason) internal pure returns (bool) {
        if (reason.length != 4) return false;
        // forge-lint: disable-next-line(unsafe-typecast): a selector; the reason is checked to be 4 bytes
        bytes4 selector = bytes4(reason);
        return selector == ISlasher.InvalidCaptureTimestamp.selector || selector == ISlasher.InsufficientSlash.selector
            || selector == IVetoSlasher.SlashPeriodEnded.selector;
    }

    function _fail(bytes32 orderId, address vault, bytes memory reason) internal {
        slashes[orderId] = PendingSlash(vault, 0, SlashState.Failed);
        emit SlashFailed(orderId, vault, reason);
    }

    // ---------------------------------------------------------------- views

    /// @notice Opted-in vaults.
    function vaults() external view returns (address[] memory) {
        return _vaults;
    }

    /// @notice Every operator ever bound (bound now or not).
    function operators() external view returns (address[] memory) {
        return _operators;
    }

    /// @notice The prover an operator is bound to now (zero when none).
    function proverOf(address operator) public view returns (address) {
        return address(uint160(_proverOf[operator].latest()));
    }

    /// @notice The operator bound to a prover now (zero when none).
    function operatorOf(address prover) public view returns (address) {
        return address(uint160(_operatorOf[prover].latest()));
    }

    /// @notice The prover an operator was bound to at `timestamp` (the binding in force at the end of that second).
    function proverAt(address operator, uint48 timestamp) public view returns (address) {
        return address(uint160(_proverOf[operator].upperLookupRecent(timestamp)));
    }

    /// @notice The operator bound to a prover at `timestamp`: whose stake a capture at `timestamp` showed for it.
    function operatorAt(address prover, uint48 timestamp) public view returns (address) {
        return address(uint160(_operatorOf[prover].upperLookupRecent(timestamp)));
    }

    /// @notice The shortest slashing window among the opted-in vaults: how long after a capture any of their stake
    /// can still be slashed (zero when no vault is opted in). Relayers mirror it with each snapshot.
    function slashingWindow() external view returns (uint48 window) {
        uint256 n = _vaults.length;
        if (n == 0) return 0;
        window = type(uint48).max;
        for (uint256 i; i < n; ++i) {
            uint48 w = slashingWindowOf[_vaults[i]];
            if (w < window) window = w;
        }
    }

    /// @notice Stake of every (operator, opted-in vault) pair at `timestamp`, with the prover each operator was bound
    /// to at `timestamp` (zero when none), paged over the pairs in operator-major order.
    /// @return entries Up to `limit` pairs from `offset`.
    /// @return total Number of pairs.
    function stakesAt(uint48 timestamp, uint256 offset, uint256 limit)
        external
        view
        returns (StakeEntry[] memory entries, uint256 total)
    {
        uint256 vaultCount = _vaults.length;
        total = _operators.length * vaultCount;
        uint256 end = offset + limit > total ? total : offset + limit;
        entries = new StakeEntry[](end > offset ? end - offset : 0);
        for (uint256 i = offset; i < end; ++i) {
            address operator = _operators[i / vaultCount];
            address vault = _vaults[i % vaultCount];
            entries[i - offset] = StakeEntry({
                operator: operator,
                prover: proverAt(operator, timestamp),
                vault: vault,
                collateral: IVault(vault).collateral(),
                stake: IBaseDelegator(IVault(vault).delegator()).stakeAt(subnetwork, operator, timestamp, "")
            });
        }
    }

    /// @notice The EIP-712 digest operator and prover sign to bind.
    function bindingDigest(address operator, address prover, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedData(OperatorBinding(operator, prover, nonce, deadline).hash());
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn NetworkMiddleware", "1");
    }
}
