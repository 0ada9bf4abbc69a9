import type { Logger } from 'pino'
import type { Address, Hex } from 'viem'
import type { AttestationDeployment, Deployment } from '../../ts/deployment.js'
import type { Health } from '../../ts/service/http.js'
import type { AttestationProvider } from '../attestation/index.js'
import type { MatcherStatus } from './health.js'

/* What startMatcher (service.ts) takes and gives back. */

export type MatcherOptions = {
  logger: Logger
  /** Preloaded deployments (otherwise read from the config's paths or deployments/<chainId>*.json). */
  deployment?: Deployment
  attestation?: AttestationDeployment
  /** A quote source to use instead of the config's (its quotes are still checked against the configuration). */
  provider?: AttestationProvider
}

export type Matcher = {
  /** The enclave's signer: the attested Matcher-role key. */
  address: Address
  /** The enclave's 64-byte ECIES key: requesters wrap private-input data keys to it. */
  eciesPublicKey: Hex
  /** The account that sends assign transactions. */
  submitter: Address
  /** The HTTP server: GET /metrics, GET /healthz, GET /requests/<id> (why an open request is not assigned yet). */
  url: string
  health: () => Health
  status: () => MatcherStatus
  /** Stops polling, waits (boundedly) for the batch in flight, closes the HTTP server. Idempotent. */
  stop: () => Promise<void>
}
