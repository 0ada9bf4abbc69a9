// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SSTORE2} from "solady/utils/SSTORE2.sol";
import {IGroth16BatchVerifier} from "../interfaces/IGroth16BatchVerifier.sol";
import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {Groth16VerifyingKey} from "../types/Groth16VerifyingKey.sol";
import {ProofContext} from "../types/ProofContext.sol";
import {BatchLength} from "../libraries/BatchLength.sol";

/// @title Groth16BatchVerifier
/// @notice A market's verifier for Groth16 proofs (BN254, snarkjs/circom) whose verifying key is constructor data, so
/// any circuit gets a verifier without generated code, and several proofs of the key are checked with one
/// multi-pairing (`verifyBatch`).
/// @dev Encodings, the same as Groth16VerifierAdapter's (a prover's output fits either):
/// - publicInputs: the circuit's public signals (outputs first, then public inputs, as snarkjs orders them), each a
///   32-byte big-endian word below the BN254 scalar field modulus r; exactly `publicSignalCount` words.
/// - proof: abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c), G2 coordinates imaginary part first (as
///   `snarkjs zkey export soliditycalldata` prints them): 256 bytes, every coordinate below the base field modulus.
/// A ZK proof proves its public statement whoever submits it, so the context is ignored: binding a proof to one
/// request is the circuit's job (a public input the request fixes, like the Poseidon preimage circuit's `context`).
///
/// Verifying key: stored once with SSTORE2 (one cold EXTCODECOPY per call, the price of the extra cold call the
/// adapter + generated-verifier pair pays) and checked on the curve at construction.
///
/// Batch check. Proof i (A_i, B_i, C_i) with public signals x_i is valid iff
///   e(-A_i, B_i) · e(alpha, beta) · e(vk_x_i, gamma) · e(C_i, delta) = 1,  vk_x_i = IC_0 + Σ_j x_ij · IC_j.
/// For k well-formed items and scalars r_1 = 1, r_2..r_k derived below, the batch accepts iff
///   Π_i e(-r_i·A_i, B_i) · e((Σ_i r_i)·alpha, beta) · e(vk_x, gamma) · e(Σ_i r_i·C_i, delta) = 1,
///   vk_x = (Σ_i r_i)·IC_0 + Σ_j (Σ_i r_i·x_ij)·IC_j,
/// i.e. k + 3 pairings instead of 4k, and 2k + m ecMuls (k - 1 for the A_i, k - 1 for the C_i, one for alpha, m + 1
/// for vk_x with its scalars combined per IC point) instead of m per proof plus the pairings' own.
///
/// Soundness. The target group G_T has prime order r, so write each proof's left-hand side as g^{e_i}: proof i is
/// valid iff e_i = 0 (mod r), and by bilinearity the batch product is g^{Σ r_i·e_i}. If some e_j ≠ 0, then for any
/// fixed values of the other r_i exactly one value of r_j makes Σ r_i·e_i vanish (with r_1 = 1 and every other e_i
/// zero, the sum is e_1 ≠ 0 and the batch fails outright). The r_i come from keccak256 over everything the equation
/// depends on: every proof, every public input (and this verifier, whose key is fixed): modelled as a random oracle,
/// each r_j (j ≥ 2) is uniform over [1, r - 1] (bias below 2^-253 from the reduction) and unknown until the whole
/// batch is fixed. So a batch holding an invalid proof passes with probability at most 1/(r - 1) < 2^-253 per
/// attempt, and a prover grinding Q batches offline wins with probability at most Q/2^253: negligible. 128-bit r_i
/// would already give 2^-128 per attempt (the usual target); full-field r_i cost the same here (EIP-1108 prices ecMul
/// flat), so they are used. The r_i must depend on all proofs and inputs: were r_j known before some proof is
/// chosen, a prover could pick two invalid proofs whose errors cancel (e_2 = -e_1 / r_2, e.g. shifting A_2), and the
/// batch would pass. Public inputs must be below r (checked): the pairing only sees x mod r, so x and x + r would
/// otherwise both "verify" for one proof. G1 has cofactor 1 and the pairing precompile checks G2 subgroup
/// membership, so every point the precompiles accept is in its prime-order group, as the argument needs.
///
/// Finding bad proofs. When the batch check fails, every item is verified alone (4 pairings each), so one bad proof
/// never blocks the good ones. Bisection would save little: with one bad proof among k it still runs about
/// 2·log2(k) sub-batches (≈ 2k + 6·log2(k) pairings against 4k) and degrades with several bad proofs, and a
/// marketplace batch only holds one prover's own proofs (fulfilBatch requires the assigned prover), so a bad proof
/// costs only whoever sent it.
///
/// Gas. Every precompile call is given exactly its EIP-1108 price, so an invalid point (which makes a precompile
/// consume all the gas it is given) costs what a valid one does, never the caller's remaining gas: a batch of k items
/// costs at most one batch check plus k single checks, whatever it holds. That is what the generated verifier's
/// per-proof gas cap (Groth16VerifierAdapter.verifyGasLimit) was for, and it scales with the batch instead of capping
/// it: a market's batch pays for its own proofs and cannot starve another market's items of a fulfilBatch; a
/// submitter that gives too little gas makes the whole call revert (InsufficientGas before any precompile call that
/// could not get its price, CalleeOutOfGas in the marketplace), never a valid item read as invalid.
contract Groth16BatchVerifier is IGroth16BatchVerifier {
    /// BN254 scalar field modulus (the order of G1, G2 and G_T): public signals and scalars live below it.
    uint256 internal constant R =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;
    /// BN254 base field modulus: every point coordinate is below it.
    uint256 internal constant P =
        21_888_242_871_839_275_222_246_405_745_257_275_088_696_311_157_297_823_662_689_037_894_645_226_208_583;
    uint256 internal constant PROOF_LENGTH = 256;
    /// alpha (2 words) ‖ beta, gamma, delta (4 words each); the IC points follow.
    uint256 internal constant KEY_FIXED_WORDS = 14;
    /// EIP-1108 prices: every precompile call gets exactly these.
    uint256 internal constant EC_ADD_GAS = 150;
    uint256 internal constant EC_MUL_GAS = 6000;
    uint256 internal constant PAIRING_BASE_GAS = 45_000;
    uint256 internal constant PAIRING_PAIR_GAS = 34_000;

    /// @inheritdoc IGroth16BatchVerifier
    address public immutable verifyingKeyPointer;
    /// @inheritdoc IGroth16BatchVerifier
    uint256 public immutable publicSignalCount;

    /// @param vk The circuit's verifying key (from snarkjs' verification_key.json, see Groth16VerifyingKey).
    constructor(Groth16VerifyingKey memory vk) {
        uint256 points = vk.ic.length;
        if (points < 2) revert NoPublicSignals();
        bytes memory data = abi.encodePacked(vk.alpha, vk.beta, vk.gamma, vk.delta);
        for (uint256 i; i < points; ++i) {
            data = bytes.concat(data, abi.encodePacked(vk.ic[i]));
        }
        if (!_validKey(data, points)) revert InvalidVerifyingKey();
        address pointer = SSTORE2.write(data);
        verifyingKeyPointer = pointer;
        publicSignalCount = points - 1;
        emit VerifyingKeyStored(pointer, points - 1);
    }

    // ---------------------------------------------------------------- IProofVerifier

    /// @inheritdoc IProofVerifier
    /// @dev Reverts MalformedProof / MalformedPublicInputs on wrong lengths (as Groth16VerifierAdapter does) and
    /// InsufficientGas when a precompile call could not get its price; false for any other failure (a public signal
    /// at or above r, a coordinate at or above the base field modulus, a point off the curve, a failed check).
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata)
        external
        view
        returns (bool)
    {
        uint256 m = publicSignalCount;
        if (proof.length != PROOF_LENGTH) revert MalformedProof(proof.length);
        if (publicInputs.length != m * 32) revert MalformedPublicInputs(publicInputs.length);
        if (!_inRange(publicInputs, proof)) return false;
        return _verifyOne(_loadKey(m), proof, publicInputs, m);
    }

    /// @inheritdoc IProofVerifier
    /// @dev One multi-pairing over every well-formed item (see the contract's notes); malformed items are false and
    /// left out. When the batch check fails, each item is verified alone.
    function verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs, ProofContext[] calldata contexts)
        external
        view
        returns (bool[] memory valid)
    {
        BatchLength.check(publicInputs.length, proofs.length, contexts.length);
        return _verifyBatch(publicInputs, proofs);
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool) {
        uint256 m = publicSignalCount;
        if (publicInputs.length != m * 32) return false;
        for (uint256 j; j < m; ++j) {
            if (uint256(bytes32(publicInputs[j * 32:j * 32 + 32])) >= R) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- IGroth16BatchVerifier

    /// @inheritdoc IGroth16BatchVerifier
    function verifyingKey() external view returns (Groth16VerifyingKey memory vk) {
        uint256 points = publicSignalCount + 1;
        bytes memory data = SSTORE2.read(verifyingKeyPointer);
        uint256[] memory w;
        // The stored bytes are whole words: read them as a word array rather than decode word by word.
        assembly ("memory-safe") {
            w := data
            mstore(w, div(mload(data), 32))
        }
        vk.alpha = [w[0], w[1]];
        vk.beta = [w[2], w[3], w[4], w[5]];
        vk.gamma = [w[6], w[7], w[8], w[9]];
        vk.delta = [w[10], w[11], w[12], w[13]];
        vk.ic = new uint256[2][](points);
        for (uint256 i; i < points; ++i) {
            vk.ic[i] = [w[KEY_FIXED_WORDS + 2 * i], w[KEY_FIXED_WORDS + 2 * i + 1]];
        }
    }

    // ---------------------------------------------------------------- internal

    /// @dev verifyBatch once the lengths are checked.
    function _verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs)
        internal
        view
        returns (bool[] memory valid)
    {
        uint256 n = proofs.length;
        valid = new bool[](n);
        uint256 m = publicSignalCount;
        uint256 key = _loadKey(m);
        // The transcript the scalars are derived from: this verifier, then every well-formed item's proof and public
        // inputs (fixed lengths, so the concatenation is unambiguous). The batch check reads the items from it.
        uint256 transcript;
        assembly ("memory-safe") {
            transcript := mload(0x40)
            mstore(transcript, address())
            mstore(0x40, add(add(transcript, 0x20), mul(n, add(PROOF_LENGTH, mul(m, 0x20)))))
        }
        uint256 k;
        uint256 last;
        // Well-formed items (lengths, every signal below r and every coordinate below p) join the transcript; the
        // others stay false. Assembly over the calldata heads: this loop runs once per proof of every batch.
        assembly ("memory-safe") {
            let inputsLength := mul(m, 0x20)
            let itemLength := add(PROOF_LENGTH, inputsLength)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let pp := add(proofs.offset, calldataload(add(proofs.offset, mul(i, 0x20))))
                let ip := add(publicInputs.offset, calldataload(add(publicInputs.offset, mul(i, 0x20))))
                let ok := and(eq(calldataload(pp), PROOF_LENGTH), eq(calldataload(ip), inputsLength))
                pp := add(pp, 0x20)
                ip := add(ip, 0x20)
                for { let j := 0 } lt(j, inputsLength) { j := add(j, 0x20) } {
                    ok := and(ok, lt(calldataload(add(ip, j)), R))
                }
                ok := and(ok, and(lt(calldataload(pp), P), lt(calldataload(add(pp, 0x20)), P)))
                ok := and(ok, and(lt(calldataload(add(pp, 0x40)), P), lt(calldataload(add(pp, 0x60)), P)))
                ok := and(ok, and(lt(calldataload(add(pp, 0x80)), P), lt(calldataload(add(pp, 0xa0)), P)))
                ok := and(ok, and(lt(calldataload(add(pp, 0xc0)), P), lt(calldataload(add(pp, 0xe0)), P)))
                if ok {
                    let item := add(add(transcript, 0x20), mul(k, itemLength))
                    calldatacopy(item, pp, PROOF_LENGTH)
                    calldatacopy(add(item, PROOF_LENGTH), ip, inputsLength)
                    mstore(add(valid, mul(add(i, 1), 0x20)), 1)
                    last := i
                    k := add(k, 1)
                }
            }
        }
        if (k == 0) return valid;
        if (k == 1) {
            valid[last] = _verifyOne(key, proofs[last], publicInputs[last], m);
            return valid;
        }
        if (_verifyMany(key, transcript, k, m)) return valid;
        for (uint256 i; i < n; ++i) {
            if (valid[i]) valid[i] = _verifyOne(key, proofs[i], publicInputs[i], m);
        }
    }

    /// @dev Copies the stored key into memory; returns its address (words as in `verifyingKeyPointer`).
    function _loadKey(uint256 m) internal view returns (uint256 key) {
        address pointer = verifyingKeyPointer;
        assembly ("memory-safe") {
            key := mload(0x40)
            let length := mul(add(KEY_FIXED_WORDS, mul(2, add(m, 1))), 0x20)
            // SSTORE2 data starts after the pointer contract's leading STOP byte.
            extcodecopy(pointer, key, 1, length)
            mstore(0x40, add(key, length))
        }
    }

    /// @dev Whether every public signal is below r and every proof coordinate below the base field modulus (the
    /// precompiles then check the points are on the curve and in their groups). Lengths are already checked.
    function _inRange(bytes calldata inputs, bytes calldata proof) internal pure returns (bool ok) {
        assembly ("memory-safe") {
            ok := 1
            for { let j := 0 } lt(j, inputs.length) { j := add(j, 0x20) } {
                ok := and(ok, lt(calldataload(add(inputs.offset, j)), R))
            }
            for { let j := 0 } lt(j, PROOF_LENGTH) { j := add(j, 0x20) } {
                ok := and(ok, lt(calldataload(add(proof.offset, j)), P))
            }
        }
    }

    /// @dev The Groth16 check of one well-formed proof: 4 pairings, an ecMul and an ecAdd per non-zero signal.
    function _verifyOne(uint256 key, bytes calldata proof, bytes calldata inputs, uint256 m)
        internal
        view
        returns (bool valid)
    {
        bytes4 insufficientGas = InsufficientGas.selector;
        assembly ("memory-safe") {
            // Reverts when a precompile call could not get `price` (the 63/64 rule and the call's own cost), so a
            // gas shortfall is never read as an invalid proof.
            function guard(price, selector) {
                let required := add(add(price, div(price, 63)), 700)
                if lt(gas(), required) {
                    mstore(0x00, selector)
                    mstore(0x04, gas())
                    mstore(0x24, required)
                    revert(0x00, 0x44)
                }
            }
            // Scratch past the free memory pointer: vk_x at f (64 bytes), an ecMul's input and output at f + 0x40,
            // so that f..f + 0x80 is the ecAdd's input; the 4 pairs at f + 0xa0.
            let f := mload(0x40)
            let ok := 1
            mcopy(f, add(key, mul(KEY_FIXED_WORDS, 0x20)), 0x40)
            for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                let x := calldataload(add(inputs.offset, mul(j, 0x20)))
                // x · IC_{j+1} is the point at infinity when x = 0: skip both calls.
                if x {
                    mcopy(add(f, 0x40), add(key, mul(add(KEY_FIXED_WORDS, mul(2, add(j, 1))), 0x20)), 0x40)
                    mstore(add(f, 0x80), x)
                    guard(EC_MUL_GAS, insufficientGas)
                    ok := and(ok, staticcall(EC_MUL_GAS, 0x07, add(f, 0x40), 0x60, add(f, 0x40), 0x40))
                    guard(EC_ADD_GAS, insufficientGas)
                    ok := and(ok, staticcall(EC_ADD_GAS, 0x06, f, 0x80, f, 0x40))
                }
            }
            let pairs := add(f, 0xa0)
            // (-A, B): negating y keeps A on the curve iff it was, so the pairing still checks A.
            mstore(pairs, calldataload(proof.offset))
            mstore(add(pairs, 0x20), mod(sub(P, calldataload(add(proof.offset, 0x20))), P))
            calldatacopy(add(pairs, 0x40), add(proof.offset, 0x40), 0x80)
            // (alpha, beta): the key's first six words.
            mcopy(add(pairs, 0xc0), key, 0xc0)
            // (vk_x, gamma)
            mcopy(add(pairs, 0x180), f, 0x40)
            mcopy(add(pairs, 0x1c0), add(key, 0xc0), 0x80)
            // (C, delta)
            calldatacopy(add(pairs, 0x240), add(proof.offset, 0xc0), 0x40)
            mcopy(add(pairs, 0x280), add(key, 0x140), 0x80)
            let price := add(PAIRING_BASE_GAS, mul(4, PAIRING_PAIR_GAS))
            guard(price, insufficientGas)
            ok := and(ok, staticcall(price, 0x08, pairs, 0x300, 0x00, 0x20))
            valid := and(ok, eq(mload(0x00), 1))
        }
    }

    /// @dev The batch check of `k` ≥ 2 well-formed items laid out in `transcript` (see verifyBatch).
    function _verifyMany(uint256 key, uint256 transcript, uint256 k, uint256 m) internal view returns (bool valid) {
        bytes4 insufficientGas = InsufficientGas.selector;
        assembly ("memory-safe") {
            function guard(price, selector) {
                let required := add(add(price, div(price, 63)), 700)
                if lt(gas(), required) {
                    mstore(0x00, selector)
                    mstore(0x04, gas())
                    mstore(0x24, required)
                    revert(0x00, 0x44)
                }
            }
            let itemLength := add(PROOF_LENGTH, mul(m, 0x20))
            // One guard for every ecMul and ecAdd of the batch (their prices plus 2,000 a proof for the work around
            // them): with that much left, each call below gets its price; the pairing has its own guard.
            guard(
                add(mul(add(mul(2, k), m), EC_MUL_GAS), add(mul(add(k, m), EC_ADD_GAS), mul(k, 2000))),
                insufficientGas
            )
            let seed := keccak256(transcript, add(0x20, mul(k, itemLength)))
            // Scratch past the free memory pointer: the m + 1 combined scalars, then a point accumulator (64 bytes)
            // followed by an ecMul's input and output (so acc ‖ product is an ecAdd's input), then the k + 3 pairs.
            let scalars := mload(0x40)
            let acc := add(scalars, mul(add(m, 1), 0x20))
            let tmp := add(acc, 0x40)
            let pairs := add(tmp, 0x60)
            for { let j := 0 } lt(j, add(m, 1)) { j := add(j, 1) } { mstore(add(scalars, mul(j, 0x20)), 0) }
            let ok := 1
            let items := add(transcript, 0x20)
            for { let t := 0 } lt(t, k) { t := add(t, 1) } {
                let item := add(items, mul(t, itemLength))
                let pair := add(pairs, mul(t, 0xc0))
                // r_1 = 1; r_t = keccak256(seed ‖ t) mod (r - 1) + 1, never zero (a zero would drop the item).
                let rt := 1
                switch t
                case 0 {
                    mstore(pair, mload(item))
                    mstore(add(pair, 0x20), mod(sub(P, mload(add(item, 0x20))), P))
                    mcopy(acc, add(item, 0xc0), 0x40)
                }
                default {
                    mstore(0x00, seed)
                    mstore(0x20, t)
                    rt := add(mod(keccak256(0x00, 0x40), sub(R, 1)), 1)
                    // -r_t·A_t = (r - r_t)·A_t, straight into the pair.
                    mcopy(tmp, item, 0x40)
                    mstore(add(tmp, 0x40), sub(R, rt))
                    ok := and(ok, staticcall(EC_MUL_GAS, 0x07, tmp, 0x60, pair, 0x40))
                    // acc += r_t·C_t
                    mcopy(tmp, add(item, 0xc0), 0x40)
                    mstore(add(tmp, 0x40), rt)
                    ok := and(ok, staticcall(EC_MUL_GAS, 0x07, tmp, 0x60, tmp, 0x40))
                    ok := and(ok, staticcall(EC_ADD_GAS, 0x06, acc, 0x80, acc, 0x40))
                }
                mcopy(add(pair, 0x40), add(item, 0x40), 0x80)
                mstore(scalars, addmod(mload(scalars), rt, R))
                for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                    let s := add(scalars, mul(add(j, 1), 0x20))
                    mstore(s, addmod(mload(s), mulmod(rt, mload(add(item, add(PROOF_LENGTH, mul(j, 0x20)))), R), R))
                }
            }
            let pair := add(pairs, mul(k, 0xc0))
            let s0 := mload(scalars)
            // ((Σ r_t)·alpha, beta)
            mcopy(tmp, key, 0x40)
            mstore(add(tmp, 0x40), s0)
            ok := and(ok, staticcall(EC_MUL_GAS, 0x07, tmp, 0x60, pair, 0x40))
            mcopy(add(pair, 0x40), add(key, 0x40), 0x80)
            // (Σ r_t·C_t, delta)
            mcopy(add(pair, 0x180), acc, 0x40)
            mcopy(add(pair, 0x1c0), add(key, 0x140), 0x80)
            // (vk_x, gamma), vk_x = (Σ r_t)·IC_0 + Σ_j (Σ_t r_t·x_tj)·IC_j: one ecMul per IC point.
            let ic := add(key, mul(KEY_FIXED_WORDS, 0x20))
            mcopy(tmp, ic, 0x40)
            mstore(add(tmp, 0x40), s0)
            ok := and(ok, staticcall(EC_MUL_GAS, 0x07, tmp, 0x60, acc, 0x40))
            for { let j := 1 } lt(j, add(m, 1)) { j := add(j, 1) } {
                let s := mload(add(scalars, mul(j, 0x20)))
                if s {
                    mcopy(tmp, add(ic, mul(j, 0x40)), 0x40)
                    mstore(add(tmp, 0x40), s)
                    ok := and(ok, staticcall(EC_MUL_GAS, 0x07, tmp, 0x60, tmp, 0x40))
                    ok := and(ok, staticcall(EC_ADD_GAS, 0x06, acc, 0x80, acc, 0x40))
                }
            }
            mcopy(add(pair, 0xc0), acc, 0x40)
            mcopy(add(pair, 0x100), add(key, 0xc0), 0x80)
            let count := add(k, 3)
            let price := add(PAIRING_BASE_GAS, mul(count, PAIRING_PAIR_GAS))
            guard(price, insufficientGas)
            // An ecMul or ecAdd refusing a point already failed the batch; the pairing is skipped then.
            if ok { ok := staticcall(price, 0x08, pairs, mul(count, 0xc0), 0x00, 0x20) }
            valid := and(ok, eq(mload(0x00), 1))
        }
    }

    /// @dev Whether the key's points are valid: every G1 point through ecAdd, every G2 point through a pairing
    /// with the point at infinity (the precompile checks each G2 point is on the twist and in its subgroup). Each
    /// call gets its price only, so a bad key fails the deployment without burning its gas.
    function _validKey(bytes memory data, uint256 points) internal view returns (bool ok) {
        assembly ("memory-safe") {
            let words := add(data, 0x20)
            let f := mload(0x40)
            ok := 1
            // alpha, then the IC points: P + O.
            mstore(add(f, 0x40), 0)
            mstore(add(f, 0x60), 0)
            mcopy(f, words, 0x40)
            ok := and(ok, staticcall(EC_ADD_GAS, 0x06, f, 0x80, f, 0x40))
            for { let i := 0 } lt(i, points) { i := add(i, 1) } {
                mcopy(f, add(words, mul(add(KEY_FIXED_WORDS, mul(2, i)), 0x20)), 0x40)
                ok := and(ok, staticcall(EC_ADD_GAS, 0x06, f, 0x80, f, 0x40))
            }
            // (O, beta), (O, gamma), (O, delta)
            for { let i := 0 } lt(i, 3) { i := add(i, 1) } {
                let pair := add(f, mul(i, 0xc0))
                mstore(pair, 0)
                mstore(add(pair, 0x20), 0)
                mcopy(add(pair, 0x40), add(words, mul(add(2, mul(i, 4)), 0x20)), 0x80)
            }
            ok := and(ok, staticcall(add(PAIRING_BASE_GAS, mul(3, PAIRING_PAIR_GAS)), 0x08, f, 0x240, 0x00, 0x20))
            ok := and(ok, eq(mload(0x00), 1))
        }
    }
}
