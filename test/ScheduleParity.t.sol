// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {MarketplaceBase} from "../src/MarketplaceBase.sol";
import {IProverRegistry} from "../src/interfaces/IProverRegistry.sol";
import {Inputs} from "../src/types/Inputs.sol";

/// @notice Exposes MarketplaceBase's request checks in both forms: reverting (createRequest) and returning the failure
/// (a signed batch item, skipped instead of reverting the batch).
contract ScheduleParityHarness is MarketplaceBase {
    constructor() MarketplaceBase(IProverRegistry(address(0))) {}

    function checkSchedule(uint32 provingTime, uint32 matchingExpiry, uint32 deadline) external view {
        _checkSchedule(provingTime, matchingExpiry, deadline);
    }

    function scheduleFailure(uint32 provingTime, uint32 matchingExpiry, uint32 deadline)
        external
        view
        returns (bytes memory)
    {
        return _scheduleFailure(provingTime, matchingExpiry, deadline);
    }

    function inputsDigest(Inputs calldata inputs) external pure returns (bytes32) {
        return _inputsDigest(inputs);
    }

    function inputsDigestOrFailure(Inputs calldata inputs) external pure returns (bytes32, bytes memory) {
        return _inputsDigestOrFailure(inputs);
    }
}

/// @notice The signed path's reason-returning checks (SignedRequestModule) and createRequest's reverting ones are two
/// forms of one rule set: for any input, the failure one returns is the error the other reverts with, and they pass
/// the same inputs (with the same digest).
contract ScheduleParityTest is Test {
    ScheduleParityHarness internal harness;

    function setUp() public {
        harness = new ScheduleParityHarness();
        vm.warp(1_750_000_000);
    }

    function testFuzz_scheduleFailureIsCheckScheduleRevert(uint32 provingTime, uint32 matchingExpiry, uint32 deadline)
        public
        view
    {
        // Around now, so every rule is reached.
        if (deadline % 2 == 0) deadline = uint32(block.timestamp + deadline % 120 days) - 1 days;
        if (matchingExpiry % 2 == 0) matchingExpiry = uint32(block.timestamp + matchingExpiry % 120 days) - 1 days;
        if (provingTime % 2 == 0) provingTime %= 2 days;
        bytes memory failure = harness.scheduleFailure(provingTime, matchingExpiry, deadline);
        (bool ok, bytes memory reverted) = address(harness)
            .staticcall(abi.encodeCall(ScheduleParityHarness.checkSchedule, (provingTime, matchingExpiry, deadline)));
        assertEq(ok, failure.length == 0);
        assertEq(reverted, failure);
    }

    function testFuzz_inputsDigestOrFailureIsInputsDigest(bytes calldata data, bool withUri, bytes32 digest, uint8 mode)
        public
        view
    {
        // Reach the consistent cases too: the data's own digest, or no digest.
        if (mode % 3 == 0) digest = keccak256(data);
        if (mode % 3 == 1) digest = bytes32(0);
        Inputs memory inputs = Inputs({data: data, uri: withUri ? "ipfs://inputs" : "", digest: digest});
        (bytes32 returned, bytes memory failure) = harness.inputsDigestOrFailure(inputs);
        (bool ok, bytes memory answer) =
            address(harness).staticcall(abi.encodeCall(ScheduleParityHarness.inputsDigest, (inputs)));
        assertEq(ok, failure.length == 0);
        if (ok) assertEq(abi.decode(answer, (bytes32)), returned);
        else assertEq(answer, failure);
    }
}
