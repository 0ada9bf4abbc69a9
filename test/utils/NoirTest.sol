// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CairnTest} from "./CairnTest.sol";
import {UltraHonkVerifierAdapter} from "../../src/verifiers/UltraHonkVerifierAdapter.sol";
import {MarketParams} from "../../src/types/Market.sol";
import {DevZkHonkVerifier} from "../../script/utils/DevZkHonkVerifier.sol";

/// @notice CairnTest plus the Noir circuits of noir/ (DEV CRS): their bb.js UltraHonk verifiers, adapters over them
/// and their proof fixtures (noir/build/*.fixtures.json, written by script/noir/build.mjs).
/// @dev The generated verifiers are deployed from their artifacts, not imported: each generated file declares the
/// same free functions and libraries, and they are compiled with their own optimizer settings (foundry.toml).
abstract contract NoirTest is CairnTest {
    /// Public inputs of both circuits: [digest, context].
    uint256 internal constant NOIR_PUBLIC_INPUTS = 2;
    /// Proof length of both circuits (2^8 rows, keccak, non-ZK): 163 fields.
    uint256 internal constant NOIR_PROOF_LENGTH = 5216;
    /// Gas cap of the adapters' inner call: a valid proof of these circuits takes about 1.25M (see
    /// test_VerifyGas in test/UltraHonkVerifierAdapter.t.sol).
    uint256 internal constant NOIR_VERIFY_GAS = 2_000_000;
    /// The ZK flavour (noir/poseidon2_preimage only): 186 fields; a valid proof takes about 2.9M to verify, so the
    /// cap is script/Deploy.s.sol's.
    uint256 internal constant NOIR_ZK_PROOF_LENGTH = 5952;
    uint256 internal constant NOIR_ZK_VERIFY_GAS = 4_000_000;

    address internal preimageHonk;
    address internal pairHonk;
    /// noir/poseidon2_preimage: the market circuit.
    UltraHonkVerifierAdapter internal noirAdapter;
    /// noir/poseidon2_pair: another circuit with the same public-input layout and proof length.
    UltraHonkVerifierAdapter internal pairAdapter;
    /// noir/poseidon2_preimage's ZK verifier (ZKTranscriptLib linked, as script/Deploy.s.sol deploys it).
    address internal preimageZkHonk;
    UltraHonkVerifierAdapter internal noirZkAdapter;

    ProofFixture[] internal noirFixtures;
    ProofFixture[] internal pairFixtures;
    /// ZK proofs of the same statements as noirFixtures (randomized: the build verifies, not rebuilds, them).
    ProofFixture[] internal noirZkFixtures;

    function setUp() public virtual override {
        super.setUp();
        preimageHonk = deployCode("Poseidon2PreimageDevHonkVerifier.sol:Poseidon2PreimageDevHonkVerifier");
        pairHonk = deployCode("Poseidon2PairDevHonkVerifier.sol:Poseidon2PairDevHonkVerifier");
        noirAdapter = new UltraHonkVerifierAdapter(preimageHonk, NOIR_PUBLIC_INPUTS, NOIR_PROOF_LENGTH, NOIR_VERIFY_GAS);
        pairAdapter = new UltraHonkVerifierAdapter(pairHonk, NOIR_PUBLIC_INPUTS, NOIR_PROOF_LENGTH, NOIR_VERIFY_GAS);
        _loadFixtures(noirFixtures, "noir/build/poseidon2_preimage.fixtures.json", 8);
        _loadFixtures(pairFixtures, "noir/build/poseidon2_pair.fixtures.json", 3);
        (preimageZkHonk,) = DevZkHonkVerifier.deploy();
        noirZkAdapter =
            new UltraHonkVerifierAdapter(preimageZkHonk, NOIR_PUBLIC_INPUTS, NOIR_ZK_PROOF_LENGTH, NOIR_ZK_VERIFY_GAS);
        _loadFixtures(noirZkFixtures, "noir/build/poseidon2_preimage.zk.fixtures.json", 8);
    }

    /// Creates a market for noir/poseidon2_preimage and makes it the default market of CairnTest's helpers
    /// (`marketId`, `fixtures`), so `_readyProver`, `_post(i)` and `_fulfil` run a Noir market.
    function _useNoirMarket() internal {
        _useNoirMarket(false);
    }

    /// The same with the ZK verifier and its fixtures when `zk` (the devnet's Noir market).
    function _useNoirMarket(bool zk) internal {
        MarketParams memory p = _marketParams();
        p.verifier = zk ? noirZkAdapter : noirAdapter;
        p.metadataURI = "ipfs://noir-poseidon2-preimage";
        marketId = marketplace.createMarket(p);
        delete fixtures;
        ProofFixture[] storage source = zk ? noirZkFixtures : noirFixtures;
        for (uint256 i; i < source.length; ++i) {
            fixtures.push(source[i]);
        }
    }
}
