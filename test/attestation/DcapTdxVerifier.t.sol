// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {DcapCollateral} from "../../src/attestation/DcapCollateral.sol";
import {DcapTdxVerifier} from "../../src/attestation/DcapTdxVerifier.sol";
import {IDcapCollateral} from "../../src/attestation/interfaces/IDcapCollateral.sol";
import {PemCertificates} from "../../src/attestation/libraries/PemCertificates.sol";
import {TdxQuote} from "../../src/attestation/libraries/TdxQuote.sol";
import {TcbStatus, TdxReport} from "../../src/attestation/types/Dcap.sol";

/// @notice Real Intel quotes against their real collateral, inside the collateral's validity window.
abstract contract DcapFixture is Test {
    DcapCollateral internal collateral;
    DcapTdxVerifier internal verifier;
    bytes internal quote;
    string internal json;

    function _load(string memory name, uint256 at) internal {
        _loadFrom("test/fixtures/dcap/", name, at, true);
    }

    function _loadFrom(string memory dir, string memory name, uint256 at, bool intelRoot) internal {
        vm.warp(at);
        quote = vm.readFileBinary(string.concat(dir, name));
        json = vm.readFile(string.concat(dir, name, "_collateral.json"));
        collateral = new DcapCollateral(vm.readFileBinary(string.concat(dir, "TrustedRootCA.der")), intelRoot);
        verifier = new DcapTdxVerifier(collateral);
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

    function _hex(string memory key) internal view returns (bytes memory) {
        return vm.parseBytes(string.concat("0x", vm.parseJsonString(json, key)));
    }

    function _firstCertificate(string memory key) internal view returns (bytes memory) {
        bytes memory pem = bytes(vm.parseJsonString(json, key));
        PemCertificates.Range[] memory ranges = PemCertificates.split(pem, 0, pem.length, 2);
        return PemCertificates.decode(pem, ranges[0]);
    }

    function _flip(bytes memory data, uint256 at) internal pure returns (bytes memory mutated) {
        mutated = bytes.concat(data);
        mutated[at] = bytes1(uint8(mutated[at]) ^ 0x01);
    }
}

contract DcapTdxVerifierTest is DcapFixture {
    uint256 internal constant PINNED_TIME = 1_750_377_600; // 2025-06-20T00:00:00Z

    function setUp() public virtual {
        _load("tdx_quote", PINNED_TIME);
    }

    function test_verify_realTdxQuoteIsUpToDate() public view {
        TdxReport memory report = verifier.verifyTdxQuote(quote);
        assertEq(uint8(report.tcbStatus), uint8(TcbStatus.UpToDate));
        assertEq(report.fmspc, bytes6(0xb0c06f000000));
        assertEq(report.teeTcbSvn, bytes16(0x06010300000000000000000000000000));
        assertEq(report.tdAttributes, bytes8(0x0000001000000000)); // SEPT_VE_DISABLE only: not a debug TD
        assertEq(report.mrTd.length, 48);
        assertEq(uint8(report.mrTd[0]), 0x91);
        assertEq(uint8(report.mrTd[1]), 0xeb);
        assertEq(report.rtmr3, new bytes(48));
        assertEq(report.mrConfigId, new bytes(48));
        assertEq(report.reportData.length, 64);
        assertEq(report.quoteId, TdxQuote.parse(quote).signedContentHash);
    }

    function test_verify_paddingDoesNotChangeTheQuoteId() public view {
        bytes memory padded = bytes.concat(quote, new bytes(100));
        padded[5006 + 3] = 0x7f; // garbage past the signature data
        assertEq(verifier.verifyTdxQuote(padded).quoteId, verifier.verifyTdxQuote(quote).quoteId);
    }

    function test_RevertWhen_bodyByteFlipped() public {
        vm.expectRevert(DcapTdxVerifier.QuoteSignatureInvalid.selector);
        verifier.verifyTdxQuote(_flip(quote, 48 + 520)); // report data
    }

    function test_RevertWhen_attestationKeyFlipped() public {
        vm.expectRevert(DcapTdxVerifier.QuoteSignatureInvalid.selector);
        verifier.verifyTdxQuote(_flip(quote, 636 + 64));
    }

    function test_RevertWhen_qeReportFlipped() public {
        vm.expectRevert(DcapTdxVerifier.QeReportSignatureInvalid.selector);
        verifier.verifyTdxQuote(_flip(quote, 636 + 134 + 100));
    }

    function test_RevertWhen_qeReportSignatureFlipped() public {
        vm.expectRevert(DcapTdxVerifier.QeReportSignatureInvalid.selector);
        verifier.verifyTdxQuote(_flip(quote, 636 + 134 + 384 + 5));
    }

    function test_RevertWhen_qeAuthDataFlipped() public {
        vm.expectRevert(DcapTdxVerifier.QeReportBindingMismatch.selector);
        verifier.verifyTdxQuote(_flip(quote, 636 + 584 + 3));
    }

    function test_RevertWhen_pckLeafTextFlipped() public {
        // A base64 character of the leaf (changes the TBS: the CA signature no longer matches, or parsing fails).
        bytes memory mutated = bytes.concat(quote);
        uint256 at = 1258 + 27 + 1 + 300;
        if (mutated[at] == "A") mutated[at] = "B";
        else mutated[at] = "A";
        vm.expectRevert();
        verifier.verifyTdxQuote(mutated);
    }

    function test_RevertWhen_caTextFlipped() public {
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        PemCertificates.Range[] memory chain = PemCertificates.split(quote, q.pckChain, q.pckChainEnd, 3);
        bytes memory mutated = bytes.concat(quote);
        uint256 at = chain[1].start + 70;
        if (mutated[at] == "A") mutated[at] = "B";
        else mutated[at] = "A";
        bytes32 bodyHash = PemCertificates.bodyHash(mutated, chain[1]);
        vm.expectRevert(abi.encodeWithSelector(DcapTdxVerifier.UnknownPckCa.selector, bodyHash));
        verifier.verifyTdxQuote(mutated);
    }

    function test_RevertWhen_rootTextFlipped() public {
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        PemCertificates.Range[] memory chain = PemCertificates.split(quote, q.pckChain, q.pckChainEnd, 3);
        bytes memory mutated = bytes.concat(quote);
        uint256 at = chain[2].start + 70;
        if (mutated[at] == "A") mutated[at] = "B";
        else mutated[at] = "A";
        vm.expectRevert(DcapTdxVerifier.RootMismatch.selector);
        verifier.verifyTdxQuote(mutated);
    }

    function test_RevertWhen_collateralExpired() public {
        vm.warp(1_752_920_164); // past the TCB info's nextUpdate (and the PCK CRL's)
        vm.expectPartialRevert(IDcapCollateral.CrlNotFresh.selector);
        verifier.verifyTdxQuote(quote);
    }

    function test_RevertWhen_tcbInfoMissing() public {
        DcapCollateral fresh = new DcapCollateral(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"), true);
        DcapTdxVerifier bare = new DcapTdxVerifier(fresh);
        fresh.submitRootCrl(_hex(".root_ca_crl"));
        fresh.submitPckCrl(_firstCertificate(".pck_crl_issuer_chain"), _hex(".pck_crl"));
        fresh.submitQeIdentity(
            _firstCertificate(".qe_identity_issuer_chain"),
            vm.parseJsonString(json, ".qe_identity"),
            _hex(".qe_identity_signature")
        );
        vm.expectRevert(
            abi.encodeWithSelector(DcapTdxVerifier.TcbInfoMissingOrExpired.selector, bytes6(0xb0c06f000000), 0, 0)
        );
        bare.verifyTdxQuote(quote);
    }

    function test_RevertWhen_pckCaNotRegistered() public {
        DcapCollateral fresh = new DcapCollateral(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"), true);
        DcapTdxVerifier bare = new DcapTdxVerifier(fresh);
        vm.expectPartialRevert(DcapTdxVerifier.UnknownPckCa.selector);
        bare.verifyTdxQuote(quote);
    }

    // ---------------------------------------------------------------- fuzzing

    /// Flipping any byte of a quote either makes verification fail with a specific error (never a panic) or, for
    /// the few bytes no check depends on (the separator and NUL closing the PEM), leaves the same quote id: a
    /// mutation can never pass as a new quote.
    function testFuzz_mutatedQuoteNeverVerifiesAsANewQuote(uint256 position, uint8 mask) public view {
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        position = bound(position, 0, q.end - 1);
        mask = uint8(bound(mask, 1, 255));
        bytes memory mutated = bytes.concat(quote);
        mutated[position] = bytes1(uint8(mutated[position]) ^ mask);
        try verifier.verifyTdxQuote(mutated) returns (TdxReport memory report) {
            assertGe(position, q.end - 2, "a covered byte was flipped and the quote still verified");
            assertEq(report.quoteId, q.signedContentHash);
        } catch (bytes memory reason) {
            _assertNotPanic(reason);
        }
    }

    /// ECDSA signatures are malleable: (r, n - s) verifies too. The quote id ignores signatures, so a malleated quote
    /// is the same quote to a replay guard.
    function test_malleatedQuoteSignatureKeepsTheQuoteId() public view {
        uint256 n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551;
        bytes memory malleated = bytes.concat(quote);
        uint256 s = uint256(TdxQuote._word(quote, 636 + 32));
        bytes32 flipped = bytes32(n - s);
        for (uint256 i; i < 32; ++i) {
            malleated[636 + 32 + i] = flipped[i];
        }
        try verifier.verifyTdxQuote(malleated) returns (TdxReport memory report) {
            assertEq(report.quoteId, verifier.verifyTdxQuote(quote).quoteId);
        } catch (bytes memory reason) {
            assertEq(reason, abi.encodeWithSelector(DcapTdxVerifier.QuoteSignatureInvalid.selector));
        }
    }

    /// Every header byte and every length/type field, flipped three ways: always a specific error.
    function test_mutation_headerAndLengthFieldsNeverVerifyNorPanic() public view {
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        uint256 authSize = q.qeReport + 384 + 64; // QE auth data size (u16)
        uint256[5] memory starts = [uint256(0), 632, 636 + 128, authSize, q.pckChain - 6];
        uint256[5] memory lengths = [uint256(48), 4, 6, 2, 6];
        uint8[3] memory masks = [uint8(0x01), 0x80, 0xff];
        for (uint256 r; r < starts.length; ++r) {
            for (uint256 i = starts[r]; i < starts[r] + lengths[r]; ++i) {
                for (uint256 m; m < masks.length; ++m) {
                    bytes memory mutated = bytes.concat(quote);
                    mutated[i] = bytes1(uint8(mutated[i]) ^ masks[m]);
                    try verifier.verifyTdxQuote(mutated) returns (TdxReport memory) {
                        // Only the header's user data (bytes 28..48) is covered by nothing but the signature.
                        revert("mutated quote verified");
                    } catch (bytes memory reason) {
                        _assertNotPanic(reason);
                    }
                }
            }
        }
    }

    /// Random bytes, and random bytes behind a genuine header, never verify and never panic.
    function testFuzz_randomQuoteNeverVerifies(bytes memory junk, bool genuineHeader) public view {
        if (genuineHeader && junk.length >= 48) {
            for (uint256 i; i < 48; ++i) {
                junk[i] = quote[i];
            }
        }
        try verifier.verifyTdxQuote(junk) returns (TdxReport memory) {
            revert("random quote verified");
        } catch (bytes memory reason) {
            _assertNotPanic(reason);
        }
    }

    function _assertNotPanic(bytes memory reason) internal pure {
        assertGe(reason.length, 4, "reverted without a reason");
        // forge-lint: disable-next-line(unsafe-typecast): the length is asserted to be at least 4 on the line above
        assertTrue(bytes4(reason) != bytes4(0x4e487b71), "panicked");
    }

    // ---------------------------------------------------------------- collateral submission

    function test_RevertWhen_tcbInfoTextTampered() public {
        string memory tcbInfo = vm.parseJsonString(json, ".tcb_info");
        bytes memory tampered = bytes(tcbInfo);
        if (tampered[10] == "a") tampered[10] = "b";
        else tampered[10] = "a";
        bytes memory signer = _firstCertificate(".tcb_info_issuer_chain");
        bytes memory signature = _hex(".tcb_info_signature");
        vm.expectRevert(IDcapCollateral.InvalidSignature.selector);
        collateral.submitTcbInfo(signer, string(tampered), signature);
    }

    function test_RevertWhen_qeIdentitySignatureTampered() public {
        bytes memory signer = _firstCertificate(".qe_identity_issuer_chain");
        string memory identity = vm.parseJsonString(json, ".qe_identity");
        bytes memory signature = _flip(_hex(".qe_identity_signature"), 40);
        vm.expectRevert(IDcapCollateral.InvalidSignature.selector);
        collateral.submitQeIdentity(signer, identity, signature);
    }

    function test_RevertWhen_collateralSignedByANonRootCertificate() public {
        // The PCK platform CA is issued by the root, but TCB info must come from the TCB Signing key.
        bytes memory wrongSigner = _firstCertificate(".pck_crl_issuer_chain");
        string memory tcbInfo = vm.parseJsonString(json, ".tcb_info");
        bytes memory signature = _hex(".tcb_info_signature");
        vm.expectRevert(IDcapCollateral.InvalidSignature.selector);
        collateral.submitTcbInfo(wrongSigner, tcbInfo, signature);
    }

    function test_RevertWhen_collateralExpiredOnSubmission() public {
        vm.warp(1_752_920_164);
        bytes memory signer = _firstCertificate(".tcb_info_issuer_chain");
        string memory tcbInfo = vm.parseJsonString(json, ".tcb_info");
        bytes memory signature = _hex(".tcb_info_signature");
        vm.expectPartialRevert(IDcapCollateral.CollateralNotFresh.selector);
        collateral.submitTcbInfo(signer, tcbInfo, signature);
    }

    function test_RevertWhen_crlSignatureTampered() public {
        bytes memory crl = _hex(".pck_crl");
        bytes memory tampered = _flip(crl, crl.length - 3);
        bytes memory ca = _firstCertificate(".pck_crl_issuer_chain");
        vm.expectRevert(IDcapCollateral.InvalidSignature.selector);
        collateral.submitPckCrl(ca, tampered);
    }

    function test_RevertWhen_intelRootDeclaredForADevKey() public {
        // Any self-signed non-Intel root: reuse the platform CA? It is not self-signed, so the key check fires first.
        bytes memory notIntel = _firstCertificate(".pck_crl_issuer_chain");
        vm.expectRevert(IDcapCollateral.IntelRootKeyRequired.selector);
        new DcapCollateral(notIntel, true);
    }

    function test_RevertWhen_devRootIsIntels() public {
        bytes memory intel = vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der");
        vm.expectRevert(IDcapCollateral.DevRootMustNotBeIntel.selector);
        new DcapCollateral(intel, false);
    }

    function test_collateral_pinsIntelRoot() public view {
        assertTrue(collateral.intelRoot());
        (bytes32 x,,,) = collateral.root();
        assertEq(x, 0x0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5);
    }
}

/// @notice The v5 "outdated" sample: its PCK's SEAMLDR ACM SVN (3) is below every TCB level's (5).
contract DcapTdxVerifierOutdatedTest is DcapFixture {
    function setUp() public {
        _load("tdx_quote_outdated", 1_772_323_200); // 2026-03-01T00:00:00Z
    }

    function test_parse_v5Td15Body() public view {
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        assertEq(q.version, 5);
        assertEq(q.body, 54);
        assertEq(q.signedLength, 702);
    }

    function test_RevertWhen_noTcbLevelMatches() public {
        vm.expectRevert(abi.encodeWithSelector(DcapTdxVerifier.TcbLevelNotFound.selector, bytes6(0x90c06f000000)));
        verifier.verifyTdxQuote(quote);
    }
}
