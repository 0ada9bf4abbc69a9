/**
 * Fills a fresh devnet with many requests and measures how fast the explorer renders every page on it (issue 15:
 * every page in ≤ 1 s with 10,000 requests).
 *   tsx script/explorer/fill.ts [--requests 10000] [--port 18770] [--keep]
 * It starts anvil on --port with a fresh deployment and one Groth16 market with one listed prover, then posts the
 * requests, many per block (automine off, signed locally with consecutive nonces). The matcher's signature assigns
 * half of them in batches. A few get real Groth16 proofs and are fulfilled, and the rest stay Open, so every state
 * the pages count is there. Then it starts the explorer in this process on --port + 1, times the first index build,
 * and fetches each page several times, printing the slowest render (the server's Server-Timing) and the slowest
 * whole fetch. With --keep the devnet and the explorer stay up for a browser until Ctrl-C.
 */

import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { encodeFunctionData, type Hex, parseEther } from 'viem'
import { startExplorer } from '../../explorer/src/explorer.js'
import { anvilAccount, devRoles } from '../../ts/devnet/accounts.js'
import {
  groth16MarketParams,
  preimageRequest,
  preimageStatement,
  randomFieldElement,
} from '../../ts/devnet/scenario.js'
import { startDevnet } from '../../ts/devnet/stack.js'
import {
  blockRanges,
  chainTime,
  createMarket,
  createRequest,
  deposit,
  encodePublicSignals,
  fulfil,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  provePoseidonPreimage,
  type Request,
  register,
  requestIdOf,
  signAssignments,
  stake,
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

const deploymentOut = `deployments/e2e-explorer-fill-${port}.json`
const devnet = await startDevnet({ port, deploymentOut, throwaway: true })
let stopExplorer: (() => Promise<void>) | undefined
const stopAll = async () => {
  await stopExplorer?.()
  await devnet.stop()
}
try {
  const { actors, deployment, reader, test } = devnet
  const MAX_REWARD = parseEther('40')
  const { marketId } = await createMarket(
    actors.deployer,
    groth16MarketParams(deployment, { stakePerTask: parseEther('1'), slashPenalty: parseEther('1') }),
  )
  const prover = actors.prover.wallet.account.address
  await mintDevToken(actors.prover, deployment.contracts.stakeToken, prover, parseEther(String(total + 100)))
  await register(actors.prover, { capacity: total + 100 })
  await stake(actors.prover, { amount: parseEther(String(total + 100)) })
  await list(actors.prover, { marketId, price: parseEther('25'), provingTime: 3600 })
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
    const batch = await signAssignments(actors.matcher, {
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

  // The explorer, from a cold start: the first index build, then every page.
  const indexStart = performance.now()
  const explorer = await startExplorer(
    {
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: deployment.chainId,
      deployment: deploymentOut,
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
  say(`explorer indexed ${total} requests from a cold start in ${seconds(indexStart)}`)
  const pages = [
    '/',
    `/market/${marketId}`,
    `/request/${requestIdOf(marketId, 1n)}`,
    `/request/${requestIdOf(marketId, BigInt(total))}`,
    `/prover/${prover}`,
    '/request/1',
  ]
  console.log('page | slowest render (server) | slowest fetch (whole page) | size')
  for (const page of pages) {
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
    console.log(`${page} | ${render.toFixed(1)} ms | ${fetchMs.toFixed(1)} ms | ${(size / 1024).toFixed(0)} KiB`)
  }
  if (values.keep) {
    say(`explorer at ${explorer.url}, chain at ${devnet.anvil.rpcUrl}; Ctrl-C stops both`)
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
  }
} finally {
  await stopAll()
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
