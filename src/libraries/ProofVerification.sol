// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProofMarketplace} from "../interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {Market} from "../types/Market.sol";
import {ProofContext} from "../types/ProofContext.sol";
import {Fulfilment} from "../types/Request.sol";

/// @title ProofVerification
/// @notice ProofMarketplace's proof checks: which fulfilments' proofs their market's verifier accepts, and why not.
/// @dev A linked library (external functions, run with DELEGATECALL in the marketplace's context, reading its
/// markets): the marketplace is at the EIP-170 size limit, and batching the verifier calls does not fit in it. The
/// marketplace forwards its own calldata (ProofMarketplace._proofFailures), so nothing is re-encoded on its side.
library ProofVerification {
    /// @notice Why each fulfilment's proof does not verify, or empty bytes where it does, asking each verifier once
    /// for all of its items (IProofVerifier.verifyBatch: one multi-pairing for a Groth16BatchVerifier) and then
    /// `verify` for each item the batch did not accept. So an item's outcome and reason are exactly those of a single
    /// fulfilment: `verify`'s answer (InvalidProof), the adapter's own error for a malformed proof, or CallFailed; a
    /// verifier without verifyBatch, or whose batch call fails, costs gas but changes no outcome. A group of one item
    /// goes to `verify` directly. A gas shortfall (a verifier's InsufficientGas, or a verifier running out of the gas
    /// it was given) reverts the whole call, so it never reads as a proof that does not verify.
    /// @dev Items are verified whatever the marketplace's own checks will say of them (those run after, in order):
    /// a submitter only ever pays for its own items.
    function verify(mapping(uint256 => Market) storage markets, Fulfilment[] calldata fs)
        external
        view
        returns (bytes[] memory failures)
    {
        uint256 n = fs.length;
        failures = new bytes[](n);
        address[] memory verifiers = new address[](n);
        for (uint256 i; i < n; ++i) {
            verifiers[i] = address(markets[fs[i].requestId >> 64].verifier);
        }
        bool[] memory accepted = new bool[](n);
        for (uint256 i; i < n; ++i) {
            if (verifiers[i] != address(0)) _verifyGroup(fs, verifiers, i, accepted);
        }
        for (uint256 i; i < n; ++i) {
            if (accepted[i]) continue;
            IProofVerifier verifier = markets[fs[i].requestId >> 64].verifier;
            // No such market: the item's own checks fail first (no request of it can be assigned); never empty.
            failures[i] = address(verifier) == address(0)
                ? abi.encodeWithSelector(IProofMarketplace.CallFailed.selector, verifier)
                : _verifyOne(fs[i], verifier);
        }
    }

    /// @dev Asks the verifier of item `first` about all the items it verifies (from `first` on), marking them asked
    /// (zero) in `verifiers` and accepted in `accepted`.
    function _verifyGroup(Fulfilment[] calldata fs, address[] memory verifiers, uint256 first, bool[] memory accepted)
        private
        view
    {
        address verifier = verifiers[first];
        uint256 n = fs.length;
        uint256 count;
        for (uint256 j = first; j < n; ++j) {
            if (verifiers[j] == verifier) ++count;
        }
        if (count == 1) {
            // Left to _verifyOne: one `verify` call, which also gives the reason.
            verifiers[first] = address(0);
            return;
        }
        uint256[] memory index = new uint256[](count);
        bytes[] memory inputs = new bytes[](count);
        bytes[] memory proofs = new bytes[](count);
        ProofContext[] memory contexts = new ProofContext[](count);
        count = 0;
        for (uint256 j = first; j < n; ++j) {
            if (verifiers[j] != verifier) continue;
            Fulfilment calldata f = fs[j];
            (index[count], inputs[count], proofs[count]) = (j, f.publicInputs, f.proof);
            contexts[count++] = ProofContext(f.requestId, f.task.prover, f.request.inputsDigest);
            verifiers[j] = address(0);
        }
        bool[] memory answers = askBatch(
            IProofVerifier(verifier), abi.encodeCall(IProofVerifier.verifyBatch, (inputs, proofs, contexts)), count
        );
        for (uint256 j; j < count; ++j) {
            accepted[index[j]] = answers[j];
        }
    }

    /// @notice One verifyBatch call (`call`, its encoded calldata, for `count` items): each item's answer, true only
    /// where the verifier answered exactly true in a canonical `bool[]` of `count`. A low-level call: a verifier
    /// without verifyBatch may answer anything (a fallback), which must not revert the batch the way a failed decoding
    /// in try/catch would; then every answer is false, and each item is verified alone. A gas shortfall (the
    /// verifier's InsufficientGas, or its running out of the gas it was given) reverts.
    /// @dev Internal, so it is compiled into each caller (this library's _verifyGroup, SignedFulfilmentModule).
    function askBatch(IProofVerifier verifier, bytes memory call, uint256 count)
        internal
        view
        returns (bool[] memory answers)
    {
        answers = new bool[](count);
        uint256 gasBefore = gasleft();
        (bool ok, bytes memory answer) = address(verifier).staticcall(call);
        if (!ok) {
            rethrowGasShortfall(answer, gasBefore);
            return answers;
        }
        if (answer.length != 0x40 + 0x20 * count) return answers;
        uint256 head;
        uint256 length;
        assembly ("memory-safe") {
            head := mload(add(answer, 0x20))
            length := mload(add(answer, 0x40))
        }
        if (head != 0x20 || length != count) return answers;
        for (uint256 j; j < count; ++j) {
            uint256 word;
            assembly ("memory-safe") {
                word := mload(add(answer, add(0x60, mul(j, 0x20))))
            }
            answers[j] = word == 1;
        }
    }

    /// @dev Why the proof does not verify (the adapter's own error for a malformed proof), or nothing.
    function _verifyOne(Fulfilment calldata f, IProofVerifier verifier) private view returns (bytes memory) {
        uint256 gasBefore = gasleft();
        try verifier.verify(
            f.publicInputs, f.proof, ProofContext(f.requestId, f.task.prover, f.request.inputsDigest)
        ) returns (
            bool valid
        ) {
            if (valid) return "";
            _revertIfOutOfGas(gasBefore);
            return abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, f.requestId);
        } catch (bytes memory why) {
            rethrowGasShortfall(why, gasBefore);
            if (why.length == 0) return abi.encodeWithSelector(IProofMarketplace.CallFailed.selector, verifier);
            return why;
        }
    }

    /// @dev Re-throws a verifier's InsufficientGas; reverts CalleeOutOfGas when a verifier reverted without data
    /// having used up the gas it was given (running out of gas, even several calls deep, leaves a few 64ths).
    function rethrowGasShortfall(bytes memory why, uint256 gasBefore) internal view {
        // forge-lint: disable-next-line(unsafe-typecast): the selector; length checked ≥ 4
        if (why.length >= 4 && bytes4(why) == IProofVerifier.InsufficientGas.selector) {
            assembly ("memory-safe") {
                revert(add(why, 0x20), mload(why))
            }
        }
        if (why.length == 0) _revertIfOutOfGas(gasBefore);
    }

    function _revertIfOutOfGas(uint256 gasBefore) private view {
        if (gasleft() < gasBefore / 16) revert IProofMarketplace.CalleeOutOfGas();
    }
}
