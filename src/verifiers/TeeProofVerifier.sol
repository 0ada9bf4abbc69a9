// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {EIP712} from "solady/utils/EIP712.sol";
import {IEnclaveKeys} from "../interfaces/IEnclaveKeys.sol";
import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {ProofContext} from "../types/ProofContext.sol";
import {TeeProof, TeeProofLibrary} from "../types/TeeProof.sol";
import {BatchLength} from "../libraries/BatchLength.sol";

/// @title TeeProofVerifier
/// @notice A market's verifier for TEE proofs: the market's program, run inside the assigned prover's attested
/// enclave, whose prover key (registered for this market, so its measurement is one the market allows) signs what
/// it ran: the program, its public values, and the request, inputs and prover it ran them for.
/// @dev One instance per market of one marketplace, and per program. A signature is a statement about one request:
/// it binds the chain, this verifier, the marketplace, the request id, the request's inputs digest (which the
/// enclave recomputes from the bytes it evaluated, so it states which private inputs it ran) and the prover, and it
/// must come from an enclave key of the assigned prover in this market. So a proof cannot be replayed into another
/// request (same public values, other inputs), by another prover, or on another chain, verifier or marketplace.
/// Encodings:
/// - publicInputs: the program's public values (any bytes).
/// - proof: abi.encode(uint8 digestKind, bytes32 programId, bytes signature) with a 65-byte r‖s‖v signature.
///   digestKind 0 (EIP-712): TeeProof(address marketplace,uint256 requestId,address prover,bytes32 inputsDigest,
///   bytes32 programId,bytes32 publicValuesHash) under this contract's domain (chain and verifier).
///   digestKind 1 (sp1-tee-prover layout): keccak256(sha256(programId ‖ committed public values)), where the
///   committed public values must be bindingWord(context) ‖ publicInputs: the enclave commits the same binding as a
///   32-byte prefix of what it signs. That word must be computed by the attested code itself (Cairn's prover does;
///   an SP1-style program must derive it from the inputs it evaluated), never copied from its host.
contract TeeProofVerifier is IProofVerifier, EIP712 {
    error ZeroAddress();
    error WrongProgram(bytes32 expected, bytes32 found);
    error UnknownDigestKind(uint8 kind);
    /// @notice The marketplace asked about a request of another market: this verifier serves `marketId` only.
    error RequestOfAnotherMarket(uint256 requestId, uint256 marketId);

    /// @notice The EIP-712 typehash of the TEE proofs this verifier accepts (src/types/TeeProof.sol).
    bytes32 public constant TEE_PROOF_TYPEHASH = TeeProofLibrary.TEE_PROOF_TYPEHASH;
    uint8 public constant DIGEST_EIP712 = 0;
    uint8 public constant DIGEST_SP1_TEE = 1;

    /// @notice The enclave-key registry (TeeRegistry): which prover an active enclave key of a market works for.
    IEnclaveKeys public immutable registry;
    /// @notice The marketplace whose requests this verifier's proofs fulfil.
    address public immutable marketplace;
    /// @notice The market this verifier serves: the one its prover keys are registered for and its requests belong to.
    uint256 public immutable marketId;
    /// @notice The program this market proves (e.g. a WASM module hash or a zkVM verifying key).
    bytes32 public immutable programId;

    constructor(IEnclaveKeys registry_, address marketplace_, uint256 marketId_, bytes32 programId_) {
        if (address(registry_) == address(0) || marketplace_ == address(0)) revert ZeroAddress();
        registry = registry_;
        marketplace = marketplace_;
        marketId = marketId_;
        programId = programId_;
    }

    /// @inheritdoc IProofVerifier
    /// @dev Reverts on a malformed proof, a foreign program, an unknown digest kind or a request of another market;
    /// false for a signature that does not recover to an active enclave key of `context.prover` in this market.
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata context)
        external
        view
        returns (bool)
    {
        (uint8 kind, bytes32 program, bytes memory signature) = abi.decode(proof, (uint8, bytes32, bytes));
        if (program != programId) revert WrongProgram(programId, program);
        // The marketplace's request ids carry their market in the bits above the low 64.
        if (context.requestId >> 64 != marketId) revert RequestOfAnotherMarket(context.requestId, marketId);
        address signer = ECDSA.tryRecover(digest(kind, publicInputs, context), signature);
        address operator = registry.enclaveOperator(marketId, signer);
        return operator != address(0) && operator == context.prover;
    }

    /// @inheritdoc IProofVerifier
    /// @dev The same check per item; what batching saves is the registry: consecutive items signed by the same
    /// enclave key (a prover's batch usually is) share one `enclaveOperator` call. A proof that is not the canonical
    /// abi.encode(uint8, bytes32, bytes) with a 65-byte signature, names another program or digest kind, or is for a
    /// request of another market is false here (verify reports why).
    function verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs, ProofContext[] calldata contexts)
        external
        view
        returns (bool[] memory valid)
    {
        uint256 n = BatchLength.check(publicInputs.length, proofs.length, contexts.length);
        valid = new bool[](n);
        address lastSigner;
        address lastOperator;
        for (uint256 i; i < n; ++i) {
            address signer = _batchSigner(publicInputs[i], proofs[i], contexts[i]);
            if (signer == address(0)) continue;
            if (signer != lastSigner) {
                (lastSigner, lastOperator) = (signer, registry.enclaveOperator(marketId, signer));
            }
            valid[i] = lastOperator != address(0) && lastOperator == contexts[i].prover;
        }
    }

    /// @dev The signer of a canonically encoded proof of this program, for a request of this market; zero otherwise.
    function _batchSigner(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata context)
        internal
        view
        returns (address)
    {
        // abi.encode(uint8 kind, bytes32 program, bytes signature) with a 65-byte signature: 7 words.
        if (proof.length != 0xe0 || uint256(bytes32(proof[0x40:0x60])) != 0x60) return address(0);
        if (uint256(bytes32(proof[0x60:0x80])) != 65) return address(0);
        uint256 kind = uint256(bytes32(proof[0:0x20]));
        if (kind > DIGEST_SP1_TEE || bytes32(proof[0x20:0x40]) != programId) return address(0);
        if (context.requestId >> 64 != marketId) return address(0);
        // forge-lint: disable-next-line(unsafe-typecast): kind ≤ DIGEST_SP1_TEE, checked above
        return ECDSA.tryRecoverCalldata(digest(uint8(kind), publicInputs, context), proof[0x80:0xc1]);
    }

    /// @inheritdoc IProofVerifier
    function validatePublicInputs(bytes calldata) external pure returns (bool) {
        return true;
    }

    /// @notice The digest the assigned prover's enclave signs for `publicValues` of the request in `context`, in the
    /// given form.
    function digest(uint8 kind, bytes calldata publicValues, ProofContext calldata context)
        public
        view
        returns (bytes32)
    {
        if (kind == DIGEST_EIP712) {
            return _hashTypedData(
                TeeProof({
                    marketplace: marketplace,
                    requestId: context.requestId,
                    prover: context.prover,
                    inputsDigest: context.inputsDigest,
                    programId: programId,
                    publicValuesHash: keccak256(publicValues)
                }).hash()
            );
        }
        if (kind == DIGEST_SP1_TEE) {
            return keccak256(abi.encodePacked(sha256(abi.encodePacked(programId, bindingWord(context), publicValues))));
        }
        revert UnknownDigestKind(kind);
    }

    /// @notice The 32 bytes that lead the public values an enclave commits in the sp1-tee-prover form (digest kind
    /// 1): keccak256(abi.encode(chainId, this verifier, marketplace, requestId, prover, inputsDigest)).
    function bindingWord(ProofContext calldata context) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                block.chainid, address(this), marketplace, context.requestId, context.prover, context.inputsDigest
            )
        );
    }

    function _domainNameAndVersion() internal pure override returns (string memory, string memory) {
        return ("Cairn TeeProofVerifier", "1");
    }
}
