/**
 * The runner's chains: the marketplace chain (read, write and attest as the operator account) and, when it keeps
 * restaked stake proven, Ethereum's restaking deployment. Connecting checks the RPC serves the configured chain.
 */
import type { Address, LocalAccount } from 'viem'
import { type CairnClient, type CairnReader, connect, createCairnReader } from '../../ts/client.js'
import { loadAttestationDeployment, loadDeployment } from '../../ts/deployment.js'
import type { EnclaveConfig } from '../../ts/enclave-config.js'
import { rpcChain } from '../../ts/rpc-chain.js'
import { expectChainId } from '../../ts/service/chain.js'
import { type TeeClient, withAttestation } from '../../ts/tee.js'
import type { ProverRunnerConfig } from './config.js'
import { connectRestaking } from './restaked.js'

export type Chain = {
  reader: CairnReader
  client: CairnClient
  tee: TeeClient
  /** Ethereum and the restaking deployment, when the runner keeps restaked stake proven. */
  restaking?: Awaited<ReturnType<typeof connectRestaking>>
}

/**
 * What this runner's enclave attests for: Prover keys at the TeeRegistry of its configured chain. Its TD is launched
 * with this configuration's MRCONFIGID, and the registry may pin it for every market.
 */
export function proverEnclaveConfig(chainId: number, teeRegistry: Address): EnclaveConfig {
  return { role: 'Prover', registries: [{ chainId, registry: teeRegistry }] }
}

export async function connectChain(config: ProverRunnerConfig, account: LocalAccount): Promise<Chain> {
  const deployment = await loadDeployment(config.chainId, config.deployment ? { path: config.deployment } : {})
  const attestation = await loadAttestationDeployment(
    config.chainId,
    config.attestationDeployment ? { path: config.attestationDeployment } : {},
  )
  const chain = rpcChain(config.chainId, config.rpcUrl)
  const reader = createCairnReader({ chain, rpcUrl: config.rpcUrl, deployment, pollingInterval: config.pollInterval })
  await expectChainId(reader, config.chainId, { rpcFlag: '--rpc-url', expectedFrom: '--chain-id' })
  const client = connect(reader, account)
  const tee = withAttestation(client, attestation)
  if (config.ethereumRpcUrl === undefined || config.restakingDeployment === undefined) return { reader, client, tee }
  const restaking = await connectRestaking({
    ethereumRpcUrl: config.ethereumRpcUrl,
    restakingDeployment: config.restakingDeployment,
    pollInterval: config.pollInterval,
  })
  if (restaking.restaking.sourceChainId !== config.chainId) {
    throw new Error(
      `--restaking-deployment mirrors stake to chain ${restaking.restaking.sourceChainId}, this runner serves chain ${config.chainId}`,
    )
  }
  return { reader, client, tee, restaking }
}
