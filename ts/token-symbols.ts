import { type Address, zeroAddress } from 'viem'
import type { CairnReader } from './client.js'
import { tokenInfo } from './tokens.js'

/**
 * The deployment's token whose symbol is `symbol` (case-insensitive): its payment token, its stake token, or the
 * chain's native currency (the zero address, as the marketplace keeps native balances). Throws naming the symbols
 * known when none matches, so a typo is answered with the choices.
 */
export async function tokenBySymbol(reader: CairnReader, symbol: string): Promise<Address> {
  const { paymentToken, stakeToken } = reader.deployment.contracts
  const known = await Promise.all([paymentToken, stakeToken, zeroAddress].map((token) => tokenInfo(reader, token)))
  const match = known.find((info) => info.symbol.toLowerCase() === symbol.toLowerCase())
  if (match === undefined) {
    const choices = known.map((info) => info.symbol).join(', ')
    throw new Error(`no token with symbol ${JSON.stringify(symbol)} in this deployment: known symbols are ${choices}`)
  }
  return match.address
}
