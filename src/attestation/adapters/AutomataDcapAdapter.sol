// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAutomataDcapAttestation} from "../interfaces/IAutomataDcapAttestation.sol";
import {IQuoteVerifier} from "../interfaces/IQuoteVerifier.sol";
import {TdxQuote} from "../libraries/TdxQuote.sol";
import {TcbStatus, TdxReport} from "../types/Dcap.sol";

/// @title AutomataDcapAdapter
/// @notice Lets an operator verify quotes with Automata's deployed DCAP attestation contract instead of Cairn's own
/// verifier, behind the same IQuoteVerifier and so under the same TeeRegistry policy.
/// @dev Automata reports failure in three ways, all turned into reverts here: `(false, reason)`, a revert (missing
/// or expired collateral, a bad signature under the P-256 precompile), and a short `(true, "TCBR")` for a revoked
/// TCB. Its output holds no quote id, so the id is derived from the quote exactly as DcapTdxVerifier derives it.
contract AutomataDcapAdapter is IQuoteVerifier {
    error ZeroAddress();
    error AutomataRejected(bytes reason);
    error AutomataReverted(bytes reason);
    error UnexpectedOutput(uint256 length);
    error NotATdxBody(uint16 bodyType);
    error TcbRevokedOrUnrecognized(TcbStatus status);

    uint256 internal constant PREFIX = 11;

    IAutomataDcapAttestation public immutable automata;

    constructor(IAutomataDcapAttestation automata_) {
        if (address(automata_) == address(0)) revert ZeroAddress();
        automata = automata_;
    }

    /// @inheritdoc IQuoteVerifier
    function verifyTdxQuote(bytes calldata quote) external returns (TdxReport memory report) {
        bytes memory output;
        try automata.verifyAndAttestOnChain(quote) returns (bool success, bytes memory out) {
            if (!success) revert AutomataRejected(out);
            output = out;
        } catch (bytes memory reason) {
            revert AutomataReverted(reason);
        }
        if (output.length < PREFIX) revert UnexpectedOutput(output.length);
        uint16 bodyType = uint16(uint8(output[2])) << 8 | uint8(output[3]);
        uint256 bodyLength;
        if (bodyType == 2) bodyLength = TdxQuote.TD10_BODY_LENGTH;
        else if (bodyType == 3) bodyLength = TdxQuote.TD15_BODY_LENGTH;
        else revert NotATdxBody(bodyType);
        if (output.length < PREFIX + bodyLength) revert UnexpectedOutput(output.length);

        uint8 status = uint8(output[4]);
        if (status > uint8(type(TcbStatus).max)) revert UnexpectedOutput(output.length);
        report = TdxQuote.readReport(output, PREFIX, bodyLength);
        report.tcbStatus = TcbStatus(status);
        if (report.tcbStatus == TcbStatus.Revoked || report.tcbStatus == TcbStatus.Unrecognized) {
            revert TcbRevokedOrUnrecognized(report.tcbStatus);
        }
        report.fmspc = bytes6(TdxQuote._word(output, 5));
        report.quoteId = TdxQuote.parse(quote).signedContentHash;
    }
}
