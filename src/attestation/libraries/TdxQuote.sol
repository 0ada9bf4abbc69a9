// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TdxReport} from "../types/Dcap.sol";

/// @title TdxQuote
/// @notice Reads an Intel DCAP TDX quote: v4 (TD report 1.0 body) or v5 (body type 2, TD report 1.0, or type 3,
/// TD report 1.5). Every length comes from the quote's own fields, never from the buffer size, and each one is
/// checked; trailing bytes after the signature data (quotes are often zero-padded) are ignored and excluded from
/// `signedContentHash`.
library TdxQuote {
    error QuoteTooShort(uint256 length);
    error UnsupportedQuoteVersion(uint16 version);
    error UnsupportedAttestationKeyType(uint16 keyType);
    error NotTdxQuote(uint32 teeType);
    error NotIntelQuotingEnclave(bytes16 vendorId);
    error UnsupportedCertificationType(uint16 certificationType);
    error CertificationDataSizeMismatch(uint256 declared, uint256 actual);
    error SignatureDataTooShort(uint256 declared);
    error UnsupportedBodyType(uint16 bodyType, uint32 bodySize);

    bytes16 internal constant INTEL_QE_VENDOR_ID = 0x939a7233f79c4ca9940a0db3957f0607;
    uint32 internal constant TEE_TYPE_TDX = 0x81;
    uint256 internal constant HEADER_LENGTH = 48;
    uint256 internal constant TD10_BODY_LENGTH = 584;
    uint256 internal constant TD15_BODY_LENGTH = 648;
    uint256 internal constant QE_REPORT_LENGTH = 384;
    /// Smallest quote that can hold a header, a body and the fixed part of the signature data.
    uint256 internal constant MIN_LENGTH = HEADER_LENGTH + TD10_BODY_LENGTH + 4 + 134;

    // TD report fields, relative to the body.
    uint256 internal constant TEE_TCB_SVN = 0;
    uint256 internal constant MR_SIGNER_SEAM = 64;
    uint256 internal constant SEAM_ATTRIBUTES = 112;
    uint256 internal constant TD_ATTRIBUTES = 120;
    uint256 internal constant XFAM = 128;
    uint256 internal constant MR_TD = 136;
    uint256 internal constant MR_CONFIG_ID = 184;
    uint256 internal constant MR_OWNER = 232;
    uint256 internal constant MR_OWNER_CONFIG = 280;
    uint256 internal constant RTMR0 = 328;
    uint256 internal constant REPORT_DATA = 520;
    /// TD report 1.5 only: after TEE_TCB_SVN2 (16 bytes at 584).
    uint256 internal constant MR_SERVICE_TD = 600;

    struct Quote {
        uint16 version;
        /// Offset of the TD report.
        uint256 body;
        /// Length of what the attestation key signs (header, v5 body descriptor, body).
        uint256 signedLength;
        bytes32 signedHash; // sha256(quote[0:signedLength])
        bytes32 signatureR;
        bytes32 signatureS;
        bytes32 attestationKeyX;
        bytes32 attestationKeyY;
        uint256 qeReport; // offset of the 384-byte QE report
        bytes32 qeReportSignatureR;
        bytes32 qeReportSignatureS;
        uint256 qeAuthData;
        uint256 qeAuthDataLength;
        uint256 pckChain; // offset of the PEM PCK certificate chain
        uint256 pckChainEnd;
        /// End of the signature data: everything any signature or check covers.
        uint256 end;
        /// keccak256 of the signed content (header ‖ body): identifies the quote for replay guards. Neither padding,
        /// a trailing separator nor a malleated (r, n − s) signature changes it.
        bytes32 signedContentHash;
    }

    /// @notice Parses the header and signature data; checks the header and the certification data layout.
    function parse(bytes memory quote) internal view returns (Quote memory q) {
        if (quote.length < MIN_LENGTH) revert QuoteTooShort(quote.length);
        q.version = _checkHeader(quote);
        if (q.version == 4) {
            (q.body, q.signedLength) = (HEADER_LENGTH, HEADER_LENGTH + TD10_BODY_LENGTH);
        } else {
            uint16 bodyType = _u16(quote, HEADER_LENGTH);
            uint32 bodySize = _u32(quote, HEADER_LENGTH + 2);
            if (!(bodyType == 2 && bodySize == TD10_BODY_LENGTH) && !(bodyType == 3 && bodySize == TD15_BODY_LENGTH)) {
                revert UnsupportedBodyType(bodyType, bodySize);
            }
            (q.body, q.signedLength) = (HEADER_LENGTH + 6, HEADER_LENGTH + 6 + bodySize);
        }
        if (quote.length < q.signedLength + 4 + 134) revert QuoteTooShort(quote.length);

        uint256 s = q.signedLength + 4;
        uint256 signatureDataLength = _u32(quote, q.signedLength);
        q.end = s + signatureDataLength;
        if (signatureDataLength < 134 + QE_REPORT_LENGTH + 66 || q.end > quote.length) {
            revert SignatureDataTooShort(signatureDataLength);
        }
        q.signatureR = _word(quote, s);
        q.signatureS = _word(quote, s + 32);
        q.attestationKeyX = _word(quote, s + 64);
        q.attestationKeyY = _word(quote, s + 96);
        _parseCertificationData(quote, q, s);

        q.signedHash = _sha256(quote, 0, q.signedLength);
        uint256 signedLength = q.signedLength;
        bytes32 contentHash;
        assembly ("memory-safe") {
            contentHash := keccak256(add(quote, 0x20), signedLength)
        }
        q.signedContentHash = contentHash;
    }

    function _checkHeader(bytes memory quote) private pure returns (uint16 version) {
        version = _u16(quote, 0);
        if (version != 4 && version != 5) revert UnsupportedQuoteVersion(version);
        uint16 keyType = _u16(quote, 2);
        if (keyType != 2) revert UnsupportedAttestationKeyType(keyType);
        uint32 teeType = _u32(quote, 4);
        if (teeType != TEE_TYPE_TDX) revert NotTdxQuote(teeType);
        bytes16 vendor = bytes16(_word(quote, 12));
        if (vendor != INTEL_QE_VENDOR_ID) revert NotIntelQuotingEnclave(vendor);
    }

    /// @dev Type 6 (QE report certification data) wrapping type 5 (PEM PCK chain), sizes consistent to the byte.
    function _parseCertificationData(bytes memory quote, Quote memory q, uint256 s) private pure {
        uint16 outerType = _u16(quote, s + 128);
        if (outerType != 6) revert UnsupportedCertificationType(outerType);
        uint256 outerSize = _u32(quote, s + 130);
        q.qeReport = s + 134;
        q.qeReportSignatureR = _word(quote, q.qeReport + QE_REPORT_LENGTH);
        q.qeReportSignatureS = _word(quote, q.qeReport + QE_REPORT_LENGTH + 32);
        uint256 cursor = q.qeReport + QE_REPORT_LENGTH + 64;
        q.qeAuthDataLength = _u16(quote, cursor);
        q.qeAuthData = cursor + 2;
        cursor = q.qeAuthData + q.qeAuthDataLength;
        if (cursor + 6 > q.end) revert SignatureDataTooShort(q.end - s);
        uint16 innerType = _u16(quote, cursor);
        if (innerType != 5) revert UnsupportedCertificationType(innerType);
        q.pckChain = cursor + 6;
        q.pckChainEnd = q.pckChain + _u32(quote, cursor + 2);
        if (q.pckChainEnd - q.qeReport != outerSize) {
            revert CertificationDataSizeMismatch(outerSize, q.pckChainEnd - q.qeReport);
        }
        if (q.pckChainEnd != q.end) revert CertificationDataSizeMismatch(q.end - s, q.pckChainEnd - s);
    }

    /// @notice The absolute offset of a TD report field.
    function field(Quote memory q, uint256 relative) internal pure returns (uint256) {
        return q.body + relative;
    }

    /// @notice The TD report fields of a body of `bodyLength` bytes starting at `body` in `data` (a quote, or a
    /// verifier's output that embeds the raw body). TCB status, FMSPC and quote id are left to the caller.
    function readReport(bytes memory data, uint256 body, uint256 bodyLength)
        internal
        pure
        returns (TdxReport memory r)
    {
        r.teeTcbSvn = bytes16(_word(data, body + TEE_TCB_SVN));
        r.tdAttributes = bytes8(_word(data, body + TD_ATTRIBUTES));
        r.xfam = bytes8(_word(data, body + XFAM));
        r.mrTd = slice(data, body + MR_TD, 48);
        r.mrConfigId = slice(data, body + MR_CONFIG_ID, 48);
        r.rtmr0 = slice(data, body + RTMR0, 48);
        r.rtmr1 = slice(data, body + RTMR0 + 48, 48);
        r.rtmr2 = slice(data, body + RTMR0 + 96, 48);
        r.rtmr3 = slice(data, body + RTMR0 + 144, 48);
        r.reportData = slice(data, body + REPORT_DATA, 64);
        bytes memory mrServiceTd =
            bodyLength == TD15_BODY_LENGTH ? slice(data, body + MR_SERVICE_TD, 48) : new bytes(48);
        r.tdConfig = keccak256(
            abi.encodePacked(
                r.xfam,
                r.mrConfigId,
                slice(data, body + MR_OWNER, 48),
                slice(data, body + MR_OWNER_CONFIG, 48),
                mrServiceTd
            )
        );
    }

    /// @notice A copy of `data[start:start + length]`.
    function slice(bytes memory data, uint256 start, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(data, 0x20), start), length)
        }
    }

    /// @notice sha256 of the QE report (what the PCK key signs).
    function qeReportHash(bytes memory quote, Quote memory q) internal view returns (bytes32) {
        return _sha256(quote, q.qeReport, QE_REPORT_LENGTH);
    }

    /// @notice sha256(attestation key ‖ QE auth data): what the QE report data must start with.
    function qeBindingHash(bytes memory quote, Quote memory q) internal pure returns (bytes32) {
        bytes memory preimage = new bytes(64 + q.qeAuthDataLength);
        uint256 auth = q.qeAuthData;
        uint256 authLength = q.qeAuthDataLength;
        bytes32 x = q.attestationKeyX;
        bytes32 y = q.attestationKeyY;
        assembly ("memory-safe") {
            let dst := add(preimage, 0x20)
            mstore(dst, x)
            mstore(add(dst, 0x20), y)
            mcopy(add(dst, 0x40), add(add(quote, 0x20), auth), authLength)
        }
        return sha256(preimage);
    }

    /// @notice A 32-byte word at `offset` (big-endian, as bytes appear).
    function _word(bytes memory data, uint256 offset) internal pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(data, 0x20), offset))
        }
    }

    /// @notice Little-endian u16 at `offset`.
    function _u16(bytes memory data, uint256 offset) internal pure returns (uint16) {
        return uint16(uint8(data[offset])) | (uint16(uint8(data[offset + 1])) << 8);
    }

    /// @notice Little-endian u32 at `offset`.
    function _u32(bytes memory data, uint256 offset) internal pure returns (uint32) {
        return uint32(_u16(data, offset)) | (uint32(_u16(data, offset + 2)) << 16);
    }

    function _sha256(bytes memory data, uint256 offset, uint256 length) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            if iszero(staticcall(gas(), 0x02, add(add(data, 0x20), offset), length, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }
}
