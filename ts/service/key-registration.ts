/**
 * The attested key of a matcher or relayer on a TeeRegistry: quoted, registered by the service's admitted operator,
 * and renewed two thirds into its validity window, so a slow renewal still lands before the key expires.
 */
import type { Address, Hex } from 'viem'
import type { EnclaveAttestation } from '../enclave-config.js'
import {
  isOperatorNotAdmittedError,
  type OperatorNotAdmittedError,
  type RegistryClient,
  registerEnclaveKey,
} from '../tee.js'

/** When a key was registered, when it expires and when to register it again (chain time, unix seconds). */
export type KeyRegistration = {
  /** Chain time of the registration's block. */
  registeredAt: number
  expiresAt: number
  /** When to register again: two thirds into the validity window. */
  renewAt: number
}

/**
 * Registers `signer` through `operator`, the admitted operator's client on the registry's chain. A refusal because
 * the operator is not admitted for the role becomes what `notAdmitted` makes of it: an error naming the flag to fix.
 */
export async function registerServiceKey(
  operator: RegistryClient,
  params: { enclave: EnclaveAttestation; signer: Address; eciesPublicKey: Hex },
  notAdmitted: (error: OperatorNotAdmittedError) => Error,
): Promise<KeyRegistration> {
  let registered: Awaited<ReturnType<typeof registerEnclaveKey>>
  try {
    registered = await registerEnclaveKey(operator, params)
  } catch (error) {
    throw isOperatorNotAdmittedError(error) ? notAdmitted(error) : error
  }
  const block = await operator.public.getBlock({ blockNumber: registered.receipt.blockNumber })
  const registeredAt = Number(block.timestamp)
  const expiresAt = Number(registered.expiresAt)
  return { registeredAt, expiresAt, renewAt: registeredAt + Math.floor(((expiresAt - registeredAt) * 2) / 3) }
}
