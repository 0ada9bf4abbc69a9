// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SymbioticCoreBytecode} from "@symbioticfi/core/test/integration/SymbioticCoreBytecode.sol";
import {IFactory} from "@symbioticfi/core/src/interfaces/common/IFactory.sol";
import {IMigratablesFactory} from "@symbioticfi/core/src/interfaces/common/IMigratablesFactory.sol";

/// @title SymbioticCore
/// @notice Deploys the real Symbiotic v1 core (npm @symbioticfi/core 1.0.3) from its published creation bytecode, in
/// the order and with the type indices its factories require. Used by forge tests, deploy scripts and the devnet.
/// @dev Runs in the caller's context: inside a broadcast every CREATE is a transaction of the broadcaster, which
/// must be `owner` so it can whitelist the implementations.
library SymbioticCore {
    error DeploymentFailed(string what);

    struct Core {
        address vaultFactory;
        address delegatorFactory;
        address slasherFactory;
        address networkRegistry;
        address operatorRegistry;
        address networkMiddlewareService;
        address operatorVaultOptInService;
        address operatorNetworkOptInService;
        address vaultConfigurator;
    }

    /// Canonical implementation indices.
    uint64 internal constant VAULT_VERSION = 1;
    uint64 internal constant NETWORK_RESTAKE_DELEGATOR = 0;
    uint64 internal constant FULL_RESTAKE_DELEGATOR = 1;
    uint64 internal constant OPERATOR_SPECIFIC_DELEGATOR = 2;
    uint64 internal constant OPERATOR_NETWORK_SPECIFIC_DELEGATOR = 3;
    uint64 internal constant INSTANT_SLASHER = 0;
    uint64 internal constant VETO_SLASHER = 1;

    function deploy(address owner) internal returns (Core memory c) {
        c.vaultFactory = _create("VaultFactory", SymbioticCoreBytecode.vaultFactory(), abi.encode(owner));
        c.delegatorFactory = _create("DelegatorFactory", SymbioticCoreBytecode.delegatorFactory(), abi.encode(owner));
        c.slasherFactory = _create("SlasherFactory", SymbioticCoreBytecode.slasherFactory(), abi.encode(owner));
        c.networkRegistry = _create("NetworkRegistry", SymbioticCoreBytecode.networkRegistry(), "");
        c.operatorRegistry = _create("OperatorRegistry", SymbioticCoreBytecode.operatorRegistry(), "");
        c.networkMiddlewareService = _create(
            "NetworkMiddlewareService", SymbioticCoreBytecode.networkMiddlewareService(), abi.encode(c.networkRegistry)
        );
        c.operatorVaultOptInService = _create(
            "OperatorVaultOptInService",
            SymbioticCoreBytecode.optInService(),
            abi.encode(c.operatorRegistry, c.vaultFactory, "OperatorVaultOptInService")
        );
        c.operatorNetworkOptInService = _create(
            "OperatorNetworkOptInService",
            SymbioticCoreBytecode.optInService(),
            abi.encode(c.operatorRegistry, c.networkRegistry, "OperatorNetworkOptInService")
        );
        c.vaultConfigurator = _create(
            "VaultConfigurator",
            SymbioticCoreBytecode.vaultConfigurator(),
            abi.encode(c.vaultFactory, c.delegatorFactory, c.slasherFactory)
        );
        _whitelistVaults(c);
        _whitelistDelegators(c);
        _whitelistSlashers(c);
    }

    function _whitelistVaults(Core memory c) private {
        bytes memory args = abi.encode(c.delegatorFactory, c.slasherFactory, c.vaultFactory);
        IMigratablesFactory(c.vaultFactory).whitelist(_create("Vault", SymbioticCoreBytecode.vault(), args));
        IMigratablesFactory(c.vaultFactory)
            .whitelist(_create("VaultTokenized", SymbioticCoreBytecode.vaultTokenized(), args));
    }

    /// @dev Each implementation's type index must equal the factory's type count when it is whitelisted.
    function _whitelistDelegators(Core memory c) private {
        IFactory f = IFactory(c.delegatorFactory);
        f.whitelist(
            _create(
                "NetworkRestakeDelegator",
                SymbioticCoreBytecode.networkRestakeDelegator(),
                abi.encode(
                    c.networkRegistry,
                    c.vaultFactory,
                    c.operatorVaultOptInService,
                    c.operatorNetworkOptInService,
                    c.delegatorFactory,
                    f.totalTypes()
                )
            )
        );
        f.whitelist(
            _create(
                "FullRestakeDelegator",
                SymbioticCoreBytecode.fullRestakeDelegator(),
                abi.encode(
                    c.networkRegistry,
                    c.vaultFactory,
                    c.operatorVaultOptInService,
                    c.operatorNetworkOptInService,
                    c.delegatorFactory,
                    f.totalTypes()
                )
            )
        );
        f.whitelist(
            _create(
                "OperatorSpecificDelegator",
                SymbioticCoreBytecode.operatorSpecificDelegator(),
                abi.encode(
                    c.operatorRegistry,
                    c.networkRegistry,
                    c.vaultFactory,
                    c.operatorVaultOptInService,
                    c.operatorNetworkOptInService,
                    c.delegatorFactory,
                    f.totalTypes()
                )
            )
        );
        f.whitelist(
            _create(
                "OperatorNetworkSpecificDelegator",
                SymbioticCoreBytecode.operatorNetworkSpecificDelegator(),
                abi.encode(
                    c.operatorRegistry,
                    c.networkRegistry,
                    c.vaultFactory,
                    c.operatorVaultOptInService,
                    c.operatorNetworkOptInService,
                    c.delegatorFactory,
                    f.totalTypes()
                )
            )
        );
    }

    function _whitelistSlashers(Core memory c) private {
        IFactory f = IFactory(c.slasherFactory);
        f.whitelist(
            _create(
                "Slasher",
                SymbioticCoreBytecode.slasher(),
                abi.encode(c.vaultFactory, c.networkMiddlewareService, c.slasherFactory, f.totalTypes())
            )
        );
        f.whitelist(
            _create(
                "VetoSlasher",
                SymbioticCoreBytecode.vetoSlasher(),
                abi.encode(
                    c.vaultFactory, c.networkMiddlewareService, c.networkRegistry, c.slasherFactory, f.totalTypes()
                )
            )
        );
    }

    function _create(string memory what, bytes memory code, bytes memory args) private returns (address deployed) {
        bytes memory init = bytes.concat(code, args);
        assembly ("memory-safe") {
            deployed := create(0, add(init, 0x20), mload(init))
        }
        if (deployed == address(0)) revert DeploymentFailed(what);
    }
}
