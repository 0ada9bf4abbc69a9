/**
 * waitForProof's key release for private fallback claims: a requester still waiting on its private request releases
 * the data key to the prover that claimed it (IPrivateClaims), once, as soon as the wait sees the claim.
 */
import type { Address, Hex } from 'viem'
import type { CairnClient } from './client.js'
import {
  getInputKeyWait,
  type InputKeyRelease,
  isInputKeyReleaseError,
  releaseInputKeyToClaimant,
} from './private-claims.js'
import type { WaitState } from './wait.js'

export type KeyReleaseOptions = {
  /** The request's refund address, with the attestation deployment (its TeeRegistry holds the prover's key). */
  client: CairnClient & { attestation: { contracts: { teeRegistry: Address } } }
  /** The request's data key (requestProof's `encrypted.dataKey`, encryptPrivateInputs' `dataKey`). */
  dataKey: Hex
  /** Called once the key is released to the claiming prover's enclave. */
  onKeyReleased?: (release: InputKeyRelease) => void
  /**
   * Called when a release attempt fails. Transient failures (RPC, a prover whose enclave key is not active yet) are
   * tried again at the next poll while the window is open; an InputKeyReleaseError other than `no-enclave-key` ends
   * the attempts.
   */
  onKeyReleaseError?: (error: unknown) => void
}

/**
 * The step waitForProof runs after each poll: once the request is assigned and the marketplace awaits its key (a
 * claimPrivate, not a matcher assignment or a plain claim), it wraps the data key to the claimant's enclave and
 * releases it; afterwards, and for a request that awaits no key, it does nothing.
 */
export function keyReleaseStep(options: KeyReleaseOptions): (state: WaitState) => Promise<void> {
  let done = false
  return async (state) => {
    if (done || state.task === undefined) return
    try {
      const wait = await getInputKeyWait(options.client, state.requestId)
      if (wait.kind !== 'awaited' || (state.chainTime !== undefined && state.chainTime > wait.keyDueBy)) {
        done = true
        return
      }
      const release = await releaseInputKeyToClaimant(options.client, {
        requestId: state.requestId,
        dataKey: options.dataKey,
      })
      done = true
      options.onKeyReleased?.(release)
    } catch (error) {
      if (isInputKeyReleaseError(error) && error.reason !== 'no-enclave-key') done = true
      options.onKeyReleaseError?.(error)
    }
  }
}
