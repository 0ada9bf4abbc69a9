import { type Address, bytesToHex, type Hex } from 'viem'
import {
  buildDevCollateral,
  buildDevQuote,
  createDevPki,
  type DevPki,
  devEnclaveAttestation,
  parseTdxQuoteV4,
} from '../../enclave/attestation/dev/index.js'
import type { AttestationDeployment } from '../deployment.js'
import type { EnclaveAttestation } from '../enclave-config.js'
import { measurementOf, submitDevCollateral, type TeeClient, withAttestation } from '../tee.js'
import type { TeeRole } from '../types.js'
import { anvilAccount, devRoles } from './accounts.js'
import { deployAttestationWithForge } from './deploy.js'
import type { Devnet } from './stack.js'

/*
 * An attestation stack on a devnet, as every test and bench that registers enclave keys starts: DeployAttestation.s.sol
 * pinned to a dev root made at the chain's time, the given matcher operators admitted, the dev collateral submitted.
 * Nothing is allowed or pinned: callers allow the dev TD's measurement (and pin tdConfig) for the roles they use.
 */

export type DevAttestation = {
  attestation: AttestationDeployment
  pki: DevPki
  /** The dev PKI's seed and reference time, as services take them (devPkiSeed, devPkiTime). */
  pkiSeed: string
  pkiTime: number
  /** The deployer, admin of every role of the registry. */
  owner: TeeClient
  /** The dev TD's policy measurement, as the registry's allow-lists key it. */
  measurement: Hex
  /** A dev TD launched for `role` keys at this chain's registry (its MRCONFIGID names them). */
  enclave: (role: TeeRole) => EnclaveAttestation
}

export async function prepareDevAttestation(
  devnet: Devnet,
  params: {
    seed: string
    /** Attestation deployment file, relative to the repo root. */
    out: string
    /** Matcher operators governance admits: each registers its matcher keys from its own account. */
    matcherOperators?: readonly Address[]
  },
): Promise<DevAttestation> {
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
    matcherOperators: params.matcherOperators ?? [],
    out: params.out,
  })
  const owner = withAttestation(actors.deployer, attestation)
  await submitDevCollateral(owner, buildDevCollateral(pki))
  const registries = [{ chainId: deployment.chainId, registry: attestation.contracts.teeRegistry }]
  return {
    attestation,
    pki,
    pkiSeed: params.seed,
    pkiTime,
    owner,
    measurement: devMeasurementOf(pki),
    enclave: (role) => devEnclaveAttestation(pki, { role, registries }),
  }
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
