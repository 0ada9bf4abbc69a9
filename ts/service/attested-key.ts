/**
 * The life of a service's attested key, the same for the matcher and the relayer (one per chain): registered at
 * start, registered again once its renewal time has come by the chain's clock or the chain refused it, and after a
 * failed attempt not tried again before a backoff (doubling, capped) has passed on the wall clock, so a registry that
 * is down or refusing is not hammered every poll. Deciding is pure (`renewalDue`); `createAttestedKey` acts on it.
 */
import type { KeyRegistration } from './key-registration.js'

/** Why a key is registered now. */
export type RenewalReason = 'initial' | 'renewal' | 'refused'

export type KeyState = {
  registration: KeyRegistration | undefined
  /** The chain refused the key (say, a batch reverted NotMatcher): register again at the next chance. */
  refused: boolean
  /** Failed attempts in a row. */
  failures: number
  /** Wall-clock ms before which no attempt is made. */
  retryAt: number
}

export type BackoffPolicy = { baseMs: number; maxMs: number }

/** Two seconds after the first failure, doubling per failure in a row, at most a minute. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 }

/** The wait after the `failures`-th failure in a row. */
export function backoffMs(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures))
}

/**
 * Whether the key is to be registered at chain time `chainNow` (seconds) and wall time `wallNow` (ms): the reason,
 * or undefined while the key is current or a backoff is running. `chainNow` may be unknown before the first head.
 */
export function renewalDue(state: KeyState, chainNow: number | undefined, wallNow: number): RenewalReason | undefined {
  if (wallNow < state.retryAt) return undefined
  if (state.registration === undefined) return 'initial'
  if (state.refused) return 'refused'
  if (chainNow !== undefined && chainNow >= state.registration.renewAt) return 'renewal'
  return undefined
}

/** Whether the key still signs for at least `marginSeconds` at chain time `chainNow`. */
export function validFor(registration: KeyRegistration | undefined, chainNow: number, marginSeconds: number): boolean {
  return registration !== undefined && chainNow + marginSeconds < registration.expiresAt
}

/** What one `ensure` did. */
export type KeyStep =
  | { kind: 'current' }
  | { kind: 'backing-off'; retryInMs: number }
  | { kind: 'registered'; reason: RenewalReason; registration: KeyRegistration }
  | { kind: 'failed'; reason: RenewalReason; error: unknown; retryInMs: number }

export type AttestedKey = {
  /** The latest registration, if any. */
  readonly registration: KeyRegistration | undefined
  readonly state: Readonly<KeyState>
  /** The chain refused the key: the next `ensure` registers it again (backoff permitting). */
  markRefused: () => void
  /**
   * Registers the key if due (see `renewalDue`); `force` registers it whatever the schedule (start-up). Never throws:
   * a failure is returned, and the next attempt waits for the backoff.
   */
  ensure: (chainNow: number | undefined, options?: { force?: boolean }) => Promise<KeyStep>
}

export function createAttestedKey(params: {
  register: () => Promise<KeyRegistration>
  /** Wall clock in ms; tests pass their own. */
  now?: () => number
  backoff?: BackoffPolicy
}): AttestedKey {
  const now = params.now ?? Date.now
  const state: KeyState = { registration: undefined, refused: false, failures: 0, retryAt: 0 }
  return {
    get registration() {
      return state.registration
    },
    state,
    markRefused() {
      state.refused = true
    },
    async ensure(chainNow, options = {}) {
      const wallNow = now()
      const due = options.force
        ? state.registration === undefined
          ? 'initial'
          : state.refused
            ? 'refused'
            : 'renewal'
        : renewalDue(state, chainNow, wallNow)
      if (due === undefined) {
        return wallNow < state.retryAt
          ? { kind: 'backing-off', retryInMs: state.retryAt - wallNow }
          : { kind: 'current' }
      }
      try {
        const registration = await params.register()
        state.registration = registration
        state.refused = false
        state.failures = 0
        state.retryAt = 0
        return { kind: 'registered', reason: due, registration }
      } catch (error) {
        state.failures += 1
        const retryInMs = backoffMs(state.failures, params.backoff)
        state.retryAt = now() + retryInMs
        return { kind: 'failed', reason: due, error, retryInMs }
      }
    },
  }
}
