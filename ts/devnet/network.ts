// The two-chain Cairn network on local anvils: Ethereum with the real Symbiotic core, a Cairn network, an instant
// and a veto vault, a restaked operator bound to the marketplace prover; the marketplace chain with every Cairn
// contract, the TEE registry as matcher authority and enclave-key registry, and the stake mirror. Both chains pin
// the same dev DCAP root, so one dev attestation provider quotes for every enclave service.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Account,
  type Address,
  bytesToHex,
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  parseEther,
  type TestClient,
  type Transport,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { buildDevCollateral, createDevPki, devTdConfigOf } from '../../enclave/attestation/dev/index.js'
import { matcherEnclaveConfig } from '../../enclave/matcher/keys.js'
import { proverEnclaveConfig } from '../../enclave/prover/runner.js'
import { relayerEnclaveConfig } from '../../relayer/src/registration.js'
import type { ChainClient } from '../client.js'
import type { AttestationDeployment } from '../deployment.js'
import type { EnclaveConfig } from '../enclave-config.js'
import {
  cairnNetworkMiddlewareAbi,
  devTokenAbi,
  iOperatorRegistryAbi,
  iOptInServiceAbi,
  iVaultAbi,
  teeRegistryAbi,
} from '../generated.js'
import { ethereumDeploymentSchema, marketplaceDeploymentSchema } from '../restaking.js'
import {
  allowMeasurement,
  pinTdConfig,
  setEnclaveKeys,
  setMatcherAuthority,
  submitDevCollateral,
  type TeeClient,
} from '../tee.js'
import { write } from '../write.js'
import { anvilAccount, type DevAccount, devRoles } from './accounts.js'
import { type Anvil, freePort, startAnvil } from './anvil.js'
import { devMeasurementOf } from './attestation.js'
import { deployAttestationWithForge, deployRestakingWithForge, removeDeploymentFile } from './deploy.js'
import { repoRoot } from './paths.js'
import { type Devnet, startDevnet } from './stack.js'

export type EthereumRestaking = ReturnType<typeof ethereumDeploymentSchema.parse>
export type MarketplaceRestaking = ReturnType<typeof marketplaceDeploymentSchema.parse>

/** Symbiotic core addresses DeployRestaking.s.sol writes next to Cairn's own (ETHEREUM mode). */
export type SymbioticCore = {
  operatorRegistry: Address
  operatorNetworkOptInService: Address
  operatorVaultOptInService: Address
}

export type NetworkOptions = {
  marketplacePort?: number
  ethereumPort?: number
  marketplaceChainId?: number
  ethereumChainId?: number
  /** Seconds between blocks on both chains once deployed; services need blocks to keep coming (default 1; 0 keeps
   * automine). */
  blockTime?: number
  /** Seeds the dev PKI and every dev enclave key (default 'cairn devnet'). */
  seed?: string
  /** Deployment files: deployments/<chainId>*.json ('canonical', kept) or per-port throwaway files (removed on stop). */
  files?: 'canonical' | 'throwaway'
  /**
   * Relayer processes, each run for its own operator (admitted on both chains' registries at deployment; the relayer
   * registers its enclave key from that account), and how many operators must sign (default 3 and 2).
   */
  relayers?: number
  threshold?: number
  /** How long an attested key stays active (default 1 day on the devnet; the registry's own default is 1 hour). */
  attestValiditySeconds?: number
  /** Restaked collateral the staker deposits into the instant vault. */
  restakedDeposit?: bigint
  /** The veto vault's veto window, seconds. */
  vetoDuration?: number
  /** Called as each setup stage starts (the devnet prints these). */
  onProgress?: (stage: string) => void
}

/** The dev PKI's identity: services rebuild the same PKI (and so quote under the pinned root) from these two. */
export type DevPkiIdentity = { seed: string; time: number }

export type Network = {
  marketplace: Devnet
  ethereum: {
    anvil: Anvil
    chainId: number
    public: PublicClient<Transport, Chain>
    test: TestClient<'anvil', Transport, Chain>
    deployer: Account
  }
  pki: DevPkiIdentity
  /** keccak256(MRTD ‖ RTMR0..3) of the dev provider's TD: allowed for every role on both chains. */
  measurement: Hex
  /**
   * What each enclave service attests for (its TD's MRCONFIGID). The registries pin the tdConfig of a dev TD launched
   * for each: the Matcher role and every prover market on the marketplace chain, the Relayer role on both chains.
   */
  enclaves: { matcher: EnclaveConfig; prover: EnclaveConfig; relayer: EnclaveConfig }
  attestation: { marketplace: AttestationDeployment; ethereum: AttestationDeployment }
  restaking: { marketplace: MarketplaceRestaking; ethereum: EthereumRestaking; symbiotic: SymbioticCore }
  /** Absolute paths of every deployment file, for services' configuration. */
  files: {
    marketplace: string
    marketplaceAttestation: string
    marketplaceRestaking: string
    ethereumAttestation: string
    ethereumRestaking: string
  }
  /** One per relayer process: its enclave key and the admitted operator account it runs for. */
  relayers: DevRelayer[]
  /** The admitted matcher operator: the matcher service's account, which registers its enclave key. */
  matcherOperator: DevAccount
  /** The Symbiotic operator bound to the marketplace prover, and the staker who restakes with it. */
  operator: Account
  staker: Account
  /** The marketplace deployer as a TEE-aware client (allow-lists, enclave registration on the marketplace chain). */
  teeOwner: TeeClient
  /**
   * Lets an attested prover enclave serve `marketId`: the dev measurement joins the market's allow-list, and the
   * market takes keys only from TDs launched for the prover's configuration.
   */
  allowProverMarket: (marketId: bigint) => Promise<void>
  stop: () => Promise<void>
}

const DEFAULT_SEED = 'cairn devnet'

/** A relayer of the devnet: its enclave key (the registered Relayer-role signer) and its operator's account. */
export type DevRelayer = { key: Hex; operator: DevAccount }

/**
 * Relayer operators: anvil accounts from 7 on (5 and 6 are the Symbiotic operator and the staker), one per relayer
 * process, so a quorum really is of independent operators.
 */
export const RELAYER_OPERATOR_ACCOUNTS_FROM = 7

/** A dev enclave key derived from the network seed, so reruns reproduce the same addresses. */
export function devEnclaveKey(seed: string, label: string): Hex {
  return keccak256(toHex(`${seed} enclave ${label}`))
}

/** Starts both chains and deploys and wires everything; on any failure both chains are stopped again. */
export async function startNetwork(options: NetworkOptions = {}): Promise<Network> {
  const seed = options.seed ?? DEFAULT_SEED
  const blockTime = options.blockTime ?? 1
  const marketplaceChainId = options.marketplaceChainId ?? 31337
  const ethereumChainId = options.ethereumChainId ?? 31338
  const marketplacePort = options.marketplacePort ?? (await freePort())
  const ethereumPort = options.ethereumPort ?? (await freePort())
  const canonical = options.files === 'canonical'
  const out = (chainId: number, port: number, suffix: string) =>
    canonical ? `deployments/${chainId}${suffix}.json` : `deployments/e2e-${port}${suffix}.json`
  const relative = {
    marketplace: out(marketplaceChainId, marketplacePort, ''),
    marketplaceAttestation: out(marketplaceChainId, marketplacePort, '.attestation'),
    marketplaceRestaking: out(marketplaceChainId, marketplacePort, '.restaking'),
    ethereumAttestation: out(ethereumChainId, ethereumPort, '.attestation'),
    ethereumRestaking: out(ethereumChainId, ethereumPort, '.restaking'),
  }
  const files = Object.fromEntries(
    Object.entries(relative).map(([key, path]) => [key, join(repoRoot, path)]),
  ) as Network['files']

  const progress = options.onProgress ?? (() => {})
  progress('starting both chains and deploying the marketplace')
  // Deployments run under automine: forge broadcasts dozens of large creations at once, which interval mining can
  // drop from the pool. Blocks start coming at `blockTime` once everything is in place.
  const ethAnvil = await startAnvil({ port: ethereumPort, chainId: ethereumChainId })
  let marketplace: Devnet | undefined
  try {
    marketplace = await startDevnet({
      port: marketplacePort,
      chainId: marketplaceChainId,
      deploymentOut: relative.marketplace,
      throwaway: !canonical,
    })
    const ethereumChain = { ...foundry, id: ethereumChainId } as Chain
    const ethereum = {
      anvil: ethAnvil,
      chainId: ethereumChainId,
      public: createPublicClient({ chain: ethereumChain, transport: http(ethAnvil.rpcUrl), pollingInterval: 100 }),
      test: createTestClient({ mode: 'anvil', chain: ethereumChain, transport: http(ethAnvil.rpcUrl) }),
      deployer: anvilAccount(devRoles.deployer).account as Account,
    }
    const head = await marketplace.reader.public.getBlock({ blockTag: 'latest' })
    const pki: DevPkiIdentity = { seed, time: Number(head.timestamp) }
    const devPki = createDevPki(seed, { now: new Date(pki.time * 1000) })
    const measurement = devMeasurementOf(devPki)
    const deployerKey = anvilAccount(devRoles.deployer).privateKey
    const collateral = buildDevCollateral(devPki)
    const validity = options.attestValiditySeconds ?? 86_400
    const relayers: DevRelayer[] = Array.from({ length: options.relayers ?? 3 }, (_, i) => ({
      key: devEnclaveKey(seed, `relayer ${i}`),
      operator: anvilAccount(RELAYER_OPERATOR_ACCOUNTS_FROM + i),
    }))
    const relayerOperators = relayers.map(({ operator }) => operator.account.address)
    const matcherOperator = anvilAccount(devRoles.matcher)

    progress('deploying attestation on both chains (dev DCAP root), admitting relayer and matcher operators')
    // Attestation on both chains: the same dev root, collateral and measurement policy. Governance (the deployer)
    // admits one relayer operator per relayer process on both chains, and the matcher's operator on the marketplace.
    // The two chains' stacks are independent: their forge scripts run side by side (each in its own scratch cache).
    const [marketplaceAttestation, ethereumAttestation] = await Promise.all([
      deployAttestationWithForge({
        rpcUrl: marketplace.anvil.rpcUrl,
        chainId: marketplaceChainId,
        deployerKey,
        rootDer: bytesToHex(devPki.root.der),
        marketplace: marketplace.deployment.contracts.proofMarketplace,
        relayerOperators,
        matcherOperators: [matcherOperator.account.address],
        out: relative.marketplaceAttestation,
      }),
      deployAttestationWithForge({
        rpcUrl: ethAnvil.rpcUrl,
        chainId: ethereumChainId,
        deployerKey,
        rootDer: bytesToHex(devPki.root.der),
        relayerOperators,
        out: relative.ethereumAttestation,
      }),
    ])
    const teeOwner: TeeClient = { ...marketplace.actors.deployer, attestation: marketplaceAttestation }
    const ethOwner: TeeClient = {
      public: ethereum.public,
      wallet: createWalletClient({
        account: ethereum.deployer,
        chain: ethereumChain,
        transport: http(ethAnvil.rpcUrl),
      }),
      // Ethereum has no marketplace: the attestation functions never read it, the type just carries one.
      deployment: marketplace.deployment,
      attestation: ethereumAttestation,
    } as TeeClient
    const marketplaceRegistry = { chainId: marketplaceChainId, registry: marketplaceAttestation.contracts.teeRegistry }
    const enclaves = {
      matcher: matcherEnclaveConfig(marketplaceRegistry.chainId, marketplaceRegistry.registry),
      prover: proverEnclaveConfig(marketplaceRegistry.chainId, marketplaceRegistry.registry),
      relayer: relayerEnclaveConfig([
        { chainId: ethereumChainId, registry: ethereumAttestation.contracts.teeRegistry },
        marketplaceRegistry,
      ]),
    }
    // Each registry takes keys only from TDs launched for it (MRCONFIGID), as the services check of themselves.
    const tdConfigs = {
      matcher: devTdConfigOf(devPki, enclaves.matcher),
      prover: devTdConfigOf(devPki, enclaves.prover),
      relayer: devTdConfigOf(devPki, enclaves.relayer),
    }
    progress('submitting dev collateral, allowing measurements, pinning TD configurations')
    // One chain after the other would only wait: each owner's transactions go in order on its own chain.
    await Promise.all(
      [teeOwner, ethOwner].map(async (owner) => {
        await submitDevCollateral(owner, collateral)
        await write(owner, {
          address: owner.attestation.contracts.teeRegistry,
          abi: teeRegistryAbi,
          functionName: 'setAttestValiditySeconds',
          args: [BigInt(validity)],
        })
        // Each relayer registers its own key, from its operator's account, when it starts.
        await allowMeasurement(owner, { role: 'Relayer', measurement })
        await pinTdConfig(owner, { role: 'Relayer', tdConfig: tdConfigs.relayer })
      }),
    )
    // The marketplace trusts only attested matcher keys, and attested prover enclaves for invalid-input statements.
    await allowMeasurement(teeOwner, { role: 'Matcher', measurement })
    await pinTdConfig(teeOwner, { role: 'Matcher', tdConfig: tdConfigs.matcher })
    await setMatcherAuthority(marketplace.actors.deployer, marketplaceAttestation.contracts.teeRegistry)
    await setEnclaveKeys(marketplace.actors.deployer, marketplaceAttestation.contracts.teeRegistry)

    progress('deploying restaking: stake mirror, Symbiotic core, network, vaults, slash inbox')
    // Restaking: the mirror first (the inbox names it), then Ethereum with the real Symbiotic core.
    const operator = anvilAccount(5).account
    const staker = anvilAccount(6).account
    const threshold = options.threshold ?? 2
    const marketplaceRestaking = marketplaceDeploymentSchema.parse(
      await deployRestakingWithForge({
        mode: 'MARKETPLACE',
        rpcUrl: marketplace.anvil.rpcUrl,
        deployerKey,
        relayerRegistry: marketplaceAttestation.contracts.teeRegistry,
        threshold,
        marketplace: marketplace.deployment.contracts.proofMarketplace,
        out: relative.marketplaceRestaking,
      }),
    )
    const ethereumRestaking = ethereumDeploymentSchema.parse(
      await deployRestakingWithForge({
        mode: 'ETHEREUM',
        rpcUrl: ethAnvil.rpcUrl,
        deployerKey,
        relayerRegistry: ethereumAttestation.contracts.teeRegistry,
        threshold,
        sourceChainId: marketplaceChainId,
        sourceMirror: marketplaceRestaking.contracts.stakeMirror,
        operator: operator.address,
        ...(options.vetoDuration === undefined ? {} : { vetoDuration: options.vetoDuration }),
        out: relative.ethereumRestaking,
      }),
    )
    const symbiotic = JSON.parse(await readFile(files.ethereumRestaking, 'utf8')).contracts.symbiotic as SymbioticCore

    // Relayers pay for their own submissions on both chains, their operators for the key registrations.
    for (const { key, operator: relayerOperator } of relayers) {
      for (const address of [privateKeyToAccount(key).address, relayerOperator.account.address]) {
        await ethereum.test.setBalance({ address, value: parseEther('100') })
        await marketplace.test.setBalance({ address, value: parseEther('100') })
      }
    }
    progress('restaking: operator opts in and binds to the prover, staker deposits into the vault')
    await restakeWithOperator({
      ethereum: { public: ethereum.public, chain: ethereumChain, rpcUrl: ethAnvil.rpcUrl },
      restaking: ethereumRestaking,
      symbiotic,
      operator,
      staker,
      prover: anvilAccount(devRoles.prover).account,
      deposit: options.restakedDeposit ?? parseEther('1000'),
    })

    if (blockTime > 0) {
      await ethereum.test.setIntervalMining({ interval: blockTime })
      await marketplace.test.setIntervalMining({ interval: blockTime })
    }

    const devnet = marketplace
    const stop = async () => {
      await devnet.stop()
      await ethAnvil.stop()
      if (!canonical) {
        for (const path of Object.values(relative)) await removeDeploymentFile(path)
      }
    }
    return {
      marketplace: devnet,
      ethereum,
      pki,
      measurement,
      enclaves,
      attestation: { marketplace: marketplaceAttestation, ethereum: ethereumAttestation },
      restaking: { marketplace: marketplaceRestaking, ethereum: ethereumRestaking, symbiotic },
      files,
      relayers,
      matcherOperator,
      operator,
      staker,
      teeOwner,
      allowProverMarket: async (marketId) => {
        await allowMeasurement(teeOwner, { role: 'Prover', marketId, measurement })
        await pinTdConfig(teeOwner, { role: 'Prover', marketId, tdConfig: tdConfigs.prover })
      },
      stop,
    }
  } catch (error) {
    await marketplace?.stop()
    await ethAnvil.stop()
    if (!canonical) for (const path of Object.values(files)) await rm(path, { force: true })
    throw error
  }
}

/**
 * Ethereum side of restaking: the operator registers with Symbiotic and opts into the network and the instant
 * vault, binds itself to the marketplace prover (both sign), and the staker deposits collateral into the vault.
 */
async function restakeWithOperator(params: {
  ethereum: { public: PublicClient<Transport, Chain>; chain: Chain; rpcUrl: string }
  restaking: EthereumRestaking
  symbiotic: SymbioticCore
  operator: Account & { sign: NonNullable<Account['sign']> }
  staker: Account
  prover: Account & { sign: NonNullable<Account['sign']> }
  deposit: bigint
}): Promise<void> {
  const { ethereum, restaking, symbiotic, operator, staker, prover, deposit } = params
  const { middleware, vault, collateral } = restaking.contracts
  const clientOf = (account: Account): ChainClient => ({
    public: ethereum.public,
    wallet: createWalletClient({ account, chain: ethereum.chain, transport: http(ethereum.rpcUrl) }),
  })
  const [asOperator, asStaker] = [clientOf(operator), clientOf(staker)]

  await write(asOperator, {
    address: symbiotic.operatorRegistry,
    abi: iOperatorRegistryAbi,
    functionName: 'registerOperator',
    args: [],
  })
  await write(asOperator, {
    address: symbiotic.operatorNetworkOptInService,
    abi: iOptInServiceAbi,
    functionName: 'optIn',
    args: [middleware],
  })
  await write(asOperator, {
    address: symbiotic.operatorVaultOptInService,
    abi: iOptInServiceAbi,
    functionName: 'optIn',
    args: [vault],
  })
  const deadline = (await ethereum.public.getBlock()).timestamp + 3600n
  const digest = await ethereum.public.readContract({
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'bindingDigest',
    args: [operator.address, prover.address, 0n, deadline],
  })
  await write(asStaker, {
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'bindOperator',
    args: [
      operator.address,
      prover.address,
      deadline,
      await operator.sign({ hash: digest }),
      await prover.sign({ hash: digest }),
    ],
  })
  await write(asStaker, {
    address: collateral,
    abi: devTokenAbi,
    functionName: 'mint',
    args: [staker.address, deposit],
  })
  await write(asStaker, { address: collateral, abi: devTokenAbi, functionName: 'approve', args: [vault, deposit] })
  await write(asStaker, { address: vault, abi: iVaultAbi, functionName: 'deposit', args: [staker.address, deposit] })
}
