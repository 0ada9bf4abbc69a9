// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Assignment} from "../../src/types/Assignment.sol";
import {Inputs} from "../../src/types/Inputs.sol";
import {SignedRequest} from "../../src/types/SignedRequest.sol";

interface IEip712Domain {
    function eip712Domain()
        external
        view
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory);
}

/// @notice EIP-712 digests of what matchers and prover enclaves sign, written from the spec (not the contract's
/// hashing library) so tests catch drift between the two.
library MarketplaceDigests {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ASSIGNMENT_TYPEHASH =
        keccak256("Assignment(uint256 requestId,address prover,uint96 price,uint32 provingTime,bytes inputKey)");
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "AssignmentBatch(Assignment[] assignments,uint64 validUntil)Assignment(uint256 requestId,address prover,uint96 price,uint32 provingTime,bytes inputKey)"
    );
    bytes32 internal constant INVALID_INPUTS_TYPEHASH =
        keccak256("InvalidInputs(uint256 requestId,bytes32 inputsDigest)");
    bytes32 internal constant INVALID_INPUT_KEY_TYPEHASH =
        keccak256("InvalidInputKey(uint256 requestId,bytes32 inputsDigest,bytes32 inputKeyHash)");

    bytes32 internal constant FAST_ASSIGNMENT_TYPEHASH =
        keccak256("FastAssignment(uint256 requestId,address prover,uint96 price,uint64 validUntil)");

    bytes32 internal constant INPUTS_TYPEHASH = keccak256("Inputs(bytes data,string uri,bytes32 digest)");
    bytes32 internal constant SIGNED_REQUEST_TYPEHASH = keccak256(
        "SignedRequest(address requester,uint256 nonce,uint32 marketId,uint96 maxReward,uint32 provingTime,uint32 matchingExpiry,uint32 deadline,uint16 speedPreferenceBps,address refundAddress,Inputs publicInputs,Inputs privateInputs)Inputs(bytes data,string uri,bytes32 digest)"
    );

    function domainSeparator(address marketplace) internal view returns (bytes32) {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            IEip712Domain(marketplace).eip712Domain();
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes(version)), chainId, verifyingContract)
        );
    }

    function assignmentBatch(address marketplace, Assignment[] memory assignments, uint64 validUntil)
        internal
        view
        returns (bytes32)
    {
        bytes32[] memory items = new bytes32[](assignments.length);
        for (uint256 i; i < assignments.length; ++i) {
            items[i] = keccak256(
                abi.encode(
                    ASSIGNMENT_TYPEHASH,
                    assignments[i].requestId,
                    assignments[i].prover,
                    assignments[i].price,
                    assignments[i].provingTime,
                    keccak256(assignments[i].inputKey)
                )
            );
        }
        bytes32 structHash = keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(items)), validUntil));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(marketplace), structHash));
    }

    function invalidInputs(address marketplace, uint256 requestId, bytes32 inputsDigest)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(INVALID_INPUTS_TYPEHASH, requestId, inputsDigest));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(marketplace), structHash));
    }

    function invalidInputKey(address marketplace, uint256 requestId, bytes32 inputsDigest, bytes32 inputKeyHash)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(INVALID_INPUT_KEY_TYPEHASH, requestId, inputsDigest, inputKeyHash));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(marketplace), structHash));
    }

    function fastAssignment(address marketplace, uint256 requestId, address prover, uint96 price, uint64 validUntil)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(FAST_ASSIGNMENT_TYPEHASH, requestId, prover, price, validUntil));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(marketplace), structHash));
    }

    function signedRequest(address marketplace, SignedRequest memory r) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(marketplace), signedRequestStructHash(r)));
    }

    /// @notice hashStruct(SignedRequest), written out here rather than taken from SignedRequestLibrary.
    function signedRequestStructHash(SignedRequest memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                SIGNED_REQUEST_TYPEHASH,
                r.requester,
                r.nonce,
                r.marketId,
                r.maxReward,
                r.provingTime,
                r.matchingExpiry,
                r.deadline,
                r.speedPreferenceBps,
                r.refundAddress,
                _inputs(r.publicInputs),
                _inputs(r.privateInputs)
            )
        );
    }

    function _inputs(Inputs memory i) private pure returns (bytes32) {
        return keccak256(abi.encode(INPUTS_TYPEHASH, keccak256(i.data), keccak256(bytes(i.uri)), i.digest));
    }
}
