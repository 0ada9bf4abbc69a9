// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TeeRegistryFixture} from "../attestation/TeeRegistry.t.sol";
import {KeyBinding, TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";

/// @notice Committed gas of registering an enclave key (snapshots/TeeRegistryGasTest.json): quote verified on chain,
/// policy checked, key stored. A transaction: 21k base and the ~4.8 kB quote's calldata included.
contract TeeRegistryGasTest is TeeRegistryFixture {
    function setUp() public {
        _setUpRegistry();
        _allow(TeeRole.Matcher, 0);
    }

    function test_gas_registerEnclaveKey() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, makeAddr("enclave"));
        _admit(TeeRole.Matcher, b.operator);
        bytes memory quote_ = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.prank(b.operator);
        teeRegistry.register(quote_, b);
        vm.snapshotGasLastCall("register: dev TDX quote verified on chain, matcher key stored");
    }
}
