import type { Logger } from 'pino'
import { type Address, isAddressEqual, type PrivateKeyAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  type EthereumRestaking,
  loadEthereumRestaking,
  loadMarketplaceRestaking,
  type MarketplaceRestaking,
} from '../../ts/restaking.js'
import { connectClients, type ServiceClients, walletOn } from '../../ts/service/chain.js'
import type { RegistryClient, RegistryReader } from '../../ts/tee.js'
import type { RelayerConfig } from './config.js'
import type { Metrics } from './metrics.js'

/** The two chains a relayer works between. */
export type ChainName = 'ethereum' | 'marketplace'

/** The StakeMirror (marketplace chain) as its EIP-712 domain and snapshots name it. */
export type MirrorRef = { chainId: number; address: Address; token: Address }

/** The SlashInbox (Ethereum) as its EIP-712 domain and slash batches name it. */
export type InboxRef = { chainId: number; address: Address; sourceChainId: number; sourceMirror: Address }

/** Both chains as one relayer sees them: its deployment files, its clients, and each chain's relayer registry. */
export type RelayerChains = {
  /** The relayer's attested key: signs and pays for submissions. */
  account: PrivateKeyAccount
  /** The operator the relayer runs for: sends the key's registrations. */
  operator: PrivateKeyAccount
  ethereum: EthereumRestaking
  marketplace: MarketplaceRestaking
  eth: ServiceClients
  mkt: ServiceClients
  mirror: MirrorRef
  inbox: InboxRef
  /** Each chain's relayer registry, read with the relayer's own client. */
  registries: Record<ChainName, RegistryReader>
  /** Each chain's relayer registry with the operator's wallet: the registry takes a key only from its operator. */
  operatorClients: Record<ChainName, RegistryClient>
}

/** What the rounds work with: both chains, the config, and where they report. */
export type RelayerContext = RelayerChains & { config: RelayerConfig; metrics: Metrics; log: Logger }

/**
 * Loads both deployment files and connects to both chains, refusing files that do not name each other (the inbox
 * accepts one mirror on one chain) and RPCs that serve another chain than their file says.
 */
export async function connectChains(config: RelayerConfig): Promise<RelayerChains> {
  const account = privateKeyToAccount(config.privateKey)
  const operator = privateKeyToAccount(config.operatorPrivateKey)
  const ethereum = await loadEthereumRestaking(config.ethereumDeployment)
  const marketplace = await loadMarketplaceRestaking(config.marketplaceDeployment)
  if (
    ethereum.sourceChainId !== marketplace.chainId ||
    !isAddressEqual(ethereum.sourceMirror, marketplace.contracts.stakeMirror)
  ) {
    throw new Error(
      `deployment mismatch: the inbox accepts mirror ${ethereum.sourceMirror} on chain ${ethereum.sourceChainId}, ` +
        `the marketplace file has ${marketplace.contracts.stakeMirror} on chain ${marketplace.chainId}`,
    )
  }
  const files = { ethereum, marketplace }
  const flags = {
    ethereum: { rpc: 'ethereum-rpc-url', deployment: 'ethereum-deployment' },
    marketplace: { rpc: 'marketplace-rpc-url', deployment: 'marketplace-deployment' },
  } as const
  const rpcUrls = { ethereum: config.ethereumRpcUrl, marketplace: config.marketplaceRpcUrl }
  const paths = { ethereum: config.ethereumDeployment, marketplace: config.marketplaceDeployment }
  const clientsOf = (chain: ChainName) =>
    connectClients({
      chainId: files[chain].chainId,
      rpcUrl: rpcUrls[chain],
      account,
      pollingInterval: config.pollInterval,
      source: { rpcFlag: `--${flags[chain].rpc}`, expectedFrom: `--${flags[chain].deployment} ${paths[chain]}` },
    })
  const eth = await clientsOf('ethereum')
  const mkt = await clientsOf('marketplace')
  const registries: Record<ChainName, RegistryReader> = {
    ethereum: { public: eth.public, attestation: { contracts: { teeRegistry: ethereum.relayerRegistry } } },
    marketplace: { public: mkt.public, attestation: { contracts: { teeRegistry: marketplace.relayerRegistry } } },
  }
  const operatorClientOf = (chain: ChainName): RegistryClient => ({
    ...registries[chain],
    wallet: walletOn(chain === 'ethereum' ? eth : mkt, {
      rpcUrl: rpcUrls[chain],
      account: operator,
      pollingInterval: config.pollInterval,
    }),
  })
  return {
    account,
    operator,
    ethereum,
    marketplace,
    eth,
    mkt,
    mirror: { chainId: marketplace.chainId, address: marketplace.contracts.stakeMirror, token: marketplace.token },
    inbox: {
      chainId: ethereum.chainId,
      address: ethereum.contracts.slashInbox,
      sourceChainId: ethereum.sourceChainId,
      sourceMirror: ethereum.sourceMirror,
    },
    registries,
    operatorClients: { ethereum: operatorClientOf('ethereum'), marketplace: operatorClientOf('marketplace') },
  }
}
