// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {DcapFixture} from "./DcapTdxVerifier.t.sol";
import {Signing} from "../utils/Signing.sol";
import {TeeRegistry} from "../../src/attestation/TeeRegistry.sol";
import {ITeeRegistry, KeyBinding, TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {TcbStatus, TdxReport} from "../../src/attestation/types/Dcap.sol";
import {AutomataDcapAdapter} from "../../src/attestation/adapters/AutomataDcapAdapter.sol";
import {AutomataV11Encoder} from "./AutomataDcapAdapter.t.sol";

/// @notice Registry rules with real dev quotes: built by the dev attestation provider for each binding and verified
/// by the on-chain DCAP verifier under the dev root.
abstract contract TeeRegistryFixture is DcapFixture, Signing {
    uint256 internal constant DEV_TIME = 1_767_225_600; // inside the dev collateral's window

    TeeRegistry internal teeRegistry;
    address internal registryOwner = makeAddr("registryOwner");
    address internal roleAdmin = makeAddr("roleAdmin");
    bytes32 internal devMeasurement;

    function _setUpRegistry() internal {
        _loadFrom("test/fixtures/dcap-dev/", "tdx_quote", DEV_TIME, false);
        teeRegistry = new TeeRegistry(registryOwner, verifier);
        vm.startPrank(registryOwner);
        teeRegistry.setRoleAdmin(TeeRole.Matcher, roleAdmin);
        teeRegistry.setRoleAdmin(TeeRole.Prover, roleAdmin);
        teeRegistry.setRoleAdmin(TeeRole.Relayer, roleAdmin);
        vm.stopPrank();
        string memory manifest = vm.readFile("test/fixtures/dcap-dev/manifest.json");
        devMeasurement = teeRegistry.measurementOf(
            vm.parseJsonBytes(manifest, ".mrTd"),
            vm.parseJsonBytes(manifest, ".rtmr0"),
            vm.parseJsonBytes(manifest, ".rtmr1"),
            vm.parseJsonBytes(manifest, ".rtmr2"),
            vm.parseJsonBytes(manifest, ".rtmr3")
        );
        vm.roll(1000);
        for (uint256 n = 880; n < 1000; ++n) {
            vm.setBlockhash(n, keccak256(abi.encode("block", n)));
        }
    }

    function _allow(TeeRole role, uint256 marketId) internal {
        vm.prank(roleAdmin);
        teeRegistry.setMeasurementAllowed(role, marketId, devMeasurement, true);
    }

    function _binding(TeeRole role, uint256 marketId, address signer) internal view returns (KeyBinding memory b) {
        (, bytes32 x, bytes32 y) = (0, keccak256(abi.encode(signer, "x")), keccak256(abi.encode(signer, "y")));
        b = KeyBinding({
            role: role,
            marketId: marketId,
            signer: signer,
            eciesPublicKey: abi.encodePacked(x, y),
            operator: role == TeeRole.Prover ? _proverOperator() : _operatorOfKey(signer),
            blockNumber: block.number - 1,
            blockHash: blockhash(block.number - 1)
        });
    }

    /// A dev quote carrying `reportData`, from the dev attestation provider.
    function _devQuote(bytes memory reportData, bool debug) internal returns (bytes memory) {
        string[] memory cmd = _devQuoteCommand(reportData, debug ? 1 : 0);
        if (debug) cmd[4] = "--debug";
        return vm.ffi(cmd);
    }

    /// The dev quote tool's command line for `reportData`, with `flagWords` slots left for flags. bin/run.mjs runs
    /// its compiled JavaScript while dist/ is current (a quote in about 0.3 s instead of tsx's 1.8 s).
    function _devQuoteCommand(bytes memory reportData, uint256 flagWords) internal pure returns (string[] memory cmd) {
        cmd = new string[](4 + flagWords);
        cmd[0] = "node";
        cmd[1] = "bin/run.mjs";
        cmd[2] = "enclave/attestation/dev/dev-quote-cli.ts";
        cmd[3] = vm.toString(reportData);
    }

    /// The marketplace prover that registers prover keys in these tests.
    function _proverOperator() internal view virtual returns (address) {
        return address(0xB0B);
    }

    /// The operator a matcher or relayer key of these tests works for: one independent operator per key unless a
    /// test says otherwise.
    function _operatorOfKey(address signer) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("cairn.test.operator", signer)))));
    }

    function _admit(TeeRole role, address operator) internal {
        vm.prank(roleAdmin);
        teeRegistry.setOperatorAdmitted(role, operator, true);
    }

    /// Registers the binding's key, admitting its (matcher or relayer) operator first when governance has not yet.
    function _register(KeyBinding memory b) internal returns (uint64) {
        if (b.role != TeeRole.Prover && !teeRegistry.isAdmittedOperator(b.role, b.operator)) {
            _admit(b.role, b.operator);
        }
        bytes memory quote_ = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.prank(b.operator);
        return teeRegistry.register(quote_, b);
    }

    /// Registers one more relayer key for `operator` (one operator, several keys), bound to a fresh block.
    function _registerExtraRelayerKey(address operator, string memory name) internal returns (uint256 key) {
        address signer;
        (signer, key) = makeAddrAndKey(name);
        vm.roll(block.number + 1);
        vm.setBlockhash(block.number - 1, keccak256(abi.encode("extra key block", name)));
        KeyBinding memory b = _binding(TeeRole.Relayer, 0, signer);
        b.operator = operator;
        _register(b);
    }

    /// Signatures of `keys` over `digest`, ordered by their keys' operators as an OperatorQuorum expects.
    function _quorumSignatures(bytes32 digest, uint256[] memory keys) internal pure returns (bytes[] memory sigs) {
        uint256 n = keys.length;
        keys = _copy(keys);
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && _keyOperator(keys[j]) < _keyOperator(keys[j - 1]); --j) {
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
        sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            (uint8 v, bytes32 r, bytes32 sig) = vm.sign(keys[i], digest);
            sigs[i] = abi.encodePacked(r, sig, v);
        }
    }

    function _keyOperator(uint256 key) private pure returns (address) {
        return _operatorOfKey(vm.addr(key));
    }

    function _copy(uint256[] memory a) private pure returns (uint256[] memory b) {
        b = new uint256[](a.length);
        for (uint256 i; i < a.length; ++i) {
            b[i] = a[i];
        }
    }
}

contract TeeRegistryTest is TeeRegistryFixture {
    address internal matcherKey;
    uint256 internal matcherSecret;

    function setUp() public {
        _setUpRegistry();
        (matcherKey, matcherSecret) = makeAddrAndKey("enclave-matcher");
        _allow(TeeRole.Matcher, 0);
        _admit(TeeRole.Matcher, _operatorOfKey(matcherKey));
        _admit(TeeRole.Relayer, _operatorOfKey(matcherKey));
    }

    function test_register_devQuoteThroughTheRealVerifier() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory quote_ = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectEmit(false, false, false, false, address(teeRegistry));
        emit ITeeRegistry.KeyRegistered(
            TeeRole.Matcher, 0, matcherKey, address(0), b.eciesPublicKey, devMeasurement, 0, 0
        );
        vm.prank(b.operator);
        uint64 expiresAt = teeRegistry.register(quote_, b);
        assertEq(expiresAt, block.timestamp + 3600);
        assertTrue(teeRegistry.isActive(TeeRole.Matcher, 0, matcherKey));
        assertTrue(teeRegistry.isMatcher(matcherKey));
        assertEq(teeRegistry.eciesPublicKey(TeeRole.Matcher, 0, matcherKey), b.eciesPublicKey);
        assertFalse(teeRegistry.isActive(TeeRole.Relayer, 0, matcherKey), "a key serves only the role it was bound to");
    }

    function test_register_throughTheAutomataAdapter() public {
        AutomataDcapAdapter viaAutomata = new AutomataDcapAdapter(new AutomataV11Encoder(verifier));
        vm.prank(registryOwner);
        teeRegistry.setQuoteVerifier(viaAutomata);
        _register(_binding(TeeRole.Matcher, 0, matcherKey));
        assertTrue(teeRegistry.isMatcher(matcherKey));
    }

    function test_expiry_andRotationBeforeIt() public {
        _register(_binding(TeeRole.Matcher, 0, matcherKey));
        vm.warp(block.timestamp + 3000);
        vm.roll(block.number + 1);
        vm.setBlockhash(block.number - 1, keccak256("rotation block"));
        address next = makeAddr("enclave-matcher-2");
        _register(_binding(TeeRole.Matcher, 0, next));
        assertTrue(teeRegistry.isMatcher(matcherKey) && teeRegistry.isMatcher(next), "both keys during the overlap");
        vm.warp(block.timestamp + 601);
        assertFalse(teeRegistry.isMatcher(matcherKey), "the old key expired");
        assertTrue(teeRegistry.isMatcher(next));
    }

    function test_RevertWhen_blockTooOld() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        b.blockNumber = block.number - 101;
        b.blockHash = blockhash(b.blockNumber);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.BlockNotRecent.selector, b.blockNumber, block.number));
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    function test_RevertWhen_blockHashWrong() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        b.blockHash = keccak256("another chain");
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.BlockHashMismatch.selector, b.blockNumber));
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    function test_RevertWhen_quoteReplayed_evenWithPadding() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.prank(b.operator);
        teeRegistry.register(q, b);
        bytes memory padded = bytes.concat(q, new bytes(64));
        padded[padded.length - 1] = 0x01;
        vm.expectPartialRevert(ITeeRegistry.QuoteAlreadyUsed.selector);
        vm.prank(b.operator);
        teeRegistry.register(padded, b);
    }

    function test_RevertWhen_quoteBindsAnotherKey() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        b.signer = makeAddr("thief");
        vm.expectRevert(ITeeRegistry.ReportDataMismatch.selector);
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    function test_RevertWhen_debugTd() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), true);
        vm.expectRevert(ITeeRegistry.DebugTdNotAllowed.selector);
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    function test_RevertWhen_measurementNotAllowedForTheRole() public {
        KeyBinding memory b = _binding(TeeRole.Relayer, 0, matcherKey);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.MeasurementNotAllowed.selector, devMeasurement));
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    function test_RevertWhen_tcbStatusNotAccepted() public {
        vm.prank(registryOwner);
        teeRegistry.setAcceptedTcbStatuses(uint256(1) << uint8(TcbStatus.SWHardeningNeeded));
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.TcbStatusNotAccepted.selector, TcbStatus.UpToDate));
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    function test_revoke_isFinal() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        _register(b);
        vm.expectEmit(address(teeRegistry));
        emit ITeeRegistry.KeyRevoked(TeeRole.Matcher, 0, matcherKey);
        vm.prank(roleAdmin);
        teeRegistry.revoke(TeeRole.Matcher, 0, matcherKey);
        assertFalse(teeRegistry.isMatcher(matcherKey));
        vm.roll(block.number + 1);
        vm.setBlockhash(block.number - 1, keccak256("later block"));
        b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory fresh = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.KeyWasRevoked.selector, TeeRole.Matcher, 0, matcherKey));
        vm.prank(b.operator);
        teeRegistry.register(fresh, b);
    }

    function test_RevertWhen_revokeByNonAdmin() public {
        _register(_binding(TeeRole.Matcher, 0, matcherKey));
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.NotRoleAdmin.selector, address(this)));
        teeRegistry.revoke(TeeRole.Matcher, 0, matcherKey);
    }

    function test_RevertWhen_marketIdOnANonProverRole() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 7, matcherKey);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.MarketIdNotAllowed.selector, TeeRole.Matcher, 7));
        vm.prank(b.operator);
        teeRegistry.register("", b);
    }

    function test_RevertWhen_eciesKeyMalformed() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        b.eciesPublicKey = hex"04";
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.WrongEciesKeyLength.selector, 1));
        vm.prank(b.operator);
        teeRegistry.register("", b);
    }

    // ---------------------------------------------------------------- prover keys and their operators

    function test_proverKey_boundToItsOperator() public {
        address operator = _proverOperator();
        (address enclave,) = makeAddrAndKey("enclave-prover");
        _allow(TeeRole.Prover, 3);
        KeyBinding memory b = _binding(TeeRole.Prover, 3, enclave);
        _register(b);
        assertEq(teeRegistry.enclaveOperator(3, enclave), operator);
        assertEq(teeRegistry.enclaveOperator(4, enclave), address(0), "other market");
        (address signer, bytes memory ecies) = teeRegistry.proverEnclave(3, operator);
        assertEq(signer, enclave);
        assertEq(ecies, b.eciesPublicKey);

        // A rotated key replaces the operator's current key; the old one stays valid until it expires.
        vm.roll(block.number + 1);
        (address rotated,) = makeAddrAndKey("enclave-prover-2");
        _register(_binding(TeeRole.Prover, 3, rotated));
        (signer,) = teeRegistry.proverEnclave(3, operator);
        assertEq(signer, rotated);
        assertEq(teeRegistry.enclaveOperator(3, enclave), operator);

        vm.warp(block.timestamp + 3600);
        assertEq(teeRegistry.enclaveOperator(3, rotated), address(0), "expired");
        (signer, ecies) = teeRegistry.proverEnclave(3, operator);
        assertEq(signer, address(0));
        assertEq(ecies.length, 0);
    }

    function test_RevertWhen_proverKeyRegisteredBySomeoneElse() public {
        (address enclave,) = makeAddrAndKey("enclave-prover");
        _allow(TeeRole.Prover, 3);
        KeyBinding memory b = _binding(TeeRole.Prover, 3, enclave);
        bytes memory quote_ = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.OperatorMustRegister.selector, b.operator, address(this)));
        teeRegistry.register(quote_, b);
    }

    function test_RevertWhen_proverKeyWithoutOperator() public {
        (address enclave,) = makeAddrAndKey("enclave-prover");
        KeyBinding memory b = _binding(TeeRole.Prover, 3, enclave);
        b.operator = address(0);
        vm.expectRevert(ITeeRegistry.ZeroAddress.selector);
        teeRegistry.register("", b);
    }

    function test_revokedProverKey_speaksForNobody() public {
        (address enclave,) = makeAddrAndKey("enclave-prover");
        _allow(TeeRole.Prover, 3);
        _register(_binding(TeeRole.Prover, 3, enclave));
        vm.prank(roleAdmin);
        teeRegistry.revoke(TeeRole.Prover, 3, enclave);
        assertEq(teeRegistry.enclaveOperator(3, enclave), address(0));
        (address signer,) = teeRegistry.proverEnclave(3, _proverOperator());
        assertEq(signer, address(0));
    }

    function test_governance() public {
        vm.startPrank(registryOwner);
        vm.expectRevert(ITeeRegistry.ValueOutOfRange.selector);
        teeRegistry.setAcceptedTcbStatuses(uint256(1) << uint8(TcbStatus.Revoked));
        vm.expectRevert(ITeeRegistry.ValueOutOfRange.selector);
        teeRegistry.setAttestValiditySeconds(0);
        vm.expectRevert(ITeeRegistry.ValueOutOfRange.selector);
        teeRegistry.setMaxBlockNumberDiff(257);
        teeRegistry.setAttestValiditySeconds(600);
        teeRegistry.setMaxBlockNumberDiff(10);
        vm.stopPrank();
        assertEq(teeRegistry.attestValiditySeconds(), 600);
        vm.expectRevert(Ownable.Unauthorized.selector);
        teeRegistry.setQuoteVerifier(verifier);
    }

    // ---------------------------------------------------------------- issue 9: admitted operators

    /// Finding 1: attestation proves the code, not who runs it; a relayer or matcher key needs an operator governance
    /// admitted, and only that operator can register it.
    function test_RevertWhen_operatorNotAdmitted() public {
        address outsider = makeAddr("outsider operator");
        KeyBinding memory b = _binding(TeeRole.Relayer, 0, makeAddr("outsider key"));
        b.operator = outsider;
        _allow(TeeRole.Relayer, 0);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.OperatorNotAdmitted.selector, TeeRole.Relayer, outsider));
        vm.prank(outsider);
        teeRegistry.register(q, b);
    }

    function test_RevertWhen_keyRegisteredForAnotherOperator() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory q = _devQuote(teeRegistry.reportDataFor(b), false);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.OperatorMustRegister.selector, b.operator, address(this)));
        teeRegistry.register(q, b);
    }

    /// Removing an operator deactivates every key it registered at once; admitting it again brings them back (their
    /// attestation still runs out on its own clock).
    function test_removingAnOperatorDeactivatesItsKeys() public {
        _register(_binding(TeeRole.Matcher, 0, matcherKey));
        address operator = _operatorOfKey(matcherKey);
        assertEq(teeRegistry.activeOperator(TeeRole.Matcher, 0, matcherKey), operator);
        vm.expectEmit(address(teeRegistry));
        emit ITeeRegistry.OperatorAdmissionSet(TeeRole.Matcher, operator, false, 0);
        vm.prank(roleAdmin);
        teeRegistry.setOperatorAdmitted(TeeRole.Matcher, operator, false);
        assertFalse(teeRegistry.isMatcher(matcherKey));
        assertEq(teeRegistry.activeOperator(TeeRole.Matcher, 0, matcherKey), address(0));
        assertEq(teeRegistry.eciesPublicKey(TeeRole.Matcher, 0, matcherKey).length, 0, "nobody wraps inputs to it");
        assertEq(teeRegistry.admittedOperatorCount(TeeRole.Matcher), 0);
        _admit(TeeRole.Matcher, operator);
        assertTrue(teeRegistry.isMatcher(matcherKey));
    }

    function test_RevertWhen_admissionNotByTheRoleAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.NotRoleAdmin.selector, address(this)));
        teeRegistry.setOperatorAdmitted(TeeRole.Relayer, makeAddr("someone"), true);
    }

    function test_RevertWhen_admittingProverOperators() public {
        vm.prank(roleAdmin);
        vm.expectRevert(ITeeRegistry.AdmissionNotForProvers.selector);
        teeRegistry.setOperatorAdmitted(TeeRole.Prover, makeAddr("someone"), true);
    }

    // ---------------------------------------------------------------- issue 9: TD attributes and configuration

    /// A dev quote for `reportData` with extra dev-quote-cli flags.
    function _devQuoteWith(bytes memory reportData, string memory flag, bytes memory value)
        internal
        returns (bytes memory)
    {
        string[] memory cmd = _devQuoteCommand(reportData, 2);
        cmd[4] = flag;
        cmd[5] = vm.toString(value);
        return vm.ffi(cmd);
    }

    /// Finding 8 (TD policy): a TD without SEPT_VE_DISABLE (its host can inject #VE) is refused by default.
    function test_RevertWhen_tdWithoutSeptVeDisable() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory q = _devQuoteWith(teeRegistry.reportDataFor(b), "--td-attributes", hex"0000000000000000");
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.TdAttributesNotAccepted.selector, bytes8(0)));
        vm.prank(b.operator);
        teeRegistry.register(q, b);
    }

    /// Finding 8 (TD policy): governance pins the TD configuration (here MROWNER differs) beside the measurement.
    function test_RevertWhen_tdConfigDiffersFromThePinnedOne() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes32 pinned = keccak256("the configuration governance reviewed");
        vm.expectEmit(address(teeRegistry));
        emit ITeeRegistry.TdConfigPinned(TeeRole.Matcher, 0, pinned);
        vm.prank(roleAdmin);
        teeRegistry.setTdConfigPinned(TeeRole.Matcher, 0, pinned);
        bytes memory q = _devQuoteWith(teeRegistry.reportDataFor(b), "--mr-owner", new bytes(48));
        TdxReport memory report = verifier.verifyTdxQuote(q);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.TdConfigNotPinned.selector, report.tdConfig, pinned));
        vm.prank(b.operator);
        teeRegistry.register(q, b);

        // Pinned to the quote's own configuration, it registers.
        vm.prank(roleAdmin);
        teeRegistry.setTdConfigPinned(TeeRole.Matcher, 0, report.tdConfig);
        vm.prank(b.operator);
        teeRegistry.register(q, b);
        assertTrue(teeRegistry.isMatcher(matcherKey));
    }

    function test_tdConfigCoversOwnerAndXfam() public {
        KeyBinding memory b = _binding(TeeRole.Matcher, 0, matcherKey);
        bytes memory reportData = teeRegistry.reportDataFor(b);
        bytes memory owned = new bytes(48);
        owned[0] = 0x01;
        bytes32 plain = verifier.verifyTdxQuote(_devQuote(reportData, false)).tdConfig;
        bytes32 withOwner = verifier.verifyTdxQuote(_devQuoteWith(reportData, "--mr-owner", owned)).tdConfig;
        assertTrue(plain != withOwner);
    }

    function test_RevertWhen_tdAttributesPolicyWouldAllowDebug() public {
        vm.startPrank(registryOwner);
        vm.expectRevert(abi.encodeWithSelector(ITeeRegistry.TdAttributesPolicyInvalid.selector, bytes8(0), bytes8(0)));
        teeRegistry.setTdAttributesPolicy(bytes8(0), bytes8(0));
        teeRegistry.setTdAttributesPolicy(0x0100000000000000, bytes8(0)); // SEPT_VE_DISABLE no longer required
        vm.stopPrank();
        assertEq(teeRegistry.tdAttributesRequired(), bytes8(0));
    }

    /// A prover's enclave coverage runs unbroken across key rotations and restarts after a gap.
    function test_enclaveActiveAt_followsRotationsAndGaps() public {
        _allow(TeeRole.Prover, 3);
        uint256 start = block.timestamp;
        _register(_binding(TeeRole.Prover, 3, makeAddr("enclave-1")));
        // Rotated before the first key expires: coverage continues from `start`.
        vm.warp(start + 2400);
        vm.roll(block.number + 1);
        vm.setBlockhash(block.number - 1, keccak256("rotation"));
        _register(_binding(TeeRole.Prover, 3, makeAddr("enclave-2")));
        assertTrue(teeRegistry.enclaveActiveAt(3, _proverOperator(), start));
        assertTrue(teeRegistry.enclaveActiveAt(3, _proverOperator(), start + 5000));
        assertFalse(teeRegistry.enclaveActiveAt(3, _proverOperator(), start - 1));
        // Lapsed, then registered again: only the new run counts.
        vm.warp(start + 2400 + 3600 + 10);
        vm.roll(block.number + 1);
        vm.setBlockhash(block.number - 1, keccak256("after the gap"));
        _register(_binding(TeeRole.Prover, 3, makeAddr("enclave-3")));
        assertFalse(teeRegistry.enclaveActiveAt(3, _proverOperator(), start + 100));
        assertTrue(teeRegistry.enclaveActiveAt(3, _proverOperator(), block.timestamp));
    }
}
