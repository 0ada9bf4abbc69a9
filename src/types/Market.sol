// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {IStakeSource} from "../interfaces/IStakeSource.sol";

/// @notice What a market creator chooses; immutable once the market exists, so every assigned task is judged by
/// the rules it was accepted under.
struct MarketParams {
    /// Adapter that verifies proofs of this market's circuit.
    IProofVerifier verifier;
    /// ERC20 token requests escrow and provers are paid in. Fee-on-transfer and rebasing tokens are unsupported.
    address paymentToken;
    /// Where provers' per-task stake is locked and slashed; must be approved by governance.
    IStakeSource stakeSource;
    /// Stake locked for every assigned task, in the stake source's token.
    uint96 stakePerTask;
    /// Part of the locked stake taken when a task misses its deadline (≤ stakePerTask).
    uint96 slashPenalty;
    /// Share of the slashed stake that compensates the requester, in basis points.
    uint16 requesterCompensationBps;
    /// Seconds after a request is posted before listed provers may claim it without the matcher.
    uint32 fallbackDelay;
    /// Off-chain description (circuit, artifacts, input encoding); emitted, not stored.
    string metadataURI;
}

/// @notice A market as stored, laid out so each hot path reads only what it needs.
/// slot 0: verifier | fallbackDelay | requesterCompensationBps | requestCount
/// slot 1: paymentToken | stakePerTask
/// slot 2: stakeSource | slashPenalty
/// slot 3: creator
struct Market {
    IProofVerifier verifier;
    uint32 fallbackDelay;
    uint16 requesterCompensationBps;
    /// Requests posted so far; a request id is marketId << 64 | index (index from 1).
    uint48 requestCount;
    address paymentToken;
    uint96 stakePerTask;
    IStakeSource stakeSource;
    uint96 slashPenalty;
    address creator;
}
