// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Der} from "./Der.sol";

/// @title SgxExtension
/// @notice Reads the Intel SGX extension (1.2.840.113741.1.13.1) of a PCK certificate: FMSPC, PCE-ID, the 16 SGX
/// TCB component SVNs and the PCESVN.
library SgxExtension {
    using Der for bytes;

    error MalformedSgxExtension(uint256 offset);

    /// 1.2.840.113741.1.13.1 and its arcs .2 (TCB), .3 (PCE-ID), .4 (FMSPC)
    bytes internal constant TCB = hex"2a864886f84d010d0102";
    bytes internal constant PCE_ID = hex"2a864886f84d010d0103";
    bytes internal constant FMSPC = hex"2a864886f84d010d0104";

    struct Values {
        bytes6 fmspc;
        bytes2 pceId;
        /// Component i in byte i.
        bytes16 cpuSvn;
        uint16 pceSvn;
    }

    /// @notice Parses the extension whose OCTET STRING content is `der[start:end]`.
    function parse(bytes memory der, uint256 start, uint256 end) internal pure returns (Values memory v) {
        if (start == end) revert MalformedSgxExtension(start);
        Der.Node memory root = der.expect(start, end, Der.SEQUENCE);
        bool seenTcb;
        bool seenFmspc;
        bool seenPceId;
        for (uint256 offset = root.contentStart; offset < root.end;) {
            Der.Node memory entry = der.expect(offset, root.end, Der.SEQUENCE);
            offset = entry.end;
            Der.Node memory oid = der.expect(entry.contentStart, entry.end, Der.OID);
            Der.Node memory value = der.read(oid.end, entry.end);
            if (der.contentEquals(oid, FMSPC)) {
                if (value.tag != Der.OCTET_STRING || value.end - value.contentStart != 6) {
                    revert MalformedSgxExtension(value.start);
                }
                v.fmspc = bytes6(der.toBytes32(value));
                seenFmspc = true;
            } else if (der.contentEquals(oid, PCE_ID)) {
                if (value.tag != Der.OCTET_STRING || value.end - value.contentStart != 2) {
                    revert MalformedSgxExtension(value.start);
                }
                v.pceId = bytes2(der.toBytes32(value));
                seenPceId = true;
            } else if (der.contentEquals(oid, TCB)) {
                if (value.tag != Der.SEQUENCE) revert MalformedSgxExtension(value.start);
                (v.cpuSvn, v.pceSvn) = _tcb(der, value);
                seenTcb = true;
            }
        }
        if (!(seenTcb && seenFmspc && seenPceId)) revert MalformedSgxExtension(start);
    }

    /// @dev SEQUENCE of (OID .2.n, INTEGER) for n = 1..16 (components) and 17 (PCESVN), then .2.18 CPUSVN.
    function _tcb(bytes memory der, Der.Node memory tcb) private pure returns (bytes16 cpuSvn, uint16 pceSvn) {
        uint256 seen;
        for (uint256 offset = tcb.contentStart; offset < tcb.end;) {
            Der.Node memory entry = der.expect(offset, tcb.end, Der.SEQUENCE);
            offset = entry.end;
            Der.Node memory oid = der.expect(entry.contentStart, entry.end, Der.OID);
            Der.Node memory value = der.read(oid.end, entry.end);
            // Arc .2.n: the TCB OID plus one more byte n.
            if (oid.end - oid.contentStart != TCB.length + 1) revert MalformedSgxExtension(oid.start);
            uint256 n = uint8(der[oid.end - 1]);
            if (n >= 1 && n <= 16) {
                if (value.tag != Der.INTEGER) revert MalformedSgxExtension(value.start);
                uint256 svn = der.toUint(value);
                if (svn > 255) revert MalformedSgxExtension(value.start);
                // forge-lint: disable-next-line(unsafe-typecast): svn ≤ 255 is checked on the line above
                cpuSvn |= bytes16(bytes1(uint8(svn))) >> (8 * (n - 1));
                seen |= uint256(1) << n;
            } else if (n == 17) {
                if (value.tag != Der.INTEGER) revert MalformedSgxExtension(value.start);
                uint256 svn = der.toUint(value);
                if (svn > type(uint16).max) revert MalformedSgxExtension(value.start);
                // forge-lint: disable-next-line(unsafe-typecast): svn ≤ type(uint16).max is checked on the line above
                pceSvn = uint16(svn);
                seen |= uint256(1) << n;
            }
        }
        if (seen != 0x3fffe) revert MalformedSgxExtension(tcb.start); // components 1..16 and PCESVN
    }
}
