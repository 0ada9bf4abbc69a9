import { setTimeout as sleep } from 'node:timers/promises'
import { startHttpService } from '../../ts/service/http.js'
import { type PollLoop, startPollLoop } from '../../ts/service/poll-loop.js'
import type { Matcher, MatcherOptions } from './api.js'
import { batchPorts } from './batches.js'
import { connectMatcher, matcherIndexer } from './clients.js'
import type { MatcherConfig } from './config.js'
import { createFollower, latestHead } from './follow.js'
import { createGoneProvers } from './gone-provers.js'
import { matcherHealth, matcherStatus } from './health.js'
import { requestContext, rewrapPort } from './inputs.js'
import { createMatcherKey } from './key-lifecycle.js'
import { attest } from './keys.js'
import { createMetrics, setGauges } from './metrics.js'
import { requestRoute } from './request-route.js'
import { createPreparer } from './rewrap.js'
import { createRound } from './round.js'
import { createStop } from './shutdown.js'
import { createSkippingInputsStore, skipRequest } from './skips.js'
import { logReady, startUp } from './startup.js'
import { createSubmitter } from './submitter.js'
import { createNotesHandler, loadOpenInputs } from './sync-notes.js'
import { createTick } from './tick.js'
import { createRejectedRequests, waitReasonOf } from './wait-reasons.js'

/*
 * The matcher service, wired from its components (one file each, see README.md). Start: load (or create) the enclave
 * key, attest it as a Matcher in the TeeRegistry, rebuild the book from the chain, then poll the head (tick.ts). Each
 * new block: index it, settle the batch in flight (if any), and when none is in flight match one batch, re-wrap
 * private inputs to the chosen provers' enclave keys, sign it and send it: at most one assign transaction per block,
 * and never a second one while the first is pending. The key is re-attested two thirds into its validity. Everything
 * that decides an assignment comes from the chain, so a restart neither loses open requests nor assigns one twice.
 */

export type { Matcher, MatcherOptions } from './api.js'
export type { MatcherStatus } from './health.js'

export async function startMatcher(config: MatcherConfig, options: MatcherOptions): Promise<Matcher> {
  const clients = await connectMatcher(config, options)
  const { key, deployment } = clients
  const { minTimeToExpiry } = config
  const metrics = createMetrics()
  const log = options.logger.child({ matcher: key.address })
  if (key.created) log.info({ keyFile: config.keyFile }, 'created a new matcher key')

  const indexer = matcherIndexer(config, clients)
  const view = () => indexer.view
  const rejected = createRejectedRequests()
  const skips = { view, rejected, metrics }
  // Rebuilt from each request's own logged fields: an envelope opens only for the request it was encrypted for.
  const chain = { chainId: config.chainId, marketplace: deployment.contracts.proofMarketplace }
  const context = requestContext.bind(undefined, chain)
  const inputs = createSkippingInputsStore({ ...skips, privateKey: key.privateKey, context, bounds: config, log })
  const register = () => attest(clients.submitter, key, clients.enclave)
  const matcherKey = createMatcherKey({ register, minTimeToExpiry, metrics, log })
  const follower = createFollower({
    indexer,
    latestHead: latestHead(clients.client),
    onNotes: createNotesHandler({ self: key.address, view, inputs, onRevoked: matcherKey.markRevoked, metrics, log }),
    onRebuilt: () => loadOpenInputs(view(), inputs),
    metrics,
  })
  const submitter = createSubmitter({
    ...batchPorts(clients.submitter, clients.signer),
    book: () => view().book,
    onRefused: matcherKey.markRefused,
    signatureValidity: config.signatureValidity,
    metrics,
    log,
  })
  const prepare = createPreparer({
    view,
    inputs,
    rewrap: rewrapPort(clients.reader, key.privateKey, context),
    skip: (requestId, reason) => {
      inputs.forget(requestId)
      skipRequest(skips, requestId, reason)
    },
    log,
  })
  const noteGone = createGoneProvers({ metrics, log })
  const { maxBatch } = config
  const round = createRound({ view, inputs, noteGone, prepare, submitter, maxBatch, minTimeToExpiry, metrics })
  const updateGauges = (now: number) => setGauges(metrics, view().book, matcherKey.registration, now)
  const tick = createTick({ follower, updateGauges, submitter, key: matcherKey, round })

  let stopping = false
  const sources = () => ({ key: matcherKey, follower, view: view() })
  const health = () => matcherHealth({ ...sources(), stopping })
  const waitReason = (requestId: bigint) =>
    waitReasonOf(requestId, { ...sources(), rejected, inputs, round, minTimeToExpiry })
  const server = await startHttpService({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    health,
    routes: [requestRoute(waitReason, () => view().block?.number)],
    logger: log,
  })
  let loop: PollLoop
  try {
    await startUp(clients, config, { attest: matcherKey.start, initialSync: follower.initialSync }, log)
    loadOpenInputs(view(), inputs)
    const countError = (stage: string) => metrics.errors.inc({ stage })
    loop = startPollLoop({ rounds: [tick], intervalMs: config.pollInterval, countError, onError: follower.failed, log })
  } catch (error) {
    await server.close()
    throw error
  }
  logReady(log, server.url, clients, view())

  const stop = createStop({
    stopLoop: () => {
      stopping = true
      return loop.stop()
    },
    submitter,
    headTime: async () => Number((await latestHead(clients.client)()).timestamp),
    pause: () => sleep(config.pollInterval),
    close: async () => {
      inputs.clear()
      await server.close()
    },
    log,
  })
  return {
    address: key.address,
    eciesPublicKey: key.eciesPublicKey,
    submitter: clients.submitter.wallet.account.address,
    url: server.url,
    health,
    status: () => matcherStatus(sources(), submitter.pending?.hash),
    stop,
  }
}
