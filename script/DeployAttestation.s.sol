// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";

import {DcapCollateral} from "../src/attestation/DcapCollateral.sol";
import {DcapTdxVerifier} from "../src/attestation/DcapTdxVerifier.sol";
import {TeeRegistry} from "../src/attestation/TeeRegistry.sol";
import {IDcapCollateral} from "../src/attestation/interfaces/IDcapCollateral.sol";
import {IQuoteVerifier} from "../src/attestation/interfaces/IQuoteVerifier.sol";
import {TeeRole} from "../src/attestation/interfaces/ITeeRegistry.sol";

/// @title DeployAttestation
/// @notice Deploys Cairn's attestation stack (DCAP collateral store, TDX quote verifier, TEE key registry) and
/// writes `deployments/<chainId>.attestation.json`, next to the marketplace's file rather than inside it so the two
/// scripts can run in any order and never rewrite each other's output.
/// @dev Environment:
/// - PRIVATE_KEY (required): deployer; owns the registry and administers every role (policy, revocation).
/// - DEV_ROOT_DER (required unless INTEL_ROOT=true): 0x-hex DER of the dev root CA certificate (the dev attestation
///   provider's `pki.root.der`). The collateral contract refuses Intel's key here.
/// - INTEL_ROOT (optional, default false): `true` pins Intel's SGX Root CA instead; its DER then comes from
///   INTEL_ROOT_DER, and DEV_ROOT_DER must be unset so a dev root can never be pinned by mistake.
/// - MARKETPLACE (optional): the ProofMarketplace these keys serve. Only recorded in the output: switching its
///   matcher authority to the registry is the marketplace owner's separate decision (setMatcherAuthority).
/// - RELAYER_OPERATORS, MATCHER_OPERATORS (optional, comma-separated addresses): operators governance admits for the
///   Relayer and Matcher roles (setOperatorAdmitted), one per independent party: quorums count operators, not keys,
///   so a relayer quorum of 2 over 3 processes needs 3 operators. Each operator then registers its own keys from its
///   own account. More can be admitted (or removed) later by the role admin.
/// - DEPLOYMENT_OUT (optional, default deployments/<chainId>.attestation.json): output file, relative to the
///   project root and inside deployments/ (the only directory foundry.toml lets scripts write).
/// Collateral (CRLs, TCB info, QE identity) and measurement allow-lists are submitted afterwards (ts/tee.ts).
contract DeployAttestation is Script {
    struct Config {
        uint256 deployerKey;
        address deployer;
        bytes rootDer;
        bool intelRoot;
        address marketplace;
        address[] relayerOperators;
        address[] matcherOperators;
        string out;
    }

    struct Deployment {
        DcapCollateral dcapCollateral;
        DcapTdxVerifier dcapTdxVerifier;
        TeeRegistry teeRegistry;
    }

    function run() external returns (Deployment memory d) {
        Config memory c = _config();
        uint256 deployBlock = block.number;

        vm.startBroadcast(c.deployerKey);
        d.dcapCollateral = new DcapCollateral(c.rootDer, c.intelRoot);
        d.dcapTdxVerifier = new DcapTdxVerifier(IDcapCollateral(address(d.dcapCollateral)));
        d.teeRegistry = new TeeRegistry(c.deployer, IQuoteVerifier(address(d.dcapTdxVerifier)));
        d.teeRegistry.setRoleAdmin(TeeRole.Matcher, c.deployer);
        d.teeRegistry.setRoleAdmin(TeeRole.Prover, c.deployer);
        d.teeRegistry.setRoleAdmin(TeeRole.Relayer, c.deployer);
        _admit(d.teeRegistry, TeeRole.Relayer, c.relayerOperators);
        _admit(d.teeRegistry, TeeRole.Matcher, c.matcherOperators);
        vm.stopBroadcast();

        _write(c, d, deployBlock);
    }

    function _config() internal view returns (Config memory c) {
        require(
            vm.envExists("PRIVATE_KEY"), "DeployAttestation: PRIVATE_KEY is not set (the deployer's 0x-prefixed key)"
        );
        c.deployerKey = vm.envUint("PRIVATE_KEY");
        require(c.deployerKey != 0, "DeployAttestation: PRIVATE_KEY must not be zero");
        c.deployer = vm.addr(c.deployerKey);

        c.intelRoot = _flag("INTEL_ROOT");
        if (c.intelRoot) {
            require(
                !vm.envExists("DEV_ROOT_DER"),
                "DeployAttestation: INTEL_ROOT=true pins Intel's root; unset DEV_ROOT_DER (give INTEL_ROOT_DER)"
            );
            c.rootDer = _derCertificate("INTEL_ROOT_DER");
        } else {
            c.rootDer = _derCertificate("DEV_ROOT_DER");
        }

        if (vm.envExists("MARKETPLACE")) {
            c.marketplace = vm.envAddress("MARKETPLACE");
            require(c.marketplace.code.length > 0, "DeployAttestation: MARKETPLACE has no code on this chain");
        }

        c.relayerOperators = _operators("RELAYER_OPERATORS");
        c.matcherOperators = _operators("MATCHER_OPERATORS");

        c.out =
            vm.envOr("DEPLOYMENT_OUT", string.concat("deployments/", vm.toString(block.chainid), ".attestation.json"));
        require(
            vm.indexOf(c.out, "deployments/") == 0 && vm.indexOf(c.out, "..") == type(uint256).max,
            "DeployAttestation: DEPLOYMENT_OUT must be a path inside deployments/ (e.g. deployments/31337.attestation.json)"
        );
    }

    /// @dev Distinct, non-zero operator addresses from a comma-separated variable (empty when unset).
    function _operators(string memory name) internal view returns (address[] memory operators) {
        if (!vm.envExists(name) || bytes(vm.envString(name)).length == 0) return new address[](0);
        operators = vm.envAddress(name, ",");
        for (uint256 i; i < operators.length; ++i) {
            require(operators[i] != address(0), string.concat("DeployAttestation: ", name, " lists the zero address"));
            for (uint256 j; j < i; ++j) {
                require(
                    operators[i] != operators[j],
                    string.concat("DeployAttestation: ", name, " lists an operator twice (each counts once)")
                );
            }
        }
    }

    function _admit(TeeRegistry registry, TeeRole role, address[] memory operators) internal {
        for (uint256 i; i < operators.length; ++i) {
            registry.setOperatorAdmitted(role, operators[i], true);
        }
    }

    /// @dev envBool's own failure names neither the variable's meaning nor the accepted values.
    function _flag(string memory name) internal view returns (bool) {
        if (!vm.envExists(name)) return false;
        string memory value = vm.toLowercase(vm.envString(name));
        if (keccak256(bytes(value)) == keccak256("true")) return true;
        if (keccak256(bytes(value)) == keccak256("false") || bytes(value).length == 0) return false;
        revert(string.concat("DeployAttestation: ", name, " must be 'true' or 'false'"));
    }

    /// @dev A 0x-hex DER certificate, caught here with the variable's name rather than as a parser revert.
    function _derCertificate(string memory name) internal view returns (bytes memory der) {
        require(
            vm.envExists(name),
            string.concat("DeployAttestation: ", name, " is not set (0x-hex DER of the root CA certificate)")
        );
        string memory text = vm.envString(name);
        try vm.parseBytes(text) returns (bytes memory parsed) {
            der = parsed;
        } catch {
            revert(string.concat("DeployAttestation: ", name, " is not 0x-prefixed hex"));
        }
        require(
            der.length > 2 && der[0] == 0x30,
            string.concat("DeployAttestation: ", name, " is not a DER certificate (expected a SEQUENCE, 0x30...)")
        );
    }

    function _write(Config memory c, Deployment memory d, uint256 deployBlock) internal {
        string memory k = "contracts";
        vm.serializeAddress(k, "dcapCollateral", address(d.dcapCollateral));
        vm.serializeAddress(k, "dcapTdxVerifier", address(d.dcapTdxVerifier));
        string memory contracts = vm.serializeAddress(k, "teeRegistry", address(d.teeRegistry));

        (,, bytes32 rootPemBodyHash,) = d.dcapCollateral.root();
        string memory r = "attestation";
        vm.serializeUint(r, "chainId", block.chainid);
        vm.serializeUint(r, "deployBlock", deployBlock);
        vm.serializeAddress(r, "owner", c.deployer);
        vm.serializeBool(r, "intelRoot", c.intelRoot);
        vm.serializeBytes32(r, "rootPemBodyHash", rootPemBodyHash);
        if (c.marketplace != address(0)) vm.serializeAddress(r, "marketplace", c.marketplace);
        vm.serializeAddress(r, "relayerOperators", c.relayerOperators);
        vm.serializeAddress(r, "matcherOperators", c.matcherOperators);
        string memory json = vm.serializeString(r, "contracts", contracts);

        vm.writeJson(json, string.concat(vm.projectRoot(), "/", c.out));
    }
}
