// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
import {SafeCastLib} from "solady/utils/SafeCastLib.sol";
import {MarketplaceDigests} from "./MarketplaceDigests.sol";
import {ProofMarketplace} from "../../src/ProofMarketplace.sol";
import {RequestLens} from "../../src/lens/RequestLens.sol";
import {ProverRegistry} from "../../src/ProverRegistry.sol";
import {SignedFulfilmentModule} from "../../src/SignedFulfilmentModule.sol";
import {NativeStaking} from "../../src/staking/NativeStaking.sol";
import {OwnedMatcherAuthority} from "../../src/matching/OwnedMatcherAuthority.sol";
import {Groth16VerifierAdapter} from "../../src/verifiers/Groth16VerifierAdapter.sol";
import {Groth16BatchVerifier} from "../../src/verifiers/Groth16BatchVerifier.sol";
import {SnarkjsVerifyingKey} from "../../script/utils/SnarkjsVerifyingKey.sol";
import {PoseidonPreimageGroth16Verifier} from "../../src/verifiers/generated/PoseidonPreimageGroth16Verifier.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {IProofMarketplace} from "../../src/interfaces/IProofMarketplace.sol";
import {IProofVerifier} from "../../src/interfaces/IProofVerifier.sol";
import {IStakeSource} from "../../src/interfaces/IStakeSource.sol";
import {MarketParams} from "../../src/types/Market.sol";
import {Listing} from "../../src/types/Prover.sol";
import {ProofContext} from "../../src/types/ProofContext.sol";
import {Assignment} from "../../src/types/Assignment.sol";
import {Fulfilment, Inputs, MatchedRequest, Request, RequestParams, Task} from "../../src/types/Request.sol";

/// @notice A full marketplace deployment with a real Groth16 market and real proofs from circuits/build.
abstract contract CairnTest is Test {
    struct ProofFixture {
        bytes publicInputs;
        bytes proof;
    }

    uint96 internal constant STAKE_PER_TASK = 100e18;
    uint96 internal constant SLASH_PENALTY = 60e18;
    uint16 internal constant COMPENSATION_BPS = 5000;
    uint32 internal constant FALLBACK_DELAY = 60;
    uint32 internal constant EXIT_DELAY = 1 days;
    uint64 internal constant UNBONDING = 7 days;
    uint96 internal constant PRICE = 10e18;
    uint96 internal constant MAX_REWARD = 25e18;
    uint32 internal constant PROVING_TIME = 600;
    uint32 internal constant LISTED_TIME = 300;

    address internal owner = makeAddr("owner");
    address internal treasury = makeAddr("treasury");
    address internal requester = makeAddr("requester");
    address internal refundee = makeAddr("refundee");
    address internal prover = makeAddr("prover");
    address internal proverRewards = makeAddr("proverRewards");
    address internal stranger = makeAddr("stranger");
    address internal matcher;
    uint256 internal matcherKey;

    DevToken internal payToken;
    DevToken internal stakeToken;
    OwnedMatcherAuthority internal authority;
    ProverRegistry internal registry;
    ProofMarketplace internal marketplace;
    RequestLens internal lens;
    NativeStaking internal staking;
    PoseidonPreimageGroth16Verifier internal groth16;
    Groth16VerifierAdapter internal adapter;
    uint256 internal marketId;

    ProofFixture[] internal fixtures;
    /// 32 more proofs of the same circuit (circuits/build/batch-fixtures.json), loaded by _loadBatchFixtures.
    ProofFixture[] internal batchFixtures;

    /// Records as the marketplace emitted them, kept the way an indexer would.
    mapping(uint256 requestId => Request) internal records;
    mapping(uint256 requestId => Task) internal tasks;
    /// Reasons of the AssignmentSkipped events of the last matcher batch.
    bytes[] internal skipReasons;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        (matcher, matcherKey) = makeAddrAndKey("matcher");
        payToken = new DevToken("Pay", "PAY");
        stakeToken = new DevToken("Stake", "STK");
        authority = new OwnedMatcherAuthority(owner);
        vm.prank(owner);
        authority.setMatcher(matcher, true);

        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 2);
        registry = new ProverRegistry(IProofMarketplace(predicted), EXIT_DELAY);
        marketplace = new ProofMarketplace(owner, registry, treasury, authority, new SignedFulfilmentModule(registry));
        lens = new RequestLens(marketplace);
        assertEq(address(marketplace), predicted);
        staking = new NativeStaking(address(stakeToken), address(marketplace), UNBONDING);
        vm.prank(owner);
        marketplace.setStakeSourceApproval(staking, true);

        groth16 = new PoseidonPreimageGroth16Verifier();
        adapter = new Groth16VerifierAdapter(address(groth16), 2);
        marketId = marketplace.createMarket(_marketParams());
        _loadFixtures();
    }

    function _marketParams() internal view returns (MarketParams memory) {
        return MarketParams({
            verifier: adapter,
            paymentToken: address(payToken),
            stakeSource: staking,
            stakePerTask: STAKE_PER_TASK,
            slashPenalty: SLASH_PENALTY,
            requesterCompensationBps: COMPENSATION_BPS,
            fallbackDelay: FALLBACK_DELAY,
            metadataURI: "ipfs://poseidon-preimage"
        });
    }

    function _loadFixtures() internal {
        _loadFixtures(fixtures, "circuits/build/fixtures.json", 10);
    }

    function _loadBatchFixtures() internal {
        if (batchFixtures.length == 0) _loadFixtures(batchFixtures, "circuits/build/batch-fixtures.json", 32);
    }

    /// The batching Groth16 verifier of the same circuit, its key read from snarkjs' verification_key.json.
    function _newBatchVerifier() internal returns (Groth16BatchVerifier) {
        return new Groth16BatchVerifier(SnarkjsVerifyingKey.read("circuits/build/poseidon_preimage.vkey.json"));
    }

    function _loadFixtures(ProofFixture[] storage into, string memory file, uint256 count) internal {
        string memory json = vm.readFile(file);
        for (uint256 i; i < count; ++i) {
            string memory path = string.concat(".fixtures[", vm.toString(i), "]");
            into.push(
                ProofFixture({
                    publicInputs: vm.parseJsonBytes(json, string.concat(path, ".publicInputs")),
                    proof: vm.parseJsonBytes(json, string.concat(path, ".proof"))
                })
            );
        }
    }

    // ---------------------------------------------------------------- actors

    function _registerProver(address who, uint32 capacity) internal {
        vm.prank(who);
        registry.register(who == prover ? proverRewards : who, capacity);
    }

    function _list(address who, uint256 id, uint96 price, uint32 provingTime, uint32 compute) internal {
        vm.prank(who);
        registry.list(id, price, provingTime, compute);
    }

    function _stake(address who, uint256 amount) internal {
        stakeToken.mint(address(this), amount);
        stakeToken.approve(address(staking), amount);
        staking.deposit(who, amount);
    }

    /// Registers, lists in the default market and stakes enough for `tasks` tasks.
    function _readyProver(address who, uint32 taskCount) internal {
        _registerProver(who, taskCount);
        _list(who, marketId, PRICE, LISTED_TIME, 1);
        _stake(who, uint256(STAKE_PER_TASK) * taskCount);
    }

    // ---------------------------------------------------------------- requests

    function _requestParams(uint256 fixture) internal view returns (RequestParams memory p) {
        p.marketId = SafeCastLib.toUint32(marketId);
        p.maxReward = MAX_REWARD;
        p.provingTime = PROVING_TIME;
        p.matchingExpiry = uint32(block.timestamp + 300);
        p.deadline = uint32(block.timestamp + 300 + PROVING_TIME);
        p.speedPreferenceBps = 5000;
        p.refundAddress = refundee;
        p.publicInputs = Inputs({data: fixtures[fixture].publicInputs, uri: "", digest: bytes32(0)});
    }

    function _post(RequestParams memory p) internal returns (uint256 requestId) {
        payToken.mint(requester, p.maxReward);
        vm.startPrank(requester);
        payToken.approve(address(marketplace), p.maxReward);
        requestId = marketplace.createRequest(p);
        vm.stopPrank();
        records[requestId] = _recordOf(p, block.timestamp);
    }

    function _post(uint256 fixture) internal returns (uint256) {
        return _post(_requestParams(fixture));
    }

    /// The record createRequest commits to for `p` posted at `createdAt`.
    function _recordOf(RequestParams memory p, uint256 createdAt) internal pure returns (Request memory) {
        bytes32 publicDigest = p.publicInputs.data.length != 0 ? keccak256(p.publicInputs.data) : p.publicInputs.digest;
        bytes32 privateDigest =
            p.privateInputs.data.length != 0 ? keccak256(p.privateInputs.data) : p.privateInputs.digest;
        return Request({
            refundAddress: p.refundAddress,
            maxReward: p.maxReward,
            createdAt: SafeCastLib.toUint32(createdAt),
            matchingExpiry: p.matchingExpiry,
            provingTime: p.provingTime,
            inputsDigest: keccak256(abi.encodePacked(publicDigest, privateDigest))
        });
    }

    // ---------------------------------------------------------------- matcher and provers

    function _sign(uint256 key, MatchedRequest[] memory matches, uint64 validUntil)
        internal
        view
        returns (bytes memory)
    {
        return _sign(key, matches, new bytes[](0), validUntil);
    }

    /// Signs a batch whose `inputKeys` is empty or holds one (possibly empty) key per match.
    function _sign(uint256 key, MatchedRequest[] memory matches, bytes[] memory inputKeys, uint64 validUntil)
        internal
        view
        returns (bytes memory)
    {
        Assignment[] memory pairs = new Assignment[](matches.length);
        for (uint256 i; i < matches.length; ++i) {
            pairs[i] = Assignment(
                matches[i].requestId,
                matches[i].prover,
                matches[i].price,
                matches[i].provingTime,
                inputKeys.length == 0 ? bytes("") : inputKeys[i]
            );
        }
        bytes32 digest = MarketplaceDigests.assignmentBatch(address(marketplace), pairs, validUntil);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// A matcher decision at the prover's current listing terms (what an up-to-date matcher signs).
    function _match(uint256 requestId, address who) internal view returns (MatchedRequest memory) {
        Listing memory l = registry.listing(who, requestId >> 64);
        return _match(requestId, who, l.price, l.provingTime);
    }

    /// A matcher decision at the given terms.
    function _match(uint256 requestId, address who, uint96 price, uint32 provingTime)
        internal
        view
        returns (MatchedRequest memory)
    {
        return MatchedRequest({
            requestId: requestId, prover: who, price: price, provingTime: provingTime, request: records[requestId]
        });
    }

    function _one(uint256 requestId, address who) internal view returns (MatchedRequest[] memory a) {
        a = new MatchedRequest[](1);
        a[0] = _match(requestId, who);
    }

    /// Submits a matcher-signed batch, recording the tasks it creates and the reasons of the items it skips.
    function _matcherAssign(MatchedRequest[] memory a) internal returns (uint256 assigned) {
        uint64 validUntil = uint64(block.timestamp + 60);
        bytes memory signature = _sign(matcherKey, a, validUntil);
        vm.recordLogs();
        assigned = marketplace.assign(a, new bytes[](0), validUntil, signature);
        _absorbLogs();
    }

    function _matcherAssign(uint256 requestId, address who) internal returns (uint256) {
        return _matcherAssign(_one(requestId, who));
    }

    /// The fallback path, recording the task.
    function _claim(address who, uint256 requestId) internal {
        vm.recordLogs();
        vm.prank(who);
        marketplace.claim(requestId, records[requestId]);
        _absorbLogs();
    }

    function _absorbLogs() internal {
        delete skipReasons;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(marketplace)) continue;
            if (logs[i].topics[0] == IProofMarketplace.RequestCreated.selector) {
                (Request memory record,,,,) = abi.decode(logs[i].data, (Request, uint32, uint16, Inputs, Inputs));
                records[uint256(logs[i].topics[1])] = record;
            } else if (logs[i].topics[0] == IProofMarketplace.TaskAssigned.selector) {
                (Task memory task,) = abi.decode(logs[i].data, (Task, bool));
                tasks[uint256(logs[i].topics[1])] = task;
            } else if (logs[i].topics[0] == IProofMarketplace.AssignmentSkipped.selector) {
                skipReasons.push(abi.decode(logs[i].data, (bytes)));
            }
        }
    }

    function _fulfilment(uint256 requestId, uint256 fixture) internal view returns (Fulfilment memory) {
        return Fulfilment({
            requestId: requestId,
            request: records[requestId],
            task: tasks[requestId],
            publicInputs: fixtures[fixture].publicInputs,
            privateInputsDigest: bytes32(0),
            proof: fixtures[fixture].proof
        });
    }

    /// What the marketplace tells the verifier when the assigned prover fulfils `requestId` (from the records).
    function _proofContext(uint256 requestId) internal view returns (ProofContext memory) {
        return ProofContext(requestId, tasks[requestId].prover, records[requestId].inputsDigest);
    }

    function _fulfil(address who, uint256 requestId, uint256 fixture) internal {
        vm.prank(who);
        marketplace.fulfil(_fulfilment(requestId, fixture));
    }

    function _slash(uint256 requestId) internal {
        marketplace.slash(requestId, records[requestId], tasks[requestId]);
    }
}
