import { type Hex, type PrivateKeyAccount, toHex } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'

/** anvil's default mnemonic: its accounts are pre-funded with 10 000 ETH each. Devnets only. */
export const anvilMnemonic = 'test test test test test test test test test test test junk'

export type DevAccount = { account: PrivateKeyAccount; privateKey: Hex }

export function anvilAccount(index: number): DevAccount {
  const key = mnemonicToAccount(anvilMnemonic, { addressIndex: index }).getHdKey().privateKey
  if (!key) throw new Error(`no private key for anvil account ${index}`)
  const privateKey = toHex(key)
  return { account: privateKeyToAccount(privateKey), privateKey }
}

/** Who plays which part on a devnet (anvil account indices 0-4). */
export const devRoles = { deployer: 0, prover: 1, requester: 2, matcher: 3, bystander: 4 } as const
