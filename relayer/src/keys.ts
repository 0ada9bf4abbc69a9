import type { Logger } from 'pino'
import { BaseError } from 'viem'
import { type AttestedKey, createAttestedKey } from '../../ts/service/attested-key.js'
import type { KeyRegistration } from '../../ts/service/key-registration.js'
import type { ChainName } from './context.js'
import type { Metrics } from './metrics.js'
import { RelayerOperatorError } from './registration.js'
import type { RoundOutcome } from './round.js'

/*
 * The relayer's key on both chains' registries, one attested key per chain (the kit's lifecycle: registered at start,
 * again two thirds into its validity by that chain's clock, a failed attempt backing off, doubling up to a minute).
 */

const CHAINS = ['ethereum', 'marketplace'] as const satisfies readonly ChainName[]

export type RelayerKeys = {
  /** Registers the key on both chains, whatever their schedule; an operator not admitted stops it with what to fix. */
  registerAtStart: () => Promise<void>
  /** Registers the key again on each chain where it is due; throws a failed attempt (counted as the round's error). */
  round: () => Promise<RoundOutcome>
  registrations: () => Partial<Record<ChainName, KeyRegistration>>
}

export function createRelayerKeys(params: {
  /** Registers the key on a chain from the operator's account (registerRelayerKey). */
  register: (chain: ChainName) => Promise<KeyRegistration>
  /** A chain's latest block time (unix seconds): renewals go by each chain's own clock. */
  chainTime: (chain: ChainName) => Promise<number>
  metrics: Pick<Metrics, 'keyRegistrations'>
  log: Logger
  /** Wall clock in ms; tests pass their own. */
  now?: () => number
}): RelayerKeys {
  const now = params.now ?? Date.now
  const keyOf = (chain: ChainName) => createAttestedKey({ register: () => params.register(chain), now })
  const keys: Record<ChainName, AttestedKey> = { ethereum: keyOf('ethereum'), marketplace: keyOf('marketplace') }

  /** The chain's clock, read only where it decides: a registration to renew, and no backoff running. */
  async function chainNow(chain: ChainName): Promise<number | undefined> {
    const { registration, retryAt } = keys[chain].state
    if (registration === undefined || now() < retryAt) return undefined
    return params.chainTime(chain)
  }

  async function ensure(chain: ChainName, force: boolean): Promise<void> {
    const step = await keys[chain].ensure(force ? undefined : await chainNow(chain), { force })
    if (step.kind === 'failed') throw step.error
    if (step.kind !== 'registered') return
    params.metrics.keyRegistrations.inc({ chain })
    const { expiresAt, renewAt } = step.registration
    params.log.info({ chain, expiresAt, renewAt }, 'relayer key registered')
  }

  return {
    // Before the relayer serves anything (its health probe included).
    async registerAtStart() {
      try {
        for (const chain of CHAINS) await ensure(chain, true)
      } catch (error) {
        if (error instanceof RelayerOperatorError) throw error
        const message = error instanceof BaseError ? error.shortMessage : (error as Error).message
        throw new Error(`relayer key registration failed: ${message}`, { cause: error })
      }
    },
    async round() {
      for (const chain of CHAINS) await ensure(chain, false)
      return { status: 'idle', reason: 'key registered' }
    },
    registrations() {
      const registered: Partial<Record<ChainName, KeyRegistration>> = {}
      for (const chain of CHAINS) {
        const registration = keys[chain].registration
        if (registration !== undefined) registered[chain] = registration
      }
      return registered
    },
  }
}
