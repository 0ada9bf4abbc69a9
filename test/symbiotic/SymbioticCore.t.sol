// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {SymbioticCore} from "../../script/symbiotic/SymbioticCore.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {INetworkRegistry} from "@symbioticfi/core/src/interfaces/INetworkRegistry.sol";
import {IOperatorRegistry} from "@symbioticfi/core/src/interfaces/IOperatorRegistry.sol";
import {INetworkMiddlewareService} from "@symbioticfi/core/src/interfaces/service/INetworkMiddlewareService.sol";
import {IOptInService} from "@symbioticfi/core/src/interfaces/service/IOptInService.sol";
import {IVaultConfigurator} from "@symbioticfi/core/src/interfaces/IVaultConfigurator.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IBaseDelegator} from "@symbioticfi/core/src/interfaces/delegator/IBaseDelegator.sol";
import {INetworkRestakeDelegator} from "@symbioticfi/core/src/interfaces/delegator/INetworkRestakeDelegator.sol";
import {IBaseSlasher} from "@symbioticfi/core/src/interfaces/slasher/IBaseSlasher.sol";
import {ISlasher} from "@symbioticfi/core/src/interfaces/slasher/ISlasher.sol";

/// @notice The real Symbiotic v1 core, deployed from its published bytecode: a network, an operator and a restaked
/// vault, stake read at a timestamp, and an instant slash that lowers the vault's active stake.
contract SymbioticCoreTest is Test {
    SymbioticCore.Core internal core;
    DevToken internal collateral;
    address internal network = makeAddr("network");
    address internal operator = makeAddr("operator");
    address internal curator = makeAddr("curator");
    address internal staker = makeAddr("staker");
    address internal vault;
    address internal delegator;
    address internal slasher;

    function setUp() public {
        vm.warp(1_800_000_000);
        core = SymbioticCore.deploy(address(this));
        collateral = new DevToken("Restaked", "rTKN");

        IVault.InitParams memory vaultParams = IVault.InitParams({
            collateral: address(collateral),
            burner: address(0xdEaD),
            epochDuration: 7 days,
            depositWhitelist: false,
            isDepositLimit: false,
            depositLimit: 0,
            defaultAdminRoleHolder: curator,
            depositWhitelistSetRoleHolder: curator,
            depositorWhitelistRoleHolder: curator,
            isDepositLimitSetRoleHolder: curator,
            depositLimitSetRoleHolder: curator
        });
        address[] memory curators = new address[](1);
        curators[0] = curator;
        INetworkRestakeDelegator.InitParams memory delegatorParams = INetworkRestakeDelegator.InitParams({
            baseParams: IBaseDelegator.BaseParams({
                defaultAdminRoleHolder: curator, hook: address(0), hookSetRoleHolder: curator
            }),
            networkLimitSetRoleHolders: curators,
            operatorNetworkSharesSetRoleHolders: curators
        });
        (vault, delegator, slasher) = IVaultConfigurator(core.vaultConfigurator)
            .create(
                IVaultConfigurator.InitParams({
                version: SymbioticCore.VAULT_VERSION,
                owner: curator,
                vaultParams: abi.encode(vaultParams),
                delegatorIndex: SymbioticCore.NETWORK_RESTAKE_DELEGATOR,
                delegatorParams: abi.encode(delegatorParams),
                withSlasher: true,
                slasherIndex: SymbioticCore.INSTANT_SLASHER,
                slasherParams: abi.encode(IBaseSlasher.BaseParams({isBurnerHook: false}))
            })
            );

        // Network: register, be its own middleware, allow stake from this vault.
        vm.startPrank(network);
        INetworkRegistry(core.networkRegistry).registerNetwork();
        INetworkMiddlewareService(core.networkMiddlewareService).setMiddleware(network);
        IBaseDelegator(delegator).setMaxNetworkLimit(0, 1000e18);
        vm.stopPrank();
        // Operator: register and opt in to the vault and the network.
        vm.startPrank(operator);
        IOperatorRegistry(core.operatorRegistry).registerOperator();
        IOptInService(core.operatorVaultOptInService).optIn(vault);
        IOptInService(core.operatorNetworkOptInService).optIn(network);
        vm.stopPrank();
        // Curator: give the network and the operator their share.
        vm.startPrank(curator);
        INetworkRestakeDelegator(delegator).setNetworkLimit(_subnetwork(), 1000e18);
        INetworkRestakeDelegator(delegator).setOperatorNetworkShares(_subnetwork(), operator, 1);
        vm.stopPrank();
        // Staker deposits.
        collateral.mint(staker, 500e18);
        vm.startPrank(staker);
        collateral.approve(vault, 500e18);
        IVault(vault).deposit(staker, 500e18);
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
    }

    function _subnetwork() internal view returns (bytes32) {
        return bytes32(uint256(uint160(network)) << 96);
    }

    function test_stakeAtTimestamp() public view {
        uint48 t = uint48(block.timestamp - 1);
        assertEq(IBaseDelegator(delegator).stakeAt(_subnetwork(), operator, t, ""), 500e18);
        assertEq(IVault(vault).activeStake(), 500e18);
    }

    function test_instantSlashLowersActiveStake() public {
        uint48 captureTimestamp = uint48(block.timestamp - 1);
        vm.prank(network);
        uint256 slashed = ISlasher(slasher).slash(_subnetwork(), operator, 100e18, captureTimestamp, "");
        assertEq(slashed, 100e18);
        assertEq(IVault(vault).activeStake(), 400e18);
        assertEq(collateral.balanceOf(address(0xdEaD)), 100e18);
    }
}
