// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Assignment, AssignmentLibrary} from "../../src/types/Assignment.sol";
import {FastAssignment, FastAssignmentLibrary} from "../../src/types/FastAssignment.sol";
import {Inputs, InputsLibrary} from "../../src/types/Inputs.sol";
import {InvalidInputKey, InvalidInputKeyLibrary} from "../../src/types/InvalidInputKey.sol";
import {InvalidInputs, InvalidInputsLibrary} from "../../src/types/InvalidInputs.sol";
import {OperatorBindingLibrary} from "../../src/types/OperatorBinding.sol";
import {MatchedRequest} from "../../src/types/Request.sol";
import {SignedRequest, SignedRequestLibrary} from "../../src/types/SignedRequest.sol";
import {SlashLibrary} from "../../src/types/Slash.sol";
import {SlashOutcomeLibrary} from "../../src/types/SlashOutcome.sol";
import {SnapshotLibrary} from "../../src/types/Snapshot.sol";
import {TeeProofLibrary} from "../../src/types/TeeProof.sol";

/// @notice Every EIP-712 type of the type libraries (src/types/*.sol): its encodeType, composed from the libraries' own
/// type strings (a referenced type appended after the type that references it, in alphabetical order, as EIP-712
/// says), and the typehash the contracts hash with. test/types/TypeHashes.t.sol checks every typehash against its
/// encodeType; the SDK's parity test (test-ts/typed-data.test.ts) deploys this harness and checks the SDK's types
/// against both.
/// Also the struct hashes of the marketplace's types, which the marketplace has no view of (it is at the
/// contract size limit): the parity test compares them with viem's.
contract TypedDataHarness {
    struct TypeDefinition {
        string primaryType;
        string encodeType;
        bytes32 typehash;
    }

    function types() external pure returns (TypeDefinition[] memory t) {
        t = new TypeDefinition[](14);
        t[0] = TypeDefinition("Assignment", AssignmentLibrary.ASSIGNMENT_TYPE, AssignmentLibrary.ASSIGNMENT_TYPEHASH);
        t[1] = TypeDefinition(
            "AssignmentBatch",
            string.concat(AssignmentLibrary.ASSIGNMENT_BATCH_TYPE, AssignmentLibrary.ASSIGNMENT_TYPE),
            AssignmentLibrary.ASSIGNMENT_BATCH_TYPEHASH
        );
        t[2] = TypeDefinition(
            "InvalidInputs", InvalidInputsLibrary.INVALID_INPUTS_TYPE, InvalidInputsLibrary.INVALID_INPUTS_TYPEHASH
        );
        t[3] = TypeDefinition(
            "OperatorBinding",
            OperatorBindingLibrary.OPERATOR_BINDING_TYPE,
            OperatorBindingLibrary.OPERATOR_BINDING_TYPEHASH
        );
        t[4] = TypeDefinition(
            "StakeSnapshot", SnapshotLibrary.STAKE_SNAPSHOT_TYPE, SnapshotLibrary.STAKE_SNAPSHOT_TYPEHASH
        );
        t[5] = TypeDefinition("Slash", SlashLibrary.SLASH_TYPE, SlashLibrary.SLASH_TYPEHASH);
        t[6] = TypeDefinition(
            "SlashBatch",
            string.concat(SlashLibrary.SLASH_BATCH_TYPE, SlashLibrary.SLASH_TYPE),
            SlashLibrary.SLASH_BATCH_TYPEHASH
        );
        t[7] = TypeDefinition(
            "SlashOutcome", SlashOutcomeLibrary.SLASH_OUTCOME_TYPE, SlashOutcomeLibrary.SLASH_OUTCOME_TYPEHASH
        );
        t[8] = TypeDefinition(
            "SlashOutcomes",
            string.concat(SlashOutcomeLibrary.SLASH_OUTCOMES_TYPE, SlashOutcomeLibrary.SLASH_OUTCOME_TYPE),
            SlashOutcomeLibrary.SLASH_OUTCOMES_TYPEHASH
        );
        t[9] = TypeDefinition("TeeProof", TeeProofLibrary.TEE_PROOF_TYPE, TeeProofLibrary.TEE_PROOF_TYPEHASH);
        t[10] = TypeDefinition("Inputs", InputsLibrary.INPUTS_TYPE, InputsLibrary.INPUTS_TYPEHASH);
        t[11] = TypeDefinition(
            "SignedRequest",
            string.concat(SignedRequestLibrary.SIGNED_REQUEST_TYPE, InputsLibrary.INPUTS_TYPE),
            SignedRequestLibrary.SIGNED_REQUEST_TYPEHASH
        );
        t[12] = TypeDefinition(
            "InvalidInputKey",
            InvalidInputKeyLibrary.INVALID_INPUT_KEY_TYPE,
            InvalidInputKeyLibrary.INVALID_INPUT_KEY_TYPEHASH
        );
        t[13] = TypeDefinition(
            "FastAssignment", FastAssignmentLibrary.FAST_ASSIGNMENT_TYPE, FastAssignmentLibrary.FAST_ASSIGNMENT_TYPEHASH
        );
    }

    /// @notice hashStruct(AssignmentBatch) of the assignments a matcher signs.
    function assignmentBatchHash(Assignment[] calldata assignments, uint64 validUntil) external pure returns (bytes32) {
        return AssignmentLibrary.hashBatch(assignments, validUntil);
    }

    /// @notice hashStruct(AssignmentBatch) of a batch as ProofMarketplace.assign takes it.
    function matchedBatchHash(MatchedRequest[] calldata matches, bytes[] calldata inputKeys, uint64 validUntil)
        external
        pure
        returns (bytes32)
    {
        return AssignmentLibrary.hashBatch(matches, inputKeys, validUntil);
    }

    /// @notice hashStruct(InvalidInputs).
    function invalidInputsHash(uint256 requestId, bytes32 inputsDigest) external pure returns (bytes32) {
        return InvalidInputs(requestId, inputsDigest).hash();
    }

    /// @notice hashStruct(InvalidInputKey).
    function invalidInputKeyHash(uint256 requestId, bytes32 inputsDigest, bytes32 inputKeyHash)
        external
        pure
        returns (bytes32)
    {
        return InvalidInputKey(requestId, inputsDigest, inputKeyHash).hash();
    }

    /// @notice hashStruct(SignedRequest) (the marketplace's signedRequestDigest gives the digest).
    function signedRequestHash(SignedRequest calldata request) external pure returns (bytes32) {
        return request.hash();
    }

    /// @notice hashStruct(FastAssignment) (the marketplace's fastAssignmentDigest gives the digest).
    function fastAssignmentHash(FastAssignment calldata assignment) external pure returns (bytes32) {
        return FastAssignment(assignment.requestId, assignment.prover, assignment.price, assignment.validUntil).hash();
    }

    /// @notice hashStruct(Inputs).
    function inputsHash(Inputs calldata inputs) external pure returns (bytes32) {
        return inputs.hash();
    }
}
