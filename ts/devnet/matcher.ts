import { type Address, bytesToHex, type Hex } from 'viem'
import {
  buildDevCollateral,
  buildDevQuote,
  createDevPki,
  type DevPki,
  devEnclaveAttestation,
  devTdConfigOf,
  parseTdxQuoteV4,
} from '../../enclave/attestation/index.js'
import { type MatcherConfig, type MatcherConfigInput, parseConfig } from '../../enclave/matcher/config.js'
import { matcherEnclaveConfig } from '../../enclave/matcher/keys.js'
import type { AttestationDeployment } from '../deployment.js'
import type { EnclaveAttestation, EnclaveConfig } from '../enclave-config.js'
import {
  allowMeasurement,
  measurementOf,
  pinTdConfig,
  setMatcherAuthority,
  submitDevCollateral,
  withAttestation,
} from '../tee.js'
import type { TeeRole } from '../types.js'
import { anvilAccount, devRoles } from './accounts.js'
import { deployAttestationWithForge } from './deploy.js'
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
  const { actors, anvil, deployment, reader } = devnet
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const pkiTime = Number(head.timestamp)
  const pki = createDevPki(params.seed, { now: new Date(pkiTime * 1000) })
  const attestation = await deployAttestationWithForge({
    rpcUrl: anvil.rpcUrl,
    chainId: deployment.chainId,
    deployerKey: anvilAccount(devRoles.deployer).privateKey,
    rootDer: bytesToHex(pki.root.der),
    marketplace: deployment.contracts.proofMarketplace,
    matcherOperators: params.matcherOperators,
    out: params.out,
  })
  const owner = withAttestation(actors.deployer, attestation)
  await submitDevCollateral(owner, buildDevCollateral(pki))
  const measurement = devMeasurementOf(pki)
  await allowMeasurement(owner, { role: 'Matcher', measurement })
  const registry = { chainId: deployment.chainId, registry: attestation.contracts.teeRegistry }
  const matcher = matcherEnclaveConfig(registry.chainId, registry.registry)
  await pinTdConfig(owner, { role: 'Matcher', tdConfig: devTdConfigOf(pki, matcher) })
  await setMatcherAuthority(actors.deployer, attestation.contracts.teeRegistry)
  const enclave = (role: TeeRole) => devEnclaveAttestation(pki, { role, registries: [registry] })
  return { attestation, pki, pkiSeed: params.seed, pkiTime, matcher, enclave, measurement }
}

/** The measurement of the dev provider's TD, as the TeeRegistry's allow-list keys it. */
export function devMeasurementOf(pki: DevPki): Hex {
  const td = parseTdxQuoteV4(buildDevQuote(pki, new Uint8Array(64))).body
  return measurementOf({
    mrTd: bytesToHex(td.mrTd),
    rtmr0: bytesToHex(td.rtmr[0]),
    rtmr1: bytesToHex(td.rtmr[1]),
    rtmr2: bytesToHex(td.rtmr[2]),
    rtmr3: bytesToHex(td.rtmr[3]),
  })
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
