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
export async function sent(reader: ChainReader, write: () => Promise<Hash>): Promise<TransactionReceipt> {
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
