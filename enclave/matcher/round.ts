import { performance } from 'node:perf_hooks'
import type { Address } from 'viem'
import { type ChainView, dropRequest, type HeadBlock, type MatcherRequest, proverKeyId } from './chain.js'
import {
  type Eligibility,
  goneProvers,
  holdBatch,
  matchBatch,
  privateInputsNeedEnclaveKey,
  pruneExpired,
} from './engine.js'
import type { FastLane } from './fast-lane.js'
import type { GoneProver } from './gone-provers.js'
import { loadsInputs, type MatcherInputsStore } from './inputs.js'
import type { Metrics } from './metrics.js'
import type { Preparer } from './rewrap.js'
import type { Submitter } from './submitter.js'

/*
 * One matching round at a new head: the fast lane settles first (offers past their window lapse back into the book),
 * expired requests and the inputs of requests no longer open are forgotten, gone provers noted, the engine matches one
 * batch over the book, the fast lane takes the signed orders it may offer off chain (fast-lane.ts), and the rest is
 * held and handed to the submitter, which prepares, signs and sends it. The time the round decides at is kept: enclave keys count as active against it, here and when /requests/<id>
 * explains a wait, so both judge a prover's key alike.
 */

/** Whether the prover holds an enclave key in the market that outlives `now` by `minTimeToExpiry`. */
export function hasActiveKey(
  proverKeys: ChainView['proverKeys'],
  params: { prover: Address; marketId: bigint; now: number; minTimeToExpiry: number },
): boolean {
  const found = proverKeys.get(proverKeyId(params.marketId, params.prover))
  return found !== undefined && found.expiresAt > params.now + params.minTimeToExpiry
}

/** Inputs to load: only once they loaded and checked. Private ones: only to provers with an active enclave key. */
export function eligibility(
  ready: (requestId: bigint) => boolean,
  hasKey: (prover: Address, marketId: bigint) => boolean,
): Eligibility<MatcherRequest> {
  const needsEnclaveKey = privateInputsNeedEnclaveKey<MatcherRequest>(hasKey)
  return (request, prover, marketId) =>
    !loadsInputs(request) || (ready(request.requestId) && needsEnclaveKey(request, prover, marketId))
}

/** Takes a request out of the view for good, its inputs too. */
export function forgetRequest(view: ChainView, inputs: Pick<MatcherInputsStore, 'forget'>, requestId: bigint): void {
  dropRequest(view, requestId)
  inputs.forget(requestId)
}

export type RoundPorts = {
  /** The indexer's current view (replaced on a rebuild). */
  view: () => ChainView
  inputs: Pick<MatcherInputsStore, 'get' | 'ids' | 'forget'>
  noteGone: (gone: GoneProver[]) => void
  prepare: Preparer
  submitter: Pick<Submitter, 'submit'>
  maxBatch: number
  minTimeToExpiry: number
  metrics: Pick<Metrics, 'roundMs'>
  /** Whether a request may be matched at `now` beyond the engine's rules (a signed order backing off). */
  matchable?: (request: MatcherRequest, now: number) => boolean
  /** The fast lane; without it every signed order goes to assignSigned. */
  fast?: Pick<FastLane, 'settle' | 'split' | 'offer' | 'excludes'> | undefined
}

export type Round = {
  /** Chain time of the last round (0 before the first). */
  readonly matchTime: number
  /** Whether the prover's enclave key in the market is active at the last round's time. */
  hasActiveKey: (prover: Address, marketId: bigint) => boolean
  /** Matches and sends at most one batch at `head`. */
  run: (head: HeadBlock) => Promise<void>
}

export function createRound(ports: RoundPorts): Round {
  const { inputs, minTimeToExpiry } = ports
  let matchTime = 0
  const hasKey = (prover: Address, marketId: bigint) =>
    hasActiveKey(ports.view().proverKeys, { prover, marketId, now: matchTime, minTimeToExpiry })
  const inputsEligible = eligibility((id) => inputs.get(id)?.state === 'ready', hasKey)
  const matchable = ports.matchable
  const fast = ports.fast
  const eligible: Eligibility<MatcherRequest> = (request, prover, marketId) =>
    (matchable === undefined || matchable(request, matchTime)) &&
    // A prover that let its fast assignment of this order lapse is never given it again.
    (fast === undefined || !fast.excludes(request.requestId, prover)) &&
    inputsEligible(request, prover, marketId)

  return {
    get matchTime() {
      return matchTime
    },
    hasActiveKey: hasKey,
    async run(head) {
      const view = ports.view()
      const now = Number(head.timestamp)
      const started = performance.now()
      await fast?.settle(now)
      for (const request of pruneExpired(view.book, now)) forgetRequest(view, inputs, request.requestId)
      for (const id of inputs.ids()) if (!view.open.has(id)) inputs.forget(id)
      matchTime = now
      ports.noteGone(goneProvers(view.book, now))
      const batch = matchBatch(view.book, { now, maxItems: ports.maxBatch, minTimeToExpiry, eligible })
      for (const request of batch.expired) forgetRequest(view, inputs, request.requestId)
      const lanes = fast?.split(batch.items, now) ?? { fast: [], rest: batch.items }
      const held = holdBatch(view.book, lanes.rest)
      if (lanes.fast.length > 0) await fast?.offer(lanes.fast, now)
      const prepare = async () => {
        const prepared = await ports.prepare(held, head.number)
        ports.metrics.roundMs.observe(performance.now() - started)
        return prepared
      }
      await ports.submitter.submit(held, prepare, { block: head.number, now })
    },
  }
}
