// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice TCB status of a platform, TDX module or QE, numbered as Automata's verifier numbers them.
enum TcbStatus {
    UpToDate,
    SWHardeningNeeded,
    ConfigurationAndSWHardeningNeeded,
    ConfigurationNeeded,
    OutOfDate,
    OutOfDateConfigurationNeeded,
    Revoked,
    Unrecognized,
    TDRelaunchAdvised,
    TDRelaunchAdvisedConfigurationNeeded
}

/// @notice What a verified TDX quote attests: the platform's TCB standing and the TD's measurements.
struct TdxReport {
    TcbStatus tcbStatus;
    bytes6 fmspc;
    bytes16 teeTcbSvn;
    /// TDATTRIBUTES as it appears in the quote (little-endian u64; byte 0 bit 0 = DEBUG).
    bytes8 tdAttributes;
    bytes8 xfam;
    bytes mrTd;
    bytes mrConfigId;
    bytes rtmr0;
    bytes rtmr1;
    bytes rtmr2;
    bytes rtmr3;
    bytes reportData;
    /// keccak256(XFAM ‖ MRCONFIGID ‖ MROWNER ‖ MROWNERCONFIG ‖ MRSERVICETD): the TD's configuration beyond its
    /// measurements (MRSERVICETD is 48 zero bytes in a TD 1.0 report). What a policy pins besides the measurement.
    bytes32 tdConfig;
    /// keccak256 of the quote's signed content (header ‖ body): a replay key no re-encoding of the quote changes.
    bytes32 quoteId;
}

/// @notice One platform TCB level of a TDX TCB info (two slots).
struct TcbLevel {
    bytes16 sgxComponents;
    bytes16 tdxComponents;
    uint16 pceSvn;
    TcbStatus status;
}

/// @notice One TCB level of a TDX module identity or of the QE identity.
struct IsvLevel {
    uint16 isvSvn;
    TcbStatus status;
}

/// @notice A TDX module identity ("TDX_01", ...) of a TCB info.
struct TdxModuleIdentity {
    uint8 version;
    bytes mrSigner; // 48 bytes
    bytes8 attributes;
    bytes8 attributesMask;
    IsvLevel[] levels;
}

/// @notice Intel-signed TDX TCB info for one FMSPC, pre-parsed.
struct TcbInfo {
    uint64 issueDate;
    uint64 nextUpdate;
    uint32 evaluationDataNumber;
    bytes2 pceId;
    /// Generation of the root CRL that showed the signing certificate unrevoked at submission; while it is still
    /// the current one, quote verification skips the signer's revocation lookup.
    uint32 signerCrlGeneration;
    TcbLevel[] levels;
    /// The version-0 module ("tdxModule") first, then one entry per "tdxModuleIdentities" element, if any.
    TdxModuleIdentity[] modules;
}

/// @notice Intel-signed TD_QE identity, pre-parsed.
struct QeIdentity {
    uint64 issueDate;
    uint64 nextUpdate;
    uint32 evaluationDataNumber;
    bytes4 miscselect;
    bytes4 miscselectMask;
    /// As TcbInfo.signerCrlGeneration.
    uint32 signerCrlGeneration;
    bytes16 attributes;
    bytes16 attributesMask;
    bytes32 mrSigner;
    uint16 isvProdId;
    IsvLevel[] levels;
}

/// @notice A CA certificate (PCK Platform/Processor CA or TCB Signing) verified against the root.
struct KnownCa {
    bytes32 subjectHash;
    bytes32 subjectKeyId;
    bytes32 publicKeyX;
    bytes32 publicKeyY;
    uint256 serialNumber;
    uint64 notBefore;
    uint64 notAfter;
}
