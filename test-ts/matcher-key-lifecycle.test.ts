import { describe, expect, it } from 'vitest'
import { canSign, createMatcherKey, renewalWanted } from '../enclave/matcher/key-lifecycle.js'
import { MatcherOperatorError } from '../enclave/matcher/keys.js'
import type { KeyRegistration } from '../ts/service/key-registration.js'
import { captureLog, createMetrics, metricValue } from './matcher-fakes.js'

// The matcher key's life (key-lifecycle.ts over the kit's attested key) with a registry double and a wall clock of
// the test's own: no chain.

const registration = (registeredAt: number, expiresAt: number): KeyRegistration => ({
  registeredAt,
  expiresAt,
  renewAt: registeredAt + Math.floor(((expiresAt - registeredAt) * 2) / 3),
})

function matcherKey(register: () => Promise<KeyRegistration>) {
  let wall = 0
  const metrics = createMetrics()
  const { log, lines } = captureLog()
  const key = createMatcherKey({ register, minTimeToExpiry: 5, metrics, log, now: () => wall })
  return {
    key,
    metrics,
    lines,
    setWall: (ms: number) => {
      wall = ms
    },
  }
}

describe('the matcher key', () => {
  it('decides from its state: a renewal is wanted from renewAt or once refused, backoff aside; signs until the margin', () => {
    const state = { registration: registration(1_000, 1_300), refused: false, failures: 0, retryAt: 0 }
    expect(renewalWanted(state, 1_199)).toBe(false)
    expect(renewalWanted(state, 1_200)).toBe(true)
    expect(renewalWanted({ ...state, refused: true }, 1_001)).toBe(true)
    // Backing off after a failure: still wanted, so the round waits for it.
    expect(renewalWanted({ ...state, failures: 1, retryAt: 5_000 }, 1_200)).toBe(true)
    expect(renewalWanted({ ...state, registration: undefined }, 1_200)).toBe(false)

    const key = { registration: state.registration, revoked: false }
    expect(canSign(key, 1_294, 5)).toBe(true)
    expect(canSign(key, 1_295, 5)).toBe(false)
    expect(canSign({ ...key, revoked: true }, 1_000, 5)).toBe(false)
    expect(canSign({ ...key, registration: undefined }, 1_000, 5)).toBe(false)
  })

  it('attests at start (counted, logged without a reason) and throws what refused it for the caller to retry', async () => {
    const refused = matcherKey(async () => {
      throw new MatcherOperatorError('operator 0x… is not admitted for the Matcher role')
    })
    await expect(refused.key.start()).rejects.toBeInstanceOf(MatcherOperatorError)
    expect(refused.key.registration).toBeUndefined()
    // Start-up's failures are the retry's to log and count, not the loop's.
    expect(await metricValue(refused.metrics, 'cairn_matcher_errors_total', { stage: 'attest' })).toBeUndefined()

    const started = matcherKey(async () => registration(1_000, 4_600))
    await started.key.start()
    expect(started.key.registration?.expiresAt).toBe(4_600)
    expect(await metricValue(started.metrics, 'cairn_matcher_attestations_total')).toBe(1)
    expect(await metricValue(started.metrics, 'cairn_matcher_key_expires_at_seconds')).toBe(4_600)
    const attested = started.lines.find((line) => line.msg === 'matcher key attested')
    expect(attested).toMatchObject({ expiresAt: 4_600, renewAt: 3_400 })
    expect(attested).not.toHaveProperty('reason')
  })

  it('renews when due, at once when refused as matcher, and backs off (doubling) after a failure', async () => {
    let at = 1_000
    let fail = false
    let calls = 0
    const { key, metrics, lines, setWall } = matcherKey(async () => {
      calls++
      if (fail) throw new Error('registry down')
      return registration(at, at + 3_600)
    })
    await key.start()
    await key.renew(1_100)
    expect(calls).toBe(1)

    at = 3_400
    await key.renew(3_400)
    expect(calls).toBe(2)
    expect(lines.at(-1)).toMatchObject({ msg: 'matcher key attested', reason: 'renewal', expiresAt: 7_000 })

    key.markRefused()
    expect(key.renewalWanted(3_401)).toBe(true)
    fail = true
    await key.renew(3_401)
    expect(calls).toBe(3)
    expect(lines.at(-1)).toMatchObject({ msg: 'attestation failed; retrying', reason: 'refused as matcher' })
    expect(await metricValue(metrics, 'cairn_matcher_errors_total', { stage: 'attest' })).toBe(1)
    // Backing off: no attempt, but the renewal is still wanted.
    setWall(1_999)
    await key.renew(3_402)
    expect(calls).toBe(3)
    expect(key.renewalWanted(3_402)).toBe(true)

    fail = false
    setWall(2_000)
    await key.renew(3_403)
    expect(calls).toBe(4)
    expect(key.renewalWanted(3_403)).toBe(false)
    expect(lines.at(-1)).toMatchObject({ msg: 'matcher key attested', reason: 'refused as matcher' })
    expect(await metricValue(metrics, 'cairn_matcher_attestations_total')).toBe(3)
  })

  it('logs an operator no longer admitted as refused, and a revoked key never signs again', async () => {
    let refuse = false
    const { key, lines, metrics } = matcherKey(async () => {
      if (refuse) throw new MatcherOperatorError('operator 0x… is not admitted for the Matcher role')
      return registration(1_000, 4_600)
    })
    await key.start()
    expect(key.canSign(1_000)).toBe(true)
    refuse = true
    key.markRefused()
    await key.renew(1_001)
    expect(lines.at(-1)).toMatchObject({ msg: 'attestation refused', reason: 'refused as matcher', level: 50 })
    expect(await metricValue(metrics, 'cairn_matcher_errors_total', { stage: 'attest' })).toBe(1)

    key.markRevoked()
    expect(key.revoked).toBe(true)
    expect(key.canSign(1_000)).toBe(false)
    expect(lines.at(-1)?.msg).toBe(
      'this matcher key was revoked: it cannot sign batches again; start with a new key file',
    )
  })
})
