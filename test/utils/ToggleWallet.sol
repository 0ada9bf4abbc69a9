// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "solady/utils/ECDSA.sol";

/// @notice An ERC-1271 wallet approving what its owner signs until the owner makes it refuse everything: the wallet
/// that answers one way when the matcher acknowledges its order and another when the batch is mined. Deployed by the
/// order-stream test on anvil (test-ts/matcher-orders.test.ts).
contract ToggleWallet {
    error NotOwner(address caller);
    error CallFailed(bytes reason);

    event RefusingSet(bool refusing);

    address public immutable owner;
    bool public refusing;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Makes every later signature check fail (or pass again).
    function setRefusing(bool refusing_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        refusing = refusing_;
        emit RefusingSet(refusing_);
    }

    /// @notice Calls `to` with `data` as the wallet (approve, deposit).
    function execute(address to, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        bool ok;
        (ok, result) = to.call(data);
        if (!ok) revert CallFailed(result);
    }

    /// @notice ERC-1271: the owner's ECDSA signature, unless refusing.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (!refusing && ECDSA.recoverCalldata(hash, signature) == owner) return 0x1626ba7e;
        return 0xffffffff;
    }
}
