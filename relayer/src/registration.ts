import type { Address, Hex } from 'viem'
import type { EnclaveAttestation, EnclaveConfig, RegistryRef } from '../../ts/enclave-config.js'
import { eciesPublicKeyOf } from '../../ts/privacy.js'
import { type KeyRegistration, registerServiceKey } from '../../ts/service/key-registration.js'
import type { RegistryClient } from '../../ts/tee.js'
import { flagOf } from './config.js'

/*
 * The relayer's key on each chain's TeeRegistry. The key (the relayer's signing key, kept in the TD) is quoted by
 * the TD and registered as a Relayer-role key by the operator this relayer runs for: the registry takes the
 * registration only from the operator's own account, and only while governance admits that operator, so quorums
 * count this relayer under its operator. The registration is renewed two thirds into its validity, on each chain by
 * that chain's own clock.
 */

/**
 * What a relayer attests for: Relayer keys at the relayer registry of both chains it relays between. One TD, one
 * MRCONFIGID naming both, which each chain's registry may pin.
 */
export function relayerEnclaveConfig(registries: readonly [RegistryRef, RegistryRef]): EnclaveConfig {
  return { role: 'Relayer', registries }
}

/** The operator is not admitted for the Relayer role on one chain: what to fix, with the flag that sets it. */
export class RelayerOperatorError extends Error {
  override readonly name = 'RelayerOperatorError'
}

/**
 * Registers the relayer key `signer` (its ECIES key is the same key's public key: relayers receive no ciphertexts)
 * through `operator`, the operator's client on one chain. An operator not admitted there is refused before any quote
 * is taken, with a message naming the flag that sets the operator's account.
 */
export function registerRelayerKey(
  operator: RegistryClient,
  params: { signerKey: Hex; signer: Address; enclave: EnclaveAttestation; chain: string },
): Promise<KeyRegistration> {
  const key = { enclave: params.enclave, signer: params.signer, eciesPublicKey: eciesPublicKeyOf(params.signerKey) }
  return registerServiceKey(
    operator,
    key,
    (error) =>
      new RelayerOperatorError(
        `${params.chain}: ${error.message}. ${flagOf('operatorPrivateKey')} must be the key of the operator ` +
          'governance admitted for this relayer',
        { cause: error },
      ),
  )
}
