// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Assignment} from "../../src/types/Assignment.sol";

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
}
