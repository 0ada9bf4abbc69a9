import { bytesToHex } from 'viem'
import { foundry } from 'viem/chains'
import { buildDevCollateral, createDevPki, type DevPki } from '../enclave/attestation/dev/index.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { freePort } from '../ts/devnet/anvil.js'
import { deployAttestationWithForge } from '../ts/devnet/deploy.js'
import { type Devnet, startDevnet } from '../ts/devnet/stack.js'
import {
  type AttestationDeployment,
  type CairnClient,
  setEnclaveKeys,
  submitDevCollateral,
  withAttestation,
} from '../ts/index.js'

export type AttestedDevnet = {
  devnet: Devnet
  /** The dev DCAP PKI the chain's collateral was built from (the dev TD quotes under it). */
  pki: DevPki
  attestation: AttestationDeployment
  /** The deployer with the attestation deployment: governance of the TEE registry. */
  owner: CairnClient & { attestation: AttestationDeployment }
  /** Repo-relative deployment files; the attestation one is left for the caller to remove. */
  deploymentOut: string
  attestationOut: string
}

/**
 * One anvil with the marketplace and the attestation stack (forge scripts), the dev collateral of `seed`'s PKI on
 * chain (built at chain time) and the marketplace pointed at the TEE registry for invalid-input attestations: what a
 * prover runner with dev attestation needs, short of its markets and their allowed measurements.
 */
export async function startAttestedDevnet(seed: string): Promise<AttestedDevnet> {
  const port = await freePort()
  const deploymentOut = `deployments/e2e-${port}.json`
  const devnet = await startDevnet({ port, deploymentOut, throwaway: true })
  const { actors, deployment, reader } = devnet
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const pki = createDevPki(seed, { now: new Date(Number(head.timestamp) * 1000) })
  const attestationOut = `deployments/e2e-${port}.attestation.json`
  const attestation = await deployAttestationWithForge({
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: foundry.id,
    deployerKey: anvilAccount(devRoles.deployer).privateKey,
    rootDer: bytesToHex(pki.root.der),
    marketplace: deployment.contracts.proofMarketplace,
    out: attestationOut,
  })
  const owner = withAttestation(actors.deployer, attestation)
  await submitDevCollateral(owner, buildDevCollateral(pki))
  await setEnclaveKeys(actors.deployer, attestation.contracts.teeRegistry)
  return { devnet, pki, attestation, owner, deploymentOut, attestationOut }
}
