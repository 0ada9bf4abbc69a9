// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {INetworkRegistry} from "@symbioticfi/core/src/interfaces/INetworkRegistry.sol";
import {IOperatorRegistry} from "@symbioticfi/core/src/interfaces/IOperatorRegistry.sol";
import {IRegistry} from "@symbioticfi/core/src/interfaces/common/IRegistry.sol";
import {IEntity} from "@symbioticfi/core/src/interfaces/common/IEntity.sol";
import {INetworkMiddlewareService} from "@symbioticfi/core/src/interfaces/service/INetworkMiddlewareService.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IBaseDelegator} from "@symbioticfi/core/src/interfaces/delegator/IBaseDelegator.sol";
import {ISlasher} from "@symbioticfi/core/src/interfaces/slasher/ISlasher.sol";
import {IVetoSlasher} from "@symbioticfi/core/src/interfaces/slasher/IVetoSlasher.sol";

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
/// receiver, or a canonical bridge later).
contract CairnNetworkMiddleware is Ownable, EIP712 {
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
    error SlashOrderAlreadySeen(bytes32 orderId);
    error UnknownSlashOrder(bytes32 orderId);
    error SlashOrderNotPending(bytes32 orderId);

    event AcceptedCollateralSet(address indexed collateral, bool accepted);
    event SlashMessengerSet(address messenger);
    event MinSlashingWindowSet(uint48 window);
    event VaultOptedIn(address indexed vault, address collateral, uint64 slasherType);
    event VaultOptedOut(address indexed vault);
    event OperatorBound(address indexed operator, address indexed prover);
    event SlashExecuted(bytes32 indexed orderId, address indexed vault, address indexed operator, uint256 amount);
    event SlashRequested(bytes32 indexed orderId, address indexed vault, uint256 slashIndex, uint48 vetoDeadline);
    event SlashVetoed(bytes32 indexed orderId, address indexed vault);

    enum SlashState {
        None,
        Requested,
        Executed,
        Vetoed
    }

    struct SlashOrder {
        /// Unique id chosen on the marketplace chain (e.g. keccak of task, vault): the replay key.
        bytes32 orderId;
        address vault;
        address operator;
        uint256 amount;
        uint48 captureTimestamp;
    }

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

    bytes32 public constant BINDING_TYPEHASH =
        keccak256("OperatorBinding(address operator,address prover,uint256 nonce,uint256 deadline)");
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
    address[] internal _operators;
    mapping(address operator => address prover) public proverOf;
    mapping(address prover => address operator) public operatorOf;
    mapping(address account => uint256) public bindingNonce;
    mapping(bytes32 orderId => PendingSlash) public slashes;

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
        uint64 slasherType = IEntity(slasher).TYPE();
        uint48 window = IVault(vault).epochDuration();
        if (slasherType == 1) window -= IVetoSlasher(slasher).vetoDuration();
        else if (slasherType != 0) revert UnsupportedSlasherType(slasherType);
        if (window < minSlashingWindow) revert SlashingWindowTooShort(window, minSlashingWindow);
        _vaults.push(vault);
        _vaultIndex[vault] = _vaults.length;
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
    function bindOperator(
        address operator,
        address prover,
        uint256 deadline,
        bytes calldata operatorSignature,
        bytes calldata proverSignature
    ) external {
        if (operator == address(0) || prover == address(0)) revert ZeroAddress();
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        if (!IRegistry(operatorRegistry).isEntity(operator)) revert OperatorNotRegistered(operator);
        if (operatorOf[prover] != address(0)) revert ProverAlreadyBound(prover);
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
        address previous = proverOf[operator];
        if (previous == address(0)) _operators.push(operator);
        else delete operatorOf[previous];
        proverOf[operator] = prover;
        operatorOf[prover] = operator;
        emit OperatorBound(operator, prover);
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Executes a slash order from the marketplace chain: instantly, or as a veto request to finalize later.
    function executeSlash(SlashOrder calldata order) external {
        if (msg.sender != slashMessenger) revert NotSlashMessenger(msg.sender);
        if (slashes[order.orderId].state != SlashState.None) revert SlashOrderAlreadySeen(order.orderId);
        address slasher = IVault(order.vault).slasher();
        if (IEntity(slasher).TYPE() == 0) {
            slashes[order.orderId] = PendingSlash(order.vault, 0, SlashState.Executed);
            uint256 slashed =
                ISlasher(slasher).slash(subnetwork, order.operator, order.amount, order.captureTimestamp, "");
            emit SlashExecuted(order.orderId, order.vault, order.operator, slashed);
        } else {
            uint256 index = IVetoSlasher(slasher)
                .requestSlash(subnetwork, order.operator, order.amount, order.captureTimestamp, "");
            slashes[order.orderId] = PendingSlash(order.vault, uint64(index), SlashState.Requested);
            (,,,, uint48 vetoDeadline,) = IVetoSlasher(slasher).slashRequests(index);
            emit SlashRequested(order.orderId, order.vault, index, vetoDeadline);
        }
    }

    /// @notice Completes a requested veto slash: executes it, or records the resolver's veto. Anyone may call.
    function finalizeSlash(bytes32 orderId) external {
        PendingSlash memory pending = slashes[orderId];
        if (pending.state == SlashState.None) revert UnknownSlashOrder(orderId);
        if (pending.state != SlashState.Requested) revert SlashOrderNotPending(orderId);
        IVetoSlasher slasher = IVetoSlasher(IVault(pending.vault).slasher());
        (, address operator,,,, bool completed) = slasher.slashRequests(pending.slashIndex);
        if (completed) {
            // Completed without our execution: the resolver vetoed it.
            slashes[orderId].state = SlashState.Vetoed;
            emit SlashVetoed(orderId, pending.vault);
            return;
        }
        slashes[orderId].state = SlashState.Executed;
        uint256 slashed = slasher.executeSlash(pending.slashIndex, "");
        emit SlashExecuted(orderId, pending.vault, operator, slashed);
    }

    // ---------------------------------------------------------------- views

    /// @notice Opted-in vaults.
    function vaults() external view returns (address[] memory) {
        return _vaults;
    }

    /// @notice Bound operators.
    function operators() external view returns (address[] memory) {
        return _operators;
    }

    /// @notice Stake of every (bound operator, opted-in vault) pair at `timestamp`, paged over the pairs in
    /// operator-major order.
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
                prover: proverOf[operator],
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
        return _hashTypedData(keccak256(abi.encode(BINDING_TYPEHASH, operator, prover, nonce, deadline)));
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn NetworkMiddleware", "1");
    }
}
