// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IMatcherAuthority
/// @notice Decides which keys may sign assignment batches. An owner-set key today; the TEE registry's attested,
/// unexpired matcher keys once attestation lands.
interface IMatcherAuthority {
    /// @notice Whether `signer` may authorise assignments right now.
    function isMatcher(address signer) external view returns (bool);
}
