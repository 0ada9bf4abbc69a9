/**
 * Fallback claims (claimFallback): each round claims the candidates due (a private request with claimPrivate, only in
 * a market where this prover holds an active attested enclave key, for the requester to wrap its data key to), each only once its request is still Open on
 * chain and its inputs loaded within this runner's bounds and hash to what the request commits to. Inputs load in
 * the background (a slow URI never holds up the poll loop): a candidate is claimed in the first round after they are
 * ready. Nothing is claimed while the breaker is tripped, nor in a market where this prover has no room.
 */
import type { Logger } from 'pino'
import { bytesToHex } from 'viem'
import { claim } from '../../ts/assignment.js'
import type { CairnClient } from '../../ts/client.js'
import { decodeCairnError } from '../../ts/errors.js'
import {
  abandonUnkeyedClaim,
  activeProverEnclave,
  claimPrivateRequest,
  inputsDigestOf,
  KEY_RELEASE_WINDOW,
} from '../../ts/private-claims.js'
import type { LoadedInputs } from '../../ts/request-inputs.js'
import { hasInputs } from '../../ts/request-inputs.js'
import type { RegistryReader } from '../../ts/tee.js'
import { inlineInputs, type RequestCreation, type RequestStatus } from '../../ts/types.js'
import type { Candidates } from './candidates.js'
import type { MarketRuntime } from './markets.js'
import type { Metrics } from './metrics.js'
import { isAvailable, requestStatusOf } from './onchain.js'
import type { TrackedTask } from './scheduler.js'
import type { TaskOutcome, TxLane } from './settle.js'
import { type Assigned, keyDueBy } from './task-book.js'
import type { CreatedLog } from './tasks.js'

export type Claimability = 'now' | 'later' | 'never'

/** Whether a candidate may be claimed at chain time `now`; `tracked` when this runner already works on it. */
export function claimability(
  created: CreatedLog,
  market: { config: { price: bigint; provingTime: number }; fallbackDelay: number },
  now: number,
  tracked: boolean,
): Claimability {
  const { request } = created
  // A private claim's task deadline holds the requester's key release window too: it must fit before the
  // request's latest deadline (matchingExpiry + provingTime), so it must come that much before the matching expiry.
  const latest = request.matchingExpiry - (hasInputs(created.privateInputs) ? KEY_RELEASE_WINDOW : 0)
  if (tracked || now > latest) return 'never'
  // The registry assigns only within the request's max reward and proving time.
  if (market.config.price > request.maxReward || market.config.provingTime > request.provingTime) return 'never'
  return now >= request.createdAt + market.fallbackDelay ? 'now' : 'later'
}

/**
 * What a failed claim means: too early (our clock ran a little ahead of the chain's: next round), transient (no
 * revert: a node or network error), or the revert that makes the request unclaimable for this prover.
 */
export type ClaimFailure = { kind: 'early' } | { kind: 'transient' } | { kind: 'unclaimable'; reason: string }

export function claimFailure(error: unknown): ClaimFailure {
  const name = decodeCairnError(error)?.name
  if (name === 'FallbackNotOpen') return { kind: 'early' }
  if (name === undefined) return { kind: 'transient' }
  return { kind: 'unclaimable', reason: name }
}

/** The chain as claims need it. */
export type ClaimsChain = {
  status(requestId: bigint): Promise<RequestStatus>
  /** Whether this prover may take a task in the market now (listed and active, room in its capacity). */
  available(marketId: bigint): Promise<boolean>
  /** Whether this prover holds an active attested enclave key in the market (the requester wraps its key to it). */
  enclaveActive(marketId: bigint): Promise<boolean>
  /**
   * Sends the claim (in the runner's transaction lane), claimPrivate for a private request, and returns the
   * assignment its receipt logs.
   */
  claim(created: CreatedLog): Promise<Assigned>
  /** Abandons a private claim whose requester released no key within the window (abandonUnkeyedClaim). */
  abandon(task: TrackedTask): Promise<void>
}

/** The claims' chain over RPC, claiming as the client's account in the runner's transaction lane. */
export function claimsChainOf(client: CairnClient, registry: RegistryReader, lane: TxLane): ClaimsChain {
  const me = client.wallet.account.address
  return {
    status: (requestId) => requestStatusOf(client, requestId),
    available: (marketId) => isAvailable(client, me, marketId),
    enclaveActive: async (marketId) => (await activeProverEnclave(registry, marketId, me)) !== undefined,
    claim: (created) => lane(() => claimOf(client, created)),
    abandon: (task) =>
      lane(async () => {
        await abandonUnkeyedClaim(client, { requestId: task.requestId, request: task.request, task: task.task })
      }),
  }
}

async function claimOf(client: CairnClient, created: CreatedLog): Promise<Assigned> {
  const { requestId, request } = created
  if (!hasInputs(created.privateInputs)) return claim(client, { requestId, request })
  const claimed = await claimPrivateRequest(client, {
    requestId,
    request,
    publicInputsDigest: inputsDigestOf(created.publicInputs),
    privateInputsDigest: inputsDigestOf(created.privateInputs),
  })
  return { requestId, task: claimed.task, byMatcher: false }
}

type ClaimMarket = Pick<MarketRuntime, 'config' | 'fallbackDelay'>

export type ClaimsParams = {
  enabled: boolean
  candidates: Candidates
  /** Every market a candidate can be in (candidates are kept only for configured markets). */
  markets: ReadonlyMap<bigint, ClaimMarket>
  chain: ClaimsChain
  clock: { now(): number }
  /** The breaker is tripped: no new work. */
  tripped(): boolean
  /** Whether this runner already works on the request. */
  tracked(requestId: bigint): boolean
  /** Starts work on a claimed task. */
  track(claimed: Assigned, creation: RequestCreation): void
  /** Private claims still waiting for their requester's key, and how a task ends. */
  awaitingKey(): TrackedTask[]
  finish(task: TrackedTask, outcome: TaskOutcome): void
  metrics: Pick<Metrics, 'claims' | 'retries'>
  logger: Logger
}

export type Claims = {
  /** One round: claims every candidate due whose inputs are ready. */
  claimDue(): Promise<void>
  /**
   * Abandons every private claim whose key release window has closed without a key (chain time): the requester is
   * refunded, this prover released without slash.
   */
  abandonUnkeyed(): Promise<void>
}

export function createClaims(params: ClaimsParams): Claims {
  const { candidates, chain, metrics, logger } = params

  async function claimDue(): Promise<void> {
    if (!params.enabled || params.tripped()) return
    const full = new Set<bigint>()
    for (const [requestId, created] of candidates.all()) {
      const marketId = BigInt(created.marketId)
      if (full.has(marketId)) continue
      const market = params.markets.get(marketId) as ClaimMarket
      const verdict = claimability(created, market, params.clock.now(), params.tracked(requestId))
      if (verdict === 'never') candidates.drop(requestId)
      if (verdict !== 'now') continue
      if ((await chain.status(requestId)) !== 'Open') {
        candidates.drop(requestId)
        continue
      }
      // A read started in an earlier round may have rejected the inputs for good (dropping the candidate) while this
      // round waited: loading them again would read them twice and report the skip twice.
      if (candidates.get(requestId) !== created) continue
      candidates.load(created)
      const inputs = candidates.inputs(requestId)
      if (inputs?.state !== 'ready') continue
      if (!(await chain.available(marketId))) {
        full.add(marketId)
        continue
      }
      if (hasInputs(created.privateInputs) && !(await chain.enclaveActive(marketId))) {
        full.add(marketId)
        continue
      }
      await claimOne(created, inputs.value)
    }
  }

  async function claimOne(created: CreatedLog, inputs: LoadedInputs): Promise<void> {
    const requestId = created.requestId
    let claimed: Assigned
    try {
      claimed = await chain.claim(created)
    } catch (error) {
      const failure = claimFailure(error)
      if (failure.kind === 'early') return
      if (failure.kind === 'transient') {
        metrics.retries.inc({ stage: 'claim' })
        logger.warn({ requestId: requestId.toString(), err: error }, 'claim failed; retrying')
        return
      }
      candidates.drop(requestId)
      logger.info({ requestId: requestId.toString(), reason: failure.reason }, 'not claimable')
      return
    }
    metrics.claims.inc()
    logger.info({ requestId: requestId.toString() }, 'claimed through the fallback')
    // Proven from the bytes checked before the claim: a server that changes them afterwards changes nothing.
    params.track(claimed, { ...created, publicInputs: inlineInputs(bytesToHex(inputs.publicInputs)) })
  }

  async function abandonUnkeyed(): Promise<void> {
    const now = params.clock.now()
    for (const task of params.awaitingKey()) {
      if (now <= keyDueBy(task)) continue
      const requestId = task.requestId.toString()
      try {
        await chain.abandon(task)
      } catch (error) {
        const name = decodeCairnError(error)?.name
        // Released at the window's end (the scan brings the key next), or settled meanwhile.
        if (name === 'InputKeyAlreadyReleased') continue
        if (name === 'RequestNotAssigned' || name === 'NoKeyAwaited') {
          params.finish(task, { kind: 'already-settled', status: await chain.status(task.requestId) })
          continue
        }
        // KeyReleaseWindowOpen (our clock ahead of the chain's) or a node error: next round.
        metrics.retries.inc({ stage: 'abandon' })
        logger.warn({ requestId, err: error }, 'abandoning an unkeyed claim failed; retrying')
        continue
      }
      logger.warn({ requestId }, 'the requester released no input key in time: claim abandoned, nobody slashed')
      params.finish(task, { kind: 'abandoned' })
    }
  }

  return { claimDue, abandonUnkeyed }
}
