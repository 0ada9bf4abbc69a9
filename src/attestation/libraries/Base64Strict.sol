// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base64} from "solady/utils/Base64.sol";

/// @title Base64Strict
/// @notice Decodes the base64 body of a PEM block (RFC 7468: 64-character lines separated by line feeds) and
/// accepts only the canonical encoding: the decoded bytes must re-encode to exactly the input characters. So any
/// character outside the alphabet, misplaced padding, stray bits or an irregular line makes decoding revert, and a
/// flipped character can never decode to the same bytes.
/// @dev Canonicality by re-encoding keeps the work in solady's word-at-a-time codec (≈15 gas per character) instead
/// of a byte loop with per-character checks (≈300).
library Base64Strict {
    error InvalidBase64(uint256 offset);

    uint256 internal constant LINE = 64;

    /// @notice Decodes `data[start:end]`, a PEM body whose lines (but the last) are exactly 64 characters.
    function decode(bytes memory data, uint256 start, uint256 end) internal pure returns (bytes memory out) {
        if (end > data.length || start > end) revert InvalidBase64(start);
        string memory text = _joinLines(data, start, end);
        if (bytes(text).length % 4 != 0) revert InvalidBase64(end);
        out = Base64.decode(text);
        if (keccak256(bytes(Base64.encode(out))) != keccak256(bytes(text))) revert InvalidBase64(start);
    }

    /// @dev Copies the characters without the line feed that ends each full line. A line feed anywhere else is
    /// copied as is and then fails the canonical check.
    function _joinLines(bytes memory data, uint256 start, uint256 end) private pure returns (string memory text) {
        bytes memory joined = new bytes(end - start);
        uint256 length;
        uint256 i = start;
        while (i < end) {
            uint256 take = end - i;
            uint256 skip;
            if (take > LINE && data[i + LINE] == 0x0a) {
                (take, skip) = (LINE, 1);
            } else if (data[end - 1] == 0x0a) {
                // The last line, with its line feed.
                (take, skip) = (take - 1, 1);
            }
            assembly ("memory-safe") {
                mcopy(add(add(joined, 0x20), length), add(add(data, 0x20), i), take)
            }
            length += take;
            i += take + skip;
        }
        assembly ("memory-safe") {
            mstore(joined, length)
        }
        return string(joined);
    }
}
