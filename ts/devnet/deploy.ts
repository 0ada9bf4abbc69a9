import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { type Deployment, loadDeployment } from '../deployment.js'
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
  const args = ['script', 'script/Deploy.s.sol', '--rpc-url', params.rpcUrl, '--broadcast']
  args.push('--private-key', params.deployerKey)
  const child = spawn(forgeBin, args, {
    cwd: repoRoot,
    env: toolEnv({ PRIVATE_KEY: params.deployerKey, MATCHER_ADDRESS: params.matcher, DEPLOYMENT_OUT: out }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`forge script script/Deploy.s.sol failed (exit ${code}):\n${output.slice(-4_000)}`)
  return loadDeployment(params.chainId, { path: join(repoRoot, out) })
}

/** Removes a deployment file written for a throwaway devnet. */
export async function removeDeploymentFile(out: string): Promise<void> {
  await rm(join(repoRoot, out), { force: true })
}
