// An attested matcher key on a started network, registered in-process: what the matcher service does as it starts,
// for tests and benches that sign assignment batches themselves instead of running the matcher. On the network the
// marketplace's matcher authority is the TeeRegistry, so only an attested Matcher-role key's signature assigns.
import { keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createDevPki, devEnclaveAttestation } from '../../enclave/attestation/dev/index.js'
import { type CairnClient, connect } from '../client.js'
import { eciesPublicKeyOf } from '../privacy.js'
import { type RegisteredKey, registerEnclaveKey, withAttestation } from '../tee.js'
import type { Network } from './network.js'

export type DevMatcherKey = {
  /** The registration as the TeeRegistry logged it. */
  key: RegisteredKey
  /** A client whose account is the attested signer: `signAssignments(signer, …)` signs as the matcher. */
  signer: CairnClient
}

/**
 * Registers a Matcher-role key from the network's admitted matcher operator, quoted by a dev TD launched for the
 * marketplace registry (the tdConfig the network pinned). The signer and ECIES keys derive from `label`, so reruns
 * reproduce them.
 */
export async function registerDevMatcherKey(network: Network, label: string): Promise<DevMatcherKey> {
  const { marketplace, pki, enclaves, attestation } = network
  const devPki = createDevPki(pki.seed, { now: new Date(pki.time * 1000) })
  const signerKey = keccak256(toHex(`${label} matcher signer`))
  const operator = withAttestation(
    connect(marketplace.reader, network.matcherOperator.account),
    attestation.marketplace,
  )
  const key = await registerEnclaveKey(operator, {
    enclave: devEnclaveAttestation(devPki, enclaves.matcher),
    signer: privateKeyToAccount(signerKey).address,
    eciesPublicKey: eciesPublicKeyOf(keccak256(toHex(`${label} matcher ecies`))),
  })
  return { key, signer: connect(marketplace.reader, privateKeyToAccount(signerKey)) }
}
