// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Clock} from "../libraries/Clock.sol";
import {IDcapCollateral} from "./interfaces/IDcapCollateral.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {P256Verifier} from "./libraries/P256Verifier.sol";
import {PemCertificates} from "./libraries/PemCertificates.sol";
import {SgxExtension} from "./libraries/SgxExtension.sol";
import {TdxQuote} from "./libraries/TdxQuote.sol";
import {X509} from "./libraries/X509.sol";
import {
    IsvLevel,
    KnownCa,
    QeIdentity,
    TcbInfo,
    TcbLevel,
    TcbStatus,
    TdxModuleIdentity,
    TdxReport
} from "./types/Dcap.sol";

/// @title DcapTdxVerifier
/// @notice Fully on-chain verification of Intel DCAP TDX quotes (v4, and v5 with TD report 1.0 or 1.5 bodies) against collateral held by
/// DcapCollateral: quote and QE report signatures, QE binding, the PCK chain up to the pinned root with validity and
/// revocation, QE identity (TD_QE), the platform TCB level for the PCK's FMSPC and SVNs, and the TDX module identity.
/// @dev The root and the PCK CA are recognised by the hash of their PEM text (both were verified when registered),
/// so a quote only decodes and parses its PCK leaf. The TCB info and QE identity in use must still be vouched for by
/// their TCB Signing certificate: one the current root CRL revokes makes verification fail
/// (IDcapCollateral.TcbInfoSignerRevoked / QeIdentitySignerRevoked).
/// TDX module (Intel's QVL logic): a version-0 module (TEE_TCB_SVN[1] == 0) is matched against the TCB info's
/// "tdxModule" (MRSIGNERSEAM, SEAMATTRIBUTES) and judged only by the TCB levels' tdxtcbcomponents, all 16 of them
/// including the module's own SVN; a versioned module is matched against and judged by its "TDX_%02x" identity, and
/// the TCB levels skip its two SVN bytes. A TCB info without "tdxModuleIdentities" is valid, but has no identity
/// for a versioned module: such a quote fails with TdxModuleIdentityMissing (Intel: TCB info / module mismatch)
/// rather than having its module go unjudged.
contract DcapTdxVerifier is IQuoteVerifier {
    error QuoteSignatureInvalid();
    error RootMismatch();
    error UnknownPckCa(bytes32 pemBodyHash);
    error PckIssuerMismatch();
    error PckSignatureInvalid();
    error CertificateNotValidNow(uint64 notBefore, uint64 notAfter);
    error QeReportSignatureInvalid();
    error QeReportBindingMismatch();
    error QeIdentityMissingOrExpired(uint64 issueDate, uint64 nextUpdate);
    error QeIdentityMismatch();
    error QeTcbLevelNotFound(uint16 isvSvn);
    error TcbInfoMissingOrExpired(bytes6 fmspc, uint64 issueDate, uint64 nextUpdate);
    error PceIdMismatch(bytes2 expected, bytes2 found);
    error TcbLevelNotFound(bytes6 fmspc);
    error TcbRevoked();
    /// The TCB info has no "TDX_%02x" identity for the quote's (non-zero) TDX module version, possibly none at all.
    error TdxModuleIdentityMissing(uint8 version);
    error TdxModuleMismatch();
    error TdxModuleTcbLevelNotFound(uint8 isvSvn);

    /// @notice Where the collateral comes from.
    IDcapCollateral public immutable collateral;

    constructor(IDcapCollateral collateral_) {
        collateral = collateral_;
    }

    /// @inheritdoc IQuoteVerifier
    function verifyTdxQuote(bytes calldata quoteCalldata) external view returns (TdxReport memory report) {
        bytes memory quote = quoteCalldata;
        TdxQuote.Quote memory q = TdxQuote.parse(quote);
        if (!P256Verifier.verify(q.signedHash, q.signatureR, q.signatureS, q.attestationKeyX, q.attestationKeyY)) {
            revert QuoteSignatureInvalid();
        }
        (bytes memory leafDer, X509.Certificate memory leaf) = _verifyPckChain(quote, q);
        if (!P256Verifier.verify(
                TdxQuote.qeReportHash(quote, q),
                q.qeReportSignatureR,
                q.qeReportSignatureS,
                leaf.publicKeyX,
                leaf.publicKeyY
            )) revert QeReportSignatureInvalid();
        if (
            TdxQuote._word(quote, q.qeReport + 320) != TdxQuote.qeBindingHash(quote, q)
                || TdxQuote._word(quote, q.qeReport + 352) != bytes32(0)
        ) revert QeReportBindingMismatch();

        SgxExtension.Values memory pck = SgxExtension.parse(leafDer, leaf.sgxExtensionStart, leaf.sgxExtensionEnd);
        collateral.checkCollateralSigners(pck.fmspc);
        TcbStatus qeStatus = _qeStatus(quote, q.qeReport);
        TcbStatus status = _converge(_tdxStatus(quote, q, pck), qeStatus);
        if (status == TcbStatus.Revoked) revert TcbRevoked();

        report = TdxQuote.readReport(quote, q.body, q.signedLength - q.body);
        report.quoteId = q.signedContentHash;
        report.tcbStatus = status;
        report.fmspc = pck.fmspc;
    }

    /// @dev Root and CA by their registered PEM text; the leaf decoded, parsed and checked against the CA.
    function _verifyPckChain(bytes memory quote, TdxQuote.Quote memory q)
        internal
        view
        returns (bytes memory leafDer, X509.Certificate memory leaf)
    {
        PemCertificates.Range[] memory chain = PemCertificates.split(quote, q.pckChain, q.pckChainEnd, 3);
        (,, bytes32 rootBodyHash, bytes32 rootSubjectHash) = collateral.root();
        if (PemCertificates.bodyHash(quote, chain[2]) != rootBodyHash) revert RootMismatch();
        bytes32 caBodyHash = PemCertificates.bodyHash(quote, chain[1]);
        KnownCa memory ca = collateral.knownCa(caBodyHash);
        if (ca.subjectHash == bytes32(0)) revert UnknownPckCa(caBodyHash);
        _requireValidNow(ca.notBefore, ca.notAfter);
        collateral.checkNotRevoked(rootSubjectHash, ca.serialNumber);

        leafDer = PemCertificates.decode(quote, chain[0]);
        leaf = X509.parse(leafDer);
        if (leaf.issuerHash != ca.subjectHash || leaf.authorityKeyId != ca.subjectKeyId) revert PckIssuerMismatch();
        if (!P256Verifier.verify(leaf.tbsHash, leaf.signatureR, leaf.signatureS, ca.publicKeyX, ca.publicKeyY)) {
            revert PckSignatureInvalid();
        }
        _requireValidNow(leaf.notBefore, leaf.notAfter);
        collateral.checkNotRevoked(ca.subjectHash, leaf.serialNumber);
    }

    /// @dev The QE report against the TD_QE identity; its TCB level by ISVSVN.
    function _qeStatus(bytes memory quote, uint256 report) internal view returns (TcbStatus) {
        QeIdentity memory qe = collateral.qeIdentity();
        if (Clock.timestamp() < qe.issueDate || Clock.timestamp() > qe.nextUpdate) {
            revert QeIdentityMissingOrExpired(qe.issueDate, qe.nextUpdate);
        }
        uint32 miscselect = TdxQuote._u32(quote, report + 16);
        bytes16 attributes = bytes16(TdxQuote._word(quote, report + 48));
        bytes32 mrSigner = TdxQuote._word(quote, report + 128);
        uint16 isvProdId = TdxQuote._u16(quote, report + 256);
        uint16 isvSvn = TdxQuote._u16(quote, report + 258);
        if (
            miscselect & uint32(qe.miscselectMask) != uint32(qe.miscselect)
                || attributes & qe.attributesMask != qe.attributes || mrSigner != qe.mrSigner
                || isvProdId != qe.isvProdId
        ) revert QeIdentityMismatch();
        for (uint256 i; i < qe.levels.length; ++i) {
            if (qe.levels[i].isvSvn <= isvSvn) return qe.levels[i].status;
        }
        revert QeTcbLevelNotFound(isvSvn);
    }

    /// @dev Platform level (SGX components, PCESVN, TDX components) converged with the TDX module's level.
    function _tdxStatus(bytes memory quote, TdxQuote.Quote memory q, SgxExtension.Values memory pck)
        internal
        view
        returns (TcbStatus)
    {
        TcbInfo memory info = collateral.tcbInfo(pck.fmspc);
        if (info.issueDate == 0 || Clock.timestamp() < info.issueDate || Clock.timestamp() > info.nextUpdate) {
            revert TcbInfoMissingOrExpired(pck.fmspc, info.issueDate, info.nextUpdate);
        }
        if (info.pceId != pck.pceId) revert PceIdMismatch(info.pceId, pck.pceId);
        bytes16 teeTcbSvn = bytes16(TdxQuote._word(quote, TdxQuote.field(q, TdxQuote.TEE_TCB_SVN)));
        uint8 moduleVersion = uint8(teeTcbSvn[1]);
        // With a versioned module, TEE_TCB_SVN[0..2] are the module's own SVN and version, judged by its identity.
        uint256 tdxFrom = moduleVersion > 0 ? 2 : 0;

        TcbStatus platform = TcbStatus.Unrecognized;
        for (uint256 i; i < info.levels.length; ++i) {
            TcbLevel memory level = info.levels[i];
            if (
                _componentsAtLeast(pck.cpuSvn, level.sgxComponents, 0) && pck.pceSvn >= level.pceSvn
                    && _componentsAtLeast(teeTcbSvn, level.tdxComponents, tdxFrom)
            ) {
                platform = level.status;
                break;
            }
        }
        if (platform == TcbStatus.Unrecognized) revert TcbLevelNotFound(pck.fmspc);
        return _converge(platform, _moduleStatus(quote, q.body, info.modules, moduleVersion, uint8(teeTcbSvn[0])));
    }

    function _moduleStatus(
        bytes memory quote,
        uint256 body,
        TdxModuleIdentity[] memory modules,
        uint8 version,
        uint8 isvSvn
    ) internal pure returns (TcbStatus) {
        for (uint256 i; i < modules.length; ++i) {
            TdxModuleIdentity memory m = modules[i];
            if (m.version != version) continue;
            bytes8 seamAttributes = bytes8(TdxQuote._word(quote, body + TdxQuote.SEAM_ATTRIBUTES));
            if (
                keccak256(TdxQuote.slice(quote, body + TdxQuote.MR_SIGNER_SEAM, 48)) != keccak256(m.mrSigner)
                    || seamAttributes & m.attributesMask != m.attributes
            ) revert TdxModuleMismatch();
            if (version == 0) return TcbStatus.UpToDate; // judged by the platform level alone
            for (uint256 j; j < m.levels.length; ++j) {
                if (m.levels[j].isvSvn <= isvSvn) return m.levels[j].status;
            }
            revert TdxModuleTcbLevelNotFound(isvSvn);
        }
        revert TdxModuleIdentityMissing(version);
    }

    /// @dev Intel's convergence: an out-of-date QE or TDX module makes the platform out of date; revoked wins.
    function _converge(TcbStatus platform, TcbStatus component) internal pure returns (TcbStatus) {
        if (platform == TcbStatus.Revoked || component == TcbStatus.Revoked) return TcbStatus.Revoked;
        if (component != TcbStatus.OutOfDate) return platform;
        if (platform == TcbStatus.UpToDate || platform == TcbStatus.SWHardeningNeeded) return TcbStatus.OutOfDate;
        if (platform == TcbStatus.ConfigurationNeeded || platform == TcbStatus.ConfigurationAndSWHardeningNeeded) {
            return TcbStatus.OutOfDateConfigurationNeeded;
        }
        return platform;
    }

    /// @dev Whether every component of `actual` from index `from` is at least the level's.
    function _componentsAtLeast(bytes16 actual, bytes16 required, uint256 from) internal pure returns (bool) {
        for (uint256 i = from; i < 16; ++i) {
            if (uint8(actual[i]) < uint8(required[i])) return false;
        }
        return true;
    }

    function _requireValidNow(uint64 notBefore, uint64 notAfter) internal view {
        if (Clock.timestamp() < notBefore || Clock.timestamp() > notAfter) {
            revert CertificateNotValidNow(notBefore, notAfter);
        }
    }
}
