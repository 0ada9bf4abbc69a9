// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base64} from "solady/utils/Base64.sol";
import {Clock} from "../libraries/Clock.sol";
import {IDcapCollateral} from "./interfaces/IDcapCollateral.sol";
import {IntelCollateralJson} from "./libraries/IntelCollateralJson.sol";
import {P256Verifier} from "./libraries/P256Verifier.sol";
import {X509} from "./libraries/X509.sol";
import {X509Crl} from "./libraries/X509Crl.sol";
import {KnownCa, QeIdentity, TcbInfo} from "./types/Dcap.sol";

/// @title DcapCollateral
/// @notice Intel DCAP collateral, verified on submission and stored pre-parsed for cheap quote verification.
/// @dev The root of trust is fixed at deployment: Intel's SGX Root CA key for production, or a dev root that must
/// NOT be Intel's (so a deployment can never mix them up). CRLs are ordered by thisUpdate; TCB info and QE identity by
/// (tcbEvaluationDataNumber, issueDate), so a fresher-dated document of an older, more lenient evaluation can never
/// replace a stricter one. Each TCB info / QE identity records its TCB Signing certificate's serial and the root CRL
/// generation it was found unrevoked under; quote verification (checkCollateralSigners) looks the serial up again
/// only once a newer root CRL has been accepted.
contract DcapCollateral is IDcapCollateral {
    /// Intel SGX Root CA public key.
    bytes32 internal constant INTEL_ROOT_X = 0x0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5;
    bytes32 internal constant INTEL_ROOT_Y = 0x67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394;

    struct CrlState {
        uint64 thisUpdate;
        uint64 nextUpdate;
        uint32 generation;
    }

    /// @inheritdoc IDcapCollateral
    bool public immutable intelRoot;
    bytes32 internal immutable _rootX;
    bytes32 internal immutable _rootY;
    bytes32 internal immutable _rootPemBodyHash;
    bytes32 internal immutable _rootSubjectHash;
    bytes32 internal immutable _rootKeyId;

    mapping(bytes32 issuerHash => CrlState) internal _crls;
    mapping(bytes32 issuerGenerationSerial => bool) internal _revoked;
    mapping(bytes32 pemBodyHash => KnownCa) internal _cas;
    mapping(bytes6 fmspc => TcbInfo) internal _tcbInfos;
    QeIdentity internal _qeIdentity;
    /// Serial of the TCB Signing certificate (issued by the root) that signed each stored document.
    mapping(bytes6 fmspc => uint256 serial) internal _tcbInfoSigners;
    uint256 internal _qeIdentitySigner;

    /// @param rootCertificate DER of the self-signed root.
    /// @param intelRoot_ True for production (the key must be Intel's), false for a dev root (it must not be).
    constructor(bytes memory rootCertificate, bool intelRoot_) {
        X509.Certificate memory root_ = X509.parse(rootCertificate);
        bool isIntelKey = root_.publicKeyX == INTEL_ROOT_X && root_.publicKeyY == INTEL_ROOT_Y;
        if (intelRoot_ && !isIntelKey) revert IntelRootKeyRequired();
        if (!intelRoot_ && isIntelKey) revert DevRootMustNotBeIntel();
        if (
            root_.issuerHash != root_.subjectHash || !root_.isCa
                || !P256Verifier.verify(
                    root_.tbsHash, root_.signatureR, root_.signatureS, root_.publicKeyX, root_.publicKeyY
                )
        ) revert RootNotSelfSigned();
        intelRoot = intelRoot_;
        _rootX = root_.publicKeyX;
        _rootY = root_.publicKeyY;
        _rootPemBodyHash = pemBodyHash(rootCertificate);
        _rootSubjectHash = root_.subjectHash;
        _rootKeyId = root_.subjectKeyId;
        emit RootOfTrustPinned(root_.publicKeyX, root_.publicKeyY, intelRoot_);
    }

    // ---------------------------------------------------------------- submissions

    /// @inheritdoc IDcapCollateral
    function submitRootCrl(bytes calldata crl) external {
        _acceptCrl(crl, _rootSubjectHash, _rootKeyId, _rootX, _rootY);
    }

    /// @inheritdoc IDcapCollateral
    function submitPckCrl(bytes calldata caCertificate, bytes calldata crl) external {
        X509.Certificate memory ca = _issuedByRoot(caCertificate);
        if (!ca.isCa) revert NotACaCertificate();
        bytes32 bodyHash = pemBodyHash(caCertificate);
        if (_cas[bodyHash].subjectHash == bytes32(0)) {
            _cas[bodyHash] = KnownCa({
                subjectHash: ca.subjectHash,
                subjectKeyId: ca.subjectKeyId,
                publicKeyX: ca.publicKeyX,
                publicKeyY: ca.publicKeyY,
                serialNumber: ca.serialNumber,
                notBefore: ca.notBefore,
                notAfter: ca.notAfter
            });
            emit CaRegistered(bodyHash, ca.subjectHash, ca.serialNumber);
        }
        _acceptCrl(crl, ca.subjectHash, ca.subjectKeyId, ca.publicKeyX, ca.publicKeyY);
    }

    /// @inheritdoc IDcapCollateral
    function submitTcbInfo(bytes calldata signingCertificate, string calldata tcbInfo_, bytes calldata signature)
        external
    {
        uint256 signer = _verifyCollateralSignature(signingCertificate, bytes(tcbInfo_), signature);
        (bytes6 fmspc, uint64 issueDate, uint64 nextUpdate, uint32 evaluation) =
            IntelCollateralJson.tcbInfoHeader(tcbInfo_);
        _requireFresh(issueDate, nextUpdate);
        TcbInfo storage info = _tcbInfos[fmspc];
        if (!_supersedes(evaluation, issueDate, info.evaluationDataNumber, info.issueDate)) {
            revert StaleTcbInfo(fmspc, evaluation, issueDate, info.evaluationDataNumber, info.issueDate);
        }
        IntelCollateralJson.writeTcbInfo(info, tcbInfo_);
        uint32 generation = _crls[_rootSubjectHash].generation;
        info.signerCrlGeneration = generation;
        _tcbInfoSigners[fmspc] = signer;
        emit TcbInfoAccepted(fmspc, issueDate, nextUpdate, evaluation);
        emit TcbInfoSigner(fmspc, signer, generation);
    }

    /// @inheritdoc IDcapCollateral
    function submitQeIdentity(bytes calldata signingCertificate, string calldata qeIdentity_, bytes calldata signature)
        external
    {
        uint256 signer = _verifyCollateralSignature(signingCertificate, bytes(qeIdentity_), signature);
        QeIdentity storage qe = _qeIdentity;
        (uint32 currentEvaluation, uint64 currentIssueDate) = (qe.evaluationDataNumber, qe.issueDate);
        IntelCollateralJson.writeQeIdentity(qe, qeIdentity_);
        (uint32 evaluation, uint64 issueDate, uint64 nextUpdate) =
            (qe.evaluationDataNumber, qe.issueDate, qe.nextUpdate);
        _requireFresh(issueDate, nextUpdate);
        if (!_supersedes(evaluation, issueDate, currentEvaluation, currentIssueDate)) {
            revert StaleQeIdentity(evaluation, issueDate, currentEvaluation, currentIssueDate);
        }
        uint32 generation = _crls[_rootSubjectHash].generation;
        qe.signerCrlGeneration = generation;
        _qeIdentitySigner = signer;
        emit QeIdentityAccepted(issueDate, nextUpdate, evaluation);
        emit QeIdentitySigner(signer, generation);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDcapCollateral
    function root() external view returns (bytes32 x, bytes32 y, bytes32 pemBodyHash_, bytes32 subjectHash) {
        return (_rootX, _rootY, _rootPemBodyHash, _rootSubjectHash);
    }

    /// @inheritdoc IDcapCollateral
    function knownCa(bytes32 pemBodyHash_) external view returns (KnownCa memory) {
        return _cas[pemBodyHash_];
    }

    /// @inheritdoc IDcapCollateral
    function checkNotRevoked(bytes32 issuerHash, uint256 serial) public view {
        CrlState memory crl = _crls[issuerHash];
        if (crl.generation == 0 || Clock.timestamp() > crl.nextUpdate) {
            revert CrlNotFresh(crl.thisUpdate, crl.nextUpdate);
        }
        if (_revoked[_revocationKey(issuerHash, crl.generation, serial)]) revert CertificateRevoked(serial);
    }

    /// @inheritdoc IDcapCollateral
    function checkCollateralSigners(bytes6 fmspc) external view {
        CrlState memory crl = _crls[_rootSubjectHash];
        if (crl.generation == 0 || Clock.timestamp() > crl.nextUpdate) {
            revert CrlNotFresh(crl.thisUpdate, crl.nextUpdate);
        }
        // A document's signer was found unrevoked under the root CRL generation it records; only a newer root CRL
        // can have revoked it since.
        QeIdentity storage qe = _qeIdentity;
        if (qe.issueDate != 0 && qe.signerCrlGeneration != crl.generation) {
            uint256 serial = _qeIdentitySigner;
            if (_revokedByRoot(crl.generation, serial)) revert QeIdentitySignerRevoked(serial);
        }
        TcbInfo storage info = _tcbInfos[fmspc];
        if (info.issueDate != 0 && info.signerCrlGeneration != crl.generation) {
            uint256 serial = _tcbInfoSigners[fmspc];
            if (_revokedByRoot(crl.generation, serial)) revert TcbInfoSignerRevoked(fmspc, serial);
        }
    }

    /// @inheritdoc IDcapCollateral
    function collateralSigners(bytes6 fmspc) external view returns (uint256 tcbInfoSigner, uint256 qeIdentitySigner) {
        return (_tcbInfoSigners[fmspc], _qeIdentitySigner);
    }

    /// @inheritdoc IDcapCollateral
    function tcbInfo(bytes6 fmspc) external view returns (TcbInfo memory) {
        return _tcbInfos[fmspc];
    }

    /// @inheritdoc IDcapCollateral
    function qeIdentity() external view returns (QeIdentity memory) {
        return _qeIdentity;
    }

    /// @notice keccak256 of a certificate's PEM body as quotes carry it: base64 in 64-character lines, each ending
    /// with a line feed.
    function pemBodyHash(bytes memory der) public pure returns (bytes32) {
        bytes memory text = bytes(Base64.encode(der));
        uint256 lines = (text.length + 63) / 64;
        bytes memory body = new bytes(text.length + lines);
        uint256 o;
        for (uint256 i; i < text.length; i += 64) {
            uint256 take = text.length - i < 64 ? text.length - i : 64;
            assembly ("memory-safe") {
                mcopy(add(add(body, 0x20), o), add(add(text, 0x20), i), take)
            }
            o += take;
            body[o++] = 0x0a;
        }
        return keccak256(body);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Parses a certificate and checks it was issued by the root, is valid now and not revoked by the root CRL.
    function _issuedByRoot(bytes calldata der) internal view returns (X509.Certificate memory cert) {
        cert = X509.parse(der);
        if (cert.issuerHash != _rootSubjectHash || cert.authorityKeyId != _rootKeyId) revert NotIssuedByRoot();
        if (!P256Verifier.verify(cert.tbsHash, cert.signatureR, cert.signatureS, _rootX, _rootY)) {
            revert InvalidSignature();
        }
        if (Clock.timestamp() < cert.notBefore || Clock.timestamp() > cert.notAfter) {
            revert CertificateNotValidNow(cert.notBefore, cert.notAfter);
        }
        if (_crls[_rootSubjectHash].generation == 0) revert RootCrlMissingOrExpired();
        checkNotRevoked(_rootSubjectHash, cert.serialNumber);
    }

    /// @dev Verifies a TCB info / QE identity signature by a valid, unrevoked certificate of the root; returns the
    /// certificate's serial.
    function _verifyCollateralSignature(bytes calldata signingCertificate, bytes memory body, bytes calldata signature)
        internal
        view
        returns (uint256 signerSerial)
    {
        X509.Certificate memory signer = _issuedByRoot(signingCertificate);
        if (signature.length != 64) revert WrongSignatureLength(signature.length);
        if (!P256Verifier.verify(
                sha256(body), bytes32(signature[0:32]), bytes32(signature[32:64]), signer.publicKeyX, signer.publicKeyY
            )) revert InvalidSignature();
        return signer.serialNumber;
    }

    function _acceptCrl(bytes calldata der, bytes32 issuerHash, bytes32 issuerKeyId, bytes32 keyX, bytes32 keyY)
        internal
    {
        X509Crl.Crl memory crl = X509Crl.parse(der);
        if (crl.issuerHash != issuerHash || crl.authorityKeyId != issuerKeyId) revert CrlIssuerMismatch();
        if (!P256Verifier.verify(crl.tbsHash, crl.signatureR, crl.signatureS, keyX, keyY)) revert InvalidSignature();
        if (Clock.timestamp() < crl.thisUpdate || Clock.timestamp() > crl.nextUpdate) {
            revert CrlNotFresh(crl.thisUpdate, crl.nextUpdate);
        }
        CrlState storage state = _crls[issuerHash];
        if (crl.thisUpdate < state.thisUpdate) revert StaleCrl(crl.thisUpdate, state.thisUpdate);
        uint32 generation = state.generation + 1;
        for (uint256 i; i < crl.revokedSerials.length; ++i) {
            _revoked[_revocationKey(issuerHash, generation, crl.revokedSerials[i])] = true;
        }
        _crls[issuerHash] = CrlState(crl.thisUpdate, crl.nextUpdate, generation);
        emit CrlAccepted(issuerHash, crl.thisUpdate, crl.nextUpdate, crl.revokedSerials.length);
    }

    function _revokedByRoot(uint32 generation, uint256 serial) internal view returns (bool) {
        return _revoked[_revocationKey(_rootSubjectHash, generation, serial)];
    }

    function _revocationKey(bytes32 issuerHash, uint32 generation, uint256 serial) internal pure returns (bytes32) {
        return keccak256(abi.encode(issuerHash, generation, serial));
    }

    /// @dev The ordering of TCB info and QE identity documents: evaluation number first, then issue date. A lower
    /// evaluation never replaces a higher one, whatever its date; the same evaluation replaces only an older-dated one.
    function _supersedes(uint32 evaluation, uint64 issueDate, uint32 currentEvaluation, uint64 currentIssueDate)
        internal
        pure
        returns (bool)
    {
        return evaluation > currentEvaluation || (evaluation == currentEvaluation && issueDate > currentIssueDate);
    }

    function _requireFresh(uint64 issueDate, uint64 nextUpdate) internal view {
        if (Clock.timestamp() < issueDate || Clock.timestamp() > nextUpdate) {
            revert CollateralNotFresh(issueDate, nextUpdate);
        }
    }
}
