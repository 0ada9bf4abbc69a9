// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IQuoteVerifier} from "./IQuoteVerifier.sol";
import {TcbStatus} from "../types/Dcap.sol";

/// @notice What a registered enclave key may do.
enum TeeRole {
    Matcher,
    Prover,
    Relayer
}

/// @notice What an enclave binds into its quote's 64-byte report data when it registers a key.
struct KeyBinding {
    TeeRole role;
    /// The market a prover key serves (zero for matcher and relayer keys).
    uint256 marketId;
    /// The enclave's secp256k1 signing key, as an address.
    address signer;
    /// The enclave's secp256k1 public key for ECIES (x ‖ y), to which private inputs are encrypted.
    bytes eciesPublicKey;
    /// The account the enclave works for, which must submit the registration itself (nobody can attach an enclave to
    /// someone else's account): for a prover key, the prover's marketplace address; for a matcher or relayer key, an
    /// operator governance admitted for that role. Keys are cheap: quorums count operators, not keys.
    address operator;
    /// A recent block of this chain: proves the quote was produced for this registration, now.
    uint256 blockNumber;
    bytes32 blockHash;
}

/// @title ITeeRegistry
/// @notice Enclave keys registered with Intel TDX quotes verified on chain, under an explicit policy: no debug TDs,
/// accepted TCB statuses, allowed measurements per role (and per market for provers), fresh block binding, no quote
/// replayed (by its signed content, so padding cannot help). Keys expire; role admins can revoke them. Matcher and
/// relayer keys also belong to an operator the role's admin (governance) admitted: attestation proves the code, not
/// who runs it nor the chain data its host feeds it, so trust is placed in a set of independent operators, each
/// counted once however many keys it holds, and removing an operator deactivates all its keys at once.
interface ITeeRegistry {
    error ReportDataMismatch();
    error BlockNotRecent(uint256 blockNumber, uint256 current);
    error BlockHashMismatch(uint256 blockNumber);
    error QuoteAlreadyUsed(bytes32 quoteId);
    error DebugTdNotAllowed();
    error TcbStatusNotAccepted(TcbStatus status);
    error MeasurementNotAllowed(bytes32 measurement);
    error WrongEciesKeyLength(uint256 length);
    error MarketIdNotAllowed(TeeRole role, uint256 marketId);
    error ZeroAddress();
    error NotRoleAdmin(address caller);
    error KeyNotRegistered(TeeRole role, uint256 marketId, address signer);
    error ValueOutOfRange();
    error KeyWasRevoked(TeeRole role, uint256 marketId, address signer);
    error OperatorMustRegister(address operator, address caller);
    error OperatorNotAdmitted(TeeRole role, address operator);
    error AdmissionNotForProvers();
    error TdAttributesNotAccepted(bytes8 tdAttributes);
    error TdConfigNotPinned(bytes32 tdConfig, bytes32 pinned);
    error TdAttributesPolicyInvalid(bytes8 mask, bytes8 required);

    event KeyRegistered(
        TeeRole indexed role,
        uint256 indexed marketId,
        address indexed signer,
        address operator,
        bytes eciesPublicKey,
        bytes32 measurement,
        uint64 expiresAt,
        bytes32 quoteId
    );
    event KeyRevoked(TeeRole indexed role, uint256 indexed marketId, address indexed signer);
    event MeasurementAllowed(TeeRole indexed role, uint256 indexed marketId, bytes32 measurement, bool allowed);
    event RoleAdminSet(TeeRole indexed role, address admin);
    event AcceptedTcbStatusesSet(uint256 mask);
    event AttestValiditySet(uint64 seconds_);
    event MaxBlockNumberDiffSet(uint256 blocks);
    event QuoteVerifierSet(IQuoteVerifier verifier);
    event TdAttributesPolicySet(bytes8 mask, bytes8 required);
    event TdConfigPinned(TeeRole indexed role, uint256 indexed marketId, bytes32 tdConfig);
    event OperatorAdmissionSet(TeeRole indexed role, address indexed operator, bool admitted, uint32 admittedCount);

    /// @notice Registers (or re-attests) the key bound in `quote`'s report data; anyone may submit.
    /// @return expiresAt When the key stops being active unless re-attested.
    function register(bytes calldata quote, KeyBinding calldata binding) external returns (uint64 expiresAt);

    /// @notice Revokes a key at once; the role's admin only.
    function revoke(TeeRole role, uint256 marketId, address signer) external;

    /// @notice Allows or disallows a measurement for a role (and market, for provers); the role's admin only.
    function setMeasurementAllowed(TeeRole role, uint256 marketId, bytes32 measurement, bool allowed) external;

    /// @notice Pins the TD configuration (XFAM, MRCONFIGID, MROWNER, MROWNERCONFIG, MRSERVICETD: TdxReport.tdConfig)
    /// keys of a role (and market, for provers) must have, or unpins it with zero; the role's admin only.
    function setTdConfigPinned(TeeRole role, uint256 marketId, bytes32 tdConfig) external;

    /// @notice Admits or removes an operator of the matcher or relayer role; the role's admin (governance) only.
    /// Removing an operator deactivates every key it registered at once.
    function setOperatorAdmitted(TeeRole role, address operator, bool admitted) external;

    /// @notice Whether `operator` is admitted for a matcher or relayer role.
    function isAdmittedOperator(TeeRole role, address operator) external view returns (bool);

    /// @notice How many operators are admitted for a role: a quorum needs a strict majority of them.
    function admittedOperatorCount(TeeRole role) external view returns (uint32);

    /// @notice Whether `signer` holds an active key for the role and market: registered, unexpired, unrevoked and,
    /// for matcher and relayer keys, registered by an operator that is still admitted.
    function isActive(TeeRole role, uint256 marketId, address signer) external view returns (bool);

    /// @notice The operator an active key works for (see isActive); zero when the key is not active.
    function activeOperator(TeeRole role, uint256 marketId, address signer) external view returns (address);

    /// @notice The operator's most recently registered prover key in a market and its ECIES public key, while that
    /// key is active (zero and empty otherwise): where a matcher wraps the prover's private-input keys.
    function proverEnclave(uint256 marketId, address operator)
        external
        view
        returns (address signer, bytes memory eciesPublicKey);

    /// @notice The ECIES public key registered with an active key (empty when none).
    function eciesPublicKey(TeeRole role, uint256 marketId, address signer) external view returns (bytes memory);

    /// @notice The 64-byte report data an enclave must put in its quote for `binding`.
    function reportDataFor(KeyBinding calldata binding) external view returns (bytes memory);

    /// @notice The measurement a policy allow-list is keyed by: keccak256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2 ‖ RTMR3).
    function measurementOf(
        bytes memory mrTd,
        bytes memory rtmr0,
        bytes memory rtmr1,
        bytes memory rtmr2,
        bytes memory rtmr3
    ) external pure returns (bytes32);
}
