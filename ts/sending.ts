/**
 * Following a broadcast transaction to its receipt, block by block, instead of waiting a fixed time: a transaction
 * the node no longer knows (dropped from its pool, or rolled back with its block) is noticed within a few blocks, and
 * the wait ends at the first block past the caller's deadline. What to do about a stalled transaction (give up, or
 * send it again under the same nonce) is the caller's: see `sent` and `resent` in client.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Chain,
  type Hash,
  type PublicClient,
  TransactionNotFoundError,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
  type Transport,
} from 'viem'

/** How `sent` and `resent` follow a transaction after broadcasting it. */
export type SendOptions = {
  /** Called once the transaction is broadcast: a caller that serialises its sends may let the next one go. */
  onSent?: (hash: Hash) => void
  /**
   * Chain time (seconds) after which the transaction is of no use: the wait ends with TransactionDeadlineError at
   * the first block past it. Without one, the wait ends after `timeoutMs` of wall time.
   */
  deadline?: bigint
  /** Wall-time bound when there is no deadline; default 180 s. */
  timeoutMs?: number
  /** Blocks in a row the node may not know the transaction (no receipt, not in its pool) before it counts as dropped; default 2. */
  dropAfterBlocks?: number
  /** Blocks a transaction may stay pending before `resent` replaces it with higher fees; default 5. */
  bumpAfterBlocks?: number
}

/** Where a stalled transaction stands, at each new block without a receipt. */
export type Stall = {
  /** Blocks since the last broadcast. */
  pendingFor: number
  /** Blocks in a row the node knew none of the hashes sent. */
  missingFor: number
}

export class TransactionDroppedError extends Error {
  override readonly name = 'TransactionDroppedError'
  constructor(
    readonly hash: Hash,
    blocks: number,
  ) {
    super(
      `transaction ${hash} was dropped: no receipt and unknown to the node for ${blocks} blocks (evicted from its pool or rolled back); send it again`,
    )
  }
}

export class TransactionDeadlineError extends Error {
  override readonly name = 'TransactionDeadlineError'
  constructor(
    readonly hashes: readonly Hash[],
    readonly deadline: bigint,
  ) {
    super(`no receipt for ${hashes.join(', ')} by chain time ${deadline}: the transaction is too late to matter`)
  }
}

export class TransactionTimeoutError extends Error {
  override readonly name = 'TransactionTimeoutError'
  constructor(
    readonly hashes: readonly Hash[],
    timeoutMs: number,
  ) {
    super(`no receipt for ${hashes.join(', ')} within ${timeoutMs} ms: check the node is mining, and the fees`)
  }
}

export class TransactionReplacedError extends Error {
  override readonly name = 'TransactionReplacedError'
  constructor(
    readonly hashes: readonly Hash[],
    readonly nonce: number,
  ) {
    super(`nonce ${nonce} was used by another transaction than ${hashes.join(', ')}: read the state again and resubmit`)
  }
}

/**
 * Waits for the receipt of any of `hashes` (a transaction and its re-sends), checking at every new block. At a new
 * block without one, `stalled` decides: nothing (keep waiting), a new hash to follow too (a re-send), or a throw.
 */
export async function followTransaction(
  client: PublicClient<Transport, Chain>,
  first: Hash,
  options: SendOptions,
  stalled: (stall: Stall, hashes: readonly Hash[]) => Promise<Hash | undefined>,
): Promise<TransactionReceipt> {
  const hashes: Hash[] = [first]
  const timeoutMs = options.timeoutMs ?? 180_000
  const started = Date.now()
  let lastBlock: Hash | undefined
  let pendingFor = 0
  let missingFor = 0
  for (;;) {
    const head = await client.getBlock({ blockTag: 'latest' })
    if (head.hash !== lastBlock) {
      const receipt = await firstReceipt(client, hashes)
      if (receipt !== undefined) return receipt
      if (options.deadline !== undefined && head.timestamp > options.deadline) {
        throw new TransactionDeadlineError(hashes, options.deadline)
      }
      if (lastBlock !== undefined) {
        pendingFor += 1
        missingFor = (await anyKnown(client, hashes)) ? 0 : missingFor + 1
        const next = await stalled({ pendingFor, missingFor }, hashes)
        if (next !== undefined) {
          if (!hashes.includes(next)) hashes.push(next)
          pendingFor = 0
          missingFor = 0
        }
      }
      lastBlock = head.hash
    } else if (options.deadline === undefined && Date.now() - started > timeoutMs) {
      throw new TransactionTimeoutError(hashes, timeoutMs)
    }
    await sleep(client.pollingInterval)
  }
}

async function firstReceipt(
  client: PublicClient<Transport, Chain>,
  hashes: readonly Hash[],
): Promise<TransactionReceipt | undefined> {
  for (const hash of hashes) {
    try {
      return await client.getTransactionReceipt({ hash })
    } catch (error) {
      if (!(error instanceof TransactionReceiptNotFoundError)) throw error
    }
  }
  return undefined
}

async function anyKnown(client: PublicClient<Transport, Chain>, hashes: readonly Hash[]): Promise<boolean> {
  for (const hash of hashes) {
    try {
      await client.getTransaction({ hash })
      return true
    } catch (error) {
      if (!(error instanceof TransactionNotFoundError)) throw error
    }
  }
  return false
}
