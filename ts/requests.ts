import { type Address, isAddressEqual, parseEventLogs, type TransactionReceipt } from 'viem'
import type { CairnClient } from './client.js'
import { CairnContractError } from './errors.js'
import { requestCreationOf } from './events.js'
import { devTokenAbi, proofMarketplaceAbi } from './generated.js'
import { getMarket, requestRecords } from './readers.js'
import { ensureAllowance } from './tokens.js'
import type { RequestCreation, RequestParams, RequestRef } from './types.js'
import { write } from './write.js'

export type CreatedRequest = RequestCreation & {
  receipt: TransactionReceipt
  /** The approval sent first because the allowance was short, if any. */
  approval: TransactionReceipt | undefined
  /** Where the escrow came from: the requester's marketplace balance alone, or (partly) its tokens through transferFrom. */
  escrowSource: 'balance' | 'transferFrom'
}

/**
 * Posts a request, escrowing `maxReward`: from the requester's marketplace balance first (see `deposit`), any
 * shortfall pulled with transferFrom, approving the market's payment token first when the allowance is short.
 * createRequest pulls the tokens last, after every check, so a first simulation that fails only on the transfer
 * means the request is valid and just needs the approval; any other revert is thrown before anything is sent.
 * Returns the request's id and record as emitted: pass it on to claim, assign, cancel. Private inputs must be
 * encrypted for the request this client posts (privateInputsContextFor: its account is the requester), else no
 * matcher opens them; requestProof does all of that.
 */
export async function createRequest(client: CairnClient, params: RequestParams): Promise<CreatedRequest> {
  const address = client.deployment.contracts.proofMarketplace
  const post = () => write(client, { address, abi: proofMarketplaceAbi, functionName: 'createRequest', args: [params] })
  let approval: TransactionReceipt | undefined
  let receipt: TransactionReceipt
  try {
    receipt = await post()
  } catch (error) {
    // Thrown decoded by the simulation, or by the node's gas estimate when sending: either way nothing was sent.
    if (!(error instanceof CairnContractError && error.name === 'TransferFromFailed')) throw error
    const market = await getMarket(client, BigInt(params.marketId))
    approval = await ensureAllowance(client, market.paymentToken, address, params.maxReward)
    if (approval === undefined) throw error
    receipt = await post()
  }
  const creation = requestCreationOf(receipt, address)
  return { ...creation, receipt, approval, escrowSource: pulledBy(receipt, address) ? 'transferFrom' : 'balance' }
}

/** Whether `marketplace` received tokens in this receipt (an ERC20 Transfer to it). */
function pulledBy(receipt: TransactionReceipt, marketplace: Address): boolean {
  const transfers = parseEventLogs({ abi: devTokenAbi, logs: receipt.logs, eventName: 'Transfer', strict: true })
  return transfers.some(({ args }) => isAddressEqual(args.to, marketplace))
}

/**
 * Cancels an unassigned request past its matching expiry; anyone may. The escrow is credited to its refund
 * address's marketplace balance. Given only an id, the request's record is loaded from logs.
 */
export async function cancel(
  client: CairnClient,
  ref: RequestRef,
): Promise<{ requestId: bigint; refund: bigint; receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const { requestId, request: record } = await requestRecords(client, ref)
  const { receipt, event } = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'cancel',
    args: [requestId, record],
    eventName: 'RequestCancelled',
  })
  return { requestId, refund: event.args.refund, receipt }
}

/**
 * Adds `amount` of `token` to the client's marketplace balance (approving it first when the allowance is short).
 * createRequest then escrows from that balance instead of pulling tokens each time.
 */
export async function deposit(
  client: CairnClient,
  token: Address,
  amount: bigint,
): Promise<{ amount: bigint; receipt: TransactionReceipt; approval: TransactionReceipt | undefined }> {
  const address = client.deployment.contracts.proofMarketplace
  const approval = await ensureAllowance(client, token, address, amount)
  const { receipt, event } = await write(client, {
    address,
    abi: proofMarketplaceAbi,
    functionName: 'deposit',
    args: [token, amount],
    eventName: 'Deposited',
  })
  return { amount: event.args.amount, receipt, approval }
}
