// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IAutomataDcapAttestation
/// @notice The entry point of Automata's deployed DCAP attestation contract (v1.1) that Cairn can delegate to.
interface IAutomataDcapAttestation {
    /// @return success Whether the quote verified.
    /// @return output v1.1 output on success (big-endian: u16 version ‖ u16 body type ‖ u8 TCB status ‖ bytes6
    /// FMSPC ‖ raw body ‖ abi.encode(string[] advisory ids) when any), a short reason string otherwise.
    function verifyAndAttestOnChain(bytes calldata rawQuote)
        external
        payable
        returns (bool success, bytes memory output);
}
