// The fault run: the whole devnet under a steady stream of requests while its parts crash. In turn: kill -9 of the
// matcher, of the prover runner, of one relayer, of two relayers at once (the quorum gone), and the marketplace chain
// itself stopped and restarted from an anvil_dumpState dump (--load-state); each is restarted and must answer its
// health probe again. Then the load stops, every request is brought to an end (waited for, then the clock moved past
// every deadline: expired ones cancelled, missed ones slashed) and the chain is checked:
//   - every service is healthy again;
//   - every request ended exactly once: fulfilled, inputs rejected, cancelled (refunded) or slashed;
//   - no request was assigned twice;
//   - the marketplace holds exactly the sum of its accounts' balances, per token, to the wei;
//   - what each party gained or lost is what the events say: the requester paid exactly the prices of its proofs, the
//     prover earned them, and every slash moved its penalty to the requester, the slasher and the treasury.
// Prints a report; exits 1 if any check fails.
//   npm run check:faults                  # about 10 minutes on a 2-core machine
//   npm run check:faults -- --keep-logs   # keep the services' logs (their directory is printed)

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { gunzipSync } from 'node:zlib'
import { type Address, concat, erc20Abi, formatEther, hexToBytes, parseEther, sha256, stringToBytes, toHex } from 'viem'
import { type Anvil, startAnvil } from '../ts/devnet/anvil.js'
import {
  createDevMarkets,
  type DevMarkets,
  fundActors,
  type LaunchOptions,
  type ProverMarketOffer,
  restakedStakeLive,
  startMatcher,
  startProver,
  startRelayer,
  startRelayers,
} from '../ts/devnet/launch.js'
import { type Network, startNetwork } from '../ts/devnet/network.js'
import { preimageStatement, randomFieldElement } from '../ts/devnet/scenario.js'
import { logLines, type Service } from '../ts/devnet/services.js'
import { advanceTime } from '../ts/devnet/stack.js'
import {
  cancel,
  getBalance,
  getProver,
  getRequestState,
  getStake,
  type ProofRequestParams,
  proofMarketplaceAbi,
  type RequesterClient,
  requestProof,
  slash,
} from '../ts/index.js'

const keepLogs = process.argv.includes('--keep-logs')
/** One request posted every this many milliseconds while the faults run. */
const LOAD_INTERVAL_MS = 2_000
/** Listed by the runner; requests allow PROVING_TIME and stay assignable MATCHING_WINDOW seconds. */
const LISTED_PROVING_TIME = 20
const PROVING_TIME = 120
const MATCHING_WINDOW = 180
const PRICE = parseEther('10')
const MAX_REWARD = parseEther('40')
/** The matcher takes a prover for gone LISTED_PROVING_TIME + this after a task it leaves unanswered. */
const LIVENESS_GRACE = 20
/** What the matcher logs as it takes a prover for gone (enclave/matcher/gone-provers.ts). */
const GONE = 'prover left a task unanswered'
/** Blocks a crashed service stays down (one block a second): requests pile up meanwhile. */
const DOWN_BLOCKS = 15n
/** How long every service gets to answer its health probe again after a fault. */
const RECOVERY_MS = 240_000
/** How long the requests get to finish on their own after the load stops, before the clock is moved. */
const SETTLE_MS = 240_000

const started = performance.now()
const seconds = () => (performance.now() - started) / 1000
const say = (text: string) => console.log(`${seconds().toFixed(1).padStart(7)} s  ${text}`)

type Running = { relayers: Service[]; matcher: Service; prover: Service }
type Phase = { fault: string; downS: number; recoveredInS: number }
type Check = { name: string; ok: boolean; detail: string }

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-fault-run-'))
  const launch: LaunchOptions = { logDir: join(dir, 'logs'), stateDir: join(dir, 'state') }
  let network: Network | undefined
  let running: Running | undefined
  let restarted: Anvil | undefined
  try {
    say('starting the two-chain network')
    network = await startNetwork({})
    const net = network
    await fundActors(net)
    const markets = await createDevMarkets(net)
    const offers: ProverMarketOffer[] = [
      { marketId: markets.groth16Restaked, backend: 'groth16', price: PRICE, provingTime: LISTED_PROVING_TIME },
      { marketId: markets.groth16Native, backend: 'groth16', price: PRICE, provingTime: LISTED_PROVING_TIME },
      { marketId: markets.teeWasm, backend: 'tee-wasm', price: PRICE, provingTime: LISTED_PROVING_TIME },
    ]
    // The faults exercised are the stake-backed path's (missed deadlines, slashes): the fast lane stays off, and the
    // matcher moves to a new port on restart, which a runner polling it would not follow.
    const matcherLaunch = {
      ...launch,
      env: { MATCHER_LIVENESS_GRACE: String(LIVENESS_GRACE), MATCHER_FAST_LANE: 'false' },
    }
    const startProverRunner = () => startProver(net, { ...launch, markets: offers, claimFallback: true })
    say('starting 3 relayers, the matcher and the prover runner')
    running = {
      relayers: await startRelayers(net, launch),
      matcher: await startMatcher(net, matcherLaunch),
      prover: await startProverRunner(),
    }
    const live = running
    await restakedStakeLive(net)
    const before = await holdings(net)

    say(`steady load: a request every ${LOAD_INTERVAL_MS / 1000} s (TEE public, TEE private, Groth16 private)`)
    const load = startLoad(net, markets)
    // A request no listing can serve (its max reward under every price): it expires unassigned and is cancelled.
    await load.post({ marketId: markets.teeWasm, maxReward: PRICE - 1n, publicInputs: teePublicInputs() })
    const phases: Phase[] = []
    // A crashed service stays down while DOWN_BLOCKS are mined; the chain stays down until the matcher notices.
    const fault = async (
      name: string,
      crash: () => Promise<void>,
      restart: () => Promise<void>,
      down: () => Promise<unknown> = () => blocksPass(net, DOWN_BLOCKS),
    ) => {
      say(`fault: ${name}`)
      const crashedAt = performance.now()
      await crash()
      await down()
      const restartedAt = performance.now()
      await restart()
      await allHealthy(live)
      const recoveredInS = (performance.now() - restartedAt) / 1000
      phases.push({ fault: name, downS: (restartedAt - crashedAt) / 1000, recoveredInS })
      say(`  back: every service healthy ${recoveredInS.toFixed(1)} s after the restart`)
    }
    await blocksPass(net, DOWN_BLOCKS)
    await fault(
      'kill -9 of the matcher',
      () => live.matcher.kill(),
      async () => {
        live.matcher = await startMatcher(net, matcherLaunch)
      },
    )
    const goneBefore = await said(live.matcher, GONE)
    const proverDown = { crashed: 0n, gone: 0n, restarted: 0n }
    await fault(
      'kill -9 of the prover runner (down until the matcher takes it for gone)',
      async () => {
        await live.prover.kill()
        proverDown.crashed = await head(net)
        // Due before the runner is back: assigned to the dead prover while it has room, it misses its deadline and is
        // slashed; with its room taken by the load, it expires unassigned and is cancelled.
        const short = { provingTime: LISTED_PROVING_TIME, matchingWindow: 30 }
        await load.post({ marketId: markets.teeWasm, publicInputs: teePublicInputs(), ...short })
      },
      async () => {
        proverDown.restarted = await head(net)
        live.prover = await startProverRunner()
      },
      async () => {
        await until(async () => (await said(live.matcher, GONE)) > goneBefore)
        proverDown.gone = await head(net)
        await blocksPass(net, DOWN_BLOCKS)
      },
    )
    await fault(
      'kill -9 of one relayer',
      () => (live.relayers[0] as Service).kill(),
      async () => {
        live.relayers = await restartRelayers(net, launch, live.relayers, [0])
      },
    )
    await fault(
      'kill -9 of two relayers (the quorum gone)',
      async () => {
        await Promise.all([(live.relayers[0] as Service).kill(), (live.relayers[1] as Service).kill()])
      },
      async () => {
        live.relayers = await restartRelayers(net, launch, live.relayers, [0, 1])
      },
    )
    let stateFile = ''
    await fault(
      'kill -9 of the marketplace chain, restarted from a state dump',
      async () => {
        stateFile = await dumpAndKillChain(net, dir, restarted)
      },
      async () => {
        restarted = await startChainFrom(net, restarted, stateFile)
      },
      () => unhealthy(live.matcher),
    )
    load.stop()
    await load.done
    say(`load stopped: ${load.posted} requests posted, ${load.failed} posts refused while something was down`)

    const checks: Check[] = []
    checks.push(await healthCheck(live))
    checks.push(await deadProverCheck(net, proverDown))
    say('waiting for every request to end on its own')
    await settle(net, SETTLE_MS)
    const forced = await endTheRest(net)
    const requests = await requestOutcomes(net)
    checks.push(...requestChecks(requests))
    checks.push(...(await balanceChecks(net, before, requests)))
    report({ phases, checks, requests, forced, load })
    return checks.every((check) => check.ok) ? 0 : 1
  } finally {
    if (running !== undefined) {
      for (const service of [running.prover, running.matcher, ...running.relayers]) {
        await service.stop().catch(() => {})
      }
    }
    await network?.stop().catch(() => {})
    await restarted?.stop().catch(() => {})
    if (keepLogs) console.log(`logs: ${launch.logDir}`)
    else await rm(dir, { recursive: true, force: true })
  }
}

// ------------------------------------------------------------------------------------------------------ load

type Load = {
  stop: () => void
  done: Promise<void>
  posted: number
  failed: number
  /** Posts a request of the caller's own making as the load's next one (one requester account, one nonce order). */
  post: (
    params: Omit<ProofRequestParams, 'maxReward' | 'provingTime' | 'matchingWindow'> & Partial<ProofRequestParams>,
  ) => Promise<void>
}

/** Posts one request every LOAD_INTERVAL_MS, cycling through the three kinds, until stopped. */
function startLoad(net: Network, markets: DevMarkets): Load {
  const requester: RequesterClient = { ...net.marketplace.actors.requester, attestation: net.attestation.marketplace }
  let stopping = false
  const schedule = { maxReward: MAX_REWARD, provingTime: PROVING_TIME, matchingWindow: MATCHING_WINDOW }
  const extra: { send: () => Promise<unknown>; resolve: () => void; reject: (error: unknown) => void }[] = []
  const load: Load = {
    stop: () => {
      stopping = true
    },
    done: Promise.resolve(),
    posted: 0,
    failed: 0,
    post: (params) =>
      new Promise<void>((resolve, reject) => {
        extra.push({ send: () => requestProof(requester, { ...schedule, ...params }), resolve, reject })
      }),
  }
  const kinds = [
    async () => requestProof(requester, { ...schedule, marketId: markets.teeWasm, publicInputs: teePublicInputs() }),
    async () => {
      const preimage = new Uint8Array(randomBytes(48))
      const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256(preimage)])
      return requestProof(requester, { ...schedule, marketId: markets.teeWasm, publicInputs, privateInputs: preimage })
    },
    async () => {
      const statement = await preimageStatement()
      const privateInputs = stringToBytes(JSON.stringify({ preimage: statement.preimage.toString() }))
      const marketId = markets.groth16Restaked
      return requestProof(requester, { ...schedule, marketId, publicInputs: statement.publicInputs, privateInputs })
    },
  ]
  load.done = (async () => {
    for (let i = 0; !stopping; i++) {
      const next = performance.now() + LOAD_INTERVAL_MS
      const own = extra.shift()
      if (own !== undefined) {
        await own.send().then(own.resolve, own.reject)
        continue
      }
      try {
        await (kinds[i % kinds.length] as () => Promise<unknown>)()
        load.posted++
      } catch {
        // The chain or the matcher key was unreachable: a requester would retry; the run counts it.
        load.failed++
      }
      await sleep(Math.max(0, next - performance.now()))
    }
  })()
  return load
}

/** A statement the TEE-WASM program proves with no private input: sha256 of nothing, under a fresh context. */
function teePublicInputs() {
  return concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
}

// ------------------------------------------------------------------------------------------------------ faults

/** Starts the crashed relayers again on their own ports, where their peers look for them. */
async function restartRelayers(
  net: Network,
  launch: LaunchOptions,
  relayers: Service[],
  which: number[],
): Promise<Service[]> {
  const ports = relayers.map((relayer) => Number(new URL(relayer.healthUrl).port))
  const back = [...relayers]
  for (const i of which) back[i] = await startRelayer(net, { ...launch, ports }, i)
  return back
}

/**
 * Dumps the marketplace chain's state (anvil_dumpState) and kills its anvil with SIGKILL. Blocks mined between the
 * dump and the kill are lost, as after a crash: services see the chain go back. Returns the state file.
 */
async function dumpAndKillChain(net: Network, dir: string, current: Anvil | undefined): Promise<string> {
  const dump = hexToBytes(await net.marketplace.test.dumpState())
  // anvil_dumpState answers gzip; --load-state reads the JSON.
  const json = dump[0] === 0x1f && dump[1] === 0x8b ? gunzipSync(dump) : dump
  const file = join(dir, 'marketplace-state.json')
  await writeFile(file, json)
  const anvil = current ?? net.marketplace.anvil
  const exited = new Promise((resolve) => anvil.process.once('exit', resolve))
  anvil.process.kill('SIGKILL')
  await exited
  return file
}

/** A new anvil on the chain's port and chain id, from the state file, mining a block a second again. */
async function startChainFrom(net: Network, current: Anvil | undefined, stateFile: string): Promise<Anvil> {
  const port = (current ?? net.marketplace.anvil).port
  const fresh = await startAnvil({ port, chainId: net.marketplace.deployment.chainId, loadState: stateFile })
  await net.marketplace.test.setIntervalMining({ interval: 1 })
  return fresh
}

// ------------------------------------------------------------------------------------------------------ waiting

async function head(net: Network): Promise<bigint> {
  return net.marketplace.reader.public.getBlockNumber({ cacheTime: 0 })
}

/** Waits until `count` blocks were mined from now (tolerating a chain that is briefly unreachable). */
async function blocksPass(net: Network, count: bigint): Promise<bigint> {
  let from: bigint | undefined
  for (;;) {
    try {
      const now = await head(net)
      from ??= now
      if (now >= from + count) return now - from
    } catch {
      // The chain is restarting.
    }
    await sleep(500)
  }
}

async function healthy(service: Service): Promise<boolean> {
  try {
    return (await fetch(service.healthUrl, { signal: AbortSignal.timeout(2_000) })).ok
  } catch {
    return false
  }
}

/** How many of the service's log lines so far start with `message`. */
async function said(service: Service, message: string): Promise<number> {
  return (await logLines(service.logFile)).filter((line) => String(line.msg).startsWith(message)).length
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(500)
}

/** Waits until the service's health probe fails: it noticed what went wrong. */
async function unhealthy(service: Service): Promise<void> {
  while (await healthy(service)) await sleep(250)
}

async function allHealthy(running: Running): Promise<void> {
  const deadline = performance.now() + RECOVERY_MS
  for (;;) {
    const services = [running.matcher, running.prover, ...running.relayers]
    const states = await Promise.all(services.map(healthy))
    if (states.every(Boolean)) return
    if (performance.now() > deadline) {
      const down = services.filter((_, i) => !states[i]).map((service) => service.name)
      throw new Error(`not healthy ${RECOVERY_MS / 1000} s after the restart: ${down.join(', ')}`)
    }
    await sleep(500)
  }
}

async function healthCheck(running: Running): Promise<Check> {
  const services = [running.matcher, running.prover, ...running.relayers]
  const states = await Promise.all(services.map(healthy))
  const down = services.filter((_, i) => !states[i]).map((service) => service.name)
  return {
    name: 'every service healthy at the end',
    ok: down.length === 0,
    detail: down.length === 0 ? services.map((service) => service.name).join(', ') : `down: ${down.join(', ')}`,
  }
}

const ENDED = new Set(['Fulfilled', 'InputsRejected', 'Slashed', 'Cancelled'])
const STUCK = new Set(['Expired', 'DeadlineMissed'])

/** Waits until every request has ended or can only be cancelled or slashed, for at most `timeoutMs`. */
async function settle(net: Network, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const states = await Promise.all((await createdIds(net)).map((id) => getRequestState(net.marketplace.reader, id)))
    const pending = states.filter((state) => !ENDED.has(state) && !STUCK.has(state)).length
    if (pending === 0) return
    if (performance.now() > deadline) {
      say(`  ${pending} requests still open or in proving after ${timeoutMs / 1000} s: moving the clock`)
      return
    }
    await sleep(2_000)
  }
}

/** Moves the clock past every deadline, then cancels what expired unassigned and slashes what missed its deadline. */
async function endTheRest(net: Network): Promise<{ cancelled: number; slashed: number }> {
  const { reader, actors } = net.marketplace
  const ids = await createdIds(net)
  const states = await Promise.all(ids.map((id) => getRequestState(reader, id)))
  if (states.some((state) => !ENDED.has(state))) await advanceTime(net.marketplace, MATCHING_WINDOW + PROVING_TIME)
  let cancelled = 0
  let slashed = 0
  for (const id of ids) {
    const state = await getRequestState(reader, id)
    if (state === 'Expired') {
      await cancel(actors.bystander, id)
      cancelled++
    } else if (state === 'DeadlineMissed') {
      await slash(actors.bystander, id)
      slashed++
    }
  }
  return { cancelled, slashed }
}

// ------------------------------------------------------------------------------------------------------ checks

async function createdIds(net: Network): Promise<bigint[]> {
  const { reader, deployment } = net.marketplace
  const logs = await reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'RequestCreated',
    fromBlock: deployment.deployBlock,
    strict: true,
  })
  return logs.map((log) => log.args.requestId)
}

type Outcome = {
  requestId: bigint
  maxReward: bigint
  state: string
  assigned: number
  endings: string[]
  price: bigint
  refund: bigint
  slash?: { penalty: bigint; compensation: bigint; slasherReward: bigint; slasher: Address }
}

/** Every request's life from the marketplace's events, and its state now. */
async function requestOutcomes(net: Network): Promise<Outcome[]> {
  const { reader, deployment } = net.marketplace
  const logs = await reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    fromBlock: deployment.deployBlock,
    strict: true,
  })
  const outcomes = new Map<bigint, Outcome>()
  for (const log of logs) {
    if (log.eventName !== 'RequestCreated') continue
    const { requestId, request } = log.args
    outcomes.set(requestId, {
      requestId,
      maxReward: request.maxReward,
      state: '',
      assigned: 0,
      endings: [],
      price: 0n,
      refund: 0n,
    })
  }
  for (const log of logs) {
    const args = log.args as { requestId?: bigint }
    const outcome = args.requestId === undefined ? undefined : outcomes.get(args.requestId)
    if (outcome === undefined) continue
    switch (log.eventName) {
      case 'TaskAssigned':
        outcome.assigned++
        break
      case 'RequestFulfilled':
      case 'InputsRejected':
        outcome.endings.push(log.eventName)
        outcome.price += log.args.price
        outcome.refund += log.args.refund
        break
      case 'RequestCancelled':
        outcome.endings.push(log.eventName)
        outcome.refund += log.args.refund
        break
      case 'TaskSlashed': {
        outcome.endings.push(log.eventName)
        const { penalty, compensation, slasherReward, slasher } = log.args
        outcome.slash = { penalty, compensation, slasherReward, slasher }
        break
      }
      default:
        break
    }
  }
  for (const outcome of outcomes.values()) outcome.state = await getRequestState(reader, outcome.requestId)
  return [...outcomes.values()]
}

/** The dead prover took work only until the matcher took it for gone, none from then until its restart. */
async function deadProverCheck(net: Network, down: { crashed: bigint; gone: bigint; restarted: bigint }) {
  const { reader, deployment, actors } = net.marketplace
  const logs = await reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'TaskAssigned',
    args: { prover: actors.prover.wallet.account.address },
    fromBlock: down.crashed + 1n,
    toBlock: down.restarted,
    strict: true,
  })
  const before = logs.filter((log) => log.blockNumber <= down.gone).length
  const after = logs.length - before
  return {
    name: 'the dead prover got no work once the matcher took it for gone',
    ok: after === 0,
    detail: `${before} tasks before (blocks ${down.crashed + 1n}–${down.gone}), ${after} after (to block ${down.restarted})`,
  }
}

function requestChecks(requests: Outcome[]): Check[] {
  const unended = requests.filter((r) => !ENDED.has(r.state) || r.endings.length !== 1)
  const twice = requests.filter((r) => r.assigned > 1)
  const unbalanced = requests.filter((r) => {
    if (r.state === 'Slashed') return r.price !== 0n
    return r.price + r.refund !== r.maxReward
  })
  const list = (rs: Outcome[]) => rs.map((r) => `${r.requestId} (${r.state}, ${r.endings.join('+') || 'no end'})`)
  return [
    {
      name: 'every request ended exactly once',
      ok: unended.length === 0 && requests.length > 0,
      detail: unended.length === 0 ? `${requests.length} requests` : list(unended).join(', '),
    },
    {
      name: 'no request assigned twice',
      ok: twice.length === 0,
      detail:
        twice.length === 0
          ? `${requests.filter((r) => r.assigned === 1).length} assigned once`
          : list(twice).join(', '),
    },
    {
      name: 'each fulfilled, rejected or cancelled escrow = price + refund',
      ok: unbalanced.length === 0,
      detail: unbalanced.length === 0 ? 'to the wei' : list(unbalanced).join(', '),
    },
  ]
}

type Holdings = {
  /** The requester's payment tokens: in its wallet plus its marketplace balance. */
  requesterPayment: bigint
  requesterStake: bigint
  proverReward: bigint
  proverStaked: bigint
  bystanderStake: bigint
  treasuryStake: bigint
}

async function holdings(net: Network): Promise<Holdings> {
  const { reader, deployment, actors } = net.marketplace
  const { paymentToken, stakeToken } = deployment.contracts
  const requester = actors.requester.wallet.account.address
  const proverAddress = actors.prover.wallet.account.address
  const { rewardAddress } = await getProver(reader, proverAddress)
  const treasury = await reader.public.readContract({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    functionName: 'treasury',
  })
  const wallet = (token: Address, account: Address) =>
    reader.public.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [account] })
  return {
    requesterPayment: (await wallet(paymentToken, requester)) + (await getBalance(reader, requester, paymentToken)),
    requesterStake: await getBalance(reader, requester, stakeToken),
    proverReward: await getBalance(reader, rewardAddress, paymentToken),
    proverStaked: (await getStake(reader, proverAddress)).staked,
    bystanderStake: await getBalance(reader, actors.bystander.wallet.account.address, stakeToken),
    treasuryStake: await getBalance(reader, treasury, stakeToken),
  }
}

async function balanceChecks(net: Network, before: Holdings, requests: Outcome[]): Promise<Check[]> {
  const { reader, deployment } = net.marketplace
  const { paymentToken, stakeToken, proofMarketplace } = deployment.contracts
  const after = await holdings(net)
  const paid = requests.reduce((sum, r) => sum + r.price, 0n)
  const slashes = requests.flatMap((r) => (r.slash === undefined ? [] : [r.slash]))
  const penalty = slashes.reduce((sum, s) => sum + s.penalty, 0n)
  const compensation = slashes.reduce((sum, s) => sum + s.compensation, 0n)
  const reward = slashes.reduce((sum, s) => sum + s.slasherReward, 0n)
  const open = requests.filter((r) => !ENDED.has(r.state)).reduce((sum, r) => sum + r.maxReward, 0n)
  // Every account that can hold a marketplace balance here: the dev roles and the treasury.
  const accounts = new Set<Address>(Object.values(net.marketplace.actors).map((c) => c.wallet.account.address))
  accounts.add(
    await reader.public.readContract({ address: proofMarketplace, abi: proofMarketplaceAbi, functionName: 'treasury' }),
  )
  const held = async (token: Address) =>
    reader.public.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [proofMarketplace] })
  const owed = async (token: Address) => {
    let sum = 0n
    for (const account of accounts) sum += await getBalance(reader, account, token)
    return sum
  }
  const [paymentHeld, paymentOwed, stakeHeld, stakeOwed] = await Promise.all([
    held(paymentToken),
    owed(paymentToken),
    held(stakeToken),
    owed(stakeToken),
  ])
  const eq = (name: string, actual: bigint, expected: bigint): Check => ({
    name,
    ok: actual === expected,
    detail:
      actual === expected ? `${formatEther(actual)}` : `${formatEther(actual)}, expected ${formatEther(expected)}`,
  })
  return [
    eq('marketplace payment tokens = balances owed + open escrow', paymentHeld, paymentOwed + open),
    eq('marketplace stake tokens = balances owed', stakeHeld, stakeOwed),
    eq('requester paid exactly the prices of its proofs', before.requesterPayment - after.requesterPayment, paid),
    eq('prover earned exactly those prices', after.proverReward - before.proverReward, paid),
    eq('prover stake fell by the slash penalties', before.proverStaked - after.proverStaked, penalty),
    eq('requester got the slash compensation', after.requesterStake - before.requesterStake, compensation),
    eq('slasher got the slasher rewards', after.bystanderStake - before.bystanderStake, reward),
    eq(
      'treasury got the rest of the penalties',
      after.treasuryStake - before.treasuryStake,
      penalty - compensation - reward,
    ),
  ]
}

// ------------------------------------------------------------------------------------------------------ report

function report(params: {
  phases: Phase[]
  checks: Check[]
  requests: Outcome[]
  forced: { cancelled: number; slashed: number }
  load: Load
}): void {
  const count = (state: string) => params.requests.filter((r) => r.state === state).length
  const lines = [
    '',
    'Cairn fault run',
    '  faults (each service restarted after it; "back" = every service healthy again)',
    ...params.phases.map(
      (p) =>
        `    ${p.fault.padEnd(72)} down ${p.downS.toFixed(1).padStart(5)} s, all healthy ${p.recoveredInS.toFixed(1).padStart(5)} s after the restart`,
    ),
    `  requests: ${params.requests.length} on chain (${params.load.posted} posted by the load, ${params.load.failed} posts refused; a post mined after the state dump is lost with its block)`,
    `    fulfilled ${count('Fulfilled')}, inputs rejected ${count('InputsRejected')}, cancelled ${count('Cancelled')} (${params.forced.cancelled} after the clock moved), slashed ${count('Slashed')} (${params.forced.slashed} after the clock moved)`,
    '  checks',
    ...params.checks.map((c) => `    ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    `  ${params.checks.every((c) => c.ok) ? 'all checks passed' : 'SOME CHECKS FAILED'} in ${(seconds() / 60).toFixed(1)} min`,
  ]
  console.log(lines.join('\n'))
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
