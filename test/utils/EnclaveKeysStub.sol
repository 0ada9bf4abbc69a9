// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEnclaveKeys} from "../../src/interfaces/IEnclaveKeys.sol";

/// @notice An enclave-key registry whose answers the test sets (TeeRegistry implements the real one; see
/// test/attestation/TeeMarkets.t.sol).
contract EnclaveKeysStub is IEnclaveKeys {
    error Broken();

    mapping(uint256 marketId => mapping(address prover => bool)) internal _active;
    bool internal _broken;

    function set(uint256 marketId, address prover, bool active) external {
        _active[marketId][prover] = active;
    }

    function setBroken(bool broken) external {
        _broken = broken;
    }

    function enclaveOperator(uint256, address) external pure returns (address) {
        return address(0);
    }

    function hasActiveEnclave(uint256 marketId, address prover) external view returns (bool) {
        if (_broken) revert Broken();
        return _active[marketId][prover];
    }
}
