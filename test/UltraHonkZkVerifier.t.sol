// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierAdapter} from "../src/interfaces/IVerifierAdapter.sol";
import {console} from "forge-std/console.sol";
import {NoirTest} from "./utils/NoirTest.sol";
import {UltraHonkVerifierAdapter} from "../src/verifiers/UltraHonkVerifierAdapter.sol";
import {ProofContext} from "../src/types/ProofContext.sol";
import {Fulfilment, RequestState} from "../src/types/Request.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";

/// @notice The ZK flavour of noir/poseidon2_preimage's verifier (bb.js `evm` target, ZKTranscriptLib linked by
/// script/utils/DevZkHonkVerifier.sol, as script/Deploy.s.sol deploys the devnet's Noir market) behind the same
/// adapter: what test/UltraHonkVerifierAdapter.t.sol shows of the non-ZK one, for the flavour the devnet uses.
contract UltraHonkZkVerifierTest is NoirTest {
    ProofContext internal anyRequest = ProofContext((uint256(1) << 64) | 1, makeAddr("prover"), keccak256("inputs"));

    function test_ZkVerifierFitsEip170() public view {
        assertLe(preimageZkHonk.code.length, 24_576);
        assertEq(noirZkAdapter.proofLength(), NOIR_ZK_PROOF_LENGTH);
    }

    function test_AllZkFixturesVerify() public view {
        assertEq(noirZkFixtures.length, 8);
        for (uint256 i; i < noirZkFixtures.length; ++i) {
            assertEq(noirZkFixtures[i].proof.length, NOIR_ZK_PROOF_LENGTH);
            // The same statements as the non-ZK fixtures.
            assertEq(noirZkFixtures[i].publicInputs, noirFixtures[i].publicInputs);
            assertTrue(noirZkAdapter.verify(noirZkFixtures[i].publicInputs, noirZkFixtures[i].proof, anyRequest));
        }
    }

    function test_ZkProofForOtherPublicInputsIsFalse() public view {
        for (uint256 i; i < noirZkFixtures.length; ++i) {
            uint256 j = (i + 1) % noirZkFixtures.length;
            assertFalse(noirZkAdapter.verify(noirZkFixtures[j].publicInputs, noirZkFixtures[i].proof, anyRequest));
        }
        (uint256 digest, uint256 context) = abi.decode(noirZkFixtures[0].publicInputs, (uint256, uint256));
        assertFalse(noirZkAdapter.verify(abi.encode(digest, context + 1), noirZkFixtures[0].proof, anyRequest));
    }

    /// Bytes across the proof: pairing points, commitments, the masking (Libra) part, sumcheck, Gemini, KZG, the end.
    function test_FlippedZkProofByteIsRejected() public view {
        uint16[10] memory positions = [uint16(0), 511, 512, 700, 1500, 2600, 3700, 4800, 5600, 5951];
        for (uint256 k; k < positions.length; ++k) {
            bytes memory proof = bytes.concat(noirZkFixtures[0].proof);
            proof[positions[k]] = bytes1(uint8(proof[positions[k]]) ^ 0x01);
            bool ok;
            try noirZkAdapter.verify{gas: 6_000_000}(noirZkFixtures[0].publicInputs, proof, anyRequest) returns (
                bool valid
            ) {
                ok = valid;
            } catch {}
            assertFalse(ok, vm.toString(uint256(positions[k])));
        }
    }

    /// Each flavour's proof is malformed for the other's adapter (another length), so neither can stand in.
    function test_OtherFlavourProofIsMalformed() public {
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 5216));
        noirZkAdapter.verify(noirFixtures[0].publicInputs, noirFixtures[0].proof, anyRequest);
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 5952));
        noirAdapter.verify(noirZkFixtures[0].publicInputs, noirZkFixtures[0].proof, anyRequest);
    }

    /// Execution gas of one verification of each flavour through its adapter, printed (noir/README.md's figures).
    function test_VerifyGasBothFlavours() public view {
        bytes memory publicInputs = noirZkFixtures[0].publicInputs;
        bytes memory zkProof = noirZkFixtures[0].proof;
        bytes memory proof = noirFixtures[0].proof;
        assertTrue(noirZkAdapter.verify(publicInputs, zkProof, anyRequest));
        uint256 zkGas = vm.lastCallGas().gasTotalUsed;
        assertTrue(noirAdapter.verify(publicInputs, proof, anyRequest));
        uint256 noZkGas = vm.lastCallGas().gasTotalUsed;
        console.log("UltraHonk adapter verify (2^8 rows, keccak), execution gas, ZK:", zkGas);
        console.log("UltraHonk adapter verify (2^8 rows, keccak), execution gas, non-ZK:", noZkGas);
        assertLt(zkGas, NOIR_ZK_VERIFY_GAS);
        assertGt(zkGas, noZkGas);
    }

    /// The devnet's market: post, assign, fulfil with a real ZK proof; another request's proof is refused.
    function test_NoirZkMarketLifecycle() public {
        _useNoirMarket(true);
        _readyProver(prover, 2);
        uint256 id = _post(0);
        uint256 other = _post(1);
        _matcherAssign(id, prover);
        _matcherAssign(other, prover);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, id));
        Fulfilment memory replayed = _fulfilment(id, 0);
        replayed.proof = fixtures[1].proof;
        marketplace.fulfil(replayed);
        _fulfil(prover, id, 0);
        _fulfil(prover, other, 1);
        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Fulfilled));
        assertEq(uint8(lens.requestState(other, records[other], tasks[other])), uint8(RequestState.Fulfilled));
    }
}
