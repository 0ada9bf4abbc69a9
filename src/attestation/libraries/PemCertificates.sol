// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base64Strict} from "./Base64Strict.sol";

/// @title PemCertificates
/// @notice Splits a PEM certificate chain ("-----BEGIN CERTIFICATE-----\n" base64 "\n-----END CERTIFICATE-----")
/// into the base64 ranges of its certificates, and decodes one of them.
library PemCertificates {
    error MalformedPem(uint256 offset);
    error WrongCertificateCount(uint256 found, uint256 expected);

    bytes32 private constant BEGIN_HASH = keccak256("-----BEGIN CERTIFICATE-----");
    bytes32 private constant END_HASH = keccak256("-----END CERTIFICATE-----");
    uint256 private constant BEGIN_LENGTH = 27;
    uint256 private constant END_LENGTH = 25;

    /// @notice A certificate's base64 body inside the PEM buffer.
    struct Range {
        uint256 start;
        uint256 end;
    }

    /// @notice The base64 bodies of exactly `count` certificates in `pem[start:end]`. Whitespace (line feeds) may
    /// separate blocks; a trailing NUL (as DCAP quotes carry) ends the text.
    function split(bytes memory pem, uint256 start, uint256 end, uint256 count)
        internal
        pure
        returns (Range[] memory ranges)
    {
        if (end > pem.length || start > end) revert MalformedPem(start);
        ranges = new Range[](count);
        uint256 found;
        uint256 i = start;
        while (true) {
            i = _skipSeparators(pem, i, end);
            if (i == end || pem[i] == 0x00) break;
            if (found == count) revert WrongCertificateCount(found + 1, count);
            if (i + BEGIN_LENGTH > end || _hash(pem, i, BEGIN_LENGTH) != BEGIN_HASH) revert MalformedPem(i);
            uint256 bodyStart = i + BEGIN_LENGTH;
            if (bodyStart < end && pem[bodyStart] == 0x0a) ++bodyStart;
            uint256 bodyEnd = _findEnd(pem, bodyStart, end);
            if (bodyEnd + END_LENGTH > end || _hash(pem, bodyEnd, END_LENGTH) != END_HASH) {
                revert MalformedPem(bodyEnd);
            }
            ranges[found++] = Range(bodyStart, bodyEnd);
            i = bodyEnd + END_LENGTH;
        }
        // Only NUL bytes may follow the terminating NUL.
        for (; i < end; ++i) {
            if (pem[i] != 0x00) revert MalformedPem(i);
        }
        if (found != count) revert WrongCertificateCount(found, count);
    }

    /// @notice The DER bytes of one certificate.
    function decode(bytes memory pem, Range memory range) internal pure returns (bytes memory) {
        return Base64Strict.decode(pem, range.start, range.end);
    }

    /// @notice keccak256 of a certificate's base64 body (a cache key that needs no decoding).
    function bodyHash(bytes memory pem, Range memory range) internal pure returns (bytes32) {
        return _hash(pem, range.start, range.end - range.start);
    }

    function _skipSeparators(bytes memory pem, uint256 i, uint256 end) private pure returns (uint256) {
        while (i < end && (pem[i] == 0x0a || pem[i] == 0x0d || pem[i] == 0x20)) ++i;
        return i;
    }

    /// @dev The '-' that starts the END line. Lines of a PEM body are 64 characters plus a line feed, so the
    /// search jumps a line at a time and only scans the last one (any other layout fails base64 decoding later).
    function _findEnd(bytes memory pem, uint256 from, uint256 end) private pure returns (uint256) {
        uint256 i = from;
        while (i + 64 < end && pem[i + 64] == 0x0a && pem[i] != 0x2d) {
            i += 65;
        }
        for (; i < end; ++i) {
            if (pem[i] == 0x2d) return i;
        }
        revert MalformedPem(end);
    }

    function _hash(bytes memory data, uint256 start, uint256 length) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(add(add(data, 0x20), start), length)
        }
    }
}
