// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CairnTest} from "../utils/CairnTest.sol";
import {TeeRegistryFixture} from "./TeeRegistry.t.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "../../src/interfaces/IProofVerifier.sol";
import {KeyBinding, TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {TeeProofVerifier} from "../../src/verifiers/TeeProofVerifier.sol";
import {MultiProofVerifier} from "../../src/verifiers/MultiProofVerifier.sol";
import {MarketParams} from "../../src/types/Market.sol";
import {Fulfilment, Inputs, RequestParams, RequestStatus} from "../../src/types/Request.sol";

/// @notice Attested keys inside the marketplace: the registry as matcher authority, TEE-proof markets and MultiProof
/// (Groth16 AND TEE) markets, through whole request lifecycles.
contract TeeMarketsTest is CairnTest, TeeRegistryFixture {
    bytes32 internal constant PROGRAM = keccak256("cairn wasm program v1");

    address internal enclaveMatcher;
    uint256 internal enclaveMatcherSecret;
    address internal enclaveProver;
    uint256 internal enclaveProverSecret;

    function setUp() public override {
        super.setUp();
        _setUpRegistry();
        (enclaveMatcher, enclaveMatcherSecret) = makeAddrAndKey("enclave-matcher");
        (enclaveProver, enclaveProverSecret) = makeAddrAndKey("enclave-prover");
    }

    // ---------------------------------------------------------------- matcher authority

    function test_matcherAuthority_switchesToAttestedKeys() public {
        vm.prank(owner);
        marketplace.setMatcherAuthority(teeRegistry);
        _allow(TeeRole.Matcher, 0);
        _register(_binding(TeeRole.Matcher, 0, enclaveMatcher));
        _readyProver(prover, 2);

        // The old owner-set key no longer authorises anything.
        uint256 first = _post(0);
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory oldSignature = _sign(matcherKey, _one(first, prover), validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, matcher));
        marketplace.assign(_one(first, prover), validUntil, oldSignature);

        // The attested enclave key does.
        assertEq(
            marketplace.assign(
                _one(first, prover), validUntil, _sign(enclaveMatcherSecret, _one(first, prover), validUntil)
            ),
            1
        );

        // Until it expires.
        vm.warp(block.timestamp + 3601);
        uint256 second = _post(1);
        validUntil = uint64(block.timestamp + 60);
        bytes memory late = _sign(enclaveMatcherSecret, _one(second, prover), validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, enclaveMatcher));
        marketplace.assign(_one(second, prover), validUntil, late);
    }

    // ---------------------------------------------------------------- TEE-proof market

    function _teeMarket() internal returns (uint256 id, TeeProofVerifier tee) {
        uint256 next = marketplace.marketCount() + 1;
        tee = new TeeProofVerifier(teeRegistry, next, PROGRAM);
        MarketParams memory p = _marketParams();
        p.verifier = tee;
        id = marketplace.createMarket(p);
        assertEq(id, next);
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
    }

    function _teeProof(TeeProofVerifier tee, uint8 kind, bytes memory publicValues, uint256 secret)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(secret, tee.digest(kind, publicValues));
        return abi.encode(kind, PROGRAM, abi.encodePacked(r, s, v));
    }

    function _postTo(uint256 id, bytes memory publicValues) internal returns (uint256) {
        RequestParams memory p = _requestParams(0);
        p.marketId = uint32(id);
        p.publicInputs = Inputs({data: publicValues, uri: "", digest: bytes32(0)});
        return _post(p);
    }

    function _fulfilWith(uint256 requestId, bytes memory publicValues, bytes memory proof) internal {
        Fulfilment memory f = _fulfilment(requestId, 0);
        f.publicInputs = publicValues;
        f.proof = proof;
        vm.prank(prover);
        marketplace.fulfil(f);
    }

    function test_teeMarket_fulfilledWithAnEip712TeeProof() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        _registerProver(prover, 2);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK * 2);
        bytes memory output = abi.encode("wasm output", uint256(42));
        uint256 requestId = _postTo(id, output);
        _matcherAssign(requestId, prover);
        _fulfilWith(requestId, output, _teeProof(tee, 0, output, enclaveProverSecret));
        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Fulfilled));
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), PRICE);
    }

    function test_teeMarket_acceptsTheSp1TeeDigestForm() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"c0ffee";
        bytes32 expected = keccak256(abi.encodePacked(sha256(abi.encodePacked(PROGRAM, output))));
        assertEq(tee.digest(1, output), expected);
        assertTrue(tee.verify(output, _teeProof(tee, 1, output, enclaveProverSecret)));
        assertEq(id, tee.marketId());
    }

    function test_teeMarket_refusesOtherKeysProgramsAndOutputs() public {
        (, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"c0ffee";
        (, uint256 stranger_) = makeAddrAndKey("unattested");
        assertFalse(tee.verify(output, _teeProof(tee, 0, output, stranger_)), "unattested key");
        assertFalse(tee.verify(hex"c0ffef", _teeProof(tee, 0, output, enclaveProverSecret)), "other output");
        bytes memory foreign = abi.encode(uint8(0), keccak256("other program"), new bytes(65));
        vm.expectRevert(
            abi.encodeWithSelector(TeeProofVerifier.WrongProgram.selector, PROGRAM, keccak256("other program"))
        );
        tee.verify(output, foreign);
    }

    function test_teeMarket_keyOfAnotherMarketIsRefused() public {
        (, TeeProofVerifier tee) = _teeMarket();
        TeeProofVerifier otherMarket = new TeeProofVerifier(teeRegistry, tee.marketId() + 1, PROGRAM);
        bytes memory output = hex"01";
        assertFalse(otherMarket.verify(output, _teeProof(otherMarket, 0, output, enclaveProverSecret)));
    }

    function test_teeMarket_expiredKeyIsRefused() public {
        (, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"01";
        bytes memory proof = _teeProof(tee, 0, output, enclaveProverSecret);
        assertTrue(tee.verify(output, proof));
        vm.warp(block.timestamp + 3601);
        assertFalse(tee.verify(output, proof));
    }

    // ---------------------------------------------------------------- MultiProof market

    function test_multiProofMarket_needsBothProofs() public {
        uint256 next = marketplace.marketCount() + 1;
        TeeProofVerifier tee = new TeeProofVerifier(teeRegistry, next, PROGRAM);
        MultiProofVerifier multi = new MultiProofVerifier(adapter, tee);
        MarketParams memory p = _marketParams();
        p.verifier = multi;
        uint256 id = marketplace.createMarket(p);
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK);

        bytes memory inputs = fixtures[0].publicInputs;
        bytes memory zk = fixtures[0].proof;
        bytes memory teeProof = _teeProof(tee, 0, inputs, enclaveProverSecret);
        assertFalse(multi.verify(inputs, abi.encode(fixtures[1].proof, teeProof)), "bad ZK proof");
        (, uint256 unattested) = makeAddrAndKey("unattested");
        assertFalse(multi.verify(inputs, abi.encode(zk, _teeProof(tee, 0, inputs, unattested))), "bad TEE proof");

        uint256 requestId = _postTo(id, inputs);
        _matcherAssign(requestId, prover);
        _fulfilWith(requestId, inputs, abi.encode(zk, teeProof));
        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Fulfilled));
    }

    function test_RevertWhen_multiProofMissesTheTeeHalf() public {
        uint256 next = marketplace.marketCount() + 1;
        TeeProofVerifier tee = new TeeProofVerifier(teeRegistry, next, PROGRAM);
        MultiProofVerifier multi = new MultiProofVerifier(adapter, tee);
        MarketParams memory p = _marketParams();
        p.verifier = multi;
        uint256 id = marketplace.createMarket(p);
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK);
        bytes memory inputs = fixtures[0].publicInputs;
        uint256 requestId = _postTo(id, inputs);
        _matcherAssign(requestId, prover);
        (, uint256 unattested) = makeAddrAndKey("unattested");
        bytes memory forged = abi.encode(fixtures[0].proof, _teeProof(tee, 0, inputs, unattested));
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, requestId));
        _fulfilWith(requestId, inputs, forged);
    }
}
