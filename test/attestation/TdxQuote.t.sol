// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, console} from "forge-std/Test.sol";
import {TdxQuote} from "../../src/attestation/libraries/TdxQuote.sol";
import {PemCertificates} from "../../src/attestation/libraries/PemCertificates.sol";
import {X509} from "../../src/attestation/libraries/X509.sol";
import {P256Verifier} from "../../src/attestation/libraries/P256Verifier.sol";
import {Base64Strict} from "../../src/attestation/libraries/Base64Strict.sol";

/// @notice Library calls behind an external boundary, so tests can expect their reverts and measure them.
contract QuoteHarness {
    function parse(bytes memory quote) external view returns (TdxQuote.Quote memory) {
        return TdxQuote.parse(quote);
    }

    function certificates(bytes memory quote) external view returns (X509.Certificate[] memory certs) {
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        PemCertificates.Range[] memory ranges = PemCertificates.split(quote, q.pckChain, q.pckChainEnd, 3);
        certs = new X509.Certificate[](3);
        for (uint256 i; i < 3; ++i) {
            certs[i] = X509.parse(PemCertificates.decode(quote, ranges[i]));
        }
    }

    function decodeBase64(bytes memory text) external pure returns (bytes memory) {
        return Base64Strict.decode(text, 0, text.length);
    }

    function parseCertificate(bytes memory der) external view returns (X509.Certificate memory) {
        return X509.parse(der);
    }

    /// Gas of each stage of a full chain check, measured inside one call (no calldata or storage noise).
    function stageGas(bytes memory quote) external view returns (uint256[5] memory used) {
        uint256 g = gasleft();
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        used[0] = g - gasleft();
        g = gasleft();
        PemCertificates.Range[] memory ranges = PemCertificates.split(quote, q.pckChain, q.pckChainEnd, 3);
        used[1] = g - gasleft();
        g = gasleft();
        bytes memory der = PemCertificates.decode(quote, ranges[0]);
        used[2] = g - gasleft();
        g = gasleft();
        X509.Certificate memory leaf = X509.parse(der);
        used[3] = g - gasleft();
        g = gasleft();
        P256Verifier.verify(q.signedHash, q.signatureR, q.signatureS, q.attestationKeyX, q.attestationKeyY);
        P256Verifier.verify(
            TdxQuote.qeReportHash(quote, q),
            q.qeReportSignatureR,
            q.qeReportSignatureS,
            leaf.publicKeyX,
            leaf.publicKeyY
        );
        used[4] = g - gasleft();
    }
}

contract TdxQuoteTest is Test {
    /// Intel SGX Root CA public key (x ‖ y), pinned.
    bytes32 internal constant INTEL_ROOT_X = 0x0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5;
    bytes32 internal constant INTEL_ROOT_Y = 0x67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394;
    uint256 internal constant PINNED_TIME = 1_750_377_600;

    QuoteHarness internal harness;
    bytes internal quote;

    function setUp() public {
        harness = new QuoteHarness();
        quote = vm.readFileBinary("test/fixtures/dcap/tdx_quote");
    }

    function test_parse_layoutOfTheRealTdxQuote() public view {
        TdxQuote.Quote memory q = harness.parse(quote);
        assertEq(quote.length, 5006);
        assertEq(q.end, 4936); // 70 padding bytes follow
        assertEq(q.qeAuthDataLength, 32);
        assertEq(q.pckChain, 1258);
        assertEq(q.pckChainEnd - q.pckChain, 3678);
        bytes memory signedContent = new bytes(q.signedLength);
        for (uint256 i; i < q.signedLength; ++i) {
            signedContent[i] = quote[i];
        }
        assertEq(q.signedContentHash, keccak256(signedContent));
    }

    function test_signature_quoteSignedByTheAttestationKey() public view {
        TdxQuote.Quote memory q = harness.parse(quote);
        assertTrue(P256Verifier.verify(q.signedHash, q.signatureR, q.signatureS, q.attestationKeyX, q.attestationKeyY));
    }

    function test_signature_qeReportSignedByThePckLeafAndBoundToTheAttestationKey() public view {
        TdxQuote.Quote memory q = harness.parse(quote);
        X509.Certificate memory leaf = harness.certificates(quote)[0];
        assertTrue(
            P256Verifier.verify(
                TdxQuote.qeReportHash(quote, q),
                q.qeReportSignatureR,
                q.qeReportSignatureS,
                leaf.publicKeyX,
                leaf.publicKeyY
            )
        );
        // QE report data = sha256(attestation key ‖ QE auth data) ‖ 32 zero bytes.
        assertEq(TdxQuote._word(quote, q.qeReport + 320), TdxQuote.qeBindingHash(quote, q));
        assertEq(TdxQuote._word(quote, q.qeReport + 352), bytes32(0));
    }

    function test_signature_pckChainVerifiesUpToThePinnedIntelRoot() public view {
        X509.Certificate[] memory c = harness.certificates(quote);
        assertTrue(
            P256Verifier.verify(c[0].tbsHash, c[0].signatureR, c[0].signatureS, c[1].publicKeyX, c[1].publicKeyY)
        );
        assertTrue(
            P256Verifier.verify(c[1].tbsHash, c[1].signatureR, c[1].signatureS, c[2].publicKeyX, c[2].publicKeyY)
        );
        assertTrue(
            P256Verifier.verify(c[2].tbsHash, c[2].signatureR, c[2].signatureS, c[2].publicKeyX, c[2].publicKeyY)
        );
        assertEq(c[2].publicKeyX, INTEL_ROOT_X);
        assertEq(c[2].publicKeyY, INTEL_ROOT_Y);
        // Names and key identifiers link the chain.
        assertEq(c[0].issuerHash, c[1].subjectHash);
        assertEq(c[1].issuerHash, c[2].subjectHash);
        assertEq(c[2].issuerHash, c[2].subjectHash);
        assertEq(c[0].authorityKeyId, c[1].subjectKeyId);
        assertEq(c[1].authorityKeyId, c[2].subjectKeyId);
        assertTrue(c[0].authorityKeyId != bytes32(0));
        assertFalse(c[0].isCa);
        assertTrue(c[1].isCa && c[2].isCa);
        // The root in the quote is the one shipped as TrustedRootCA.der.
        X509.Certificate memory shippedRoot =
            harness.parseCertificate(vm.readFileBinary("test/fixtures/dcap/TrustedRootCA.der"));
        assertEq(shippedRoot.certificateHash, c[2].certificateHash);
    }

    function test_parse_leafFieldsAsOpensslPrintsThem() public view {
        X509.Certificate memory leaf = harness.certificates(quote)[0];
        assertEq(leaf.serialNumber, uint256(0x003c16ed54eacbb4ced072be72630c85788cf46e36));
        assertEq(leaf.notBefore, 1_738_884_351); // 2025-02-06T23:25:51Z
        assertEq(leaf.notAfter, 1_959_722_751); // 2032-02-06T23:25:51Z
        assertEq(leaf.publicKeyX, 0x1720fa04edef8680bfb748fd965af93d61a417a8f1f29910e8b88b3666dfff6d);
        assertTrue(leaf.sgxExtensionEnd > leaf.sgxExtensionStart);
        assertTrue(leaf.notBefore <= PINNED_TIME && PINNED_TIME <= leaf.notAfter);
    }

    function test_mutation_anyHeaderOrBodyByteBreaksTheQuoteSignature() public view {
        uint256[8] memory positions = [uint256(0x0c), 48, 120, 168, 184, 376, 568, 631];
        for (uint256 i; i < positions.length; ++i) {
            bytes memory mutated = bytes.concat(quote);
            mutated[positions[i]] = bytes1(uint8(mutated[positions[i]]) ^ 0x01);
            // The header bytes the parser checks reject the quote outright; the rest fail the signature.
            try harness.parse(mutated) returns (TdxQuote.Quote memory q) {
                assertFalse(
                    P256Verifier.verify(q.signedHash, q.signatureR, q.signatureS, q.attestationKeyX, q.attestationKeyY)
                );
            } catch {}
        }
    }

    function test_mutation_qeReportOrAuthDataBreaksItsChecks() public view {
        TdxQuote.Quote memory original = harness.parse(quote);
        X509.Certificate memory leaf = harness.certificates(quote)[0];
        bytes memory mutated = bytes.concat(quote);
        mutated[original.qeReport + 10] = bytes1(uint8(mutated[original.qeReport + 10]) ^ 0x80);
        TdxQuote.Quote memory q = harness.parse(mutated);
        assertFalse(
            P256Verifier.verify(
                TdxQuote.qeReportHash(mutated, q),
                q.qeReportSignatureR,
                q.qeReportSignatureS,
                leaf.publicKeyX,
                leaf.publicKeyY
            )
        );
        mutated = bytes.concat(quote);
        mutated[original.qeAuthData] = bytes1(uint8(mutated[original.qeAuthData]) ^ 0x01);
        q = harness.parse(mutated);
        assertTrue(TdxQuote._word(mutated, q.qeReport + 320) != TdxQuote.qeBindingHash(mutated, q));
    }

    function test_mutation_certificateTextBreaksTheChain() public view {
        TdxQuote.Quote memory q = harness.parse(quote);
        X509.Certificate memory root = harness.certificates(quote)[2];
        // A character inside the platform CA's base64 body (second certificate).
        PemCertificates.Range[] memory ranges = PemCertificates.split(quote, q.pckChain, q.pckChainEnd, 3);
        uint256 at = ranges[1].start + 200;
        bytes memory mutated = bytes.concat(quote);
        if (mutated[at] == "A") mutated[at] = "B";
        else mutated[at] = "A";
        try harness.certificates(mutated) returns (X509.Certificate[] memory certs) {
            assertFalse(
                P256Verifier.verify(
                    certs[1].tbsHash, certs[1].signatureR, certs[1].signatureS, root.publicKeyX, root.publicKeyY
                )
            );
        } catch {}
    }

    function test_RevertWhen_parse_wrongVersion() public {
        bytes memory mutated = bytes.concat(quote);
        mutated[0] = 0x03;
        vm.expectRevert(abi.encodeWithSelector(TdxQuote.UnsupportedQuoteVersion.selector, uint16(3)));
        harness.parse(mutated);
    }

    function test_RevertWhen_parse_notTdx() public {
        bytes memory mutated = bytes.concat(quote);
        mutated[4] = 0x00;
        vm.expectRevert(abi.encodeWithSelector(TdxQuote.NotTdxQuote.selector, uint32(0)));
        harness.parse(mutated);
    }

    function test_RevertWhen_parse_notIntelVendor() public {
        bytes memory mutated = bytes.concat(quote);
        mutated[12] = 0x00;
        vm.expectPartialRevert(TdxQuote.NotIntelQuotingEnclave.selector);
        harness.parse(mutated);
    }

    function test_RevertWhen_parse_truncated() public {
        bytes memory truncated = new bytes(4000);
        for (uint256 i; i < truncated.length; ++i) {
            truncated[i] = quote[i];
        }
        vm.expectRevert(abi.encodeWithSelector(TdxQuote.SignatureDataTooShort.selector, 4300));
        harness.parse(truncated);
    }

    function test_RevertWhen_parse_certificationSizeLies() public {
        bytes memory mutated = bytes.concat(quote);
        mutated[636 + 130] = bytes1(uint8(mutated[636 + 130]) ^ 0x01);
        vm.expectPartialRevert(TdxQuote.CertificationDataSizeMismatch.selector);
        harness.parse(mutated);
    }

    function test_base64_strict() public view {
        assertEq(harness.decodeBase64("aGVsbG8="), bytes("hello"));
        assertEq(harness.decodeBase64("aGVsbG8h\n"), bytes("hello!"));
        // 64-character lines, as PEM writes them.
        bytes memory line = bytes("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB");
        assertEq(line.length, 64);
        assertEq(
            harness.decodeBase64(bytes.concat(line, "\n", "QQ==")), bytes.concat(bytes(new string(0)), _as(48), "A")
        );
    }

    function test_RevertWhen_base64_invalidCharacter() public {
        vm.expectPartialRevert(Base64Strict.InvalidBase64.selector);
        harness.decodeBase64("aG*sbG8=");
    }

    function test_RevertWhen_base64_lineFeedOffTheColumn() public {
        vm.expectPartialRevert(Base64Strict.InvalidBase64.selector);
        harness.decodeBase64("aGVs\nbG8h");
    }

    function test_RevertWhen_base64_dataAfterPadding() public {
        vm.expectPartialRevert(Base64Strict.InvalidBase64.selector);
        harness.decodeBase64("aGU=bG8h");
    }

    function test_RevertWhen_base64_strayBits() public {
        // "aGVsbG9=" sets bits the padding says are unused.
        vm.expectPartialRevert(Base64Strict.InvalidBase64.selector);
        harness.decodeBase64("aGVsbG9=");
    }

    function testFuzz_base64_neverAcceptsRandomGarbageSilently(bytes memory text) public view {
        try harness.decodeBase64(text) returns (bytes memory out) {
            assertLe(out.length, text.length);
        } catch {}
    }

    function _as(uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 i; i < n; ++i) {
            out[i] = "A";
        }
    }

    function test_gas_stages() public view {
        uint256[5] memory used = harness.stageGas(quote);
        console.log("parse quote", used[0]);
        console.log("split PEM", used[1]);
        console.log("base64 leaf", used[2]);
        console.log("X509 leaf", used[3]);
        console.log("2 x P-256", used[4]);
    }
}
