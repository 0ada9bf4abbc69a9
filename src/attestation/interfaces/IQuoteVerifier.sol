// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TdxReport} from "../types/Dcap.sol";

/// @title IQuoteVerifier
/// @notice Verifies an Intel DCAP TDX quote and returns what it attests. Implementations revert with a specific
/// error for any quote that does not verify, including a revoked or unmatched TCB; every other TCB status is
/// returned for the caller's policy to judge.
interface IQuoteVerifier {
    /// @notice Verifies `quote` at the current block time (not `view`: an external verifier may charge a fee or log).
    function verifyTdxQuote(bytes calldata quote) external returns (TdxReport memory);
}
