// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DcapFixture} from "../attestation/DcapTdxVerifier.t.sol";
import {DcapCollateral} from "../../src/attestation/DcapCollateral.sol";

/// @notice Committed gas of on-chain DCAP (snapshots/DcapGasTest.json, `npm run gas`): full TDX quote verification
/// with collateral already on chain (a view call: execution gas, no 21k base), and each collateral submission (a
/// transaction: 21k base and calldata included).
contract DcapGasTest is DcapFixture {
    function setUp() public {
        _load("tdx_quote", 1_750_377_600);
    }

    function test_gas_verifyRealTdxQuote() public {
        bytes memory q = quote;
        verifier.verifyTdxQuote(q);
        vm.snapshotGasLastCall("verifyTdxQuote: real Intel TDX v4 sample, collateral on chain");
    }

    /// After a newer root CRL the TCB info's and QE identity's signers are looked up in it (once per document until
    /// it is re-submitted); before, the CRL generation recorded at submission vouches for them.
    function test_gas_verifyRealTdxQuoteAfterRootCrlRenewal() public {
        collateral.submitRootCrl(_hex(".root_ca_crl"));
        bytes memory q = quote;
        verifier.verifyTdxQuote(q);
        vm.snapshotGasLastCall("verifyTdxQuote: real Intel TDX v4 sample, root CRL renewed since the collateral");
    }

    function test_gas_collateralSubmissions() public {
        DcapCollateral fresh = new DcapCollateral(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"), true);
        fresh.submitRootCrl(_hex(".root_ca_crl"));
        vm.snapshotGasLastCall("submitRootCrl");
        fresh.submitPckCrl(_firstCertificate(".pck_crl_issuer_chain"), _hex(".pck_crl"));
        vm.snapshotGasLastCall("submitPckCrl (platform CA + CRL with 44 revoked serials)");
        string memory tcbInfo = vm.parseJsonString(json, ".tcb_info");
        fresh.submitTcbInfo(_firstCertificate(".tcb_info_issuer_chain"), tcbInfo, _hex(".tcb_info_signature"));
        vm.snapshotGasLastCall("submitTcbInfo (TDX, 2 levels, 2 module identities)");
        string memory qeIdentity = vm.parseJsonString(json, ".qe_identity");
        fresh.submitQeIdentity(
            _firstCertificate(".qe_identity_issuer_chain"), qeIdentity, _hex(".qe_identity_signature")
        );
        vm.snapshotGasLastCall("submitQeIdentity (TD_QE)");
    }
}
