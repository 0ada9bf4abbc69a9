// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {KnownCa, QeIdentity, TcbInfo} from "../types/Dcap.sol";

/// @title IDcapCollateral
/// @notice Intel DCAP collateral on chain (a PCCS): the pinned root, CRLs, CA certificates and signed TCB info / QE
/// identity. Anyone may submit; a submission is accepted only when Intel's signing chain (or, on a dev network, the
/// dev root's) verifies it and it is fresh.
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
    error StaleCollateral(uint64 issueDate, uint64 current);
    error WrongSignatureLength(uint256 length);

    event RootOfTrustPinned(bytes32 publicKeyX, bytes32 publicKeyY, bool intelRoot);
    event CrlAccepted(bytes32 indexed issuerHash, uint64 thisUpdate, uint64 nextUpdate, uint256 revokedCount);
    event CaRegistered(bytes32 indexed pemBodyHash, bytes32 subjectHash, uint256 serialNumber);
    event TcbInfoAccepted(bytes6 indexed fmspc, uint64 issueDate, uint64 nextUpdate, uint32 evaluationDataNumber);
    event QeIdentityAccepted(uint64 issueDate, uint64 nextUpdate, uint32 evaluationDataNumber);

    /// @notice Accepts a root CA CRL signed by the root.
    function submitRootCrl(bytes calldata crl) external;

    /// @notice Registers a PCK Platform/Processor CA certificate issued by the root and accepts its CRL.
    function submitPckCrl(bytes calldata caCertificate, bytes calldata crl) external;

    /// @notice Accepts a TDX TCB info JSON signed (raw r‖s) by a TCB Signing certificate issued by the root.
    function submitTcbInfo(bytes calldata signingCertificate, string calldata tcbInfo, bytes calldata signature)
        external;

    /// @notice Accepts a TD_QE identity JSON signed (raw r‖s) by a TCB Signing certificate issued by the root.
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

    /// @notice The stored TCB info of an FMSPC (zero issueDate when none).
    function tcbInfo(bytes6 fmspc) external view returns (TcbInfo memory);

    /// @notice The stored TD_QE identity.
    function qeIdentity() external view returns (QeIdentity memory);
}
