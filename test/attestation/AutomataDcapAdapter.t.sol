// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DcapFixture} from "./DcapTdxVerifier.t.sol";
import {DcapTdxVerifier} from "../../src/attestation/DcapTdxVerifier.sol";
import {AutomataDcapAdapter} from "../../src/attestation/adapters/AutomataDcapAdapter.sol";
import {IAutomataDcapAttestation} from "../../src/attestation/interfaces/IAutomataDcapAttestation.sol";
import {TdxQuote} from "../../src/attestation/libraries/TdxQuote.sol";
import {TcbStatus, TdxReport} from "../../src/attestation/types/Dcap.sol";

/// @notice Produces Automata v1.1 outputs (layout from its published interface) for quotes that Cairn's own verifier
/// accepts. Automata's deployed contracts need its on-chain PCCS, which is not available offline, so this encoder
/// stands in for the wire format only; every quote it answers for is genuinely verified.
contract AutomataV11Encoder is IAutomataDcapAttestation {
    DcapTdxVerifier internal immutable verifier;
    bool public answerRevoked;

    constructor(DcapTdxVerifier verifier_) {
        verifier = verifier_;
    }

    function setAnswerRevoked(bool value) external {
        answerRevoked = value;
    }

    function verifyAndAttestOnChain(bytes calldata rawQuote) external payable returns (bool, bytes memory) {
        if (answerRevoked) return (true, bytes("TCBR"));
        try verifier.verifyTdxQuote(rawQuote) returns (TdxReport memory report) {
            TdxQuote.Quote memory q = TdxQuote.parse(rawQuote);
            uint16 bodyType = q.version == 4 ? 2 : uint16(uint8(rawQuote[48]));
            bytes memory body = rawQuote[q.body:q.signedLength];
            return (true, abi.encodePacked(q.version, bodyType, uint8(report.tcbStatus), report.fmspc, body));
        } catch {
            return (false, bytes("QEVE"));
        }
    }
}

contract AutomataDcapAdapterTest is DcapFixture {
    AutomataV11Encoder internal automata;
    AutomataDcapAdapter internal adapter;

    function setUp() public {
        _load("tdx_quote", 1_750_377_600);
        automata = new AutomataV11Encoder(verifier);
        adapter = new AutomataDcapAdapter(automata);
    }

    function test_adapterReportsWhatCairnsVerifierReports() public {
        TdxReport memory viaAutomata = adapter.verifyTdxQuote(quote);
        TdxReport memory direct = verifier.verifyTdxQuote(quote);
        assertEq(uint8(viaAutomata.tcbStatus), uint8(direct.tcbStatus));
        assertEq(viaAutomata.fmspc, direct.fmspc);
        assertEq(viaAutomata.teeTcbSvn, direct.teeTcbSvn);
        assertEq(viaAutomata.tdAttributes, direct.tdAttributes);
        assertEq(viaAutomata.xfam, direct.xfam);
        assertEq(viaAutomata.mrTd, direct.mrTd);
        assertEq(viaAutomata.mrConfigId, direct.mrConfigId);
        assertEq(viaAutomata.rtmr0, direct.rtmr0);
        assertEq(viaAutomata.rtmr3, direct.rtmr3);
        assertEq(viaAutomata.reportData, direct.reportData);
        assertEq(viaAutomata.quoteId, direct.quoteId);
    }

    function test_RevertWhen_automataReturnsFalse() public {
        vm.expectRevert(abi.encodeWithSelector(AutomataDcapAdapter.AutomataRejected.selector, bytes("QEVE")));
        adapter.verifyTdxQuote(_flip(quote, 100));
    }

    function test_RevertWhen_automataSaysTcbrInFourBytes() public {
        automata.setAnswerRevoked(true);
        vm.expectRevert(abi.encodeWithSelector(AutomataDcapAdapter.UnexpectedOutput.selector, 4));
        adapter.verifyTdxQuote(quote);
    }

    function test_RevertWhen_automataReverts() public {
        AutomataDcapAdapter broken = new AutomataDcapAdapter(IAutomataDcapAttestation(address(verifier)));
        vm.expectPartialRevert(AutomataDcapAdapter.AutomataReverted.selector);
        broken.verifyTdxQuote(quote);
    }
}
