import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { type Address, type Hash, type Hex, isAddressEqual, TransactionReceiptNotFoundError } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { signAssignments } from '../../ts/assignment.js'
import { connect, createCairnReader } from '../../ts/client.js'
import {
  type AttestationDeployment,
  type Deployment,
  loadAttestationDeployment,
  loadDeployment,
} from '../../ts/deployment.js'
import { decodeCairnError } from '../../ts/errors.js'
import { proofMarketplaceAbi } from '../../ts/generated.js'
import { isPrivateInputsError, type PrivateInputsContext } from '../../ts/privacy.js'
import { rpcChain } from '../../ts/rpc-chain.js'
import { type Health, type Reply, type Route, startHttpService } from '../../ts/service/http.js'
import { withAttestation } from '../../ts/tee.js'
import type { Assignment, Request } from '../../ts/types.js'
import type { AttestationProvider } from '../attestation/index.js'
import { attestationOf } from '../quote-source/index.js'
import { outcomeOf, sendBatch } from './batches.js'
import {
  createIndexer,
  dropRequest,
  type HeadBlock,
  headOf,
  type MatcherRequest,
  proverKeyId,
  type SyncNotes,
} from './chain.js'
import type { MatcherConfig } from './config.js'
import {
  bookStats,
  type Eligibility,
  goneProvers,
  holdBatch,
  type MatchItem,
  matchBatch,
  privateInputsNeedEnclaveKey,
  pruneExpired,
  releaseHold,
} from './engine.js'
import { describeWait, explainWait, type WaitReason } from './explain.js'
import { createMatcherInputsStore, loadsInputs, requestContext, rewrapToProverEnclave } from './inputs.js'
import { type Attested, attest, loadOrCreateKey, MatcherOperatorError, matcherEnclaveConfig } from './keys.js'
import { createMetrics } from './metrics.js'

/*
 * The matcher service. Start: load (or create) the enclave key, attest it as a Matcher in the TeeRegistry, rebuild
 * the book from the chain, then poll the head. Each new block: index it, settle the batch in flight (if any), and
 * when none is in flight match one batch, re-wrap private inputs to the chosen provers' enclave keys, sign it and
 * send it: at most one assign transaction per block, and never a second one while the first is pending. The key is
 * re-attested two thirds into its validity. Everything that decides an assignment comes from the chain, so a
 * restart neither loses open requests nor assigns one twice.
 */

export type MatcherOptions = {
  logger: Logger
  /** Preloaded deployments (otherwise read from the config's paths or deployments/<chainId>*.json). */
  deployment?: Deployment
  attestation?: AttestationDeployment
  /** A quote source to use instead of the config's (its quotes are still checked against the configuration). */
  provider?: AttestationProvider
}

export type MatcherStatus = {
  /** The last block indexed and its chain time. */
  block: bigint | undefined
  chainTime: number | undefined
  keyExpiresAt: number | undefined
  pendingBatch: Hash | undefined
  book: ReturnType<typeof bookStats>
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

type Pending = { hash: Hash; items: MatchItem<MatcherRequest>[]; validUntil: number; sentBlock: bigint }

const STOP_WAIT_MS = 30_000
/** How far the index may trail the chain head before /healthz says unsynced: a few blocks of catch-up are normal. */
const SYNC_LAG_BLOCKS = 3
/** Consecutive failed polls of the head or catch-ups before /healthz says unsynced (one RPC hiccup is not trouble). */
const SYNC_FAILURES_TOLERATED = 3
const SUBMITTER_IDLE_WAIT_MS = 60_000
const STARTUP_ATTEMPTS = 5
/** Requests whose inputs the matcher gave up on, remembered to answer why they stay unassigned (oldest forgotten). */
const REJECTED_REMEMBERED = 10_000

export async function startMatcher(config: MatcherConfig, options: MatcherOptions): Promise<Matcher> {
  const { logger } = options
  const deployment =
    options.deployment ??
    (await loadDeployment(config.chainId, config.deployment === undefined ? {} : { path: config.deployment }))
  const attestation =
    options.attestation ??
    (await loadAttestationDeployment(
      config.chainId,
      config.attestationDeployment === undefined ? {} : { path: config.attestationDeployment },
    ))
  const key = await loadOrCreateKey(config.keyFile)
  const enclave = attestationOf(
    config,
    matcherEnclaveConfig(config.chainId, attestation.contracts.teeRegistry),
    options.provider,
  )
  const chain = rpcChain(config.chainId, config.rpcUrl)
  const reader = withAttestation(
    createCairnReader({ chain, rpcUrl: config.rpcUrl, deployment, pollingInterval: config.pollInterval }),
    attestation,
  )
  const client = reader.public
  const submitter = withAttestation(connect(reader, privateKeyToAccount(config.submitterPrivateKey)), attestation)
  const signer = connect(reader, key.account)
  const marketplace = deployment.contracts.proofMarketplace
  const metrics = createMetrics()
  const log = logger.child({ matcher: key.address })
  if (key.created) log.info({ keyFile: config.keyFile }, 'created a new matcher key')

  const indexer = createIndexer({
    client,
    deployment,
    attestation,
    fromBlock: config.fromBlock ?? minBigint(deployment.deployBlock, attestation.deployBlock),
    logRange: BigInt(config.logRange),
    livenessGrace: config.livenessGrace,
  })
  // Rebuilt from each request's own logged fields: an envelope opens only for the request it was encrypted for.
  const context = (request: MatcherRequest): PrivateInputsContext =>
    requestContext({ chainId: config.chainId, marketplace }, request)
  // Public inputs behind a URI and private envelopes: loaded and checked before a request may be matched.
  const inputs = createMatcherInputsStore({
    matcherPrivateKey: key.privateKey,
    context,
    fetchTimeout: config.fetchTimeout,
    maxBytes: config.maxInputBytes,
    allowFileUris: config.allowFileUris,
    onRejected(request, error) {
      dropRequest(indexer.view, request.requestId)
      remember(request.requestId, { code: 'InputsRejected', reason: error.reason, message: error.message })
      metrics.requestsSkipped.inc({ reason: error.reason })
      log.warn(
        { requestId: request.requestId.toString(), reason: error.reason, error: error.message },
        'inputs cannot load or open: request skipped (it will expire and can be cancelled)',
      )
    },
    onRetry(request, error, retryInMs) {
      metrics.errors.inc({ stage: 'fetch' })
      log.warn({ requestId: request.requestId.toString(), err: error, retryInMs }, 'inputs fetch failed; retrying')
    },
  })

  let attested: Attested | undefined
  let renewNow = false
  let attestRetryAt = 0
  let attestFailures = 0
  let revoked = false
  // In sync: the first catch-up is done, the index trails the head by at most SYNC_LAG_BLOCKS and catch-ups have not
  // failed SYNC_FAILURES_TOLERATED times in a row. A one-block catch-up in progress is normal work, not trouble.
  let initialSyncDone = false
  let syncFailures = 0
  let headSeen: bigint | undefined
  let chainTime: number | undefined
  let pending: Pending | undefined
  let lastRound = -1n
  let matchTime = 0
  // Provers the chain showed gone at the last round, by lowercase address: their changes are logged.
  let gone = new Map<string, number>()
  let stopping = false
  const abort = new AbortController()

  const hasActiveKey = (prover: Address, marketId: bigint): boolean => {
    const found = indexer.view.proverKeys.get(proverKeyId(marketId, prover))
    return found !== undefined && found.expiresAt > matchTime + config.minTimeToExpiry
  }
  const needsEnclaveKey = privateInputsNeedEnclaveKey<MatcherRequest>(hasActiveKey)
  // Inputs to load: only once they loaded and checked. Private ones: only to provers with an active enclave key.
  const eligible: Eligibility<MatcherRequest> = (request, prover, marketId) =>
    !loadsInputs(request) ||
    (inputs.get(request.requestId)?.state === 'ready' && needsEnclaveKey(request, prover, marketId))

  const syncLag = (): number | undefined => {
    const indexed = indexer.view.block?.number
    return headSeen === undefined || indexed === undefined ? undefined : Number(headSeen - indexed)
  }
  const health = (): Health => {
    const registered = attested !== undefined && chainTime !== undefined && chainTime < attested.expiresAt
    const lag = syncLag()
    const synced =
      initialSyncDone && syncFailures < SYNC_FAILURES_TOLERATED && lag !== undefined && lag <= SYNC_LAG_BLOCKS
    return {
      ok: registered && synced && !revoked && !stopping,
      registered,
      synced,
      lag,
      revoked,
      block: indexer.view.block?.number.toString(),
      keyExpiresAt: attested?.expiresAt,
    }
  }
  const status = (): MatcherStatus => ({
    block: indexer.view.block?.number,
    chainTime,
    keyExpiresAt: attested?.expiresAt,
    pendingBatch: pending?.hash,
    book: bookStats(indexer.view.book),
  })

  // ------------------------------------------------------------------------------------------------- wait reasons

  const rejected = new Map<bigint, WaitReason>()
  function remember(requestId: bigint, reason: WaitReason): void {
    rejected.set(requestId, reason)
    if (rejected.size > REJECTED_REMEMBERED) rejected.delete(rejected.keys().next().value as bigint)
  }

  /** Why a request is not assigned yet; undefined when it is not open in the book (unknown, assigned or ended). */
  function waitReasonOf(requestId: bigint): WaitReason | undefined {
    const gaveUp = rejected.get(requestId)
    if (gaveUp !== undefined) return gaveUp
    const request = indexer.view.open.get(requestId)
    if (request === undefined) return undefined
    if (loadsInputs(request)) {
      const loaded = inputs.get(requestId)
      if (loaded?.state === 'failed') return { code: 'InputsRejected', reason: loaded.reason, message: loaded.message }
      if (loaded?.state !== 'ready') return { code: 'InputsLoading' }
    }
    return explainWait(indexer.view.book, request, {
      now: chainTime ?? 0,
      minTimeToExpiry: config.minTimeToExpiry,
      hasEnclaveKey: hasActiveKey,
    })
  }

  const requestRoute: Route = {
    method: 'GET',
    path: /^\/requests\/(\d{1,78})$/,
    handler: (_request, [id]): Reply => {
      const requestId = BigInt(id ?? '')
      const reason = waitReasonOf(requestId)
      if (reason === undefined) {
        return {
          status: 404,
          body: {
            error: `request ${requestId} is not open in this matcher's book: not posted (or not indexed yet), assigned, or ended`,
          },
        }
      }
      const fields = Object.entries(reason).map(([name, value]) => [
        name,
        typeof value === 'bigint' ? value.toString() : value,
      ])
      return {
        status: 200,
        body: {
          requestId: requestId.toString(),
          block: indexer.view.block?.number.toString(),
          reason: Object.fromEntries(fields),
          message: describeWait(reason),
        },
      }
    },
  }

  // ------------------------------------------------------------------------------------------------- indexing

  async function latestHead(): Promise<HeadBlock> {
    return headOf(await client.getBlock({ blockTag: 'latest' }))
  }

  /**
   * Indexes up to `head` (several syncs when far behind), acting on what each sync saw. Returns whether the view
   * was rebuilt from scratch.
   */
  async function catchUp(head: HeadBlock, live: boolean): Promise<boolean> {
    let rebuilt = false
    for (;;) {
      const indexed = indexer.view.block
      if (indexed !== undefined && (indexed.hash === head.hash || indexed.number > head.number)) break
      const notes = await indexer.sync(head)
      rebuilt ||= notes.rebuilt
      onNotes(notes, live && !rebuilt)
    }
    const block = indexer.view.block
    if (block !== undefined) {
      chainTime = Number(block.timestamp)
      metrics.syncedBlock.set(Number(block.number))
    }
    return rebuilt
  }

  function onNotes(notes: SyncNotes, live: boolean): void {
    if (notes.rebuilt) {
      metrics.rebuilds.inc()
      inputs.clear()
      log.warn({ from: notes.from }, 'the indexed chain was reorganised: rebuilding the book from the chain')
    }
    if (notes.readError !== undefined) {
      metrics.errors.inc({ stage: 'reads' })
      log.warn({ err: notes.readError }, 'stake or prover reads failed; retried on the next block')
    }
    for (const signerKey of notes.revokedMatchers) {
      if (!isAddressEqual(signerKey, key.address)) continue
      revoked = true
      log.error('this matcher key was revoked: it cannot sign batches again; start with a new key file')
    }
    if (!live) return
    for (const request of notes.created) {
      if (loadsInputs(request) && indexer.view.open.has(request.requestId)) inputs.load(request)
    }
    for (const task of notes.assigned) {
      inputs.forget(task.requestId)
      if (task.createdBlock !== undefined) metrics.latencyBlocks.observe(Number(task.blockNumber - task.createdBlock))
      log.debug(
        {
          requestId: task.requestId.toString(),
          prover: task.prover,
          byMatcher: task.byMatcher,
          block: task.blockNumber,
        },
        'task assigned',
      )
    }
  }

  /** After a full (re)build: start loading the inputs of every open request that has some to load. */
  function loadOpenInputs(): void {
    for (const request of indexer.view.open.values()) if (loadsInputs(request)) inputs.load(request)
  }

  // ------------------------------------------------------------------------------------------------- batches

  async function settlePending(now: number): Promise<void> {
    const batch = pending
    if (batch === undefined) return
    let receipt: Awaited<ReturnType<typeof client.getTransactionReceipt>> | undefined
    try {
      receipt = await client.getTransactionReceipt({ hash: batch.hash })
    } catch (error) {
      if (!(error instanceof TransactionReceiptNotFoundError)) throw error
    }
    if (receipt === undefined) {
      // Past validUntil the transaction can only revert, so its items are free to be matched again.
      if (now <= batch.validUntil) return
      pending = undefined
      release(batch.items)
      metrics.batchFailures.inc({ reason: 'Expired' })
      log.warn({ tx: batch.hash, validUntil: batch.validUntil }, 'batch not mined before its signature expired')
      return
    }
    pending = undefined
    if (receipt.status !== 'success') {
      release(batch.items)
      metrics.batchFailures.inc({ reason: 'Reverted' })
      log.warn({ tx: batch.hash, block: receipt.blockNumber }, 'assign transaction reverted')
      return
    }
    const outcome = outcomeOf(receipt, marketplace)
    metrics.assignments.inc(outcome.assigned.length)
    for (const skip of outcome.skipped) {
      releaseHold(indexer.view.book, skip.requestId)
      metrics.assignmentSkips.inc({ reason: skip.reason.name })
      log.info(
        { requestId: skip.requestId.toString(), prover: skip.prover, reason: skip.reason.message },
        'assignment skipped',
      )
    }
    log.info(
      {
        tx: batch.hash,
        block: receipt.blockNumber,
        blocks: Number(receipt.blockNumber - batch.sentBlock),
        assigned: outcome.assigned.length,
        skipped: outcome.skipped.length,
        gasUsed: receipt.gasUsed,
      },
      'batch landed',
    )
  }

  function release(items: readonly MatchItem<MatcherRequest>[]): void {
    for (const item of items) releaseHold(indexer.view.book, item.requestId)
  }

  /** One matching round at `head`; sends at most one batch. */
  async function round(head: HeadBlock): Promise<void> {
    const view = indexer.view
    const now = Number(head.timestamp)
    const started = performance.now()
    for (const request of pruneExpired(view.book, now)) forget(request.requestId)
    for (const id of inputs.ids()) if (!view.open.has(id)) inputs.forget(id)
    matchTime = now
    noteGoneProvers(now)
    const batch = matchBatch(view.book, {
      now,
      maxItems: config.maxBatch,
      minTimeToExpiry: config.minTimeToExpiry,
      eligible,
    })
    for (const request of batch.expired) forget(request.requestId)
    const held = holdBatch(view.book, batch.items)
    let sent = false
    try {
      const prepared = await prepare(held, head.number)
      metrics.roundMs.observe(performance.now() - started)
      const items = prepared.map(({ item }) => item)
      if (items.length === 0) return
      const validUntil = now + config.signatureValidity
      const signed = await signAssignments(signer, {
        assignments: prepared.map(({ assignment }) => assignment),
        validUntil: BigInt(validUntil),
      })
      const { hash, uncertain } = await sendBatch(submitter, signed)
      sent = true
      pending = { hash, items, validUntil, sentBlock: head.number }
      metrics.batchesSent.inc()
      if (uncertain === undefined) log.info({ tx: hash, block: head.number, items: items.length }, 'batch sent')
      else log.warn({ tx: hash, err: uncertain }, 'batch send unconfirmed: tracked until mined or expired')
    } catch (error) {
      const decoded = decodeCairnError(error)
      metrics.batchFailures.inc({ reason: decoded?.name ?? 'SendFailed' })
      log.warn({ err: decoded ?? error, items: held.length }, 'batch not sent')
      if (decoded?.name === 'NotMatcher') renewNow = true
    } finally {
      // Whatever was not sent is free again (items already released or dropped are left as they are).
      if (!sent) release(held)
    }
  }

  /** Says when a prover starts or stops being left out for want of answers (liveness.ts). */
  function noteGoneProvers(now: number): void {
    const current = new Map<string, number>()
    for (const { prover, since } of goneProvers(indexer.view.book, now)) {
      current.set(prover.toLowerCase(), since)
      if (!gone.has(prover.toLowerCase())) {
        log.warn(
          { prover, since },
          'prover left a task unanswered past its proving time: not assigned more until it fulfils, rejects inputs or announces itself on chain',
        )
      }
    }
    for (const prover of gone.keys()) {
      if (!current.has(prover)) log.info({ prover }, 'prover showed a sign of life on chain: assigned again')
    }
    gone = current
    metrics.proversGone.set(current.size)
  }

  function forget(requestId: bigint): void {
    dropRequest(indexer.view, requestId)
    inputs.forget(requestId)
  }

  type Prepared = { item: MatchItem<MatcherRequest>; assignment: Assignment & { request: Request } }

  /** The signed form of each held item; private inputs re-wrapped to the prover's enclave, or the item released. */
  async function prepare(held: MatchItem<MatcherRequest>[], blockNumber: bigint): Promise<Prepared[]> {
    const prepared = await Promise.all(
      held.map(async (item): Promise<Prepared | undefined> => {
        // The listing the engine matched on, from the book: assign pays exactly these terms or skips the item.
        const assignment = {
          requestId: item.requestId,
          prover: item.prover,
          price: item.price,
          provingTime: item.provingTime,
          request: item.request.record,
        }
        if (!item.request.hasPrivateInputs) return { item, assignment }
        const inputKey = await inputKeyFor(item, blockNumber)
        return inputKey === undefined ? undefined : { item, assignment: { ...assignment, inputKey } }
      }),
    )
    return prepared.filter((entry) => entry !== undefined)
  }

  async function inputKeyFor(item: MatchItem<MatcherRequest>, blockNumber: bigint): Promise<Hex | undefined> {
    const loaded = inputs.get(item.requestId)
    const notAssigned = () => {
      releaseHold(indexer.view.book, item.requestId)
      log.info(
        { requestId: item.requestId.toString(), prover: item.prover },
        'prover has no active enclave key: not assigned',
      )
      return undefined
    }
    if (loaded?.state !== 'ready' || loaded.value === undefined) return notAssigned()
    try {
      // Only to a key read from the registry here, at the head, and confirmed to be this prover's active key.
      const rewrapped = await rewrapToProverEnclave(reader, {
        envelope: loaded.value,
        matcherPrivateKey: key.privateKey,
        marketId: item.marketId,
        prover: item.prover,
        context: context(item.request),
        blockNumber,
      })
      return rewrapped === undefined ? notAssigned() : rewrapped.inputKey
    } catch (error) {
      if (isPrivateInputsError(error, 'InvalidPublicKey')) {
        // The registry only checks the length: a key off the curve cannot receive wraps. Skip this prover until it
        // registers another key.
        releaseHold(indexer.view.book, item.requestId)
        indexer.view.proverKeys.delete(proverKeyId(item.marketId, item.prover))
        log.warn(
          { prover: item.prover, marketId: item.marketId.toString() },
          'prover enclave key is not a secp256k1 point',
        )
        return undefined
      }
      // A failed read: the round releases the whole batch, to be matched again.
      if (!isPrivateInputsError(error)) throw error
      forget(item.requestId)
      remember(item.requestId, { code: 'InputsRejected', reason: error.code, message: error.message })
      metrics.requestsSkipped.inc({ reason: error.code })
      log.warn(
        { requestId: item.requestId.toString(), reason: error.code, err: error },
        'private inputs cannot be re-wrapped: request skipped',
      )
      return undefined
    }
  }

  // ------------------------------------------------------------------------------------------------- key

  async function renew(reason: string): Promise<void> {
    if (Date.now() < attestRetryAt) return
    try {
      attested = await attest(submitter, key, enclave)
      renewNow = false
      attestFailures = 0
      metrics.attestations.inc()
      metrics.keyExpiresAt.set(attested.expiresAt)
      log.info({ reason, expiresAt: attested.expiresAt, renewAt: attested.renewAt }, 'matcher key attested')
    } catch (error) {
      attestFailures++
      attestRetryAt = Date.now() + Math.min(60_000, 1_000 * 2 ** attestFailures)
      metrics.errors.inc({ stage: 'attest' })
      if (error instanceof MatcherOperatorError) log.error({ reason, err: error.message }, 'attestation refused')
      else log.warn({ err: decodeCairnError(error) ?? error, reason }, 'attestation failed; retrying')
    }
  }

  function canSign(now: number): boolean {
    return !revoked && attested !== undefined && now + config.minTimeToExpiry < attested.expiresAt
  }

  // ------------------------------------------------------------------------------------------------- loop

  let stage = 'head'
  async function tick(): Promise<void> {
    stage = 'head'
    const head = await latestHead()
    headSeen = head.number
    const indexed = indexer.view.block
    if (indexed === undefined || head.number > indexed.number || head.hash !== indexed.hash) {
      stage = 'sync'
      if (await catchUp(head, true)) loadOpenInputs()
    }
    syncFailures = 0
    const now = Number(head.timestamp)
    chainTime = now
    updateGauges(now)
    stage = 'receipt'
    if (pending !== undefined) await settlePending(now)
    if (pending !== undefined) return
    stage = 'attest'
    if (renewNow || (attested !== undefined && now >= attested.renewAt)) {
      await renew(renewNow ? 'refused as matcher' : 'renewal')
      return
    }
    if (head.number <= lastRound || !canSign(now)) return
    stage = 'round'
    lastRound = head.number
    await round(head)
  }

  function updateGauges(now: number): void {
    const stats = bookStats(indexer.view.book)
    metrics.bookRequests.set({ state: 'queued' }, stats.open - stats.parked)
    metrics.bookRequests.set({ state: 'parked' }, stats.parked)
    metrics.bookRequests.set({ state: 'held' }, stats.held)
    metrics.bookMarkets.set(stats.markets)
    metrics.bookProvers.set(stats.provers)
    metrics.bookListings.set(stats.listings)
    if (attested !== undefined) metrics.keyExpiresIn.set(attested.expiresAt - now)
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        await tick()
      } catch (error) {
        if (stage === 'sync' || stage === 'head') syncFailures += 1
        metrics.errors.inc({ stage })
        log.warn({ err: error, stage }, 'poll failed; retrying')
      }
      try {
        await sleep(config.pollInterval, undefined, { signal: abort.signal })
      } catch {
        // Aborted by stop().
      }
    }
  }

  // ------------------------------------------------------------------------------------------------- start

  const server = await startHttpService({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    health,
    routes: [requestRoute],
    logger: log,
  })
  let loop: Promise<void>
  try {
    const chainId = await client.getChainId()
    if (chainId !== config.chainId) throw new Error(`${config.rpcUrl} serves chain ${chainId}, not ${config.chainId}`)
    const authority = await client.readContract({
      address: marketplace,
      abi: proofMarketplaceAbi,
      functionName: 'matcherAuthority',
    })
    if (!isAddressEqual(authority, attestation.contracts.teeRegistry)) {
      log.warn(
        { authority, teeRegistry: attestation.contracts.teeRegistry },
        'the marketplace does not take its matchers from this TeeRegistry: its batches will be refused',
      )
    }
    await awaitSubmitterIdle()
    attested = await retrying('attest', () => attest(submitter, key, enclave))
    metrics.attestations.inc()
    metrics.keyExpiresAt.set(attested.expiresAt)
    log.info({ expiresAt: attested.expiresAt, renewAt: attested.renewAt }, 'matcher key attested')
    await retrying('initial sync', async () => {
      const head = await latestHead()
      headSeen = head.number
      return catchUp(head, false)
    })
    loadOpenInputs()
    initialSyncDone = true
    loop = run()
  } catch (error) {
    await server.close()
    throw error
  }
  const book = bookStats(indexer.view.book)
  log.info(
    {
      url: server.url,
      metrics: `${server.url}/metrics`,
      eciesPublicKey: key.eciesPublicKey,
      submitter: submitter.wallet.account.address,
      block: indexer.view.block?.number,
      open: book.open,
      provers: book.provers,
    },
    'ready',
  )

  /** A crashed predecessor may have left an assign pending: let it land before rebuilding, or it could repeat. */
  async function awaitSubmitterIdle(): Promise<void> {
    const address = submitter.wallet.account.address
    const started = Date.now()
    for (;;) {
      const [mined, all] = await Promise.all([
        client.getTransactionCount({ address, blockTag: 'latest' }),
        client.getTransactionCount({ address, blockTag: 'pending' }),
      ])
      if (all <= mined) return
      if (Date.now() - started > SUBMITTER_IDLE_WAIT_MS) {
        log.warn({ submitter: address, pending: all - mined }, 'submitter still has pending transactions; going on')
        return
      }
      log.info({ submitter: address, pending: all - mined }, 'waiting for the submitter’s pending transactions')
      await sleep(config.pollInterval)
    }
  }

  async function retrying<T>(what: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run()
      } catch (error) {
        // Retrying cannot admit the operator: say what to fix at once.
        if (attempt >= STARTUP_ATTEMPTS || error instanceof MatcherOperatorError) throw error
        log.warn({ err: decodeCairnError(error) ?? error, attempt }, `${what} failed; retrying`)
        await sleep(Math.min(10_000, 500 * 2 ** attempt))
      }
    }
  }

  let stopped: Promise<void> | undefined
  async function stop(): Promise<void> {
    stopping = true
    abort.abort()
    await loop
    const deadline = Date.now() + STOP_WAIT_MS
    while (pending !== undefined && Date.now() < deadline) {
      try {
        await settlePending(Number((await latestHead()).timestamp))
      } catch (error) {
        log.warn({ err: error }, 'could not settle the batch in flight')
      }
      if (pending !== undefined) await sleep(config.pollInterval)
    }
    if (pending !== undefined) log.warn({ tx: pending.hash }, 'stopping with a batch still pending')
    inputs.clear()
    await server.close()
    log.info('matcher stopped')
  }

  return {
    address: key.address,
    eciesPublicKey: key.eciesPublicKey,
    submitter: submitter.wallet.account.address,
    url: server.url,
    health,
    status,
    stop: () => {
      stopped ??= stop()
      return stopped
    },
  }
}

function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
