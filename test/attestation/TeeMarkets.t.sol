// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInputRejections} from "../../src/interfaces/IInputRejections.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {CairnTest} from "../utils/CairnTest.sol";
import {TeeRegistryFixture} from "./TeeRegistry.t.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {IEnclaveKeys} from "../../src/interfaces/IEnclaveKeys.sol";
import {KeyBinding, TeeRole} from "../../src/attestation/interfaces/ITeeRegistry.sol";
import {TeeProofVerifier} from "../../src/verifiers/TeeProofVerifier.sol";
import {MultiProofVerifier} from "../../src/verifiers/MultiProofVerifier.sol";
import {MarketParams} from "../../src/types/Market.sol";
import {ProofContext} from "../../src/types/ProofContext.sol";
import {StakeMirror} from "../../src/restaking/StakeMirror.sol";
import {Assignment} from "../../src/types/Assignment.sol";
import {
    Fulfilment,
    Inputs,
    MatchedRequest,
    Request,
    RequestParams,
    RequestState,
    RequestStatus,
    Task
} from "../../src/types/Request.sol";
import {MarketplaceDigests} from "../utils/MarketplaceDigests.sol";
import {Snapshot} from "../../src/types/Snapshot.sol";

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

    function _proverOperator() internal view override returns (address) {
        return prover;
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
        MatchedRequest[] memory batch = _one(first, prover);
        bytes memory oldSignature = _sign(matcherKey, batch, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, matcher));
        marketplace.assign(batch, new bytes[](0), validUntil, oldSignature);

        // The attested enclave key does.
        assertEq(
            marketplace.assign(batch, new bytes[](0), validUntil, _sign(enclaveMatcherSecret, batch, validUntil)), 1
        );

        // Until it expires.
        vm.warp(block.timestamp + 3601);
        uint256 second = _post(1);
        validUntil = uint64(block.timestamp + 60);
        batch = _one(second, prover);
        bytes memory late = _sign(enclaveMatcherSecret, batch, validUntil);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, enclaveMatcher));
        marketplace.assign(batch, new bytes[](0), validUntil, late);
    }

    // ---------------------------------------------------------------- TEE-proof market

    function _teeMarket() internal returns (uint256 id, TeeProofVerifier tee) {
        uint256 next = marketplace.marketCount() + 1;
        tee = new TeeProofVerifier(teeRegistry, address(marketplace), next, PROGRAM);
        MarketParams memory p = _marketParams();
        p.verifier = tee;
        id = marketplace.createMarket(p);
        assertEq(id, next);
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
    }

    /// A second prover, `copier`, with its own attested enclave key in market `id`.
    function _copierWithEnclave(uint256 id) internal returns (address copier, uint256 copierEnclaveSecret) {
        copier = makeAddr("copier");
        address copierEnclave;
        (copierEnclave, copierEnclaveSecret) = makeAddrAndKey("copier-enclave");
        KeyBinding memory b = _binding(TeeRole.Prover, id, copierEnclave);
        b.operator = copier;
        _register(b);
        assertEq(teeRegistry.enclaveOperator(id, copierEnclave), copier);
    }

    /// `prover` and a `copier` with its own attested enclave key, each listed and staked for one task in market `id`,
    /// and two requests for `publicValues`: `first` assigned to `prover`, `second` to `copier`.
    function _sameRequestForProverAndCopier(uint256 id, bytes memory publicValues)
        internal
        returns (address copier, uint256 first, uint256 second)
    {
        (copier,) = _copierWithEnclave(id);
        for (uint256 i; i < 2; ++i) {
            address who = i == 0 ? prover : copier;
            _registerProver(who, 1);
            _list(who, id, PRICE, LISTED_TIME, 1);
            _stake(who, STAKE_PER_TASK);
        }
        first = _postTo(id, publicValues);
        second = _postTo(id, publicValues);
        _matcherAssign(first, prover);
        _matcherAssign(second, copier);
    }

    /// `prover` fulfils `first` with `proof`; `copier` submitting the same proof for `second` is refused.
    function _assertReplayRefused(
        address copier,
        uint256 first,
        uint256 second,
        bytes memory publicValues,
        bytes memory proof
    ) internal {
        vm.prank(prover);
        marketplace.fulfil(_fulfilmentWith(first, publicValues, "", proof));

        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, second));
        vm.prank(copier);
        marketplace.fulfil(_fulfilmentWith(second, publicValues, "", proof));
    }

    /// A TEE proof of `publicValues` for the request and prover in `context`, signed by `secret` in form `kind`.
    function _teeProof(
        TeeProofVerifier tee,
        uint8 kind,
        bytes memory publicValues,
        ProofContext memory context,
        uint256 secret
    ) internal view returns (bytes memory) {
        return _signedTeeProof(kind, tee.digest(kind, publicValues, context), secret);
    }

    function _signedTeeProof(uint8 kind, bytes32 digest, uint256 secret) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(secret, digest);
        return abi.encode(kind, PROGRAM, abi.encodePacked(r, s, v));
    }

    /// Where a verifier's proof is meant to count: the chain, the verifier and its marketplace.
    struct Place {
        uint256 chainId;
        address verifier;
        address marketplace;
    }

    function _placeOf(TeeProofVerifier tee) internal view returns (Place memory) {
        return Place(block.chainid, address(tee), address(marketplace));
    }

    /// The digest of `kind` for a statement, computed from the documented definitions rather than by the verifier.
    function _definedDigest(uint8 kind, Place memory at, ProofContext memory c, bytes memory publicValues)
        internal
        pure
        returns (bytes32)
    {
        if (kind == 1) {
            bytes32 word =
                keccak256(abi.encode(at.chainId, at.verifier, at.marketplace, c.requestId, c.prover, c.inputsDigest));
            return keccak256(abi.encodePacked(sha256(abi.encodePacked(PROGRAM, word, publicValues))));
        }
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Cairn TeeProofVerifier"),
                keccak256("1"),
                at.chainId,
                at.verifier
            )
        );
        bytes32 statement = keccak256(
            abi.encode(
                keccak256(
                    "TeeProof(address marketplace,uint256 requestId,address prover,bytes32 inputsDigest,bytes32 programId,bytes32 publicValuesHash)"
                ),
                at.marketplace,
                c.requestId,
                c.prover,
                c.inputsDigest,
                PROGRAM,
                keccak256(publicValues)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, statement));
    }

    /// A request of market `id` that `who` was assigned, as the verifier sees it (no request needs to exist).
    function _someRequest(uint256 id, address who) internal pure returns (ProofContext memory) {
        return ProofContext((id << 64) | 1, who, keccak256("the request's inputs"));
    }

    function _postTo(uint256 id, bytes memory publicValues) internal returns (uint256) {
        return _postPrivateTo(id, publicValues, "");
    }

    /// Posts a request in market `id` whose public values are `publicValues` and whose private inputs are `secret`.
    function _postPrivateTo(uint256 id, bytes memory publicValues, bytes memory secret) internal returns (uint256) {
        RequestParams memory p = _requestParams(0);
        p.marketId = SafeCastLib.toUint32(id);
        p.publicInputs = Inputs({data: publicValues, uri: "", digest: bytes32(0)});
        p.privateInputs = Inputs({data: secret, uri: "", digest: bytes32(0)});
        return _post(p);
    }

    function _fulfilmentWith(uint256 requestId, bytes memory publicValues, bytes memory secret, bytes memory proof)
        internal
        view
        returns (Fulfilment memory f)
    {
        f = _fulfilment(requestId, 0);
        f.publicInputs = publicValues;
        // As createRequest digests them: no private inputs, no digest.
        f.privateInputsDigest = secret.length == 0 ? bytes32(0) : keccak256(secret);
        f.proof = proof;
    }

    function _fulfilWith(uint256 requestId, bytes memory publicValues, bytes memory proof) internal {
        vm.prank(prover);
        marketplace.fulfil(_fulfilmentWith(requestId, publicValues, "", proof));
    }

    function test_teeMarket_fulfilledWithATeeProofInEitherForm() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        _registerProver(prover, 2);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK * 2);
        bytes memory output = abi.encode("wasm output", uint256(42));
        for (uint8 kind; kind < 2; ++kind) {
            uint256 requestId = _postTo(id, output);
            _matcherAssign(requestId, prover);
            _fulfilWith(requestId, output, _teeProof(tee, kind, output, _proofContext(requestId), enclaveProverSecret));
            assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Fulfilled));
        }
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), 2 * PRICE);
    }

    /// fulfilBatch in a TEE market: one verifyBatch (consecutive items of one enclave key share a registry read),
    /// answers as verify's, and a bad item reported as a single fulfilment would be.
    function test_teeMarket_fulfilBatch() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        _registerProver(prover, 4);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK * 4);
        (, uint256 unattested) = makeAddrAndKey("unattested");
        Fulfilment[] memory f = new Fulfilment[](4);
        for (uint256 i; i < 4; ++i) {
            bytes memory output = abi.encode("wasm output", i);
            uint256 requestId = _postTo(id, output);
            _matcherAssign(requestId, prover);
            // forge-lint: disable-next-line(unsafe-typecast): i % 2 < 2
            uint8 kind = uint8(i % 2);
            f[i] = _fulfilmentWith(
                requestId,
                output,
                "",
                _teeProof(tee, kind, output, _proofContext(requestId), i == 2 ? unattested : enclaveProverSecret)
            );
        }
        bytes[] memory inputs = new bytes[](4);
        bytes[] memory proofs = new bytes[](4);
        ProofContext[] memory contexts = new ProofContext[](4);
        for (uint256 i; i < 4; ++i) {
            (inputs[i], proofs[i], contexts[i]) = (f[i].publicInputs, f[i].proof, _proofContext(f[i].requestId));
        }
        bool[] memory valid = tee.verifyBatch(inputs, proofs, contexts);
        for (uint256 i; i < 4; ++i) {
            assertEq(valid[i], tee.verify(inputs[i], proofs[i], contexts[i]), vm.toString(i));
            assertEq(valid[i], i != 2, vm.toString(i));
        }
        // A non-canonical or foreign proof is false in the batch; verify, run for the reason, reverts with it.
        proofs[1] = abi.encode(uint8(0), keccak256("another program"), new bytes(65));
        assertFalse(tee.verifyBatch(inputs, proofs, contexts)[1]);
        f[3].proof = proofs[1];

        vm.expectCall(address(tee), abi.encodePacked(tee.verifyBatch.selector), 1);
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(
            f[2].requestId, abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, f[2].requestId)
        );
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.FulfilmentSkipped(
            f[3].requestId,
            abi.encodeWithSelector(TeeProofVerifier.WrongProgram.selector, PROGRAM, keccak256("another program"))
        );
        vm.prank(prover);
        assertEq(marketplace.fulfilBatch(f), 2);
    }

    /// fulfilBatch in a MultiProof market: both halves batched (the ZK half in one verifyBatch of its adapter).
    function test_multiProofMarket_fulfilBatch() public {
        (uint256 id, TeeProofVerifier tee,) = _multiProofMarket();
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
        _registerProver(prover, 3);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK * 3);
        Fulfilment[] memory f = new Fulfilment[](3);
        for (uint256 i; i < 3; ++i) {
            bytes memory inputs = fixtures[i].publicInputs;
            uint256 requestId = _postTo(id, inputs);
            _matcherAssign(requestId, prover);
            bytes memory zk = fixtures[i == 1 ? 0 : i].proof;
            bytes memory teeProof = _teeProof(tee, 0, inputs, _proofContext(requestId), enclaveProverSecret);
            f[i] = _fulfilmentWith(requestId, inputs, "", abi.encode(zk, teeProof));
        }
        vm.expectCall(address(adapter), abi.encodePacked(adapter.verifyBatch.selector), 1);
        vm.expectCall(address(tee), abi.encodePacked(tee.verifyBatch.selector), 1);
        vm.prank(prover);
        assertEq(marketplace.fulfilBatch(f), 2);
        assertEq(uint8(marketplace.requestStatus(f[1].requestId)), uint8(RequestStatus.Assigned));
    }

    function test_teeProof_digestsFollowTheirDefinitions() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        ProofContext memory c = _someRequest(id, prover);
        bytes memory output = hex"c0ffee";
        for (uint8 kind; kind < 2; ++kind) {
            assertEq(tee.digest(kind, output, c), _definedDigest(kind, _placeOf(tee), c, output), vm.toString(kind));
        }
        assertEq(
            tee.bindingWord(c),
            keccak256(
                abi.encode(block.chainid, address(tee), address(marketplace), c.requestId, c.prover, c.inputsDigest)
            )
        );
        vm.expectRevert(abi.encodeWithSelector(TeeProofVerifier.UnknownDigestKind.selector, 2));
        tee.digest(2, output, c);
    }

    /// The verifier-level view of the replay: a signature over one request's statement says nothing about another
    /// request with the same public values, whether it differs in id or in inputs.
    function test_teeProof_boundToTheRequestAndItsInputs() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = abi.encode("over 18", true);
        ProofContext memory ran = _someRequest(id, prover);
        for (uint8 kind; kind < 2; ++kind) {
            bytes memory proof = _teeProof(tee, kind, output, ran, enclaveProverSecret);
            assertTrue(tee.verify(output, proof, ran));
            ProofContext memory other = _someRequest(id, prover);
            other.requestId += 1;
            assertFalse(tee.verify(output, proof, other), "another request");
            other = _someRequest(id, prover);
            other.inputsDigest = keccak256("other private inputs");
            assertFalse(tee.verify(output, proof, other), "other inputs");
            assertFalse(tee.verify(hex"c0ffef", proof, ran), "other output");
        }
    }

    /// Another prover's attested key proves nothing for this request's prover, and a prover's key nothing for
    /// another's request: the signer must be an enclave key of the assigned prover.
    function test_teeProof_signedByAnotherProversEnclaveIsRefused() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        (address copier, uint256 copierEnclaveSecret) = _copierWithEnclave(id);
        bytes memory output = hex"01";
        ProofContext memory mine = _someRequest(id, prover);
        ProofContext memory theirs = _someRequest(id, copier);
        for (uint8 kind; kind < 2; ++kind) {
            assertFalse(tee.verify(output, _teeProof(tee, kind, output, mine, copierEnclaveSecret), mine), "copier key");
            assertFalse(
                tee.verify(output, _teeProof(tee, kind, output, theirs, enclaveProverSecret), theirs), "prover key"
            );
            assertTrue(tee.verify(output, _teeProof(tee, kind, output, theirs, copierEnclaveSecret), theirs));
        }
    }

    /// No prover is nobody's operator: an unregistered signer with a zero prover in the context proves nothing.
    function test_teeProof_zeroProverIsRefused() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        (, uint256 unattested) = makeAddrAndKey("unattested");
        ProofContext memory nobody = _someRequest(id, address(0));
        assertFalse(tee.verify(hex"01", _teeProof(tee, 0, hex"01", nobody, unattested), nobody));
    }

    /// A statement signed for another chain, verifier or marketplace (same market id, program and request id) is
    /// refused in both forms; the same statement for this place is accepted.
    function test_teeProof_boundToChainVerifierAndMarketplace() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"c0ffee";
        ProofContext memory c = _someRequest(id, prover);
        for (uint8 kind; kind < 2; ++kind) {
            Place memory here = _placeOf(tee);
            assertTrue(
                tee.verify(output, _signedTeeProof(kind, _definedDigest(kind, here, c, output), enclaveProverSecret), c)
            );
            Place[3] memory elsewhere = [
                Place(here.chainId + 1, here.verifier, here.marketplace),
                Place(here.chainId, makeAddr("another verifier"), here.marketplace),
                Place(here.chainId, here.verifier, makeAddr("another marketplace"))
            ];
            for (uint256 i; i < elsewhere.length; ++i) {
                bytes32 digest = _definedDigest(kind, elsewhere[i], c, output);
                assertFalse(tee.verify(output, _signedTeeProof(kind, digest, enclaveProverSecret), c), vm.toString(i));
            }
            // A proof made here does not count on a fork with another chain id.
            bytes memory proof = _teeProof(tee, kind, output, c, enclaveProverSecret);
            uint256 chainId = block.chainid;
            vm.chainId(chainId + 1);
            assertFalse(tee.verify(output, proof, c), "forked chain");
            vm.chainId(chainId);
        }
    }

    /// The sp1-tee-prover form counts only over bindingWord ‖ public values: the unbound form (what the verifier
    /// accepted before) and a binding word of another request are refused.
    function test_teeProof_sp1FormNeedsTheBindingWord() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"c0ffee";
        ProofContext memory c = _someRequest(id, prover);
        bytes32 unbound = keccak256(abi.encodePacked(sha256(abi.encodePacked(PROGRAM, output))));
        assertFalse(tee.verify(output, _signedTeeProof(1, unbound, enclaveProverSecret), c), "unbound");
        ProofContext memory other = _someRequest(id, prover);
        other.requestId += 1;
        bytes32 foreignWord =
            keccak256(abi.encodePacked(sha256(abi.encodePacked(PROGRAM, tee.bindingWord(other), output))));
        assertFalse(tee.verify(output, _signedTeeProof(1, foreignWord, enclaveProverSecret), c), "other request");
        bytes32 bound = keccak256(abi.encodePacked(sha256(abi.encodePacked(PROGRAM, tee.bindingWord(c), output))));
        assertTrue(tee.verify(output, _signedTeeProof(1, bound, enclaveProverSecret), c));
    }

    function test_teeMarket_refusesOtherKeysAndPrograms() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"c0ffee";
        ProofContext memory c = _someRequest(id, prover);
        (, uint256 stranger_) = makeAddrAndKey("unattested");
        assertFalse(tee.verify(output, _teeProof(tee, 0, output, c, stranger_), c), "unattested key");
        bytes memory foreign = abi.encode(uint8(0), keccak256("other program"), new bytes(65));
        vm.expectRevert(
            abi.encodeWithSelector(TeeProofVerifier.WrongProgram.selector, PROGRAM, keccak256("other program"))
        );
        tee.verify(output, foreign, c);
    }

    function test_teeMarket_keyOfAnotherMarketIsRefused() public {
        (uint256 id,) = _teeMarket();
        TeeProofVerifier otherMarket = new TeeProofVerifier(teeRegistry, address(marketplace), id + 1, PROGRAM);
        bytes memory output = hex"01";
        ProofContext memory c = _someRequest(id + 1, prover);
        assertFalse(otherMarket.verify(output, _teeProof(otherMarket, 0, output, c, enclaveProverSecret), c));
    }

    /// A verifier serves one market: asked about a request of another market, it reverts rather than judge it.
    function test_RevertWhen_teeProofForARequestOfAnotherMarket() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        ProofContext memory c = _someRequest(id + 1, prover);
        bytes memory proof = _teeProof(tee, 0, hex"01", c, enclaveProverSecret);
        vm.expectRevert(abi.encodeWithSelector(TeeProofVerifier.RequestOfAnotherMarket.selector, c.requestId, id));
        tee.verify(hex"01", proof, c);
    }

    function test_RevertWhen_teeProofVerifierWithoutRegistryOrMarketplace() public {
        vm.expectRevert(TeeProofVerifier.ZeroAddress.selector);
        new TeeProofVerifier(IEnclaveKeys(address(0)), address(marketplace), 1, PROGRAM);
        vm.expectRevert(TeeProofVerifier.ZeroAddress.selector);
        new TeeProofVerifier(teeRegistry, address(0), 1, PROGRAM);
    }

    function test_teeMarket_expiredKeyIsRefused() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = hex"01";
        ProofContext memory c = _someRequest(id, prover);
        bytes memory proof = _teeProof(tee, 0, output, c, enclaveProverSecret);
        assertTrue(tee.verify(output, proof, c));
        vm.warp(block.timestamp + 3601);
        assertFalse(tee.verify(output, proof, c));
    }

    // ---------------------------------------------------------------- replays (issue 10, finding 6)

    /// The enclave ran request `first` (its own private inputs) and signed; its prover fulfils `second`, which claims
    /// the same public values over other private inputs, with that signature instead of running it.
    function test_RevertWhen_teeProofReplayedIntoAnotherRequest() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        _registerProver(prover, 2);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK * 2);
        bytes memory output = abi.encode("over 18", true);
        uint256 first = _postPrivateTo(id, output, hex"01a1");
        uint256 second = _postPrivateTo(id, output, hex"01b2");
        _matcherAssign(first, prover);
        _matcherAssign(second, prover);

        bytes memory proof = _teeProof(tee, 0, output, _proofContext(first), enclaveProverSecret);
        vm.prank(prover);
        marketplace.fulfil(_fulfilmentWith(first, output, hex"01a1", proof));

        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, second));
        vm.prank(prover);
        marketplace.fulfil(_fulfilmentWith(second, output, hex"01b2", proof));
    }

    /// A second prover with its own attested key in the market copies the first prover's proof from calldata.
    function test_RevertWhen_anotherProverReplaysATeeProof() public {
        (uint256 id, TeeProofVerifier tee) = _teeMarket();
        bytes memory output = abi.encode("wasm output", uint256(42));
        (address copier, uint256 first, uint256 second) = _sameRequestForProverAndCopier(id, output);
        bytes memory proof = _teeProof(tee, 0, output, _proofContext(first), enclaveProverSecret);
        _assertReplayRefused(copier, first, second, output, proof);
    }

    // ---------------------------------------------------------------- MultiProof market

    function _multiProofMarket() internal returns (uint256 id, TeeProofVerifier tee, MultiProofVerifier multi) {
        uint256 next = marketplace.marketCount() + 1;
        tee = new TeeProofVerifier(teeRegistry, address(marketplace), next, PROGRAM);
        multi = new MultiProofVerifier(adapter, tee);
        MarketParams memory p = _marketParams();
        p.verifier = multi;
        id = marketplace.createMarket(p);
        assertEq(id, next);
    }

    function test_multiProofMarket_needsBothProofs() public {
        (uint256 id, TeeProofVerifier tee, MultiProofVerifier multi) = _multiProofMarket();
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK);

        bytes memory inputs = fixtures[0].publicInputs;
        uint256 requestId = _postTo(id, inputs);
        _matcherAssign(requestId, prover);
        ProofContext memory c = _proofContext(requestId);
        bytes memory zk = fixtures[0].proof;
        bytes memory teeProof = _teeProof(tee, 0, inputs, c, enclaveProverSecret);
        assertFalse(multi.verify(inputs, abi.encode(fixtures[1].proof, teeProof), c), "bad ZK proof");
        (, uint256 unattested) = makeAddrAndKey("unattested");
        assertFalse(multi.verify(inputs, abi.encode(zk, _teeProof(tee, 0, inputs, c, unattested)), c), "bad TEE proof");
        ProofContext memory other = _proofContext(requestId);
        other.requestId += 1;
        assertFalse(multi.verify(inputs, abi.encode(zk, teeProof), other), "context reaches the TEE half");

        _fulfilWith(requestId, inputs, abi.encode(zk, teeProof));
        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.Fulfilled));
    }

    function test_RevertWhen_multiProofMissesTheTeeHalf() public {
        (uint256 id, TeeProofVerifier tee,) = _multiProofMarket();
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK);
        bytes memory inputs = fixtures[0].publicInputs;
        uint256 requestId = _postTo(id, inputs);
        _matcherAssign(requestId, prover);
        (, uint256 unattested) = makeAddrAndKey("unattested");
        bytes memory forged =
            abi.encode(fixtures[0].proof, _teeProof(tee, 0, inputs, _proofContext(requestId), unattested));
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InvalidProof.selector, requestId));
        _fulfilWith(requestId, inputs, forged);
    }

    /// A ZK proof proves its public statement whoever submits it, so a MultiProof market relies on its TEE half to
    /// tie the proof to the request and its prover: a second prover copying both halves is refused.
    function test_RevertWhen_anotherProverReplaysAMultiProof() public {
        (uint256 id, TeeProofVerifier tee,) = _multiProofMarket();
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
        bytes memory inputs = fixtures[0].publicInputs;
        (address copier, uint256 first, uint256 second) = _sameRequestForProverAndCopier(id, inputs);
        bytes memory proof =
            abi.encode(fixtures[0].proof, _teeProof(tee, 0, inputs, _proofContext(first), enclaveProverSecret));
        _assertReplayRefused(copier, first, second, inputs, proof);
    }

    // ---------------------------------------------------------------- private inputs

    /// A request with an (opaque) encrypted private-input envelope in a market whose prover has an attested key.
    function _privateRequest() internal returns (uint256 requestId) {
        (uint256 id,) = _teeMarket();
        _registerProver(prover, 2);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK * 2);
        RequestParams memory p = _requestParams(0);
        p.marketId = SafeCastLib.toUint32(id);
        p.publicInputs = Inputs({data: abi.encode("claimed output"), uri: "", digest: bytes32(0)});
        p.privateInputs = Inputs({data: hex"01c0ffee", uri: "", digest: bytes32(0)});
        requestId = _post(p);
    }

    function _keyed(bytes memory inputKey) internal pure returns (bytes[] memory keys) {
        keys = new bytes[](1);
        keys[0] = inputKey;
    }

    function test_assign_releasesTheRewrappedInputKey() public {
        uint256 requestId = _privateRequest();
        MatchedRequest[] memory a = _one(requestId, prover);
        bytes memory inputKey = abi.encodePacked(keccak256("wrapped to the prover enclave"), uint8(7));
        uint64 until = uint64(block.timestamp + 60);
        bytes memory sig = _sign(matcherKey, a, _keyed(inputKey), until);
        vm.expectEmit(true, true, false, true, address(marketplace));
        emit IProofMarketplace.InputKeyReleased(requestId, prover, inputKey);
        assertEq(marketplace.assign(a, _keyed(inputKey), until, sig), 1);
    }

    function test_RevertWhen_submitterSwapsTheInputKey() public {
        uint256 requestId = _privateRequest();
        MatchedRequest[] memory a = _one(requestId, prover);
        uint64 until = uint64(block.timestamp + 60);
        bytes memory sig = _sign(matcherKey, a, _keyed(hex"aa"), until);
        bytes[] memory swapped = _keyed(hex"bb");
        bytes32 forgedDigest =
            MarketplaceDigests.assignmentBatch(address(marketplace), _pairs(requestId, hex"bb"), until);
        address recovered = ECDSA.recover(forgedDigest, sig);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotMatcher.selector, recovered));
        marketplace.assign(a, swapped, until, sig);
    }

    function test_RevertWhen_inputKeysDoNotMatchTheBatch() public {
        uint256 requestId = _privateRequest();
        MatchedRequest[] memory a = _one(requestId, prover);
        bytes[] memory keys = new bytes[](2);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.InputKeysLengthMismatch.selector, 2, 1));
        marketplace.assign(a, keys, uint64(block.timestamp + 60), "");
    }

    function _pairs(uint256 requestId, bytes memory inputKey) internal view returns (Assignment[] memory pairs) {
        pairs = new Assignment[](1);
        pairs[0] = Assignment(requestId, prover, PRICE, LISTED_TIME, inputKey);
    }

    // ---------------------------------------------------------------- invalid-input attestations

    function _assignedPrivateRequest() internal returns (uint256 requestId) {
        requestId = _privateRequest();
        _matcherAssign(requestId, prover);
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
    }

    function _attestInvalid(uint256 requestId, uint256 secret) internal view returns (bytes memory) {
        bytes32 digest =
            MarketplaceDigests.invalidInputs(address(marketplace), requestId, records[requestId].inputsDigest);
        (uint8 v, bytes32 r, bytes32 s_) = vm.sign(secret, digest);
        return abi.encodePacked(r, s_, v);
    }

    function test_rejectInputs_paysTheCheckAndSlashesNobody() public {
        uint256 requestId = _assignedPrivateRequest();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        (, uint128 lockedBefore) = staking.stakeOf(prover);
        bytes memory sig = _attestInvalid(requestId, enclaveProverSecret);
        vm.expectEmit(true, true, false, true, address(marketplace));
        emit IProofMarketplace.InputsRejected(requestId, prover, t.price, r.maxReward - t.price);
        vm.prank(prover);
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);

        assertEq(uint8(marketplace.requestStatus(requestId)), uint8(RequestStatus.InputsRejected));
        assertEq(uint8(lens.requestState(requestId, r, t)), uint8(RequestState.InputsRejected));
        assertEq(marketplace.balanceOf(proverRewards, address(payToken)), t.price);
        assertEq(marketplace.balanceOf(r.refundAddress, address(payToken)), r.maxReward - t.price);
        (, uint128 lockedAfter) = staking.stakeOf(prover);
        assertEq(lockedAfter, lockedBefore - STAKE_PER_TASK, "stake released");
        assertEq(registry.prover(prover).computeInUse, 0, "capacity released");
        // Settled once: the task cannot be slashed afterwards.
        vm.warp(t.deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProofMarketplace.RequestNotAssigned.selector, requestId, RequestStatus.InputsRejected
            )
        );
        marketplace.slash(requestId, r, t);
    }

    function test_RevertWhen_rejectInputsWithoutEnclaveRegistry() public {
        uint256 requestId = _privateRequest();
        _matcherAssign(requestId, prover);
        bytes memory sig = _attestInvalid(requestId, enclaveProverSecret);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.expectRevert(IProofMarketplace.EnclaveKeysNotSet.selector);
        vm.prank(prover);
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputsSignedOutsideTheProversEnclave() public {
        uint256 requestId = _assignedPrivateRequest();
        (address outsider, uint256 outsiderSecret) = makeAddrAndKey("not an enclave");
        bytes memory sig = _attestInvalid(requestId, outsiderSecret);
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotProverEnclave.selector, outsider, prover));
        vm.prank(prover);
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputsSignedForOtherInputs() public {
        uint256 requestId = _assignedPrivateRequest();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes32 digest = MarketplaceDigests.invalidInputs(address(marketplace), requestId, keccak256("other inputs"));
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(enclaveProverSecret, digest);
        bytes memory sig = abi.encodePacked(rr, ss, v);
        address recovered =
            ecrecover(MarketplaceDigests.invalidInputs(address(marketplace), requestId, r.inputsDigest), v, rr, ss);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotProverEnclave.selector, recovered, prover));
        vm.prank(prover);
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputsByAnotherAccountOrTooLate() public {
        uint256 requestId = _assignedPrivateRequest();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        bytes memory sig = _attestInvalid(requestId, enclaveProverSecret);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.NotAssignedProver.selector, address(this), prover));
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);

        vm.warp(t.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.TaskDeadlinePassed.selector, requestId, t.deadline));
        vm.prank(prover);
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);
    }

    function test_RevertWhen_rejectInputsWithForgedRecords() public {
        uint256 requestId = _assignedPrivateRequest();
        Request memory r = records[requestId];
        Task memory t = tasks[requestId];
        t.price = 1;
        bytes memory sig = _attestInvalid(requestId, enclaveProverSecret);
        vm.expectRevert(abi.encodeWithSelector(IProofMarketplace.RecordMismatch.selector, requestId));
        vm.prank(prover);
        IInputRejections(address(marketplace)).rejectInputs(requestId, r, t, sig);
    }

    // ---------------------------------------------------------------- slashing: who could have refused the inputs

    /// An unprovable request posted by `requester`, refunds to itself, assigned to `prover` in market `id` and past
    /// its deadline: a Poseidon hash nobody knows a preimage of (Groth16 markets) or an output no program produces.
    function _missedUnprovableRequest(uint256 id) internal returns (uint256 requestId) {
        RequestParams memory p = _requestParams(0);
        p.marketId = SafeCastLib.toUint32(id);
        p.refundAddress = requester;
        if (marketplace.market(id).verifier == adapter) {
            bytes memory inputs = p.publicInputs.data;
            bytes32 noPreimage = keccak256("a hash with no known preimage") >> 8; // below the scalar field
            assembly ("memory-safe") {
                mstore(add(inputs, 0x20), noPreimage)
            }
        } else {
            p.publicInputs.data = abi.encode("an output no program produces");
        }
        requestId = _post(p);
        _matcherAssign(requestId, prover);
        vm.warp(uint256(tasks[requestId].deadline) + 1);
    }

    /// With an active prover enclave key the prover could have attested the inputs unprovable (rejectInputs)
    /// instead of missing its deadline: the slash compensates the requester and rewards the slasher.
    function test_slash_proverWithActiveEnclaveKey_paysCompensationAndSlasherReward() public {
        (uint256 id,) = _teeMarket();
        _readyProverIn(id);
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
        assertTrue(teeRegistry.hasActiveEnclave(id, prover));
        uint256 requestId = _missedUnprovableRequest(id);

        uint256 compensation = uint256(SLASH_PENALTY) * COMPENSATION_BPS / 10_000;
        uint256 reward = uint256(SLASH_PENALTY) * marketplace.SLASHER_REWARD_BPS() / 10_000;
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskSlashed(requestId, prover, SLASH_PENALTY, compensation, reward, stranger);
        vm.prank(stranger);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);

        assertEq(marketplace.balanceOf(requester, address(payToken)), MAX_REWARD);
        assertEq(marketplace.balanceOf(requester, address(stakeToken)), compensation);
        assertEq(marketplace.balanceOf(stranger, address(stakeToken)), reward);
        assertEq(marketplace.balanceOf(treasury, address(stakeToken)), SLASH_PENALTY - compensation - reward);
    }

    /// The registry is set but the prover has no enclave key in this market (a Groth16 market): it could not have
    /// refused the inputs, so the requester gets exactly its escrow back even when it slashes from another address.
    function test_unprovableRequestNeverPaysTheRequesterMoreThanItsEscrow_proverWithoutEnclaveKey() public {
        (uint256 teeMarket,) = _teeMarket(); // the prover's key serves that market only
        _readyProverIn(marketId);
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
        assertTrue(teeRegistry.hasActiveEnclave(teeMarket, prover));
        assertFalse(teeRegistry.hasActiveEnclave(marketId, prover));
        uint256 requestId = _missedUnprovableRequest(marketId);

        address accomplice = makeAddr("requester's other address");
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskSlashed(requestId, prover, SLASH_PENALTY, 0, 0, accomplice);
        vm.prank(accomplice);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);
        _assertExactlyTheEscrow(accomplice);
        assertEq(marketplace.balanceOf(treasury, address(stakeToken)), SLASH_PENALTY);
    }

    /// The rule is judged at the task's deadline: a key active then (the prover could have rejected the inputs)
    /// counts even if it expired before the slash.
    function test_slash_proverEnclaveKeyExpiredAfterTheDeadline_stillCompensates() public {
        (uint256 id,) = _teeMarket();
        _readyProverIn(id);
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
        uint256 requestId = _missedUnprovableRequest(id);
        vm.warp(block.timestamp + 3600);
        assertFalse(teeRegistry.hasActiveEnclave(id, prover));
        assertTrue(teeRegistry.enclaveActiveAt(id, prover, tasks[requestId].deadline));
        uint256 compensation = uint256(SLASH_PENALTY) * COMPENSATION_BPS / 10_000;
        vm.prank(stranger);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);
        assertEq(marketplace.balanceOf(requester, address(stakeToken)), compensation);
    }

    /// Finding 6 (follow-up): a prover without a key during the task, which registers one only after its deadline
    /// (a routine attestation, say), could not have rejected the inputs: the requester still gets exactly its escrow.
    function test_unprovableRequestNeverPaysTheRequesterMoreThanItsEscrow_keyRegisteredAfterTheDeadline() public {
        _readyProverIn(marketId);
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
        uint256 requestId = _missedUnprovableRequest(marketId);
        _allow(TeeRole.Prover, marketId);
        _register(_binding(TeeRole.Prover, marketId, enclaveProver));
        assertTrue(teeRegistry.hasActiveEnclave(marketId, prover));
        assertFalse(teeRegistry.enclaveActiveAt(marketId, prover, tasks[requestId].deadline));
        address accomplice = makeAddr("requester's other address");
        vm.prank(accomplice);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);
        _assertExactlyTheEscrow(accomplice);
    }

    /// Restaked markets take the penalty on Ethereum and pay nothing on this chain: even with an active prover
    /// enclave key the requester gets exactly its escrow back.
    function test_unprovableRequestNeverPaysTheRequesterMoreThanItsEscrow_restakedMarket() public {
        (uint256 id, address restakedToken) = _restakedMarketWithProvenStake();
        _allow(TeeRole.Prover, id);
        _register(_binding(TeeRole.Prover, id, enclaveProver));
        vm.prank(owner);
        marketplace.setEnclaveKeys(teeRegistry);
        assertTrue(teeRegistry.hasActiveEnclave(id, prover));

        uint256 requestId = _missedUnprovableRequest(id);
        address accomplice = makeAddr("requester's other address");
        vm.expectEmit(address(marketplace));
        emit IProofMarketplace.TaskSlashed(requestId, prover, 0, 0, 0, accomplice);
        vm.prank(accomplice);
        marketplace.slash(requestId, records[requestId], tasks[requestId]);
        _assertExactlyTheEscrow(accomplice);
        assertEq(marketplace.balanceOf(requester, restakedToken), 0);
        assertEq(marketplace.balanceOf(accomplice, restakedToken), 0);
    }

    /// A market backed by a StakeMirror (one attested relayer) in which the prover is listed, with 1000 of proven
    /// vault stake.
    function _restakedMarketWithProvenStake() internal returns (uint256 id, address restakedToken) {
        (address relayer, uint256 relayerSecret) = makeAddrAndKey("relayer");
        _allow(TeeRole.Relayer, 0);
        _register(_binding(TeeRole.Relayer, 0, relayer));
        restakedToken = makeAddr("restaked token");
        StakeMirror mirror = new StakeMirror(owner, address(marketplace), teeRegistry, restakedToken, 1, 1 days);
        vm.prank(owner);
        marketplace.setStakeSourceApproval(mirror, true);
        MarketParams memory p = _marketParams();
        p.stakeSource = mirror;
        id = marketplace.createMarket(p);

        // The relayer commits a one-leaf snapshot of the prover's vault stake; the prover proves it.
        address vault = makeAddr("vault");
        vm.warp(block.timestamp + 10);
        Snapshot memory snapshot = Snapshot(
            1,
            uint48(block.timestamp - 1),
            7 days,
            keccak256(bytes.concat(keccak256(abi.encode(prover, vault, restakedToken, 1000e18)))),
            1000e18,
            1
        );
        (uint8 v, bytes32 r, bytes32 s_) = vm.sign(relayerSecret, mirror.snapshotDigest(snapshot));
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = abi.encodePacked(r, s_, v);
        mirror.commitSnapshot(snapshot, sigs);
        mirror.proveStake(prover, vault, 1000e18, new bytes32[](0));
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
    }

    function _readyProverIn(uint256 id) internal {
        _registerProver(prover, 1);
        _list(prover, id, PRICE, LISTED_TIME, 1);
        _stake(prover, STAKE_PER_TASK);
    }

    /// The requester (its refund address and the address it slashed from) holds exactly its escrow: no
    /// compensation, no slasher reward.
    function _assertExactlyTheEscrow(address slasher) internal view {
        assertEq(marketplace.balanceOf(requester, address(payToken)), MAX_REWARD, "escrow back");
        assertEq(marketplace.balanceOf(requester, address(stakeToken)), 0, "no compensation");
        assertEq(marketplace.balanceOf(slasher, address(stakeToken)), 0, "no slasher reward");
        assertEq(marketplace.balanceOf(slasher, address(payToken)), 0);
    }
}
