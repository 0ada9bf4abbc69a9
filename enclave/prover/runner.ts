/**
 * The prover runner: an operator's daemon that keeps its machine registered, listed and attested, follows the
 * marketplace for tasks assigned to it, proves them inside the enclave and gets them settled. Everything it acts on
 * is rebuilt from chain state at start (its enclave keyring and breaker state are the only local state), so it can be
 * stopped and restarted at any point. See README.md for the full behaviour.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type Logger, pino } from 'pino'
import { type Address, bytesToHex, type Hex, isAddressEqual, type LocalAccount, zeroAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { claim } from '../../ts/assignment.js'
import { blockRanges } from '../../ts/block-ranges.js'
import { type HeadBlock, headOf, stillCanonical } from '../../ts/chain-head.js'
import { type CairnClient, type CairnReader, connect, createCairnReader } from '../../ts/client.js'
import { loadAttestationDeployment, loadDeployment } from '../../ts/deployment.js'
import type { EnclaveConfig } from '../../ts/enclave-config.js'
import { decodeCairnError } from '../../ts/errors.js'
import { proverRegistryAbi } from '../../ts/generated.js'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../../ts/input-uris.js'
import { createRequestInputsStore, hasInputs, type LoadedInputs } from '../../ts/request-inputs.js'
import { rpcChain } from '../../ts/rpc-chain.js'
import { getProverEnclave, type TeeClient, withAttestation } from '../../ts/tee.js'
import { inlineInputs, marketIdOf, type RequestCreation, type Task } from '../../ts/types.js'
import { attestationOf } from '../quote-source/index.js'
import { type Breaker, loadBreaker } from './breaker.js'
import { type ChainClock, createChainClock } from './clock.js'
import type { ProverRunnerConfig } from './config.js'
import { proveTask } from './job.js'
import { type EnclaveKey, type Keyring, openKeyring } from './keys.js'
import { loadMarket, type MarketRuntime } from './markets.js'
import { createMetrics, type Metrics } from './metrics.js'
import {
  enclaveKeysSet,
  ensureListing,
  ensureRegistered,
  ensureStake,
  registerKey,
  requestStatusOf,
} from './onchain.js'
import { loadOperatorToken } from './operator-token.js'
import { connectRestaking, createStakeKeeper, type StakeKeeper } from './restaked.js'
import { createScheduler, type Scheduler, type TrackedTask } from './scheduler.js'
import { startServer } from './server.js'
import { createSettler, createTxLane, type Settler, type TaskOutcome, type TxLane } from './settle.js'
import { assignedAt, type CreatedLog, findCreation, type ScannedLogs, scanRange } from './tasks.js'

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

/**
 * What this runner's enclave attests for: Prover keys at the TeeRegistry of its configured chain. Its TD is launched
 * with this configuration's MRCONFIGID, and the registry may pin it for every market.
 */
export function proverEnclaveConfig(chainId: number, teeRegistry: Address): EnclaveConfig {
  return { role: 'Prover', registries: [{ chainId, registry: teeRegistry }] }
}

type Chain = {
  reader: CairnReader
  client: CairnClient
  tee: TeeClient
  /** Ethereum and the restaking deployment, when the runner keeps restaked stake proven. */
  restaking?: Awaited<ReturnType<typeof connectRestaking>>
}

async function connectChain(config: ProverRunnerConfig, account: LocalAccount): Promise<Chain> {
  const deployment = await loadDeployment(config.chainId, config.deployment ? { path: config.deployment } : {})
  const attestation = await loadAttestationDeployment(
    config.chainId,
    config.attestationDeployment ? { path: config.attestationDeployment } : {},
  )
  const chain = rpcChain(config.chainId, config.rpcUrl)
  const reader = createCairnReader({ chain, rpcUrl: config.rpcUrl, deployment, pollingInterval: config.pollInterval })
  const actual = await reader.public.getChainId()
  if (actual !== config.chainId) throw new Error(`the RPC serves chain ${actual}, the config says ${config.chainId}`)
  const client = connect(reader, account)
  const tee = withAttestation(client, attestation)
  if (config.ethereumRpcUrl === undefined || config.restakingDeployment === undefined) return { reader, client, tee }
  const restaking = await connectRestaking({
    ethereumRpcUrl: config.ethereumRpcUrl,
    restakingDeployment: config.restakingDeployment,
    pollInterval: config.pollInterval,
  })
  if (restaking.restaking.sourceChainId !== config.chainId) {
    throw new Error(
      `--restaking-deployment mirrors stake to chain ${restaking.restaking.sourceChainId}, this runner serves chain ${config.chainId}`,
    )
  }
  return { reader, client, tee, restaking }
}

/** Starts a runner: setup on chain, the rebuild from logs, then the poll loop. Resolves once it is ready. */
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
  const server = await startServer({
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
        ...(runtime ? { tasks: runtime.tasks.size, lastBlock: Number(runtime.cursor() - 1n) } : {}),
      }
    },
    reset: () => (runtime ? runtime.reset() : Promise.reject(new Error('not ready'))),
    operatorToken: await loadOperatorToken(operatorTokenFile),
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
  const loop = started.loop()
  state.ready = true
  logger.info({ url: `${server.url}/metrics`, markets: config.markets.map((m) => m.marketId.toString()) }, 'ready')

  let stopping: Promise<void> | undefined
  const stop = (options: { pauseListings?: boolean } = {}) => {
    stopping ??= (async () => {
      state.stopping = true
      if (options.pauseListings) await started.pauseListings()
      await loop.stop()
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
    tasks: () => [...started.tasks.keys()],
    breaker: () => {
      const trip = started.breaker.trip()
      return { tripped: started.breaker.tripped(), ...(trip ? { requestId: trip.requestId } : {}) }
    },
    reset: () => started.reset(),
    stop,
  }
}

type Runtime = Awaited<ReturnType<typeof createRuntime>>

async function createRuntime(params: {
  config: ProverRunnerConfig
  chain: Chain
  metrics: Metrics
  logger: Logger
  breaker: Breaker
  clockStart: bigint
}) {
  const { config, chain, metrics, logger, breaker } = params
  const { reader, client, tee } = chain
  const me = client.wallet.account.address
  const deployment = reader.deployment
  const clock: ChainClock = createChainClock()
  clock.observe(params.clockStart)
  const lane: TxLane = createTxLane()
  const stakeKeeper: StakeKeeper | undefined = chain.restaking
    ? createStakeKeeper({
        client,
        ...chain.restaking,
        lane,
        logger,
        onFailure: () => metrics.retries.inc({ stage: 'restaked-stake' }),
      })
    : undefined
  const enclave = attestationOf(config, proverEnclaveConfig(config.chainId, tee.attestation.contracts.teeRegistry))
  const keyring: Keyring = await openKeyring(config.keyFile, { chainId: config.chainId, operator: me })
  const markets = new Map<bigint, MarketRuntime>()
  const tasks = new Map<bigint, TrackedTask>()
  /** Public-input requests in my markets that may become claimable (claimFallback only). */
  const candidates = new Map<bigint, CreatedLog>()
  /** The inputs of candidates due for a claim: loaded and checked before the claim, never claimed if they cannot load. */
  const candidateInputs = createRequestInputsStore<CreatedLog, LoadedInputs>({
    posted: (created) => ({
      publicInputs: created.publicInputs,
      privateInputs: created.privateInputs,
      inputsDigest: created.request.inputsDigest,
    }),
    bounds: { maxBytes: config.maxInputBytes, timeoutMs: config.fetchTimeout, allowFileUris: config.allowFileUris },
    accept: (_, inputs) => inputs,
    onRejected(created, error) {
      dropCandidate(created.requestId)
      metrics.fallbackSkipped.inc({ reason: error.reason })
      logger.warn(
        { requestId: created.requestId.toString(), reason: error.reason, error: error.message },
        'inputs can never load: not claimed',
      )
    },
    onRetry(created, error, retryInMs) {
      metrics.retries.inc({ stage: 'inputs' })
      logger.warn({ requestId: created.requestId.toString(), err: error, retryInMs }, 'inputs fetch failed; retrying')
    },
  })
  let cursor = config.fromBlock ?? deployment.deployBlock
  /** The last block scanned (cursor - 1) as it was then: checked against each new head to notice reorgs. */
  let scanned: HeadBlock | undefined
  const slashesSeen = new Set<bigint>()
  let listingsDirty = true
  // Set by a stop that pauses: listings go on leave whatever the breaker says.
  let paused = false
  let syncing: Promise<void> | undefined
  const jobContext = {
    chainId: config.chainId,
    marketplace: deployment.contracts.proofMarketplace,
    operator: me,
    keyring,
    inputUris: { maxBytes: config.maxInputBytes, timeoutMs: config.fetchTimeout, allowFileUris: config.allowFileUris },
  }

  // ------------------------------------------------------------------------------------------------ tasks

  function finish(task: TrackedTask, outcome: TaskOutcome): void {
    if (tasks.get(task.requestId) !== task) return
    tasks.delete(task.requestId)
    task.abort.abort()
    metrics.tasksInFlight.set(tasks.size)
    const log = logger.child({ requestId: task.requestId.toString(), marketId: task.marketId.toString() })
    if (outcome.kind === 'failed') {
      metrics.tasksFailed.inc({ reason: outcome.reason })
      log.error({ reason: outcome.reason, err: outcome.error }, 'task given up')
    } else if (outcome.kind === 'already-settled') {
      metrics.tasksAlreadySettled.inc()
      log.info({ status: outcome.status }, 'task already settled on chain')
    } else {
      log.info({ outcome: outcome.kind, attempts: task.attempts }, 'task settled')
    }
    settler.poke()
  }

  const scheduler: Scheduler = createScheduler({
    maxConcurrent: config.maxConcurrentProofs,
    submitMargin: config.submitMargin,
    clock,
    metrics,
    logger,
    async prove(task, signal) {
      const market = markets.get(task.marketId) as MarketRuntime
      const backend = await market.backend(keyring.current(task.marketId))
      return proveTask(task, backend, jobContext, signal)
    },
    onProof: (task, fulfilment) => settler.proof(task, fulfilment),
    onInvalidInputs: (task, error) => settler.reject(task, error.statement),
    onFailed: (task, reason, error) => finish(task, { kind: 'failed', reason, error }),
    onSettled: () => settler.poke(),
  })

  const settler: Settler = createSettler({
    client,
    lane,
    clock,
    batchWindow: config.batchWindow,
    maxBatch: config.maxBatch,
    busy: () => scheduler.busy(),
    enclave(marketId) {
      const key = keyring.current(marketId)
      return key ? privateKeyToAccount(key.signerKey) : undefined
    },
    finish,
    metrics,
    logger,
  })

  function track(
    params: { requestId: bigint; task: Task; byMatcher: boolean },
    creation: RequestCreation,
    inputKey?: Hex,
  ) {
    const marketId = marketIdOf(params.requestId)
    const market = markets.get(marketId) as MarketRuntime
    const tracked: TrackedTask = {
      requestId: params.requestId,
      marketId,
      requester: creation.requester,
      request: creation.request,
      task: params.task,
      publicInputs: creation.publicInputs,
      privateInputs: creation.privateInputs,
      ...(inputKey === undefined ? {} : { inputKey }),
      backend: market.kind,
      assignedAt: assignedAt(params.task, creation.request.provingTime),
      byMatcher: params.byMatcher,
      state: 'queued',
      attempts: 0,
      abort: new AbortController(),
    }
    tasks.set(params.requestId, tracked)
    dropCandidate(params.requestId)
    metrics.tasksInFlight.set(tasks.size)
    logger.info(
      {
        requestId: params.requestId.toString(),
        marketId: marketId.toString(),
        deadline: params.task.deadline,
        byMatcher: params.byMatcher,
        privateInputs: hasInputs(creation.privateInputs),
      },
      'task assigned',
    )
    scheduler.add(tracked)
  }

  async function onAssigned(logs: ScannedLogs): Promise<void> {
    for (const log of logs.assigned) {
      const held = tasks.get(log.requestId)
      // Assigned again on the chain a reorg left: the records the old task would settle with are void.
      if (held && (held.task.deadline !== log.task.deadline || held.task.price !== log.task.price))
        finish(held, { kind: 'failed', reason: 'reorged-out' })
    }
    const fresh = logs.assigned.filter((log) => !tasks.has(log.requestId))
    // Never work twice on a task: an earlier run (or this one, from a claim receipt) may have settled it.
    const statuses = await Promise.all(fresh.map((log) => requestStatusOf(reader, log.requestId)))
    for (const [i, log] of fresh.entries()) {
      const requestId = log.requestId
      if (statuses[i] !== 'Assigned' || tasks.has(requestId)) continue
      const marketId = marketIdOf(requestId)
      if (!markets.has(marketId)) {
        metrics.tasksFailed.inc({ reason: 'unknown-market' })
        logger.error(
          { requestId: requestId.toString(), marketId: marketId.toString() },
          'task in an unconfigured market',
        )
        continue
      }
      const creation =
        candidates.get(requestId) ??
        (await findCreation(reader, requestId, {
          fromBlock: deployment.deployBlock,
          toBlock: log.blockNumber,
          logRange: config.logRange,
        }))
      if (creation === undefined) throw new Error(`no RequestCreated log for assigned request ${requestId}`)
      track(log, creation, logs.inputKeys.get(requestId))
    }
  }

  /** Slashes after the breaker's last reset trip it; older ones (read again at every start) are only noted. */
  async function onSlashed(logs: ScannedLogs): Promise<void> {
    for (const slash of logs.slashed) {
      const task = tasks.get(slash.requestId)
      if (task) finish(task, { kind: 'failed', reason: 'slashed' })
      // A scan again after a reorg reads the same slashes: count and report each once.
      if (slashesSeen.has(slash.requestId)) continue
      slashesSeen.add(slash.requestId)
      const details = {
        requestId: slash.requestId.toString(),
        penalty: slash.penalty.toString(),
        tx: slash.transactionHash,
      }
      if (!breaker.counts(slash.blockNumber)) {
        logger.debug(details, 'slashed before the last breaker reset')
        continue
      }
      metrics.slashes.inc()
      logger.error(details, 'slashed')
      if (await breaker.open(slash)) {
        metrics.breakerTripped.set(1)
        listingsDirty = true
        logger.error(
          { ...details, breakerFile: breaker.path },
          'circuit breaker tripped: leaving every market until POST /reset',
        )
      }
    }
  }

  function onCreated(logs: ScannedLogs): void {
    for (const created of logs.created) {
      if (hasInputs(created.privateInputs)) continue // private requests need the matcher's input key
      if (!markets.has(BigInt(created.marketId))) continue
      candidates.set(created.requestId, created)
    }
  }

  // ------------------------------------------------------------------------------------------------ chain setup

  /**
   * Brings every listing in line with the breaker (active, or leaving while tripped). One sync runs at a time; a trip
   * or reset marks the listings dirty, and whoever waits goes round again until they are clean.
   */
  async function syncListings(): Promise<void> {
    for (;;) {
      if (syncing) {
        await syncing.catch(() => undefined)
        continue
      }
      if (!listingsDirty) return
      listingsDirty = false
      syncing = syncOnce().finally(() => {
        syncing = undefined
      })
      try {
        await syncing
      } catch (error) {
        listingsDirty = true
        throw error
      }
    }
  }

  async function syncOnce(): Promise<void> {
    for (const market of markets.values()) {
      const leaving = breaker.tripped() || paused
      await lane(() => ensureListing(client, market.config, { leaving }, logger))
    }
  }

  const rotationDue = (key: EnclaveKey) =>
    key.registeredAt === undefined ||
    key.expiresAt === undefined ||
    clock.now() >= key.registeredAt + config.rotationFraction * (key.expiresAt - key.registeredAt)

  /** Keeps an attested key registered for the market, rotating it once due; `verify` checks the registry too. */
  async function ensureEnclaveKey(marketId: bigint, verify: boolean): Promise<void> {
    const current = keyring.current(marketId)
    if (current && !rotationDue(current)) {
      if (!verify) return
      const onChain = await getProverEnclave(tee, marketId, me)
      if (onChain && isAddressEqual(onChain.signer, current.signer)) return setKeyGauge(current)
      if (onChain) logger.warn({ marketId: marketId.toString(), foreign: onChain.signer }, 'registry holds another key')
    }
    const newest = keyring.newest(marketId)
    // A key generated by an earlier run whose registration did not land is registered now rather than replaced.
    const key = newest && newest.expiresAt === undefined ? newest : await keyring.generate(marketId)
    const times = await lane(() => registerKey(tee, key, enclave))
    await keyring.registered(key.signer, times)
    metrics.keyRegistrations.inc({ market: marketId.toString() })
    setKeyGauge({ ...key, ...times })
    logger.info(
      { marketId: marketId.toString(), signer: key.signer, expiresAt: times.expiresAt, rotated: current?.signer },
      'enclave key attested and registered',
    )
  }

  function setKeyGauge(key: EnclaveKey): void {
    metrics.keyExpiry.set({ market: key.marketId.toString() }, key.expiresAt ?? 0)
  }

  async function maintainKeys(): Promise<void> {
    for (const marketId of markets.keys()) {
      try {
        await ensureEnclaveKey(marketId, false)
      } catch (error) {
        metrics.retries.inc({ stage: 'register' })
        logger.error({ marketId: marketId.toString(), err: error }, 'enclave key registration failed; retrying')
      }
    }
    const now = clock.now()
    const dropped = await keyring.prune(
      (key) =>
        key.expiresAt !== undefined &&
        now > key.expiresAt + config.keyRetention &&
        ![...tasks.values()].some(
          (task) => task.marketId === key.marketId && task.assignedAt <= (key.expiresAt ?? 0) + config.keyRetention,
        ),
    )
    for (const key of dropped) logger.info({ marketId: key.marketId.toString(), signer: key.signer }, 'old key dropped')
  }

  async function setup(): Promise<void> {
    warnOnTightInputBounds()
    await lane(() =>
      ensureRegistered(
        client,
        { capacity: config.capacity, ...(config.rewardAddress ? { rewardAddress: config.rewardAddress } : {}) },
        logger,
      ),
    )
    if (config.stake !== undefined) await lane(() => ensureStake(client, config.stake as bigint, logger))
    for (const market of config.markets) markets.set(market.marketId, await loadMarket(reader, market))
    warnOnUnkeptStake()
    stakeKeeper?.poke()
    metrics.breakerTripped.set(breaker.tripped() ? 1 : 0)
    await syncListings()
    if (!(await enclaveKeysSet(reader))) {
      logger.warn('the marketplace has no enclave key registry: invalid inputs cannot be attested (rejectInputs)')
    }
    for (const marketId of markets.keys()) await ensureEnclaveKey(marketId, true)
  }

  /**
   * A market whose stake is neither native nor the mirror this runner keeps proven has lockable stake only while
   * someone else keeps it so: say which flags make the runner do it.
   */
  function warnOnUnkeptStake(): void {
    for (const market of markets.values()) {
      const source = market.stakeSource
      if (source === zeroAddress || isAddressEqual(source, deployment.contracts.nativeStaking)) continue
      if (stakeKeeper && isAddressEqual(source, stakeKeeper.mirror)) continue
      logger.warn(
        { marketId: market.marketId.toString(), stakeSource: source },
        'the market locks restaked stake this runner does not keep proven: set --ethereum-rpc-url and --restaking-deployment (the Ethereum restaking deployment whose mirror it is)',
      )
    }
  }

  /** Matchers assign requests whose inputs loaded within their bounds: tighter ones here risk slashes. */
  function warnOnTightInputBounds(): void {
    if (config.maxInputBytes >= DEFAULT_MAX_INPUT_BYTES && config.fetchTimeout >= DEFAULT_INPUT_TIMEOUT_MS) return
    logger.warn(
      {
        maxInputBytes: config.maxInputBytes,
        fetchTimeout: config.fetchTimeout,
        matcherDefaults: { maxInputBytes: DEFAULT_MAX_INPUT_BYTES, fetchTimeout: DEFAULT_INPUT_TIMEOUT_MS },
      },
      'inputs bounds below the matchers’ defaults: a task whose inputs the matcher loaded but this runner cannot is slashed; raise --max-input-bytes / --fetch-timeout to at least the defaults',
    )
  }

  // ------------------------------------------------------------------------------------------------ fallback

  /**
   * Claims the candidates due, each only once its inputs loaded within this runner's bounds and hash to what the
   * request commits to: a claimed task whose inputs never load can be neither proven nor attested, and is slashed.
   * Inputs load in the background (a slow URI never holds up the poll loop); a candidate is claimed in the first
   * round after they are ready, and dropped for good when they can never load.
   */
  async function claimOpenRequests(): Promise<void> {
    if (!config.claimFallback || breaker.tripped()) return
    const full = new Set<bigint>()
    for (const [requestId, created] of candidates) {
      const marketId = BigInt(created.marketId)
      const market = markets.get(marketId) as MarketRuntime
      if (full.has(marketId)) continue
      const verdict = claimable(created, market)
      if (verdict === 'never') dropCandidate(requestId)
      if (verdict !== 'now') continue
      if ((await requestStatusOf(reader, requestId)) !== 'Open') {
        dropCandidate(requestId)
        continue
      }
      // A read started in an earlier round may have rejected the inputs for good (dropping the candidate) while this
      // round waited: loading them again would read them twice and report the skip twice.
      if (candidates.get(requestId) !== created) continue
      candidateInputs.load(created)
      const inputs = candidateInputs.get(requestId)
      if (inputs?.state !== 'ready') continue
      if (!(await available(marketId))) {
        full.add(marketId)
        continue
      }
      await claimOne(requestId, created, inputs.value)
    }
  }

  function dropCandidate(requestId: bigint): void {
    candidates.delete(requestId)
    candidateInputs.forget(requestId)
  }

  function claimable(created: CreatedLog, market: MarketRuntime): 'now' | 'later' | 'never' {
    const { request } = created
    const now = clock.now()
    if (tasks.has(created.requestId) || now > request.matchingExpiry) return 'never'
    // The registry assigns only within the request's max reward and proving time.
    if (market.config.price > request.maxReward || market.config.provingTime > request.provingTime) return 'never'
    return now >= request.createdAt + market.fallbackDelay ? 'now' : 'later'
  }

  function available(marketId: bigint): Promise<boolean> {
    return reader.public.readContract({
      address: deployment.contracts.proverRegistry,
      abi: proverRegistryAbi,
      functionName: 'isAvailable',
      args: [me, marketId],
    })
  }

  async function claimOne(requestId: bigint, created: CreatedLog, inputs: LoadedInputs): Promise<void> {
    try {
      const claimed = await lane(() => claim(client, { requestId, request: created.request }))
      metrics.claims.inc()
      logger.info({ requestId: requestId.toString() }, 'claimed through the fallback')
      // Proven from the bytes checked before the claim: a server that changes them afterwards changes nothing.
      track(claimed, { ...created, publicInputs: inlineInputs(bytesToHex(inputs.publicInputs)) })
    } catch (error) {
      const name = decodeCairnError(error)?.name
      // Our clock ran a little ahead of the chain's: try again next round.
      if (name === 'FallbackNotOpen') return
      if (name === undefined) {
        metrics.retries.inc({ stage: 'claim' })
        logger.warn({ requestId: requestId.toString(), err: error }, 'claim failed; retrying')
        return
      }
      dropCandidate(requestId)
      logger.info({ requestId: requestId.toString(), reason: name }, 'not claimable')
    }
  }

  // ------------------------------------------------------------------------------------------------ loop

  /** One round: new logs up to the (confirmed) head, keys, listings, fallback claims. */
  async function poll(): Promise<void> {
    // First, so a failure further down never delays a new snapshot's proofs.
    stakeKeeper?.poke()
    const head = headOf(await reader.public.getBlock({ blockTag: 'latest' }))
    clock.observe(head.timestamp)
    if (scanned !== undefined && !(await stillCanonical(reader.public, scanned, head))) await rewind(scanned)
    const target = head.number - BigInt(config.confirmations)
    const watched = config.claimFallback ? [...markets.keys()] : []
    // Read before the logs: if the block changes under the scan, the next round sees it and scans again.
    const last =
      target < cursor
        ? scanned
        : target === head.number
          ? head
          : headOf(await reader.public.getBlock({ blockNumber: target }))
    for (const range of blockRanges(cursor, target, config.logRange)) {
      const logs = await scanRange(reader, { prover: me, markets: watched, ...range })
      onCreated(logs)
      await onSlashed(logs)
      await onAssigned(logs)
      cursor = range.toBlock + 1n
      metrics.lastBlock.set(Number(range.toBlock))
    }
    scanned = last
    await syncListings()
    await maintainKeys()
    await claimOpenRequests()
  }

  /**
   * The blocks scanned up to `lost` are no longer canonical (a reorg, a devnet reverted to a snapshot): scan again
   * from the start, as a restart would, after giving up the tasks whose assignment went with them. Tasks still
   * assigned are kept; the scan skips them and picks up assignments the new chain holds instead.
   */
  async function rewind(lost: HeadBlock): Promise<void> {
    const tracked = [...tasks.values()]
    const statuses = await Promise.all(tracked.map((task) => requestStatusOf(reader, task.requestId)))
    for (const [i, task] of tracked.entries()) {
      const status = statuses[i] as string
      // Open again: the assignment went with the lost blocks. Settled (by us, say): its receipt tells the rest.
      if (status === 'Open') finish(task, { kind: 'failed', reason: 'reorged-out' })
      else if (status !== 'Assigned') finish(task, { kind: 'already-settled', status })
    }
    logger.warn(
      {
        lostBlock: Number(lost.number),
        lostHash: lost.hash,
        reorgedOut: statuses.filter((status) => status === 'Open').length,
      },
      'chain reorganised under the scanned blocks: scanning again from the start',
    )
    // Candidates and their inputs came from the lost blocks too: the scan from the start finds the ones still there.
    candidates.clear()
    candidateInputs.clear()
    cursor = config.fromBlock ?? deployment.deployBlock
    scanned = undefined
  }

  function loop(): { stop: () => Promise<void> } {
    const abort = new AbortController()
    const done = (async () => {
      while (!abort.signal.aborted) {
        await sleep(config.pollInterval, undefined, { signal: abort.signal }).catch(() => undefined)
        if (abort.signal.aborted) break
        try {
          await poll()
        } catch (error) {
          metrics.errors.inc({ loop: 'poll' })
          logger.error({ err: error }, 'poll round failed')
        }
      }
    })()
    return {
      stop: async () => {
        abort.abort()
        await done
      },
    }
  }

  async function reset(): Promise<{ wasTripped: boolean }> {
    const head = await reader.public.getBlockNumber({ cacheTime: 0 })
    const wasTripped = await breaker.reset(head)
    metrics.breakerTripped.set(0)
    if (wasTripped) {
      logger.warn({ resetBlock: Number(head) }, 'circuit breaker reset by the operator')
      listingsDirty = true
      await syncListings()
    }
    return { wasTripped }
  }

  /** Puts every listing on leave for a stop; a failure is logged, never blocks the stop (a restart rebuilds). */
  async function pauseListings(): Promise<void> {
    paused = true
    listingsDirty = true
    try {
      await syncListings()
      logger.info(
        { markets: [...markets.keys()].map(String) },
        'listings paused while stopped: the next start resumes them',
      )
    } catch (error) {
      logger.error(
        { err: decodeCairnError(error) ?? error },
        'could not pause the listings: assignments may still come',
      )
    }
  }

  /** Aborts proofs in progress, submits the proofs that are ready and waits for transactions in flight. */
  async function shutdown(): Promise<void> {
    candidateInputs.clear()
    for (const task of tasks.values()) task.abort.abort()
    await scheduler.stop()
    await settler.stop()
    await stakeKeeper?.settled()
  }

  return { setup, poll, loop, reset, pauseListings, shutdown, keyring, tasks, breaker, cursor: () => cursor }
}
