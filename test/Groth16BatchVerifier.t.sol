// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CairnTest} from "./utils/CairnTest.sol";
import {Groth16BatchVerifier} from "../src/verifiers/Groth16BatchVerifier.sol";
import {IGroth16BatchVerifier} from "../src/interfaces/IGroth16BatchVerifier.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {Groth16VerifyingKey} from "../src/types/Groth16VerifyingKey.sol";
import {ProofContext} from "../src/types/ProofContext.sol";
import {SnarkjsVerifyingKey} from "../script/utils/SnarkjsVerifyingKey.sol";

contract Groth16BatchVerifierTest is CairnTest {
    uint256 internal constant R =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;
    uint256 internal constant P =
        21_888_242_871_839_275_222_246_405_745_257_275_088_696_311_157_297_823_662_689_037_894_645_226_208_583;

    Groth16BatchVerifier internal batch;
    ProofContext internal anyRequest = ProofContext((uint256(1) << 64) | 1, makeAddr("prover"), keccak256("inputs"));

    function setUp() public override {
        super.setUp();
        batch = _newBatchVerifier();
        _loadBatchFixtures();
    }

    // ---------------------------------------------------------------- helpers

    /// The first `n` proofs: the ten of fixtures.json, then those of batch-fixtures.json.
    function _items(uint256 n)
        internal
        view
        returns (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c)
    {
        inputs = new bytes[](n);
        proofs = new bytes[](n);
        c = new ProofContext[](n);
        for (uint256 i; i < n; ++i) {
            ProofFixture storage f = i < 10 ? fixtures[i] : batchFixtures[i - 10];
            (inputs[i], proofs[i], c[i]) = (f.publicInputs, f.proof, anyRequest);
        }
    }

    function _assertAll(bool[] memory valid, uint256 n, uint256 bad) internal pure {
        assertEq(valid.length, n);
        for (uint256 i; i < n; ++i) {
            assertEq(valid[i], i != bad, vm.toString(i));
        }
    }

    function _key() internal view returns (Groth16VerifyingKey memory) {
        return SnarkjsVerifyingKey.read("circuits/build/poseidon_preimage.vkey.json");
    }

    // ---------------------------------------------------------------- constructor and key

    function test_Constructor() public view {
        assertEq(batch.publicSignalCount(), 2);
        Groth16VerifyingKey memory stored = batch.verifyingKey();
        assertEq(abi.encode(stored), abi.encode(_key()));
        // alpha as snarkjs' JSON has it.
        assertEq(
            stored.alpha[0],
            7_097_581_558_504_505_503_941_869_798_097_106_578_925_570_371_107_383_236_426_336_349_367_952_222_835
        );
    }

    /// The key is the generated verifier's: the same constants, read from data.
    function test_KeyMatchesGeneratedVerifier() public view {
        for (uint256 i; i < fixtures.length; ++i) {
            assertEq(
                batch.verify(fixtures[i].publicInputs, fixtures[i].proof, anyRequest),
                adapter.verify(fixtures[i].publicInputs, fixtures[i].proof, anyRequest)
            );
        }
    }

    function test_RevertWhen_NoPublicSignals() public {
        Groth16VerifyingKey memory vk = _key();
        vk.ic = new uint256[2][](1);
        vk.ic[0] = _key().ic[0];
        vm.expectRevert(IGroth16BatchVerifier.NoPublicSignals.selector);
        new Groth16BatchVerifier(vk);
    }

    function test_RevertWhen_KeyPointOffCurve() public {
        Groth16VerifyingKey memory vk = _key();
        vk.alpha[1] += 1;
        vm.expectRevert(IGroth16BatchVerifier.InvalidVerifyingKey.selector);
        new Groth16BatchVerifier(vk);
        vk = _key();
        vk.ic[2][0] += 1;
        vm.expectRevert(IGroth16BatchVerifier.InvalidVerifyingKey.selector);
        new Groth16BatchVerifier(vk);
        vk = _key();
        vk.delta[3] += 1;
        vm.expectRevert(IGroth16BatchVerifier.InvalidVerifyingKey.selector);
        new Groth16BatchVerifier(vk);
    }

    // ---------------------------------------------------------------- verify

    function test_AllFixturesVerify() public view {
        for (uint256 i; i < 42; ++i) {
            ProofFixture storage f = i < 10 ? fixtures[i] : batchFixtures[i - 10];
            assertTrue(batch.verify(f.publicInputs, f.proof, anyRequest), vm.toString(i));
            assertTrue(batch.validatePublicInputs(f.publicInputs));
        }
    }

    function test_VerifyRejects() public view {
        (uint256 digest, uint256 context) = abi.decode(fixtures[0].publicInputs, (uint256, uint256));
        bytes memory proof = fixtures[0].proof;
        assertFalse(batch.verify(fixtures[1].publicInputs, proof, anyRequest));
        assertFalse(batch.verify(abi.encode(digest, context + 1), proof, anyRequest));
        // Signals at or above r: the pairing would see digest + r as digest.
        assertFalse(batch.verify(abi.encode(digest + R, context), proof, anyRequest));
        assertFalse(batch.verify(abi.encode(digest, R), proof, anyRequest));
        assertFalse(batch.validatePublicInputs(abi.encode(digest, R)));
        assertFalse(batch.verify(fixtures[0].publicInputs, new bytes(256), anyRequest));
        // A coordinate at or above p (A.y + p would be the same point mod p).
        (uint256[2] memory a, uint256[2][2] memory b, uint256[2] memory c) =
            abi.decode(proof, (uint256[2], uint256[2][2], uint256[2]));
        assertFalse(batch.verify(fixtures[0].publicInputs, abi.encode([a[0], a[1] + P], b, c), anyRequest));
        assertFalse(batch.verify(fixtures[0].publicInputs, abi.encode(a, b, [c[0], c[1] + P]), anyRequest));
        // -A instead of A.
        assertFalse(batch.verify(fixtures[0].publicInputs, abi.encode([a[0], P - a[1]], b, c), anyRequest));
        // Off the curve.
        assertFalse(
            batch.verify{gas: 1_000_000}(fixtures[0].publicInputs, abi.encode([a[0], a[1] ^ 1], b, c), anyRequest)
        );
    }

    function test_FlippedProofByteIsRejected() public view {
        uint16[9] memory positions = [uint16(0), 31, 63, 64, 127, 128, 191, 192, 255];
        for (uint256 k; k < positions.length; ++k) {
            bytes memory proof = bytes.concat(fixtures[2].proof);
            proof[positions[k]] = bytes1(uint8(proof[positions[k]]) ^ 0x01);
            assertFalse(batch.verify{gas: 1_000_000}(fixtures[2].publicInputs, proof, anyRequest));
        }
    }

    function test_RevertWhen_VerifyMalformed() public {
        vm.expectRevert(abi.encodeWithSelector(IGroth16BatchVerifier.MalformedProof.selector, 255));
        batch.verify(fixtures[0].publicInputs, new bytes(255), anyRequest);
        vm.expectRevert(abi.encodeWithSelector(IGroth16BatchVerifier.MalformedPublicInputs.selector, 96));
        batch.verify(new bytes(96), fixtures[0].proof, anyRequest);
    }

    function test_RevertWhen_VerifyStarvedOfGas() public {
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        batch.verify{gas: 150_000}(fixtures[0].publicInputs, fixtures[0].proof, anyRequest);
    }

    function test_VerifyCheaperThanGeneratedVerifier() public {
        uint256 before = gasleft();
        adapter.verify(fixtures[0].publicInputs, fixtures[0].proof, anyRequest);
        uint256 old = before - gasleft();
        // Fresh contracts: both run cold (the adapter calls the generated verifier, the batch verifier reads its key).
        Groth16BatchVerifier fresh = _newBatchVerifier();
        before = gasleft();
        fresh.verify(fixtures[0].publicInputs, fixtures[0].proof, anyRequest);
        uint256 fresher = before - gasleft();
        assertLt(fresher, old);
    }

    // ---------------------------------------------------------------- verifyBatch

    function test_VerifyBatchAllValid() public view {
        uint256[5] memory sizes = [uint256(1), 2, 3, 10, 32];
        for (uint256 s; s < sizes.length; ++s) {
            (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(sizes[s]);
            _assertAll(batch.verifyBatch(inputs, proofs, c), sizes[s], type(uint256).max);
        }
    }

    function test_VerifyBatchEmpty() public view {
        assertEq(batch.verifyBatch(new bytes[](0), new bytes[](0), new ProofContext[](0)).length, 0);
    }

    /// One forged proof among ten (a real proof, of other public inputs): only it is false.
    function test_VerifyBatchOneForgedAmongTen() public view {
        for (uint256 bad; bad < 10; bad += 3) {
            (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(10);
            proofs[bad] = proofs[(bad + 1) % 10];
            _assertAll(batch.verifyBatch(inputs, proofs, c), 10, bad);
        }
    }

    /// Two invalid proofs whose errors would cancel under known scalars (A swapped between two proofs with the same
    /// B is not possible here, so: the same forged proof twice) are both caught.
    function test_VerifyBatchSameForgeryTwice() public view {
        (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(4);
        proofs[1] = proofs[0];
        proofs[2] = proofs[0];
        bool[] memory valid = batch.verifyBatch(inputs, proofs, c);
        assertTrue(valid[0]);
        assertFalse(valid[1]);
        assertFalse(valid[2]);
        assertTrue(valid[3]);
    }

    function test_VerifyBatchSignalAboveField() public view {
        (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(10);
        (uint256 digest, uint256 context) = abi.decode(inputs[4], (uint256, uint256));
        inputs[4] = abi.encode(digest + R, context);
        _assertAll(batch.verifyBatch(inputs, proofs, c), 10, 4);
        inputs[4] = abi.encode(digest, context + R);
        _assertAll(batch.verifyBatch(inputs, proofs, c), 10, 4);
    }

    function test_VerifyBatchMalformedItemsAreFalse() public view {
        (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(10);
        proofs[2] = new bytes(255);
        _assertAll(batch.verifyBatch(inputs, proofs, c), 10, 2);
        (inputs, proofs, c) = _items(10);
        inputs[7] = bytes.concat(inputs[7], bytes32(0));
        _assertAll(batch.verifyBatch(inputs, proofs, c), 10, 7);
    }

    /// A point off the curve makes the precompiles refuse the batch; each item is then checked alone.
    function test_VerifyBatchPointOffCurve() public view {
        for (uint256 word; word < 8; ++word) {
            (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(10);
            uint256 at = 32 * word + 31;
            proofs[5][at] = bytes1(uint8(proofs[5][at]) ^ 0x01);
            _assertAll(batch.verifyBatch(inputs, proofs, c), 10, 5);
        }
    }

    function test_RevertWhen_VerifyBatchLengthMismatch() public {
        (bytes[] memory inputs, bytes[] memory proofs,) = _items(3);
        vm.expectRevert(abi.encodeWithSelector(IProofVerifier.BatchLengthMismatch.selector, 3, 3, 2));
        batch.verifyBatch(inputs, proofs, new ProofContext[](2));
    }

    function test_RevertWhen_VerifyBatchStarvedOfGas() public {
        (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(10);
        vm.expectPartialRevert(IProofVerifier.InsufficientGas.selector);
        batch.verifyBatch{gas: 400_000}(inputs, proofs, c);
    }

    /// Whatever items are corrupted, the batch answers what verify answers, item by item.
    /// forge-config: default.fuzz.runs = 48
    function testFuzz_VerifyBatchAgreesWithVerify(uint256 seed, uint8 size) public view {
        uint256 n = bound(size, 2, 12);
        (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(n);
        for (uint256 i; i < n; ++i) {
            uint256 roll = uint256(keccak256(abi.encode(seed, i))) % 8;
            if (roll == 0) inputs[i] = inputs[(i + 1) % n];
            else if (roll == 1) proofs[i][100] = bytes1(uint8(proofs[i][100]) ^ 0x04);
        }
        bool[] memory valid = batch.verifyBatch(inputs, proofs, c);
        for (uint256 i; i < n; ++i) {
            assertEq(valid[i], batch.verify{gas: 1_000_000}(inputs[i], proofs[i], c[i]), vm.toString(i));
        }
    }

    /// The scalars bind every item: reordering a valid batch, or moving a forged item, never changes the answers.
    /// forge-config: default.fuzz.runs = 32
    function testFuzz_VerifyBatchOrderAndPlacement(uint256 seed) public view {
        (bytes[] memory inputs, bytes[] memory proofs, ProofContext[] memory c) = _items(6);
        uint256 bad = seed % 6;
        uint256 swap = (seed >> 8) % 6;
        (inputs[0], inputs[swap]) = (inputs[swap], inputs[0]);
        (proofs[0], proofs[swap]) = (proofs[swap], proofs[0]);
        inputs[bad] = inputs[(bad + 1) % 6];
        _assertAll(batch.verifyBatch(inputs, proofs, c), 6, bad);
    }
}
