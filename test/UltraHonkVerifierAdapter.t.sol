// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IVerifierAdapter} from "../src/interfaces/IVerifierAdapter.sol";
import {console} from "forge-std/console.sol";
import {NoirTest} from "./utils/NoirTest.sol";
import {UltraHonkVerifierAdapter} from "../src/verifiers/UltraHonkVerifierAdapter.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {ProofContext} from "../src/types/ProofContext.sol";
import {Fulfilment, RequestState} from "../src/types/Request.sol";
import {IProofMarketplace} from "../src/interfaces/IProofMarketplace.sol";

contract UltraHonkVerifierAdapterTest is NoirTest {
    uint256 internal constant SCALAR_FIELD =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;

    /// Gas handed to each rejected-proof call, so a check that burns its whole cap cannot exhaust the test.
    uint256 internal constant CALL_GAS = 4_000_000;

    /// A request context: the adapter ignores it (see test_ContextDoesNotMatter).
    ProofContext internal anyRequest = ProofContext((uint256(1) << 64) | 1, makeAddr("prover"), keccak256("inputs"));

    /// Whether `noirAdapter.verify` accepts; a revert counts as a rejection.
    function _accepts(bytes memory publicInputs, bytes memory proof) internal view returns (bool) {
        try noirAdapter.verify{gas: CALL_GAS}(publicInputs, proof, anyRequest) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    function _inputs(uint256 a, uint256 b) internal pure returns (bytes memory) {
        return abi.encode(a, b);
    }

    // ---------------------------------------------------------------- constructor

    function test_Constructor() public view {
        assertEq(noirAdapter.honkVerifier(), preimageHonk);
        assertEq(noirAdapter.publicInputCount(), 2);
        assertEq(noirAdapter.proofLength(), 5216);
        assertEq(noirAdapter.verifyGasLimit(), NOIR_VERIFY_GAS);
    }

    function test_RevertWhen_ConstructorZeroAddress() public {
        vm.expectRevert(IVerifierAdapter.ZeroAddress.selector);
        new UltraHonkVerifierAdapter(address(0), 2, 5216, NOIR_VERIFY_GAS);
    }

    function test_RevertWhen_ConstructorZeroPublicInputs() public {
        vm.expectRevert(IVerifierAdapter.ZeroPublicInputs.selector);
        new UltraHonkVerifierAdapter(preimageHonk, 0, 5216, NOIR_VERIFY_GAS);
    }

    function test_RevertWhen_ConstructorBadProofLength() public {
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.InvalidProofLength.selector, 0));
        new UltraHonkVerifierAdapter(preimageHonk, 2, 0, NOIR_VERIFY_GAS);
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.InvalidProofLength.selector, 5217));
        new UltraHonkVerifierAdapter(preimageHonk, 2, 5217, NOIR_VERIFY_GAS);
    }

    function test_RevertWhen_ConstructorZeroGasLimit() public {
        vm.expectRevert(IVerifierAdapter.ZeroVerifyGasLimit.selector);
        new UltraHonkVerifierAdapter(preimageHonk, 2, 5216, 0);
    }

    // ---------------------------------------------------------------- verify

    function test_AllFixturesVerify() public view {
        assertEq(noirFixtures.length, 8);
        for (uint256 i; i < noirFixtures.length; ++i) {
            assertEq(noirFixtures[i].proof.length, NOIR_PROOF_LENGTH);
            assertEq(noirFixtures[i].publicInputs.length, 64);
            assertTrue(noirAdapter.verify(noirFixtures[i].publicInputs, noirFixtures[i].proof, anyRequest));
            assertTrue(noirAdapter.validatePublicInputs(noirFixtures[i].publicInputs), vm.toString(i));
        }
        for (uint256 i; i < pairFixtures.length; ++i) {
            assertTrue(pairAdapter.verify(pairFixtures[i].publicInputs, pairFixtures[i].proof, anyRequest));
        }
    }

    /// Fixture i proves preimage i + 1 with context 1001 + i; the digest is bb's Poseidon2 of it (the build checks it).
    function test_FixturePublicInputsLayout() public view {
        for (uint256 i; i < noirFixtures.length; ++i) {
            (uint256 digest, uint256 context) = abi.decode(noirFixtures[i].publicInputs, (uint256, uint256));
            assertEq(context, 1001 + i);
            assertLt(digest, SCALAR_FIELD);
        }
    }

    function test_ContextDoesNotMatter() public view {
        ProofContext[3] memory contexts = [
            anyRequest,
            ProofContext(0, address(0), bytes32(0)),
            ProofContext(type(uint256).max, stranger, keccak256("other inputs"))
        ];
        for (uint256 i; i < contexts.length; ++i) {
            assertTrue(noirAdapter.verify(noirFixtures[0].publicInputs, noirFixtures[0].proof, contexts[i]));
            assertFalse(noirAdapter.verify(noirFixtures[1].publicInputs, noirFixtures[0].proof, contexts[i]));
        }
    }

    function test_ProofForOtherPublicInputsIsFalse() public view {
        for (uint256 i; i < noirFixtures.length; ++i) {
            uint256 j = (i + 1) % noirFixtures.length;
            assertFalse(noirAdapter.verify(noirFixtures[j].publicInputs, noirFixtures[i].proof, anyRequest));
        }
    }

    /// The circuit's `context` public input binds a proof to its request: the same digest with another context fails.
    function test_ChangedPublicInputIsFalse() public view {
        (uint256 digest, uint256 context) = abi.decode(noirFixtures[0].publicInputs, (uint256, uint256));
        bytes memory proof = noirFixtures[0].proof;
        assertFalse(noirAdapter.verify(_inputs(digest, context + 1), proof, anyRequest));
        assertFalse(noirAdapter.verify(_inputs(digest, 0), proof, anyRequest));
        assertFalse(noirAdapter.verify(_inputs(digest + 1, context), proof, anyRequest));
        assertFalse(noirAdapter.verify(_inputs(context, digest), proof, anyRequest));
    }

    /// A proof of poseidon2_pair (same public-input layout and proof length) is refused by the preimage circuit's
    /// verifier for the very public inputs it proves, and the other way round.
    function test_ProofForOtherCircuitIsFalse() public view {
        for (uint256 i; i < pairFixtures.length; ++i) {
            assertTrue(pairAdapter.verify(pairFixtures[i].publicInputs, pairFixtures[i].proof, anyRequest));
            assertFalse(noirAdapter.verify(pairFixtures[i].publicInputs, pairFixtures[i].proof, anyRequest));
            assertFalse(pairAdapter.verify(noirFixtures[i].publicInputs, noirFixtures[i].proof, anyRequest));
        }
    }

    /// Bytes of the pairing-point fields, a witness commitment, sumcheck univariates and evaluations, the Gemini and
    /// Shplonk/KZG commitments, and the last byte.
    function test_FlippedProofByteIsRejected() public view {
        uint16[12] memory positions = [uint16(0), 31, 511, 512, 543, 1000, 2047, 3000, 4200, 4700, 5120, 5215];
        for (uint256 k; k < positions.length; ++k) {
            bytes memory proof = bytes.concat(noirFixtures[0].proof);
            proof[positions[k]] = bytes1(uint8(proof[positions[k]]) ^ 0x01);
            assertFalse(_accepts(noirFixtures[0].publicInputs, proof), vm.toString(positions[k]));
            proof[positions[k]] = bytes1(uint8(proof[positions[k]]) ^ 0xff);
            assertFalse(_accepts(noirFixtures[0].publicInputs, proof), vm.toString(positions[k]));
        }
    }

    function test_ZeroProofIsFalse() public view {
        assertFalse(noirAdapter.verify(noirFixtures[0].publicInputs, new bytes(NOIR_PROOF_LENGTH), anyRequest));
    }

    function test_PublicInputAboveFieldIsFalse() public view {
        (uint256 digest, uint256 context) = abi.decode(noirFixtures[0].publicInputs, (uint256, uint256));
        bytes[4] memory bad = [
            _inputs(SCALAR_FIELD, context),
            _inputs(digest, SCALAR_FIELD + context),
            _inputs(digest + SCALAR_FIELD, context),
            _inputs(digest, type(uint256).max)
        ];
        for (uint256 i; i < bad.length; ++i) {
            assertFalse(noirAdapter.verify(bad[i], noirFixtures[0].proof, anyRequest), vm.toString(i));
            assertFalse(noirAdapter.validatePublicInputs(bad[i]), vm.toString(i));
        }
    }

    function test_ValidProofVerifiesWithinGasBudget() public view {
        for (uint256 i; i < 2; ++i) {
            assertTrue(
                noirAdapter.verify{gas: NOIR_VERIFY_GAS + NOIR_VERIFY_GAS / 63 + 50_000}(
                    noirFixtures[i].publicInputs, noirFixtures[i].proof, anyRequest
                )
            );
        }
    }

    /// Execution gas of one verification through the adapter (no transaction base cost or calldata), printed. The
    /// fixture is copied to memory first: reading it from storage inside the measured span would add ~340k.
    function test_VerifyGas() public view {
        bytes memory publicInputs = noirFixtures[0].publicInputs;
        bytes memory proof = noirFixtures[0].proof;
        assertTrue(noirAdapter.verify(publicInputs, proof, anyRequest));
        uint256 used = vm.lastCallGas().gasTotalUsed;
        console.log("UltraHonk adapter verify (2^8 rows, keccak, non-ZK), execution gas:", used);
        assertLt(used, NOIR_VERIFY_GAS);
    }

    function test_RevertWhen_InsufficientGas() public {
        uint256 required = NOIR_VERIFY_GAS + NOIR_VERIFY_GAS / 63 + 5000;
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        noirAdapter.verify{gas: required - 100_000}(noirFixtures[0].publicInputs, noirFixtures[0].proof, anyRequest);
    }

    function test_RevertWhen_VerifyMalformedProof() public {
        bytes memory pi = noirFixtures[0].publicInputs;
        bytes memory proof = noirFixtures[0].proof;

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 5215));
        noirAdapter.verify(pi, _slice(proof, 5215), anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 5248));
        noirAdapter.verify(pi, bytes.concat(proof, bytes32(0)), anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 0));
        noirAdapter.verify(pi, "", anyRequest);
    }

    function test_RevertWhen_VerifyMalformedPublicInputs() public {
        bytes memory pi = noirFixtures[0].publicInputs;
        bytes memory proof = noirFixtures[0].proof;

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, 63));
        noirAdapter.verify(_slice(pi, 63), proof, anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, 96));
        noirAdapter.verify(bytes.concat(pi, bytes32(0)), proof, anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, 0));
        noirAdapter.verify("", proof, anyRequest);
    }

    function test_RevertWhen_VerifyMalformedProofCheckedFirst() public {
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 1));
        noirAdapter.verify("", hex"00", anyRequest);
    }

    function test_VerifierWithoutCodeIsFalse() public {
        UltraHonkVerifierAdapter empty = new UltraHonkVerifierAdapter(makeAddr("noCode"), 2, 5216, NOIR_VERIFY_GAS);
        assertFalse(empty.verify(noirFixtures[0].publicInputs, noirFixtures[0].proof, anyRequest));
    }

    // ---------------------------------------------------------------- verifyBatch

    function test_VerifyBatchOneBadItemAmongGood() public view {
        uint256 n = 5;
        bytes[] memory pis = new bytes[](n);
        bytes[] memory proofs = new bytes[](n);
        ProofContext[] memory contexts = new ProofContext[](n);
        for (uint256 i; i < n; ++i) {
            pis[i] = noirFixtures[i].publicInputs;
            proofs[i] = noirFixtures[i].proof;
            contexts[i] = anyRequest;
        }
        proofs[2] = noirFixtures[3].proof; // a valid proof, of other public inputs
        bool[] memory valid = noirAdapter.verifyBatch(pis, proofs, contexts);
        assertEq(valid.length, n);
        for (uint256 i; i < n; ++i) {
            assertEq(valid[i], i != 2, vm.toString(i));
        }
    }

    /// Items `verify` would revert on (malformed lengths) and items that are merely invalid are false; the rest true.
    function test_VerifyBatchMalformedItemsAreFalse() public view {
        bytes[] memory pis = new bytes[](6);
        bytes[] memory proofs = new bytes[](6);
        ProofContext[] memory contexts = new ProofContext[](6);
        for (uint256 i; i < 6; ++i) {
            pis[i] = noirFixtures[i].publicInputs;
            proofs[i] = noirFixtures[i].proof;
            contexts[i] = anyRequest;
        }
        proofs[1] = _slice(noirFixtures[1].proof, 5184); // short proof
        pis[3] = bytes.concat(noirFixtures[3].publicInputs, bytes32(0)); // three public inputs
        pis[4] = _inputs(SCALAR_FIELD, 1005); // out of the field
        proofs[5] = pairFixtures[0].proof; // another circuit's proof
        bool[] memory valid = noirAdapter.verifyBatch(pis, proofs, contexts);
        bool[6] memory expected = [true, false, true, false, false, false];
        for (uint256 i; i < 6; ++i) {
            assertEq(valid[i], expected[i], vm.toString(i));
        }
    }

    function test_VerifyBatchEmpty() public view {
        assertEq(noirAdapter.verifyBatch(new bytes[](0), new bytes[](0), new ProofContext[](0)).length, 0);
    }

    function test_RevertWhen_VerifyBatchLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IProofVerifier.BatchLengthMismatch.selector, 1, 2, 2));
        noirAdapter.verifyBatch(new bytes[](1), new bytes[](2), new ProofContext[](2));
        vm.expectRevert(abi.encodeWithSelector(IProofVerifier.BatchLengthMismatch.selector, 2, 2, 1));
        noirAdapter.verifyBatch(new bytes[](2), new bytes[](2), new ProofContext[](1));
    }

    // ---------------------------------------------------------------- validatePublicInputs

    function test_ValidatePublicInputs() public view {
        assertTrue(noirAdapter.validatePublicInputs(_inputs(0, 0)));
        assertTrue(noirAdapter.validatePublicInputs(_inputs(SCALAR_FIELD - 1, SCALAR_FIELD - 1)));
        assertFalse(noirAdapter.validatePublicInputs(""));
        assertFalse(noirAdapter.validatePublicInputs(_slice(noirFixtures[0].publicInputs, 63)));
        assertFalse(noirAdapter.validatePublicInputs(bytes.concat(noirFixtures[0].publicInputs, bytes32(0))));
        assertFalse(noirAdapter.validatePublicInputs(abi.encode(uint256(1))));
    }

    function testFuzz_validatePublicInputs(uint256 a, uint256 b) public view {
        assertEq(noirAdapter.validatePublicInputs(_inputs(a, b)), a < SCALAR_FIELD && b < SCALAR_FIELD);
    }

    // ---------------------------------------------------------------- marketplace lifecycle with a Noir market

    /// Post, assign, fulfil with a real Noir proof, get paid; a proof for another request's context is refused.
    function test_NoirMarketLifecycle() public {
        _useNoirMarket();
        _readyProver(prover, 2);
        uint256 id = _post(0);
        uint256 other = _post(1);
        _matcherAssign(id, prover);
        _matcherAssign(other, prover);

        // The proof of request `other` (another digest and context) does not fulfil request `id`.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, id));
        marketplace.fulfil(_fulfilmentWithProof(id, 0, fixtures[1].proof));

        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.RequestFulfilled(id, prover, PRICE, MAX_REWARD - PRICE);
        _fulfil(prover, id, 0);
        _fulfil(prover, other, 1);

        assertEq(uint8(lens.requestState(id, records[id], tasks[id])), uint8(RequestState.Fulfilled));
        assertEq(uint8(lens.requestState(other, records[other], tasks[other])), uint8(RequestState.Fulfilled));
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), 2 * PRICE);
        assertEq(marketplace.balanceOf(refundee, address(payToken)), 2 * (MAX_REWARD - PRICE));
        (, uint128 locked) = staking.stakeOf(prover);
        assertEq(locked, 0);
    }

    // ---------------------------------------------------------------- internal

    function _fulfilmentWithProof(uint256 requestId, uint256 fixture, bytes memory proof)
        internal
        view
        returns (Fulfilment memory f)
    {
        f = _fulfilment(requestId, fixture);
        f.proof = proof;
    }

    function _slice(bytes memory data, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = data[i];
        }
    }
}
