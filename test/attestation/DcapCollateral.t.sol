// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DcapFixture} from "./DcapTdxVerifier.t.sol";
import {DcapCollateral} from "../../src/attestation/DcapCollateral.sol";
import {DcapTdxVerifier} from "../../src/attestation/DcapTdxVerifier.sol";
import {IDcapCollateral} from "../../src/attestation/interfaces/IDcapCollateral.sol";
import {QeIdentity, TcbInfo, TcbStatus} from "../../src/attestation/types/Dcap.sol";

/// @notice Collateral lifecycle with dev collateral (test/fixtures/dcap-dev, see its README): the order of TCB info
/// and QE identity documents (security review, finding 7), a TCB info without module identities (8a) and documents
/// whose TCB Signing certificate a later root CRL revokes (8b).
contract DcapCollateralTest is DcapFixture {
    string internal constant DEV = "test/fixtures/dcap-dev/";
    bytes6 internal constant FMSPC = 0xb0c06f000000;
    /// Issue date of the default dev collateral (2025-12-31T00:00:00Z).
    uint64 internal constant EARLIER = 1_767_139_200;
    /// Issue date of the re-issued fixtures, and the time the tests run at (2026-01-01T00:00:00Z).
    uint64 internal constant LATER = 1_767_225_600;

    uint256 internal signerSerial;
    uint256 internal rotatedSignerSerial;

    function setUp() public {
        _loadFrom(DEV, "tdx_quote", LATER, false);
        string memory manifest = vm.readFile(string.concat(DEV, "manifest.json"));
        signerSerial = vm.parseUint(vm.parseJsonString(manifest, ".tcbSigningSerial"));
        rotatedSignerSerial = vm.parseUint(vm.parseJsonString(manifest, ".rotatedTcbSigningSerial"));
    }

    // ---------------------------------------------------------------- 7: evaluation number first, then issue date

    /// A newer-dated TCB info of an older evaluation must not replace a stricter one (it would turn the OutOfDate
    /// platform UpToDate again).
    function test_RevertWhen_TcbInfoOfOlderEvaluationIsNewerDated() public {
        _submitTcbInfo(collateral, "tdx_quote_collateral_eval18.json");
        assertEq(_status(quote), TcbStatus.OutOfDate);

        (bytes memory signer, string memory document, bytes memory signature) =
            _tcbInfoOf("tdx_quote_collateral_eval16.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.StaleTcbInfo.selector, FMSPC, 16, LATER, 18, EARLIER));
        collateral.submitTcbInfo(signer, document, signature);

        assertEq(collateral.tcbInfo(FMSPC).evaluationDataNumber, 18);
        assertEq(_status(quote), TcbStatus.OutOfDate);
    }

    function test_RevertWhen_QeIdentityOfOlderEvaluationIsNewerDated() public {
        _submitQeIdentity(collateral, "tdx_quote_collateral_eval18.json");
        assertEq(_status(quote), TcbStatus.OutOfDate);

        (bytes memory signer, string memory document, bytes memory signature) =
            _qeIdentityOf("tdx_quote_collateral_eval16.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.StaleQeIdentity.selector, 16, LATER, 18, EARLIER));
        collateral.submitQeIdentity(signer, document, signature);

        assertEq(collateral.qeIdentity().evaluationDataNumber, 18);
        assertEq(_status(quote), TcbStatus.OutOfDate);
    }

    /// The evaluation number wins over the date: a higher evaluation replaces a newer-dated lower one.
    function test_tcbInfoOfHigherEvaluationReplacesANewerDatedLowerOne() public {
        DcapCollateral fresh = _freshCollateral();
        _submitTcbInfo(fresh, "tdx_quote_collateral_eval16.json"); // evaluation 16, issued LATER
        _submitTcbInfo(fresh, "tdx_quote_collateral.json"); // evaluation 17, issued EARLIER
        TcbInfo memory info = fresh.tcbInfo(FMSPC);
        assertEq(info.evaluationDataNumber, 17);
        assertEq(info.issueDate, EARLIER);
    }

    function test_qeIdentityOfHigherEvaluationReplacesANewerDatedLowerOne() public {
        DcapCollateral fresh = _freshCollateral();
        _submitQeIdentity(fresh, "tdx_quote_collateral_eval16.json");
        _submitQeIdentity(fresh, "tdx_quote_collateral.json");
        QeIdentity memory qe = fresh.qeIdentity();
        assertEq(qe.evaluationDataNumber, 17);
        assertEq(qe.issueDate, EARLIER);
    }

    function test_tcbInfoOfSameEvaluationReplacesAnOlderDatedOne() public {
        _submitTcbInfo(collateral, "tdx_quote_collateral_eval18.json");
        (bytes memory signer, string memory document, bytes memory signature) =
            _tcbInfoOf("tdx_quote_collateral_eval18_reissued.json");
        vm.expectEmit(address(collateral));
        emit IDcapCollateral.TcbInfoAccepted(FMSPC, LATER, LATER + 30 days, 18);
        vm.expectEmit(address(collateral));
        emit IDcapCollateral.TcbInfoSigner(FMSPC, signerSerial, 1);
        collateral.submitTcbInfo(signer, document, signature);
        assertEq(collateral.tcbInfo(FMSPC).issueDate, LATER);
    }

    function test_RevertWhen_TcbInfoOfSameEvaluationIsOlderDated() public {
        _submitTcbInfo(collateral, "tdx_quote_collateral_eval18_reissued.json");
        (bytes memory signer, string memory document, bytes memory signature) =
            _tcbInfoOf("tdx_quote_collateral_eval18.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.StaleTcbInfo.selector, FMSPC, 18, EARLIER, 18, LATER));
        collateral.submitTcbInfo(signer, document, signature);
    }

    function test_RevertWhen_QeIdentityOfSameEvaluationIsOlderDated() public {
        _submitQeIdentity(collateral, "tdx_quote_collateral_eval18_reissued.json");
        (bytes memory signer, string memory document, bytes memory signature) =
            _qeIdentityOf("tdx_quote_collateral_eval18.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.StaleQeIdentity.selector, 18, EARLIER, 18, LATER));
        collateral.submitQeIdentity(signer, document, signature);
    }

    /// Same evaluation, same issue date: nothing newer, nothing to replace.
    function test_RevertWhen_TcbInfoResubmitted() public {
        (bytes memory signer, string memory document, bytes memory signature) = _tcbInfoOf("tdx_quote_collateral.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.StaleTcbInfo.selector, FMSPC, 17, EARLIER, 17, EARLIER));
        collateral.submitTcbInfo(signer, document, signature);
    }

    function test_RevertWhen_QeIdentityResubmitted() public {
        (bytes memory signer, string memory document, bytes memory signature) =
            _qeIdentityOf("tdx_quote_collateral.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.StaleQeIdentity.selector, 17, EARLIER, 17, EARLIER));
        collateral.submitQeIdentity(signer, document, signature);
    }

    // ---------------------------------------------------------------- 8a: TCB info without tdxModuleIdentities

    function test_tcbInfoWithoutModuleIdentitiesIsAccepted() public {
        _submitTcbInfo(collateral, "tdx_quote_collateral_no_module_identities.json");
        TcbInfo memory info = collateral.tcbInfo(FMSPC);
        assertEq(info.issueDate, LATER);
        assertEq(info.levels.length, 2);
        assertEq(info.modules.length, 1, "only the version-0 module");
        assertEq(info.modules[0].version, 0);
        assertEq(info.modules[0].mrSigner, new bytes(48));
    }

    /// Intel's logic: a version-0 TDX module is judged by `tdxModule` (MRSIGNERSEAM, SEAMATTRIBUTES) and by the TCB
    /// levels' tdxtcbcomponents from index 0, the module's own SVN included; no module identity is needed.
    function test_verify_versionZeroModuleIsJudgedByTheTcbLevelsWithoutModuleIdentities() public {
        _submitTcbInfo(collateral, "tdx_quote_collateral_no_module_identities.json");
        assertEq(_status(vm.readFileBinary(string.concat(DEV, "tdx_quote_module_v0"))), TcbStatus.UpToDate);
        assertEq(_status(vm.readFileBinary(string.concat(DEV, "tdx_quote_module_v0_outdated"))), TcbStatus.OutOfDate);
    }

    /// A versioned module (TEE_TCB_SVN[1] > 0) is judged by its "TDX_%02x" identity; with none in the TCB info the
    /// quote is refused (Intel's QVL: TCB info / TDX module mismatch), never waved through on the platform level.
    function test_RevertWhen_VersionedModuleMeetsTcbInfoWithoutModuleIdentities() public {
        _submitTcbInfo(collateral, "tdx_quote_collateral_no_module_identities.json");
        vm.expectRevert(abi.encodeWithSelector(DcapTdxVerifier.TdxModuleIdentityMissing.selector, 1));
        verifier.verifyTdxQuote(quote);
    }

    function test_verify_versionZeroModuleWithModuleIdentities() public {
        assertEq(_status(vm.readFileBinary(string.concat(DEV, "tdx_quote_module_v0"))), TcbStatus.UpToDate);
        bytes memory outdated = vm.readFileBinary(string.concat(DEV, "tdx_quote_module_v0_outdated"));
        vm.expectRevert(abi.encodeWithSelector(DcapTdxVerifier.TcbLevelNotFound.selector, FMSPC));
        verifier.verifyTdxQuote(outdated);
    }

    // ---------------------------------------------------------------- 8b: signer revoked by a later root CRL

    function test_collateralSignersAreRecorded() public view {
        (uint256 tcbInfoSigner, uint256 qeIdentitySigner) = collateral.collateralSigners(FMSPC);
        assertEq(tcbInfoSigner, signerSerial);
        assertEq(qeIdentitySigner, signerSerial);
        assertEq(collateral.tcbInfo(FMSPC).signerCrlGeneration, 1);
        assertEq(collateral.qeIdentity().signerCrlGeneration, 1);
        (uint256 none,) = collateral.collateralSigners(bytes6(0x112233445566));
        assertEq(none, 0);
    }

    function test_RevertWhen_TcbInfoSignerRevokedAfterSubmission() public {
        _submitRotatedRootCrl();
        _submitQeIdentity(collateral, "tdx_quote_collateral_tcb_signing_rotated.json"); // only the QE identity
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.TcbInfoSignerRevoked.selector, FMSPC, signerSerial));
        verifier.verifyTdxQuote(quote);
    }

    function test_RevertWhen_QeIdentitySignerRevokedAfterSubmission() public {
        _submitRotatedRootCrl();
        _submitTcbInfo(collateral, "tdx_quote_collateral_tcb_signing_rotated.json"); // only the TCB info
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.QeIdentitySignerRevoked.selector, signerSerial));
        verifier.verifyTdxQuote(quote);
    }

    function test_RevertWhen_TcbInfoSignedByARevokedCertificate() public {
        _submitRotatedRootCrl();
        (bytes memory signer, string memory document, bytes memory signature) =
            _tcbInfoOf("tdx_quote_collateral_eval18.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.CertificateRevoked.selector, signerSerial));
        collateral.submitTcbInfo(signer, document, signature);
    }

    function test_RevertWhen_QeIdentitySignedByARevokedCertificate() public {
        _submitRotatedRootCrl();
        (bytes memory signer, string memory document, bytes memory signature) =
            _qeIdentityOf("tdx_quote_collateral_eval18.json");
        vm.expectRevert(abi.encodeWithSelector(IDcapCollateral.CertificateRevoked.selector, signerSerial));
        collateral.submitQeIdentity(signer, document, signature);
    }

    /// Intel's answer to a revoked TCB Signing key: the same evaluation re-signed by a new one restores verification.
    function test_verify_collateralReSignedAfterTheRevocationIsUsable() public {
        _submitRotatedRootCrl();
        _submitTcbInfo(collateral, "tdx_quote_collateral_tcb_signing_rotated.json");
        _submitQeIdentity(collateral, "tdx_quote_collateral_tcb_signing_rotated.json");
        assertEq(_status(quote), TcbStatus.UpToDate);
        (uint256 tcbInfoSigner, uint256 qeIdentitySigner) = collateral.collateralSigners(FMSPC);
        assertEq(tcbInfoSigner, rotatedSignerSerial);
        assertEq(qeIdentitySigner, rotatedSignerSerial);
        assertEq(collateral.tcbInfo(FMSPC).signerCrlGeneration, 2);
    }

    /// A new root CRL that does not list the signer (a new generation: the signer is looked up) changes nothing.
    function test_verify_newRootCrlNotRevokingTheSignerKeepsCollateralUsable() public {
        collateral.submitRootCrl(_hex(".root_ca_crl"));
        assertEq(collateral.tcbInfo(FMSPC).signerCrlGeneration, 1);
        assertEq(_status(quote), TcbStatus.UpToDate);
        collateral.checkCollateralSigners(FMSPC);
    }

    function test_RevertWhen_collateralSignersCheckedWithoutAFreshRootCrl() public {
        vm.warp(LATER + 31 days);
        vm.expectPartialRevert(IDcapCollateral.CrlNotFresh.selector);
        collateral.checkCollateralSigners(FMSPC);
    }

    // ---------------------------------------------------------------- helpers

    function _status(bytes memory quote_) internal view returns (TcbStatus) {
        return verifier.verifyTdxQuote(quote_).tcbStatus;
    }

    function assertEq(TcbStatus a, TcbStatus b) internal pure {
        assertEq(uint8(a), uint8(b), "TCB status");
    }

    /// A collateral store with the dev root and PCK CRLs only.
    function _freshCollateral() internal returns (DcapCollateral fresh) {
        json = vm.readFile(string.concat(DEV, "tdx_quote_collateral.json"));
        fresh = new DcapCollateral(vm.readFileBinary(string.concat(DEV, "TrustedRootCA.der")), false);
        fresh.submitRootCrl(_hex(".root_ca_crl"));
        fresh.submitPckCrl(_firstCertificate(".pck_crl_issuer_chain"), _hex(".pck_crl"));
    }

    /// The root CRL (issued LATER) that revokes the first dev TCB Signing certificate.
    function _submitRotatedRootCrl() internal {
        json = vm.readFile(string.concat(DEV, "tdx_quote_collateral_tcb_signing_rotated.json"));
        collateral.submitRootCrl(_hex(".root_ca_crl"));
    }

    function _tcbInfoOf(string memory file)
        internal
        returns (bytes memory signer, string memory document, bytes memory signature)
    {
        json = vm.readFile(string.concat(DEV, file));
        return (
            _firstCertificate(".tcb_info_issuer_chain"),
            vm.parseJsonString(json, ".tcb_info"),
            _hex(".tcb_info_signature")
        );
    }

    function _qeIdentityOf(string memory file)
        internal
        returns (bytes memory signer, string memory document, bytes memory signature)
    {
        json = vm.readFile(string.concat(DEV, file));
        return (
            _firstCertificate(".qe_identity_issuer_chain"),
            vm.parseJsonString(json, ".qe_identity"),
            _hex(".qe_identity_signature")
        );
    }

    function _submitTcbInfo(IDcapCollateral target, string memory file) internal {
        (bytes memory signer, string memory document, bytes memory signature) = _tcbInfoOf(file);
        target.submitTcbInfo(signer, document, signature);
    }

    function _submitQeIdentity(IDcapCollateral target, string memory file) internal {
        (bytes memory signer, string memory document, bytes memory signature) = _qeIdentityOf(file);
        target.submitQeIdentity(signer, document, signature);
    }
}
