import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, type Hex, isHex } from 'viem'
import { type CairnClient, sent } from '../client.js'
import {
  type AttestationDeployment,
  type Deployment,
  loadAttestationDeployment,
  loadDeployment,
} from '../deployment.js'
import { teeProofVerifierAbi } from '../generated.js'
import { forgeBin, repoRoot, toolEnv } from './paths.js'

export type ForgeDeployParams = {
  rpcUrl: string
  chainId: number
  deployerKey: Hex
  matcher: Address
  /** Output file relative to the repo root, inside deployments/ (default: deployments/<chainId>.json). */
  out?: string
}

/** Runs script/Deploy.s.sol against `rpcUrl` and loads the deployment file it wrote. */
export async function deployWithForge(params: ForgeDeployParams): Promise<Deployment> {
  const out = params.out ?? `deployments/${params.chainId}.json`
  await runForgeScript('script/Deploy.s.sol', params, {
    PRIVATE_KEY: params.deployerKey,
    MATCHER_ADDRESS: params.matcher,
    DEPLOYMENT_OUT: out,
  })
  return loadDeployment(params.chainId, { path: join(repoRoot, out) })
}

export type ForgeAttestationDeployParams = {
  rpcUrl: string
  chainId: number
  deployerKey: Hex
  /** DER of the root CA to pin: a dev root (the dev attestation provider's `pki.root.der`), or Intel's. */
  rootDer: Hex
  /** Pin Intel's SGX Root CA (`rootDer` must then be Intel's certificate). Default false. */
  intelRoot?: boolean
  /** Recorded in the output file only. */
  marketplace?: Address
  /** Operators admitted for the Relayer and Matcher roles (each registers its own keys from its own account). */
  relayerOperators?: readonly Address[]
  matcherOperators?: readonly Address[]
  /** Output file relative to the repo root, inside deployments/ (default: deployments/<chainId>.attestation.json). */
  out?: string
}

/** Runs script/DeployAttestation.s.sol against `rpcUrl` and loads the attestation deployment file it wrote. */
export async function deployAttestationWithForge(params: ForgeAttestationDeployParams): Promise<AttestationDeployment> {
  const out = params.out ?? `deployments/${params.chainId}.attestation.json`
  const root: Record<string, string> = params.intelRoot
    ? { INTEL_ROOT: 'true', INTEL_ROOT_DER: params.rootDer }
    : { DEV_ROOT_DER: params.rootDer }
  await runForgeScript(
    'script/DeployAttestation.s.sol',
    { ...params },
    {
      PRIVATE_KEY: params.deployerKey,
      DEPLOYMENT_OUT: out,
      ...root,
      ...(params.marketplace === undefined ? {} : { MARKETPLACE: params.marketplace }),
      ...(params.relayerOperators?.length ? { RELAYER_OPERATORS: params.relayerOperators.join(',') } : {}),
      ...(params.matcherOperators?.length ? { MATCHER_OPERATORS: params.matcherOperators.join(',') } : {}),
    },
  )
  return loadAttestationDeployment(params.chainId, { path: join(repoRoot, out) })
}

export type ForgeRestakingDeployParams = {
  rpcUrl: string
  deployerKey: Hex
  /** This chain's TeeRegistry: its Relayer-role keys sign snapshots and slash batches. */
  relayerRegistry: Address
  threshold?: number
  /** Output file relative to the repo root, inside deployments/ (default: deployments/<chainId>.restaking.json). */
  out: string
} & (
  | {
      mode: 'MARKETPLACE'
      marketplace: Address
      /** Seconds from a task's deadline to its slash executing on Ethereum (default: the script's, 1 hour). */
      slashDelay?: number
    }
  | {
      mode: 'ETHEREUM'
      sourceChainId: number
      sourceMirror: Address
      operator: Address
      minSlashingWindow?: number
      vaultEpoch?: number
      /** The veto vault's veto window, seconds (default 1 hour). */
      vetoDuration?: number
      /** Who may veto Cairn's slashes on the veto vault (default the deployer). */
      resolver?: Address
    }
)

/**
 * Runs script/DeployRestaking.s.sol in one mode and returns the JSON it wrote (relayer/src/config.ts validates it).
 * Deploy MARKETPLACE first: the ETHEREUM side's slash inbox names the mirror.
 */
export async function deployRestakingWithForge(params: ForgeRestakingDeployParams): Promise<unknown> {
  const env: Record<string, string> = {
    PRIVATE_KEY: params.deployerKey,
    MODE: params.mode,
    RELAYER_REGISTRY: params.relayerRegistry,
    THRESHOLD: String(params.threshold ?? 2),
    DEPLOYMENT_OUT: params.out,
  }
  if (params.mode === 'MARKETPLACE') {
    env.MARKETPLACE = params.marketplace
    if (params.slashDelay !== undefined) env.SLASH_DELAY = String(params.slashDelay)
  } else {
    env.SOURCE_CHAIN_ID = String(params.sourceChainId)
    env.SOURCE_MIRROR = params.sourceMirror
    env.OPERATOR = params.operator
    if (params.minSlashingWindow !== undefined) env.MIN_SLASHING_WINDOW = String(params.minSlashingWindow)
    if (params.vaultEpoch !== undefined) env.VAULT_EPOCH = String(params.vaultEpoch)
    if (params.vetoDuration !== undefined) env.VETO_DURATION = String(params.vetoDuration)
    if (params.resolver !== undefined) env.RESOLVER = params.resolver
  }
  await runForgeScript('script/DeployRestaking.s.sol', params, env)
  return JSON.parse(await readFile(join(repoRoot, params.out), 'utf8'))
}

async function runForgeScript(
  script: string,
  params: { rpcUrl: string; deployerKey: Hex },
  env: Record<string, string>,
): Promise<void> {
  // --slow: one transaction in flight at a time. forge otherwise sends a script's transactions as a batch while
  // anvil's automine seals blocks under it (the same 11 transactions of Deploy.s.sol landed in 3 to 11 blocks from run
  // to run), and a transaction that reaches the pool just after a block was sealed can wait for a next transaction
  // that never comes while forge waits for its receipt: the stranding other projects traced on anvil, and the likely
  // cause of the two-chain test set-up that hung until its hook timed out. With --slow every run is 11 blocks, and it
  // costs no measurable time (about 6 s either way).
  const args = [
    'script',
    script,
    '--rpc-url',
    params.rpcUrl,
    '--broadcast',
    '--slow',
    '--private-key',
    params.deployerKey,
  ]
  // The other script's root variables must not leak in from the caller's environment (DeployAttestation refuses
  // DEV_ROOT_DER next to INTEL_ROOT=true).
  const base = toolEnv()
  for (const name of [
    'DEV_ROOT_DER',
    'INTEL_ROOT',
    'INTEL_ROOT_DER',
    'MARKETPLACE',
    'MODE',
    'COLLATERAL',
    'SOURCE_CHAIN_ID',
    'SOURCE_MIRROR',
    'OPERATOR',
    'RESOLVER',
    'VETO_DURATION',
    'SLASH_DELAY',
    'MAX_STAKE_AGE',
    'RELAYER_OPERATORS',
    'MATCHER_OPERATORS',
  ]) {
    delete base[name]
  }
  // forge rewrites cache/solidity-files-cache.json and broadcast/ on every run, even with nothing to compile: a run of
  // its own (a copy of the build's cache, its own broadcast directory) lets deployments run beside each other and
  // beside `forge test` (npm test runs test files and the contract suites side by side).
  const scratch = await mkdtemp(join(tmpdir(), 'cairn-forge-script-'))
  try {
    const buildCache = join(repoRoot, 'cache', 'solidity-files-cache.json')
    if (existsSync(buildCache)) await copyFile(buildCache, join(scratch, 'solidity-files-cache.json'))
    base.FOUNDRY_CACHE_PATH = scratch
    base.FOUNDRY_BROADCAST = join(scratch, 'broadcast')
    const child = spawn(forgeBin, args, { cwd: repoRoot, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    const [code] = (await once(child, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`forge script ${script} failed (exit ${code}):\n${output.slice(-4_000)}`)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/**
 * Deploys a TeeProofVerifier for one market of the client's marketplace and one program, from its forge artifact
 * (out/, built by `npm run build`). One verifier per market: its id must be the market's, so predict it as
 * marketCount() + 1 before createMarket.
 */
export async function deployTeeProofVerifier(
  client: CairnClient,
  params: { registry: Address; marketId: bigint; programId: Hex },
): Promise<Address> {
  const bytecode = await artifactBytecode('TeeProofVerifier')
  const receipt = await sent(client, () =>
    client.wallet.deployContract({
      abi: teeProofVerifierAbi,
      bytecode,
      args: [params.registry, client.deployment.contracts.proofMarketplace, params.marketId, params.programId],
    }),
  )
  if (!receipt.contractAddress) throw new Error(`no contract address in ${receipt.transactionHash}`)
  return receipt.contractAddress
}

async function artifactBytecode(contract: string): Promise<Hex> {
  const path = join(repoRoot, 'out', `${contract}.sol`, `${contract}.json`)
  const artifact = JSON.parse(await readFile(path, 'utf8')) as { bytecode?: { object?: unknown } }
  const bytecode = artifact.bytecode?.object
  if (typeof bytecode !== 'string' || !isHex(bytecode) || bytecode === '0x') {
    throw new Error(`${path} has no bytecode: run \`npm run build\``)
  }
  return bytecode
}

/** Removes a deployment file written for a throwaway devnet. */
export async function removeDeploymentFile(out: string): Promise<void> {
  await rm(join(repoRoot, out), { force: true })
}
