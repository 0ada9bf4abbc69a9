// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {IEnclaveKeys} from "../interfaces/IEnclaveKeys.sol";
import {IMatcherAuthority} from "../interfaces/IMatcherAuthority.sol";
import {Clock} from "../libraries/Clock.sol";
import {IQuoteVerifier} from "./interfaces/IQuoteVerifier.sol";
import {ITeeRegistry, KeyBinding, TeeRole} from "./interfaces/ITeeRegistry.sol";
import {TcbStatus, TdxReport} from "./types/Dcap.sol";

/// @title TeeRegistry
/// @notice Attested enclave keys for Cairn's matcher, provers and relayers. Also the marketplace's matcher
/// authority: a matcher key is valid exactly while it is registered, unexpired and unrevoked here; and its source of
/// prover enclave keys, which sign invalid-input attestations for the prover they were registered by.
contract TeeRegistry is ITeeRegistry, IMatcherAuthority, IEnclaveKeys, Ownable {
    /// keccak256 domain of the report data binding.
    bytes32 internal constant BINDING_TYPEHASH = keccak256(
        "CairnTeeKeyBinding(uint8 role,uint256 marketId,address signer,bytes32 eciesPublicKeyHash,address operator,uint256 chainId,address registry,uint256 blockNumber,bytes32 blockHash)"
    );
    uint64 internal constant MAX_VALIDITY = 30 days;
    /// TDATTRIBUTES bits as the bytes appear in the quote (little-endian u64): DEBUG is bit 0, SEPT_VE_DISABLE bit 28
    /// (without it the host can make the TD take #VE on EPT violations, a known way to attack TD memory).
    bytes8 internal constant TD_DEBUG = 0x0100000000000000;
    bytes8 internal constant TD_SEPT_VE_DISABLE = 0x0000001000000000;

    struct Key {
        uint64 expiresAt;
        address operator;
        bytes32 measurement;
        bytes eciesPublicKey;
    }

    IQuoteVerifier public quoteVerifier;
    uint64 public attestValiditySeconds = 3600;
    uint256 public maxBlockNumberDiff = 100;
    /// Bit i set: TcbStatus(i) accepted. Default: UpToDate only.
    uint256 public acceptedTcbStatuses = uint256(1) << uint8(TcbStatus.UpToDate);
    /// @notice TD attributes a key's quote must show: `tdAttributes & tdAttributesMask == tdAttributesRequired`.
    /// Default: DEBUG clear, SEPT_VE_DISABLE set.
    bytes8 public tdAttributesMask = TD_DEBUG | TD_SEPT_VE_DISABLE;
    bytes8 public tdAttributesRequired = TD_SEPT_VE_DISABLE;

    mapping(TeeRole role => address) public roleAdmin;
    mapping(bytes32 quoteId => bool) public quoteUsed;
    mapping(bytes32 policyKey => mapping(bytes32 measurement => bool)) internal _allowed;
    /// Pinned TD configuration per policy (zero: not pinned).
    mapping(bytes32 policyKey => bytes32 tdConfig) internal _pinnedTdConfig;
    mapping(bytes32 keyId => Key) internal _keys;
    /// A revoked key stays revoked: it cannot come back with a fresh quote.
    mapping(bytes32 keyId => bool) public revokedKey;
    /// The latest prover key each operator registered per market.
    mapping(uint256 marketId => mapping(address operator => address signer)) internal _proverKeyOf;
    /// Since when the operator has had an active prover key in the market without a gap (rotations included).
    mapping(uint256 marketId => mapping(address operator => uint64)) internal _proverKeySince;
    /// Governance-admitted operators of the matcher and relayer roles, and how many there are.
    mapping(TeeRole role => mapping(address operator => bool)) public isAdmittedOperator;
    mapping(TeeRole role => uint32) public admittedOperatorCount;

    /// @param owner_ Sets role admins, accepted TCB statuses, validity and the quote verifier.
    /// @param quoteVerifier_ Verifies quotes: Cairn's DcapTdxVerifier or an adapter for Automata's.
    constructor(address owner_, IQuoteVerifier quoteVerifier_) {
        if (owner_ == address(0) || address(quoteVerifier_) == address(0)) revert ZeroAddress();
        _initializeOwner(owner_);
        quoteVerifier = quoteVerifier_;
        emit QuoteVerifierSet(quoteVerifier_);
        emit AcceptedTcbStatusesSet(acceptedTcbStatuses);
        emit TdAttributesPolicySet(tdAttributesMask, tdAttributesRequired);
        emit AttestValiditySet(attestValiditySeconds);
        emit MaxBlockNumberDiffSet(maxBlockNumberDiff);
    }

    modifier onlyRoleAdmin(TeeRole role) {
        if (msg.sender != roleAdmin[role]) revert NotRoleAdmin(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc ITeeRegistry
    function register(bytes calldata quote, KeyBinding calldata binding) external returns (uint64 expiresAt) {
        if (binding.signer == address(0)) revert ZeroAddress();
        if (binding.eciesPublicKey.length != 64) revert WrongEciesKeyLength(binding.eciesPublicKey.length);
        if (binding.role != TeeRole.Prover && binding.marketId != 0) {
            revert MarketIdNotAllowed(binding.role, binding.marketId);
        }
        if (binding.operator == address(0)) revert ZeroAddress();
        if (binding.operator != msg.sender) revert OperatorMustRegister(binding.operator, msg.sender);
        if (binding.role != TeeRole.Prover && !isAdmittedOperator[binding.role][binding.operator]) {
            revert OperatorNotAdmitted(binding.role, binding.operator);
        }
        _checkRecentBlock(binding.blockNumber, binding.blockHash);

        TdxReport memory report = quoteVerifier.verifyTdxQuote(quote);
        if (keccak256(report.reportData) != keccak256(_reportData(binding))) revert ReportDataMismatch();
        if (quoteUsed[report.quoteId]) revert QuoteAlreadyUsed(report.quoteId);
        // TDATTRIBUTES byte 0, bit 0: the TD is debuggable, so its memory is not confidential.
        if (uint8(report.tdAttributes[0]) & 1 != 0) revert DebugTdNotAllowed();
        if (report.tdAttributes & tdAttributesMask != tdAttributesRequired) {
            revert TdAttributesNotAccepted(report.tdAttributes);
        }
        if (acceptedTcbStatuses & (uint256(1) << uint8(report.tcbStatus)) == 0) {
            revert TcbStatusNotAccepted(report.tcbStatus);
        }
        bytes32 measurement = measurementOf(report.mrTd, report.rtmr0, report.rtmr1, report.rtmr2, report.rtmr3);
        bytes32 policyKey = _policyKey(binding.role, binding.marketId);
        if (!_allowed[policyKey][measurement]) revert MeasurementNotAllowed(measurement);
        bytes32 pinned = _pinnedTdConfig[policyKey];
        if (pinned != bytes32(0) && pinned != report.tdConfig) revert TdConfigNotPinned(report.tdConfig, pinned);

        bytes32 keyId = _keyId(binding.role, binding.marketId, binding.signer);
        if (revokedKey[keyId]) revert KeyWasRevoked(binding.role, binding.marketId, binding.signer);
        quoteUsed[report.quoteId] = true;
        expiresAt = Clock.timestamp64() + attestValiditySeconds;
        _keys[keyId] = Key({
            expiresAt: expiresAt,
            operator: binding.operator,
            measurement: measurement,
            eciesPublicKey: binding.eciesPublicKey
        });
        if (binding.role == TeeRole.Prover) {
            mapping(address => address) storage latest = _proverKeyOf[binding.marketId];
            if (!isActive(TeeRole.Prover, binding.marketId, latest[binding.operator])) {
                _proverKeySince[binding.marketId][binding.operator] = Clock.timestamp64();
            }
            latest[binding.operator] = binding.signer;
        }
        emit KeyRegistered(
            binding.role,
            binding.marketId,
            binding.signer,
            binding.operator,
            binding.eciesPublicKey,
            measurement,
            expiresAt,
            report.quoteId
        );
    }

    /// @inheritdoc ITeeRegistry
    function revoke(TeeRole role, uint256 marketId, address signer) external onlyRoleAdmin(role) {
        bytes32 keyId = _keyId(role, marketId, signer);
        if (_keys[keyId].expiresAt == 0) revert KeyNotRegistered(role, marketId, signer);
        delete _keys[keyId];
        revokedKey[keyId] = true;
        emit KeyRevoked(role, marketId, signer);
    }

    // ---------------------------------------------------------------- policy

    /// @inheritdoc ITeeRegistry
    function setOperatorAdmitted(TeeRole role, address operator, bool admitted) external onlyRoleAdmin(role) {
        if (role == TeeRole.Prover) revert AdmissionNotForProvers();
        if (operator == address(0)) revert ZeroAddress();
        uint32 count = admittedOperatorCount[role];
        if (isAdmittedOperator[role][operator] != admitted) {
            count = admitted ? count + 1 : count - 1;
            isAdmittedOperator[role][operator] = admitted;
            admittedOperatorCount[role] = count;
        }
        emit OperatorAdmissionSet(role, operator, admitted, count);
    }

    /// @inheritdoc ITeeRegistry
    function setMeasurementAllowed(TeeRole role, uint256 marketId, bytes32 measurement, bool allowed)
        external
        onlyRoleAdmin(role)
    {
        if (role != TeeRole.Prover && marketId != 0) revert MarketIdNotAllowed(role, marketId);
        _allowed[_policyKey(role, marketId)][measurement] = allowed;
        emit MeasurementAllowed(role, marketId, measurement, allowed);
    }

    /// @inheritdoc ITeeRegistry
    function setTdConfigPinned(TeeRole role, uint256 marketId, bytes32 tdConfig) external onlyRoleAdmin(role) {
        if (role != TeeRole.Prover && marketId != 0) revert MarketIdNotAllowed(role, marketId);
        _pinnedTdConfig[_policyKey(role, marketId)] = tdConfig;
        emit TdConfigPinned(role, marketId, tdConfig);
    }

    /// @notice Sets the TD attributes keys' quotes must show (`tdAttributes & mask == required`); DEBUG must stay in
    /// the mask and out of the required bits.
    function setTdAttributesPolicy(bytes8 mask, bytes8 required) external onlyOwner {
        if (mask & TD_DEBUG == 0 || required & ~mask != 0 || required & TD_DEBUG != 0) {
            revert TdAttributesPolicyInvalid(mask, required);
        }
        tdAttributesMask = mask;
        tdAttributesRequired = required;
        emit TdAttributesPolicySet(mask, required);
    }

    /// @notice The TD configuration pinned for a role and market (zero when not pinned).
    function pinnedTdConfig(TeeRole role, uint256 marketId) external view returns (bytes32) {
        return _pinnedTdConfig[_policyKey(role, marketId)];
    }

    /// @notice Sets the admin of a role (policy and revocation).
    function setRoleAdmin(TeeRole role, address admin) external onlyOwner {
        roleAdmin[role] = admin;
        emit RoleAdminSet(role, admin);
    }

    /// @notice Sets which TCB statuses are accepted (bit i for TcbStatus(i)); Revoked and Unrecognized never are.
    function setAcceptedTcbStatuses(uint256 mask) external onlyOwner {
        if (
            mask >> 10 != 0 || mask & (uint256(1) << uint8(TcbStatus.Revoked)) != 0
                || mask & (uint256(1) << uint8(TcbStatus.Unrecognized)) != 0
        ) {
            revert ValueOutOfRange();
        }
        acceptedTcbStatuses = mask;
        emit AcceptedTcbStatusesSet(mask);
    }

    /// @notice Sets how long a key stays active after its attestation.
    function setAttestValiditySeconds(uint64 seconds_) external onlyOwner {
        if (seconds_ == 0 || seconds_ > MAX_VALIDITY) revert ValueOutOfRange();
        attestValiditySeconds = seconds_;
        emit AttestValiditySet(seconds_);
    }

    /// @notice Sets how old the bound block may be (at most 256: older block hashes are unavailable).
    function setMaxBlockNumberDiff(uint256 blocks) external onlyOwner {
        if (blocks == 0 || blocks > 256) revert ValueOutOfRange();
        maxBlockNumberDiff = blocks;
        emit MaxBlockNumberDiffSet(blocks);
    }

    /// @notice Switches the quote verifier (e.g. to an Automata adapter).
    function setQuoteVerifier(IQuoteVerifier verifier) external onlyOwner {
        if (address(verifier) == address(0)) revert ZeroAddress();
        quoteVerifier = verifier;
        emit QuoteVerifierSet(verifier);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ITeeRegistry
    function isActive(TeeRole role, uint256 marketId, address signer) public view returns (bool) {
        return activeOperator(role, marketId, signer) != address(0);
    }

    /// @inheritdoc ITeeRegistry
    function activeOperator(TeeRole role, uint256 marketId, address signer) public view returns (address operator) {
        Key storage key = _keys[_keyId(role, marketId, signer)];
        if (Clock.timestamp() >= key.expiresAt) return address(0);
        operator = key.operator;
        if (role != TeeRole.Prover && !isAdmittedOperator[role][operator]) return address(0);
    }

    /// @inheritdoc IMatcherAuthority
    function isMatcher(address signer) external view returns (bool) {
        return isActive(TeeRole.Matcher, 0, signer);
    }

    /// @inheritdoc IEnclaveKeys
    function enclaveOperator(uint256 marketId, address signer) external view returns (address) {
        return activeOperator(TeeRole.Prover, marketId, signer);
    }

    /// @inheritdoc IEnclaveKeys
    function hasActiveEnclave(uint256 marketId, address prover) external view returns (bool) {
        return isActive(TeeRole.Prover, marketId, _proverKeyOf[marketId][prover]);
    }

    /// @inheritdoc IEnclaveKeys
    function enclaveActiveAt(uint256 marketId, address prover, uint256 at) external view returns (bool) {
        uint256 expiresAt = _keys[_keyId(TeeRole.Prover, marketId, _proverKeyOf[marketId][prover])].expiresAt;
        return _proverKeySince[marketId][prover] <= at && at < expiresAt;
    }

    /// @inheritdoc ITeeRegistry
    function proverEnclave(uint256 marketId, address operator)
        external
        view
        returns (address signer, bytes memory eciesPublicKey_)
    {
        signer = _proverKeyOf[marketId][operator];
        if (!isActive(TeeRole.Prover, marketId, signer)) return (address(0), "");
        eciesPublicKey_ = _keys[_keyId(TeeRole.Prover, marketId, signer)].eciesPublicKey;
    }

    /// @inheritdoc ITeeRegistry
    function eciesPublicKey(TeeRole role, uint256 marketId, address signer) external view returns (bytes memory) {
        if (!isActive(role, marketId, signer)) return "";
        return _keys[_keyId(role, marketId, signer)].eciesPublicKey;
    }

    /// @notice Whether a measurement is allowed for a role and market.
    function measurementAllowed(TeeRole role, uint256 marketId, bytes32 measurement) external view returns (bool) {
        return _allowed[_policyKey(role, marketId)][measurement];
    }

    /// @inheritdoc ITeeRegistry
    function reportDataFor(KeyBinding calldata binding) external view returns (bytes memory) {
        return _reportData(binding);
    }

    /// @inheritdoc ITeeRegistry
    function measurementOf(
        bytes memory mrTd,
        bytes memory rtmr0,
        bytes memory rtmr1,
        bytes memory rtmr2,
        bytes memory rtmr3
    ) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(mrTd, rtmr0, rtmr1, rtmr2, rtmr3));
    }

    // ---------------------------------------------------------------- internal

    /// @dev Report data = keccak256 of the binding (chain and registry included) ‖ 32 zero bytes.
    function _reportData(KeyBinding calldata b) internal view returns (bytes memory) {
        bytes32 h = keccak256(
            abi.encode(
                BINDING_TYPEHASH,
                uint8(b.role),
                b.marketId,
                b.signer,
                keccak256(b.eciesPublicKey),
                b.operator,
                block.chainid,
                address(this),
                b.blockNumber,
                b.blockHash
            )
        );
        return abi.encodePacked(h, bytes32(0));
    }

    function _checkRecentBlock(uint256 blockNumber, bytes32 blockHash) internal view {
        if (blockNumber >= block.number || block.number - blockNumber > maxBlockNumberDiff) {
            revert BlockNotRecent(blockNumber, block.number);
        }
        if (blockhash(blockNumber) != blockHash || blockHash == bytes32(0)) revert BlockHashMismatch(blockNumber);
    }

    function _policyKey(TeeRole role, uint256 marketId) internal pure returns (bytes32) {
        return keccak256(abi.encode(role, marketId));
    }

    function _keyId(TeeRole role, uint256 marketId, address signer) internal pure returns (bytes32) {
        return keccak256(abi.encode(role, marketId, signer));
    }
}
