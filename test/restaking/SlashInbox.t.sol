// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SymbioticFixture} from "../symbiotic/CairnNetworkMiddleware.t.sol";
import {TeeRegistryFixture} from "../attestation/TeeRegistry.t.sol";
import {SymbioticCore} from "../../script/symbiotic/SymbioticCore.sol";
import {SlashInbox} from "../../src/restaking/SlashInbox.sol";
import {CairnNetworkMiddleware} from "../../src/restaking/CairnNetworkMiddleware.sol";
import {TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IOperatorQuorum} from "../../src/restaking/interfaces/IOperatorQuorum.sol";
import {ISlashInbox} from "../../src/restaking/interfaces/ISlashInbox.sol";
import {ISlashExecutor} from "../../src/restaking/interfaces/ISlashExecutor.sol";
import {Slash} from "../../src/types/Slash.sol";

/// @notice The Ethereum side: real Symbiotic core, Cairn's middleware, attested relayers and the slash inbox.
abstract contract SlashInboxFixture is SymbioticFixture, TeeRegistryFixture {
    uint256 internal sourceChainId = 4242;
    address internal mirror = makeAddr("stakeMirror");

    SlashInbox internal inbox;
    uint256[3] internal relayerKeys;
    address[3] internal relayerAddrs;
    address internal vault;

    function _setUpInbox() internal {
        _setUpRegistry(); // attested relayer keys (Ethereum side), dev TDX quotes, time inside the dev collateral window
        _setUpInboxWithoutRegistry();
    }

    /// For tests that already set up a TEE registry (e.g. next to a marketplace).
    function _setUpInboxWithoutRegistry() internal {
        _setUpSymbiotic();
        // Relayer keys stay attested across a vault epoch (the tests jump past slashing windows).
        vm.prank(registryOwner);
        teeRegistry.setAttestValiditySeconds(30 days);
        _allow(TeeRole.Relayer, 0);
        for (uint256 i; i < 3; ++i) {
            (relayerAddrs[i], relayerKeys[i]) = makeAddrAndKey(string.concat("relayer", vm.toString(i)));
            _register(_binding(TeeRole.Relayer, 0, relayerAddrs[i]));
            vm.roll(block.number + 1);
            vm.setBlockhash(block.number - 1, keccak256(abi.encode("relayer block", i)));
        }
        inbox = new SlashInbox(governance, middleware, teeRegistry, sourceChainId, mirror, 2);
        vm.prank(governance);
        middleware.setSlashMessenger(address(inbox));
        vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 1000e18);
        _bind();
        vm.warp(block.timestamp + 10);
    }

    function _slashes(uint256 n, uint256 amount) internal view returns (Slash[] memory s) {
        s = new Slash[](n);
        for (uint256 i; i < n; ++i) {
            s[i] = Slash(i + 1, boundProver, vault, amount, uint48(block.timestamp - 1));
        }
    }

    function _signed(Slash[] memory s) internal view returns (bytes[] memory) {
        return _relayerSignatures(inbox.batchDigest(s));
    }

    /// Two of the three relayer operators (0 and 2), ordered by operator.
    function _relayerSignatures(bytes32 digest) internal view returns (bytes[] memory) {
        uint256[] memory keys = new uint256[](2);
        (keys[0], keys[1]) = (relayerKeys[0], relayerKeys[2]);
        return _quorumSignatures(digest, keys);
    }
}

/// @notice Slashes from the marketplace chain reach real Symbiotic vaults: a quorum-signed batch delivered to the
/// inbox, executed by the middleware, replay-proof, with failing items skipped and reported.
contract SlashInboxTest is SlashInboxFixture {
    function setUp() public {
        _setUpInbox();
    }

    function test_deliver_slashesTheVault() public {
        Slash[] memory s = _slashes(1, 100e18);
        assertEq(inbox.deliver(s, _signed(s)), 1);
        assertEq(IVault(vault).activeStake(), 900e18);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, mirror, uint256(1)));
        (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Executed));
    }

    function test_deliver_replayIsSkippedNotDoubled() public {
        Slash[] memory s = _slashes(1, 100e18);
        bytes[] memory sigs = _signed(s);
        inbox.deliver(s, sigs);
        assertEq(inbox.deliver(s, sigs), 0);
        assertEq(IVault(vault).activeStake(), 900e18);
    }

    function test_deliver_batchOfTen() public {
        Slash[] memory s = _slashes(10, 10e18);
        assertEq(inbox.deliver(s, _signed(s)), 10);
        assertEq(IVault(vault).activeStake(), 900e18);
    }

    /// A public, signed batch resubmitted with too little gas reverts instead of skipping every slash.
    function test_RevertWhen_starvedOfGas() public {
        Slash[] memory s = _slashes(1, 100e18);
        bytes[] memory sigs = _signed(s);
        vm.expectRevert();
        inbox.deliver{gas: 150_000}(s, sigs);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, mirror, uint256(1)));
        (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.None), "still deliverable");
        assertEq(inbox.deliver(s, sigs), 1);
    }

    function test_RevertWhen_quorumMissing() public {
        Slash[] memory s = _slashes(1, 100e18);
        bytes[] memory sigs = _signed(s);
        bytes[] memory one = new bytes[](1);
        one[0] = sigs[0];
        vm.expectRevert(abi.encodeWithSelector(IOperatorQuorum.QuorumNotReached.selector, 1, 2));
        inbox.deliver(s, one);
    }

    function test_RevertWhen_batchAltered() public {
        Slash[] memory s = _slashes(1, 100e18);
        bytes[] memory sigs = _signed(s);
        s[0].amount = 1000e18;
        vm.expectRevert(); // signatures recover other (unregistered or unsorted) keys
        inbox.deliver(s, sigs);
    }

    // ---------------------------------------------------------------- issue 9 regressions

    /// Finding 1: one operator holding two attested relayer keys signs a slash for a task that never existed; the
    /// inbox counts it once and refuses, and the vault keeps its stake.
    function test_RevertWhen_oneOperatorSignsAFabricatedSlash() public {
        address operatorOfRelayer0 = _operatorOfKey(relayerAddrs[0]);
        uint256 secondKey = _registerExtraRelayerKey(operatorOfRelayer0, "relayer0-second-key");
        Slash[] memory s = _slashes(1, 1000e18);
        bytes[] memory sigs = _twoSignatures(inbox.batchDigest(s), relayerKeys[0], secondKey);
        vm.expectRevert(
            abi.encodeWithSelector(
                IOperatorQuorum.OperatorsNotAscending.selector, operatorOfRelayer0, operatorOfRelayer0
            )
        );
        inbox.deliver(s, sigs);
        assertEq(IVault(vault).activeStake(), 1000e18);
    }

    /// Finding 2: the operator moves to a new prover after the old prover's task was backed and missed; the queued
    /// slash, delivered afterwards, still reaches the operator's stake in full.
    function test_queuedSlashOfAReboundOperatorStillLands() public {
        Slash[] memory s = _slashes(1, 100e18); // captured before the move
        (address newProver, uint256 newProverKey) = makeAddrAndKey("new prover");
        _bindTo(newProver, newProverKey);
        assertEq(middleware.operatorOf(boundProver), address(0));
        assertEq(inbox.deliver(s, _signed(s)), 1);
        assertEq(IVault(vault).activeStake(), 900e18);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, mirror, uint256(1)));
        (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Executed));
    }

    /// Finding 8 (skipped deliveries): a slash too old for the vault fails for good on Ethereum, recorded there so its
    /// outcome goes back to the mirror; a replay of the batch is skipped as already seen.
    function test_undeliverableSlashIsRecordedAsFailed() public {
        Slash[] memory s = _slashes(1, 100e18);
        vm.warp(block.timestamp + EPOCH + 1);
        bytes[] memory sigs = _signed(s);
        assertEq(inbox.deliver(s, sigs), 1);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, mirror, uint256(1)));
        (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Failed));
        vm.expectEmit(address(inbox));
        emit ISlashInbox.SlashSkipped(
            orderId, 1, abi.encodeWithSelector(ISlashExecutor.SlashOrderAlreadySeen.selector, orderId)
        );
        assertEq(inbox.deliver(s, sigs), 0);
    }

    /// Whatever gas limit a submitter picks for a public, signed batch, a due slash is never recorded as failed:
    /// starved calls revert or are skipped (deliverable again), Symbiotic's burner-hook gas check included.
    function test_noGasLimitTurnsADueSlashIntoAFailure() public {
        address hooked = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH, VETO, true);
        _fund(hooked, 1000e18);
        vm.warp(block.timestamp + 10);
        Slash[] memory s = new Slash[](1);
        s[0] = Slash(1, boundProver, hooked, 100e18, uint48(block.timestamp - 1));
        bytes[] memory sigs = _signed(s);
        bytes32 orderId = keccak256(abi.encode(sourceChainId, mirror, uint256(1)));
        bool executedOnce;
        for (uint256 gas = 100_000; gas <= 700_000; gas += 5000) {
            uint256 snapshot = vm.snapshotState();
            try inbox.deliver{gas: gas}(s, sigs) {} catch {}
            (,, ISlashExecutor.SlashState state) = middleware.slashes(orderId);
            assertTrue(state != ISlashExecutor.SlashState.Failed, "a starved delivery recorded a failure");
            if (state == ISlashExecutor.SlashState.Executed) executedOnce = true;
            vm.revertToState(snapshot);
        }
        assertTrue(executedOnce, "some gas limit delivers it");
    }
}
