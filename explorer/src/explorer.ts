/**
 * The explorer as a running service: the chain it reads (no key), the indexer following the head, the live stream
 * and the HTTP server. It serves at once; pages show what is indexed so far while a long history is caught up. A
 * failing RPC turns the banner on (pages keep rendering from the index) and off again at the next poll that answers.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { Gauge, Registry } from 'prom-client'
import { type Chain, createPublicClient, http, isAddressEqual, type PublicClient, type Transport } from 'viem'
import { headOf } from '../../ts/chain-head.js'
import {
  attestationDeploymentPath,
  deploymentsDir,
  loadAttestationDeployment,
  loadDeployment,
} from '../../ts/deployment.js'
import { loadMarketplaceRestaking } from '../../ts/restaking.js'
import { rpcChain } from '../../ts/rpc-chain.js'
import { startPollLoop } from '../../ts/service/poll-loop.js'
import { createIndexer } from '../index/indexer.js'
import { time } from '../pages/format.js'
import { bannerHtml, type RpcStatus } from '../pages/layout.js'
import type { ExplorerConfig } from './config.js'
import { changedKeys, createLiveHub } from './live.js'
import { startServer } from './server.js'

export type RunningExplorer = { url: string; stop: () => Promise<void> }

export async function startExplorer(config: ExplorerConfig, { logger }: { logger: Logger }): Promise<RunningExplorer> {
  const chainId = config.chainId ?? (await chainIdOf(config.rpcUrl, logger))
  const deployment = await loadDeployment(chainId, config.deployment === undefined ? {} : { path: config.deployment })
  const attestationPath = config.attestationDeployment ?? attestationDeploymentPath(chainId)
  const attestation =
    config.attestationDeployment !== undefined || existsSync(attestationPath)
      ? await loadAttestationDeployment(chainId, { path: attestationPath })
      : undefined
  const restakingPath = config.restakingDeployment ?? join(deploymentsDir, `${chainId}.restaking.json`)
  const restakingFile =
    config.restakingDeployment !== undefined || existsSync(restakingPath)
      ? await loadMarketplaceRestaking(restakingPath)
      : undefined
  // A restaking deployment made for another marketplace (a stale file) would show another network's mirror.
  const restaking =
    restakingFile === undefined || isAddressEqual(restakingFile.marketplace, deployment.contracts.proofMarketplace)
      ? restakingFile
      : undefined
  if (restakingFile !== undefined && restaking === undefined) {
    logger.warn({ path: restakingPath }, 'the restaking deployment is for another marketplace: restaking not shown')
  }
  const client: PublicClient<Transport, Chain> = createPublicClient({
    chain: rpcChain(chainId, config.rpcUrl),
    transport: http(config.rpcUrl, { retryCount: 1, timeout: 20_000 }),
    pollingInterval: config.pollInterval,
  })
  const served = await client.getChainId().catch(() => undefined)
  if (served !== undefined && served !== chainId) {
    throw new Error(`--rpc-url serves chain ${served}, but the explorer was started for chain ${chainId}`)
  }
  const indexer = createIndexer({
    client,
    deployment,
    ...(attestation === undefined ? {} : { teeRegistry: attestation.contracts.teeRegistry }),
    ...(restaking === undefined ? {} : { stakeMirror: restaking.contracts.stakeMirror }),
    logRange: BigInt(config.logRange),
  })

  const registry = new Registry()
  const syncedBlock = new Gauge({ name: 'explorer_synced_block', help: 'last block indexed', registers: [registry] })
  const rpcUp = new Gauge({ name: 'explorer_rpc_up', help: '1 while the RPC answers', registers: [registry] })
  const live = createLiveHub()
  let rpc: RpcStatus = { ok: true }
  let caughtUp = false
  const setRpc = (next: RpcStatus) => {
    const changed = next.ok !== rpc.ok
    rpc = next
    rpcUp.set(next.ok ? 1 : 0)
    if (changed) {
      if (next.ok) logger.info('rpc answers again')
      else logger.warn({ err: next.error }, 'rpc not answering; pages show the index as it stands')
      live.publish('rpc', { ok: next.ok, html: bannerHtml(next, indexer.index).html })
    }
  }

  const context = () => ({
    index: indexer.index,
    rpc,
    chainId,
    teeRegistry: attestation?.contracts.teeRegistry,
    stakeMirror: restaking?.contracts.stakeMirror,
    now: Number(indexer.index.block?.timestamp ?? 0n),
  })

  async function follow(): Promise<void> {
    const head = headOf(await client.getBlock({ blockTag: 'latest' }))
    for (;;) {
      const indexed = indexer.index.block
      if (indexed !== undefined && (indexed.hash === head.hash || indexed.number > head.number)) break
      const result = await indexer.sync(head)
      if (result.rebuilt) logger.info({ from: result.from }, 'chain replaced below the index: rebuilt it')
      const block = indexer.index.block
      if (block !== undefined) syncedBlock.set(Number(block.number))
      live.publish('index', {
        indexed: block === undefined ? '' : `indexed block ${block.number} (${time(Number(block.timestamp))})`,
        changed: result.rebuilt ? ['all'] : changedKeys(result.changes),
      })
    }
    if (!caughtUp) logger.info({ block: String(head.number) }, 'index caught up with the chain')
    caughtUp = true
    setRpc({ ok: true })
  }

  const loop = startPollLoop({
    rounds: [{ name: 'follow', run: follow }],
    intervalMs: config.pollInterval,
    countError: () => undefined,
    log: logger,
    describeError: messageOf,
    onError: (_stage, error) => {
      // The RPC URL may carry an API key: never shown.
      const message = messageOf(error).replaceAll(config.rpcUrl, '<rpc-url>')
      if (rpc.ok) setRpc({ ok: false, since: Math.floor(Date.now() / 1000), error: message })
    },
  })
  const server = await startServer({
    host: config.host,
    port: config.port,
    context,
    live,
    liveGreeting: () => [{ event: 'rpc', data: { ok: rpc.ok, html: bannerHtml(rpc, indexer.index).html } }],
    health: () => ({ ok: rpc.ok && caughtUp, rpc: rpc.ok, caughtUp, block: String(indexer.index.block?.number) }),
    registry,
    logger,
  })
  return {
    url: server.url,
    async stop() {
      await loop.stop()
      await server.close()
    },
  }
}

/** The chain id the RPC serves, asked until it answers (an explorer may start before its node). */
async function chainIdOf(rpcUrl: string, logger: Logger): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(5_000),
      })
      const { result } = (await response.json()) as { result?: string }
      if (result !== undefined) return Number(result)
    } catch (error) {
      if (attempt % 10 === 0) logger.warn({ err: messageOf(error) }, 'rpc not answering eth_chainId yet; retrying')
    }
    await sleep(2_000)
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return (error as { shortMessage?: string }).shortMessage ?? error.message
  return String(error)
}
