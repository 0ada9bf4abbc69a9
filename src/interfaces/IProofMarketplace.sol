// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IEnclaveKeys} from "./IEnclaveKeys.sol";
import {IMatcherAuthority} from "./IMatcherAuthority.sol";
import {IStakeSource} from "./IStakeSource.sol";
import {IProverRegistry} from "./IProverRegistry.sol";
import {Market, MarketParams} from "../types/Market.sol";
import {Fulfilment, Inputs, MatchedRequest, Request, RequestParams, RequestStatus, Task} from "../types/Request.sol";

/// @title IProofMarketplace
/// @notice Markets (one per circuit), requests with escrowed rewards, assignment by an authorised matcher or by a
/// permissionless fallback claim, proof fulfilment, and slashing of provers that miss their deadline.
/// @dev Economic rules: a matcher-assigned prover is paid exactly the listed price the matcher signed (`assign`);
/// a slash pays the requester its escrow back, and compensation plus slasher reward only where the prover could have
/// attested unprovable inputs instead (`slash`), so no requester profits from posting a request nobody can prove.
interface IProofMarketplace {
    // ---------------------------------------------------------------- errors
    error ZeroAddress();
    error NotContract(address account);
    error StakeSourceNotApproved(address stakeSource);
    error PenaltyExceedsStake(uint96 slashPenalty, uint96 stakePerTask);
    error CompensationTooHigh(uint16 requesterCompensationBps, uint16 max);
    error FallbackDelayTooLong(uint32 fallbackDelay, uint32 max);
    error WrongCreationFee(uint256 expected, uint256 paid);
    error UnknownMarket(uint256 marketId);
    error NotMarketCreator(address caller);
    error ZeroReward();
    error ZeroProvingTime();
    error DeadlineInPast(uint32 deadline);
    error DeadlineTooFar(uint32 deadline, uint256 latest);
    error DeadlineShorterThanProvingTime(uint32 deadline, uint32 provingTime);
    error MatchingExpiryInPast(uint32 matchingExpiry);
    error MatchingExpiryTooLate(uint32 matchingExpiry, uint256 latest);
    error SpeedPreferenceOutOfRange(uint16 speedPreferenceBps);
    error MissingInputs();
    error InputsDigestMismatch(bytes32 given, bytes32 computed);
    error InvalidPublicInputs();
    error UnknownRequest(uint256 requestId);
    error RecordMismatch(uint256 requestId);
    error ZeroAmount();
    error RequestNotOpen(uint256 requestId, RequestStatus status);
    error RequestExpired(uint256 requestId, uint32 matchingExpiry);
    error RequestNotExpired(uint256 requestId, uint32 matchingExpiry);
    error EmptyBatch();
    error InputKeysLengthMismatch(uint256 inputKeys, uint256 matches);
    error MatcherSignatureExpired(uint64 validUntil);
    error NotMatcher(address signer);
    error FallbackNotOpen(uint256 requestId, uint256 opensAt);
    error RequestNotAssigned(uint256 requestId, RequestStatus status);
    error RequestAlreadyFulfilled(uint256 requestId);
    error NotAssignedProver(address caller, address prover);
    error TaskDeadlinePassed(uint256 requestId, uint32 taskDeadline);
    error TaskDeadlineNotPassed(uint256 requestId, uint32 taskDeadline);
    error WrongInputs(uint256 requestId);
    error InvalidProof(uint256 requestId);
    /// @notice A withdrawal of more than `account`'s balance of `token`, or of the whole balance when it is empty
    /// (`amount` 0 and `balance` 0).
    error InsufficientBalance(address account, address token, uint256 balance, uint256 amount);
    error CallFailed(address callee);
    error EnclaveKeysNotSet();
    /// @notice An invalid-input attestation was not signed by an active enclave key of the task's prover.
    error NotProverEnclave(address signer, address prover);
    /// @notice A matcher-signed item whose prover's listing no longer has the price and proving time the matcher
    /// signed (the prover changed it after the signature): skipped, the prover is not assigned at other terms.
    error ListingChanged(
        address prover, uint96 signedPrice, uint96 listedPrice, uint32 signedProvingTime, uint32 listedProvingTime
    );
    /// @notice A registry, stake source or verifier call ran out of the gas it was given: the whole call reverts
    /// rather than report a valid item as failed.
    error CalleeOutOfGas();

    // ---------------------------------------------------------------- events
    event MarketCreated(uint256 indexed marketId, address indexed creator, MarketParams params);
    event MarketMetadataUpdated(uint256 indexed marketId, string metadataURI);
    /// @param request The record callers pass back to claim, assign, fulfil, slash or cancel this request.
    event RequestCreated(
        uint256 indexed requestId,
        uint256 indexed marketId,
        address indexed requester,
        Request request,
        uint32 deadline,
        uint16 speedPreferenceBps,
        Inputs publicInputs,
        Inputs privateInputs
    );
    /// @param task The record callers pass back (with the request's) to fulfil or slash this task.
    event TaskAssigned(uint256 indexed requestId, address indexed prover, Task task, bool byMatcher);
    /// @notice The matcher released a private-input request's data key to the assigned prover's enclave.
    event InputKeyReleased(uint256 indexed requestId, address indexed prover, bytes inputKey);
    event AssignmentSkipped(uint256 indexed requestId, address indexed prover, bytes reason);
    event RequestFulfilled(uint256 indexed requestId, address indexed prover, uint96 price, uint96 refund);
    event FulfilmentSkipped(uint256 indexed requestId, bytes reason);
    /// @notice The prover's enclave attested that the request's inputs cannot be proven: the prover is paid its
    /// price for the check, the rest of the escrow is refunded, and nobody is slashed.
    event InputsRejected(uint256 indexed requestId, address indexed prover, uint96 price, uint96 refund);
    event TaskSlashed(
        uint256 indexed requestId,
        address indexed prover,
        uint256 penalty,
        uint256 compensation,
        uint256 slasherReward,
        address slasher
    );
    event RequestCancelled(uint256 indexed requestId, uint96 refund);
    event Deposited(address indexed account, address indexed token, uint256 amount);
    event Withdrawn(address indexed account, address indexed token, address to, uint256 amount);
    event TreasuryUpdated(address treasury);
    event MatcherAuthorityUpdated(IMatcherAuthority authority);
    event EnclaveKeysUpdated(IEnclaveKeys enclaveKeys);
    event StakeSourceApprovalUpdated(IStakeSource indexed stakeSource, bool approved);
    event MarketCreationFeeUpdated(uint96 fee);

    // ---------------------------------------------------------------- markets

    /// @notice Creates a market; anyone may, paying the creation fee in native currency.
    /// @return marketId The new market's id (ids start at 1).
    function createMarket(MarketParams calldata params) external payable returns (uint256 marketId);

    /// @notice Replaces a market's metadata URI; its creator only.
    function setMarketMetadata(uint256 marketId, string calldata metadataURI) external;

    // ---------------------------------------------------------------- requests

    /// @notice Posts a request and escrows its max reward: from msg.sender's marketplace balance first, any
    /// shortfall pulled from msg.sender with transferFrom.
    /// @return requestId marketId << 64 | index, index counting from 1 within the market.
    function createRequest(RequestParams calldata params) external returns (uint256 requestId);

    /// @notice Returns the escrow of an unassigned request whose matching expiry has passed; anyone may call,
    /// the refund is credited to the request's refund address.
    /// @param request The request's record, as emitted in RequestCreated.
    function cancel(uint256 requestId, Request calldata request) external;

    // ---------------------------------------------------------------- assignment

    /// @notice Assigns a batch of requests as decided by the matcher; anyone may submit the signed batch. The matcher
    /// signs, per item, the prover's listed price and proving time it matched on: an item is assigned only at exactly
    /// those terms, so a prover that changes its listing between signature and inclusion is skipped
    /// (`ListingChanged`), never paid more than the matcher agreed to.
    /// @dev Items that no longer hold (request taken, prover busy, listing changed, ...) are skipped with
    /// `AssignmentSkipped`, never reverting the rest of the batch; running out of gas reverts the whole call.
    /// Each non-empty input key is published with `InputKeyReleased` for the assigned prover's enclave.
    /// @param matches The signed (request, prover, price, proving time) items, each with its request's record.
    /// @param inputKeys Empty when no request of the batch has private inputs; otherwise one entry per match: the
    /// request's data key re-wrapped to the prover's enclave key, or empty bytes for a public request.
    /// @param validUntil Last second the signature may be used.
    /// @param signature EIP-712 signature of an authorised matcher key over the assignments.
    /// @return assigned Number of assignments made.
    function assign(
        MatchedRequest[] calldata matches,
        bytes[] calldata inputKeys,
        uint64 validUntil,
        bytes calldata signature
    ) external returns (uint256 assigned);

    /// @notice Lets a listed prover (msg.sender) take an open request at its listed price (at most the request's max
    /// reward) once the matcher has left it unassigned for the market's fallback delay.
    function claim(uint256 requestId, Request calldata request) external;

    // ---------------------------------------------------------------- fulfilment and slashing

    /// @notice Submits the proof of an assigned request; the assigned prover only, before the task deadline.
    /// The public inputs are checked against the posted digest, then the proof against the market's verifier.
    function fulfil(Fulfilment calldata fulfilment) external;

    /// @notice Submits several proofs; items that fail are skipped with `FulfilmentSkipped`, with the reason a single
    /// `fulfil` would revert with.
    /// @dev The proofs are verified once per verifier: each market verifier gets all of its items in one
    /// `verifyBatch` call (a Groth16BatchVerifier checks them with one multi-pairing), and `verify` only for the items
    /// that call did not accept (see ProofVerification).
    /// @return fulfilled Number of requests fulfilled.
    function fulfilBatch(Fulfilment[] calldata fulfilments) external returns (uint256 fulfilled);

    /// @notice Slashes the prover of a task past its deadline; anyone may call. The requester always gets its full
    /// escrow back. The penalty taken on this chain (none for restaked markets: theirs is taken on Ethereum) is split
    /// into the requester's compensation, the caller's slasher reward and the treasury's remainder, which add up to
    /// exactly the penalty.
    /// @dev No requester may profit from a request nobody can prove. Compensation and slasher reward are paid only
    /// when the prover could have settled an unprovable request with an enclave attestation (`rejectInputs`)
    /// instead of being slashed: the enclave-key registry is set and the prover held an active enclave key in the
    /// market at the task's deadline (`enclaveActiveAt`; a key registered only after it does not count). Otherwise the whole penalty goes to the treasury and the requester is made whole
    /// (escrow back), never more, even when it slashes from another address.
    function slash(uint256 requestId, Request calldata request, Task calldata task) external;

    /// @notice Adds `amount` of `token`, pulled from msg.sender, to msg.sender's balance (escrow for requests).
    function deposit(address token, uint256 amount) external;

    /// @notice Sends `amount` of msg.sender's balance of `token` (address(0) = native) to `to`; `amount` 0 sends
    /// the whole balance. Reverts with `InsufficientBalance` when `amount` exceeds the balance or the balance is empty.
    function withdraw(address token, address to, uint256 amount) external;

    // ---------------------------------------------------------------- governance

    /// @notice Sets where protocol fees and the slashing remainder go.
    function setTreasury(address treasury) external;

    /// @notice Sets the contract deciding which keys are matchers.
    function setMatcherAuthority(IMatcherAuthority authority) external;

    /// @notice Sets the registry of prover enclave keys that may sign invalid-input attestations.
    function setEnclaveKeys(IEnclaveKeys enclaveKeys) external;

    /// @notice Approves or revokes a stake source for new markets (existing markets keep theirs).
    function setStakeSourceApproval(IStakeSource stakeSource, bool approved) external;

    /// @notice Sets the native-currency fee for creating a market.
    function setMarketCreationFee(uint96 fee) external;

    // ---------------------------------------------------------------- views

    /// @notice The prover registry this marketplace assigns from.
    function registry() external view returns (IProverRegistry);

    /// @notice Whether a market with this id exists.
    function marketExists(uint256 marketId) external view returns (bool);

    /// @notice A market's stored parameters.
    function market(uint256 marketId) external view returns (Market memory);

    /// @notice A request's stored status.
    function requestStatus(uint256 requestId) external view returns (RequestStatus);

    /// @notice A request's storage slot: its status in the top byte and, while live, a hash of its records (see
    /// RequestCommitment). RequestLens derives the request's state as of now from it.
    function requestCommitment(uint256 requestId) external view returns (bytes32);

    /// @notice Balance of `token` that `account` may withdraw or spend on requests.
    function balanceOf(address account, address token) external view returns (uint256);
}
