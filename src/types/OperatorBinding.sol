// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

using OperatorBindingLibrary for OperatorBinding global;

/// @notice What a Symbiotic operator and a marketplace prover each sign (EIP-712 `OperatorBinding`, under the
/// network middleware's domain) to bind the operator's stake to the prover (CairnNetworkMiddleware.bindOperator).
struct OperatorBinding {
    address operator;
    address prover;
    /// The signer's own binding nonce at the middleware (operator and prover each sign with theirs).
    uint256 nonce;
    /// Unix time after which the signature no longer binds.
    uint256 deadline;
}

/// @title OperatorBindingLibrary
/// @notice EIP-712 type string and struct hash of `OperatorBinding`.
/// @dev The typehash is a literal (see AssignmentLibrary); test/types/TypeHashes.t.sol checks it.
library OperatorBindingLibrary {
    string internal constant OPERATOR_BINDING_TYPE =
        "OperatorBinding(address operator,address prover,uint256 nonce,uint256 deadline)";
    /// keccak256(abi.encodePacked(OPERATOR_BINDING_TYPE))
    bytes32 internal constant OPERATOR_BINDING_TYPEHASH =
        0xdc4f06a7f9e1d376863c46a798249b5499e2f8d3968caa213e1288c4991e341f;

    /// @notice hashStruct(OperatorBinding).
    function hash(OperatorBinding memory b) internal pure returns (bytes32) {
        return keccak256(abi.encode(OPERATOR_BINDING_TYPEHASH, b.operator, b.prover, b.nonce, b.deadline));
    }
}
