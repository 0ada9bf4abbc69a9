import { type Address, type TransactionReceipt, zeroAddress } from 'viem'
import type { ChainClient, ChainReader } from './client.js'
import { devTokenAbi } from './generated.js'
import { write } from './write.js'

export async function balanceOf(reader: ChainReader, token: Address, account: Address): Promise<bigint> {
  return reader.public.readContract({ address: token, abi: devTokenAbi, functionName: 'balanceOf', args: [account] })
}

/**
 * Approves `spender` for `amount` unless the allowance already covers it. Returns the approval receipt, if any.
 * Any ERC20 works: approve/allowance are read through the DevToken ABI, which is a plain ERC20's.
 */
export async function ensureAllowance(
  client: ChainClient,
  token: Address,
  spender: Address,
  amount: bigint,
): Promise<TransactionReceipt | undefined> {
  const owner = client.wallet.account.address
  const allowance = await client.public.readContract({
    address: token,
    abi: devTokenAbi,
    functionName: 'allowance',
    args: [owner, spender],
  })
  if (allowance >= amount) return undefined
  return write(client, { address: token, abi: devTokenAbi, functionName: 'approve', args: [spender, amount] })
}

/** Mints DevTokens (devnets only: anyone may mint them). */
export async function mintDevToken(
  client: ChainClient,
  token: Address,
  to: Address,
  amount: bigint,
): Promise<TransactionReceipt> {
  return write(client, { address: token, abi: devTokenAbi, functionName: 'mint', args: [to, amount] })
}

export type TokenInfo = { address: Address; symbol: string; decimals: number }

/** An ERC20's symbol and decimals, for showing and parsing amounts; the zero address is the native currency. */
export async function tokenInfo(reader: ChainReader, token: Address): Promise<TokenInfo> {
  if (token === zeroAddress) {
    const { symbol, decimals } = reader.public.chain.nativeCurrency
    return { address: token, symbol, decimals }
  }
  const [symbol, decimals] = await Promise.all([
    reader.public.readContract({ address: token, abi: devTokenAbi, functionName: 'symbol' }),
    reader.public.readContract({ address: token, abi: devTokenAbi, functionName: 'decimals' }),
  ])
  return { address: token, symbol, decimals }
}
