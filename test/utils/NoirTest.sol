// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CairnTest} from "./CairnTest.sol";
import {UltraHonkVerifierAdapter} from "../../src/verifiers/UltraHonkVerifierAdapter.sol";
import {MarketParams} from "../../src/types/Market.sol";

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

    address internal preimageHonk;
    address internal pairHonk;
    /// noir/poseidon2_preimage: the market circuit.
    UltraHonkVerifierAdapter internal noirAdapter;
    /// noir/poseidon2_pair: another circuit with the same public-input layout and proof length.
    UltraHonkVerifierAdapter internal pairAdapter;

    ProofFixture[] internal noirFixtures;
    ProofFixture[] internal pairFixtures;

    function setUp() public virtual override {
        super.setUp();
        preimageHonk = deployCode("Poseidon2PreimageDevHonkVerifier.sol:Poseidon2PreimageDevHonkVerifier");
        pairHonk = deployCode("Poseidon2PairDevHonkVerifier.sol:Poseidon2PairDevHonkVerifier");
        noirAdapter = new UltraHonkVerifierAdapter(preimageHonk, NOIR_PUBLIC_INPUTS, NOIR_PROOF_LENGTH, NOIR_VERIFY_GAS);
        pairAdapter = new UltraHonkVerifierAdapter(pairHonk, NOIR_PUBLIC_INPUTS, NOIR_PROOF_LENGTH, NOIR_VERIFY_GAS);
        _loadFixtures(noirFixtures, "noir/build/poseidon2_preimage.fixtures.json", 8);
        _loadFixtures(pairFixtures, "noir/build/poseidon2_pair.fixtures.json", 3);
    }

    /// Creates a market for noir/poseidon2_preimage and makes it the default market of CairnTest's helpers
    /// (`marketId`, `fixtures`), so `_readyProver`, `_post(i)` and `_fulfil` run a Noir market.
    function _useNoirMarket() internal {
        MarketParams memory p = _marketParams();
        p.verifier = noirAdapter;
        p.metadataURI = "ipfs://noir-poseidon2-preimage";
        marketId = marketplace.createMarket(p);
        delete fixtures;
        for (uint256 i; i < noirFixtures.length; ++i) {
            fixtures.push(noirFixtures[i]);
        }
    }
}
