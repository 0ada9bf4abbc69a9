// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DcapTdxVerifierTest} from "../attestation/DcapTdxVerifier.t.sol";

/// @notice Committed gas of full on-chain TDX quote verification (snapshots/DcapGas.json, `npm run gas`). Collateral
/// is already on chain; the figure is the verifier call itself (a view call: execution gas, no 21k base).
contract DcapGasTest is DcapTdxVerifierTest {
    function test_gas_verifyRealTdxQuote() public {
        bytes memory q = quote;
        verifier.verifyTdxQuote(q);
        vm.snapshotGasLastCall("verifyTdxQuote: real Intel TDX v4 sample, collateral on chain");
    }
}
