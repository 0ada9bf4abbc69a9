/**
 * The prover runner: an operator's daemon that keeps its machine registered, listed and attested, follows the
 * marketplace for tasks assigned to it, proves them inside the enclave and gets them settled. Everything it acts on
 * is rebuilt from chain state at start (its enclave keyring and breaker state are the only local state), so it can be
 * stopped and restarted at any point. See README.md for the full behaviour; runtime.ts wires its parts.
 */

import { type Logger, pino } from 'pino'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { displayUrl } from '../../ts/order-stream.js'
import { startHttpService } from '../../ts/service/http.js'
import { startPollLoop } from '../../ts/service/poll-loop.js'
import { type Breaker, loadBreaker } from './breaker.js'
import type { ProverRunnerConfig } from './config.js'
import { connectChain } from './connect.js'
import { createMetrics, type Metrics } from './metrics.js'
import { loadOperatorToken } from './operator-token.js'
import { resetRoute } from './reset-route.js'
import { createRuntime, type Runtime } from './runtime.js'

export { proverEnclaveConfig } from './connect.js'

export type ProverRunner = {
  /** The operator account (the prover's address in the registry). */
  address: Address
  /** Base URL of the HTTP server: /metrics, /healthz, /reset. */
  url: string
  /** The file (mode 0600) holding the bearer token POST /reset requires. */
  operatorTokenFile: string
  metrics: Metrics
  /** The market's current enclave key, as registered. */
  enclaveKey(marketId: bigint): { signer: Address; eciesPublicKey: Hex; expiresAt: number } | undefined
  /** Tasks being worked on, by request id. */
  tasks(): bigint[]
  /** Fast assignments in hand (proving, ready or being sent), by request id; none without --matcher-url. */
  fastOffers(): bigint[]
  breaker(): { tripped: boolean; requestId?: bigint }
  /** The operator's reset of a tripped breaker (what POST /reset does). */
  reset(): Promise<{ wasTripped: boolean }>
  /**
   * Stops following the chain, lets submissions in flight finish, closes the server; idempotent. `pauseListings` (what
   * SIGTERM does) first puts every listing on leave so nothing is assigned while the runner is away; the next start
   * cancels the leaves.
   */
  stop(options?: { pauseListings?: boolean }): Promise<void>
}

/** Starts a runner: the HTTP server, setup on chain, the rebuild from logs, then the poll loop. Resolves once ready. */
export async function startProverRunner(
  config: ProverRunnerConfig,
  options: { logger?: Logger } = {},
): Promise<ProverRunner> {
  const account = privateKeyToAccount(config.privateKey)
  const logger = (options.logger ?? pino({ level: config.logLevel, base: { service: 'cairn-prover' } })).child({
    prover: account.address,
  })
  const chain = await connectChain(config, account)
  const metrics = createMetrics()
  const state = { ready: false, stopping: false }
  let breaker: Breaker | undefined
  let runtime: Runtime | undefined
  const operatorTokenFile = config.operatorTokenFile ?? `${config.keyFile}.operator-token`
  // GET /healthz: 200 once ready with the breaker closed, 503 otherwise, with the details either way.
  const server = await startHttpService({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    health: () => {
      const ready = state.ready && !state.stopping
      const tripped = breaker?.tripped() === true
      return {
        ok: ready && !tripped,
        ready,
        breaker: tripped ? 'tripped' : 'closed',
        ...(runtime ? { tasks: runtime.book.size(), lastBlock: Number(runtime.cursor() - 1n) } : {}),
      }
    },
    routes: [
      resetRoute(
        () => (runtime ? runtime.reset() : Promise.reject(new Error('not ready'))),
        await loadOperatorToken(operatorTokenFile),
      ),
    ],
    logger,
  })
  try {
    const head = await chain.reader.public.getBlock({ blockTag: 'latest' })
    breaker = await loadBreaker(config.breakerFile ?? `${config.keyFile}.breaker.json`, head.number)
    runtime = await createRuntime({ config, chain, metrics, logger, breaker, clockStart: head.timestamp })
    await runtime.setup()
    await runtime.poll()
  } catch (error) {
    await runtime?.shutdown()
    await server.close()
    throw error
  }
  const started = runtime
  // The start-up just polled: the loop pauses first.
  const loop = startPollLoop({
    rounds: [{ name: 'poll', run: () => started.poll() }],
    intervalMs: config.pollInterval,
    pauseFirst: true,
    countError: () => metrics.errors.inc({ loop: 'poll' }),
    log: logger,
  })
  // The fast lane's own loop: offers are worth seconds, so the matcher is polled more often than the chain.
  const fastPoll = started.fastPoll
  const fastLoop =
    fastPoll === undefined
      ? undefined
      : startPollLoop({
          rounds: [{ name: 'fast', run: () => fastPoll() }],
          intervalMs: config.fastPollMs,
          countError: () => metrics.errors.inc({ loop: 'fast' }),
          log: logger,
        })
  state.ready = true
  logger.info(
    {
      url: `${server.url}/metrics`,
      markets: config.markets.map((m) => m.marketId.toString()),
      ...(config.matcherUrl === undefined ? {} : { fastLane: displayUrl(config.matcherUrl) }),
    },
    'ready',
  )

  let stopping: Promise<void> | undefined
  const stop = (options: { pauseListings?: boolean } = {}) => {
    stopping ??= (async () => {
      state.stopping = true
      if (options.pauseListings) await started.pauseListings()
      await loop.stop()
      await fastLoop?.stop()
      await started.shutdown()
      await server.close()
      logger.info('stopped')
    })()
    return stopping
  }
  return {
    address: account.address,
    url: server.url,
    operatorTokenFile,
    metrics,
    enclaveKey(marketId) {
      const key = started.keyring.current(marketId)
      return key ? { signer: key.signer, eciesPublicKey: key.eciesPublicKey, expiresAt: key.expiresAt ?? 0 } : undefined
    },
    tasks: () => [...started.book.all()].map((task) => task.requestId),
    fastOffers: () => started.fastOffers?.() ?? [],
    breaker: () => {
      const trip = started.breaker.trip()
      return { tripped: started.breaker.tripped(), ...(trip ? { requestId: trip.requestId } : {}) }
    },
    reset: () => started.reset(),
    stop,
  }
}
