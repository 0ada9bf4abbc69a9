import type { Address, Hex } from 'viem'
import { type DevPki, devTdConfigOf } from '../../enclave/attestation/dev/index.js'
import { type MatcherConfig, type MatcherConfigInput, parseConfig } from '../../enclave/matcher/config.js'
import { matcherEnclaveConfig } from '../../enclave/matcher/keys.js'
import type { AttestationDeployment } from '../deployment.js'
import type { EnclaveAttestation, EnclaveConfig } from '../enclave-config.js'
import { allowMeasurement, pinTdConfig, setMatcherAuthority } from '../tee.js'
import type { TeeRole } from '../types.js'
import { prepareDevAttestation } from './attestation.js'
import type { Devnet } from './stack.js'

/*
 * What a devnet needs before the matcher can run on it: the attestation stack (DeployAttestation.s.sol) pinned to
 * a dev root with the matcher operators admitted, the dev collateral, the dev TD's measurement allowed for the
 * Matcher role with the tdConfig of a TD launched for this chain and registry pinned, and the TeeRegistry as the
 * marketplace's matcher authority. Used by the service test and the latency bench; a devnet may call it too.
 */

export type MatcherDevnet = {
  attestation: AttestationDeployment
  pki: DevPki
  /** The dev PKI's seed and reference time: the matcher's devPkiSeed and devPkiTime. */
  pkiSeed: string
  pkiTime: number
  /** What the matcher attests for (its TD's MRCONFIGID): the Matcher role's pinned tdConfig is this one's. */
  matcher: EnclaveConfig
  /** A dev TD launched for `role` keys at this chain's registry (not pinned for roles other than Matcher). */
  enclave: (role: TeeRole) => EnclaveAttestation
  /** The dev TD's policy measurement (allow it for the Prover role per market to register prover keys). */
  measurement: Hex
}

export async function prepareMatcherDevnet(
  devnet: Devnet,
  params: {
    seed: string
    /** Attestation deployment file, relative to the repo root. */
    out: string
    /** Matcher operators governance admits: each matcher's submitter account, which registers its key. */
    matcherOperators: readonly Address[]
  },
): Promise<MatcherDevnet> {
  const { actors, deployment } = devnet
  const { attestation, pki, pkiSeed, pkiTime, owner, measurement, enclave } = await prepareDevAttestation(
    devnet,
    params,
  )
  await allowMeasurement(owner, { role: 'Matcher', measurement })
  const matcher = matcherEnclaveConfig(deployment.chainId, attestation.contracts.teeRegistry)
  await pinTdConfig(owner, { role: 'Matcher', tdConfig: devTdConfigOf(pki, matcher) })
  await setMatcherAuthority(actors.deployer, attestation.contracts.teeRegistry)
  return { attestation, pki, pkiSeed, pkiTime, matcher, enclave, measurement }
}

/** A matcher config for `devnet` with the dev attestation provider; pass the deployments to startMatcher too. */
export function devMatcherConfig(
  devnet: Devnet,
  prepared: MatcherDevnet,
  params: Pick<MatcherConfigInput, 'keyFile' | 'submitterPrivateKey'> & Partial<MatcherConfigInput>,
): MatcherConfig {
  return parseConfig({
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: devnet.deployment.chainId,
    attestation: 'dev',
    devPkiSeed: prepared.pkiSeed,
    devPkiTime: prepared.pkiTime,
    metricsPort: 0,
    pollInterval: 50,
    ...params,
  })
}
