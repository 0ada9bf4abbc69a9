// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A Groth16 verifying key over BN254, as snarkjs exports it (`snarkjs zkey export verificationkey`), in the
/// EVM precompiles' encoding: a G1 point is (x, y); a G2 point is (x.c1, x.c0, y.c1, y.c0), i.e. each Fp2 coordinate
/// imaginary part first (snarkjs' JSON lists [c0, c1], its Solidity export swaps them, as this does).
struct Groth16VerifyingKey {
    /// vk_alpha_1 (G1).
    uint256[2] alpha;
    /// vk_beta_2 (G2).
    uint256[4] beta;
    /// vk_gamma_2 (G2).
    uint256[4] gamma;
    /// vk_delta_2 (G2).
    uint256[4] delta;
    /// IC (G1): one point for the constant term, then one per public signal, in snarkjs' order.
    uint256[2][] ic;
}
