// Markets and services on a started two-chain network: what `npm run devnet` runs and what the end-to-end tests
// kill and restart. Services run as child processes from their own entry points, configured as an operator would.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Hex, parseEther } from 'viem'
import { INSECURE_DEV_CRS, POSEIDON2_PREIMAGE } from '../../enclave/prover/backends/noir.js'
import { stakeMirrorAbi } from '../generated.js'
import { createMarket } from '../market.js'
import { mintDevToken } from '../tokens.js'
import type { MarketParams } from '../types.js'
import { anvilAccount, devRoles } from './accounts.js'
import { freePort } from './anvil.js'
import { deployTeeProofVerifier } from './deploy.js'
import type { Network } from './network.js'
import { repoRoot } from './paths.js'
import { type Service, startService } from './services.js'

export const STAKE_PER_TASK = parseEther('100')
export const SLASH_PENALTY = parseEther('50')

/** The devnet's markets: one per kind of proof and stake. */
export type DevMarkets = {
  /** Groth16 Poseidon preimage (private inputs), backed by restaked stake mirrored from Symbiotic. */
  groth16Restaked: bigint
  /** Groth16 Poseidon preimage, backed by native stake: slashes compensate the requester at once. */
  groth16Native: bigint
  /** TEE-attested WASM (sha256 preimage program), native stake. */
  teeWasm: bigint
  /**
   * Noir noir/poseidon2_preimage (private preimage), UltraHonk ZK proofs on the DEVELOPMENT CRS (noir/dev-crs), native
   * stake.
   */
  noir: bigint
}

function baseMarket(network: Network, overrides: Partial<MarketParams>): MarketParams {
  const { contracts } = network.marketplace.deployment
  return {
    verifier: contracts.groth16Adapter,
    paymentToken: contracts.paymentToken,
    stakeSource: contracts.nativeStaking,
    stakePerTask: STAKE_PER_TASK,
    slashPenalty: SLASH_PENALTY,
    requesterCompensationBps: 5_000,
    fallbackDelay: 20,
    metadataURI: '',
    ...overrides,
  }
}

/** Creates the four markets and lets the dev enclave measurement prove in each. */
export async function createDevMarkets(network: Network): Promise<DevMarkets> {
  const owner = network.marketplace.actors.deployer
  const groth16Restaked = (
    await createMarket(
      owner,
      baseMarket(network, {
        stakeSource: network.restaking.marketplace.contracts.stakeMirror,
        metadataURI: 'cairn-devnet://poseidon-preimage?stake=restaked',
      }),
    )
  ).marketId
  const groth16Native = (
    await createMarket(owner, baseMarket(network, { metadataURI: 'cairn-devnet://poseidon-preimage?stake=native' }))
  ).marketId
  const manifest = JSON.parse(await readFile(join(repoRoot, 'programs/manifest.json'), 'utf8')) as {
    programs: { sha256_preimage: { programId: Hex } }
  }
  // A TEE verifier names its market, so predict the id the next market gets.
  const nextMarketId = groth16Native + 1n
  const verifier = await deployTeeProofVerifier(owner, {
    registry: network.attestation.marketplace.contracts.teeRegistry,
    marketId: nextMarketId,
    programId: manifest.programs.sha256_preimage.programId,
  })
  const teeWasm = (
    await createMarket(owner, baseMarket(network, { verifier, metadataURI: 'cairn-devnet://sha256-preimage-wasm' }))
  ).marketId
  if (teeWasm !== nextMarketId) throw new Error(`TEE market got id ${teeWasm}, its verifier names ${nextMarketId}`)
  const noir = (
    await createMarket(
      owner,
      baseMarket(network, {
        verifier: network.marketplace.deployment.contracts.noirAdapter,
        metadataURI: 'cairn-devnet://noir-poseidon2-preimage?flavour=zk&crs=INSECURE-DEV-CRS',
      }),
    )
  ).marketId
  for (const marketId of [groth16Restaked, groth16Native, teeWasm, noir]) await network.allowProverMarket(marketId)
  return { groth16Restaked, groth16Native, teeWasm, noir }
}

export type LaunchOptions = {
  /** Where each service's JSON log goes (one file per service). */
  logDir: string
  /** Where enclave key files live (sealed state of the matcher and prover enclaves). */
  stateDir: string
  logLevel?: string
  /** Settings on top of the devnet's, as the service's environment variables (e.g. MATCHER_LIVENESS_GRACE). */
  env?: Record<string, string>
}

/** The dev attestation flags every enclave service takes: it rebuilds the network's dev PKI from them. */
function devAttestation(network: Network, prefix: 'MATCHER' | 'PROVER' | 'RELAYER'): Record<string, string> {
  return {
    [`${prefix}_ATTESTATION`]: 'dev',
    [`${prefix}_DEV_PKI_SEED`]: network.pki.seed,
    [`${prefix}_DEV_PKI_TIME`]: String(network.pki.time),
  }
}

export type RelayerOptions = LaunchOptions & { epochLength?: number; finalityDepth?: number }

/**
 * Starts the relayer quorum: one process per relayer, each run for its own admitted operator (it registers its key on
 * both chains from the operator's account as it starts) and polling the others for signatures.
 */
export async function startRelayers(network: Network, options: RelayerOptions): Promise<Service[]> {
  const ports = await Promise.all(network.relayers.map(() => freePort()))
  return Promise.all(network.relayers.map((_, i) => startRelayer(network, { ...options, ports }, i)))
}

/**
 * Starts relayer `i` of the quorum on `ports[i]`, its peers on the others: how a crashed relayer comes back where its
 * peers look for it.
 */
export async function startRelayer(
  network: Network,
  options: RelayerOptions & { ports: readonly number[] },
  i: number,
): Promise<Service> {
  const relayer = network.relayers[i]
  const port = options.ports[i]
  if (relayer === undefined || port === undefined) throw new Error(`no relayer ${i} (or no port for it)`)
  return startService({
    name: `relayer-${i}`,
    script: 'relayer/src/main.ts',
    healthUrl: `http://127.0.0.1:${port}/healthz`,
    logFile: join(options.logDir, `relayer-${i}.log`),
    env: {
      RELAYER_ETHEREUM_RPC_URL: network.ethereum.anvil.rpcUrl,
      RELAYER_MARKETPLACE_RPC_URL: network.marketplace.anvil.rpcUrl,
      RELAYER_ETHEREUM_DEPLOYMENT: network.files.ethereumRestaking,
      RELAYER_MARKETPLACE_DEPLOYMENT: network.files.marketplaceRestaking,
      RELAYER_PRIVATE_KEY: relayer.key,
      RELAYER_OPERATOR_PRIVATE_KEY: relayer.operator.privateKey,
      RELAYER_EPOCH_LENGTH: String(options.epochLength ?? 30),
      RELAYER_FINALITY_DEPTH: String(options.finalityDepth ?? 2),
      RELAYER_METRICS_PORT: String(port),
      RELAYER_POLL_INTERVAL: '1000',
      RELAYER_SUBMIT_DELAY: '3000',
      RELAYER_PEERS: options.ports
        .filter((_, j) => j !== i)
        .map((peer) => `http://127.0.0.1:${peer}`)
        .join(','),
      RELAYER_LOG_LEVEL: options.logLevel ?? 'info',
      ...devAttestation(network, 'RELAYER'),
      ...options.env,
    },
  })
}

/** Starts the matcher enclave service; it attests, registers its key and assigns from the next block on. */
export async function startMatcher(network: Network, options: LaunchOptions): Promise<Service> {
  const port = await freePort()
  return startService({
    name: 'matcher',
    script: 'enclave/matcher/main.ts',
    healthUrl: `http://127.0.0.1:${port}/healthz`,
    logFile: join(options.logDir, 'matcher.log'),
    env: {
      MATCHER_RPC_URL: network.marketplace.anvil.rpcUrl,
      MATCHER_CHAIN_ID: String(network.marketplace.deployment.chainId),
      MATCHER_DEPLOYMENT: network.files.marketplace,
      MATCHER_ATTESTATION_DEPLOYMENT: network.files.marketplaceAttestation,
      MATCHER_KEY_FILE: join(options.stateDir, 'matcher.key.json'),
      // The admitted matcher operator's account: it registers the enclave key and sends the assignments.
      MATCHER_SUBMITTER_PRIVATE_KEY: network.matcherOperator.privateKey,
      MATCHER_METRICS_PORT: String(port),
      MATCHER_POLL_INTERVAL: '250',
      MATCHER_LOG_LEVEL: options.logLevel ?? 'info',
      ...devAttestation(network, 'MATCHER'),
      ...options.env,
    },
  })
}

export type ProverMarketOffer = {
  marketId: bigint
  backend: 'groth16' | 'tee-wasm' | 'noir'
  price: bigint
  provingTime: number
}

/**
 * The devnet Noir market's backend fields: noir/poseidon2_preimage, ZK proofs, on the DEVELOPMENT CRS (the devnet's
 * verifier is built on it: src/verifiers/generated/Poseidon2PreimageDevZkHonkVerifier.sol).
 */
const DEVNET_NOIR_ENTRY = { noir: { program: POSEIDON2_PREIMAGE, flavour: 'zk', crs: INSECURE_DEV_CRS } } as const

/** The file holding the bearer token a devnet prover runner's POST /reset requires (mode 0600, made at its start). */
export function proverOperatorTokenFile(options: Pick<LaunchOptions, 'stateDir'>, name = 'prover'): string {
  return join(options.stateDir, `${name}.operator-token`)
}

/** The matcher's HTTP base URL (its fast assignments are served on the same port as its health check). */
export function matcherUrlOf(matcher: Pick<Service, 'healthUrl'>): string {
  return new URL(matcher.healthUrl).origin
}

/**
 * Starts the prover runner for the devnet prover account in the given markets. With `matcherUrl` it serves that
 * matcher's fast lane (its offers of signed and of on-chain requests); without, the matcher's offers to it can only
 * lapse, delaying each request by the offer's window.
 */
export async function startProver(
  network: Network,
  options: LaunchOptions & {
    markets: readonly ProverMarketOffer[]
    claimFallback?: boolean
    name?: string
    matcherUrl?: string
  },
): Promise<Service> {
  const port = await freePort()
  const name = options.name ?? 'prover'
  const markets = options.markets.map(({ marketId, backend, price, provingTime }) => ({
    marketId: Number(marketId),
    backend,
    price: price.toString(),
    provingTime,
    ...(backend === 'noir' ? DEVNET_NOIR_ENTRY : {}),
  }))
  return startService({
    name,
    script: 'enclave/prover/main.ts',
    healthUrl: `http://127.0.0.1:${port}/healthz`,
    logFile: join(options.logDir, `${name}.log`),
    env: {
      PROVER_RPC_URL: network.marketplace.anvil.rpcUrl,
      PROVER_CHAIN_ID: String(network.marketplace.deployment.chainId),
      PROVER_DEPLOYMENT: network.files.marketplace,
      PROVER_ATTESTATION_DEPLOYMENT: network.files.marketplaceAttestation,
      PROVER_PRIVATE_KEY: anvilAccount(devRoles.prover).privateKey,
      PROVER_KEY_FILE: join(options.stateDir, `${name}.keyring.json`),
      PROVER_OPERATOR_TOKEN_FILE: proverOperatorTokenFile(options, name),
      PROVER_MARKETS: JSON.stringify(markets),
      PROVER_CAPACITY: '8',
      PROVER_STAKE: parseEther('1000').toString(),
      // The runner proves the prover's restaked leaves in every snapshot the relayers commit.
      PROVER_ETHEREUM_RPC_URL: network.ethereum.anvil.rpcUrl,
      PROVER_RESTAKING_DEPLOYMENT: network.files.ethereumRestaking,
      PROVER_METRICS_PORT: String(port),
      PROVER_POLL_INTERVAL: '500',
      PROVER_BATCH_WINDOW: '500',
      PROVER_CLAIM_FALLBACK: String(options.claimFallback ?? false),
      ...(options.matcherUrl === undefined ? {} : { PROVER_MATCHER_URL: options.matcherUrl }),
      PROVER_LOG_LEVEL: options.logLevel ?? 'info',
      ...devAttestation(network, 'PROVER'),
      ...options.env,
    },
  })
}

/** Gives the devnet prover stake tokens for native staking and the requester payment tokens. */
export async function fundActors(network: Network): Promise<void> {
  const { actors, deployment } = network.marketplace
  const { stakeToken, paymentToken } = deployment.contracts
  await mintDevToken(actors.prover, stakeToken, actors.prover.wallet.account.address, parseEther('10000'))
  await mintDevToken(actors.requester, paymentToken, actors.requester.wallet.account.address, parseEther('10000'))
}

/** The devnet mines a block every second. */
const STAKE_POLL_MS = 1_000

/**
 * Waits until the prover's restaked stake is lockable on the marketplace chain: the relayers committed a snapshot and
 * the prover runner proved its leaf in it (the runner keeps doing so in every epoch). Reads the mirror's state every
 * block time, never a clock budget and never a node-side log filter (a loaded anvil may drop one); resolves with the
 * stake available.
 */
export async function restakedStakeLive(network: Network): Promise<bigint> {
  const { restaking, marketplace } = network
  const mirror = { address: restaking.marketplace.contracts.stakeMirror, abi: stakeMirrorAbi } as const
  const prover = marketplace.actors.prover.wallet.account.address
  for (;;) {
    const stake = await marketplace.reader.public.readContract({
      ...mirror,
      functionName: 'availableStake',
      args: [prover],
    })
    if (stake > 0n) return stake
    await sleep(STAKE_POLL_MS)
  }
}
