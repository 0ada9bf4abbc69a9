// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {DcapCollateral} from "../../src/attestation/DcapCollateral.sol";
import {DcapTdxVerifier} from "../../src/attestation/DcapTdxVerifier.sol";
import {IDcapCollateral} from "../../src/attestation/interfaces/IDcapCollateral.sol";
import {PemCertificates} from "../../src/attestation/libraries/PemCertificates.sol";
import {TdxQuoteV4} from "../../src/attestation/libraries/TdxQuoteV4.sol";
import {TcbStatus, TdxReport} from "../../src/attestation/types/Dcap.sol";

/// @notice Verifies the real Intel TDX v4 sample against its real collateral, inside the collateral's window.
contract DcapTdxVerifierTest is Test {
    uint256 internal constant PINNED_TIME = 1_750_377_600; // 2025-06-20T00:00:00Z

    DcapCollateral internal collateral;
    DcapTdxVerifier internal verifier;
    bytes internal quote;
    string internal json;

    function setUp() public {
        vm.warp(PINNED_TIME);
        quote = vm.readFileBinary("test/fixtures/dcap/tdx_quote");
        json = vm.readFile("test/fixtures/dcap/tdx_quote_collateral.json");
        collateral = new DcapCollateral(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"), true);
        verifier = new DcapTdxVerifier(collateral);
        _submitAll();
    }

    function _submitAll() internal {
        collateral.submitRootCrl(_hex(".root_ca_crl"));
        collateral.submitPckCrl(_firstCertificate(".pck_crl_issuer_chain"), _hex(".pck_crl"));
        collateral.submitTcbInfo(
            _firstCertificate(".tcb_info_issuer_chain"),
            vm.parseJsonString(json, ".tcb_info"),
            _hex(".tcb_info_signature")
        );
        collateral.submitQeIdentity(
            _firstCertificate(".qe_identity_issuer_chain"),
            vm.parseJsonString(json, ".qe_identity"),
            _hex(".qe_identity_signature")
        );
    }

    function test_verify_realTdxQuoteIsUpToDate() public view {
        TdxReport memory report = verifier.verifyTdxQuote(quote);
        assertEq(uint8(report.tcbStatus), uint8(TcbStatus.UpToDate));
        assertEq(report.fmspc, bytes6(0xb0c06f000000));
        assertEq(report.teeTcbSvn, bytes16(0x06010300000000000000000000000000));
        assertEq(report.tdAttributes, bytes8(0x0000001000000000)); // SEPT_VE_DISABLE only: not a debug TD
        assertEq(report.mrTd.length, 48);
        assertEq(bytes8(report.mrTd[0]) | (bytes8(report.mrTd[1]) >> 8), bytes8(0x91eb000000000000));
        assertEq(report.rtmr3, new bytes(48));
        assertEq(report.reportData.length, 64);
        assertEq(report.quoteId, TdxQuoteV4.parse(quote).signedContentHash);
    }

    function _hex(string memory key) internal view returns (bytes memory) {
        return vm.parseBytes(string.concat("0x", vm.parseJsonString(json, key)));
    }

    function _firstCertificate(string memory key) internal view returns (bytes memory) {
        bytes memory pem = bytes(vm.parseJsonString(json, key));
        PemCertificates.Range[] memory ranges = PemCertificates.split(pem, 0, pem.length, 2);
        return PemCertificates.decode(pem, ranges[0]);
    }
}
