// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {SymbioticCore} from "../../script/symbiotic/SymbioticCore.sol";
import {CairnNetworkMiddleware} from "../../src/restaking/CairnNetworkMiddleware.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {IOperatorRegistry} from "@symbioticfi/core/src/interfaces/IOperatorRegistry.sol";
import {IOptInService} from "@symbioticfi/core/src/interfaces/service/IOptInService.sol";
import {IVaultConfigurator} from "@symbioticfi/core/src/interfaces/IVaultConfigurator.sol";
import {IVault} from "@symbioticfi/core/src/interfaces/vault/IVault.sol";
import {IBaseDelegator} from "@symbioticfi/core/src/interfaces/delegator/IBaseDelegator.sol";
import {INetworkRestakeDelegator} from "@symbioticfi/core/src/interfaces/delegator/INetworkRestakeDelegator.sol";
import {IFullRestakeDelegator} from "@symbioticfi/core/src/interfaces/delegator/IFullRestakeDelegator.sol";
import {IBaseSlasher} from "@symbioticfi/core/src/interfaces/slasher/IBaseSlasher.sol";
import {IVetoSlasher} from "@symbioticfi/core/src/interfaces/slasher/IVetoSlasher.sol";
import {ISlashExecutor} from "../../src/restaking/interfaces/ISlashExecutor.sol";

/// @notice The real Symbiotic v1 core with Cairn's network middleware, an operator bound to a marketplace prover, and vaults.
abstract contract SymbioticFixture is Test {
    uint48 internal constant EPOCH = 7 days;
    uint48 internal constant VETO = 1 days;
    uint48 internal constant WINDOW = 3 days;

    SymbioticCore.Core internal core;
    CairnNetworkMiddleware internal middleware;
    DevToken internal restakedToken;
    address internal governance = makeAddr("governance");
    address internal messenger = makeAddr("messenger");
    address internal curator = makeAddr("curator");
    address internal staker = makeAddr("staker");
    address internal resolver = makeAddr("resolver");
    address internal operator;
    uint256 internal operatorKey;
    address internal boundProver;
    uint256 internal boundProverKey;

    function _setUpSymbiotic() internal {
        core = SymbioticCore.deploy(address(this));
        restakedToken = new DevToken("Restaked", "rTKN");
        middleware = new CairnNetworkMiddleware(
            governance,
            core.networkRegistry,
            core.networkMiddlewareService,
            core.vaultFactory,
            core.operatorRegistry,
            WINDOW
        );
        vm.startPrank(governance);
        middleware.setAcceptedCollateral(address(restakedToken), true);
        middleware.setSlashMessenger(messenger);
        vm.stopPrank();
        (operator, operatorKey) = makeAddrAndKey("operator");
        (boundProver, boundProverKey) = makeAddrAndKey("prover");
        vm.startPrank(operator);
        IOperatorRegistry(core.operatorRegistry).registerOperator();
        IOptInService(core.operatorNetworkOptInService).optIn(address(middleware));
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- helpers

    function _vault(uint64 slasherIndex, uint48 epoch) internal returns (address vault) {
        return _vault(slasherIndex, epoch, VETO);
    }

    /// A vault whose veto slasher (if `slasherIndex` is one) has a veto window of `vetoDuration`.
    function _vault(uint64 slasherIndex, uint48 epoch, uint48 vetoDuration) internal returns (address vault) {
        return _vault(slasherIndex, epoch, vetoDuration, false);
    }

    /// ... and whose slasher calls its burner as a hook when `burnerHook` (Symbiotic then checks the gas it has).
    function _vault(uint64 slasherIndex, uint48 epoch, uint48 vetoDuration, bool burnerHook)
        internal
        returns (address vault)
    {
        address[] memory curators = new address[](1);
        curators[0] = curator;
        bytes memory slasherParams = slasherIndex == SymbioticCore.VETO_SLASHER
            ? abi.encode(IVetoSlasher.InitParams(IBaseSlasher.BaseParams(burnerHook), vetoDuration, 3))
            : abi.encode(IBaseSlasher.BaseParams(burnerHook));
        bytes memory delegatorParams = abi.encode(
            INetworkRestakeDelegator.InitParams(
                IBaseDelegator.BaseParams(curator, address(0), curator), curators, curators
            )
        );
        return _vaultWith(SymbioticCore.NETWORK_RESTAKE_DELEGATOR, delegatorParams, slasherIndex, slasherParams, epoch);
    }

    /// A vault of `restakedToken`, curated by `curator`, with the given delegator and slasher.
    function _vaultWith(
        uint64 delegatorIndex,
        bytes memory delegatorParams,
        uint64 slasherIndex,
        bytes memory slasherParams,
        uint48 epoch
    ) internal returns (address vault) {
        (vault,,) = IVaultConfigurator(core.vaultConfigurator)
            .create(
                IVaultConfigurator.InitParams({
                version: SymbioticCore.VAULT_VERSION,
                owner: curator,
                vaultParams: abi.encode(
                    IVault.InitParams(
                        address(restakedToken),
                        address(0xdEaD),
                        epoch,
                        false,
                        false,
                        0,
                        curator,
                        curator,
                        curator,
                        curator,
                        curator
                    )
                ),
                delegatorIndex: delegatorIndex,
                delegatorParams: delegatorParams,
                withSlasher: true,
                slasherIndex: slasherIndex,
                slasherParams: slasherParams
            })
            );
    }

    /// Opts a vault in, gives Cairn's subnetwork and the operator all of it, and deposits `amount`.
    function _fund(address vault, uint256 amount) internal {
        vm.prank(curator);
        middleware.optInVault(vault);
        vm.prank(governance);
        middleware.setMaxNetworkLimit(vault, type(uint128).max);
        address delegator = IVault(vault).delegator();
        vm.startPrank(curator);
        INetworkRestakeDelegator(delegator).setNetworkLimit(middleware.subnetwork(), type(uint128).max);
        INetworkRestakeDelegator(delegator).setOperatorNetworkShares(middleware.subnetwork(), operator, 1);
        vm.stopPrank();
        vm.prank(operator);
        IOptInService(core.operatorVaultOptInService).optIn(vault);
        restakedToken.mint(staker, amount);
        vm.startPrank(staker);
        restakedToken.approve(vault, amount);
        IVault(vault).deposit(staker, amount);
        vm.stopPrank();
    }

    function _bind() internal {
        _bindTo(boundProver, boundProverKey);
    }

    /// The operator and `prover` both sign a binding (with their current nonces) and it is submitted.
    function _bindTo(address prover, uint256 proverKey) internal {
        (uint256 deadline, bytes memory operatorSig, bytes memory proverSig) = _bindingSignatures(prover, proverKey);
        middleware.bindOperator(operator, prover, deadline, operatorSig, proverSig);
    }

    function _bindingSignatures(address prover, uint256 proverKey)
        internal
        view
        returns (uint256 deadline, bytes memory operatorSig, bytes memory proverSig)
    {
        deadline = block.timestamp + 1 hours;
        operatorSig = _signBinding(operatorKey, prover, middleware.bindingNonce(operator), deadline);
        proverSig = _signBinding(proverKey, prover, middleware.bindingNonce(prover), deadline);
    }

    function _signBinding(uint256 key, address prover, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(key, middleware.bindingDigest(operator, prover, nonce, deadline));
        return abi.encodePacked(r, sig, v);
    }

    /// A funded veto-slasher vault with a resolver, and a slash `id` of 100 requested on it at the last second.
    function _requestedVetoSlash(bytes32 id, bool burnerHook) internal returns (address vault) {
        vault = _vault(SymbioticCore.VETO_SLASHER, EPOCH, VETO, burnerHook);
        _fund(vault, 500e18);
        _bind();
        vm.prank(governance);
        middleware.setResolver(vault, resolver);
        vm.warp(block.timestamp + 10);
        vm.prank(messenger);
        middleware.executeSlash(_order(id, vault, 100e18, uint48(block.timestamp - 1)));
    }

    function _order(bytes32 id, address vault, uint256 amount, uint48 capture)
        internal
        view
        returns (ISlashExecutor.SlashOrder memory)
    {
        return ISlashExecutor.SlashOrder(id, vault, boundProver, amount, capture);
    }
}

/// @notice Cairn's network middleware against the real Symbiotic v1 core: vault opt-in and its refusals, operator
/// binding, stake reads at a capture timestamp, instant and veto slashes, and a resolver's veto.
contract CairnNetworkMiddlewareTest is SymbioticFixture {
    // Slash order ids the tests expect back in revert data (string literals convert to bytes32 implicitly).
    bytes32 internal constant TASK_1 = "task-1";
    bytes32 internal constant TASK_2 = "task-2";
    bytes32 internal constant LATE_ORDER = "late";
    bytes32 internal constant SECOND_ORDER = "second";

    function setUp() public {
        vm.warp(1_800_000_000);
        _setUpSymbiotic();
    }

    // ---------------------------------------------------------------- vault opt-in

    function test_optInVault_andItsRefusals() public {
        address instant = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        vm.expectRevert(abi.encodeWithSelector(CairnNetworkMiddleware.NotVaultOwner.selector, address(this)));
        middleware.optInVault(instant);

        vm.prank(governance);
        middleware.setAcceptedCollateral(address(restakedToken), false);
        vm.prank(curator);
        vm.expectRevert(
            abi.encodeWithSelector(CairnNetworkMiddleware.CollateralNotAccepted.selector, address(restakedToken))
        );
        middleware.optInVault(instant);
        vm.prank(governance);
        middleware.setAcceptedCollateral(address(restakedToken), true);

        // A veto vault whose epoch minus veto window is shorter than the required slashing window.
        address tight = _vault(SymbioticCore.VETO_SLASHER, WINDOW + VETO - 1);
        vm.prank(curator);
        vm.expectRevert(
            abi.encodeWithSelector(CairnNetworkMiddleware.SlashingWindowTooShort.selector, WINDOW - 1, WINDOW)
        );
        middleware.optInVault(tight);

        vm.prank(curator);
        middleware.optInVault(instant);
        vm.prank(curator);
        vm.expectRevert(abi.encodeWithSelector(CairnNetworkMiddleware.VaultAlreadyOptedIn.selector, instant));
        middleware.optInVault(instant);
        assertEq(middleware.vaults().length, 1);

        vm.prank(curator);
        middleware.optOutVault(instant);
        assertEq(middleware.vaults().length, 0);
    }

    // ---------------------------------------------------------------- binding and stake

    function test_bindAndReadStakeAtACaptureTimestamp() public {
        address vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 500e18);
        _bind();
        assertEq(middleware.proverOf(operator), boundProver);
        assertEq(middleware.operatorOf(boundProver), operator);
        vm.warp(block.timestamp + 10);
        (CairnNetworkMiddleware.StakeEntry[] memory entries, uint256 total) =
            middleware.stakesAt(uint48(block.timestamp - 1), 0, 10);
        assertEq(total, 1);
        assertEq(entries[0].operator, operator);
        assertEq(entries[0].prover, boundProver);
        assertEq(entries[0].vault, vault);
        assertEq(entries[0].collateral, address(restakedToken));
        assertEq(entries[0].stake, 500e18);
    }

    function test_RevertWhen_bindingSignedByOneSideOnly() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v1, bytes32 r1, bytes32 s1) =
            vm.sign(operatorKey, middleware.bindingDigest(operator, boundProver, 0, deadline));
        bytes memory opSig = abi.encodePacked(r1, s1, v1);
        vm.expectRevert(CairnNetworkMiddleware.InvalidProverSignature.selector);
        middleware.bindOperator(operator, boundProver, deadline, opSig, opSig);
    }

    // ---------------------------------------------------------------- slashing

    function test_instantSlashReachesTheVault() public {
        address vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 500e18);
        _bind();
        vm.warp(block.timestamp + 10);
        uint48 capture = uint48(block.timestamp - 1);
        vm.prank(messenger);
        middleware.executeSlash(_order("task-1", vault, 100e18, capture));
        assertEq(IVault(vault).activeStake(), 400e18);
        (,, ISlashExecutor.SlashState state) = middleware.slashes("task-1");
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Executed));

        vm.prank(messenger);
        vm.expectRevert(abi.encodeWithSelector(ISlashExecutor.SlashOrderAlreadySeen.selector, TASK_1));
        middleware.executeSlash(_order("task-1", vault, 100e18, capture));
    }

    function test_RevertWhen_slashOrderNotFromTheMessenger() public {
        vm.expectRevert(abi.encodeWithSelector(CairnNetworkMiddleware.NotSlashMessenger.selector, address(this)));
        middleware.executeSlash(_order("x", address(0), 1, 0));
    }

    function test_vetoSlash_executesAfterTheVetoWindow() public {
        address vault = _vault(SymbioticCore.VETO_SLASHER, EPOCH);
        _fund(vault, 500e18);
        _bind();
        vm.prank(governance);
        middleware.setResolver(vault, resolver);
        vm.warp(block.timestamp + 10);
        uint48 capture = uint48(block.timestamp - 1);
        vm.prank(messenger);
        middleware.executeSlash(_order("task-2", vault, 100e18, capture));
        (,,,, uint48 vetoDeadline,) = IVetoSlasher(IVault(vault).slasher()).slashRequests(0);
        vm.expectRevert(
            abi.encodeWithSelector(CairnNetworkMiddleware.VetoPeriodNotEnded.selector, TASK_2, vetoDeadline)
        );
        middleware.finalizeSlash("task-2");
        vm.warp(block.timestamp + VETO);
        middleware.finalizeSlash("task-2");
        assertEq(IVault(vault).activeStake(), 400e18);
    }

    function test_vetoSlash_resolverVetoIsHonouredAndReported() public {
        address vault = _requestedVetoSlash("task-3", false);
        (, uint64 index,) = middleware.slashes("task-3");
        IVetoSlasher vetoSlasher = IVetoSlasher(IVault(vault).slasher());
        vm.prank(resolver);
        vetoSlasher.vetoSlash(index, "");
        vm.expectEmit(address(middleware));
        emit CairnNetworkMiddleware.SlashVetoed("task-3", vault);
        middleware.finalizeSlash("task-3");
        assertEq(IVault(vault).activeStake(), 500e18);
        (,, ISlashExecutor.SlashState state) = middleware.slashes("task-3");
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Vetoed));
    }

    // ---------------------------------------------------------------- issue 9 regressions

    /// Finding 2: an operator that moves to a new prover still answers for the old prover's queued slashes, at the
    /// capture the old prover's tasks were backed at; the new prover gets the stake only once no such capture can
    /// be slashed any more.
    function test_rebindingKeepsTheOldProversSlashesOnTheOperator() public {
        address vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 500e18);
        _bind();
        vm.warp(block.timestamp + 10);
        uint48 capture = uint48(block.timestamp - 1);
        (address newProver, uint256 newProverKey) = makeAddrAndKey("new prover");
        vm.expectEmit(address(middleware));
        emit CairnNetworkMiddleware.OperatorBound(operator, newProver, uint48(block.timestamp) + EPOCH);
        _bindTo(newProver, newProverKey);
        assertEq(middleware.operatorOf(boundProver), address(0));
        assertEq(middleware.operatorAt(boundProver, capture), operator, "the capture still resolves the operator");
        assertEq(middleware.operatorAt(newProver, uint48(block.timestamp)), address(0), "not before the delay");

        // The old prover's slash, queued before the move, lands on the operator's stake in full.
        vm.prank(messenger);
        middleware.executeSlash(_order("old task", vault, 100e18, capture));
        assertEq(IVault(vault).activeStake(), 400e18);

        // Meanwhile the operator backs nobody; after the delay it backs the new prover.
        vm.warp(block.timestamp + 1);
        (CairnNetworkMiddleware.StakeEntry[] memory entries,) = middleware.stakesAt(uint48(block.timestamp - 1), 0, 1);
        assertEq(entries[0].prover, address(0));
        vm.warp(block.timestamp + EPOCH);
        (entries,) = middleware.stakesAt(uint48(block.timestamp - 1), 0, 1);
        assertEq(entries[0].prover, newProver);
        assertEq(middleware.operatorOf(newProver), operator);
    }

    function test_RevertWhen_rebindingWhileAMoveIsPending() public {
        _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(_vault(SymbioticCore.INSTANT_SLASHER, EPOCH), 1);
        _bind();
        (address second, uint256 secondKey) = makeAddrAndKey("second prover");
        _bindTo(second, secondKey);
        (address third, uint256 thirdKey) = makeAddrAndKey("third prover");
        (uint256 deadline, bytes memory operatorSig, bytes memory proverSig) = _bindingSignatures(third, thirdKey);
        vm.expectRevert(
            abi.encodeWithSelector(
                CairnNetworkMiddleware.RebindingPending.selector, operator, uint48(block.timestamp) + EPOCH
            )
        );
        middleware.bindOperator(operator, third, deadline, operatorSig, proverSig);
    }

    /// Finding 8 (FullRestake): a full-restake delegator lets one collateral back several operators, so its vault is
    /// refused.
    function test_RevertWhen_vaultDelegatesByFullRestake() public {
        address[] memory holders = new address[](1);
        holders[0] = curator;
        address vault = _vaultWith(
            SymbioticCore.FULL_RESTAKE_DELEGATOR,
            abi.encode(
                IFullRestakeDelegator.InitParams(
                    IBaseDelegator.BaseParams(curator, address(0), curator), holders, holders
                )
            ),
            SymbioticCore.INSTANT_SLASHER,
            abi.encode(IBaseSlasher.BaseParams(false)),
            EPOCH
        );
        vm.prank(curator);
        vm.expectRevert(abi.encodeWithSelector(CairnNetworkMiddleware.UnsupportedDelegatorType.selector, 1));
        middleware.optInVault(vault);
    }

    /// Finding 8 (skipped deliveries): an order the vault refuses ends as Failed, for good and with its reason, so its
    /// outcome can be reported back; it is not retried.
    function test_orderOutsideTheWindowFailsForGood() public {
        address vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 500e18);
        _bind();
        vm.warp(block.timestamp + 10);
        uint48 capture = uint48(block.timestamp - 1);
        vm.warp(block.timestamp + EPOCH + 1);
        vm.expectEmit(address(middleware));
        emit CairnNetworkMiddleware.SlashFailed("late", vault, abi.encodeWithSignature("InvalidCaptureTimestamp()"));
        vm.prank(messenger);
        middleware.executeSlash(_order("late", vault, 100e18, capture));
        (,, ISlashExecutor.SlashState state) = middleware.slashes("late");
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Failed));
        assertEq(IVault(vault).activeStake(), 500e18);
        vm.prank(messenger);
        vm.expectRevert(abi.encodeWithSelector(ISlashExecutor.SlashOrderAlreadySeen.selector, LATE_ORDER));
        middleware.executeSlash(_order("late", vault, 100e18, capture));
    }

    function test_orderForAProverUnboundAtItsCaptureFails() public {
        address vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 500e18);
        vm.warp(block.timestamp + 10);
        uint48 capture = uint48(block.timestamp - 1);
        vm.expectEmit(address(middleware));
        emit CairnNetworkMiddleware.SlashFailed(
            "unbound",
            vault,
            abi.encodeWithSelector(CairnNetworkMiddleware.ProverNotBoundAt.selector, boundProver, capture)
        );
        vm.prank(messenger);
        middleware.executeSlash(_order("unbound", vault, 100e18, capture));
    }

    /// A veto request finalized after the vault's slashing period ended fails for good instead of staying pending.
    function test_vetoSlashFinalizedTooLateFails() public {
        address vault = _requestedVetoSlash("slow", false);
        vm.warp(block.timestamp + EPOCH + 1);
        vm.expectEmit(address(middleware));
        emit CairnNetworkMiddleware.SlashFailed("slow", vault, abi.encodeWithSignature("SlashPeriodEnded()"));
        middleware.finalizeSlash("slow");
        (,, ISlashExecutor.SlashState state) = middleware.slashes("slow");
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Failed));
    }

    function test_slashingWindowIsTheShortestAmongTheVaults() public {
        assertEq(middleware.slashingWindow(), 0);
        address instant = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        vm.prank(curator);
        middleware.optInVault(instant);
        assertEq(middleware.slashingWindow(), EPOCH);
        address veto = _vault(SymbioticCore.VETO_SLASHER, EPOCH);
        vm.prank(curator);
        middleware.optInVault(veto);
        assertEq(middleware.slashingWindow(), EPOCH - VETO);
        assertEq(middleware.maxVaultEpochDuration(), EPOCH);
    }

    /// Whatever gas limit anyone finalizing a veto request picks, a due slash is never recorded as failed.
    function test_noGasLimitTurnsAFinalizationIntoAFailure() public {
        _requestedVetoSlash("hooked", true);
        vm.warp(block.timestamp + VETO);
        bool executedOnce;
        for (uint256 gas = 60_000; gas <= 500_000; gas += 5000) {
            uint256 snapshot = vm.snapshotState();
            try middleware.finalizeSlash{gas: gas}("hooked") {} catch {}
            (,, ISlashExecutor.SlashState state) = middleware.slashes("hooked");
            assertTrue(state != ISlashExecutor.SlashState.Failed, "a starved finalization recorded a failure");
            if (state == ISlashExecutor.SlashState.Executed) executedOnce = true;
            vm.revertToState(snapshot);
        }
        assertTrue(executedOnce, "some gas limit finalizes it");
    }

    /// Symbiotic refuses a slash at a capture older than the latest it slashed the operator at. Slashes arrive in
    /// deadline order, not capture order: the older capture's slash is made at the latest capture instead of
    /// failing, and lands in full.
    function test_slashesOutOfCaptureOrderBothLand() public {
        address vault = _vault(SymbioticCore.INSTANT_SLASHER, EPOCH);
        _fund(vault, 500e18);
        _bind();
        vm.warp(block.timestamp + 10);
        uint48 older = uint48(block.timestamp - 1);
        vm.warp(block.timestamp + 1 hours);
        uint48 newer = uint48(block.timestamp - 1);
        vm.startPrank(messenger);
        middleware.executeSlash(_order("newer", vault, 100e18, newer));
        middleware.executeSlash(_order("older", vault, 100e18, older));
        vm.stopPrank();
        assertEq(IVault(vault).activeStake(), 300e18, "both landed in full");
        assertEq(middleware.latestCapture(vault, operator), newer);
        (,, ISlashExecutor.SlashState state) = middleware.slashes("older");
        assertEq(uint8(state), uint8(ISlashExecutor.SlashState.Executed));
    }

    /// Veto requests of one operator on a vault are finalized in the order they were made: finalizing a later one
    /// first would make Symbiotic refuse the earlier one for good.
    function test_RevertWhen_finalizingAVetoRequestBeforeAnEarlierOne() public {
        address vault = _requestedVetoSlash("first", false);
        vm.warp(block.timestamp + 10);
        vm.prank(messenger);
        middleware.executeSlash(_order("second", vault, 100e18, uint48(block.timestamp - 1)));
        vm.warp(block.timestamp + VETO);
        (, uint64 firstIndex,) = middleware.slashes("first");
        vm.expectRevert(
            abi.encodeWithSelector(CairnNetworkMiddleware.EarlierSlashPending.selector, SECOND_ORDER, firstIndex)
        );
        middleware.finalizeSlash("second");
        middleware.finalizeSlash("first");
        middleware.finalizeSlash("second");
        assertEq(IVault(vault).activeStake(), 300e18, "both landed in full");
        (bool pending,) = middleware.nextRequest(vault, operator);
        assertFalse(pending);
    }
}
