import type { Chain, PublicClient, Transport } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type CairnClient, type CairnReader, connect, createCairnReader } from '../../ts/client.js'
import {
  type AttestationDeployment,
  type Deployment,
  loadAttestationDeployment,
  loadDeployment,
} from '../../ts/deployment.js'
import type { EnclaveAttestation } from '../../ts/enclave-config.js'
import { rpcChain } from '../../ts/rpc-chain.js'
import { withAttestation } from '../../ts/tee.js'
import { attestationOf } from '../quote-source/index.js'
import type { MatcherOptions } from './api.js'
import { createIndexer, type Indexer } from './chain.js'
import type { MatcherConfig } from './config.js'
import { type EnclaveKey, loadOrCreateKey, matcherEnclaveConfig } from './keys.js'

/*
 * What the matcher talks to: its deployments, its enclave key and quote source, and the chain as a reader, as the
 * submitter (the admitted operator's account: registers the key and sends assign) and as the enclave key's signer;
 * and the index of its logs the book is built from.
 */

export type MatcherClients = {
  deployment: Deployment
  attestation: AttestationDeployment
  key: EnclaveKey
  enclave: EnclaveAttestation
  reader: CairnReader & { attestation: AttestationDeployment }
  client: PublicClient<Transport, Chain>
  /** The admitted operator's account: registers the key, sends assign. */
  submitter: CairnClient & { attestation: AttestationDeployment }
  /** The enclave key's account: signs batches. */
  signer: CairnClient
}

export async function connectMatcher(config: MatcherConfig, options: MatcherOptions): Promise<MatcherClients> {
  const deployment =
    options.deployment ??
    (await loadDeployment(config.chainId, config.deployment === undefined ? {} : { path: config.deployment }))
  const attestation =
    options.attestation ??
    (await loadAttestationDeployment(
      config.chainId,
      config.attestationDeployment === undefined ? {} : { path: config.attestationDeployment },
    ))
  const key = await loadOrCreateKey(config.keyFile)
  const enclave = attestationOf(
    config,
    matcherEnclaveConfig(config.chainId, attestation.contracts.teeRegistry),
    options.provider,
  )
  const chain = rpcChain(config.chainId, config.rpcUrl)
  const reader = withAttestation(
    createCairnReader({ chain, rpcUrl: config.rpcUrl, deployment, pollingInterval: config.pollInterval }),
    attestation,
  )
  const submitter = withAttestation(connect(reader, privateKeyToAccount(config.submitterPrivateKey)), attestation)
  const signer = connect(reader, key.account)
  return { deployment, attestation, key, enclave, reader, client: reader.public, submitter, signer }
}

/** The log index behind the book, from the earlier deploy block unless the config names one. */
export function matcherIndexer(config: MatcherConfig, clients: MatcherClients): Indexer {
  const { deployment, attestation } = clients
  return createIndexer({
    client: clients.client,
    deployment,
    attestation,
    fromBlock: config.fromBlock ?? minBigint(deployment.deployBlock, attestation.deployBlock),
    logRange: BigInt(config.logRange),
    livenessGrace: config.livenessGrace,
  })
}

function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
