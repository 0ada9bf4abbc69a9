import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fastAssignmentTypedData } from '../../ts/fast-assignments.js'
import { iSignedFulfilmentsAbi } from '../../ts/generated.js'
import { startHttpService } from '../../ts/service/http.js'
import { type PollLoop, startPollLoop } from '../../ts/service/poll-loop.js'
import type { Matcher, MatcherOptions } from './api.js'
import { batchPorts } from './batches.js'
import { connectMatcher, matcherIndexer } from './clients.js'
import type { MatcherConfig } from './config.js'
import { createFastLane } from './fast-lane.js'
import { createFastOffers } from './fast-offers.js'
import { fastAssignmentsRoute } from './fast-route.js'
import { createFollower, latestHead } from './follow.js'
import { createGoneProvers } from './gone-provers.js'
import { matcherHealth, matcherStatus } from './health.js'
import { checkEnvelope, requestContext, rewrapPort } from './inputs.js'
import { createMatcherKey } from './key-lifecycle.js'
import { attest } from './keys.js'
import { createMetrics, setGauges } from './metrics.js'
import { orderChainView } from './order-chain.js'
import { createJournal } from './order-journal.js'
import { orderRoutes } from './order-route.js'
import { createOrderStore } from './order-store.js'
import { createOrderStream, type OrderStream } from './order-stream.js'
import { requestRoute } from './request-route.js'
import { createPreparer } from './rewrap.js'
import { createRound } from './round.js'
import { createStop } from './shutdown.js'
import { sendSignedBatch, signedBatchPorts } from './signed-batches.js'
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
  // Bound below: a signed order whose inputs fail is dropped from the order stream too.
  let orders: OrderStream | undefined
  const onSkipped = (requestId: bigint, reason: string) => orders?.inputsRejected(requestId, reason)
  const skips = { view, rejected, metrics, onSkipped }
  // Rebuilt from each request's own logged fields: an envelope opens only for the request it was encrypted for.
  const chain = { chainId: config.chainId, marketplace: deployment.contracts.proofMarketplace }
  const context = requestContext.bind(undefined, chain)
  const inputs = createSkippingInputsStore({ ...skips, privateKey: key.privateKey, context, bounds: config, log })
  let stopping = false
  let health: () => ReturnType<typeof matcherHealth> = () => ({ ok: false })
  const journal = createJournal(config.ordersFile ?? join(dirname(config.keyFile), 'orders.jsonl'))
  const store = createOrderStore()
  const marketplace = deployment.contracts.proofMarketplace
  const fromBlock = config.fromBlock ?? deployment.deployBlock
  // The synced head's block: the fast lane's balance reads see what the indexed events saw.
  const atHead = () => {
    const block = view().block
    return block === undefined ? undefined : { blockNumber: block.number }
  }
  const fastLane = createFastLane({
    rule: { enabled: config.fastLane, margin: config.fastLaneMargin, minTimeToExpiry },
    offers: createFastOffers(),
    store,
    orders: () => orderStream,
    journal,
    view,
    sign: (assignment) =>
      clients.signer.wallet.signTypedData({
        account: clients.signer.wallet.account,
        ...fastAssignmentTypedData(deployment, assignment),
      }),
    balance: (account, token) => orderChainView(clients.client, deployment, atHead()).balance(account, token),
    fulfilledOnChain: async (requestId) =>
      (
        await clients.client.getContractEvents({
          address: marketplace,
          abi: iSignedFulfilmentsAbi,
          eventName: 'SignedRequestFulfilled',
          args: { requestId },
          fromBlock,
        })
      ).length > 0,
    metrics,
    log,
  })
  const orderStream = createOrderStream({
    deployment,
    journal,
    store,
    view,
    chain: () => {
      const block = view().block
      if (block === undefined || stopping || !health().ok) return undefined
      return { head: block, reader: orderChainView(clients.client, deployment) }
    },
    inputs,
    checkEnvelope: (envelope, { requester, marketId, publicInputsDigest, inputsDigest }) =>
      checkEnvelope(envelope, key.privateKey, { ...chain, requester, marketId, publicInputsDigest }, inputsDigest),
    minTimeToExpiry,
    metrics,
    log,
    fast: fastLane.hooks,
  })
  orders = orderStream
  const register = () => attest(clients.submitter, key, clients.enclave)
  const matcherKey = createMatcherKey({ register, minTimeToExpiry, metrics, log })
  const follower = createFollower({
    indexer,
    latestHead: latestHead(clients.client),
    onNotes: (() => {
      const handle = createNotesHandler({
        self: key.address,
        view,
        inputs,
        onRevoked: matcherKey.markRevoked,
        metrics,
        log,
      })
      return (notes, live) => {
        handle(notes, live)
        // The fast lane first: it charges a requester for an offered order before the stream drops it.
        fastLane.onNotes(notes)
        orderStream.onNotes(notes)
      }
    })(),
    onRebuilt: () => {
      loadOpenInputs(view(), inputs)
      orderStream.onRebuilt()
      fastLane.onRebuilt()
    },
    metrics,
  })
  const submitter = createSubmitter({
    ...batchPorts(clients.submitter, clients.signer),
    book: () => view().book,
    onRefused: matcherKey.markRefused,
    sendSigned: (prepared, at) => sendSignedBatch(prepared, at, signedBatchPorts(clients.submitter, clients.signer)),
    orders: orderStream,
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
  const round = createRound({
    view,
    inputs,
    noteGone,
    prepare,
    submitter,
    maxBatch,
    minTimeToExpiry,
    metrics,
    matchable: orderStream.matchable,
    fast: fastLane,
  })
  const updateGauges = (now: number) => setGauges(metrics, view().book, matcherKey.registration, now)
  const tick = createTick({ follower, updateGauges, submitter, key: matcherKey, round })

  const sources = () => ({ key: matcherKey, follower, view: view() })
  health = () => matcherHealth({ ...sources(), stopping })
  const waitReason = (requestId: bigint) =>
    waitReasonOf(requestId, {
      ...sources(),
      rejected,
      inputs,
      round,
      minTimeToExpiry,
      benchedUntil: orderStream.benchedUntil,
      fastOffer: fastLane.hooks.describe,
    })
  const server = await startHttpService({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    health,
    routes: [
      requestRoute(waitReason, () => view().block?.number),
      fastAssignmentsRoute({ offersOf: fastLane.offersOf, openOffersOf: fastLane.openOffersOf, log }),
      ...orderRoutes({
        accept: orderStream.accept,
        status: async (requestId) => {
          const known = orderStream.status(requestId)
          if (known !== undefined) return known
          const block = view().block
          if (block === undefined) return undefined
          const used = await orderChainView(clients.client, deployment, { blockNumber: block.number }).requestStatus(
            requestId,
          )
          return used === 0 ? undefined : { requestId: requestId.toString(), state: 'used' }
        },
        log,
      }),
    ],
    logger: log,
  })
  let loop: PollLoop
  try {
    await startUp(clients, config, { attest: matcherKey.start, initialSync: follower.initialSync }, log)
    loadOpenInputs(view(), inputs)
    await orderStream.start()
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
