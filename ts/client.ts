import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  custom,
  type Hash,
  http,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem'
import type { Deployment } from './deployment.js'
import { decodeCairnError, rethrowDecoded } from './errors.js'
import { describeRevertReason, type RevertReason, revertReasonOf } from './revert-reason.js'
import { followTransaction, type SendOptions, TransactionDroppedError, TransactionReplacedError } from './sending.js'

/** What read-only SDK functions need. */
export type CairnReader = {
  public: PublicClient<Transport, Chain>
  deployment: Deployment
}

/** A reader that can also sign and send, as one account. */
export type CairnClient = CairnReader & {
  wallet: WalletClient<Transport, Chain, Account>
}

/**
 * Any chain, no Cairn marketplace deployment: what the functions for other chains' contracts need (Symbiotic on
 * Ethereum, tokens). A CairnReader is one.
 */
export type ChainReader = { public: PublicClient<Transport, Chain> }
/** A ChainReader that can also sign and send; a CairnClient is one. */
export type ChainClient = ChainReader & { wallet: WalletClient<Transport, Chain, Account> }

export function createCairnReader(params: {
  chain: Chain
  rpcUrl: string
  deployment: Deployment
  pollingInterval?: number
}): CairnReader {
  const client = createPublicClient({
    chain: params.chain,
    transport: http(params.rpcUrl),
    pollingInterval: params.pollingInterval ?? 1_000,
  })
  return { public: client, deployment: params.deployment }
}

/** Binds `account` to an existing reader, so several actors share one public client. */
export function connect(reader: CairnReader, account: Account): CairnClient {
  const { chain, pollingInterval } = reader.public
  const wallet = createWalletClient({
    account,
    chain,
    // Requests go through the reader's client so every actor shares one endpoint and its retry policy.
    transport: custom(reader.public),
    pollingInterval,
  })
  return { ...reader, wallet }
}

/** Runs a simulation (or any read) and turns a revert into a CairnContractError before anything is sent. */
export async function simulated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    return rethrowDecoded(error)
  }
}

/** A mined transaction that reverted; `reason` is what replaying it on its block's parent state decoded. */
export class TransactionRevertedError extends Error {
  override readonly name = 'TransactionRevertedError'
  constructor(
    readonly receipt: TransactionReceipt,
    readonly reason: RevertReason = { kind: 'unknown' },
  ) {
    super(
      `transaction ${receipt.transactionHash} reverted in block ${receipt.blockNumber}${describeRevertReason(reason)}`,
    )
  }
}

/**
 * Sends a (simulated) write and follows it to its receipt (see SendOptions). A revert after a successful simulation
 * means the state changed in between; it surfaces as TransactionRevertedError with the receipt. A transaction the
 * node drops is not sent again (the write may pick a new nonce): it ends the wait with TransactionDroppedError within
 * a few blocks, so the caller can read the state again and resubmit. `resent` sends it again itself.
 */
export async function sent(
  reader: ChainReader,
  write: () => Promise<Hash>,
  options: SendOptions = {},
): Promise<TransactionReceipt> {
  const hash = await broadcast(write)
  options.onSent?.(hash)
  const dropAfter = options.dropAfterBlocks ?? 2
  const receipt = await followTransaction(reader.public, hash, options, async ({ missingFor }) => {
    if (missingFor >= dropAfter) throw new TransactionDroppedError(hash, missingFor)
    return undefined
  })
  return succeeded(reader, receipt)
}

/** The nonce and fees `resent` sets on its write, so every send of it takes the same slot. */
export type TxSlot = { nonce: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }

/**
 * Like `sent`, for a write that takes the nonce and fees it is given: a transaction dropped by the node (or rolled
 * back with its block) is sent again under the same nonce, and one pending for `bumpAfterBlocks` blocks is replaced
 * with fees raised by an eighth, until a receipt, the deadline, or another transaction taking the nonce.
 */
export async function resent(
  client: ChainClient,
  write: (slot: TxSlot) => Promise<Hash>,
  options: SendOptions = {},
): Promise<TransactionReceipt> {
  const address = client.wallet.account.address
  const [nonce, fees] = await Promise.all([
    client.public.getTransactionCount({ address, blockTag: 'pending' }),
    client.public.estimateFeesPerGas(),
  ])
  let slot: TxSlot = { nonce, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
  const hash = await broadcast(() => write(slot))
  options.onSent?.(hash)
  const dropAfter = options.dropAfterBlocks ?? 2
  const bumpAfter = options.bumpAfterBlocks ?? 5
  let consumedFor = 0
  const receipt = await followTransaction(client.public, hash, options, async ({ pendingFor, missingFor }, hashes) => {
    if (missingFor < dropAfter && pendingFor < bumpAfter) return undefined
    const mined = await client.public.getTransactionCount({ address, blockTag: 'latest' })
    if (mined > nonce) {
      // One of ours may have been mined after the receipt check: give its receipt a block to show.
      consumedFor += 1
      if (consumedFor > 1) throw new TransactionReplacedError(hashes, nonce)
      return undefined
    }
    slot = bumped(slot, await client.public.estimateFeesPerGas())
    try {
      return await write(slot)
    } catch (error) {
      // The state changed under it (the write's estimate reverts): sending it again is pointless.
      const reverted = decodeCairnError(error)
      if (reverted !== undefined) throw reverted
      // Mined meanwhile (nonce too low) or a replacement the node refused: the next block tells.
      return undefined
    }
  })
  return succeeded(client, receipt)
}

/** Fees for a replacement: an eighth above the last send (nodes want ≥ 10%), or the market's, whichever is higher. */
function bumped(slot: TxSlot, market: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }): TxSlot {
  const raise = (fee: bigint) => fee + fee / 8n + 1n
  const max = (a: bigint, b: bigint) => (a > b ? a : b)
  const maxPriorityFeePerGas = max(raise(slot.maxPriorityFeePerGas), market.maxPriorityFeePerGas)
  const maxFeePerGas = max(max(raise(slot.maxFeePerGas), market.maxFeePerGas), maxPriorityFeePerGas)
  return { nonce: slot.nonce, maxFeePerGas, maxPriorityFeePerGas }
}

async function broadcast(write: () => Promise<Hash>): Promise<Hash> {
  try {
    return await write()
  } catch (error) {
    return rethrowDecoded(error)
  }
}

async function succeeded(reader: ChainReader, receipt: TransactionReceipt): Promise<TransactionReceipt> {
  if (receipt.status !== 'success')
    throw new TransactionRevertedError(receipt, await revertReasonOf(reader.public, receipt))
  return receipt
}
