// Assignment latency of the matcher service (enclave/matcher/) on anvil: blocks from a request's RequestCreated to
// its TaskAssigned. The matcher runs in-process against its own devnet (anvil + Deploy.s.sol + the attestation
// stack with the dev DCAP provider), two provers are listed, and several requesters post requests at random
// moments; once every request is assigned the figures are printed.
//   npm run bench:latency                                   → a summary
//   npm run bench:latency -- --json                         → the same figures as JSON
//   --requests N (default 40)  --requesters C (default 4, at most 4)  --block-time S (default 1; 0 = automine)
//   --poll-interval MS (default 250: the matcher's own default)
//
// With interval mining the floor is 1 block: a request is visible once its block is mined, and the batch assigning
// it lands in the next one. Under automine every transaction mines its own block, so other requesters' posts count
// as blocks too; use --requesters 1 there.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { type Hash, parseEther } from 'viem'
import { startMatcher } from '../../enclave/matcher/service.js'
import { type CairnClient, connect } from '../../ts/client.js'
import { anvilAccount, devRoles } from '../../ts/devnet/accounts.js'
import { freePort } from '../../ts/devnet/anvil.js'
import { removeDeploymentFile } from '../../ts/devnet/deploy.js'
import { devMatcherConfig, prepareMatcherDevnet } from '../../ts/devnet/matcher.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../../ts/devnet/scenario.js'
import { type Devnet, startDevnet } from '../../ts/devnet/stack.js'
import {
  chainTime,
  createMarket,
  createRequest,
  deposit,
  list,
  mintDevToken,
  proofMarketplaceAbi,
  register,
  stake,
} from '../../ts/index.js'

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    requests: { type: 'string', default: '40' },
    requesters: { type: 'string', default: '4' },
    'block-time': { type: 'string', default: '1' },
    'poll-interval': { type: 'string', default: '250' },
  },
})
const REQUESTS = Number(args.requests)
const BLOCK_TIME = Number(args['block-time'])
const POLL_INTERVAL = Number(args['poll-interval'])
/** anvil's pre-funded accounts the devnet roles leave free: the requester's, then 8, 9 and 6. */
const REQUESTER_ACCOUNTS = [devRoles.requester, 8, 9, 6]
const REQUESTERS = Math.min(Number(args.requesters), REQUESTER_ACCOUNTS.length)
const SUBMITTER = anvilAccount(7)
const MAX_REWARD = parseEther('40')
const STAKE_PER_TASK = parseEther('100')
const ASSIGN_TIMEOUT_MS = 120_000

type Posted = { requestId: bigint; createdBlock: bigint }
type Assigned = { blockNumber: bigint; transactionHash: Hash }

async function setUp(devnet: Devnet, attestationOut: string) {
  const { actors, deployment, reader } = devnet
  const prepared = await prepareMatcherDevnet(devnet, {
    seed: 'cairn latency bench',
    out: attestationOut,
    matcherOperators: [SUBMITTER.account.address],
  })
  const { marketId } = await createMarket(actors.deployer, groth16MarketParams(deployment))
  // Tasks are never fulfilled here, so each prover gets room (capacity and stake) for every request.
  const provers = [actors.prover, connect(reader, anvilAccount(5).account)]
  const offers = [
    { price: parseEther('10'), provingTime: 600 },
    { price: parseEther('30'), provingTime: 60 },
  ]
  for (const [i, prover] of provers.entries()) {
    const amount = STAKE_PER_TASK * BigInt(REQUESTS)
    await mintDevToken(prover, deployment.contracts.stakeToken, prover.wallet.account.address, amount)
    await register(prover, { capacity: REQUESTS })
    await stake(prover, { amount })
    await list(prover, { marketId, ...(offers[i] as (typeof offers)[number]) })
  }
  const requesters = REQUESTER_ACCOUNTS.slice(0, REQUESTERS).map((index) =>
    connect(reader, anvilAccount(index).account),
  )
  const budget = MAX_REWARD * BigInt(REQUESTS)
  for (const requester of requesters) {
    await mintDevToken(requester, deployment.contracts.paymentToken, requester.wallet.account.address, budget)
    await deposit(requester, deployment.contracts.paymentToken, budget)
  }
  const { publicInputs } = await preimageStatement()
  return { prepared, marketId, requesters, publicInputs }
}

/** One requester posting `count` requests, each after a random pause within a block time (a second under automine). */
async function post(
  devnet: Devnet,
  requester: CairnClient,
  params: { marketId: bigint; publicInputs: `0x${string}`; count: number },
): Promise<Posted[]> {
  const posted: Posted[] = []
  for (let i = 0; i < params.count; i++) {
    await sleep(Math.random() * (BLOCK_TIME > 0 ? BLOCK_TIME : 1) * 1000)
    const request = preimageRequest({
      marketId: params.marketId,
      now: await chainTime(devnet.reader),
      publicInputs: params.publicInputs,
      maxReward: MAX_REWARD,
      refundAddress: requester.wallet.account.address,
    })
    const speedPreferenceBps = Math.floor(Math.random() * 10_001)
    const created = await createRequest(requester, { ...request, speedPreferenceBps })
    posted.push({ requestId: created.requestId, createdBlock: created.receipt.blockNumber })
  }
  return posted
}

async function assignments(devnet: Devnet, ids: Set<bigint>, fromBlock: bigint): Promise<Map<bigint, Assigned>> {
  const found = new Map<bigint, Assigned>()
  const deadline = Date.now() + ASSIGN_TIMEOUT_MS
  while (found.size < ids.size) {
    if (Date.now() > deadline) throw new Error(`only ${found.size} of ${ids.size} requests assigned`)
    const events = await devnet.reader.public.getContractEvents({
      address: devnet.deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'TaskAssigned',
      fromBlock,
      strict: true,
    })
    for (const { args, blockNumber, transactionHash } of events) {
      if (ids.has(args.requestId)) found.set(args.requestId, { blockNumber, transactionHash })
    }
    await sleep(200)
  }
  return found
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

async function main(): Promise<void> {
  const port = await freePort()
  const deploymentOut = `deployments/bench-latency-${port}.json`
  const attestationOut = `deployments/bench-latency-${port}.attestation.json`
  const keyDir = await mkdtemp(join(tmpdir(), 'cairn-latency-'))
  const devnet = await startDevnet({ port, deploymentOut, throwaway: true })
  try {
    const setup = await setUp(devnet, attestationOut)
    const logger = pino({ level: process.env.MATCHER_LOG ?? 'warn' }, pino.destination(2))
    const config = devMatcherConfig(devnet, setup.prepared, {
      keyFile: join(keyDir, 'matcher.json'),
      submitterPrivateKey: SUBMITTER.privateKey,
      pollInterval: POLL_INTERVAL,
    })
    const matcher = await startMatcher(config, {
      logger,
      deployment: devnet.deployment,
      attestation: setup.prepared.attestation,
    })
    try {
      if (BLOCK_TIME > 0) {
        await devnet.test.setAutomine(false)
        await devnet.test.setIntervalMining({ interval: BLOCK_TIME })
      }
      const startBlock = await devnet.reader.public.getBlockNumber({ cacheTime: 0 })
      const shares = setup.requesters.map((_, i) => Math.floor((REQUESTS + i) / setup.requesters.length))
      const posted = (
        await Promise.all(
          setup.requesters.map((requester, i) =>
            post(devnet, requester, {
              marketId: setup.marketId,
              publicInputs: setup.publicInputs,
              count: shares[i] ?? 0,
            }),
          ),
        )
      ).flat()
      const found = await assignments(devnet, new Set(posted.map((p) => p.requestId)), startBlock)
      report(posted, found)
    } finally {
      await matcher.stop()
    }
  } finally {
    await devnet.stop()
    await removeDeploymentFile(attestationOut)
    await rm(keyDir, { recursive: true, force: true })
  }
}

function report(posted: readonly Posted[], found: Map<bigint, Assigned>): void {
  const latencies = posted
    .map(({ requestId, createdBlock }) => Number((found.get(requestId)?.blockNumber ?? createdBlock) - createdBlock))
    .sort((a, b) => a - b)
  const distribution: Record<string, number> = {}
  for (const blocks of latencies) distribution[blocks] = (distribution[blocks] ?? 0) + 1
  const batches = new Map<Hash, number>()
  for (const { transactionHash } of found.values())
    batches.set(transactionHash, (batches.get(transactionHash) ?? 0) + 1)
  const sizes = [...batches.values()]
  const withinOne = latencies.filter((blocks) => blocks <= 1).length
  const figures = {
    requests: posted.length,
    requesters: REQUESTERS,
    blockTimeSeconds: BLOCK_TIME,
    pollIntervalMs: POLL_INTERVAL,
    latencyBlocks: {
      min: latencies[0],
      median: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      max: latencies[latencies.length - 1],
      mean: Number((latencies.reduce((sum, blocks) => sum + blocks, 0) / latencies.length).toFixed(3)),
      distribution,
    },
    withinOneBlock: withinOne,
    withinOneBlockShare: Number((withinOne / latencies.length).toFixed(4)),
    batches: batches.size,
    itemsPerBatch: {
      mean: Number((sizes.reduce((sum, size) => sum + size, 0) / sizes.length).toFixed(2)),
      max: Math.max(...sizes),
    },
  }
  if (args.json) {
    console.log(JSON.stringify(figures, null, 2))
    return
  }
  const mining = BLOCK_TIME > 0 ? `${BLOCK_TIME} s blocks` : 'automine'
  console.log(
    `matcher assignment latency on anvil (${mining}, poll ${POLL_INTERVAL} ms): ${figures.requests} requests from ${REQUESTERS} requesters`,
  )
  const l = figures.latencyBlocks
  console.log(
    `  blocks from RequestCreated to TaskAssigned: min ${l.min}, median ${l.median}, p95 ${l.p95}, max ${l.max}, mean ${l.mean}`,
  )
  console.log(`  within 1 block: ${withinOne}/${figures.requests} (${(figures.withinOneBlockShare * 100).toFixed(1)}%)`)
  console.log(
    `  distribution: ${Object.entries(distribution)
      .map(([blocks, n]) => `${blocks} block${blocks === '1' ? '' : 's'}: ${n}`)
      .join(', ')}`,
  )
  console.log(
    `  batches: ${figures.batches}, items per batch: mean ${figures.itemsPerBatch.mean}, max ${figures.itemsPerBatch.max}`,
  )
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
