// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";

import {SymbioticCore} from "./symbiotic/SymbioticCore.sol";
import {ProofMarketplace} from "../src/ProofMarketplace.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {ITeeRegistry} from "../src/attestation/interfaces/ITeeRegistry.sol";
import {IStakeSource} from "../src/interfaces/IStakeSource.sol";
import {CairnNetworkMiddleware} from "../src/restaking/CairnNetworkMiddleware.sol";
import {SlashInbox} from "../src/restaking/SlashInbox.sol";
import {StakeMirror} from "../src/restaking/StakeMirror.sol";
import {IVaultConfigurator} from "@symbioticfi/core/src/interfaces/IVaultConfigurator.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IBaseDelegator} from "@symbioticfi/core/src/interfaces/delegator/IBaseDelegator.sol";
import {INetworkRestakeDelegator} from "@symbioticfi/core/src/interfaces/delegator/INetworkRestakeDelegator.sol";
import {IBaseSlasher} from "@symbioticfi/core/src/interfaces/slasher/IBaseSlasher.sol";
import {IVetoSlasher} from "@symbioticfi/core/src/interfaces/slasher/IVetoSlasher.sol";

/// @title DeployRestaking
/// @notice Deploys Cairn's restaking stack on one of its two chains and writes `deployments/<chainId>.restaking.json`.
/// The two ends reference each other, so deploy MARKETPLACE first (the StakeMirror), then ETHEREUM with its address:
/// - MARKETPLACE: StakeMirror(deployer, marketplace, relayer registry, mirrored token, threshold, slash delay),
///   approved as a stake source on the marketplace (the deployer must own it).
/// - ETHEREUM: the real Symbiotic core, a DevToken collateral, CairnNetworkMiddleware, two NetworkRestake vaults
///   curated by the deployer (opted in, Cairn's limits and OPERATOR's shares set), one with an instant slasher and
///   one with a veto slasher whose resolver is RESOLVER, and the SlashInbox as the middleware's slash messenger.
/// The mirror names the Ethereum collateral as its token before that collateral exists: the dev collateral is
/// deployed through the deterministic CREATE2 factory, so both modes compute its address alone.
/// @dev Environment:
/// - PRIVATE_KEY (required): deployer; owns every contract and curates the vaults.
/// - MODE (required): ETHEREUM or MARKETPLACE.
/// - RELAYER_REGISTRY (required): this chain's TeeRegistry (DeployAttestation.s.sol); keys of its admitted Relayer
///   operators sign.
/// - THRESHOLD (optional, default 2): relayer operators per snapshot or slash batch (never fewer than a strict
///   majority of the registry's admitted relayer operators).
/// - COLLATERAL (optional): an existing collateral token (ETHEREUM) / the mirrored token id (MARKETPLACE); default the
///   CREATE2 dev collateral.
/// - MARKETPLACE only: MARKETPLACE (required) the ProofMarketplace; SLASH_DELAY (optional, default 1 hour, see
///   DEFAULT_SLASH_DELAY) the seconds a slash needs from a task's deadline to its execution on Ethereum.
/// - ETHEREUM only: SOURCE_CHAIN_ID and SOURCE_MIRROR (required) the marketplace chain and its StakeMirror;
///   OPERATOR (required) the Symbiotic operator given the vaults' Cairn shares; MIN_SLASHING_WINDOW (optional,
///   default 1 day); VAULT_EPOCH (optional, default 1 day; the veto vault's epoch is this plus its veto window, so
///   both leave the same slashing window); VETO_DURATION (optional, default 1 hour) the veto vault's veto window;
///   RESOLVER (optional, default the deployer) who may veto Cairn's slashes on the veto vault.
/// - DEPLOYMENT_OUT (optional, default deployments/<chainId>.restaking.json): output inside deployments/.
/// The collateral is a DevToken (anyone can mint): never run this script against a network with value.
contract DeployRestaking is Script {
    bytes32 internal constant COLLATERAL_SALT = keccak256("cairn restaking dev collateral");
    uint48 internal constant DEFAULT_EPOCH = 1 days;
    /// Time from a task's deadline to its slash executing on Ethereum, for this script's dev network (the devnet: 1 s
    /// blocks, relayers capturing every 30 s with 2 blocks of finality and a 3 s submit delay, vaults of DEFAULT_EPOCH
    /// with a DEFAULT_VETO_DURATION veto window). Relaying a slash takes seconds there (marketplace finality, a relayer
    /// round, the inbox transaction), and so does finalizing a veto request once its window ends; an hour also covers
    /// the time until someone calls `slash` after the deadline. The snapshot's slashing window (the vaults' epoch, less
    /// the veto window: 1 day) minus this leaves tasks up to ~23 h past a capture that is at most ~35 s old, far
    /// beyond the minutes devnet requests take, while a slash of any locked task still lands inside the window.
    /// Networks with real finality (minutes) and hour-long relayer epochs need several hours here, and vault epochs
    /// long enough that the window less this delay still covers their longest tasks.
    uint48 internal constant DEFAULT_SLASH_DELAY = 1 hours;
    uint48 internal constant DEFAULT_VETO_DURATION = 1 hours;
    /// Symbiotic's minimum: a resolver change takes effect this many vault epochs later.
    uint256 internal constant RESOLVER_SET_EPOCHS_DELAY = 3;

    struct Common {
        uint256 deployerKey;
        address deployer;
        address relayerRegistry;
        uint8 threshold;
        string out;
    }

    struct EthereumConfig {
        uint256 sourceChainId;
        address sourceMirror;
        address operator;
        uint48 minSlashingWindow;
        uint48 vaultEpoch;
        uint48 vetoDuration;
        address resolver;
    }

    struct EthereumDeployment {
        SymbioticCore.Core core;
        address collateral;
        CairnNetworkMiddleware middleware;
        address vault;
        address vetoVault;
        SlashInbox slashInbox;
    }

    function run() external {
        Common memory c = _common();
        string memory mode = vm.envString("MODE");
        if (keccak256(bytes(mode)) == keccak256("MARKETPLACE")) _marketplace(c);
        else if (keccak256(bytes(mode)) == keccak256("ETHEREUM")) _ethereum(c);
        else revert("DeployRestaking: MODE must be ETHEREUM or MARKETPLACE");
    }

    /// The dev collateral's address on any chain: the CREATE2 factory, a fixed salt and DevToken's init code.
    function devCollateralAddress() public pure returns (address) {
        return vm.computeCreate2Address(COLLATERAL_SALT, keccak256(_collateralInitCode()));
    }

    // ---------------------------------------------------------------- marketplace chain

    function _marketplace(Common memory c) internal {
        require(vm.envExists("MARKETPLACE"), "DeployRestaking: MARKETPLACE is not set (the ProofMarketplace)");
        ProofMarketplace marketplace = ProofMarketplace(vm.envAddress("MARKETPLACE"));
        require(address(marketplace).code.length > 0, "DeployRestaking: MARKETPLACE has no code on this chain");
        address token = vm.envOr("COLLATERAL", devCollateralAddress());
        require(!vm.envExists("MAX_STAKE_AGE"), "DeployRestaking: MAX_STAKE_AGE is gone; set SLASH_DELAY (seconds)");
        uint256 slashDelay = vm.envOr("SLASH_DELAY", uint256(DEFAULT_SLASH_DELAY));
        require(slashDelay <= type(uint48).max, "DeployRestaking: SLASH_DELAY does not fit in uint48");
        // forge-lint: disable-next-line(unsafe-typecast)
        uint48 delay = uint48(slashDelay); // bounded by the require above
        uint256 deployBlock = block.number;

        vm.startBroadcast(c.deployerKey);
        StakeMirror mirror = new StakeMirror(
            c.deployer, address(marketplace), ITeeRegistry(c.relayerRegistry), token, c.threshold, delay
        );
        marketplace.setStakeSourceApproval(IStakeSource(address(mirror)), true);
        vm.stopBroadcast();

        string memory k = "contracts";
        string memory contracts = vm.serializeAddress(k, "stakeMirror", address(mirror));
        string memory r = "restaking";
        vm.serializeString(r, "mode", "MARKETPLACE");
        vm.serializeUint(r, "chainId", block.chainid);
        vm.serializeUint(r, "deployBlock", deployBlock);
        vm.serializeAddress(r, "owner", c.deployer);
        vm.serializeAddress(r, "relayerRegistry", c.relayerRegistry);
        vm.serializeUint(r, "threshold", c.threshold);
        vm.serializeAddress(r, "marketplace", address(marketplace));
        vm.serializeAddress(r, "token", token);
        vm.serializeUint(r, "slashDelay", slashDelay);
        vm.writeJson(vm.serializeString(r, "contracts", contracts), string.concat(vm.projectRoot(), "/", c.out));
    }

    // ---------------------------------------------------------------- Ethereum

    function _ethereum(Common memory c) internal {
        EthereumConfig memory e = _ethereumConfig(c.deployer);
        uint256 deployBlock = block.number;

        EthereumDeployment memory d;
        vm.startBroadcast(c.deployerKey);
        d.core = SymbioticCore.deploy(c.deployer);
        d.collateral = _collateral();
        d.middleware = new CairnNetworkMiddleware(
            c.deployer,
            d.core.networkRegistry,
            d.core.networkMiddlewareService,
            d.core.vaultFactory,
            d.core.operatorRegistry,
            e.minSlashingWindow
        );
        d.middleware.setAcceptedCollateral(d.collateral, true);
        d.vault = _vault(d.core, d.collateral, c.deployer, e.vaultEpoch, SymbioticCore.INSTANT_SLASHER, 0);
        _optIn(d.middleware, d.vault, e.operator);
        d.vetoVault = _vault(
            d.core, d.collateral, c.deployer, e.vaultEpoch + e.vetoDuration, SymbioticCore.VETO_SLASHER, e.vetoDuration
        );
        _optIn(d.middleware, d.vetoVault, e.operator);
        d.middleware.setResolver(d.vetoVault, e.resolver);
        d.slashInbox = new SlashInbox(
            c.deployer, d.middleware, ITeeRegistry(c.relayerRegistry), e.sourceChainId, e.sourceMirror, c.threshold
        );
        d.middleware.setSlashMessenger(address(d.slashInbox));
        vm.stopBroadcast();

        _writeEthereum(c, e, d, deployBlock);
    }

    function _ethereumConfig(address deployer) internal view returns (EthereumConfig memory e) {
        require(vm.envExists("SOURCE_CHAIN_ID"), "DeployRestaking: SOURCE_CHAIN_ID is not set (marketplace chain)");
        require(vm.envExists("SOURCE_MIRROR"), "DeployRestaking: SOURCE_MIRROR is not set (deploy MARKETPLACE first)");
        require(vm.envExists("OPERATOR"), "DeployRestaking: OPERATOR is not set (the vault's Symbiotic operator)");
        e.sourceChainId = vm.envUint("SOURCE_CHAIN_ID");
        e.sourceMirror = vm.envAddress("SOURCE_MIRROR");
        e.operator = vm.envAddress("OPERATOR");
        e.resolver = vm.envOr("RESOLVER", deployer);
        uint256 window = vm.envOr("MIN_SLASHING_WINDOW", uint256(DEFAULT_EPOCH));
        uint256 epoch = vm.envOr("VAULT_EPOCH", uint256(DEFAULT_EPOCH));
        uint256 veto = vm.envOr("VETO_DURATION", uint256(DEFAULT_VETO_DURATION));
        require(
            window <= type(uint48).max && epoch + veto <= type(uint48).max,
            "DeployRestaking: window/epoch/veto overflow uint48"
        );
        require(veto > 0, "DeployRestaking: VETO_DURATION must be positive");
        // Bounded by the require above.
        // forge-lint: disable-next-line(unsafe-typecast)
        (e.minSlashingWindow, e.vaultEpoch, e.vetoDuration) = (uint48(window), uint48(epoch), uint48(veto));
    }

    /// Opts a vault in and gives Cairn's subnetwork all of it, and `operator` all of Cairn's share.
    function _optIn(CairnNetworkMiddleware middleware, address vault, address operator) internal {
        middleware.optInVault(vault);
        middleware.setMaxNetworkLimit(vault, type(uint128).max);
        INetworkRestakeDelegator delegator = INetworkRestakeDelegator(IVault(vault).delegator());
        bytes32 subnetwork = middleware.subnetwork();
        delegator.setNetworkLimit(subnetwork, type(uint128).max);
        delegator.setOperatorNetworkShares(subnetwork, operator, 1);
    }

    function _collateral() internal returns (address collateral) {
        if (vm.envExists("COLLATERAL")) return vm.envAddress("COLLATERAL");
        collateral = devCollateralAddress();
        // A devnet redeploying on the same chain reuses the token the factory already placed there.
        if (collateral.code.length == 0) {
            DevToken token = new DevToken{salt: COLLATERAL_SALT}("Cairn Restaked Dev", "rCRN");
            require(address(token) == collateral, "DeployRestaking: collateral address differs from the prediction");
        }
    }

    function _collateralInitCode() internal pure returns (bytes memory) {
        return bytes.concat(type(DevToken).creationCode, abi.encode("Cairn Restaked Dev", "rCRN"));
    }

    /// A NetworkRestake vault with an instant or a veto slasher; the curator holds every role.
    function _vault(
        SymbioticCore.Core memory core,
        address collateral,
        address curator,
        uint48 epoch,
        uint64 slasherIndex,
        uint48 vetoDuration
    ) internal returns (address vault) {
        address[] memory curators = new address[](1);
        curators[0] = curator;
        (vault,,) = IVaultConfigurator(core.vaultConfigurator)
            .create(
                IVaultConfigurator.InitParams({
                version: SymbioticCore.VAULT_VERSION,
                owner: curator,
                vaultParams: abi.encode(
                    IVault.InitParams(
                        collateral, address(0xdEaD), epoch, false, false, 0, curator, curator, curator, curator, curator
                    )
                ),
                delegatorIndex: SymbioticCore.NETWORK_RESTAKE_DELEGATOR,
                delegatorParams: abi.encode(
                    INetworkRestakeDelegator.InitParams(
                        IBaseDelegator.BaseParams(curator, address(0), curator), curators, curators
                    )
                ),
                withSlasher: true,
                slasherIndex: slasherIndex,
                slasherParams: slasherIndex == SymbioticCore.VETO_SLASHER
                    ? abi.encode(
                        IVetoSlasher.InitParams(IBaseSlasher.BaseParams(false), vetoDuration, RESOLVER_SET_EPOCHS_DELAY)
                    )
                    : abi.encode(IBaseSlasher.BaseParams(false))
            })
            );
    }

    function _writeEthereum(Common memory c, EthereumConfig memory e, EthereumDeployment memory d, uint256 deployBlock)
        internal
    {
        string memory s = "symbiotic";
        vm.serializeAddress(s, "vaultFactory", d.core.vaultFactory);
        vm.serializeAddress(s, "delegatorFactory", d.core.delegatorFactory);
        vm.serializeAddress(s, "slasherFactory", d.core.slasherFactory);
        vm.serializeAddress(s, "networkRegistry", d.core.networkRegistry);
        vm.serializeAddress(s, "operatorRegistry", d.core.operatorRegistry);
        vm.serializeAddress(s, "networkMiddlewareService", d.core.networkMiddlewareService);
        vm.serializeAddress(s, "operatorVaultOptInService", d.core.operatorVaultOptInService);
        vm.serializeAddress(s, "operatorNetworkOptInService", d.core.operatorNetworkOptInService);
        string memory symbiotic = vm.serializeAddress(s, "vaultConfigurator", d.core.vaultConfigurator);

        string memory k = "contracts";
        vm.serializeAddress(k, "collateral", d.collateral);
        vm.serializeAddress(k, "middleware", address(d.middleware));
        vm.serializeAddress(k, "vault", d.vault);
        vm.serializeAddress(k, "vetoVault", d.vetoVault);
        vm.serializeAddress(k, "slashInbox", address(d.slashInbox));
        string memory contracts = vm.serializeString(k, "symbiotic", symbiotic);

        string memory r = "restaking";
        vm.serializeString(r, "mode", "ETHEREUM");
        vm.serializeUint(r, "chainId", block.chainid);
        vm.serializeUint(r, "deployBlock", deployBlock);
        vm.serializeAddress(r, "owner", c.deployer);
        vm.serializeAddress(r, "relayerRegistry", c.relayerRegistry);
        vm.serializeUint(r, "threshold", c.threshold);
        vm.serializeUint(r, "sourceChainId", e.sourceChainId);
        vm.serializeAddress(r, "sourceMirror", e.sourceMirror);
        vm.serializeAddress(r, "operator", e.operator);
        vm.serializeUint(r, "minSlashingWindow", e.minSlashingWindow);
        vm.serializeUint(r, "vaultEpoch", e.vaultEpoch);
        vm.serializeUint(r, "vetoDuration", e.vetoDuration);
        vm.serializeAddress(r, "resolver", e.resolver);
        vm.writeJson(vm.serializeString(r, "contracts", contracts), string.concat(vm.projectRoot(), "/", c.out));
    }

    // ---------------------------------------------------------------- config

    function _common() internal view returns (Common memory c) {
        require(vm.envExists("PRIVATE_KEY"), "DeployRestaking: PRIVATE_KEY is not set (the deployer's key)");
        require(vm.envExists("MODE"), "DeployRestaking: MODE is not set (ETHEREUM or MARKETPLACE)");
        require(
            vm.envExists("RELAYER_REGISTRY"), "DeployRestaking: RELAYER_REGISTRY is not set (this chain's TeeRegistry)"
        );
        c.deployerKey = vm.envUint("PRIVATE_KEY");
        require(c.deployerKey != 0, "DeployRestaking: PRIVATE_KEY must not be zero");
        c.deployer = vm.addr(c.deployerKey);
        c.relayerRegistry = vm.envAddress("RELAYER_REGISTRY");
        require(c.relayerRegistry.code.length > 0, "DeployRestaking: RELAYER_REGISTRY has no code on this chain");
        uint256 threshold = vm.envOr("THRESHOLD", uint256(2));
        require(threshold > 0 && threshold <= type(uint8).max, "DeployRestaking: THRESHOLD must be 1..255");
        // forge-lint: disable-next-line(unsafe-typecast)
        c.threshold = uint8(threshold); // bounded by the require above
        c.out = vm.envOr("DEPLOYMENT_OUT", string.concat("deployments/", vm.toString(block.chainid), ".restaking.json"));
        require(
            vm.indexOf(c.out, "deployments/") == 0 && vm.indexOf(c.out, "..") == type(uint256).max,
            "DeployRestaking: DEPLOYMENT_OUT must be a path inside deployments/"
        );
    }
}
