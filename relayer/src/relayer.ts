import { setTimeout as sleep } from 'node:timers/promises'
import { type Logger, pino } from 'pino'
import {
  type Address,
  BaseError,
  encodeFunctionData,
  type Hex,
  isAddressEqual,
  parseEventLogs,
  toFunctionSelector,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { AttestationProvider } from '../../enclave/attestation/index.js'
import { attestationOf } from '../../enclave/quote-source/index.js'
import { decodeCairnError, decodeRevertData } from '../../ts/errors.js'
import { cairnNetworkMiddlewareAbi, iVetoSlasherAbi, slashInboxAbi, stakeMirrorAbi } from '../../ts/generated.js'
import type { KeyRegistration } from '../../ts/service/key-registration.js'
import { admittedOperatorCount, getActiveOperator, type RegistryClient } from '../../ts/tee.js'
import { chainClients, isRevert, lastBlockAtOrBefore, peerRace, revertName } from './chain.js'
import {
  type EthereumRestaking,
  loadEthereumRestaking,
  loadMarketplaceRestaking,
  type MarketplaceRestaking,
  type RelayerConfig,
} from './config.js'
import { gasForFullOutcome } from './gas.js'
import { createMetrics } from './metrics.js'
import {
  mirrorStatuses,
  outcomeNames,
  QUEUED,
  reportableOutcomes,
  type Settlement,
  settledOrders,
  slashOutcomesDigest,
  slashOutcomesTypedData,
} from './outcomes.js'
import { type OperatorSignature, operatorCount, operatorQuorum, requiredOperators } from './quorum.js'
import { RelayerOperatorError, registerRelayerKey, relayerEnclaveConfig } from './registration.js'
import { startServer } from './server.js'
import {
  createSignatureStore,
  fetchPeerSignatures,
  mySubmitTurn,
  type SignatureKind,
  type SignedDigest,
} from './signatures.js'
import {
  type InboxSlash,
  orderStates,
  queuedSlashes,
  type SlashOrder,
  slashBatchDigest,
  slashBatchTypedData,
  vetoRequest,
} from './slashes.js'
import { buildSnapshot, mirrorHead, readCapture, snapshotDigest, snapshotTypedData } from './snapshots.js'

export type RoundOutcome =
  | { status: 'idle'; reason: string }
  | { status: 'waiting'; digest: Hex; signatures: number }
  | { status: 'submitted'; digest: Hex }
  | { status: 'settled'; digest: Hex }

/**
 * A relayer, run for one operator: loads both deployment files, registers its key on both chains' TeeRegistry from
 * the operator's account, serves metrics and its signatures, and runs three rounds in a loop: snapshots (Ethereum →
 * marketplace chain), slashes (marketplace chain → Ethereum) and slash outcomes (veto requests finalized on Ethereum,
 * then every queued slash's outcome back to the marketplace chain). It keeps no state of its own worth saving: every
 * round starts from chain state, so a restart resumes exactly where the chains are.
 */
export async function createRelayer(
  config: RelayerConfig,
  options: { logger?: Logger; provider?: AttestationProvider } = {},
) {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'cairn-relayer' } })
  const account = privateKeyToAccount(config.privateKey)
  const operator = privateKeyToAccount(config.operatorPrivateKey)
  const log = logger.child({ relayer: account.address, operator: operator.address })
  const ethereum: EthereumRestaking = await loadEthereumRestaking(config.ethereumDeployment)
  const marketplace: MarketplaceRestaking = await loadMarketplaceRestaking(config.marketplaceDeployment)
  if (
    ethereum.sourceChainId !== marketplace.chainId ||
    !isAddressEqual(ethereum.sourceMirror, marketplace.contracts.stakeMirror)
  ) {
    throw new Error(
      `deployment mismatch: the inbox accepts mirror ${ethereum.sourceMirror} on chain ${ethereum.sourceChainId}, ` +
        `the marketplace file has ${marketplace.contracts.stakeMirror} on chain ${marketplace.chainId}`,
    )
  }
  const eth = chainClients({
    chainId: ethereum.chainId,
    rpcUrl: config.ethereumRpcUrl,
    account,
    pollingInterval: config.pollInterval,
  })
  const mkt = chainClients({
    chainId: marketplace.chainId,
    rpcUrl: config.marketplaceRpcUrl,
    account,
    pollingInterval: config.pollInterval,
  })
  for (const [name, client, expected] of [
    ['ethereum', eth, ethereum.chainId],
    ['marketplace', mkt, marketplace.chainId],
  ] as const) {
    const actual = await client.public.getChainId()
    if (actual !== expected) throw new Error(`${name} RPC is chain ${actual}, its deployment file says ${expected}`)
  }
  // Each chain's registry and the operator's client there: key registrations are sent from the operator's account.
  const chains = {
    ethereum: { clients: eth, file: ethereum, rpcUrl: config.ethereumRpcUrl },
    marketplace: { clients: mkt, file: marketplace, rpcUrl: config.marketplaceRpcUrl },
  } as const
  type ChainName = keyof typeof chains
  const registryOf = (chain: ChainName) => ({
    public: chains[chain].clients.public,
    attestation: { contracts: { teeRegistry: chains[chain].file.relayerRegistry } },
  })
  const operatorClientOf = (chain: ChainName): RegistryClient => {
    const { wallet } = chainClients({
      chainId: chains[chain].file.chainId,
      rpcUrl: chains[chain].rpcUrl,
      account: operator,
      pollingInterval: config.pollInterval,
    })
    return { ...registryOf(chain), wallet }
  }
  const operatorClients = { ethereum: operatorClientOf('ethereum'), marketplace: operatorClientOf('marketplace') }
  const enclave = attestationOf(
    config,
    relayerEnclaveConfig([
      { chainId: ethereum.chainId, registry: ethereum.relayerRegistry },
      { chainId: marketplace.chainId, registry: marketplace.relayerRegistry },
    ]),
    options.provider,
  )

  const mirror = {
    chainId: marketplace.chainId,
    address: marketplace.contracts.stakeMirror,
    token: marketplace.token,
  }
  const inbox = {
    chainId: ethereum.chainId,
    address: ethereum.contracts.slashInbox,
    sourceChainId: ethereum.sourceChainId,
    sourceMirror: ethereum.sourceMirror,
  }
  const metrics = createMetrics()
  const signatures = createSignatureStore()
  // ------------------------------------------------------------------------------------------------ key

  const registrations: Partial<Record<ChainName, KeyRegistration>> = {}
  let registerFailures = 0
  let registerRetryAt = 0

  /**
   * Registers this relayer's key on a chain from the operator's account: at start, and again once two thirds of the
   * registration ran out by that chain's clock. Failed attempts back off (up to a minute).
   */
  async function ensureKey(chain: ChainName, force = false): Promise<void> {
    const registration = registrations[chain]
    if (!force) {
      if (Date.now() < registerRetryAt) return
      if (registration !== undefined) {
        const now = (await chains[chain].clients.public.getBlock({ blockTag: 'latest' })).timestamp
        if (now < BigInt(registration.renewAt)) return
      }
    }
    let registered: KeyRegistration
    try {
      registered = await registerRelayerKey(operatorClients[chain], {
        signerKey: config.privateKey,
        signer: account.address,
        enclave,
        chain,
      })
    } catch (error) {
      registerFailures++
      registerRetryAt = Date.now() + Math.min(60_000, 1_000 * 2 ** registerFailures)
      throw error
    }
    registerFailures = 0
    registrations[chain] = registered
    metrics.keyRegistrations.inc({ chain })
    log.info({ chain, expiresAt: registered.expiresAt, renewAt: registered.renewAt }, 'relayer key registered')
  }

  // The key is registered on both chains before the relayer serves anything (its health probe included); an operator
  // that is not admitted stops the start with what to fix.
  try {
    for (const chain of ['ethereum', 'marketplace'] as const) await ensureKey(chain, true)
  } catch (error) {
    if (error instanceof RelayerOperatorError) throw error
    const message = error instanceof BaseError ? error.shortMessage : (error as Error).message
    throw new Error(`relayer key registration failed: ${message}`, { cause: error })
  }
  const server = await startServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    signatures,
    logger: log,
  })

  // Relayer keys seen signing (peers' active keys): who goes first where no quorum orders the turn (finalize).
  const knownRelayers = new Set<Address>()

  /**
   * Own signature (kept in the store peers read) plus peers' ones, each counted under the operator the target
   * chain's registry says its key belongs to (read here, at one block: never a peer's word); the quorum to submit,
   * if any, and whose turn it is.
   */
  async function gather(kind: SignatureKind, digest: Hex, sign: () => Promise<Hex>) {
    const own =
      signatures.get(digest) ?? signatures.put({ kind, digest, signer: account.address, signature: await sign() })
    const firstSeen = signatures.put(own).firstSeen
    const fetched = await fetchPeerSignatures(config.peers, digest, log)
    const chain: ChainName = kind === 'slashBatch' ? 'ethereum' : 'marketplace'
    const registry = registryOf(chain)
    const blockNumber = await registry.public.getBlockNumber({ cacheTime: 0 })
    const candidates = [own, ...fetched]
    const [operators, admitted, threshold] = await Promise.all([
      Promise.all(
        candidates.map((signed) =>
          getActiveOperator(registry, { role: 'Relayer', signer: signed.signer, blockNumber }),
        ),
      ),
      admittedOperatorCount(registry, 'Relayer', { blockNumber }),
      kind === 'slashBatch'
        ? eth.public.readContract({
            address: inbox.address,
            abi: slashInboxAbi,
            functionName: 'threshold',
            blockNumber,
          })
        : mkt.public.readContract({
            address: mirror.address,
            abi: stakeMirrorAbi,
            functionName: 'threshold',
            blockNumber,
          }),
    ])
    // Only keys the target chain holds as active relayers count: anything else would revert the quorum.
    const counted: OperatorSignature[] = candidates.flatMap((signed, i) => {
      const operatorOfKey = operators[i]
      return operatorOfKey === undefined ? [] : [{ ...signed, operator: operatorOfKey }]
    })
    for (const signed of counted) if (!isAddressEqual(signed.signer, account.address)) knownRelayers.add(signed.signer)
    if (operators[0] === undefined) log.warn({ chain, digest }, 'own key is not an active relayer key there')
    const required = requiredOperators(threshold, admitted)
    const signed = operatorQuorum(counted, required)
    const count = operatorCount(counted)
    if (!signed) return { signed: undefined, count, myTurn: false }
    const myTurn = mySubmitTurn({
      me: account.address,
      signers: signed.map((s) => s.signer),
      firstSeen,
      delayMs: config.submitDelay,
    })
    return { signed, count, myTurn }
  }

  // ------------------------------------------------------------------------------------------------ snapshots

  /** One snapshot round: commit the next epoch if the latest final epoch boundary is newer than the mirror's. */
  async function snapshotRound(): Promise<RoundOutcome> {
    const head = await mirrorHead(mkt.public, mirror.address)
    metrics.lastEpoch.set(Number(head.epoch))
    const tip = await eth.public.getBlockNumber({ cacheTime: 0 })
    const finalNumber = tip - BigInt(config.finalityDepth)
    if (finalNumber < ethereum.deployBlock) return { status: 'idle', reason: 'no final block since deployment' }
    const finalBlock = await eth.public.getBlock({ blockNumber: finalNumber })
    // Capture at an epoch boundary, not at whatever block each relayer saw last: all relayers then sign one digest.
    const length = BigInt(config.epochLength)
    const boundary = (finalBlock.timestamp / length) * length
    const capture = await lastBlockAtOrBefore(eth.public, {
      target: boundary,
      low: ethereum.deployBlock,
      high: finalNumber,
    })
    if (!capture) return { status: 'idle', reason: 'no block before the epoch boundary' }
    if (capture.timestamp <= BigInt(head.captureTimestamp)) return { status: 'idle', reason: 'mirror is up to date' }
    // The deployment file's block is where the deployment started: the first boundary after it may still come before
    // the middleware existed, and there is nothing to read there.
    const code = await eth.public.getCode({ address: ethereum.contracts.middleware, blockNumber: capture.number })
    if (code === undefined || code === '0x') return { status: 'idle', reason: 'no middleware at the capture block' }
    const now = (await mkt.public.getBlock({ blockTag: 'latest' })).timestamp
    if (capture.timestamp >= now) return { status: 'idle', reason: 'capture not yet in the marketplace chain past' }

    // Stakes and the slashing window as of the capture block: every relayer reads the same, so all sign one digest.
    const { leaves, slashingWindow } = await readCapture(eth.public, {
      middleware: ethereum.contracts.middleware,
      token: mirror.token,
      captureTimestamp: Number(capture.timestamp),
      blockNumber: capture.number,
      pageSize: config.pageSize,
    })
    const { snapshot } = buildSnapshot({
      epoch: head.epoch + 1n,
      captureTimestamp: Number(capture.timestamp),
      slashingWindow,
      leaves,
      token: mirror.token,
    })
    const digest = snapshotDigest(snapshot, mirror)
    const { signed, count, myTurn } = await gather('snapshot', digest, () =>
      account.signTypedData(snapshotTypedData(snapshot, mirror)),
    )
    if (!signed || !myTurn) return { status: 'waiting', digest, signatures: count }

    const args = [snapshot, signed.map((s) => s.signature)] as const
    try {
      const { request } = await mkt.public.simulateContract({
        account,
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'commitSnapshot',
        args,
      })
      const hash = await mkt.wallet.writeContract(request)
      const receipt = await mkt.public.waitForTransactionReceipt({ hash })
      // Mined after a peer's commit of the same epoch in an earlier position: the race, lost on chain.
      if (receipt.status !== 'success') throw new CommitReverted(hash, receipt.blockNumber)
    } catch (error) {
      // Another relayer committed first: success if it committed what we signed.
      const reason = error instanceof CommitReverted ? error.message : peerRace(error)
      if (reason === undefined) throw error
      const [, , root] = await mkt.public.readContract({
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'epochs',
        args: [snapshot.epoch],
      })
      // The epoch still uncommitted: no peer won a race, so the failure stands, logged decoded (errorSummary).
      if (root === zeroHash) throw error
      if (root !== snapshot.stakeRoot) throw new Error(`epoch ${snapshot.epoch} was committed with root ${root}`)
      log.info({ epoch: Number(snapshot.epoch), digest, reason }, 'snapshot already committed by a peer')
      return { status: 'settled', digest }
    }
    metrics.snapshotsCommitted.inc()
    metrics.lastEpoch.set(Number(snapshot.epoch))
    log.info(
      {
        epoch: Number(snapshot.epoch),
        capture: snapshot.captureTimestamp,
        slashingWindow: snapshot.slashingWindow,
        root: snapshot.stakeRoot,
        leaves: leaves.length,
      },
      'snapshot committed',
    )
    return { status: 'submitted', digest }
  }

  // ------------------------------------------------------------------------------------------------ slashes

  // Orders seen so far and the first marketplace block not yet scanned; both rebuilt from the chain on start. `orders`
  // holds those not yet delivered, `awaiting` those whose outcome the mirror has not recorded yet.
  const orders = new Map<Hex, SlashOrder>()
  const awaiting = new Map<Hex, SlashOrder>()
  let cursor = marketplace.deployBlock

  /** Reads the mirror's SlashQueued events up to the final marketplace block. */
  async function scanQueued(): Promise<bigint> {
    const tip = await mkt.public.getBlockNumber({ cacheTime: 0 })
    const finalNumber = tip - BigInt(config.finalityDepth)
    if (finalNumber >= cursor) {
      const found = await queuedSlashes(mkt.public, { mirror: mirror.address, fromBlock: cursor, toBlock: finalNumber })
      log.debug({ from: Number(cursor), to: Number(finalNumber), found: found.length }, 'scanned')
      for (const order of found) {
        orders.set(order.orderId, order)
        awaiting.set(order.orderId, order)
      }
      cursor = finalNumber + 1n
    }
    return tip
  }

  /**
   * One slash round: deliver every queued slash the middleware has not seen, as one quorum-signed batch. The
   * middleware records every order it is handed (requested, executed or failed for good), so an order it knows is
   * delivered for good; the inbox skips one delivered before.
   */
  async function slashRound(): Promise<RoundOutcome> {
    const tip = await scanQueued()
    const candidates = [...orders.values()]
    const states = await orderStates(eth.public, {
      middleware: ethereum.contracts.middleware,
      orderIds: candidates.map((order) => order.orderId),
    })
    const pending: SlashOrder[] = []
    candidates.forEach((order, i) => {
      if (states[i] === 0) pending.push(order)
      else orders.delete(order.orderId)
    })
    metrics.pendingSlashes.set(pending.length)
    log.debug(
      { tip: Number(tip), scannedTo: Number(cursor) - 1, known: orders.size, pending: pending.length, states },
      'slash scan',
    )
    if (pending.length === 0) return { status: 'idle', reason: 'no pending slash' }

    const batch: InboxSlash[] = pending
      .sort((a, b) => (a.taskId < b.taskId ? -1 : 1))
      .slice(0, config.maxBatch)
      .map(({ taskId, prover, vault, amount, captureTimestamp }) => ({
        taskId,
        prover,
        vault,
        amount,
        captureTimestamp,
      }))
    const digest = slashBatchDigest(batch, inbox)
    const { signed, count, myTurn } = await gather('slashBatch', digest, () =>
      account.signTypedData(slashBatchTypedData(batch, inbox)),
    )
    if (!signed || !myTurn) return { status: 'waiting', digest, signatures: count }

    // Reverts (a quorum refused, …) surface from the simulation. The gas must let every slash do what it does with
    // ample gas: a vault call starved of gas would be recorded as a failed slash, for good (see gas.ts).
    const call = {
      account,
      address: inbox.address,
      abi: slashInboxAbi,
      functionName: 'deliver',
      args: [batch, signed.map((s) => s.signature)],
    } as const
    const { request, result: handed } = await eth.public.simulateContract(call)
    const { gas, checked } = await gasForFullOutcome(eth.public, {
      account,
      to: inbox.address,
      data: encodeFunctionData(call),
    })
    if (handed !== BigInt(batch.length))
      log.info({ digest, batch: batch.length, handed: Number(handed) }, 'some slashes were delivered before')
    const hash = await eth.wallet.writeContract({ ...request, gas })
    const receipt = await eth.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`deliver ${hash} reverted`)
    const events = parseEventLogs({ abi: slashInboxAbi, logs: receipt.logs }).filter((e) =>
      isAddressEqual(e.address, inbox.address),
    )
    const delivered = events.filter((e) => e.eventName === 'SlashDelivered').length
    for (const e of events) {
      if (e.eventName !== 'SlashSkipped') continue
      const fields = { orderId: e.args.orderId, taskId: String(e.args.taskId) }
      // Delivered before (by a peer, or a replayed batch): nothing more to do for it. Any other skip is a refusal
      // that may pass (nothing was recorded on Ethereum): the order stays pending and is delivered again.
      if (decodeRevertData(e.args.reason).name === 'SlashOrderAlreadySeen') log.info(fields, 'slash already delivered')
      else log.warn({ ...fields, reason: failureName(e.args.reason) }, 'slash refused for now: retried next round')
    }
    const failed = parseEventLogs({ abi: cairnNetworkMiddlewareAbi, logs: receipt.logs, eventName: 'SlashFailed' })
    for (const e of failed) {
      // Final on Ethereum: its outcome goes back to the mirror, which releases the penalty. Operators need to see it.
      log.warn({ orderId: e.args.orderId, vault: e.args.vault, reason: failureName(e.args.reason) }, 'slash failed')
    }
    metrics.slashesDelivered.inc(delivered)
    log.info(
      { digest, batch: batch.length, delivered, tx: hash, gas: Number(gas), gasChecked: checked },
      'slash batch delivered',
    )
    return { status: 'submitted', digest }
  }

  // ------------------------------------------------------------------------------------------------ outcomes

  // Settlements (executed, vetoed or failed) final on Ethereum and the first Ethereum block not yet scanned for
  // them; when each veto request was first seen due for finalizing (turn taking only).
  const settlements = new Map<Hex, Settlement>()
  let settleCursor = ethereum.deployBlock
  const dueSince = new Map<Hex, number>()
  const cannotFinalize = new Set<Hex>()
  const middlewareErrors = [...cairnNetworkMiddlewareAbi, ...iVetoSlasherAbi]

  /**
   * One outcome round: finalize requested veto slashes once vetoed or past their veto window, then report every
   * outcome final on Ethereum that the mirror has not recorded, as one quorum-signed batch. An execution waits for
   * a snapshot captured at or after it (the mirror refuses it before); a veto or failure goes at once.
   */
  async function outcomeRound(): Promise<RoundOutcome> {
    await scanQueued()
    const ethTip = await eth.public.getBlockNumber({ cacheTime: 0 })
    const ethFinal = ethTip - BigInt(config.finalityDepth)
    if (ethFinal >= settleCursor) {
      for (const settled of await settledOrders(eth.public, {
        middleware: ethereum.contracts.middleware,
        fromBlock: settleCursor,
        toBlock: ethFinal,
      })) {
        settlements.set(settled.orderId, settled)
      }
      settleCursor = ethFinal + 1n
    }

    // What the mirror has recorded is done for good.
    const known = [...awaiting.values()]
    const statuses = await mirrorStatuses(mkt.public, { mirror: mirror.address, orderIds: known.map((o) => o.orderId) })
    const open = known.filter((order, i) => {
      if (statuses[i] === QUEUED) return true
      awaiting.delete(order.orderId)
      settlements.delete(order.orderId)
      dueSince.delete(order.orderId)
      return false
    })
    metrics.pendingOutcomes.set(open.length)

    // Veto requests: finalize the vetoed ones and those whose veto window has passed.
    const unsettled = open.filter((order) => !settlements.has(order.orderId) && !cannotFinalize.has(order.orderId))
    const states = await orderStates(eth.public, {
      middleware: ethereum.contracts.middleware,
      orderIds: unsettled.map((order) => order.orderId),
    })
    for (const [i, order] of unsettled.entries()) if (states[i] === REQUESTED) await finalize(order)

    const head = await mirrorHead(mkt.public, mirror.address)
    const { outcomes, held } = reportableOutcomes({
      open,
      settlements,
      mirrorCapture: head.captureTimestamp,
      maxBatch: config.maxBatch,
    })
    metrics.heldOutcomes.set(held.length)
    if (held.length > 0) {
      log.debug(
        { held: held.map((o) => o.orderId), mirrorCapture: head.captureTimestamp },
        'executions wait for a snapshot captured after them',
      )
    }
    if (outcomes.length === 0) {
      return held.length > 0
        ? { status: 'idle', reason: 'executions wait for a later snapshot' }
        : { status: 'idle', reason: 'no outcome to report' }
    }

    const digest = slashOutcomesDigest(outcomes, mirror)
    const { signed, count, myTurn } = await gather('slashOutcomes', digest, () =>
      account.signTypedData(slashOutcomesTypedData(outcomes, mirror)),
    )
    if (!signed || !myTurn) return { status: 'waiting', digest, signatures: count }
    try {
      const { request } = await mkt.public.simulateContract({
        account,
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'reportSlashOutcomes',
        args: [outcomes, signed.map((s) => s.signature)],
      })
      const hash = await mkt.wallet.writeContract(request)
      const receipt = await mkt.public.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`reportSlashOutcomes ${hash} reverted`)
      metrics.outcomesReported.inc(outcomes.length)
      log.info(
        {
          digest,
          tx: hash,
          outcomes: outcomes.map((o) => ({
            orderId: o.orderId,
            outcome: outcomeNames[o.status],
            slashed: String(o.slashed),
          })),
        },
        'slash outcomes reported',
      )
      return { status: 'submitted', digest }
    } catch (error) {
      // A peer reported first: settled if the mirror now holds every outcome we signed.
      if (revertName(error) !== 'SlashAlreadySettled') throw error
      const now = await mirrorStatuses(mkt.public, { mirror: mirror.address, orderIds: outcomes.map((o) => o.orderId) })
      if (now.some((status) => status === QUEUED)) throw error
      log.info({ digest }, 'slash outcomes already reported by a peer')
      return { status: 'settled', digest }
    }
  }

  /**
   * Finalizes a requested veto slash on the middleware (anyone may) once the resolver vetoed it or its veto window
   * has passed. The lowest relayer address known goes at once, the others `submitDelay` after first seeing it due.
   */
  async function finalize(order: SlashOrder): Promise<void> {
    const request = await vetoRequest(eth.public, {
      middleware: ethereum.contracts.middleware,
      orderId: order.orderId,
    })
    const now = (await eth.public.getBlock({ blockTag: 'latest' })).timestamp
    if (!request.completed && BigInt(request.vetoDeadline) > now) return
    const since = dueSince.get(order.orderId) ?? Date.now()
    dueSince.set(order.orderId, since)
    const lowest = [account.address, ...knownRelayers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0]
    const first = lowest !== undefined && isAddressEqual(lowest, account.address)
    if (!first && Date.now() - since < config.submitDelay) return
    try {
      const finalizeCall = {
        account,
        address: ethereum.contracts.middleware,
        abi: middlewareErrors,
        functionName: 'finalizeSlash',
        args: [order.orderId],
      } as const
      const { request: call } = await eth.public.simulateContract(finalizeCall)
      // Enough gas for the vault to execute it, never the least with which the call merely succeeds (gas.ts).
      const { gas, checked } = await gasForFullOutcome(eth.public, {
        account,
        to: ethereum.contracts.middleware,
        data: encodeFunctionData(finalizeCall),
      })
      const hash = await eth.wallet.writeContract({ ...call, gas })
      const receipt = await eth.public.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`finalizeSlash ${hash} reverted`)
      metrics.slashesFinalized.inc()
      // What the middleware recorded: the veto, the execution, or a failure for good (the vault refused it).
      const recorded = parseEventLogs({ abi: cairnNetworkMiddlewareAbi, logs: receipt.logs }).find(
        (e) =>
          (e.eventName === 'SlashVetoed' || e.eventName === 'SlashExecuted' || e.eventName === 'SlashFailed') &&
          e.args.orderId === order.orderId,
      )
      const fields = {
        orderId: order.orderId,
        taskId: String(order.taskId),
        tx: hash,
        gas: Number(gas),
        gasChecked: checked,
      }
      if (recorded?.eventName === 'SlashFailed') {
        log.warn({ ...fields, reason: failureName(recorded.args.reason) }, 'veto slash failed at finalization')
      } else if (recorded?.eventName === 'SlashExecuted') {
        log.info({ ...fields, slashed: String(recorded.args.amount) }, 'veto slash executed after its window')
      } else {
        log.info(fields, 'vetoed slash finalized')
      }
    } catch (error) {
      if (!isRevert(error)) throw error
      const reason = revertName(error)
      // A peer finalized it, this chain's clock is not quite past the deadline yet, an earlier request of the same
      // operator on the vault goes first, or the vault refused it for a reason that may pass: retry next round.
      if (
        reason === 'SlashOrderNotPending' ||
        reason === 'VetoPeriodNotEnded' ||
        reason === 'EarlierSlashPending' ||
        reason === 'SlashNotExecutable'
      )
        return
      // The middleware records a slash the vault refuses as Failed; any other revert would only repeat each round.
      cannotFinalize.add(order.orderId)
      log.warn({ orderId: order.orderId, taskId: String(order.taskId), reason }, 'veto slash cannot be finalized')
    }
  }

  // ------------------------------------------------------------------------------------------------ loops

  /** Renews the key's registration on each chain once due. */
  async function keyRound(): Promise<RoundOutcome> {
    for (const chain of ['ethereum', 'marketplace'] as const) await ensureKey(chain)
    return { status: 'idle', reason: 'key registered' }
  }

  let running = false
  let loop: Promise<void> | undefined
  const abort = new AbortController()

  async function guarded(name: 'keys' | 'snapshots' | 'slashes' | 'outcomes', round: () => Promise<RoundOutcome>) {
    try {
      const outcome = await round()
      log.debug({ loop: name, ...outcome }, 'round')
      return outcome
    } catch (error) {
      metrics.errors.inc({ loop: name })
      log.error({ loop: name, err: errorSummary(error) }, 'round failed')
      return undefined
    }
  }

  function start(): void {
    if (running) return
    running = true
    loop = (async () => {
      while (running) {
        await guarded('keys', keyRound)
        await guarded('snapshots', snapshotRound)
        await guarded('slashes', slashRound)
        await guarded('outcomes', outcomeRound)
        await sleep(config.pollInterval, undefined, { signal: abort.signal }).catch(() => undefined)
      }
    })()
  }

  /** Stops the loops (after the round in flight) and the HTTP server. */
  async function stop(): Promise<void> {
    running = false
    abort.abort()
    await loop
    await server.close()
    log.info('stopped')
  }

  return {
    address: account.address,
    operator: operator.address,
    url: server.url,
    metrics,
    signatures: signatures as { get: (digest: string) => SignedDigest | undefined },
    registrations: () => ({ ...registrations }),
    keyRound: () => guarded('keys', keyRound),
    snapshotRound: () => guarded('snapshots', snapshotRound),
    slashRound: () => guarded('slashes', slashRound),
    outcomeRound: () => guarded('outcomes', outcomeRound),
    start,
    stop,
  }
}

/** A commit transaction that was mined but reverted (a peer's commit of the epoch landed first). */
class CommitReverted extends Error {
  constructor(hash: Hex, blockNumber: bigint) {
    super(`commitSnapshot ${hash} reverted in block ${blockNumber}`)
    this.name = 'CommitReverted'
  }
}

/** The middleware's state of a requested veto slash. */
const REQUESTED = 1

/**
 * What a failed round logs: the decoded contract error (`EpochOutOfOrder(expected=3, got=2)`) or viem's short message,
 * never the call's ABI, arguments or raw revert data that viem's errors carry.
 */
export function errorSummary(error: unknown): { name: string; message: string } {
  const decoded = decodeCairnError(error)
  if (decoded !== undefined && decoded.name !== 'UnknownError') return { name: decoded.name, message: decoded.message }
  if (error instanceof BaseError) return { name: error.name, message: error.shortMessage }
  if (error instanceof Error) return { name: error.name, message: error.message }
  return { name: 'Error', message: String(error) }
}

/** OpenZeppelin 5.0's Address error that Symbiotic's token transfers raise when a call fails without data. */
const FAILED_INNER_CALL = toFunctionSelector('FailedInnerCall()')

/** A failed slash's reason, decoded against Cairn's and Symbiotic's errors; never the raw revert data. */
function failureName(reason: Hex): string {
  const decoded = decodeRevertData(reason)
  if (decoded.name !== 'UnknownError') return decoded.message
  // E.g. a vault call starved of gas: the relayer's own sends never are (gas.ts), anyone else's may be.
  if (decoded.selector === FAILED_INNER_CALL) return 'FailedInnerCall() (an inner call failed without data)'
  return `unknown error ${decoded.selector}`
}

export type Relayer = Awaited<ReturnType<typeof createRelayer>>
