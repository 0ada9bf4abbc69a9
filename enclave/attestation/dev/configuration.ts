// The dev stand-in for a TD launched for a measured configuration: dev quotes whose MRCONFIGID is the
// configuration's, checked by the same enclaveAttestation as a TD's quotes.
import { type EnclaveAttestation, type EnclaveConfig, mrConfigIdOf } from '../../../ts/enclave-config.js'
import { fromHex } from '../bytes.js'
import { enclaveAttestation, tdConfigOfQuote } from '../configuration.js'
import type { DevPki } from './pki.js'
import { buildDevQuote, createDevProvider, type DevProviderOptions } from './quote.js'

/**
 * The dev stand-in for a TD launched for `config`: dev quotes whose MRCONFIGID is the config's, so they take the same
 * on-chain path (tdConfig pinning included) as a TD's. `options` set the other TD report fields.
 */
export function devEnclaveAttestation(
  pki: DevPki,
  config: EnclaveConfig,
  options: Omit<DevProviderOptions, 'mrConfigId'> = {},
): EnclaveAttestation {
  return enclaveAttestation(createDevProvider(pki, { ...options, mrConfigId: fromHex(mrConfigIdOf(config)) }), config)
}

/** The tdConfig of the dev provider's TD launched for `config`: what a devnet pins for it. */
export function devTdConfigOf(
  pki: DevPki,
  config: EnclaveConfig,
  options: Omit<DevProviderOptions, 'mrConfigId'> = {},
) {
  return tdConfigOfQuote(
    buildDevQuote(pki, new Uint8Array(64), { ...options, mrConfigId: fromHex(mrConfigIdOf(config)) }),
  )
}
