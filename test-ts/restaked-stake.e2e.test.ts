import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, getAddress, parseEther, stringToBytes } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDevMarkets,
  type DevMarkets,
  fundActors,
  type LaunchOptions,
  restakedStakeLive,
  startMatcher,
  startProver,
  startRelayers,
} from '../ts/devnet/launch.js'
import { type Network, startNetwork } from '../ts/devnet/network.js'
import { preimageStatement } from '../ts/devnet/scenario.js'
import type { Service } from '../ts/devnet/services.js'
import { stakeMirrorAbi } from '../ts/generated.js'
import { requestProof, waitForProof } from '../ts/index.js'
import { eventually } from './eventually.js'

/*
 * The devnet's restaked market across epochs, with nobody but the prover runner proving the prover's leaves: the
 * relayers commit a snapshot every EPOCH_LENGTH seconds. A leaf backs new tasks while its own capture can still be
 * slashed in time (the vault's window, less the slash delay: hours on the devnet), so a new snapshot never leaves the
 * market without stake until the runner proves it; the runner still proves every new snapshot, so the newest capture
 * (the longest window) backs its tasks.
 */

const EPOCH_LENGTH = 12
const EPOCHS = 3
const PRICE = parseEther('25')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 120

type Setup = { network: Network; markets: DevMarkets; dir: string; services: Service[] }
let setup: Setup | undefined

function current(): Setup {
  if (!setup) throw new Error('the network is not set up')
  return setup
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-restaked-stake-'))
  const launch: LaunchOptions = { logDir: join(dir, 'logs'), stateDir: join(dir, 'state') }
  const network = await startNetwork({})
  setup = { network, markets: { groth16Restaked: 0n, groth16Native: 0n, teeWasm: 0n, noir: 0n }, dir, services: [] }
  await fundActors(network)
  const markets = await createDevMarkets(network)
  setup = { ...setup, markets }
  setup.services.push(...(await startRelayers(network, { ...launch, epochLength: EPOCH_LENGTH })))
  setup.services.push(await startMatcher(network, launch))
  setup.services.push(
    await startProver(network, {
      ...launch,
      markets: [{ marketId: markets.groth16Restaked, backend: 'groth16', price: PRICE, provingTime: PROVING_TIME }],
    }),
  )
}, 300_000)

afterAll(async () => {
  for (const service of [...(setup?.services ?? [])].reverse()) await service.stop()
  await setup?.network.stop()
  if (setup) await rm(setup.dir, { recursive: true, force: true })
}, 120_000)

const mirror = () => ({ address: current().network.restaking.marketplace.contracts.stakeMirror, abi: stakeMirrorAbi })

function currentEpoch(): Promise<bigint> {
  return current().network.marketplace.reader.public.readContract({ ...mirror(), functionName: 'currentEpoch' })
}

/** Resolves once the relayers commit an epoch after `epoch` (read from the mirror's state). */
function epochAfter(epoch: bigint): Promise<bigint> {
  return eventually(`an epoch after ${epoch}`, async () => {
    const now = await currentEpoch()
    return now > epoch ? now : undefined
  })
}

/**
 * Resolves with the first snapshot the relayers commit after `epoch`: its epoch and the block it landed in. Reads the
 * mirror's logs (no node-side filter: a loaded anvil may drop one).
 */
function snapshotAfter(epoch: bigint): Promise<{ epoch: bigint; blockNumber: bigint }> {
  const { reader } = current().network.marketplace
  const fromBlock = reader.deployment.deployBlock
  return eventually(`a snapshot after epoch ${epoch}`, async () => {
    const logs = await reader.public.getContractEvents({
      ...mirror(),
      eventName: 'SnapshotCommitted',
      fromBlock,
      strict: true,
    })
    const next = logs.find((log) => log.args.epoch > epoch)
    return next === undefined ? undefined : { epoch: next.args.epoch, blockNumber: next.blockNumber }
  })
}

/** A private-input Groth16 request in the restaked market, as the devnet posts it; resolves with its fulfilment. */
async function serveOne(): Promise<{ prover: Address }> {
  const { network, markets } = current()
  const requester = { ...network.marketplace.actors.requester, attestation: network.attestation.marketplace }
  const statement = await preimageStatement()
  const posted = await requestProof(requester, {
    marketId: markets.groth16Restaked,
    maxReward: MAX_REWARD,
    provingTime: PROVING_TIME,
    publicInputs: statement.publicInputs,
    privateInputs: stringToBytes(JSON.stringify({ preimage: statement.preimage.toString() })),
  })
  const proof = await waitForProof(network.marketplace.reader, posted.requestId, { timeoutMs: 120_000 })
  return { prover: proof.prover }
}

/** Who sent the proofs of the prover's leaves in `epoch`. */
async function leafProvers(epoch: bigint): Promise<Address[]> {
  const { network } = current()
  const { reader } = network.marketplace
  const logs = await reader.public.getContractEvents({
    ...mirror(),
    eventName: 'StakeProven',
    args: { epoch, prover: network.marketplace.actors.prover.wallet.account.address },
    fromBlock: network.restaking.marketplace.deployBlock,
    strict: true,
  })
  const senders = await Promise.all(
    logs.map(async (log) => getAddress((await reader.public.getTransaction({ hash: log.transactionHash })).from)),
  )
  return senders
}

describe('restaked stake stays live', () => {
  it('the prover runner proves each new snapshot, so the restaked market serves requests posted across several epochs', async () => {
    const { network } = current()
    const prover = network.marketplace.actors.prover.wallet.account.address
    await restakedStakeLive(network)
    const served: bigint[] = []
    let epoch = await currentEpoch()
    for (let round = 0; round < EPOCHS; round++) {
      if (round > 0) epoch = await epochAfter(epoch)
      // Nobody else proves: the stake comes back in the new epoch because the runner proved its leaf.
      await restakedStakeLive(network)
      const posting = await currentEpoch()
      expect(await serveOne()).toEqual({ prover })
      served.push(posting)
      expect(await leafProvers(posting)).toEqual([prover])
      epoch = posting
    }
    expect(new Set(served).size).toBe(EPOCHS)
  }, 600_000)

  it('a new snapshot never takes the stake away: at the block it lands, before any proof of it, the older leaf still backs tasks, and a request posted epochs later is served', async () => {
    const { network } = current()
    const prover = network.marketplace.actors.prover.wallet.account.address
    await restakedStakeLive(network)
    const first = await currentEpoch()
    let epoch = first
    for (let round = 0; round < EPOCHS; round++) {
      const snapshot = await snapshotAfter(epoch)
      // The runner learns of a snapshot only once its block is mined, so no proof of it is in that block: what is
      // available there is the older leaf's stake.
      const atCommit = await network.marketplace.reader.public.readContract({
        ...mirror(),
        functionName: 'availableStake',
        args: [prover],
        blockNumber: snapshot.blockNumber,
      })
      expect(atCommit).toBeGreaterThan(0n)
      epoch = snapshot.epoch
    }
    expect(epoch - first).toBeGreaterThanOrEqual(BigInt(EPOCHS))
    expect(await serveOne()).toEqual({ prover })
  }, 600_000)
})
