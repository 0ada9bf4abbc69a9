import { setTimeout as sleep } from 'node:timers/promises'
import { type Logger, pino } from 'pino'
import { type Hex, isAddressEqual, parseEventLogs } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { slashInboxAbi, stakeMirrorAbi, teeRegistryAbi } from '../../ts/generated.js'
import { teeRoles } from '../../ts/types.js'
import { chainClients, lastBlockAtOrBefore, revertName } from './chain.js'
import {
  type EthereumRestaking,
  loadEthereumRestaking,
  loadMarketplaceRestaking,
  type MarketplaceRestaking,
  type RelayerConfig,
} from './config.js'
import { createMetrics } from './metrics.js'
import { startServer } from './server.js'
import {
  createSignatureStore,
  fetchPeerSignatures,
  mySubmitTurn,
  quorum,
  type SignatureKind,
  type SignedDigest,
} from './signatures.js'
import {
  type InboxSlash,
  orderStates,
  queuedSlashes,
  type SlashOrder,
  skippedOrders,
  slashBatchDigest,
  slashBatchTypedData,
} from './slashes.js'
import { buildSnapshot, mirrorHead, readStakes, snapshotDigest, snapshotTypedData } from './snapshots.js'

export type RoundOutcome =
  | { status: 'idle'; reason: string }
  | { status: 'waiting'; digest: Hex; signatures: number }
  | { status: 'submitted'; digest: Hex }
  | { status: 'settled'; digest: Hex }

/**
 * A relayer: loads both deployment files, serves metrics and its signatures, and runs two loops, snapshots
 * (Ethereum → marketplace chain) and slashes (marketplace chain → Ethereum). It keeps no state of its own worth
 * saving: every round starts from chain state, so a restart resumes exactly where the chains are.
 */
export async function createRelayer(config: RelayerConfig, options: { logger?: Logger } = {}) {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'cairn-relayer' } })
  const account = privateKeyToAccount(config.privateKey)
  const log = logger.child({ relayer: account.address })
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
  const server = await startServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    signatures,
    logger: log,
  })

  /** Own signature (kept in the store peers read) plus peers' ones; the quorum to submit, if any, and whose turn. */
  async function gather(kind: SignatureKind, digest: Hex, sign: () => Promise<Hex>) {
    const own =
      signatures.get(digest) ?? signatures.put({ kind, digest, signer: account.address, signature: await sign() })
    const firstSeen = signatures.put(own).firstSeen
    const fetched = await fetchPeerSignatures(config.peers, digest, log)
    // Only signers the target chain's registry holds as active relayers count: anything else would revert the quorum.
    const target = kind === 'snapshot' ? { client: mkt, file: marketplace } : { client: eth, file: ethereum }
    const active = await Promise.all(
      fetched.map((peer) =>
        target.client.public.readContract({
          address: target.file.relayerRegistry,
          abi: teeRegistryAbi,
          functionName: 'isActive',
          args: [RELAYER_ROLE, 0n, peer.signer],
        }),
      ),
    )
    const peers = fetched.filter((_, i) => active[i])
    const threshold = target.file.threshold
    const signed = quorum([own, ...peers], threshold)
    const count = 1 + peers.length
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
    const tip = await eth.public.getBlockNumber()
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
    const now = (await mkt.public.getBlock({ blockTag: 'latest' })).timestamp
    if (capture.timestamp >= now) return { status: 'idle', reason: 'capture not yet in the marketplace chain past' }

    const leaves = await readStakes(eth.public, {
      middleware: ethereum.contracts.middleware,
      token: mirror.token,
      captureTimestamp: Number(capture.timestamp),
      blockNumber: capture.number,
      pageSize: config.pageSize,
    })
    const { snapshot } = buildSnapshot({
      epoch: head.epoch + 1n,
      captureTimestamp: Number(capture.timestamp),
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
      if (receipt.status !== 'success') throw new Error(`commitSnapshot ${hash} reverted`)
    } catch (error) {
      // Another relayer committed first: success if it committed what we signed.
      const reason = revertName(error)
      if (reason !== 'EpochOutOfOrder' && reason !== 'CaptureNotIncreasing') throw error
      const [, root] = await mkt.public.readContract({
        address: mirror.address,
        abi: stakeMirrorAbi,
        functionName: 'epochs',
        args: [snapshot.epoch],
      })
      if (root !== snapshot.stakeRoot) throw new Error(`epoch ${snapshot.epoch} was committed with root ${root}`)
      log.info({ epoch: Number(snapshot.epoch), digest }, 'snapshot already committed by a peer')
      return { status: 'settled', digest }
    }
    metrics.snapshotsCommitted.inc()
    metrics.lastEpoch.set(Number(snapshot.epoch))
    log.info(
      {
        epoch: Number(snapshot.epoch),
        capture: snapshot.captureTimestamp,
        root: snapshot.stakeRoot,
        leaves: leaves.length,
      },
      'snapshot committed',
    )
    return { status: 'submitted', digest }
  }

  // ------------------------------------------------------------------------------------------------ slashes

  // Orders seen so far and the first marketplace block not yet scanned; both rebuilt from the chain on start.
  const orders = new Map<Hex, SlashOrder>()
  let cursor = marketplace.deployBlock
  const skipped = new Set<Hex>()
  let skipCursor = ethereum.deployBlock

  /** One slash round: deliver every queued slash the middleware has not seen, as one quorum-signed batch. */
  async function slashRound(): Promise<RoundOutcome> {
    const tip = await mkt.public.getBlockNumber()
    const finalNumber = tip - BigInt(config.finalityDepth)
    if (finalNumber >= cursor) {
      const found = await queuedSlashes(mkt.public, { mirror: mirror.address, fromBlock: cursor, toBlock: finalNumber })
      log.debug({ from: Number(cursor), to: Number(finalNumber), found: found.length }, 'scanned')
      for (const order of found) {
        orders.set(order.orderId, order)
      }
      cursor = finalNumber + 1n
    }
    const ethTip = await eth.public.getBlockNumber()
    if (ethTip >= skipCursor) {
      for (const id of await skippedOrders(eth.public, {
        inbox: inbox.address,
        fromBlock: skipCursor,
        toBlock: ethTip,
      })) {
        skipped.add(id)
      }
      skipCursor = ethTip + 1n
    }
    const candidates = [...orders.values()].filter((order) => !skipped.has(order.orderId))
    const states = await orderStates(eth.public, {
      middleware: ethereum.contracts.middleware,
      orderIds: candidates.map((order) => order.orderId),
    })
    const pending: SlashOrder[] = []
    candidates.forEach((order, i) => {
      // Seen by the middleware (requested, executed or vetoed): settled for good, forget it.
      if (states[i] === 0) pending.push(order)
      else orders.delete(order.orderId)
    })
    for (const order of [...orders.values()].filter((o) => skipped.has(o.orderId))) orders.delete(order.orderId)
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

    // The inbox catches each item's failure, so a gas estimate finds the least gas at which the transaction succeeds
    // with every slash skipped for lack of gas. Give each item a fixed budget instead, and check the simulation.
    const { request, result } = await eth.public.simulateContract({
      account,
      address: inbox.address,
      abi: slashInboxAbi,
      functionName: 'deliver',
      args: [batch, signed.map((s) => s.signature)],
      gas: DELIVER_BASE_GAS + DELIVER_GAS_PER_SLASH * BigInt(batch.length),
    })
    if (result !== BigInt(batch.length))
      log.warn({ digest, batch: batch.length, executable: Number(result) }, 'some slashes will be skipped')
    const hash = await eth.wallet.writeContract(request)
    const receipt = await eth.public.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`deliver ${hash} reverted`)
    const events = parseEventLogs({ abi: slashInboxAbi, logs: receipt.logs }).filter((e) =>
      isAddressEqual(e.address, inbox.address),
    )
    const delivered = events.filter((e) => e.eventName === 'SlashDelivered').length
    for (const e of events) {
      // A skipped item is final (its reason is on chain); operators need to see it.
      if (e.eventName === 'SlashSkipped')
        log.warn(
          { orderId: e.args.orderId, taskId: e.args.taskId, reason: e.args.reason },
          'slash skipped by the inbox',
        )
    }
    metrics.slashesDelivered.inc(delivered)
    log.info({ digest, batch: batch.length, delivered, tx: hash }, 'slash batch delivered')
    return { status: 'submitted', digest }
  }

  // ------------------------------------------------------------------------------------------------ loops

  let running = false
  let loop: Promise<void> | undefined
  const abort = new AbortController()

  async function guarded(name: 'snapshots' | 'slashes', round: () => Promise<RoundOutcome>) {
    try {
      const outcome = await round()
      log.debug({ loop: name, ...outcome }, 'round')
      return outcome
    } catch (error) {
      metrics.errors.inc({ loop: name })
      log.error({ loop: name, err: error }, 'round failed')
      return undefined
    }
  }

  function start(): void {
    if (running) return
    running = true
    loop = (async () => {
      while (running) {
        await guarded('snapshots', snapshotRound)
        await guarded('slashes', slashRound)
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
    url: server.url,
    metrics,
    signatures: signatures as { get: (digest: string) => SignedDigest | undefined },
    snapshotRound: () => guarded('snapshots', snapshotRound),
    slashRound: () => guarded('slashes', slashRound),
    start,
    stop,
  }
}

const RELAYER_ROLE = teeRoles.indexOf('Relayer')

/** Gas for a delivery: quorum check plus, per slash, the middleware and a Symbiotic slash (about 200k) with margin. */
const DELIVER_BASE_GAS = 150_000n
const DELIVER_GAS_PER_SLASH = 500_000n

export type Relayer = Awaited<ReturnType<typeof createRelayer>>
