import { existsSync } from 'node:fs'
import {
  type Address,
  BaseError,
  type Chain,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  isHex,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type CairnClient, type CairnReader, type ChainClient, type ChainReader, connect } from '../../client.js'
import {
  type AttestationDeployment,
  attestationDeploymentPath,
  type Deployment,
  loadAttestationDeployment,
  loadDeployment,
} from '../../deployment.js'
import { rpcChain } from '../../rpc-chain.js'
import { tokenBySymbol } from '../../token-symbols.js'
import { type TokenInfo, tokenInfo } from '../../tokens.js'
import { address as checkedAddress } from '../../validation.js'
import { type Flags, stringFlag, UsageError } from './args.js'
import { createProgress, type Progress } from './output.js'

/** What a command gets: its flags and positionals, and lazily built clients from the global flags. */
export type CommandContext = {
  command: string
  flags: Flags
  positionals: readonly string[]
  json: boolean
  progress: Progress
  env: NodeJS.ProcessEnv
  /** The marketplace chain, read-only. */
  reader: () => Promise<CairnReader>
  /** The marketplace chain as the --private-key account. */
  client: () => Promise<CairnClient>
  /** The client with the attestation deployment (private inputs). */
  teeClient: () => Promise<CairnClient & { attestation?: AttestationDeployment }>
  /** The --private-key account; a UsageError when none was given. */
  account: () => PrivateKeyAccount
  /** The account a read command is about: --account, else the --private-key account. */
  subject: (flag?: string) => Address
  /** Any chain by RPC URL, read-only or as the --private-key account (restaking on Ethereum). */
  chain: (rpcUrl: string) => Promise<ChainReader>
  chainClient: (rpcUrl: string) => Promise<ChainClient>
  token: (reader: ChainReader, token: Address) => Promise<TokenInfo>
}

const DEFAULT_RPC_URL = 'http://127.0.0.1:8545'

export function createContext(params: {
  command: string
  flags: Flags
  positionals: readonly string[]
  env: NodeJS.ProcessEnv
}): CommandContext {
  const { command, flags, env } = params
  const json = flags.json === true
  const setting = (flag: string, variable: string) => stringFlag(flags, flag) ?? (env[variable] || undefined)
  const rpcUrl = setting('rpc-url', 'CAIRN_RPC_URL') ?? DEFAULT_RPC_URL

  const chains = new Map<string, Promise<PublicClient<Transport, Chain>>>()
  const publicClient = (url: string, chainId?: number) => {
    let client = chains.get(url)
    if (!client) {
      client = connectChain(url, chainId)
      chains.set(url, client)
    }
    return client
  }
  const chainIdFlag = () => {
    const value = setting('chain-id', 'CAIRN_CHAIN_ID')
    if (value === undefined) return undefined
    if (!/^\d+$/.test(value))
      throw new UsageError(`--chain-id: expected an integer, got ${JSON.stringify(value)}`, command)
    return Number(value)
  }

  let deployment: Promise<Deployment> | undefined
  const reader = async (): Promise<CairnReader> => {
    const client = await publicClient(rpcUrl, chainIdFlag())
    deployment ??= loadDeployment(client.chain.id, pathOption(setting('deployment', 'CAIRN_DEPLOYMENT'))).catch(
      (error: Error) => {
        // The RPC decides the chain: a deployment for another chain means one of the two flags points elsewhere.
        const other = /is a deployment on chain (\d+)/.exec(error.message)?.[1]
        if (other === undefined) throw error
        throw new Error(
          `the RPC at ${rpcUrl} is on chain ${client.chain.id}, but ${error.message.split(' is a deployment')[0]} is the deployment on chain ${other}: pass the RPC of chain ${other} (--rpc-url) or the deployment of chain ${client.chain.id} (--deployment)`,
        )
      },
    )
    return { public: client, deployment: await deployment }
  }
  const account = (): PrivateKeyAccount => {
    const key = setting('private-key', 'CAIRN_PRIVATE_KEY')
    if (key === undefined) {
      throw new UsageError(`${command} sends a transaction: give --private-key or set CAIRN_PRIVATE_KEY`, command)
    }
    if (!isHex(key) || key.length !== 66) {
      throw new UsageError('--private-key: expected a 0x-prefixed 32-byte hex key', command)
    }
    return privateKeyToAccount(key as Hex)
  }
  const client = async () => connect(await reader(), account())
  const teeClient = async () => {
    const base = await client()
    const path = setting('attestation', 'CAIRN_ATTESTATION')
    const chainId = base.deployment.chainId
    // Optional unless named: a chain without attested matchers simply cannot take private inputs.
    if (path === undefined && !existsSync(attestationDeploymentPath(chainId))) return base
    return { ...base, attestation: await loadAttestationDeployment(chainId, pathOption(path)) }
  }
  const subject = (flag = 'account'): Address => {
    const given = stringFlag(flags, flag)
    if (given !== undefined) return usageAddress(given, flag, command)
    if (setting('private-key', 'CAIRN_PRIVATE_KEY') === undefined) {
      throw new UsageError(`give --${flag} <address> (or --private-key for your own account)`, command)
    }
    return account().address
  }
  const chain = async (url: string): Promise<ChainReader> => ({ public: await publicClient(url) })
  const chainClient = async (url: string): Promise<ChainClient> => {
    const client = await publicClient(url)
    const wallet = createWalletClient({ account: account(), chain: client.chain, transport: http(url) })
    return { public: client, wallet }
  }
  const tokens = new Map<Address, Promise<TokenInfo>>()
  const token = (on: ChainReader, address: Address) => {
    let info = tokens.get(address)
    if (!info) {
      info = checkedTokenInfo(on, address)
      tokens.set(address, info)
    }
    return info
  }
  return {
    command,
    flags,
    positionals: params.positionals,
    json,
    progress: createProgress({ json }),
    env,
    reader,
    client,
    teeClient: teeClient as CommandContext['teeClient'],
    account,
    subject,
    chain,
    chainClient,
    token,
  }
}

/** tokenInfo, saying so when the address holds no contract (a wrong --token or a deployment of another chain). */
async function checkedTokenInfo(on: ChainReader, token: Address): Promise<TokenInfo> {
  if (token !== zeroAddress && !(await on.public.getCode({ address: token }))) {
    throw new Error(
      `no contract at token address ${token} on chain ${on.public.chain.id}: check --token, or that the deployment file belongs to this chain`,
    )
  }
  return tokenInfo(on, token)
}

function pathOption(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path }
}

/** A public client for `rpcUrl`, its chain named by id (asked of the node unless given). */
async function connectChain(rpcUrl: string, chainId?: number): Promise<PublicClient<Transport, Chain>> {
  const transport = http(rpcUrl, { retryCount: 1 })
  let id: number
  try {
    id = await createPublicClient({ transport }).getChainId()
  } catch (cause) {
    const reason = cause instanceof BaseError ? (cause.details ?? cause.shortMessage) : String(cause)
    throw new Error(
      `cannot reach the RPC at ${rpcUrl} (${reason}): is the node running? Start a local devnet with \`npm run devnet\` in another terminal, or pass --rpc-url (or CAIRN_RPC_URL)`,
      { cause },
    )
  }
  if (chainId !== undefined && chainId !== id) {
    throw new Error(
      `the RPC at ${rpcUrl} is on chain ${id}, not chain ${chainId} (--chain-id or CAIRN_CHAIN_ID): pass the RPC of chain ${chainId}`,
    )
  }
  const chain = rpcChain(id, rpcUrl)
  return createPublicClient({ chain, transport, pollingInterval: 500 })
}

/** An address flag or positional; a UsageError (exit 2) when malformed. */
export function usageAddress(
  value: string,
  name: string,
  command: string,
  options: { allowZero?: boolean } = {},
): Address {
  try {
    return checkedAddress(name, value, options)
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message.replace(`${name}: `, '')}`, command)
  }
}

/** A --token value: an address, or the symbol of the deployment's payment or stake token or the native currency. */
export async function tokenAddressFlag(
  reader: CairnReader,
  value: string,
  name: string,
  command: string,
  options: { allowZero?: boolean } = {},
): Promise<Address> {
  if (value.startsWith('0x')) return usageAddress(value, name, command, options)
  try {
    const token = await tokenBySymbol(reader, value)
    if (token === zeroAddress && !options.allowZero) throw new Error('the native currency is not an ERC20 here')
    return token
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`, command)
  }
}
