// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProofContext} from "../types/ProofContext.sol";

/// @title IProofVerifier
/// @notice One interface for every proving system a market can use (Groth16, TEE, MultiProof, ...).
/// @dev Adapters return false for a proof that does not verify and revert only on malformed encodings.
interface IProofVerifier {
    /// @notice The caller left too little gas to tell an invalid proof from an interrupted check. The marketplace
    /// always re-throws it, so a batch can never turn a gas shortfall into a skipped item.
    error InsufficientGas(uint256 available, uint256 required);
    /// @notice verifyBatch was given arrays of different lengths.
    error BatchLengthMismatch(uint256 publicInputs, uint256 proofs, uint256 contexts);

    /// @notice Whether `proof` proves the statement given by `publicInputs`, for the request and prover in `context`.
    /// @param publicInputs The request's public inputs, in the adapter's documented encoding.
    /// @param proof The proof, in the adapter's documented encoding.
    /// @param context The request being fulfilled, its inputs digest and its assigned prover, as the marketplace
    /// holds them: an adapter whose proofs could be copied (a signature) must bind them to it.
    function verify(bytes calldata publicInputs, bytes calldata proof, ProofContext calldata context)
        external
        view
        returns (bool);

    /// @notice Verifies several proofs at once: `valid[i]` is whether `proofs[i]` proves `publicInputs[i]` for
    /// `contexts[i]`, exactly as `verify` would answer, except that an item `verify` would revert on (a malformed
    /// encoding) is false here instead of reverting the batch.
    /// @dev Why `bool[]` and not a bitmap or a single bool: the marketplace keeps per-item semantics (an item that does
    /// not verify is skipped, the others are fulfilled), so it needs one answer per item, and an array has no size cap
    /// (a 256-bit bitmap would cap a group at 256 items). The marketplace re-runs `verify` on every item answered false,
    /// to report it with exactly the reason a single fulfilment would (InvalidProof or the adapter's own error), so a
    /// false answer here costs one more `verify` and nothing else; a true answer must be one `verify` would give
    /// (a batching adapter may be wrong with negligible probability only, see Groth16BatchVerifier).
    /// An adapter that gains nothing from batching loops over `verify`. Reverts BatchLengthMismatch on arrays of
    /// different lengths and InsufficientGas when too little gas is left to finish the check (never a false item).
    /// @param publicInputs Each item's public inputs, in the adapter's documented encoding.
    /// @param proofs Each item's proof, in the adapter's documented encoding.
    /// @param contexts Each item's request, inputs digest and assigned prover (see `verify`).
    /// @return valid One answer per item, in order.
    function verifyBatch(bytes[] calldata publicInputs, bytes[] calldata proofs, ProofContext[] calldata contexts)
        external
        view
        returns (bool[] memory valid);

    /// @notice Cheap well-formedness check of public inputs, run when a request posts them inline, so that no prover
    /// is assigned a request that no proof could ever satisfy for encoding reasons.
    function validatePublicInputs(bytes calldata publicInputs) external view returns (bool);
}
