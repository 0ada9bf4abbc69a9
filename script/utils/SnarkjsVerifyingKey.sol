// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {Groth16VerifyingKey} from "../../src/types/Groth16VerifyingKey.sol";

/// @title SnarkjsVerifyingKey
/// @notice Reads a snarkjs verification_key.json (Groth16, bn128) into the Groth16BatchVerifier constructor's form,
/// for deploy scripts and tests: the key stays data, no generated code.
library SnarkjsVerifyingKey {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice The key in `path` (relative to the project root; foundry.toml must allow reading it).
    function read(string memory path) internal view returns (Groth16VerifyingKey memory vk) {
        string memory json = VM.readFile(string.concat(VM.projectRoot(), "/", path));
        require(
            keccak256(bytes(VM.parseJsonString(json, ".protocol"))) == keccak256("groth16"),
            "SnarkjsVerifyingKey: not a Groth16 key"
        );
        require(
            keccak256(bytes(VM.parseJsonString(json, ".curve"))) == keccak256("bn128"), "SnarkjsVerifyingKey: not bn128"
        );
        vk.alpha = [_word(json, ".vk_alpha_1[0]"), _word(json, ".vk_alpha_1[1]")];
        vk.beta = _g2(json, ".vk_beta_2");
        vk.gamma = _g2(json, ".vk_gamma_2");
        vk.delta = _g2(json, ".vk_delta_2");
        uint256 points = VM.parseJsonUint(json, ".nPublic") + 1;
        vk.ic = new uint256[2][](points);
        for (uint256 i; i < points; ++i) {
            string memory point = string.concat(".IC[", VM.toString(i), "]");
            vk.ic[i] = [_word(json, string.concat(point, "[0]")), _word(json, string.concat(point, "[1]"))];
        }
    }

    /// @dev snarkjs writes field elements as decimal strings.
    function _word(string memory json, string memory key) private pure returns (uint256) {
        return VM.parseUint(VM.parseJsonString(json, key));
    }

    /// @dev snarkjs lists each Fp2 coordinate as [c0, c1]; the precompiles take c1 first.
    function _g2(string memory json, string memory key) private pure returns (uint256[4] memory) {
        return [
            _word(json, string.concat(key, "[0][1]")),
            _word(json, string.concat(key, "[0][0]")),
            _word(json, string.concat(key, "[1][1]")),
            _word(json, string.concat(key, "[1][0]"))
        ];
    }
}
