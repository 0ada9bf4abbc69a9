/**
 * Where an attested service (matcher, prover runner, relayer) gets its quotes: the TD's configfs-tsm interface on
 * TDX hardware, or the dev DCAP PKI on devnets and in tests. One config section, one set of flags and one rule for
 * the three services, and the provider built from them, every quote checked against the service's measured
 * configuration before use.
 */
import { z } from 'zod'
import type { EnclaveAttestation, EnclaveConfig } from '../../ts/enclave-config.js'
import { unixSeconds } from '../../ts/service/schemas.js'
import { createConfigfsTsmProvider } from '../attestation/configfs-tsm.js'
import { enclaveAttestation } from '../attestation/configuration.js'
import { devEnclaveAttestation } from '../attestation/dev/configuration.js'
import { createDevPki } from '../attestation/dev/pki.js'
import type { AttestationProvider } from '../attestation/provider.js'

/** The config fields of the quote source. */
export const attestationFields = {
  /** The TD's configfs-tsm interface, or the dev PKI (devnets and tests only). */
  attestation: z.enum(['configfs', 'dev']).default('configfs'),
  /** Seed of the dev PKI: the one the chain's dev collateral and root were built from. */
  devPkiSeed: z.string().min(1).optional(),
  /**
   * Reference time of the dev PKI (unix seconds; ISO 8601 accepted): the `now` the chain's dev collateral was built
   * with. The certificates' validity windows depend on it: another time yields certificates the chain rejects.
   */
  devPkiTime: unixSeconds.optional(),
  /** configfs-tsm report directory (default /sys/kernel/config/tsm/report). */
  configfsRoot: z.string().min(1).optional(),
}

export type AttestationConfig = {
  attestation: 'configfs' | 'dev'
  devPkiSeed?: string | undefined
  devPkiTime?: number | undefined
  configfsRoot?: string | undefined
}

/** The flags of the quote source. */
export const attestationFlags = {
  attestation: { field: 'attestation', help: 'quote source: a TDX guest (configfs) or the dev PKI' },
  'dev-pki-seed': { field: 'devPkiSeed', help: 'dev PKI seed (needed with --attestation dev)' },
  'dev-pki-time': {
    field: 'devPkiTime',
    value: '<time>',
    help: 'dev PKI reference time, unix seconds or ISO 8601 (needed with --attestation dev)',
  },
  'configfs-root': {
    field: 'configfsRoot',
    value: '<path>',
    help: 'configfs-tsm report directory (default /sys/kernel/config/tsm/report)',
  },
} as const

/** The dev PKI needs both its seed and its time: the quotes must chain to the root the chain was given. */
export function requireDevPki(config: AttestationConfig, context: z.RefinementCtx): void {
  if (config.attestation !== 'dev') return
  for (const key of ['devPkiSeed', 'devPkiTime'] as const) {
    if (config[key] === undefined) {
      context.addIssue({ code: 'custom', path: [key], message: `required with attestation 'dev'` })
    }
  }
}

/**
 * The service's quotes for its measured configuration `enclave`: from `provider` when one is given (tests), else
 * from the configured source. Every quote is checked (report data, MRCONFIGID) before anything uses it.
 */
export function attestationOf(
  config: AttestationConfig,
  enclave: EnclaveConfig,
  provider?: AttestationProvider,
): EnclaveAttestation {
  if (provider !== undefined) return enclaveAttestation(provider, enclave)
  if (config.attestation === 'configfs') {
    return enclaveAttestation(
      createConfigfsTsmProvider(config.configfsRoot === undefined ? {} : { root: config.configfsRoot }),
      enclave,
    )
  }
  if (config.devPkiSeed === undefined || config.devPkiTime === undefined) {
    throw new Error(`attestation 'dev' needs devPkiSeed and devPkiTime`)
  }
  return devEnclaveAttestation(createDevPki(config.devPkiSeed, { now: new Date(config.devPkiTime * 1000) }), enclave)
}
