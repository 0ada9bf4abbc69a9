// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {JSONParserLib} from "solady/utils/JSONParserLib.sol";
import {DateTimeLib} from "solady/utils/DateTimeLib.sol";
import {IsvLevel, QeIdentity, TcbInfo, TcbLevel, TcbStatus, TdxModuleIdentity} from "../types/Dcap.sol";

/// @title IntelCollateralJson
/// @notice Reads Intel's signed TDX TCB info (version 3) and TD_QE identity (version 2) JSON into storage, once, at
/// submission; quote verification then only reads packed storage. Unknown fields are ignored; every field the
/// verification uses must be present and well-formed, except the TCB info's "tdxModuleIdentities", which Intel's
/// format makes optional (without it, only version-0 TDX modules can be evaluated: see DcapTdxVerifier).
library IntelCollateralJson {
    using JSONParserLib for JSONParserLib.Item;
    using JSONParserLib for string;

    error MissingField(string field);
    error UnexpectedValue(string field);

    /// @notice The FMSPC, validity window and TCB evaluation number of a TCB info JSON, to decide where (and
    /// whether) to store it. Public (linked, not inlined) like the writers, so no JSON parsing code is in the caller.
    function tcbInfoHeader(string memory json)
        public
        pure
        returns (bytes6 fmspc, uint64 issueDate, uint64 nextUpdate, uint32 evaluationDataNumber)
    {
        JSONParserLib.Item memory root = json.parse();
        return (
            bytes6(_hexFixed(root, '"fmspc"', 6)),
            _date(root, '"issueDate"'),
            _date(root, '"nextUpdate"'),
            _uint32(root, '"tcbEvaluationDataNumber"')
        );
    }

    /// @notice Parses a TCB info JSON into `info` (cleared first) and returns its FMSPC.
    function writeTcbInfo(TcbInfo storage info, string memory json) public returns (bytes6 fmspc) {
        JSONParserLib.Item memory root = json.parse();
        if (keccak256(bytes(_string(root, '"id"'))) != keccak256("TDX")) revert UnexpectedValue("id");
        if (_uint(root, '"version"') != 3) revert UnexpectedValue("version");
        fmspc = bytes6(_hexFixed(root, '"fmspc"', 6));
        info.issueDate = _date(root, '"issueDate"');
        info.nextUpdate = _date(root, '"nextUpdate"');
        info.evaluationDataNumber = _uint32(root, '"tcbEvaluationDataNumber"');
        info.pceId = bytes2(_hexFixed(root, '"pceId"', 2));

        delete info.levels;
        JSONParserLib.Item[] memory levels = _field(root, '"tcbLevels"').children();
        for (uint256 i; i < levels.length; ++i) {
            JSONParserLib.Item memory tcb = _field(levels[i], '"tcb"');
            info.levels
                .push(
                    TcbLevel({
                        sgxComponents: _components(tcb, '"sgxtcbcomponents"'),
                        tdxComponents: _components(tcb, '"tdxtcbcomponents"'),
                        pceSvn: uint16(_uint(tcb, '"pcesvn"')),
                        status: _status(levels[i])
                    })
                );
        }

        delete info.modules;
        // Version 0 modules are described by "tdxModule" (no levels); later versions by "tdxModuleIdentities", which
        // is optional: without it, the TCB info has no identity for any versioned module.
        _writeModule(info.modules.push(), _field(root, '"tdxModule"'), 0, false);
        JSONParserLib.Item memory identitiesItem = root.at('"tdxModuleIdentities"');
        if (identitiesItem.isUndefined()) return fmspc;
        if (!identitiesItem.isArray()) revert UnexpectedValue('"tdxModuleIdentities"');
        JSONParserLib.Item[] memory identities = identitiesItem.children();
        for (uint256 i; i < identities.length; ++i) {
            bytes memory id = bytes(_string(identities[i], '"id"'));
            // "TDX_%02x"
            if (id.length != 6 || keccak256(_slice(id, 0, 4)) != keccak256("TDX_")) revert UnexpectedValue("id");
            uint8 version = uint8(_hexNibble(id[4]) << 4 | _hexNibble(id[5]));
            _writeModule(info.modules.push(), identities[i], version, true);
        }
    }

    /// @notice Parses a TD_QE identity JSON into `qe` (cleared first).
    function writeQeIdentity(QeIdentity storage qe, string memory json) public {
        JSONParserLib.Item memory root = json.parse();
        if (keccak256(bytes(_string(root, '"id"'))) != keccak256("TD_QE")) revert UnexpectedValue("id");
        if (_uint(root, '"version"') != 2) revert UnexpectedValue("version");
        qe.issueDate = _date(root, '"issueDate"');
        qe.nextUpdate = _date(root, '"nextUpdate"');
        qe.evaluationDataNumber = _uint32(root, '"tcbEvaluationDataNumber"');
        qe.miscselect = bytes4(_hexFixed(root, '"miscselect"', 4));
        qe.miscselectMask = bytes4(_hexFixed(root, '"miscselectMask"', 4));
        qe.attributes = bytes16(_hexFixed(root, '"attributes"', 16));
        qe.attributesMask = bytes16(_hexFixed(root, '"attributesMask"', 16));
        qe.mrSigner = _hexFixed(root, '"mrsigner"', 32);
        qe.isvProdId = uint16(_uint(root, '"isvprodid"'));
        delete qe.levels;
        JSONParserLib.Item[] memory levels = _field(root, '"tcbLevels"').children();
        for (uint256 i; i < levels.length; ++i) {
            qe.levels.push(IsvLevel(uint16(_uint(_field(levels[i], '"tcb"'), '"isvsvn"')), _status(levels[i])));
        }
    }

    function _writeModule(TdxModuleIdentity storage m, JSONParserLib.Item memory item, uint8 version, bool hasLevels)
        private
    {
        m.version = version;
        m.mrSigner = _hex(item, '"mrsigner"');
        if (m.mrSigner.length != 48) revert UnexpectedValue("mrsigner");
        m.attributes = bytes8(_hexFixed(item, '"attributes"', 8));
        m.attributesMask = bytes8(_hexFixed(item, '"attributesMask"', 8));
        if (!hasLevels) return;
        JSONParserLib.Item[] memory levels = _field(item, '"tcbLevels"').children();
        for (uint256 i; i < levels.length; ++i) {
            m.levels.push(IsvLevel(uint16(_uint(_field(levels[i], '"tcb"'), '"isvsvn"')), _status(levels[i])));
        }
    }

    /// @dev The 16 component SVNs of `key` (an array of {"svn": n, ...}), component i in byte i.
    function _components(JSONParserLib.Item memory tcb, string memory key) private pure returns (bytes16 svns) {
        JSONParserLib.Item[] memory components = _field(tcb, key).children();
        if (components.length != 16) revert UnexpectedValue(key);
        for (uint256 i; i < 16; ++i) {
            uint256 svn = _uint(components[i], '"svn"');
            if (svn > 255) revert UnexpectedValue(key);
            // forge-lint: disable-next-line(unsafe-typecast): svn ≤ 255 is checked on the line above
            svns |= bytes16(bytes1(uint8(svn))) >> (8 * i);
        }
    }

    function _status(JSONParserLib.Item memory level) private pure returns (TcbStatus) {
        bytes32 s = keccak256(bytes(_string(level, '"tcbStatus"')));
        if (s == keccak256("UpToDate")) return TcbStatus.UpToDate;
        if (s == keccak256("SWHardeningNeeded")) return TcbStatus.SWHardeningNeeded;
        if (s == keccak256("ConfigurationAndSWHardeningNeeded")) return TcbStatus.ConfigurationAndSWHardeningNeeded;
        if (s == keccak256("ConfigurationNeeded")) return TcbStatus.ConfigurationNeeded;
        if (s == keccak256("OutOfDate")) return TcbStatus.OutOfDate;
        if (s == keccak256("OutOfDateConfigurationNeeded")) return TcbStatus.OutOfDateConfigurationNeeded;
        if (s == keccak256("Revoked")) return TcbStatus.Revoked;
        revert UnexpectedValue("tcbStatus");
    }

    function _field(JSONParserLib.Item memory item, string memory key)
        private
        pure
        returns (JSONParserLib.Item memory value)
    {
        value = item.at(key);
        if (value.isUndefined()) revert MissingField(key);
    }

    function _string(JSONParserLib.Item memory item, string memory key) private pure returns (string memory) {
        JSONParserLib.Item memory value = _field(item, key);
        if (!value.isString()) revert UnexpectedValue(key);
        return value.value().decodeString();
    }

    function _uint(JSONParserLib.Item memory item, string memory key) private pure returns (uint256) {
        JSONParserLib.Item memory value = _field(item, key);
        if (!value.isNumber()) revert UnexpectedValue(key);
        return value.value().parseUint();
    }

    /// @dev The evaluation number orders documents: it must fit its storage field, never be truncated into it.
    function _uint32(JSONParserLib.Item memory item, string memory key) private pure returns (uint32) {
        uint256 value = _uint(item, key);
        if (value > type(uint32).max) revert UnexpectedValue(key);
        // forge-lint: disable-next-line(unsafe-typecast): value ≤ type(uint32).max is checked on the line above
        return uint32(value);
    }

    function _hex(JSONParserLib.Item memory item, string memory key) private pure returns (bytes memory out) {
        bytes memory text = bytes(_string(item, key));
        if (text.length % 2 != 0) revert UnexpectedValue(key);
        out = new bytes(text.length / 2);
        for (uint256 i; i < out.length; ++i) {
            out[i] = bytes1(_hexNibble(text[2 * i]) << 4 | _hexNibble(text[2 * i + 1]));
        }
    }

    function _hexFixed(JSONParserLib.Item memory item, string memory key, uint256 length)
        private
        pure
        returns (bytes32 value)
    {
        bytes memory raw = _hex(item, key);
        if (raw.length != length) revert UnexpectedValue(key);
        assembly ("memory-safe") {
            value := mload(add(raw, 0x20))
        }
        value &= bytes32(~(type(uint256).max >> (8 * length)));
    }

    function _hexNibble(bytes1 c) private pure returns (uint8) {
        uint8 b = uint8(c);
        if (b >= 0x30 && b <= 0x39) return b - 0x30;
        if (b >= 0x41 && b <= 0x46) return b - 0x37;
        if (b >= 0x61 && b <= 0x66) return b - 0x57;
        revert UnexpectedValue("hex");
    }

    /// @dev "YYYY-MM-DDTHH:MM:SSZ" as unix seconds.
    function _date(JSONParserLib.Item memory item, string memory key) private pure returns (uint64) {
        bytes memory s = bytes(_string(item, key));
        if (
            s.length != 20 || s[4] != "-" || s[7] != "-" || s[10] != "T" || s[13] != ":" || s[16] != ":" || s[19] != "Z"
        ) {
            revert UnexpectedValue(key);
        }
        uint256 year = _digits(s, 0, 4);
        uint256 month = _digits(s, 5, 2);
        uint256 day = _digits(s, 8, 2);
        uint256 hour = _digits(s, 11, 2);
        uint256 minute = _digits(s, 14, 2);
        uint256 second = _digits(s, 17, 2);
        if (!DateTimeLib.isSupportedDateTime(year, month, day, hour, minute, second)) revert UnexpectedValue(key);
        return uint64(DateTimeLib.dateTimeToTimestamp(year, month, day, hour, minute, second));
    }

    function _digits(bytes memory s, uint256 start, uint256 count) private pure returns (uint256 value) {
        for (uint256 i; i < count; ++i) {
            uint8 d = uint8(s[start + i]);
            if (d < 0x30 || d > 0x39) revert UnexpectedValue("date");
            value = value * 10 + (d - 0x30);
        }
    }

    function _slice(bytes memory data, uint256 start, uint256 length) private pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = data[start + i];
        }
    }
}
