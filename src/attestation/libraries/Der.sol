// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Der
/// @notice Minimal DER reader over a memory buffer: one TLV at a time, every length checked against its parent.
/// @dev A node is addressed by the offset of its tag byte. Only definite lengths of at most 4 bytes are accepted
/// (DER forbids the indefinite form; nothing in an X.509 certificate or CRL needs more).
library Der {
    error MalformedDer(uint256 offset);
    error UnexpectedTag(uint256 offset, uint8 expected, uint8 found);

    uint8 internal constant BOOLEAN = 0x01;
    uint8 internal constant INTEGER = 0x02;
    uint8 internal constant BIT_STRING = 0x03;
    uint8 internal constant OCTET_STRING = 0x04;
    uint8 internal constant OID = 0x06;
    uint8 internal constant ENUMERATED = 0x0a;
    uint8 internal constant UTC_TIME = 0x17;
    uint8 internal constant GENERALIZED_TIME = 0x18;
    uint8 internal constant SEQUENCE = 0x30;
    uint8 internal constant SET = 0x31;

    /// @notice A decoded TLV: where it starts, where its content starts, where it ends (exclusive).
    struct Node {
        uint8 tag;
        uint256 start;
        uint256 contentStart;
        uint256 end;
    }

    /// @notice Reads the TLV at `offset`, which must end within `limit`.
    function read(bytes memory der, uint256 offset, uint256 limit) internal pure returns (Node memory node) {
        if (limit > der.length || offset + 2 > limit) revert MalformedDer(offset);
        node.tag = uint8(der[offset]);
        // High-tag-number form never appears in the structures read here.
        if (node.tag & 0x1f == 0x1f) revert MalformedDer(offset);
        uint256 first = uint8(der[offset + 1]);
        uint256 length;
        uint256 content = offset + 2;
        if (first < 0x80) {
            length = first;
        } else {
            uint256 count = first & 0x7f;
            if (count == 0 || count > 4 || content + count > limit) revert MalformedDer(offset);
            for (uint256 i; i < count; ++i) {
                length = (length << 8) | uint8(der[content + i]);
            }
            content += count;
            // DER: the shortest form only.
            if (length < 0x80 || uint8(der[offset + 2]) == 0) revert MalformedDer(offset);
        }
        if (content + length > limit) revert MalformedDer(offset);
        node.start = offset;
        node.contentStart = content;
        node.end = content + length;
    }

    /// @notice Reads the TLV at `offset` and requires its tag.
    function expect(bytes memory der, uint256 offset, uint256 limit, uint8 tag) internal pure returns (Node memory n) {
        n = read(der, offset, limit);
        if (n.tag != tag) revert UnexpectedTag(offset, tag, n.tag);
    }

    /// @notice The first child of a constructed node.
    function firstChild(bytes memory der, Node memory parent) internal pure returns (Node memory) {
        return read(der, parent.contentStart, parent.end);
    }

    /// @notice The node after `node` inside `parent`.
    function next(bytes memory der, Node memory node, Node memory parent) internal pure returns (Node memory) {
        return read(der, node.end, parent.end);
    }

    /// @notice keccak256 of a node's content.
    function contentHash(bytes memory der, Node memory node) internal pure returns (bytes32 h) {
        uint256 start = node.contentStart;
        uint256 length = node.end - start;
        assembly ("memory-safe") {
            h := keccak256(add(add(der, 0x20), start), length)
        }
    }

    /// @notice keccak256 of a whole node (tag, length and content).
    function nodeHash(bytes memory der, Node memory node) internal pure returns (bytes32 h) {
        uint256 start = node.start;
        uint256 length = node.end - start;
        assembly ("memory-safe") {
            h := keccak256(add(add(der, 0x20), start), length)
        }
    }

    /// @notice sha256 of a whole node (what an X.509 signature covers for the TBS).
    function nodeSha256(bytes memory der, Node memory node) internal view returns (bytes32 h) {
        uint256 start = node.start;
        uint256 length = node.end - start;
        assembly ("memory-safe") {
            if iszero(staticcall(gas(), 0x02, add(add(der, 0x20), start), length, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @notice The content of a node as an unsigned integer, for contents of at most 32 bytes (after a leading 0x00
    /// that keeps a DER INTEGER positive).
    function toUint(bytes memory der, Node memory node) internal pure returns (uint256 value) {
        uint256 start = node.contentStart;
        uint256 length = node.end - start;
        if (length == 0) revert MalformedDer(node.start);
        if (length == 33 && uint8(der[start]) == 0) {
            ++start;
            --length;
        }
        if (length > 32) revert MalformedDer(node.start);
        assembly ("memory-safe") {
            value := shr(shl(3, sub(32, length)), mload(add(add(der, 0x20), start)))
        }
    }

    /// @notice Up to 32 bytes of content, left-aligned.
    function toBytes32(bytes memory der, Node memory node) internal pure returns (bytes32 value) {
        uint256 start = node.contentStart;
        uint256 length = node.end - start;
        if (length > 32) revert MalformedDer(node.start);
        assembly ("memory-safe") {
            value := and(mload(add(add(der, 0x20), start)), not(shr(shl(3, length), not(0))))
        }
    }

    /// @notice Whether a node's content equals `expected` (for OIDs and fixed encodings).
    function contentEquals(bytes memory der, Node memory node, bytes memory expected) internal pure returns (bool) {
        return node.end - node.contentStart == expected.length && contentHash(der, node) == keccak256(expected);
    }
}
