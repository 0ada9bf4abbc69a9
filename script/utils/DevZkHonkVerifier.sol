// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";

/// @title DevZkHonkVerifier
/// @notice Deploys the bb.js ZK UltraHonk verifier of noir/poseidon2_preimage (DEVELOPMENT CRS: forgeable proofs, for
/// devnets and tests only) from its forge artifact: its external library ZKTranscriptLib first, then the verifier with
/// the library's address linked into its bytecode.
/// @dev The generated verifiers are never imported (each generated file declares the same free functions and
/// libraries, and they compile with their own optimizer settings, foundry.toml), so solc's linker never sees them
/// together with a deployer: the link is done here, on the artifact's unlinked bytecode, where solc put the
/// placeholder `__$<34 hex digits of keccak256("<source>:<library>")>$__`. Needs read access to out/.
library DevZkHonkVerifier {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    string internal constant SOURCE = "src/verifiers/generated/Poseidon2PreimageDevZkHonkVerifier.sol";
    string internal constant CONTRACT = "Poseidon2PreimageDevZkHonkVerifier";
    string internal constant LIBRARY = "ZKTranscriptLib";
    /// noir/poseidon2_preimage's public inputs [digest, context] and its ZK proof length (186 fields, 2^8 rows).
    uint256 internal constant PUBLIC_INPUTS = 2;
    uint256 internal constant PROOF_LENGTH = 5952;

    /// @return verifier The linked verifier. @return transcriptLib Its ZKTranscriptLib.
    function deploy() internal returns (address verifier, address transcriptLib) {
        transcriptLib = _create(VM.getCode(string.concat(CONTRACT, ".sol:", LIBRARY)));
        string memory artifact =
            VM.readFile(string.concat(VM.projectRoot(), "/out/", CONTRACT, ".sol/", CONTRACT, ".json"));
        string memory unlinked = VM.parseJsonString(artifact, ".bytecode.object");
        string memory placeholder = string.concat(
            "__$", _hex(abi.encodePacked(keccak256(bytes(string.concat(SOURCE, ":", LIBRARY)))), 17), "$__"
        );
        require(VM.indexOf(unlinked, placeholder) != type(uint256).max, "DevZkHonkVerifier: no ZKTranscriptLib link");
        string memory linked = VM.replace(unlinked, placeholder, _hex(abi.encodePacked(transcriptLib), 20));
        require(VM.indexOf(linked, "__$") == type(uint256).max, "DevZkHonkVerifier: an unlinked library remains");
        verifier = _create(VM.parseBytes(linked));
    }

    function _create(bytes memory initCode) private returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        require(deployed != address(0), "DevZkHonkVerifier: deployment failed");
    }

    /// The first `n` bytes of `data` as lowercase hex, without 0x.
    function _hex(bytes memory data, uint256 n) private pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory out = new bytes(2 * n);
        for (uint256 i; i < n; ++i) {
            out[2 * i] = digits[uint8(data[i]) >> 4];
            out[2 * i + 1] = digits[uint8(data[i]) & 0x0f];
        }
        return string(out);
    }
}
