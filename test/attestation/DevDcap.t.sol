// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DcapFixture} from "./DcapTdxVerifier.t.sol";
import {DcapCollateral} from "../../src/attestation/DcapCollateral.sol";
import {DcapTdxVerifier} from "../../src/attestation/DcapTdxVerifier.sol";
import {IDcapCollateral} from "../../src/attestation/interfaces/IDcapCollateral.sol";
import {TcbStatus, TdxReport} from "../../src/attestation/types/Dcap.sol";

/// @notice Quotes of the dev attestation provider (enclave/attestation) go through exactly the verification path of
/// real Intel quotes, under the dev root; a verifier pinned to Intel's root rejects them.
contract DevDcapTest is DcapFixture {
    function setUp() public {
        _loadFrom("test/fixtures/dcap-dev/", "tdx_quote", 1_767_225_600, false);
    }

    function test_verify_devQuoteIsUpToDateUnderTheDevRoot() public view {
        TdxReport memory report = verifier.verifyTdxQuote(quote);
        assertEq(uint8(report.tcbStatus), uint8(TcbStatus.UpToDate));
        assertEq(report.fmspc, bytes6(0xb0c06f000000));
        assertEq(report.reportData.length, 64);
        for (uint256 i; i < 64; ++i) {
            assertEq(uint8(report.reportData[i]), i);
        }
        assertFalse(collateral.intelRoot());
    }

    function test_RevertWhen_devQuoteMeetsTheIntelRoot() public {
        DcapCollateral intel = new DcapCollateral(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"), true);
        DcapTdxVerifier production = new DcapTdxVerifier(intel);
        vm.expectRevert(DcapTdxVerifier.RootMismatch.selector);
        production.verifyTdxQuote(quote);
    }

    function test_RevertWhen_devCollateralSubmittedUnderTheIntelRoot() public {
        DcapCollateral intel = new DcapCollateral(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"), true);
        bytes memory crl = _hex(".root_ca_crl");
        vm.expectRevert(IDcapCollateral.CrlIssuerMismatch.selector);
        intel.submitRootCrl(crl);
    }

    function test_RevertWhen_pckLeafRevoked() public {
        json = vm.readFile("test/fixtures/dcap-dev/tdx_quote_collateral_pck_revoked.json");
        vm.warp(block.timestamp + 1); // a newer CRL is needed to replace the current one
        collateral.submitPckCrl(_firstCertificate(".pck_crl_issuer_chain"), _hex(".pck_crl"));
        vm.expectPartialRevert(IDcapCollateral.CertificateRevoked.selector);
        verifier.verifyTdxQuote(quote);
    }
}
