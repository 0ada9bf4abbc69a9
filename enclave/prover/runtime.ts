/**
 * The runner's parts, wired: what one part needs of another is passed here, and nothing else is. The scan follows
 * the chain (scan.ts) and hands its logs to assignments.ts, which starts tasks down the pipeline (pipeline.ts: proven,
 * then settled) and makes fallback candidates that claims.ts claims; listings.ts, key-rotation.ts and
 * breaker-control.ts keep the listings, the enclave keys and the breaker; setup.ts is the start on chain. With a
 * matcher URL, fast-lane.ts takes the matcher's fast assignments of signed requests, and fast-open-lane.ts its offers of
 * on-chain requests still Open, into the same pipeline, each fulfilling them itself.
 */
import type { Logger } from 'pino'
import type { OpenOffer } from '../../ts/fast-assignments.js'
import { fetchFastOffers } from '../../ts/fast-assignments-fetch.js'
import { attestationOf } from '../quote-source/index.js'
import { assignmentsChainOf, createAssignments } from './assignments.js'
import type { Breaker } from './breaker.js'
import { createBreakerControl } from './breaker-control.js'
import { createCandidates } from './candidates.js'
import { claimsChainOf, createClaims } from './claims.js'
import { createChainClock } from './clock.js'
import type { MarketConfig, ProverRunnerConfig } from './config.js'
import { type Chain, proverEnclaveConfig } from './connect.js'
import { createFastLane, type FastLane, fastLaneChainOf } from './fast-lane.js'
import { createOpenLane, type OpenLane, openLaneChainOf } from './fast-open-lane.js'
import { createKeyRotation, keyRegistryOf } from './key-rotation.js'
import { type Keyring, openKeyring } from './keys.js'
import { createListings } from './listings.js'
import type { MarketRuntime } from './markets.js'
import type { Metrics } from './metrics.js'
import { ensureListing } from './onchain.js'
import { createPipeline, type FastSink } from './pipeline.js'
import { createStakeKeeper } from './restaked.js'
import { createScanner, scanChainOf } from './scan.js'
import type { TrackedTask } from './scheduler.js'
import { createTxLane } from './settle.js'
import { setUp } from './setup.js'
import type { TaskBook } from './task-book.js'

export type Runtime = {
  /** The start on chain (setup.ts). */
  setup(): Promise<void>
  /** One round: new logs up to the (confirmed) head, listings, keys, fallback claims. */
  poll(): Promise<void>
  /** One poll of the matcher's fast assignments (with --matcher-url): fast-lane.ts. */
  fastPoll?: () => Promise<void>
  /** Fast offers in hand, by request id. */
  fastOffers?: () => bigint[]
  reset(): Promise<{ wasTripped: boolean }>
  pauseListings(): Promise<void>
  /** Aborts proofs in progress, submits the proofs that are ready and waits for transactions in flight. */
  shutdown(): Promise<void>
  keyring: Keyring
  book: TaskBook
  breaker: Breaker
  /** The next block to scan. */
  cursor(): bigint
}

export type RuntimeParams = {
  config: ProverRunnerConfig
  chain: Chain
  metrics: Metrics
  logger: Logger
  breaker: Breaker
  /** The head's timestamp at start: the chain clock's first reading. */
  clockStart: bigint
}

export async function createRuntime(params: RuntimeParams): Promise<Runtime> {
  const { config, chain, metrics, logger, breaker } = params
  const { reader, client, tee } = chain
  const me = client.wallet.account.address
  const clock = createChainClock()
  clock.observe(params.clockStart)
  const lane = createTxLane()
  const onFailure = () => metrics.retries.inc({ stage: 'restaked-stake' })
  const stakeKeeper = chain.restaking
    ? createStakeKeeper({ client, ...chain.restaking, lane, logger, onFailure })
    : undefined
  const enclave = attestationOf(config, proverEnclaveConfig(config.chainId, tee.attestation.contracts.teeRegistry))
  const keyring = await openKeyring(config.keyFile, { chainId: config.chainId, operator: me })
  const markets = new Map<bigint, MarketRuntime>()
  const bounds = { maxBytes: config.maxInputBytes, timeoutMs: config.fetchTimeout, allowFileUris: config.allowFileUris }
  const marketplace = reader.deployment.contracts.proofMarketplace
  const job = { chainId: config.chainId, marketplace, operator: me, keyring, inputUris: bounds }
  const tripped = () => breaker.tripped()
  // What most parts take; each reads what it needs.
  const shared = { markets, clock, metrics, logger }

  const candidates = createCandidates({ ...shared, bounds })
  const onTracked = (task: TrackedTask) => candidates.drop(task.requestId)
  // The fast lane needs the scheduler and the scheduler hands it its proofs: bound once both exist.
  let fastLane: FastLane | undefined
  let openLane: OpenLane | undefined
  const fast: FastSink = {
    proof: (task, fulfilment) => (task.open ? openLane?.proof(task, fulfilment) : fastLane?.proof(task, fulfilment)),
    failed: (task, reason, error) =>
      task.open ? openLane?.failed(task, reason, error) : fastLane?.failed(task, reason, error),
    poke: () => fastLane?.poke(),
  }
  const { book, ...pipeline } = createPipeline({ ...shared, config, client, lane, job, onTracked, fast })
  const matcherUrl = config.matcherUrl
  const tasksCompute = () => [...book.all()].reduce((sum, task) => sum + task.task.compute, 0)
  // One matcher poll serves both lanes: the signed lane fetches, the open offers of the same reply go to the open lane.
  let openOffers: OpenOffer[] = []
  if (matcherUrl !== undefined) {
    fastLane = createFastLane({
      ...shared,
      me,
      deployment: reader.deployment,
      async fetchOffers() {
        const offers = await fetchFastOffers(matcherUrl, me)
        openOffers = offers.open
        return offers.assignments
      },
      chain: fastLaneChainOf(client, markets),
      lane,
      capacity: config.capacity,
      tasksCompute: () => tasksCompute() + (openLane?.heldCompute() ?? 0),
      tripped,
      prove: pipeline.prove,
      proving: pipeline.fastBusy,
      batchWindow: config.batchWindow,
      maxBatch: config.maxBatch,
    })
    const reads = assignmentsChainOf(reader, config.logRange)
    const headNumber = () => reader.public.getBlockNumber({ cacheTime: 0 })
    openLane = createOpenLane({
      ...shared,
      me,
      chain: openLaneChainOf(client, {
        creation: async (requestId) => reads.creation(requestId, await headNumber()),
        status: reads.status,
      }),
      lane,
      capacity: config.capacity,
      otherCompute: () => tasksCompute() + (fastLane?.heldCompute() ?? 0),
      tripped,
      prove: pipeline.prove,
    })
  }
  const fastPoll =
    fastLane === undefined || openLane === undefined
      ? undefined
      : async () => {
          await (fastLane as FastLane).poll()
          const offers = openOffers
          openOffers = []
          await (openLane as OpenLane).take(offers)
        }
  const ensure = (market: MarketConfig, leaving: boolean) =>
    lane(() => ensureListing(client, market, { leaving }, logger))
  const listings = createListings({ ...shared, ensure, tripped })
  const headNumber = () => reader.public.getBlockNumber({ cacheTime: 0 })
  const breakerControl = createBreakerControl({ ...shared, breaker, book, listings, headNumber })
  const keys = createKeyRotation({
    ...shared,
    ...keyRegistryOf(tee, lane, enclave),
    keyring,
    rotationFraction: config.rotationFraction,
    keyRetention: config.keyRetention,
    tasks: () => book.all(),
  })
  const assignments = createAssignments({
    ...shared,
    chain: assignmentsChainOf(reader, config.logRange),
    book,
    candidates,
    onSlashed: breakerControl.onSlashed,
  })
  const scanner = createScanner({
    ...shared,
    // RequestCreated logs are read for fallback claims only.
    chain: scanChainOf(reader, { prover: me, watched: () => (config.claimFallback ? [...markets.keys()] : []) }),
    fromBlock: config.fromBlock ?? reader.deployment.deployBlock,
    confirmations: config.confirmations,
    logRange: config.logRange,
    onLogs: assignments.onLogs,
    onReorg: assignments.onReorg,
  })
  const claims = createClaims({
    ...shared,
    enabled: config.claimFallback,
    chain: claimsChainOf(client, tee, lane),
    candidates,
    tripped,
    tracked: (requestId) => book.has(requestId),
    track: book.track,
    awaitingKey: book.awaitingKey,
    finish: book.finish,
  })

  return {
    setup: () => setUp({ config, client, lane, markets, stakeKeeper, breaker, listings, keys, metrics, logger }),
    async poll() {
      // First, so a failure further down never delays a new snapshot's proofs.
      stakeKeeper?.poke()
      await scanner.scan()
      await listings.sync()
      await keys.maintain()
      await claims.claimDue()
      await claims.abandonUnkeyed()
    },
    ...(fastPoll === undefined
      ? {}
      : { fastPoll, fastOffers: () => [...(fastLane?.held() ?? []), ...(openLane?.held() ?? [])] }),
    reset: breakerControl.reset,
    pauseListings: listings.pause,
    async shutdown() {
      candidates.clear()
      // No new offers, fast proofs in progress aborted like tasks' (one that cannot be interrupted is still sent).
      fastLane?.close()
      openLane?.close()
      await pipeline.stop()
      await fastLane?.stop()
      await openLane?.stop()
      await stakeKeeper?.settled()
    },
    keyring,
    book,
    breaker,
    cursor: scanner.cursor,
  }
}
