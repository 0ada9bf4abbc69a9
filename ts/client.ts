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
import { rethrowDecoded } from './errors.js'

/** What read-only SDK functions need. */
export type CairnReader = {
  public: PublicClient<Transport, Chain>
  deployment: Deployment
}

/** A reader that can also sign and send, as one account. */
export type CairnClient = CairnReader & {
  wallet: WalletClient<Transport, Chain, Account>
}

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

export class TransactionRevertedError extends Error {
  override readonly name = 'TransactionRevertedError'
  constructor(readonly receipt: TransactionReceipt) {
    super(`transaction ${receipt.transactionHash} reverted in block ${receipt.blockNumber}`)
  }
}

/**
 * Sends a (simulated) write and waits for its receipt. A revert after a successful simulation means the state
 * changed in between; it surfaces as TransactionRevertedError with the receipt.
 */
export async function sent(reader: CairnReader, write: () => Promise<Hash>): Promise<TransactionReceipt> {
  let hash: Hash
  try {
    hash = await write()
  } catch (error) {
    return rethrowDecoded(error)
  }
  const receipt = await reader.public.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new TransactionRevertedError(receipt)
  return receipt
}

/**
 * Gas limit for a batch whose items fail softly (assign, fulfilBatch). eth_estimateGas only searches for a limit at
 * which the transaction does not revert. The marketplace re-throws gas shortfalls (InsufficientGas) instead of
 * skipping the item, but a callee that merely returns false when starved would still read as a skipped item, so
 * the limit is
 * doubled from the estimate until a simulation at it processes as many items as an unbounded one, bisected back
 * down, and given 10% headroom for state changes before inclusion.
 */
export async function batchGasLimit(params: {
  estimate: () => Promise<bigint>
  processedAt: (gas: bigint) => Promise<bigint>
  expected: bigint
  maxGas?: bigint
}): Promise<bigint> {
  const maxGas = params.maxGas ?? 30_000_000n
  const enough = async (gas: bigint) => (await params.processedAt(gas)) >= params.expected
  let low = await params.estimate()
  if (await enough(low)) return low
  let high = low * 2n
  while (!(await enough(high))) {
    if (high >= maxGas) throw new Error(`no gas limit up to ${maxGas} processes all ${params.expected} batch items`)
    low = high
    high = high * 2n > maxGas ? maxGas : high * 2n
  }
  // Bisect to within 2%: each probe is one eth_call.
  while (high - low > high / 50n) {
    const mid = (low + high) / 2n
    if (await enough(mid)) high = mid
    else low = mid
  }
  const padded = high + high / 10n
  return padded > maxGas ? maxGas : padded
}
