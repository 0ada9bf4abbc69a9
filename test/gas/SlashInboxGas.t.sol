// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SlashInboxFixture} from "../restaking/SlashInbox.t.sol";
import {SlashInbox} from "../../src/restaking/SlashInbox.sol";
import {Slash} from "../../src/types/Slash.sol";

/// @notice Committed gas of delivering slashes on Ethereum (snapshots/SlashInboxGasTest.json): a 2-of-3 quorum-signed
/// batch of 1 and of 10 instant slashes executed on a real Symbiotic vault. Transactions: 21k base included.
contract SlashInboxGasTest is SlashInboxFixture {
    function setUp() public {
        _setUpInbox();
    }

    function test_gas_slashBatches() public {
        Slash[] memory one = _slashes(1, 10e18);
        bytes[] memory sigs = _signed(one);
        inbox.deliver(one, sigs);
        vm.snapshotGasLastCall("deliver: batch of 1 slash (2-of-3 relayers, instant slasher)");

        Slash[] memory ten = _slashes(11, 10e18);
        // Fresh task ids (1 was delivered above).
        Slash[] memory batch = new Slash[](10);
        for (uint256 i; i < 10; ++i) {
            batch[i] = ten[i + 1];
        }
        sigs = _signed(batch);
        inbox.deliver(batch, sigs);
        vm.snapshotGasLastCall("deliver: batch of 10 slashes (2-of-3 relayers, instant slasher)");
    }
}
