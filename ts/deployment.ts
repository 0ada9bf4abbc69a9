import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { type Address, getAddress, isAddress } from 'viem'

export type DeploymentContracts = {
  proofMarketplace: Address
  proverRegistry: Address
  nativeStaking: Address
  matcherAuthority: Address
  paymentToken: Address
  stakeToken: Address
  groth16Verifier: Address
  groth16Adapter: Address
}

/** deployments/<chainId>.json as written by script/Deploy.s.sol (format: deployments/README.md). */
export type Deployment = {
  chainId: number
  deployBlock: bigint
  owner: Address
  treasury: Address
  matcher: Address
  contracts: DeploymentContracts
}

const contractKeys = [
  'proofMarketplace',
  'proverRegistry',
  'nativeStaking',
  'matcherAuthority',
  'paymentToken',
  'stakeToken',
  'groth16Verifier',
  'groth16Adapter',
] as const satisfies readonly (keyof DeploymentContracts)[]

export const deploymentsDir = fileURLToPath(new URL('../deployments/', import.meta.url))

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
  const deployment = parseDeployment(JSON.parse(text), path)
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
