/**
 * A service's clients on a chain it was configured for, and the check that the RPC it was pointed at serves that
 * chain: a service that signs for one chain must never send to another, and a wrong URL is found at start, named by
 * its flag, instead of as a string of refused transactions.
 */
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'
import { rpcChain } from '../rpc-chain.js'

export type ServiceReader = { public: PublicClient<Transport, Chain> }
export type ServiceClients = ServiceReader & { wallet: WalletClient<Transport, Chain, Account> }

/** Where the expected chain id came from, for the error: `--chain-id`, or `the deployment file deployments/1.json`. */
export type ChainSource = { rpcFlag: string; expectedFrom: string }

export class WrongChainError extends Error {
  override readonly name = 'WrongChainError'
  constructor(
    readonly served: number,
    readonly expected: number,
    source: ChainSource,
  ) {
    super(
      `${source.rpcFlag} serves chain ${served}, but ${source.expectedFrom} says chain ${expected}: point ${source.rpcFlag} at chain ${expected}'s RPC`,
    )
  }
}

/**
 * Fails with WrongChainError unless `served` (what the RPC reported) is `expected`. The RPC URL is not in the message:
 * a provider URL often carries its API key.
 */
export function checkChainId(served: number, expected: number, source: ChainSource): void {
  if (served !== expected) throw new WrongChainError(served, expected, source)
}

/** Fails with WrongChainError unless the client's RPC serves `expected`. */
export async function expectChainId(client: ServiceReader, expected: number, source: ChainSource): Promise<void> {
  checkChainId(await client.public.getChainId(), expected, source)
}

/** A reader on `chainId` at `rpcUrl`, checked to serve it. */
export async function connectReader(params: {
  chainId: number
  rpcUrl: string
  pollingInterval: number
  source: ChainSource
  name?: string
}): Promise<ServiceReader> {
  const chain = rpcChain(params.chainId, params.rpcUrl, params.name)
  const reader = {
    public: createPublicClient({ chain, transport: http(params.rpcUrl), pollingInterval: params.pollingInterval }),
  }
  await expectChainId(reader, params.chainId, params.source)
  return reader
}

/** A wallet for `account` on the reader's chain, at the same RPC. */
export function walletOn(
  reader: ServiceReader,
  params: { rpcUrl: string; account: Account; pollingInterval: number },
): WalletClient<Transport, Chain, Account> {
  return createWalletClient({
    chain: reader.public.chain,
    transport: http(params.rpcUrl),
    account: params.account,
    pollingInterval: params.pollingInterval,
  })
}

/** Public and wallet clients on `chainId` at `rpcUrl` for `account`, checked to serve it. */
export async function connectClients(params: {
  chainId: number
  rpcUrl: string
  account: Account
  pollingInterval: number
  source: ChainSource
  name?: string
}): Promise<ServiceClients> {
  const reader = await connectReader(params)
  return { ...reader, wallet: walletOn(reader, params) }
}
