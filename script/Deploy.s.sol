// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";

import {ProofMarketplace} from "../src/ProofMarketplace.sol";
import {ProverRegistry} from "../src/ProverRegistry.sol";
import {SignedFulfilmentModule} from "../src/SignedFulfilmentModule.sol";
import {RequestLens} from "../src/lens/RequestLens.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {IMatcherAuthority} from "../src/interfaces/IMatcherAuthority.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";
import {IProverRegistry} from "../src/interfaces/IProverRegistry.sol";
import {IStakeSource} from "../src/interfaces/IStakeSource.sol";
import {OwnedMatcherAuthority} from "../src/matching/OwnedMatcherAuthority.sol";
import {NativeStaking} from "../src/staking/NativeStaking.sol";
import {Groth16BatchVerifier} from "../src/verifiers/Groth16BatchVerifier.sol";
import {UltraHonkVerifierAdapter} from "../src/verifiers/UltraHonkVerifierAdapter.sol";
import {PoseidonPreimageGroth16Verifier} from "../src/verifiers/generated/PoseidonPreimageGroth16Verifier.sol";
import {SnarkjsVerifyingKey} from "./utils/SnarkjsVerifyingKey.sol";
import {DevZkHonkVerifier} from "./utils/DevZkHonkVerifier.sol";

/// @title Deploy
/// @notice Deploys a complete Cairn devnet/testnet stack and writes `deployments/<chainId>.json`.
/// @dev Environment:
/// - PRIVATE_KEY (required): deployer; owns the marketplace and the matcher authority.
/// - MATCHER_ADDRESS (required): the matcher key authorised to sign assignment batches.
/// - TREASURY (optional, default: deployer): receives creation fees and the treasury share of slashes.
/// - EXIT_DELAY (optional, default: 1 hour): registry exit delay, in seconds.
/// - UNBONDING_PERIOD (optional, default: 7 days): native staking unbonding period, in seconds.
/// - DEPLOYMENT_OUT (optional, default: deployments/<chainId>.json): output file, relative to the project root and
///   inside deployments/ (the only directory foundry.toml lets scripts write); lets concurrent devnets on the same
///   chain id (e2e tests, benchmarks) keep their own files.
/// The tokens are DevTokens (anyone can mint), and the Noir market's verifier is built on the DEVELOPMENT CRS (public
/// tau: anyone can forge its proofs, noir/dev-crs): never run this script against a network with value.
contract Deploy is Script {
    uint256 internal constant DEFAULT_EXIT_DELAY = 1 hours;
    uint256 internal constant DEFAULT_UNBONDING_PERIOD = 7 days;
    /// The Poseidon preimage circuit's verifying key (public signals [digest, context]), as snarkjs exported it.
    string internal constant POSEIDON_PREIMAGE_VKEY = "circuits/build/poseidon_preimage.vkey.json";
    /// Gas the Noir adapter forwards to its verifier: a valid ZK proof of noir/poseidon2_preimage takes about 2.9M
    /// (execution, Osaka; noir/README.md), an invalid one up to the cap.
    uint256 internal constant NOIR_VERIFY_GAS = 4_000_000;

    struct Config {
        uint256 deployerKey;
        address deployer;
        address matcher;
        address treasury;
        uint32 exitDelay;
        uint64 unbondingPeriod;
    }

    struct Deployment {
        OwnedMatcherAuthority matcherAuthority;
        ProverRegistry proverRegistry;
        SignedFulfilmentModule signedFulfilmentModule;
        ProofMarketplace proofMarketplace;
        DevToken paymentToken;
        DevToken stakeToken;
        NativeStaking nativeStaking;
        PoseidonPreimageGroth16Verifier groth16Verifier;
        /// The devnet Groth16 market's verifier: the batching verifier with the circuit's key as data.
        Groth16BatchVerifier groth16Adapter;
        /// The devnet Noir market's bb.js ZK UltraHonk verifier of noir/poseidon2_preimage, on the DEVELOPMENT CRS
        /// (forgeable proofs: a devnet's only), deployed from its artifact with ZKTranscriptLib linked.
        address noirHonkVerifier;
        /// The devnet Noir market's verifier: the adapter over noirHonkVerifier.
        UltraHonkVerifierAdapter noirAdapter;
        RequestLens requestLens;
    }

    function run() external returns (Deployment memory d) {
        Config memory c = _config();
        uint256 deployBlock = block.number;

        vm.startBroadcast(c.deployerKey);
        d = _deploy(c);
        d.proofMarketplace.setStakeSourceApproval(IStakeSource(address(d.nativeStaking)), true);
        d.matcherAuthority.setMatcher(c.matcher, true);
        vm.stopBroadcast();

        _write(c, d, deployBlock);
    }

    function _config() internal view returns (Config memory c) {
        require(vm.envExists("PRIVATE_KEY"), "Deploy: PRIVATE_KEY is not set (the deployer's 0x-prefixed private key)");
        require(
            vm.envExists("MATCHER_ADDRESS"),
            "Deploy: MATCHER_ADDRESS is not set (the matcher key's 0x-prefixed address)"
        );
        c.deployerKey = vm.envUint("PRIVATE_KEY");
        require(c.deployerKey != 0, "Deploy: PRIVATE_KEY must not be zero");
        c.deployer = vm.addr(c.deployerKey);
        c.matcher = vm.envAddress("MATCHER_ADDRESS");
        require(c.matcher != address(0), "Deploy: MATCHER_ADDRESS must not be the zero address");
        c.treasury = vm.envOr("TREASURY", c.deployer);
        require(c.treasury != address(0), "Deploy: TREASURY must not be the zero address");

        uint256 exitDelay = vm.envOr("EXIT_DELAY", DEFAULT_EXIT_DELAY);
        require(exitDelay <= type(uint32).max, "Deploy: EXIT_DELAY does not fit in uint32 seconds");
        // forge-lint: disable-next-line(unsafe-typecast)
        c.exitDelay = uint32(exitDelay); // bounded by the require above
        uint256 unbondingPeriod = vm.envOr("UNBONDING_PERIOD", DEFAULT_UNBONDING_PERIOD);
        require(unbondingPeriod <= type(uint64).max, "Deploy: UNBONDING_PERIOD does not fit in uint64 seconds");
        // forge-lint: disable-next-line(unsafe-typecast)
        c.unbondingPeriod = uint64(unbondingPeriod); // bounded by the require above
    }

    function _deploy(Config memory c) internal returns (Deployment memory d) {
        d.matcherAuthority = new OwnedMatcherAuthority(c.deployer);

        // The registry and the marketplace reference each other: the registry is built with the marketplace's
        // address, which is the deployer's CREATE address after the registry's and the fulfilment module's.
        address predicted = vm.computeCreateAddress(c.deployer, vm.getNonce(c.deployer) + 2);
        d.proverRegistry = new ProverRegistry(IProofMarketplace(predicted), c.exitDelay);
        d.signedFulfilmentModule = new SignedFulfilmentModule(d.proverRegistry);
        d.proofMarketplace = new ProofMarketplace(
            c.deployer,
            IProverRegistry(address(d.proverRegistry)),
            c.treasury,
            IMatcherAuthority(d.matcherAuthority),
            d.signedFulfilmentModule
        );
        require(address(d.proofMarketplace) == predicted, "Deploy: marketplace address differs from the prediction");

        d.paymentToken = new DevToken("Cairn Dev USD", "cUSD");
        d.stakeToken = new DevToken("Cairn Dev Stake", "cSTK");
        d.nativeStaking = new NativeStaking(address(d.stakeToken), address(d.proofMarketplace), c.unbondingPeriod);
        // snarkjs' generated verifier of the same key: no market uses it any more (groth16Adapter carries the key
        // itself); deployed as a reference for cross-checks, and so the deployment file keeps its keys.
        d.groth16Verifier = new PoseidonPreimageGroth16Verifier();
        d.groth16Adapter = new Groth16BatchVerifier(SnarkjsVerifyingKey.read(POSEIDON_PREIMAGE_VKEY));
        (d.noirHonkVerifier,) = DevZkHonkVerifier.deploy();
        d.noirAdapter = new UltraHonkVerifierAdapter(
            d.noirHonkVerifier, DevZkHonkVerifier.PUBLIC_INPUTS, DevZkHonkVerifier.PROOF_LENGTH, NOIR_VERIFY_GAS
        );
        d.requestLens = new RequestLens(d.proofMarketplace);
    }

    function _write(Config memory c, Deployment memory d, uint256 deployBlock) internal {
        string memory k = "contracts";
        vm.serializeAddress(k, "proofMarketplace", address(d.proofMarketplace));
        vm.serializeAddress(k, "proverRegistry", address(d.proverRegistry));
        vm.serializeAddress(k, "signedFulfilmentModule", address(d.signedFulfilmentModule));
        vm.serializeAddress(k, "nativeStaking", address(d.nativeStaking));
        vm.serializeAddress(k, "matcherAuthority", address(d.matcherAuthority));
        vm.serializeAddress(k, "paymentToken", address(d.paymentToken));
        vm.serializeAddress(k, "stakeToken", address(d.stakeToken));
        vm.serializeAddress(k, "groth16Verifier", address(d.groth16Verifier));
        vm.serializeAddress(k, "requestLens", address(d.requestLens));
        vm.serializeAddress(k, "noirHonkVerifier", d.noirHonkVerifier);
        vm.serializeAddress(k, "noirAdapter", address(d.noirAdapter));
        string memory contracts = vm.serializeAddress(k, "groth16Adapter", address(d.groth16Adapter));

        string memory r = "deployment";
        vm.serializeUint(r, "chainId", block.chainid);
        vm.serializeUint(r, "deployBlock", deployBlock);
        vm.serializeAddress(r, "owner", c.deployer);
        vm.serializeAddress(r, "treasury", c.treasury);
        vm.serializeAddress(r, "matcher", c.matcher);
        string memory json = vm.serializeString(r, "contracts", contracts);

        string memory defaultOut = string.concat("deployments/", vm.toString(block.chainid), ".json");
        vm.writeJson(json, string.concat(vm.projectRoot(), "/", vm.envOr("DEPLOYMENT_OUT", defaultOut)));
    }
}
