import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { parseEther } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Matcher, startMatcher } from '../enclave/matcher/service.js'
import { anvilAccount } from '../ts/devnet/accounts.js'
import { devMatcherConfig, prepareMatcherDevnet } from '../ts/devnet/matcher.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { groth16MarketParams, preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import {
  chainTime,
  createMarket,
  createRequest,
  deposit,
  list,
  mintDevToken,
  ProofRequestFailedError,
  type ProofStage,
  register,
  stake,
  type UnassignedReason,
  waitForProof,
} from '../ts/index.js'
import { advanceTime, useDevnet } from './anvil.js'
import { cairnJson } from './cairn.js'

// A market whose only prover listed but staked nothing: the matcher cannot assign, and a requester's wait says why
// (the matcher's reason) instead of going quiet until a timeout.

const STAKE_PER_TASK = parseEther('100')
const MAX_REWARD = parseEther('40')
const OFFER = { price: parseEther('10'), provingTime: 600 }
const SUBMITTER = anvilAccount(7)
const logger = pino({ level: process.env.MATCHER_TEST_LOG ?? 'silent' })

let attestationOut: string | undefined
let keyDir: string

const current = useDevnet(async (devnet) => {
  const { actors, anvil, deployment } = devnet
  attestationOut = `deployments/e2e-unassigned-${anvil.port}.attestation.json`
  const prepared = await prepareMatcherDevnet(devnet, {
    seed: 'cairn unassigned reason',
    out: attestationOut,
    matcherOperators: [SUBMITTER.account.address],
  })
  const { marketId } = await createMarket(
    actors.deployer,
    groth16MarketParams(deployment, { stakePerTask: STAKE_PER_TASK }),
  )
  // Registered and listed, but no stake: every assignment would fail the market's stake lock.
  await register(actors.prover, { capacity: 8 })
  await list(actors.prover, { marketId, ...OFFER })
  const requester = actors.requester
  const budget = MAX_REWARD * 10n
  await mintDevToken(requester, deployment.contracts.paymentToken, requester.wallet.account.address, budget)
  await deposit(requester, deployment.contracts.paymentToken, budget)
  const { publicInputs } = await preimageStatement()
  return { prepared, marketId, publicInputs }
})

beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'cairn-unassigned-'))
})

afterAll(async () => {
  if (attestationOut) await rm(join(repoRoot, attestationOut), { force: true })
  await rm(keyDir, { recursive: true, force: true })
})

async function withMatcher<T>(name: string, run: (matcher: Matcher) => Promise<T>): Promise<T> {
  const { devnet, fixture } = current()
  const config = devMatcherConfig(devnet, fixture.prepared, {
    keyFile: join(keyDir, `${name}.json`),
    submitterPrivateKey: SUBMITTER.privateKey,
  })
  const matcher = await startMatcher(config, {
    logger,
    deployment: devnet.deployment,
    attestation: fixture.prepared.attestation,
  })
  try {
    return await run(matcher)
  } finally {
    await matcher.stop()
  }
}

async function postRequest() {
  const { devnet, fixture } = current()
  const params = preimageRequest({
    marketId: fixture.marketId,
    now: await chainTime(devnet.reader),
    publicInputs: fixture.publicInputs,
    maxReward: MAX_REWARD,
    refundAddress: devnet.actors.requester.wallet.account.address,
  })
  return createRequest(devnet.actors.requester, params)
}

/** The prover's current stake made lockable: what fixes the cause the matcher reported. */
async function stakeProver(): Promise<void> {
  const { devnet } = current()
  const prover = devnet.actors.prover
  await mintDevToken(prover, devnet.deployment.contracts.stakeToken, prover.wallet.account.address, STAKE_PER_TASK)
  await stake(prover, { amount: STAKE_PER_TASK })
}

describe('waiting for an unassigned request', () => {
  it('reports the matcher’s reason (InsufficientStake) once, then the assignment after the prover stakes', async () => {
    const { devnet } = current()
    await withMatcher('stake', async (matcher) => {
      const created = await postRequest()
      const reasons: UnassignedReason[] = []
      const stages: ProofStage[] = []
      const stop = new AbortController()
      let reported: () => void = () => {}
      const firstReason = new Promise<void>((resolve) => {
        reported = resolve
      })
      const waiting = waitForProof(devnet.reader, created.requestId, {
        pollIntervalMs: 20,
        matcherUrl: matcher.url,
        signal: stop.signal,
        onUnassigned: (reason) => {
          reasons.push(reason)
          reported()
        },
        onProgress: (stage) => {
          stages.push(stage)
          // The wait's job here ends at the assignment: nothing in this test proves.
          if (stage === 'assigned') stop.abort()
        },
      })
      await firstReason
      expect(reasons[0]?.code).toBe('InsufficientStake')
      expect(reasons[0]?.message).toContain('can lock 0 of the 100e18 stake')
      expect(reasons[0]?.message).toContain(devnet.actors.prover.wallet.account.address)

      // Further polls with the same cause add nothing: reasons are reported when they change.
      await devnet.test.mine({ blocks: 3 })
      const direct = await (await fetch(`${matcher.url}/requests/${created.requestId}`)).json()
      expect(direct).toMatchObject({ requestId: created.requestId.toString(), reason: { code: 'InsufficientStake' } })
      expect(reasons.map((reason) => reason.code)).toEqual(['InsufficientStake'])
      // `cairn status` asks the same matcher and shows the same reason.
      const shown = await cairnJson([
        'status',
        created.requestId.toString(),
        '--matcher-url',
        matcher.url,
        '--rpc-url',
        devnet.anvil.rpcUrl,
        '--deployment',
        `deployments/e2e-${devnet.anvil.port}.json`,
      ])
      expect(shown).toMatchObject({
        state: 'Open',
        unassigned: { code: 'InsufficientStake', message: reasons[0]?.message },
      })

      await stakeProver()
      const ended = await waiting.catch((error: unknown) => error)
      expect(stop.signal.aborted).toBe(true)
      expect(ended).toBeInstanceOf(Error)
      expect(stages).toContain('assigned')
      expect(reasons.map((reason) => reason.code)).not.toContain('MatcherUnreachable')
      // Once the matcher reads the assignment it no longer holds the request as open (bounded by the test timeout).
      const answer = () => fetch(`${matcher.url}/requests/${created.requestId}`)
      while ((await answer()).status !== 404) await sleep(20)
    })
  })

  it('gives up at the matching expiry naming the matcher’s last reason and what to do', async () => {
    const { devnet } = current()
    // Every test starts from the fixture's chain state: the prover has still staked nothing.
    await withMatcher('expiry', async (matcher) => {
      const created = await postRequest()
      const reasons: UnassignedReason[] = []
      const waiting = waitForProof(devnet.reader, created.requestId, {
        pollIntervalMs: 20,
        matcherUrl: matcher.url,
        onUnassigned: (reason) => reasons.push(reason),
      }).catch((error: unknown) => error)
      while (reasons.length === 0) await devnet.test.mine({ blocks: 1 })
      expect(reasons[0]?.code).toBe('InsufficientStake')
      await advanceTime(devnet, 601)
      const failure = await waiting
      expect(failure).toBeInstanceOf(ProofRequestFailedError)
      const error = failure as ProofRequestFailedError
      expect(error.outcome).toBe('Expired')
      expect(error.message).toContain("the matcher's last reason: InsufficientStake")
      expect(error.message).toContain(`cairn cancel ${created.requestId}`)
    })
  })
})
