// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DcapFixture} from "../attestation/DcapTdxVerifier.t.sol";

/// @notice Committed gas of full on-chain TDX quote verification (snapshots/DcapGasTest.json, `npm run gas`).
/// Collateral is already on chain; the figure is the verifier call itself (a view call: execution gas, no 21k base).
contract DcapGasTest is DcapFixture {
    function setUp() public {
        _load("tdx_quote", 1_750_377_600);
    }

    function test_gas_verifyRealTdxQuote() public {
        bytes memory q = quote;
        verifier.verifyTdxQuote(q);
        vm.snapshotGasLastCall("verifyTdxQuote: real Intel TDX v4 sample, collateral on chain");
    }
}
