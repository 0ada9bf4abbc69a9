// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {KnownCa, QeIdentity, TcbInfo} from "../types/Dcap.sol";

/// @title IDcapCollateral
/// @notice Intel DCAP collateral on chain (a PCCS): the pinned root, CRLs, CA certificates and signed TCB info / QE
/// identity. Anyone may submit; a submission is accepted only when Intel's signing chain (or, on a dev network, the
/// dev root's) verifies it and it is fresh.
/// @dev TCB info (per FMSPC) and the QE identity are ordered by (tcbEvaluationDataNumber, issueDate): a document
/// replaces the stored one only with a higher evaluation number, or the same evaluation number and a later issue
/// date. Intel keeps signing fresh documents of older evaluations, so ordering by date alone would let anyone roll a
/// platform back to a more lenient evaluation. Each document records the serial of its TCB Signing certificate;
/// quote verification refuses a document whose signer the current root CRL revokes.
interface IDcapCollateral {
    error IntelRootKeyRequired();
    error DevRootMustNotBeIntel();
    error RootNotSelfSigned();
    error NotIssuedByRoot();
    error InvalidSignature();
    error CertificateNotValidNow(uint64 notBefore, uint64 notAfter);
    error CertificateRevoked(uint256 serialNumber);
    error NotACaCertificate();
    error CrlIssuerMismatch();
    error CrlNotFresh(uint64 thisUpdate, uint64 nextUpdate);
    error StaleCrl(uint64 thisUpdate, uint64 current);
    error RootCrlMissingOrExpired();
    error CollateralNotFresh(uint64 issueDate, uint64 nextUpdate);
    /// A TCB info that does not supersede the stored one: a lower evaluation number (whatever its date), or the same
    /// evaluation number and an issue date that is not later.
    error StaleTcbInfo(
        bytes6 fmspc,
        uint32 evaluationDataNumber,
        uint64 issueDate,
        uint32 currentEvaluationDataNumber,
        uint64 currentIssueDate
    );
    /// As StaleTcbInfo, for the QE identity.
    error StaleQeIdentity(
        uint32 evaluationDataNumber, uint64 issueDate, uint32 currentEvaluationDataNumber, uint64 currentIssueDate
    );
    /// The stored TCB info of `fmspc` was signed by a certificate the current root CRL revokes.
    error TcbInfoSignerRevoked(bytes6 fmspc, uint256 signerSerial);
    /// The stored QE identity was signed by a certificate the current root CRL revokes.
    error QeIdentitySignerRevoked(uint256 signerSerial);
    error WrongSignatureLength(uint256 length);

    event RootOfTrustPinned(bytes32 publicKeyX, bytes32 publicKeyY, bool intelRoot);
    event CrlAccepted(bytes32 indexed issuerHash, uint64 thisUpdate, uint64 nextUpdate, uint256 revokedCount);
    event CaRegistered(bytes32 indexed pemBodyHash, bytes32 subjectHash, uint256 serialNumber);
    event TcbInfoAccepted(bytes6 indexed fmspc, uint64 issueDate, uint64 nextUpdate, uint32 evaluationDataNumber);
    /// The signing certificate recorded with an accepted TCB info (checked unrevoked under root CRL `crlGeneration`).
    event TcbInfoSigner(bytes6 indexed fmspc, uint256 signerSerial, uint32 crlGeneration);
    event QeIdentityAccepted(uint64 issueDate, uint64 nextUpdate, uint32 evaluationDataNumber);
    /// The signing certificate recorded with an accepted QE identity.
    event QeIdentitySigner(uint256 signerSerial, uint32 crlGeneration);

    /// @notice Accepts a root CA CRL signed by the root.
    function submitRootCrl(bytes calldata crl) external;

    /// @notice Registers a PCK Platform/Processor CA certificate issued by the root and accepts its CRL.
    function submitPckCrl(bytes calldata caCertificate, bytes calldata crl) external;

    /// @notice Accepts a TDX TCB info JSON signed (raw r‖s) by a TCB Signing certificate issued by the root and not
    /// revoked, if it supersedes the FMSPC's stored one (higher evaluation number, or same number and later issue
    /// date; see StaleTcbInfo). Records the signer's serial with it.
    function submitTcbInfo(bytes calldata signingCertificate, string calldata tcbInfo, bytes calldata signature)
        external;

    /// @notice Accepts a TD_QE identity JSON signed (raw r‖s) by a TCB Signing certificate issued by the root and not
    /// revoked, if it supersedes the stored one (as submitTcbInfo; see StaleQeIdentity). Records the signer's serial.
    function submitQeIdentity(bytes calldata signingCertificate, string calldata qeIdentity, bytes calldata signature)
        external;

    /// @notice Whether the pinned root is Intel's SGX Root CA (false: a dev root).
    function intelRoot() external view returns (bool);

    /// @notice Root public key and the keccak256 of its PEM body (as it appears in quotes' PCK chains).
    function root() external view returns (bytes32 x, bytes32 y, bytes32 pemBodyHash, bytes32 subjectHash);

    /// @notice A registered CA, by the keccak256 of its PEM body.
    function knownCa(bytes32 pemBodyHash) external view returns (KnownCa memory);

    /// @notice Whether `serial` is revoked by the current, fresh CRL of `issuerHash`; reverts when that CRL is
    /// missing or expired.
    function checkNotRevoked(bytes32 issuerHash, uint256 serial) external view;

    /// @notice Reverts with TcbInfoSignerRevoked / QeIdentitySignerRevoked when the current, fresh root CRL revokes
    /// the certificate that signed the stored TCB info of `fmspc` or the stored QE identity (a document not stored is
    /// skipped); with CrlNotFresh when the root CRL is missing or expired. Costs no revocation lookup while the root
    /// CRL is the one the document's signer was checked against at submission.
    function checkCollateralSigners(bytes6 fmspc) external view;

    /// @notice Serials of the TCB Signing certificates that signed the stored TCB info of `fmspc` and the stored QE
    /// identity (zero when not stored).
    function collateralSigners(bytes6 fmspc) external view returns (uint256 tcbInfoSigner, uint256 qeIdentitySigner);

    /// @notice The stored TCB info of an FMSPC (zero issueDate when none).
    function tcbInfo(bytes6 fmspc) external view returns (TcbInfo memory);

    /// @notice The stored TD_QE identity.
    function qeIdentity() external view returns (QeIdentity memory);
}
