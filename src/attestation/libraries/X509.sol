// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DateTimeLib} from "solady/utils/DateTimeLib.sol";
import {Der} from "./Der.sol";

/// @title X509
/// @notice Parses the X.509 v3 certificates of Intel's SGX/TDX PKI: ECDSA P-256 keys signed with ecdsa-with-SHA256.
/// Anything else is rejected. Signatures are not checked here; callers verify `tbsHash` against the issuer key.
library X509 {
    using Der for bytes;

    error UnsupportedAlgorithm(uint256 offset);
    error MalformedCertificate(uint256 offset);
    error MalformedTime(uint256 offset);

    /// ecdsa-with-SHA256 (1.2.840.10045.4.3.2)
    bytes internal constant ECDSA_WITH_SHA256 = hex"2a8648ce3d040302";
    /// id-ecPublicKey (1.2.840.10045.2.1)
    bytes internal constant EC_PUBLIC_KEY = hex"2a8648ce3d0201";
    /// prime256v1 (1.2.840.10045.3.1.7)
    bytes internal constant PRIME256V1 = hex"2a8648ce3d030107";
    /// authorityKeyIdentifier (2.5.29.35), subjectKeyIdentifier (2.5.29.14), basicConstraints (2.5.29.19)
    bytes internal constant AUTHORITY_KEY_ID = hex"551d23";
    bytes internal constant SUBJECT_KEY_ID = hex"551d0e";
    bytes internal constant BASIC_CONSTRAINTS = hex"551d13";
    /// Intel SGX extensions (1.2.840.113741.1.13.1)
    bytes internal constant SGX_EXTENSION = hex"2a864886f84d010d01";

    struct Certificate {
        /// sha256 of the DER TBSCertificate: what the issuer signed.
        bytes32 tbsHash;
        /// keccak256 of the whole DER certificate.
        bytes32 certificateHash;
        uint256 serialNumber;
        /// keccak256 of the DER issuer and subject Names.
        bytes32 issuerHash;
        bytes32 subjectHash;
        uint64 notBefore;
        uint64 notAfter;
        bytes32 publicKeyX;
        bytes32 publicKeyY;
        bytes32 signatureR;
        bytes32 signatureS;
        /// keccak256 of the key identifiers (zero when absent).
        bytes32 authorityKeyId;
        bytes32 subjectKeyId;
        bool isCa;
        /// Content range of the Intel SGX extension's OCTET STRING in the DER (zero when absent).
        uint256 sgxExtensionStart;
        uint256 sgxExtensionEnd;
    }

    /// @notice Parses a DER certificate occupying all of `der`.
    function parse(bytes memory der) internal view returns (Certificate memory cert) {
        Der.Node memory certificate = der.expect(0, der.length, Der.SEQUENCE);
        if (certificate.end != der.length) revert MalformedCertificate(certificate.end);
        cert.certificateHash = keccak256(der);

        Der.Node memory tbs = der.expect(certificate.contentStart, certificate.end, Der.SEQUENCE);
        cert.tbsHash = der.nodeSha256(tbs);
        Der.Node memory algorithm = der.expect(tbs.end, certificate.end, Der.SEQUENCE);
        _requireAlgorithm(der, algorithm, ECDSA_WITH_SHA256);
        Der.Node memory signature = der.expect(algorithm.end, certificate.end, Der.BIT_STRING);
        if (signature.end != certificate.end) revert MalformedCertificate(signature.end);
        (cert.signatureR, cert.signatureS) = _ecdsaSignature(der, signature);

        _parseTbs(der, tbs, cert);
    }

    /// @notice Reads an ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) wrapped in a BIT STRING.
    function _ecdsaSignature(bytes memory der, Der.Node memory bitString) private pure returns (bytes32 r, bytes32 s) {
        if (bitString.end - bitString.contentStart < 1 || uint8(der[bitString.contentStart]) != 0) {
            revert MalformedCertificate(bitString.start);
        }
        Der.Node memory sequence = der.expect(bitString.contentStart + 1, bitString.end, Der.SEQUENCE);
        Der.Node memory rNode = der.expect(sequence.contentStart, sequence.end, Der.INTEGER);
        Der.Node memory sNode = der.expect(rNode.end, sequence.end, Der.INTEGER);
        if (sNode.end != sequence.end) revert MalformedCertificate(sequence.start);
        return (bytes32(der.toUint(rNode)), bytes32(der.toUint(sNode)));
    }

    function _parseTbs(bytes memory der, Der.Node memory tbs, Certificate memory cert) private pure {
        // version [0] EXPLICIT INTEGER: must be v3 (2).
        Der.Node memory node = der.firstChild(tbs);
        if (node.tag != 0xa0) revert MalformedCertificate(node.start);
        Der.Node memory version = der.expect(node.contentStart, node.end, Der.INTEGER);
        if (der.toUint(version) != 2) revert MalformedCertificate(version.start);

        node = der.expect(node.end, tbs.end, Der.INTEGER);
        cert.serialNumber = der.toUint(node);
        node = der.expect(node.end, tbs.end, Der.SEQUENCE);
        _requireAlgorithm(der, node, ECDSA_WITH_SHA256);
        node = der.expect(node.end, tbs.end, Der.SEQUENCE);
        cert.issuerHash = der.nodeHash(node);

        Der.Node memory validity = der.expect(node.end, tbs.end, Der.SEQUENCE);
        Der.Node memory notBefore = der.firstChild(validity);
        Der.Node memory notAfter = der.next(notBefore, validity);
        if (notAfter.end != validity.end) revert MalformedCertificate(validity.start);
        cert.notBefore = readTime(der, notBefore);
        cert.notAfter = readTime(der, notAfter);

        node = der.expect(validity.end, tbs.end, Der.SEQUENCE);
        cert.subjectHash = der.nodeHash(node);
        node = der.expect(node.end, tbs.end, Der.SEQUENCE);
        (cert.publicKeyX, cert.publicKeyY) = _publicKey(der, node);

        // Optional issuerUniqueID [1] / subjectUniqueID [2] are not used by Intel; extensions [3] must follow.
        if (node.end == tbs.end) return;
        Der.Node memory explicitExtensions = der.read(node.end, tbs.end);
        if (explicitExtensions.tag != 0xa3 || explicitExtensions.end != tbs.end) {
            revert MalformedCertificate(explicitExtensions.start);
        }
        _parseExtensions(der, der.expect(explicitExtensions.contentStart, explicitExtensions.end, Der.SEQUENCE), cert);
    }

    function _publicKey(bytes memory der, Der.Node memory spki) private pure returns (bytes32 x, bytes32 y) {
        Der.Node memory algorithm = der.expect(spki.contentStart, spki.end, Der.SEQUENCE);
        Der.Node memory oid = der.expect(algorithm.contentStart, algorithm.end, Der.OID);
        Der.Node memory curve = der.expect(oid.end, algorithm.end, Der.OID);
        if (!der.contentEquals(oid, EC_PUBLIC_KEY) || !der.contentEquals(curve, PRIME256V1)) {
            revert UnsupportedAlgorithm(algorithm.start);
        }
        Der.Node memory key = der.expect(algorithm.end, spki.end, Der.BIT_STRING);
        // 0 unused bits, uncompressed point: 00 04 x(32) y(32)
        uint256 c = key.contentStart;
        if (key.end - c != 66 || uint8(der[c]) != 0 || uint8(der[c + 1]) != 4) revert UnsupportedAlgorithm(key.start);
        assembly ("memory-safe") {
            x := mload(add(add(der, 0x20), add(c, 2)))
            y := mload(add(add(der, 0x20), add(c, 34)))
        }
    }

    function _parseExtensions(bytes memory der, Der.Node memory extensions, Certificate memory cert) private pure {
        for (uint256 offset = extensions.contentStart; offset < extensions.end;) {
            Der.Node memory extension = der.expect(offset, extensions.end, Der.SEQUENCE);
            offset = extension.end;
            Der.Node memory oid = der.expect(extension.contentStart, extension.end, Der.OID);
            Der.Node memory value = der.read(oid.end, extension.end);
            if (value.tag == Der.BOOLEAN) value = der.read(value.end, extension.end); // critical flag
            if (value.tag != Der.OCTET_STRING || value.end != extension.end) revert MalformedCertificate(value.start);

            if (der.contentEquals(oid, AUTHORITY_KEY_ID)) {
                // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, ... }
                Der.Node memory aki = der.expect(value.contentStart, value.end, Der.SEQUENCE);
                Der.Node memory keyId = der.read(aki.contentStart, aki.end);
                if (keyId.tag != 0x80 || keyId.end == keyId.contentStart) revert MalformedCertificate(keyId.start);
                cert.authorityKeyId = der.contentHash(keyId);
            } else if (der.contentEquals(oid, SUBJECT_KEY_ID)) {
                Der.Node memory keyId = der.expect(value.contentStart, value.end, Der.OCTET_STRING);
                if (keyId.end == keyId.contentStart) revert MalformedCertificate(keyId.start);
                cert.subjectKeyId = der.contentHash(keyId);
            } else if (der.contentEquals(oid, BASIC_CONSTRAINTS)) {
                Der.Node memory constraints = der.expect(value.contentStart, value.end, Der.SEQUENCE);
                if (constraints.end > constraints.contentStart) {
                    Der.Node memory ca = der.read(constraints.contentStart, constraints.end);
                    cert.isCa =
                        ca.tag == Der.BOOLEAN && ca.end - ca.contentStart == 1 && uint8(der[ca.contentStart]) != 0;
                }
            } else if (der.contentEquals(oid, SGX_EXTENSION)) {
                cert.sgxExtensionStart = value.contentStart;
                cert.sgxExtensionEnd = value.end;
            }
        }
    }

    function _requireAlgorithm(bytes memory der, Der.Node memory algorithm, bytes memory expected) private pure {
        Der.Node memory oid = der.expect(algorithm.contentStart, algorithm.end, Der.OID);
        // ecdsa-with-SHA256 has no parameters (RFC 5758): the OID is the only element.
        if (oid.end != algorithm.end || !der.contentEquals(oid, expected)) {
            revert UnsupportedAlgorithm(algorithm.start);
        }
    }

    /// @notice Reads a UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as unix seconds.
    function readTime(bytes memory der, Der.Node memory node) internal pure returns (uint64) {
        uint256 c = node.contentStart;
        uint256 length = node.end - c;
        uint256 year;
        if (node.tag == Der.UTC_TIME && length == 13) {
            year = _digits(der, c, 2);
            year += year < 50 ? 2000 : 1900; // RFC 5280 §4.1.2.5.1
            c += 2;
        } else if (node.tag == Der.GENERALIZED_TIME && length == 15) {
            year = _digits(der, c, 4);
            c += 4;
        } else {
            revert MalformedTime(node.start);
        }
        if (uint8(der[node.end - 1]) != 0x5a) revert MalformedTime(node.start); // 'Z'
        uint256 month = _digits(der, c, 2);
        uint256 day = _digits(der, c + 2, 2);
        uint256 hour = _digits(der, c + 4, 2);
        uint256 minute = _digits(der, c + 6, 2);
        uint256 second = _digits(der, c + 8, 2);
        if (!DateTimeLib.isSupportedDateTime(year, month, day, hour, minute, second)) revert MalformedTime(node.start);
        return uint64(DateTimeLib.dateTimeToTimestamp(year, month, day, hour, minute, second));
    }

    function _digits(bytes memory der, uint256 start, uint256 count) private pure returns (uint256 value) {
        for (uint256 i; i < count; ++i) {
            uint256 d = uint8(der[start + i]);
            if (d < 0x30 || d > 0x39) revert MalformedTime(start);
            value = value * 10 + (d - 0x30);
        }
    }
}
