import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Address, getAddress, type Hex, isAddress, isHex, size } from 'viem'
import { type DeploymentKey, deploymentKeys } from './contracts-manifest.js'
import { repoRoot } from './root.js'

/** The marketplace's contracts, keyed as the contracts manifest names them in deployments/<chainId>.json. */
export type DeploymentContracts = { [key in DeploymentKey<'marketplace'>]: Address }

/** deployments/<chainId>.json as written by script/Deploy.s.sol (format: deployments/README.md). */
export type Deployment = {
  chainId: number
  deployBlock: bigint
  owner: Address
  treasury: Address
  matcher: Address
  contracts: DeploymentContracts
}

const contractKeys = deploymentKeys('marketplace')

export const deploymentsDir = join(repoRoot, 'deployments/')

export function deploymentPath(chainId: number): string {
  return `${deploymentsDir}${chainId}.json`
}

/**
 * Reads and validates a deployment file. `path` overrides deployments/<chainId>.json (e.g. a devnet that wrote its
 * own file through DEPLOYMENT_OUT); the chain id inside must still match, so a stale file is never used silently.
 */
export async function loadDeployment(chainId: number, options: { path?: string } = {}): Promise<Deployment> {
  const path = options.path ?? deploymentPath(chainId)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new Error(`no deployment for chain ${chainId} at ${path}: run script/Deploy.s.sol first`, { cause })
  }
  const deployment = parseDeployment(parseJson(text, path), path)
  if (deployment.chainId !== chainId) {
    throw new Error(`${path} is a deployment on chain ${deployment.chainId}, not ${chainId}`)
  }
  return deployment
}

export function parseDeployment(json: unknown, source = 'deployment'): Deployment {
  const root = record(json, source)
  const contracts = record(root.contracts, `${source}: contracts`)
  return {
    chainId: Number(integer(root.chainId, `${source}: chainId`)),
    deployBlock: integer(root.deployBlock, `${source}: deployBlock`),
    owner: address(root.owner, `${source}: owner`),
    treasury: address(root.treasury, `${source}: treasury`),
    matcher: address(root.matcher, `${source}: matcher`),
    contracts: Object.fromEntries(
      contractKeys.map((key) => [key, address(contracts[key], `${source}: contracts.${key}`)]),
    ) as DeploymentContracts,
  }
}

/** The attestation contracts, keyed as the contracts manifest names them in deployments/<chainId>.attestation.json. */
export type AttestationContracts = { [key in DeploymentKey<'attestation'>]: Address }

/** deployments/<chainId>.attestation.json as written by script/DeployAttestation.s.sol (format: deployments/README.md). */
export type AttestationDeployment = {
  chainId: number
  deployBlock: bigint
  /** Owns the registry and administers every role at deployment. */
  owner: Address
  /** Whether the collateral store pins Intel's SGX Root CA (false: a dev root). */
  intelRoot: boolean
  /** keccak256 of the pinned root's PEM body, as quotes' PCK chains carry it. */
  rootPemBodyHash: Hex
  /** The marketplace the deployment was made for, when MARKETPLACE was given. */
  marketplace?: Address
  contracts: AttestationContracts
}

const attestationContractKeys = deploymentKeys('attestation')

export function attestationDeploymentPath(chainId: number): string {
  return `${deploymentsDir}${chainId}.attestation.json`
}

/** Reads and validates an attestation deployment file; like loadDeployment, the chain id inside must match. */
export async function loadAttestationDeployment(
  chainId: number,
  options: { path?: string } = {},
): Promise<AttestationDeployment> {
  const path = options.path ?? attestationDeploymentPath(chainId)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new Error(`no attestation deployment for chain ${chainId} at ${path}: run script/DeployAttestation.s.sol`, {
      cause,
    })
  }
  const deployment = parseAttestationDeployment(parseJson(text, path), path)
  if (deployment.chainId !== chainId) {
    throw new Error(`${path} is an attestation deployment on chain ${deployment.chainId}, not ${chainId}`)
  }
  return deployment
}

export function parseAttestationDeployment(json: unknown, source = 'attestation deployment'): AttestationDeployment {
  const root = record(json, source)
  const contracts = record(root.contracts, `${source}: contracts`)
  if (typeof root.intelRoot !== 'boolean') throw new Error(`${source}: intelRoot: expected a boolean`)
  const rootPemBodyHash = root.rootPemBodyHash
  if (typeof rootPemBodyHash !== 'string' || !isHex(rootPemBodyHash) || size(rootPemBodyHash) !== 32) {
    throw new Error(`${source}: rootPemBodyHash: expected 32 bytes of hex, got ${JSON.stringify(rootPemBodyHash)}`)
  }
  return {
    chainId: Number(integer(root.chainId, `${source}: chainId`)),
    deployBlock: integer(root.deployBlock, `${source}: deployBlock`),
    owner: address(root.owner, `${source}: owner`),
    intelRoot: root.intelRoot,
    rootPemBodyHash,
    ...(root.marketplace === undefined ? {} : { marketplace: address(root.marketplace, `${source}: marketplace`) }),
    contracts: Object.fromEntries(
      attestationContractKeys.map((key) => [key, address(contracts[key], `${source}: contracts.${key}`)]),
    ) as AttestationContracts,
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new Error(`${path} is not valid JSON (${(cause as Error).message}): restore it or deploy again`, { cause })
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what}: expected object`)
  return value as Record<string, unknown>
}

function integer(value: unknown, what: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value)
  // vm.serializeUint writes large numbers as JSON numbers, but keep accepting decimal strings from other writers.
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value)
  throw new Error(`${what}: expected a non-negative integer, got ${JSON.stringify(value)}`)
}

function address(value: unknown, what: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new Error(`${what}: expected an address, got ${JSON.stringify(value)}`)
  }
  return getAddress(value)
}
