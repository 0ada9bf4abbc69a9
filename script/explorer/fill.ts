/**
 * Fills a devnet with many requests and measures how fast the explorer renders every page kind on it (issue 15: every
 * page in ≤ 1 s with 10,000 requests).
 *   tsx script/explorer/fill.ts [--requests 10000] [--port 18770] [--proofs 10] [--keep]
 * The chain is deployed the way `npm run devnet` deploys it (`startNetwork`, ts/devnet/network.ts): the marketplace
 * chain on --port and Ethereum on --port + 2, the attestation stack on both, the restaking deployment (StakeMirror,
 * Symbiotic core, vaults, relayer operators admitted), the devnet's four markets (`createDevMarkets`) and its relayer
 * quorum as services (`startRelayers`), which commit a stake snapshot every 30 s of Ethereum time for the whole run.
 * The prover proves its restaked leaf in the first snapshot. An attested matcher key is registered (the marketplace's
 * matcher authority is the TeeRegistry, as on the devnet). Then the requests go to the Groth16 native-stake market,
 * many per block (automine off, signed locally with consecutive nonces); the matcher key's signature assigns half of
 * them in batches; a few get real Groth16 proofs and are fulfilled, and the rest stay Open, so every state the pages
 * count is there. Ethereum mines a block a second throughout (the devnet's block time); the marketplace chain mines
 * when the fill sends, so a block holds hundreds of requests.
 * Then it starts the explorer in this process on --port + 1 with the devnet's three deployment files, times the first
 * index build, and fetches each page kind (markets, market, request, prover, attestation, restaking, not found)
 * several times, printing the slowest render (the server's Server-Timing) and the slowest whole fetch. With --keep
 * the network and the explorer stay up for a browser until Ctrl-C.
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { encodeFunctionData, type Hex, parseEther } from 'viem'
import { startExplorer } from '../../explorer/src/explorer.js'
import { anvilAccount, devRoles } from '../../ts/devnet/accounts.js'
import { createDevMarkets, startRelayers } from '../../ts/devnet/launch.js'
import { startNetwork } from '../../ts/devnet/network.js'
import { registerDevMatcherKey } from '../../ts/devnet/network-matcher.js'
import { preimageRequest, preimageStatement, randomFieldElement } from '../../ts/devnet/scenario.js'
import type { Service } from '../../ts/devnet/services.js'
import {
  blockRanges,
  chainTime,
  createRequest,
  deposit,
  encodePublicSignals,
  fulfil,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  provePoseidonPreimage,
  proveStakeLeaf,
  type Request,
  register,
  requestIdOf,
  signAssignments,
  stake,
  stakeMirrorAbi,
  submitAssignments,
  withListedTerms,
} from '../../ts/index.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    port: { type: 'string', default: '18770' },
    proofs: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
  },
})
const total = Number(values.requests)
const port = Number(values.port)
const proofs = Math.min(total, Number(values.proofs))
const say = (text: string) => console.log(`fill  ${text}`)
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`

const scratch = await mkdtemp(join(tmpdir(), 'cairn-explorer-fill-'))
const started0 = performance.now()
const network = await startNetwork({
  marketplacePort: port,
  ethereumPort: port + 2,
  seed: 'cairn explorer fill',
  blockTime: 0,
  onProgress: (stage) => say(stage),
})
const services: Service[] = []
let stopExplorer: (() => Promise<void>) | undefined
const stopAll = async () => {
  await stopExplorer?.()
  for (const service of services.reverse()) await service.stop()
  await network.stop()
  await rm(scratch, { recursive: true, force: true })
}
try {
  const devnet = network.marketplace
  const { actors, deployment, reader, test } = devnet
  // Ethereum mines at the devnet's block time, so the relayers' epochs turn final as on the devnet.
  await network.ethereum.test.setIntervalMining({ interval: 1 })
  const markets = await createDevMarkets(network)
  const marketId = markets.groth16Native
  const matcher = await registerDevMatcherKey(network, 'cairn explorer fill')
  services.push(
    ...(await startRelayers(network, {
      logDir: join(scratch, 'logs'),
      stateDir: join(scratch, 'state'),
      logLevel: 'warn',
    })),
  )
  say(`devnet deployed, four markets, matcher key attested, ${services.length} relayers up (${seconds(started0)})`)
  const MAX_REWARD = parseEther('40')
  const prover = actors.prover.wallet.account.address
  // The devnet's markets take 100 cSTK of stake per task.
  const stakeNeeded = parseEther('100') * BigInt(total + 100)
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, stakeNeeded)
  await register(actors.prover, { capacity: total + 100 })
  await stake(actors.prover, { amount: stakeNeeded })
  await list(actors.prover, { marketId, price: parseEther('25'), provingTime: 3600 })
  await list(actors.prover, { marketId: markets.groth16Restaked, price: parseEther('25'), provingTime: 3600 })
  const requester = actors.requester.wallet.account.address
  await mintDevToken(actors.requester, deployment.contracts.paymentToken, requester, MAX_REWARD * BigInt(total))
  await deposit(actors.requester, deployment.contracts.paymentToken, MAX_REWARD * BigInt(total))

  // The proven requests first, with real statements; the rest with random in-field public signals.
  const statements = await Promise.all(Array.from({ length: proofs }, () => preimageStatement()))
  const started = performance.now()
  const now = await chainTime(reader)
  const schedule = { provingTime: 3600, matchingWindow: 86_400 }
  const paramsOf = (i: number) =>
    preimageRequest({
      marketId,
      now,
      publicInputs: statements[i]?.publicInputs ?? encodePublicSignals([randomFieldElement(), randomFieldElement()]),
      maxReward: MAX_REWARD,
      refundAddress: requester,
      schedule,
    })
  const first = await createRequest(actors.requester, paramsOf(0))
  const gas = (first.receipt.gasUsed * 3n) / 2n
  await test.setAutomine(false)
  let nonce = await reader.public.getTransactionCount({ address: requester, blockTag: 'pending' })
  const fees = await reader.public.estimateFeesPerGas()
  const account = anvilAccount(devRoles.requester).account
  const perBlock = 250
  for (let i = 1; i < total; i += perBlock) {
    const sends: Promise<Hex>[] = []
    for (let j = i; j < Math.min(total, i + perBlock); j++) {
      // Signed here with fixed fees and nonces: one RPC call per request, none to prepare it.
      const signed = account.signTransaction({
        chainId: deployment.chainId,
        type: 'eip1559',
        to: deployment.contracts.proofMarketplace,
        data: encodeFunctionData({ abi: proofMarketplaceAbi, functionName: 'createRequest', args: [paramsOf(j)] }),
        gas,
        nonce: nonce++,
        ...fees,
      })
      sends.push(signed.then((serializedTransaction) => reader.public.sendRawTransaction({ serializedTransaction })))
    }
    await Promise.all(sends)
    await test.mine({ blocks: 1 })
    if ((i - 1) % 2_000 < perBlock) say(`posted ${Math.min(total, i + perBlock)} of ${total} (${seconds(started)})`)
  }
  await test.setAutomine(true)
  const count = (
    await reader.public.readContract({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      functionName: 'market',
      args: [marketId],
    })
  ).requestCount
  if (Number(count) !== total) throw new Error(`posted ${count} requests, expected ${total} (a transaction failed)`)
  say(`posted ${total} requests in ${seconds(started)}`)

  // Half assigned by the matcher, in batches; the first `proofs` of them proven and fulfilled. Their records as
  // RequestCreated emitted them, read in one call.
  const records = new Map<bigint, Request>()
  for (const range of blockRanges(deployment.deployBlock, await reader.public.getBlockNumber(), 10)) {
    const logs = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'RequestCreated',
      ...range,
      strict: true,
    })
    for (const { args } of logs) records.set(args.requestId, args.request)
  }
  const toAssign = Math.floor(total / 2)
  const assigned: Awaited<ReturnType<typeof submitAssignments>>['assigned'] = []
  for (let i = 0; i < toAssign; i += 100) {
    const ids = Array.from({ length: Math.min(100, toAssign - i) }, (_, k) => requestIdOf(marketId, BigInt(i + k + 1)))
    const batch = await signAssignments(matcher.signer, {
      assignments: await withListedTerms(
        reader,
        ids.map((requestId) => ({ requestId, prover, request: records.get(requestId) })),
      ),
      validUntil: (await chainTime(reader)) + 600n,
    })
    const outcome = await submitAssignments(actors.bystander, batch)
    if (outcome.skipped.length > 0) throw new Error(`assignments skipped: ${JSON.stringify(outcome.skipped[0])}`)
    assigned.push(...outcome.assigned)
  }
  say(`assigned ${assigned.length} (${seconds(started)})`)
  for (const [i, statement] of statements.entries()) {
    const task = assigned[i]
    if (task === undefined) break
    const proof = await provePoseidonPreimage(statement.preimage, statement.context)
    await fulfil(actors.prover, { ...task, publicInputs: proof.publicInputs, proof: proof.proof })
  }
  say(`fulfilled ${proofs} with real proofs (${seconds(started)})`)

  // The prover proves its restaked leaf once the relayers have committed a snapshot (read from the mirror's state).
  const mirror = network.restaking.marketplace.contracts.stakeMirror
  const epochNow = () =>
    reader.public.readContract({ address: mirror, abi: stakeMirrorAbi, functionName: 'currentEpoch' })
  while ((await epochNow()) === 0n) await sleep(500)
  await proveStakeLeaf(actors.prover, {
    ethereum: { public: network.ethereum.public },
    middleware: network.restaking.ethereum.contracts.middleware,
    mirror,
    vault: network.restaking.ethereum.contracts.vault,
    fromBlock: network.restaking.ethereum.deployBlock,
  })
  say(`prover's restaked leaf proven in epoch ${await epochNow()} (${seconds(started)})`)

  // The explorer, from a cold start on the devnet's deployment files: the first index build, then every page kind.
  const indexStart = performance.now()
  const explorer = await startExplorer(
    {
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: deployment.chainId,
      deployment: network.files.marketplace,
      attestationDeployment: network.files.marketplaceAttestation,
      restakingDeployment: network.files.marketplaceRestaking,
      port: port + 1,
      host: '127.0.0.1',
      logRange: 5_000,
      pollInterval: 500,
      logLevel: 'warn',
    },
    { logger: pino({ level: 'warn' }) },
  )
  stopExplorer = explorer.stop
  // Not ready until caught up; a connection reset while the first index build holds the event loop is not ready either.
  const ready = () =>
    fetch(`${explorer.url}/healthz`).then(
      (response) => response.ok,
      () => false,
    )
  while (!(await ready())) await sleep(100)
  say(
    `explorer indexed ${total} requests from a cold start in ${seconds(indexStart)}; the mirror has ${await epochNow()} epochs`,
  )
  const pages = [
    ['markets', '/'],
    ['market', `/market/${marketId}`],
    ['request (first)', `/request/${requestIdOf(marketId, 1n)}`],
    ['request (last)', `/request/${requestIdOf(marketId, BigInt(total))}`],
    ['prover', `/prover/${prover}`],
    ['attestation', '/attestation'],
    ['restaking', '/restaking'],
    ['not found', '/request/1'],
  ] as const
  console.log('page kind | path | slowest render (server) | slowest fetch (whole page) | size')
  for (const [kind, page] of pages) {
    let render = 0
    let fetchMs = 0
    let size = 0
    for (let i = 0; i < 5; i++) {
      const since = performance.now()
      const response = await fetch(`${explorer.url}${page}`)
      const body = await response.text()
      fetchMs = Math.max(fetchMs, performance.now() - since)
      render = Math.max(
        render,
        Number(/dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '')?.[1] ?? Number.NaN),
      )
      size = body.length
    }
    console.log(
      `${kind} | ${page} | ${render.toFixed(1)} ms | ${fetchMs.toFixed(1)} ms | ${(size / 1024).toFixed(0)} KiB`,
    )
  }
  if (values.keep) {
    say(
      `explorer at ${explorer.url}, chains at ${devnet.anvil.rpcUrl} and ${network.ethereum.anvil.rpcUrl}; Ctrl-C stops all`,
    )
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
  }
} finally {
  await stopAll()
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
