import {
  type Address,
  BaseError,
  type ContractFunctionArgs,
  ContractFunctionRevertedError,
  encodeFunctionData,
  type Hex,
} from 'viem'
import { batchInputKeys, type SignedAssignmentBatch, signAssignments } from '../../ts/assignment.js'
import { type CairnClient, simulated } from '../../ts/client.js'
import { CairnContractError, decodeCairnError } from '../../ts/errors.js'
import { iSignedRequestsAbi } from '../../ts/generated.js'
import { type SentBatch, sendCalldata } from './batches.js'
import { ERC1271_GAS_CAP } from './order-chain.js'
import type { Prepared } from './submitter.js'

/*
 * The signed orders of a batch, sent with assignSigned after a simulation that keeps only items that would be
 * assigned. The chain checks each item in its own call, and an ERC-1271 wallet may answer differently (or burn all
 * the gas it is given) between intake and the batch, so each batch is first run as an eth_call: when it would assign
 * fewer items than it holds (or fail as a whole, e.g. CalleeOutOfGas after a wallet burned the gas), each item is run
 * alone (checkSignedItem: its request posted alone, simulated, gives the requester-side error exactly; one that passes
 * failed on the prover's side) to learn its reason; those items are dropped with their reason and the rest is signed again, simulated again and sent, with a
 * gas limit of the estimate plus GAS_MARGIN_PERCENT.
 */

export type SignedMatch = ContractFunctionArgs<typeof iSignedRequestsAbi, 'nonpayable', 'assignSigned'>[0][number]
export type SignedCall = {
  matches: SignedMatch[]
  inputKeys: Hex[]
  validUntil: bigint
  signature: Hex
  /** Items whose requester was an ERC-1271 wallet at intake: each may cost the batch up to ERC1271_GAS_CAP. */
  walletItems: number
}

/** Errors that refuse a whole batch (the matcher's signature or the call), not one of its items. */
export const BATCH_ERRORS = new Set(['NotMatcher', 'MatcherSignatureExpired', 'EmptyBatch', 'InputKeysLengthMismatch'])

/** Headroom on the gas estimate: a wallet's check may cost a little more when mined than when estimated. */
export const GAS_MARGIN_PERCENT = 25n

/**
 * The gas limit an assignSigned batch is sent with: the estimate plus its margin, plus ERC1271_GAS_CAP (the module's
 * ERC1271_GAS_LIMIT) for each contract-wallet item: a wallet that behaved when estimated may burn that much when
 * mined; the batch then still finishes, and that item is only skipped (BadRequesterSignature).
 */
export function batchGasLimit(estimate: bigint, contractWalletItems: number): bigint {
  return (estimate * (100n + GAS_MARGIN_PERCENT)) / 100n + BigInt(contractWalletItems) * ERC1271_GAS_CAP
}

export type SignedBatchPorts = {
  sign: (assignments: Prepared['assignment'][], validUntil: bigint) => Promise<SignedAssignmentBatch>
  /** eth_call of assignSigned: how many items it would assign; throws when the call reverts. */
  simulate: (call: SignedCall) => Promise<bigint>
  /** Why one item of a batch that would not assign every item fails (checkSignedItem). */
  checkItem: (match: SignedMatch, now: number) => Promise<CairnContractError | undefined>
  send: (call: SignedCall) => Promise<SentBatch>
}

export type SignedSend = {
  /** Undefined when no item was left to send. */
  sent: SentBatch | undefined
  /** The items sent. */
  items: Prepared[]
  /** Items the simulation showed would fail, with the chain's reason. */
  dropped: { prepared: Prepared; reason: CairnContractError }[]
}

export function signedMatchOf({ item, assignment }: Prepared): SignedMatch {
  const signed = item.request.signed
  if (signed === undefined) throw new Error(`batch item ${item.requestId} is not a signed order`)
  return {
    prover: assignment.prover,
    price: assignment.price,
    provingTime: assignment.provingTime,
    request: signed.request,
    signature: signed.signature,
  }
}

async function signedCall(ports: SignedBatchPorts, items: Prepared[], validUntil: bigint): Promise<SignedCall> {
  const batch = await ports.sign(
    items.map(({ assignment }) => assignment),
    validUntil,
  )
  return {
    matches: items.map(signedMatchOf),
    inputKeys: batchInputKeys(batch.assignments),
    validUntil,
    signature: batch.signature,
    walletItems: items.filter(({ item }) => item.request.signed?.wallet === true).length,
  }
}

/** Whether the simulated call assigns every item; a batch-level refusal is thrown. */
async function assignsAll(ports: SignedBatchPorts, call: SignedCall): Promise<boolean> {
  try {
    return (await ports.simulate(call)) === BigInt(call.matches.length)
  } catch (error) {
    const decoded = decodeCairnError(error)
    if (decoded !== undefined && BATCH_ERRORS.has(decoded.name)) throw decoded
    return false
  }
}

/** Simulates, drops the items that would fail, and sends the rest (see above). */
export async function sendSignedBatch(
  prepared: readonly Prepared[],
  at: { validUntil: bigint; now: number },
  ports: SignedBatchPorts,
): Promise<SignedSend> {
  let items = [...prepared]
  const dropped: SignedSend['dropped'] = []
  if (items.length === 0) return { sent: undefined, items, dropped }
  let call = await signedCall(ports, items, at.validUntil)
  if (!(await assignsAll(ports, call))) {
    const verdicts = await Promise.all(items.map((entry) => ports.checkItem(signedMatchOf(entry), at.now)))
    const kept: Prepared[] = []
    for (const [i, entry] of items.entries()) {
      const reason = verdicts[i]
      if (reason === undefined) kept.push(entry)
      else dropped.push({ prepared: entry, reason })
    }
    items = kept
    if (items.length === 0) return { sent: undefined, items, dropped }
    // Items that pass alone but not together (two orders sharing one deposit) are skipped on chain and settled there.
    call = await signedCall(ports, items, at.validUntil)
    await assignsAll(ports, call)
  }
  return { sent: await ports.send(call), items, dropped }
}

/** The signed-batch chain: simulated and sent by the `submitter` account, signed by `signer`. */
export function signedBatchPorts(submitter: CairnClient, signer: CairnClient): SignedBatchPorts {
  const address = submitter.deployment.contracts.proofMarketplace
  const args = (call: SignedCall) => [call.matches, call.inputKeys, call.validUntil, call.signature] as const
  return {
    sign: (assignments, validUntil) => signAssignments(signer, { assignments, validUntil }),
    async simulate(call) {
      const { result } = await simulated(() =>
        submitter.public.simulateContract({
          account: submitter.wallet.account,
          address,
          abi: iSignedRequestsAbi,
          functionName: 'assignSigned',
          args: args(call),
        }),
      )
      return result
    },
    checkItem: (match) => checkSignedItem(submitter, match),
    async send(call) {
      const data = encodeFunctionData({ abi: iSignedRequestsAbi, functionName: 'assignSigned', args: args(call) })
      const estimate = await simulated(() =>
        submitter.public.estimateGas({ account: submitter.wallet.account, to: address, data }),
      )
      return sendCalldata(submitter, data, batchGasLimit(estimate, call.walletItems))
    },
  }
}

/**
 * Why one item would fail on its own: its signed request posted alone (postSignedRequest, simulated), which makes
 * every requester-side check assignSigned makes, with the same errors (terms, schedule, inputs, signature, nonce, id,
 * deposit). When the request passes, the item failed on the prover's side (capacity, stake, a listing changed):
 * `ProverSideFailure`, which releases the order like a skipped on-chain request instead of dropping it.
 */
export async function checkSignedItem(
  reader: Pick<CairnClient, 'public' | 'deployment'>,
  match: SignedMatch,
): Promise<CairnContractError> {
  const address: Address = reader.deployment.contracts.proofMarketplace
  try {
    await reader.public.simulateContract({
      address,
      abi: iSignedRequestsAbi,
      functionName: 'postSignedRequest',
      args: [match.request, match.signature],
    })
    return new CairnContractError({
      name: 'ProverSideFailure',
      args: { prover: match.prover },
      data: '0x',
      message: `the request is usable, but not by prover ${match.prover} now (capacity, stake or listing)`,
    })
  } catch (error) {
    const decoded = decodeCairnError(error)
    if (decoded !== undefined) return decoded
    // A revert without data (out of gas in a wallet's check): the item fails, whatever the reason. A transport
    // failure is thrown.
    if (error instanceof BaseError && error.walk((cause) => cause instanceof ContractFunctionRevertedError) !== null) {
      return new CairnContractError({ name: 'CallFailed', args: {}, data: '0x', message: 'CallFailed()' })
    }
    throw error
  }
}
