import { createTestClient, custom, type TestClient, type Transport } from 'viem'
import { foundry } from 'viem/chains'
import { type CairnClient, type CairnReader, connect, createCairnReader } from '../client.js'
import type { Deployment } from '../deployment.js'
import { anvilAccount, devRoles } from './accounts.js'
import { type Anvil, type AnvilOptions, startAnvil } from './anvil.js'
import { deployWithForge, removeDeploymentFile } from './deploy.js'

export type DevActors = { [role in keyof typeof devRoles]: CairnClient }

export type Devnet = {
  anvil: Anvil
  deployment: Deployment
  reader: CairnReader
  actors: DevActors
  /** anvil's evm_* methods (time travel, snapshots) over the same endpoint. */
  test: TestClient<'anvil', Transport, typeof foundry>
  /** Stops anvil and removes a throwaway deployment file. */
  stop: () => Promise<void>
}

export type DevnetOptions = AnvilOptions & {
  /** Deployment file relative to the repo root (default: deployments/31337.json, kept after stop). */
  deploymentOut?: string
  /** Remove `deploymentOut` on stop (for tests and benchmarks). */
  throwaway?: boolean
}

/** anvil + script/Deploy.s.sol + one client per dev role; the local chain answers at once, so poll fast. */
export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const anvil = await startAnvil(options)
  // anvil's chain, under another id when a second devnet chain runs next to the first.
  // The type stays foundry's (its literal id included): only the value differs, which viem checks at runtime.
  const chain = (options.chainId === undefined ? foundry : { ...foundry, id: options.chainId }) as typeof foundry
  try {
    const deployment = await deployWithForge({
      rpcUrl: anvil.rpcUrl,
      chainId: chain.id,
      deployerKey: anvilAccount(devRoles.deployer).privateKey,
      matcher: anvilAccount(devRoles.matcher).account.address,
      ...(options.deploymentOut === undefined ? {} : { out: options.deploymentOut }),
    })
    const reader = createCairnReader({ chain, rpcUrl: anvil.rpcUrl, deployment, pollingInterval: 50 })
    const actors = Object.fromEntries(
      Object.entries(devRoles).map(([role, index]) => [role, connect(reader, anvilAccount(index).account)]),
    ) as DevActors
    const test = createTestClient({ mode: 'anvil', chain, transport: custom(reader.public) })
    const stop = async () => {
      await anvil.stop()
      if (options.throwaway && options.deploymentOut) await removeDeploymentFile(options.deploymentOut)
    }
    return { anvil, deployment, reader, actors, test, stop }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}

/** Moves chain time forward and mines a block, so the next call sees the new timestamp. */
export async function advanceTime(devnet: Devnet, seconds: number): Promise<void> {
  await devnet.test.increaseTime({ seconds })
  await devnet.test.mine({ blocks: 1 })
}
