// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IEnclaveKeys
/// @notice Which prover an attested enclave key works for, so the marketplace can accept statements (an invalid-input
/// attestation) signed inside the assigned prover's enclave.
interface IEnclaveKeys {
    /// @notice The prover an active enclave key of `marketId` works for; zero when the key is not active.
    function enclaveOperator(uint256 marketId, address signer) external view returns (address prover);

    /// @notice Whether `prover` holds an active enclave key in `marketId`, i.e. can attest that a request's inputs
    /// cannot be proven instead of being slashed for them.
    function hasActiveEnclave(uint256 marketId, address prover) external view returns (bool);

    /// @notice Whether `prover` held an active enclave key in `marketId` at time `at` (`at` ≤ now), judged by its
    /// unbroken run of keys up to its current one: a key registered only after `at`, or a gap since, says no.
    function enclaveActiveAt(uint256 marketId, address prover, uint256 at) external view returns (bool);
}
