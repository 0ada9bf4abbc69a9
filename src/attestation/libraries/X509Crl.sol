// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Der} from "./Der.sol";
import {X509} from "./X509.sol";

/// @title X509Crl
/// @notice Parses the X.509 v2 CRLs of Intel's SGX PKI (ecdsa-with-SHA256): the signed TBS hash, issuer, update
/// window, authority key id and revoked serial numbers.
library X509Crl {
    using Der for bytes;

    error MalformedCrl(uint256 offset);

    struct Crl {
        bytes32 tbsHash;
        bytes32 signatureR;
        bytes32 signatureS;
        bytes32 issuerHash;
        bytes32 authorityKeyId;
        uint64 thisUpdate;
        uint64 nextUpdate;
        uint256[] revokedSerials;
    }

    function parse(bytes memory der) internal view returns (Crl memory crl) {
        Der.Node memory list = der.expect(0, der.length, Der.SEQUENCE);
        if (list.end != der.length) revert MalformedCrl(list.end);
        Der.Node memory tbs = der.expect(list.contentStart, list.end, Der.SEQUENCE);
        crl.tbsHash = der.nodeSha256(tbs);
        Der.Node memory algorithm = der.expect(tbs.end, list.end, Der.SEQUENCE);
        _requireEcdsaSha256(der, algorithm);
        Der.Node memory signature = der.expect(algorithm.end, list.end, Der.BIT_STRING);
        if (signature.end != list.end) revert MalformedCrl(signature.end);
        (crl.signatureR, crl.signatureS) = _signature(der, signature);

        Der.Node memory node = der.firstChild(tbs);
        if (node.tag == Der.INTEGER) {
            if (der.toUint(node) != 1) revert MalformedCrl(node.start); // v2
            node = der.next(node, tbs);
        }
        if (node.tag != Der.SEQUENCE) revert MalformedCrl(node.start);
        _requireEcdsaSha256(der, node);
        node = der.expect(node.end, tbs.end, Der.SEQUENCE);
        crl.issuerHash = der.nodeHash(node);
        node = der.next(node, tbs);
        crl.thisUpdate = X509.readTime(der, node);
        node = der.next(node, tbs);
        crl.nextUpdate = X509.readTime(der, node); // Intel CRLs always carry nextUpdate; freshness depends on it
        if (node.end == tbs.end) return crl;
        node = der.next(node, tbs);
        if (node.tag == Der.SEQUENCE) {
            crl.revokedSerials = _revoked(der, node);
            if (node.end == tbs.end) return crl;
            node = der.next(node, tbs);
        }
        if (node.tag != 0xa0 || node.end != tbs.end) revert MalformedCrl(node.start);
        crl.authorityKeyId = _authorityKeyId(der, der.expect(node.contentStart, node.end, Der.SEQUENCE));
    }

    function _revoked(bytes memory der, Der.Node memory entries) private pure returns (uint256[] memory serials) {
        uint256 count;
        for (uint256 offset = entries.contentStart; offset < entries.end; ++count) {
            offset = der.expect(offset, entries.end, Der.SEQUENCE).end;
        }
        serials = new uint256[](count);
        uint256 i;
        for (uint256 offset = entries.contentStart; offset < entries.end; ++i) {
            Der.Node memory entry = der.expect(offset, entries.end, Der.SEQUENCE);
            offset = entry.end;
            serials[i] = der.toUint(der.expect(entry.contentStart, entry.end, Der.INTEGER));
        }
    }

    function _authorityKeyId(bytes memory der, Der.Node memory extensions) private pure returns (bytes32) {
        for (uint256 offset = extensions.contentStart; offset < extensions.end;) {
            Der.Node memory extension = der.expect(offset, extensions.end, Der.SEQUENCE);
            offset = extension.end;
            Der.Node memory oid = der.expect(extension.contentStart, extension.end, Der.OID);
            if (!der.contentEquals(oid, X509.AUTHORITY_KEY_ID)) continue;
            Der.Node memory value = der.read(oid.end, extension.end);
            if (value.tag == Der.BOOLEAN) value = der.read(value.end, extension.end);
            Der.Node memory aki = der.expect(value.contentStart, value.end, Der.SEQUENCE);
            Der.Node memory keyId = der.read(aki.contentStart, aki.end);
            if (keyId.tag != 0x80 || keyId.end == keyId.contentStart) revert MalformedCrl(keyId.start);
            return der.contentHash(keyId);
        }
        revert MalformedCrl(extensions.start);
    }

    function _signature(bytes memory der, Der.Node memory bitString) private pure returns (bytes32 r, bytes32 s) {
        if (bitString.end == bitString.contentStart || uint8(der[bitString.contentStart]) != 0) {
            revert MalformedCrl(bitString.start);
        }
        Der.Node memory sequence = der.expect(bitString.contentStart + 1, bitString.end, Der.SEQUENCE);
        Der.Node memory rNode = der.expect(sequence.contentStart, sequence.end, Der.INTEGER);
        Der.Node memory sNode = der.expect(rNode.end, sequence.end, Der.INTEGER);
        return (bytes32(der.toUint(rNode)), bytes32(der.toUint(sNode)));
    }

    function _requireEcdsaSha256(bytes memory der, Der.Node memory algorithm) private pure {
        Der.Node memory oid = der.expect(algorithm.contentStart, algorithm.end, Der.OID);
        if (oid.end != algorithm.end || !der.contentEquals(oid, X509.ECDSA_WITH_SHA256)) {
            revert X509.UnsupportedAlgorithm(algorithm.start);
        }
    }
}
