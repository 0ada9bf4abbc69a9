// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {IVerifierAdapter} from "../src/interfaces/IVerifierAdapter.sol";
import {CairnTest} from "./utils/CairnTest.sol";
import {Groth16VerifierAdapter} from "../src/verifiers/Groth16VerifierAdapter.sol";
import {ProofContext} from "../src/types/ProofContext.sol";

contract Groth16VerifierAdapterTest is CairnTest {
    uint256 internal constant SCALAR_FIELD =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;

    /// Gas handed to each rejected-proof call: the snarkjs verifier forwards all its gas to the EC precompiles, which
    /// consume all of it on an invalid point, so an unbounded call would burn the test's whole gas budget.
    uint256 internal constant VERIFY_GAS = 2_000_000;

    /// A request context: the adapter ignores it (see test_ContextDoesNotMatter).
    ProofContext internal anyRequest = ProofContext((uint256(1) << 64) | 1, makeAddr("prover"), keccak256("inputs"));

    /// Whether `adapter.verify` accepts; a revert counts as a rejection.
    function _accepts(bytes memory publicInputs, bytes memory proof) internal view returns (bool) {
        try adapter.verify{gas: VERIFY_GAS}(publicInputs, proof, anyRequest) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    function _signals(uint256 a, uint256 b) internal pure returns (bytes memory) {
        return abi.encode(a, b);
    }

    // ---------------------------------------------------------------- constructor

    function test_Constructor() public view {
        assertEq(adapter.groth16Verifier(), address(groth16));
        assertEq(adapter.publicSignalCount(), 2);
    }

    function test_VerifyProofSelector() public view {
        assertEq(
            adapter.verifyProofSelector(),
            bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[2])"))
        );
        assertEq(adapter.verifyProofSelector(), groth16.verifyProof.selector);
    }

    function test_VerifyProofSelectorFollowsSignalCount() public {
        Groth16VerifierAdapter other = new Groth16VerifierAdapter(address(groth16), 17);
        assertEq(
            other.verifyProofSelector(),
            bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[17])"))
        );
    }

    function test_RevertWhen_VerifyBatchLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IProofVerifier.BatchLengthMismatch.selector, 2, 1, 1));
        adapter.verifyBatch(new bytes[](2), new bytes[](1), new ProofContext[](1));
        vm.expectRevert(abi.encodeWithSelector(IProofVerifier.BatchLengthMismatch.selector, 1, 1, 0));
        adapter.verifyBatch(new bytes[](1), new bytes[](1), new ProofContext[](0));
    }

    function test_RevertWhen_ConstructorZeroAddress() public {
        vm.expectRevert(IVerifierAdapter.ZeroAddress.selector);
        new Groth16VerifierAdapter(address(0), 2);
    }

    function test_RevertWhen_ConstructorZeroPublicSignals() public {
        vm.expectRevert(IVerifierAdapter.ZeroPublicInputs.selector);
        new Groth16VerifierAdapter(address(groth16), 0);
    }

    // ---------------------------------------------------------------- verify

    function test_AllFixturesVerify() public view {
        assertEq(fixtures.length, 10);
        for (uint256 i; i < fixtures.length; ++i) {
            assertEq(fixtures[i].proof.length, 256);
            assertEq(fixtures[i].publicInputs.length, 64);
            assertTrue(adapter.verify(fixtures[i].publicInputs, fixtures[i].proof, anyRequest), vm.toString(i));
            assertTrue(adapter.validatePublicInputs(fixtures[i].publicInputs), vm.toString(i));
        }
    }

    /// A ZK proof proves its public statement whoever submits it and for whichever request: binding a proof to one
    /// request is the circuit's job (the preimage circuit's `context` signal), not the adapter's.
    function test_ContextDoesNotMatter() public view {
        ProofContext[3] memory contexts = [
            anyRequest,
            ProofContext(0, address(0), bytes32(0)),
            ProofContext(type(uint256).max, stranger, keccak256("other inputs"))
        ];
        for (uint256 i; i < contexts.length; ++i) {
            assertTrue(adapter.verify(fixtures[0].publicInputs, fixtures[0].proof, contexts[i]), vm.toString(i));
            assertFalse(adapter.verify(fixtures[1].publicInputs, fixtures[0].proof, contexts[i]), vm.toString(i));
        }
    }

    function test_ProofForOtherPublicInputsIsFalse() public view {
        for (uint256 i; i < fixtures.length; ++i) {
            uint256 j = (i + 1) % fixtures.length;
            assertFalse(adapter.verify(fixtures[j].publicInputs, fixtures[i].proof, anyRequest), vm.toString(i));
        }
    }

    function test_ProofForOtherPublicInputsIsFalseAllPairs() public view {
        for (uint256 i; i < fixtures.length; ++i) {
            for (uint256 j; j < fixtures.length; ++j) {
                if (i == j) continue;
                assertFalse(adapter.verify(fixtures[j].publicInputs, fixtures[i].proof, anyRequest));
            }
        }
    }

    function test_ChangedPublicSignalIsFalse() public view {
        (uint256 digest, uint256 context) = abi.decode(fixtures[0].publicInputs, (uint256, uint256));
        assertFalse(adapter.verify(_signals(digest, context + 1), fixtures[0].proof, anyRequest));
        assertFalse(adapter.verify(_signals(digest + 1, context), fixtures[0].proof, anyRequest));
        assertFalse(adapter.verify(_signals(context, digest), fixtures[0].proof, anyRequest));
    }

    function test_FlippedProofByteIsRejected() public view {
        uint16[9] memory positions = [uint16(0), 31, 63, 64, 127, 128, 191, 192, 255];
        for (uint256 f; f < 2; ++f) {
            for (uint256 k; k < positions.length; ++k) {
                bytes memory proof = bytes.concat(fixtures[f].proof);
                proof[positions[k]] = bytes1(uint8(proof[positions[k]]) ^ 0x01);
                assertFalse(_accepts(fixtures[f].publicInputs, proof), vm.toString(positions[k]));
                proof[positions[k]] = bytes1(uint8(proof[positions[k]]) ^ 0xff);
                assertFalse(_accepts(fixtures[f].publicInputs, proof), vm.toString(positions[k]));
            }
        }
    }

    function test_PublicSignalAboveFieldIsFalse() public view {
        (uint256 digest, uint256 context) = abi.decode(fixtures[0].publicInputs, (uint256, uint256));
        bytes[4] memory bad = [
            _signals(SCALAR_FIELD, context),
            _signals(digest, SCALAR_FIELD),
            _signals(digest + SCALAR_FIELD, context),
            _signals(digest, type(uint256).max)
        ];
        for (uint256 i; i < bad.length; ++i) {
            assertFalse(adapter.verify(bad[i], fixtures[0].proof, anyRequest), vm.toString(i));
            assertFalse(adapter.validatePublicInputs(bad[i]), vm.toString(i));
        }
    }

    function test_ValidProofVerifiesWithinGasBudget() public view {
        for (uint256 i; i < fixtures.length; ++i) {
            assertTrue(
                adapter.verify{gas: 400_000}(fixtures[i].publicInputs, fixtures[i].proof, anyRequest), vm.toString(i)
            );
        }
    }

    function test_ZeroProofIsFalse() public view {
        assertFalse(adapter.verify(fixtures[0].publicInputs, new bytes(256), anyRequest));
    }

    function test_RevertWhen_VerifyMalformedProof() public {
        bytes memory pi = fixtures[0].publicInputs;
        bytes memory proof = fixtures[0].proof;

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 255));
        adapter.verify(pi, _slice(proof, 255), anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 257));
        adapter.verify(pi, bytes.concat(proof, hex"00"), anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 0));
        adapter.verify(pi, "", anyRequest);
    }

    function test_RevertWhen_VerifyMalformedPublicInputs() public {
        bytes memory pi = fixtures[0].publicInputs;
        bytes memory proof = fixtures[0].proof;

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, 63));
        adapter.verify(_slice(pi, 63), proof, anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, 96));
        adapter.verify(bytes.concat(pi, bytes32(0)), proof, anyRequest);

        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedPublicInputs.selector, 0));
        adapter.verify("", proof, anyRequest);
    }

    function test_RevertWhen_VerifyMalformedProofCheckedFirst() public {
        vm.expectRevert(abi.encodeWithSelector(IVerifierAdapter.MalformedProof.selector, 1));
        adapter.verify("", hex"00", anyRequest);
    }

    function test_VerifierWithoutCodeIsFalse() public {
        Groth16VerifierAdapter empty = new Groth16VerifierAdapter(makeAddr("noCode"), 2);
        assertFalse(empty.verify(fixtures[0].publicInputs, fixtures[0].proof, anyRequest));
    }

    // ---------------------------------------------------------------- validatePublicInputs

    function test_ValidatePublicInputs() public view {
        assertTrue(adapter.validatePublicInputs(_signals(0, 0)));
        assertTrue(adapter.validatePublicInputs(_signals(SCALAR_FIELD - 1, SCALAR_FIELD - 1)));
        assertFalse(adapter.validatePublicInputs(""));
        assertFalse(adapter.validatePublicInputs(_slice(fixtures[0].publicInputs, 63)));
        assertFalse(adapter.validatePublicInputs(bytes.concat(fixtures[0].publicInputs, bytes32(0))));
        assertFalse(adapter.validatePublicInputs(abi.encode(uint256(1))));
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_randomProofNeverVerifies(bytes32 seed) public view {
        bytes memory proof;
        for (uint256 i; i < 8; ++i) {
            proof = bytes.concat(proof, keccak256(abi.encode(seed, i)));
        }
        assertEq(proof.length, 256);
        uint256 f = uint256(seed) % fixtures.length;
        assertFalse(_accepts(fixtures[f].publicInputs, proof));
    }

    function testFuzz_validatePublicInputs(uint256 a, uint256 b) public view {
        assertEq(adapter.validatePublicInputs(_signals(a, b)), a < SCALAR_FIELD && b < SCALAR_FIELD);
    }

    // ---------------------------------------------------------------- internal

    function _slice(bytes memory data, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = data[i];
        }
    }
}
