import type { Logger } from 'pino'
import { decodeCairnError } from '../../ts/errors.js'
import {
  type BackoffPolicy,
  createAttestedKey,
  type KeyState,
  type RenewalReason,
  renewalDue,
  validFor,
} from '../../ts/service/attested-key.js'
import type { KeyRegistration } from '../../ts/service/key-registration.js'
import { MatcherOperatorError } from './keys.js'
import type { Metrics } from './metrics.js'

/*
 * The matcher key's life on top of the kit's attested key (ts/service/attested-key.ts: renewed by the chain's clock
 * two thirds into its validity, at once when a batch was refused NotMatcher, with a doubling backoff after a failed
 * attempt), plus what only the matcher has: a revocation seen on chain, which no renewal undoes, and its metrics and
 * logs. While a renewal is wanted (due, or backing off after a failed one) the matcher sends no batch.
 */

const REASONS: Record<RenewalReason, string> = { initial: 'start', renewal: 'renewal', refused: 'refused as matcher' }

/** Whether the key is to be registered again at chain time `now`, backoff aside. */
export function renewalWanted(state: Readonly<KeyState>, now: number): boolean {
  return state.registration !== undefined && renewalDue({ ...state, retryAt: 0 }, now, 0) !== undefined
}

/** Whether batches may be signed at chain time `now`: not revoked, and the key outlives the time a batch takes. */
export function canSign(
  key: { registration: KeyRegistration | undefined; revoked: boolean },
  now: number,
  minTimeToExpiry: number,
): boolean {
  return !key.revoked && validFor(key.registration, now, minTimeToExpiry)
}

export type MatcherKey = {
  readonly registration: KeyRegistration | undefined
  readonly state: Readonly<KeyState>
  readonly revoked: boolean
  /** Start-up: registers the key now; throws what refused it (the caller retries). */
  start: () => Promise<void>
  renewalWanted: (now: number) => boolean
  /** Registers the key again if due and not backing off; a failure is counted and logged, never thrown. */
  renew: (now: number) => Promise<void>
  canSign: (now: number) => boolean
  /** A batch was refused NotMatcher: register again at the next chance. */
  markRefused: () => void
  /** The registry revoked this key: it never signs again. */
  markRevoked: () => void
}

export function createMatcherKey(params: {
  register: () => Promise<KeyRegistration>
  minTimeToExpiry: number
  metrics: Pick<Metrics, 'attestations' | 'keyExpiresAt' | 'errors'>
  log: Logger
  /** Wall clock in ms, for the backoff; tests pass their own. */
  now?: () => number
  backoff?: BackoffPolicy
}): MatcherKey {
  const { metrics, log } = params
  const attested = createAttestedKey({
    register: params.register,
    ...(params.now === undefined ? {} : { now: params.now }),
    ...(params.backoff === undefined ? {} : { backoff: params.backoff }),
  })
  let revoked = false

  function registered(reason: RenewalReason, registration: KeyRegistration): void {
    metrics.attestations.inc()
    metrics.keyExpiresAt.set(registration.expiresAt)
    const fields = { expiresAt: registration.expiresAt, renewAt: registration.renewAt }
    log.info(reason === 'initial' ? fields : { reason: REASONS[reason], ...fields }, 'matcher key attested')
  }

  const key: MatcherKey = {
    get registration() {
      return attested.registration
    },
    state: attested.state,
    get revoked() {
      return revoked
    },
    async start() {
      const step = await attested.ensure(undefined, { force: true })
      if (step.kind === 'failed') throw step.error
      if (step.kind === 'registered') registered(step.reason, step.registration)
    },
    renewalWanted: (now) => renewalWanted(attested.state, now),
    async renew(now) {
      const step = await attested.ensure(now)
      if (step.kind === 'registered') registered(step.reason, step.registration)
      if (step.kind !== 'failed') return
      const reason = REASONS[step.reason]
      metrics.errors.inc({ stage: 'attest' })
      // An operator not admitted: retrying goes on (governance may admit it), but the log says it is refused.
      if (step.error instanceof MatcherOperatorError) {
        log.error({ reason, err: step.error.message }, 'attestation refused')
        return
      }
      log.warn({ err: decodeCairnError(step.error) ?? step.error, reason }, 'attestation failed; retrying')
    },
    canSign: (now) => canSign(key, now, params.minTimeToExpiry),
    markRefused: attested.markRefused,
    markRevoked() {
      revoked = true
      log.error('this matcher key was revoked: it cannot sign batches again; start with a new key file')
    },
  }
  return key
}
