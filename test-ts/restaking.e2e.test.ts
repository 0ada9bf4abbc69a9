import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Abi,
  type Account,
  type Address,
  bytesToHex,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeErrorResult,
  type Hex,
  http,
  keccak256,
  type PrivateKeyAccount,
  type PublicClient,
  parseEther,
  type TestClient,
  type Transport,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDevCollateral, createDevPki } from '../enclave/attestation/dev/index.js'
import type { RelayerConfig } from '../relayer/src/config.js'
import { slashOutcomesDigest } from '../relayer/src/outcomes.js'
import { createRelayer, type Relayer } from '../relayer/src/relayer.js'
import { slashBatchDigest } from '../relayer/src/slashes.js'
import { type Snapshot, snapshotDigest } from '../relayer/src/snapshots.js'
import { anvilAccount, type DevAccount, devRoles } from '../ts/devnet/accounts.js'
import { type Anvil, freePort, startAnvil } from '../ts/devnet/anvil.js'
import { devMeasurementOf } from '../ts/devnet/attestation.js'
import { deployAttestationWithForge, deployRestakingWithForge } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import { advanceTime, type Devnet, startDevnet } from '../ts/devnet/stack.js'
import {
  type AttestationDeployment,
  allowMeasurement,
  bindOperator,
  cairnNetworkMiddlewareAbi,
  chainTime,
  createMarket,
  createRequest,
  decodeCairnError,
  devTokenAbi,
  getActiveOperator,
  getBinding,
  getQueuedSlash,
  getStakeLock,
  iOperatorRegistryAbi,
  iOptInServiceAbi,
  iVaultAbi,
  iVetoSlasherAbi,
  list,
  mintDevToken,
  proveStakeLeaf,
  register,
  signAssignments,
  signOperatorBinding,
  slash,
  slashInboxAbi,
  slashOrderId,
  stakeMirrorAbi,
  submitAssignments,
  submitDevCollateral,
  type TeeClient,
  type WriteMutability,
  type WriteParameters,
  withListedTerms,
  write,
} from '../ts/index.js'
import { ethereumDeploymentSchema, marketplaceDeploymentSchema } from '../ts/restaking.js'
import { proofFor, stakeLeafHash, stakeTree } from '../ts/stake-tree.js'
import { eventually } from './eventually.js'

const ETHEREUM_CHAIN = 31337
const MARKETPLACE_CHAIN = 31338
const SEED = 'cairn restaking e2e'
const DEPOSIT = parseEther('1000')
const STAKE_PER_TASK = parseEther('100')
const PENALTY = parseEther('50')
const MAX_REWARD = parseEther('40')
const PROVING_TIME = 600
const EPOCH_LENGTH = 60
const FINALITY = 2
/** The veto vault's veto window: short, so the relayer keys' hour-long attestations outlive the whole file. */
const VETO_DURATION = 300
/** The vaults' epoch (the script's default) and the mirror's slash delay (the script's default). */
const VAULT_EPOCH = 86_400
const SLASH_DELAY = 3_600
/** Relayer keys live in enclaves; fixed here so failures reproduce. */
const relayerKeys = ['A', 'B'].map((label) => keccak256(toHex(`cairn restaking e2e relayer ${label}`)))
/**
 * Each relayer runs for its own admitted operator. A's operator is the lower address while A's key is the higher
 * one: a quorum ordered by signer instead of by operator would be refused.
 */
const relayerOperators = [anvilAccount(7), anvilAccount(8)]

const ethereumChain = foundry
const operatorAccount = anvilAccount(5).account
const stakerAccount = anvilAccount(6).account
const deployerKey = anvilAccount(devRoles.deployer).privateKey

type Setup = {
  eth: Anvil
  mkt: Devnet
  ethPublic: PublicClient<Transport, Chain>
  ethTest: TestClient<'anvil', Transport, Chain>
  ethereum: ReturnType<typeof ethereumDeploymentSchema.parse>
  marketplace: ReturnType<typeof marketplaceDeploymentSchema.parse>
  files: { ethereum: string; marketplace: string }
  marketId: bigint
  relayerPorts: number[]
  /** The dev PKI both chains pin (its seed is SEED): relayers quote under it. */
  pkiTime: number
  attestation: { marketplace: AttestationDeployment; ethereum: AttestationDeployment }
}

let setup: Setup | undefined
const written: string[] = []
const relayers: Relayer[] = []

const current = (): Setup => {
  if (!setup) throw new Error('not set up')
  return setup
}

/** Simulates, sends and waits for a write on Ethereum from `account`. */
async function ethSend<
  const abi extends Abi,
  name extends ContractFunctionName<abi, WriteMutability>,
  args extends ContractFunctionArgs<abi, WriteMutability, name>,
>(account: Account, call: WriteParameters<abi, name, args>) {
  const { ethPublic, eth } = current()
  const wallet = createWalletClient({ account, chain: ethereumChain, transport: http(eth.rpcUrl) })
  const receipt = await write({ public: ethPublic, wallet }, call)
  expect(receipt.status).toBe('success')
  return receipt
}

/**
 * The attestation stack on one chain, pinned to the shared dev root, with the relayer operators admitted and the dev
 * TD allowed for the Relayer role: each relayer then registers its own key from its operator's account as it starts.
 */
async function deployAttestation(params: {
  rpcUrl: string
  chainId: number
  out: string
  client: Omit<TeeClient, 'attestation'>
  pkiTime: number
}): Promise<AttestationDeployment> {
  const pki = createDevPki(SEED, { now: new Date(params.pkiTime * 1000) })
  const attestation = await deployAttestationWithForge({
    rpcUrl: params.rpcUrl,
    chainId: params.chainId,
    deployerKey,
    rootDer: bytesToHex(pki.root.der),
    relayerOperators: relayerOperators.map((operator) => operator.account.address),
    out: params.out,
  })
  written.push(params.out)
  const owner = { ...params.client, attestation }
  await submitDevCollateral(owner, buildDevCollateral(pki))
  await allowMeasurement(owner, { role: 'Relayer', measurement: devMeasurementOf(pki) })
  return attestation
}

function relayerConfig(index: number, key = relayerKeys[index] as Hex): RelayerConfig {
  const { eth, mkt, files, relayerPorts, pkiTime } = current()
  return {
    ethereumRpcUrl: eth.rpcUrl,
    marketplaceRpcUrl: mkt.anvil.rpcUrl,
    ethereumDeployment: join(repoRoot, files.ethereum),
    marketplaceDeployment: join(repoRoot, files.marketplace),
    privateKey: key,
    operatorPrivateKey: (relayerOperators[index] as DevAccount).privateKey,
    attestation: 'dev',
    devPkiSeed: SEED,
    devPkiTime: pkiTime,
    epochLength: EPOCH_LENGTH,
    finalityDepth: FINALITY,
    metricsPort: relayerPorts[index] as number,
    metricsHost: '127.0.0.1',
    pollInterval: 100,
    peers: relayerPorts.filter((_, i) => i !== index).map((port) => `http://127.0.0.1:${port}`),
    submitDelay: 1_500,
    maxBatch: 50,
    pageSize: 2,
    logLevel: (process.env.RELAYER_TEST_LOG_LEVEL as RelayerConfig['logLevel'] | undefined) ?? 'silent',
  }
}

async function startRelayer(
  index: number,
  options: { loop?: boolean; config?: Partial<RelayerConfig> } = {},
): Promise<Relayer> {
  const relayer = await createRelayer({ ...relayerConfig(index), ...options.config })
  relayers.push(relayer)
  if (options.loop ?? true) relayer.start()
  return relayer
}

async function stopRelayer(relayer: Relayer): Promise<void> {
  await relayer.stop()
  relayers.splice(relayers.indexOf(relayer), 1)
}

/**
 * Both chains move forward together, by at least `seconds` (relayer keys stay attested for an hour; captures must be
 * past on both). Ethereum lands one second past an epoch boundary: its block times then follow the wall clock, and a
 * relayer captures at the latest final boundary, so every round of the next minute of wall time, however slow the
 * machine, captures the same boundary (a boundary passing between two relayers' rounds would split their digests).
 */
async function advanceBoth(seconds: number): Promise<void> {
  const { ethPublic, ethTest, mkt } = current()
  const now = (await ethPublic.getBlock({ blockTag: 'latest' })).timestamp
  const length = BigInt(EPOCH_LENGTH)
  const landing = ((now + BigInt(seconds)) / length + 1n) * length + 1n
  await ethTest.setNextBlockTimestamp({ timestamp: landing })
  await ethTest.mine({ blocks: FINALITY + 1 })
  await advanceTime(mkt, Number(landing - now))
  await mkt.test.mine({ blocks: FINALITY })
}

beforeAll(async () => {
  const eth = await startAnvil({ chainId: ETHEREUM_CHAIN })
  const mktPort = await freePort()
  const mkt = await startDevnet({
    port: mktPort,
    chainId: MARKETPLACE_CHAIN,
    deploymentOut: `deployments/e2e-${mktPort}.json`,
    throwaway: true,
  })
  const ethPublic = createPublicClient({ chain: ethereumChain, transport: http(eth.rpcUrl), pollingInterval: 50 })
  const ethTest = createTestClient({ mode: 'anvil', chain: ethereumChain, transport: http(eth.rpcUrl) })
  // Filled in step by step below; nothing reads the later fields before they are set.
  setup = { eth, mkt, ethPublic, ethTest } as unknown as Setup

  // Attestation on both chains: one TeeRegistry per chain, one dev root, the two relayer operators admitted on each.
  const pkiTime = Number((await mkt.reader.public.getBlock({ blockTag: 'latest' })).timestamp)
  const mktAttestation = await deployAttestation({
    rpcUrl: mkt.anvil.rpcUrl,
    chainId: MARKETPLACE_CHAIN,
    out: `deployments/e2e-${mktPort}.attestation.json`,
    client: mkt.actors.deployer,
    pkiTime,
  })
  const ethDeployer = {
    public: ethPublic,
    wallet: createWalletClient({
      account: anvilAccount(devRoles.deployer).account,
      chain: ethereumChain,
      transport: http(eth.rpcUrl),
    }),
    // Ethereum has no marketplace: the attestation functions never read it, the type just carries one.
    deployment: mkt.deployment,
  }
  const ethAttestation = await deployAttestation({
    rpcUrl: eth.rpcUrl,
    chainId: ETHEREUM_CHAIN,
    out: `deployments/e2e-${eth.port}.attestation.json`,
    client: ethDeployer,
    pkiTime,
  })

  // Restaking: the mirror first (the inbox names it), then Ethereum.
  const files = {
    marketplace: `deployments/e2e-${mktPort}.restaking.json`,
    ethereum: `deployments/e2e-${eth.port}.restaking.json`,
  }
  written.push(files.marketplace, files.ethereum)
  const marketplace = marketplaceDeploymentSchema.parse(
    await deployRestakingWithForge({
      mode: 'MARKETPLACE',
      rpcUrl: mkt.anvil.rpcUrl,
      deployerKey,
      relayerRegistry: mktAttestation.contracts.teeRegistry,
      marketplace: mkt.deployment.contracts.proofMarketplace,
      out: files.marketplace,
    }),
  )
  const ethereum = ethereumDeploymentSchema.parse(
    await deployRestakingWithForge({
      mode: 'ETHEREUM',
      rpcUrl: eth.rpcUrl,
      deployerKey,
      relayerRegistry: ethAttestation.contracts.teeRegistry,
      sourceChainId: MARKETPLACE_CHAIN,
      sourceMirror: marketplace.contracts.stakeMirror,
      operator: operatorAccount.address,
      vetoDuration: VETO_DURATION,
      out: files.ethereum,
    }),
  )
  setup = {
    ...setup,
    ethereum,
    marketplace,
    files,
    pkiTime,
    attestation: { marketplace: mktAttestation, ethereum: ethAttestation },
  } as Setup

  // Relayers pay for their own submissions on both chains.
  for (const key of relayerKeys) {
    const address = privateKeyToAccount(key).address
    await ethTest.setBalance({ address, value: parseEther('100') })
    await mkt.test.setBalance({ address, value: parseEther('100') })
  }

  // Ethereum: the operator registers and opts in, binds to the marketplace prover (both sign), a staker deposits.
  const { middleware, vault, collateral } = ethereum.contracts
  const prover = anvilAccount(devRoles.prover)
  await ethSend(operatorAccount, {
    address: (await symbiotic()).operatorRegistry,
    abi: iOperatorRegistryAbi,
    functionName: 'registerOperator',
    args: [],
  })
  await ethSend(operatorAccount, {
    address: (await symbiotic()).operatorNetworkOptInService,
    abi: iOptInServiceAbi,
    functionName: 'optIn',
    args: [middleware],
  })
  await ethSend(operatorAccount, {
    address: (await symbiotic()).operatorVaultOptInService,
    abi: iOptInServiceAbi,
    functionName: 'optIn',
    args: [vault],
  })
  const deadline = (await ethPublic.getBlock()).timestamp + 3600n
  const bindingDigest = await ethPublic.readContract({
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'bindingDigest',
    args: [operatorAccount.address, prover.account.address, 0n, deadline],
  })
  await ethSend(stakerAccount, {
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'bindOperator',
    args: [
      operatorAccount.address,
      prover.account.address,
      deadline,
      await operatorAccount.sign({ hash: bindingDigest }),
      await prover.account.sign({ hash: bindingDigest }),
    ],
  })
  await ethSend(stakerAccount, {
    address: collateral,
    abi: devTokenAbi,
    functionName: 'mint',
    args: [stakerAccount.address, DEPOSIT],
  })
  await ethSend(stakerAccount, {
    address: collateral,
    abi: devTokenAbi,
    functionName: 'approve',
    args: [vault, DEPOSIT],
  })
  await ethSend(stakerAccount, {
    address: vault,
    abi: iVaultAbi,
    functionName: 'deposit',
    args: [stakerAccount.address, DEPOSIT],
  })

  // Marketplace: a market backed by the StakeMirror, the prover registered and listed.
  const { marketId } = await createMarket(mkt.actors.deployer, {
    verifier: mkt.deployment.contracts.groth16Adapter,
    paymentToken: mkt.deployment.contracts.paymentToken,
    stakeSource: marketplace.contracts.stakeMirror,
    stakePerTask: STAKE_PER_TASK,
    slashPenalty: PENALTY,
    requesterCompensationBps: 5_000,
    fallbackDelay: 30,
    metadataURI: 'ipfs://cairn-devnet/restaked',
  })
  await register(mkt.actors.prover, { capacity: 4 })
  await list(mkt.actors.prover, { marketId, price: parseEther('25'), provingTime: PROVING_TIME })
  setup = { ...setup, marketId, relayerPorts: [await freePort(), await freePort()] } as Setup
}, 180_000)

afterAll(async () => {
  for (const relayer of [...relayers]) await relayer.stop()
  await setup?.eth.stop()
  await setup?.mkt.stop()
  for (const file of written) await rm(join(repoRoot, file), { force: true })
})

async function symbiotic() {
  const { ethereum, files } = current()
  const json = JSON.parse(await (await import('node:fs/promises')).readFile(join(repoRoot, files.ethereum), 'utf8'))
  expect(json.contracts.middleware).toBe(ethereum.contracts.middleware)
  return json.contracts.symbiotic as {
    operatorRegistry: Address
    operatorNetworkOptInService: Address
    operatorVaultOptInService: Address
  }
}

/** Reads the StakeMirror on the marketplace chain. */
const mirrorOf = () => ({ address: current().marketplace.contracts.stakeMirror, abi: stakeMirrorAbi }) as const
const readMirror = () => current().mkt.reader.public

/** StakeMirror.SlashStatus and CairnNetworkMiddleware.SlashState values. */
const [QUEUED, EXECUTED, VETOED] = [1, 2, 3] as const
const [REQUESTED] = [1]

/** The capture of the mirror's current snapshot. */
const mirrorCapture = async () => {
  const epoch = await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })
  return (await readMirror().readContract({ ...mirrorOf(), functionName: 'epochs', args: [epoch] }))[0]
}

const mirrorStatus = async (orderId: Hex) =>
  (await readMirror().readContract({ ...mirrorOf(), functionName: 'slashes', args: [orderId] }))[3]

const middlewareState = async (orderId: Hex) => {
  const { ethPublic, ethereum } = current()
  const [, , state] = await ethPublic.readContract({
    address: ethereum.contracts.middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'slashes',
    args: [orderId],
  })
  return state
}

/** The id the mirror queues task `taskId`'s slash under: keccak256(abi.encode(chainId, mirror, taskId)). */
const orderIdOf = (taskId: bigint): Hex =>
  keccak256(
    `0x${MARKETPLACE_CHAIN.toString(16).padStart(64, '0')}${current().marketplace.contracts.stakeMirror.slice(2).toLowerCase().padStart(64, '0')}${taskId.toString(16).padStart(64, '0')}`,
  )

/**
 * `count` public requests of the restaked market, escrowed by the requester and assigned to `prover` in one
 * matcher batch at its listed terms; none is skipped.
 */
async function assignedRequests(mkt: Devnet, marketId: bigint, prover: Address, count = 1) {
  await mintDevToken(
    mkt.actors.requester,
    mkt.deployment.contracts.paymentToken,
    mkt.actors.requester.wallet.account.address,
    BigInt(count) * MAX_REWARD,
  )
  const { preimage: _, ...statement } = await preimageStatement()
  const created = []
  for (let i = 0; i < count; i++)
    created.push(
      await createRequest(
        mkt.actors.requester,
        preimageRequest({
          marketId,
          now: await chainTime(mkt.reader),
          publicInputs: statement.publicInputs,
          maxReward: MAX_REWARD,
          refundAddress: mkt.actors.requester.wallet.account.address,
          schedule: { provingTime: PROVING_TIME },
        }),
      ),
    )
  const assigned = await submitAssignments(
    mkt.actors.bystander,
    await signAssignments(mkt.actors.matcher, {
      assignments: await withListedTerms(
        mkt.reader,
        created.map((c) => ({ requestId: c.requestId, prover, request: c.request })),
      ),
      validUntil: (await chainTime(mkt.reader)) + 300n,
    }),
  )
  expect(assigned.skipped).toEqual([])
  const [first] = created
  if (first === undefined) throw new Error('assignedRequests needs a count of at least 1')
  return { created, first, assigned }
}

/**
 * Runs one kind of round on every relayer in turn (no loop: nothing else moves, no epoch boundary surprises) until
 * `done` holds; `between` runs after each pass (e.g. mining, so what the relayers did becomes final).
 */
async function drive(
  rs: readonly Relayer[],
  round: 'snapshotRound' | 'slashRound' | 'outcomeRound',
  what: string,
  done: () => Promise<boolean>,
  between?: () => Promise<unknown>,
): Promise<void> {
  await eventually(what, async () => {
    for (const r of rs) await r[round]()
    if (await done()) return true
    await between?.()
    return undefined
  })
}

describe('restaked security across two chains, carried by two relayers', () => {
  it('commits a quorum snapshot across a relayer restart, slashes on the marketplace and lands the slash on Ethereum once', async () => {
    const { ethPublic, ethTest, ethereum, marketplace, mkt, marketId } = current()
    const { vault, collateral, middleware, slashInbox } = ethereum.contracts
    const mirror = marketplace.contracts.stakeMirror
    const prover = mkt.actors.prover.wallet.account.address
    expect(marketplace.token).toBe(collateral)
    expect(await ethPublic.readContract({ address: vault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(DEPOSIT)

    // Epoch 1's boundary passes on both chains.
    await advanceBoth(2 * EPOCH_LENGTH)

    // Relayer B signs the snapshot, then dies before any quorum: nothing lands.
    const b = await startRelayer(1, { loop: false })
    const signedByB = await b.snapshotRound()
    expect(signedByB).toMatchObject({ status: 'waiting', signatures: 1 })
    await stopRelayer(b)
    const a = await startRelayer(0, { loop: false })
    expect(await a.snapshotRound()).toMatchObject({ status: 'waiting', signatures: 1 })
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })).toBe(0n)

    // A fresh B starts from chain state; with A's loop running, the quorum forms and the snapshot lands once.
    a.start()
    const b2 = await startRelayer(1)
    await eventually('epoch 1', async () =>
      (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) === 1n ? true : undefined,
    )
    const [capture, window, root] = await readMirror().readContract({
      ...mirrorOf(),
      functionName: 'epochs',
      args: [1n],
    })
    // The relayers mirrored the middleware's slashing window at the capture: the vaults' epoch (the veto vault's
    // epoch less its veto window is the same).
    expect(window).toBe(VAULT_EPOCH)
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'latestDeadline' })).toBe(
      BigInt(capture + VAULT_EPOCH - SLASH_DELAY),
    )
    const leaf = stakeLeafHash({ prover, vault, stake: DEPOSIT }, collateral)
    // One leaf: the root is the leaf itself, and its proof is empty.
    expect(root).toBe(leaf)
    const committed = await mkt.reader.public.getContractEvents({
      address: mirror,
      abi: stakeMirrorAbi,
      eventName: 'SnapshotCommitted',
      fromBlock: 0n,
    })
    expect(committed).toHaveLength(1)
    expect(committed[0]?.args).toEqual({
      epoch: 1n,
      captureTimestamp: capture,
      slashingWindow: VAULT_EPOCH,
      stakeRoot: leaf,
      totalStake: DEPOSIT,
      leafCount: 1,
    })
    // What the relayers signed is what the mirror checks.
    const snapshot: Snapshot = {
      epoch: 1n,
      captureTimestamp: capture,
      slashingWindow: VAULT_EPOCH,
      stakeRoot: leaf,
      totalStake: DEPOSIT,
      leafCount: 1,
    }
    expect(signedByB).toMatchObject({
      digest: snapshotDigest(snapshot, { chainId: MARKETPLACE_CHAIN, address: mirror, token: collateral }),
    })
    expect(
      await mkt.reader.public.readContract({
        address: mirror,
        abi: stakeMirrorAbi,
        functionName: 'snapshotDigest',
        args: [snapshot],
      }),
    ).toBe((signedByB as { digest: Hex }).digest)
    const [snapshotsA, snapshotsB] = await Promise.all(
      [a, b2].map(async (r) => (await r.metrics.snapshotsCommitted.get()).values[0]?.value ?? 0),
    )
    expect((snapshotsA as number) + (snapshotsB as number)).toBe(1)

    // The prover proves its leaf; a request is assigned against the mirrored stake and misses its deadline.
    await mkt.actors.bystander.wallet
      .writeContract({
        address: mirror,
        abi: stakeMirrorAbi,
        functionName: 'proveStake',
        args: [prover, vault, DEPOSIT, []],
      })
      .then((hash) => mkt.reader.public.waitForTransactionReceipt({ hash }))
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT,
    )
    const { first: created } = await assignedRequests(mkt, marketId, prover)
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'locks', args: [created.requestId] }),
    ).toEqual([capture, 0, STAKE_PER_TASK])
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT - STAKE_PER_TASK,
    )

    await advanceTime(mkt, PROVING_TIME + 1)
    const slashed = await slash(mkt.actors.bystander, created.requestId)
    expect(slashed.penalty).toBe(0n) // settled on Ethereum, not paid here
    const [queued] = await mkt.reader.public.getContractEvents({
      address: mirror,
      abi: stakeMirrorAbi,
      eventName: 'SlashQueued',
      blockHash: slashed.receipt.blockHash,
    })
    const orderId = orderIdOf(created.requestId)
    expect(queued?.args).toEqual({
      orderId,
      taskId: created.requestId,
      prover,
      vault,
      amount: PENALTY,
      captureTimestamp: capture,
    })
    await mkt.test.mine({ blocks: FINALITY })

    // The relayers carry it to Ethereum: the vault loses exactly the penalty.
    await eventually('slash executed', async () => {
      const [, , state] = await ethPublic.readContract({
        address: middleware,
        abi: cairnNetworkMiddlewareAbi,
        functionName: 'slashes',
        args: [orderId],
      })
      return state === 2 ? true : undefined
    })
    expect(await ethPublic.readContract({ address: vault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(
      DEPOSIT - PENALTY,
    )
    const executed = await ethPublic.getContractEvents({
      address: middleware,
      abi: cairnNetworkMiddlewareAbi,
      eventName: 'SlashExecuted',
      fromBlock: 0n,
    })
    expect(executed.map((e) => e.args)).toEqual([
      { orderId, vault, operator: operatorAccount.address, amount: PENALTY },
    ])

    // Once the execution is final on Ethereum, the relayers hold it until the mirror has a snapshot captured at or
    // after it (the mirror would refuse it before); then they report it back and the slash is final there too.
    await ethTest.mine({ blocks: FINALITY })
    await eventually('execution held for a later snapshot', async () => {
      const held = await Promise.all([a, b2].map(async (r) => (await r.metrics.heldOutcomes.get()).values[0]?.value))
      return held.includes(1) ? true : undefined
    })
    expect(await mirrorStatus(orderId)).toBe(QUEUED)
    await advanceBoth(2 * EPOCH_LENGTH)
    await eventually('executed outcome recorded', async () =>
      (await mirrorStatus(orderId)) === EXECUTED ? true : undefined,
    )
    const [executedEvent] = executed
    expect(await mirrorCapture()).toBeGreaterThanOrEqual(
      Number((await ethPublic.getBlock({ blockNumber: executedEvent?.blockNumber })).timestamp),
    )
    const settled = await mkt.reader.public.getContractEvents({
      address: mirror,
      abi: stakeMirrorAbi,
      eventName: 'SlashSettled',
      fromBlock: 0n,
    })
    expect(settled.map((e) => e.args)).toEqual([
      { orderId, prover, vault, status: EXECUTED, slashed: PENALTY, leaf: DEPOSIT - PENALTY },
    ])
    // Final: nothing locked or pending any more, and the leaf shows the slash.
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'vaultStake', args: [prover, vault] }),
    ).toEqual([1n, DEPOSIT - PENALTY, DEPOSIT - PENALTY, 0n, 0n])

    // Restart both relayers from chain state: nothing is delivered again.
    await stopRelayer(a)
    await stopRelayer(b2)
    const a3 = await startRelayer(0, { loop: false })
    const b3 = await startRelayer(1, { loop: false })
    for (const r of [a3, b3, a3, b3])
      expect(await r.slashRound()).toEqual({ status: 'idle', reason: 'no pending slash' })
    for (const r of [a3, b3]) expect(await r.outcomeRound()).toEqual({ status: 'idle', reason: 'no outcome to report' })
    for (const r of [a3, b3])
      expect(await r.snapshotRound()).toEqual({ status: 'idle', reason: 'mirror is up to date' })

    // Even a replay of the same quorum-signed batch changes nothing: the middleware's replay guard skips it.
    const item = { taskId: created.requestId, prover, vault, amount: PENALTY, captureTimestamp: capture }
    const inbox = {
      chainId: ETHEREUM_CHAIN,
      address: slashInbox,
      sourceChainId: MARKETPLACE_CHAIN,
      sourceMirror: mirror,
    }
    const digest = slashBatchDigest([item], inbox)
    expect(
      await ethPublic.readContract({
        address: slashInbox,
        abi: slashInboxAbi,
        functionName: 'batchDigest',
        args: [[item]],
      }),
    ).toBe(digest)
    // In the order of their operators (A's is the lower), whatever the order of the keys.
    const signers = relayerKeys.map((key) => privateKeyToAccount(key))
    const signatures = await Promise.all(signers.map((s) => s.sign({ hash: digest })))
    const replay = await ethSend(stakerAccount, {
      address: slashInbox,
      abi: slashInboxAbi,
      functionName: 'deliver',
      args: [[item], signatures],
      // Enough for a real slash, so the skip below is the replay guard and not a lack of gas.
      gas: 1_000_000n,
    })
    const delivered = await ethPublic.getContractEvents({
      address: slashInbox,
      abi: slashInboxAbi,
      eventName: 'SlashDelivered',
      fromBlock: 0n,
    })
    expect(delivered).toHaveLength(1)
    const skipped = await ethPublic.getContractEvents({
      address: slashInbox,
      abi: slashInboxAbi,
      eventName: 'SlashSkipped',
      blockHash: replay.blockHash,
    })
    expect(skipped.map((e) => e.args)).toEqual([
      {
        orderId,
        taskId: created.requestId,
        reason: encodeErrorResult({
          abi: cairnNetworkMiddlewareAbi,
          errorName: 'SlashOrderAlreadySeen',
          args: [orderId],
        }),
      },
    ])
    expect(await ethPublic.readContract({ address: vault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(
      DEPOSIT - PENALTY,
    )
    const [, , state] = await ethPublic.readContract({
      address: middleware,
      abi: cairnNetworkMiddlewareAbi,
      functionName: 'slashes',
      args: [orderId],
    })
    expect(state).toBe(2)
    // And the restarted relayers now know it was skipped and still deliver nothing.
    for (const r of [a3, b3]) expect(await r.slashRound()).toEqual({ status: 'idle', reason: 'no pending slash' })

    const metrics = await (await fetch(`${a3.url}/metrics`)).text()
    expect(metrics).toContain('cairn_relayer_last_epoch 2')
    expect(metrics).toContain('cairn_relayer_pending_slashes 0')
    expect(metrics).toContain('cairn_relayer_pending_slash_outcomes 0')
  })
  it('a veto-vault slash: requested on Ethereum, vetoed by the resolver, finalized and reported back, and the mirror restores the stake; an unvetoed one executes after the window and comes back final', async () => {
    const { ethPublic, ethTest, ethereum, marketplace, mkt, marketId } = current()
    const { vault, vetoVault, collateral, middleware } = ethereum.contracts
    const mirror = marketplace.contracts.stakeMirror
    const prover = mkt.actors.prover.wallet.account.address
    const resolver = anvilAccount(devRoles.deployer).account
    expect(ethereum.resolver).toBe(resolver.address)
    expect(ethereum.vetoDuration).toBe(VETO_DURATION)

    // Fresh relayers (from chain state), driven round by round.
    for (const r of [...relayers]) await stopRelayer(r)
    const rs = [await startRelayer(0, { loop: false }), await startRelayer(1, { loop: false })]
    const mineEth = () => ethTest.mine({ blocks: 1 })

    // Ethereum: the operator opts into the veto vault and a staker deposits in it.
    await ethSend(operatorAccount, {
      address: (await symbiotic()).operatorVaultOptInService,
      abi: iOptInServiceAbi,
      functionName: 'optIn',
      args: [vetoVault],
    })
    await ethSend(stakerAccount, {
      address: collateral,
      abi: devTokenAbi,
      functionName: 'mint',
      args: [stakerAccount.address, DEPOSIT],
    })
    await ethSend(stakerAccount, {
      address: collateral,
      abi: devTokenAbi,
      functionName: 'approve',
      args: [vetoVault, DEPOSIT],
    })
    await ethSend(stakerAccount, {
      address: vetoVault,
      abi: iVaultAbi,
      functionName: 'deposit',
      args: [stakerAccount.address, DEPOSIT],
    })

    // The next epoch mirrors both vaults; the prover proves only the veto vault's leaf: the newest leaf backs the next
    // tasks first, while the instant vault's older leaf still counts (at its own capture, within its window).
    const before = await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })
    await advanceBoth(2 * EPOCH_LENGTH)
    await drive(
      rs,
      'snapshotRound',
      'next epoch',
      async () => (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) === before + 1n,
    )
    const [vetoCapture, , root] = await readMirror().readContract({
      ...mirrorOf(),
      functionName: 'epochs',
      args: [before + 1n],
    })
    const tree = stakeTree(
      [
        { prover, vault, stake: DEPOSIT - PENALTY },
        { prover, vault: vetoVault, stake: DEPOSIT },
      ],
      collateral,
    )
    expect(root).toBe(tree.root)
    const leaf = proofFor(tree, prover, vetoVault)
    await mkt.actors.bystander.wallet
      .writeContract({
        address: mirror,
        abi: stakeMirrorAbi,
        functionName: 'proveStake',
        args: [prover, vetoVault, DEPOSIT, leaf?.proof ?? []],
      })
      .then((hash) => mkt.reader.public.waitForTransactionReceipt({ hash }))
    const olderLeaf = await readMirror().readContract({
      ...mirrorOf(),
      functionName: 'freeStake',
      args: [prover, vault],
    })
    expect(olderLeaf).toBeGreaterThan(0n)
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT + olderLeaf,
    )

    // Two tasks locked in the veto vault, both missed and slashed.
    const { created } = await assignedRequests(mkt, marketId, prover, 2)
    // Locked in the prover's second vault (the veto vault), at the capture its stake was proven at.
    for (const c of created)
      expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'locks', args: [c.requestId] })).toEqual([
        vetoCapture,
        1,
        STAKE_PER_TASK,
      ])
    await advanceTime(mkt, PROVING_TIME + 1)
    for (const c of created) expect((await slash(mkt.actors.bystander, c.requestId)).penalty).toBe(0n)
    await mkt.test.mine({ blocks: FINALITY })
    const [vetoed, executed] = created.map((c) => orderIdOf(c.requestId)) as [Hex, Hex]
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT - 2n * PENALTY + olderLeaf,
    )

    // Delivered: both are requested on the veto vault, which keeps its stake for now.
    await drive(rs, 'slashRound', 'both requested', async () =>
      (await Promise.all([vetoed, executed].map(middlewareState))).every((state) => state === REQUESTED),
    )
    expect(await ethPublic.readContract({ address: vetoVault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(
      DEPOSIT,
    )
    // Nothing to finalize or report while the veto window is open.
    for (const r of rs) expect(await r.outcomeRound()).toEqual({ status: 'idle', reason: 'no outcome to report' })

    // The resolver vetoes the first.
    const slasher = await ethPublic.readContract({ address: vetoVault, abi: iVaultAbi, functionName: 'slasher' })
    const [, vetoedIndex] = await ethPublic.readContract({
      address: middleware,
      abi: cairnNetworkMiddlewareAbi,
      functionName: 'slashes',
      args: [vetoed],
    })
    await ethSend(resolver, {
      address: slasher,
      abi: iVetoSlasherAbi,
      functionName: 'vetoSlash',
      args: [vetoedIndex, '0x'],
    })

    // The relayers finalize it at once (recording the veto) and, once final, report it back: the stake is restored.
    await drive(rs, 'outcomeRound', 'veto reported back', async () => (await mirrorStatus(vetoed)) === VETOED, mineEth)
    expect(await middlewareState(vetoed)).toBe(VETOED)
    expect(await middlewareState(executed)).toBe(REQUESTED)
    expect(await mirrorStatus(executed)).toBe(QUEUED)
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT - PENALTY + olderLeaf,
    )
    const [vetoSettled] = await mkt.reader.public.getContractEvents({
      address: mirror,
      abi: stakeMirrorAbi,
      eventName: 'SlashSettled',
      args: { orderId: vetoed },
      fromBlock: 0n,
    })
    expect(vetoSettled?.args).toEqual({
      orderId: vetoed,
      prover,
      vault: vetoVault,
      status: VETOED,
      slashed: 0n,
      leaf: DEPOSIT,
    })
    // What the relayers signed is what the mirror checks.
    const [vetoEvent] = await ethPublic.getContractEvents({
      address: middleware,
      abi: cairnNetworkMiddlewareAbi,
      eventName: 'SlashVetoed',
      args: { orderId: vetoed },
      fromBlock: 0n,
    })
    const settledAt = Number((await ethPublic.getBlock({ blockNumber: vetoEvent?.blockNumber })).timestamp)
    const outcome = { orderId: vetoed, vault: vetoVault, status: 3 as const, slashed: 0n, settledAt }
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'slashOutcomesDigest', args: [[outcome]] }),
    ).toBe(slashOutcomesDigest([outcome], { chainId: MARKETPLACE_CHAIN, address: mirror }))

    // The second is not vetoed: once its window has passed the relayers execute it; the execution goes back once the
    // mirror has a snapshot captured at or after it, and is final there too.
    await advanceBoth(VETO_DURATION)
    await drive(
      rs,
      'outcomeRound',
      'veto slash executed',
      async () => (await middlewareState(executed)) === EXECUTED,
      mineEth,
    )
    await ethTest.mine({ blocks: FINALITY })
    for (const r of rs) {
      expect(await r.outcomeRound()).toEqual({ status: 'idle', reason: 'executions wait for a later snapshot' })
    }
    expect(await mirrorStatus(executed)).toBe(QUEUED)
    await advanceBoth(2 * EPOCH_LENGTH)
    const beforeReport = await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })
    await drive(
      rs,
      'snapshotRound',
      'a snapshot after the execution',
      async () => (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) > beforeReport,
    )
    await drive(
      rs,
      'outcomeRound',
      'execution reported back',
      async () => (await mirrorStatus(executed)) === EXECUTED,
      mineEth,
    )
    expect(await ethPublic.readContract({ address: vetoVault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(
      DEPOSIT - PENALTY,
    )
    // The latest leaf predates the execution: it shows the slash; nothing is locked or pending any more.
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'vaultStake', args: [prover, vetoVault] }),
    ).toEqual([before + 1n, DEPOSIT - PENALTY, DEPOSIT - PENALTY, 0n, 0n])

    // One finalize per order and one report per outcome across both relayers; restarted ones find nothing to do.
    const total = async (of: readonly Relayer[], metric: 'slashesFinalized' | 'outcomesReported') =>
      (await Promise.all(of.map(async (r) => (await r.metrics[metric].get()).values[0]?.value ?? 0))).reduce(
        (x, y) => x + y,
        0,
      )
    expect(await total(rs, 'slashesFinalized')).toBe(2)
    expect(await total(rs, 'outcomesReported')).toBe(2)
    for (const r of [...rs]) await stopRelayer(r)
    const fresh = [await startRelayer(0, { loop: false }), await startRelayer(1, { loop: false })]
    for (const r of [...fresh, ...fresh]) {
      expect(await r.slashRound()).toEqual({ status: 'idle', reason: 'no pending slash' })
      expect(await r.outcomeRound()).toEqual({ status: 'idle', reason: 'no outcome to report' })
    }
    expect(await total(fresh, 'slashesFinalized')).toBe(0)
    expect(await total(fresh, 'outcomesReported')).toBe(0)
  })

  it('one operator with two relayer keys counts once: its signatures alone are refused on both chains, and its two relayers never form a quorum', async () => {
    const { ethPublic, ethTest, ethereum, marketplace, mkt, attestation, relayerPorts } = current()
    const mirror = marketplace.contracts.stakeMirror
    const [operatorA, operatorB] = relayerOperators.map((o) => o.account.address) as [Address, Address]
    for (const r of [...relayers]) await stopRelayer(r)

    // Operator A runs a second relayer with a second key, registered (from A's account) on both chains.
    const secondKey = keccak256(toHex('cairn restaking e2e relayer A2'))
    const [keyA, keyB, keyA2] = [relayerKeys[0] as Hex, relayerKeys[1] as Hex, secondKey].map((k) =>
      privateKeyToAccount(k),
    ) as [PrivateKeyAccount, PrivateKeyAccount, PrivateKeyAccount]
    await ethTest.setBalance({ address: keyA2.address, value: parseEther('100') })
    await mkt.test.setBalance({ address: keyA2.address, value: parseEther('100') })
    const portA2 = await freePort()
    const url = (port: number | undefined) => `http://127.0.0.1:${port}`
    const a = await startRelayer(0, { loop: false, config: { peers: [url(portA2)] } })
    const a2 = await startRelayer(0, {
      loop: false,
      config: { privateKey: secondKey, metricsPort: portA2, peers: [url(relayerPorts[0])] },
    })
    expect(a2.operator).toBe(operatorA)
    for (const [client, registry] of [
      [ethPublic, attestation.ethereum],
      [mkt.reader.public, attestation.marketplace],
    ] as const) {
      const reader = { public: client, attestation: registry }
      expect(await getActiveOperator(reader, { role: 'Relayer', signer: keyA2.address })).toBe(operatorA)
      expect(await getActiveOperator(reader, { role: 'Relayer', signer: keyA.address })).toBe(operatorA)
    }

    // Both of A's relayers sign the next snapshot; each sees one operator's signatures, never a quorum.
    await advanceBoth(2 * EPOCH_LENGTH)
    const epoch = await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })
    for (const r of [a, a2, a, a2]) expect(await r.snapshotRound()).toMatchObject({ status: 'waiting', signatures: 1 })
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })).toBe(epoch)

    // Submitted by hand, A's two signatures are refused: one operator twice is not ascending, one alone is no quorum.
    const snapshot: Snapshot = {
      epoch: epoch + 1n,
      captureTimestamp: (await mirrorCapture()) + 1,
      slashingWindow: VAULT_EPOCH,
      stakeRoot: keccak256(toHex('any root')),
      totalStake: 1n,
      leafCount: 1,
    }
    const digest = snapshotDigest(snapshot, { chainId: MARKETPLACE_CHAIN, address: mirror, token: marketplace.token })
    const sign = (account: PrivateKeyAccount) => account.sign({ hash: digest })
    const [sigA, sigA2, sigB] = (await Promise.all([keyA, keyA2, keyB].map(sign))) as [Hex, Hex, Hex]
    const commit = (signatures: Hex[]) =>
      mkt.reader.public
        .simulateContract({
          address: mirror,
          abi: stakeMirrorAbi,
          functionName: 'commitSnapshot',
          args: [snapshot, signatures],
        })
        .then(
          () => undefined,
          (error: unknown) => decodeCairnError(error),
        )
    expect(await commit([sigA, sigA2])).toMatchObject({
      name: 'OperatorsNotAscending',
      args: { previous: operatorA, operator: operatorA },
    })
    expect(await commit([sigA2, sigA])).toMatchObject({ name: 'OperatorsNotAscending' })
    expect(await commit([sigA])).toMatchObject({ name: 'QuorumNotReached', args: { operators: 1n, required: 2n } })
    // Two operators pass, in the order of their operators (B's key is the lower, A's operator is).
    expect(BigInt(keyB.address) < BigInt(keyA.address) && BigInt(operatorA) < BigInt(operatorB)).toBe(true)
    expect(await commit([sigB, sigA])).toMatchObject({
      name: 'OperatorsNotAscending',
      args: { previous: operatorB, operator: operatorA },
    })
    expect(await commit([sigA, sigB])).toBeUndefined()

    // The same on Ethereum's inbox.
    const item = {
      taskId: 1n,
      prover: mkt.actors.prover.wallet.account.address,
      vault: ethereum.contracts.vault,
      amount: 1n,
      captureTimestamp: 1,
    }
    const inbox = {
      chainId: ETHEREUM_CHAIN,
      address: ethereum.contracts.slashInbox,
      sourceChainId: MARKETPLACE_CHAIN,
      sourceMirror: mirror,
    }
    const batchDigest = slashBatchDigest([item], inbox)
    const [batchA, batchA2] = (await Promise.all([keyA, keyA2].map((k) => k.sign({ hash: batchDigest })))) as [Hex, Hex]
    const deliver = (signatures: Hex[]) =>
      ethPublic
        .simulateContract({
          address: inbox.address,
          abi: slashInboxAbi,
          functionName: 'deliver',
          args: [[item], signatures],
        })
        .then(
          () => undefined,
          (error: unknown) => decodeCairnError(error),
        )
    expect(await deliver([batchA, batchA2])).toMatchObject({
      name: 'OperatorsNotAscending',
      args: { previous: operatorA, operator: operatorA },
    })
    expect(await deliver([batchA2])).toMatchObject({
      name: 'QuorumNotReached',
      args: { operators: 1n, required: 2n },
    })

    // With B back, the relayers commit it: a quorum of two operators.
    const b = await startRelayer(1, { loop: false, config: { peers: [url(relayerPorts[0])] } })
    await drive(
      [a, a2, b],
      'snapshotRound',
      'epoch committed by A and B',
      async () => (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) === epoch + 1n,
    )
  })

  it('an operator moving to a new prover backs nobody meanwhile, and the old prover’s queued slash still lands on the operator’s vault', async () => {
    const { ethPublic, ethTest, ethereum, marketplace, mkt, marketId, eth } = current()
    const { vault, middleware } = ethereum.contracts
    const mirror = marketplace.contracts.stakeMirror
    const prover = mkt.actors.prover.wallet.account.address
    const operator = operatorAccount.address
    for (const r of [...relayers]) await stopRelayer(r)
    const rs = [await startRelayer(0, { loop: false }), await startRelayer(1, { loop: false })]
    const nextEpoch = async () => {
      const before = await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })
      await advanceBoth(2 * EPOCH_LENGTH)
      await drive(
        rs,
        'snapshotRound',
        `epoch ${before + 1n}`,
        async () => (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) === before + 1n,
      )
      return before + 1n
    }

    // A fresh epoch: the prover's leaf in the instant vault is proven (rebuilt from Ethereum as the relayers built it).
    const epoch = await nextEpoch()
    const proven = await proveStakeLeaf(mkt.actors.bystander, {
      ethereum: { public: ethPublic },
      middleware,
      mirror,
      vault,
      prover,
      fromBlock: ethereum.deployBlock,
    })
    expect(proven).toMatchObject({ epoch, stake: DEPOSIT - PENALTY, counted: DEPOSIT - PENALTY })
    const [capture] = await readMirror().readContract({ ...mirrorOf(), functionName: 'epochs', args: [epoch] })

    // A task locked against it, at that capture.
    const { first: created } = await assignedRequests(mkt, marketId, prover)
    expect(await getStakeLock(mkt.reader, { mirror, prover, taskId: created.requestId })).toEqual({
      taskId: created.requestId,
      vault,
      amount: STAKE_PER_TASK,
      captureTimestamp: capture,
    })

    // The operator moves to another prover (both sign): its old prover loses it at once, the new one gets it only
    // once no capture of the old binding can be slashed any more (the longest vault epoch later).
    const newProver = anvilAccount(devRoles.bystander).account
    const ethereumReader = { public: ethPublic }
    const deadline = (await ethPublic.getBlock()).timestamp + 3600n
    const binding = { middleware, operator, prover: newProver.address, deadline }
    const moved = await bindOperator(
      {
        public: ethPublic,
        wallet: createWalletClient({ account: stakerAccount, chain: ethereumChain, transport: http(eth.rpcUrl) }),
      },
      {
        ...binding,
        operatorSignature: await signOperatorBinding(operatorAccount, ethereumReader, binding),
        proverSignature: await signOperatorBinding(newProver, ethereumReader, binding),
      },
    )
    const movedAt = Number((await ethPublic.getBlock({ blockNumber: moved.receipt.blockNumber })).timestamp)
    expect(moved.effectiveAt).toBe(movedAt + VAULT_EPOCH + VETO_DURATION)
    expect(await getBinding(ethereumReader, { middleware, operator })).toEqual({
      operator,
      prover: newProver.address,
      effectiveAt: moved.effectiveAt,
      active: false,
    })
    expect(await getBinding(ethereumReader, { middleware, prover })).toEqual({
      operator: zeroAddress,
      prover,
      active: false,
    })

    // The next snapshot has no leaf of the operator's: it backs nobody until then (its entries name no prover). The
    // old prover's leaf, captured while the operator backed it, still backs tasks at its own capture until that
    // capture's window ends: a slash there reaches the operator bound then, long before the new prover's first capture.
    const oldLeafStake = await readMirror().readContract({
      ...mirrorOf(),
      functionName: 'availableStake',
      args: [prover],
    })
    expect(oldLeafStake).toBeGreaterThan(0n)
    const emptyEpoch = await nextEpoch()
    const [committed] = await mkt.reader.public.getContractEvents({
      address: mirror,
      abi: stakeMirrorAbi,
      eventName: 'SnapshotCommitted',
      args: { epoch: emptyEpoch },
      fromBlock: 0n,
    })
    expect(committed?.args).toMatchObject({ leafCount: 0, totalStake: 0n, stakeRoot: zeroHash })
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      oldLeafStake,
    )

    // The old prover misses its task: the slash is queued at the old capture and lands on the operator's stake.
    await advanceTime(mkt, PROVING_TIME + 1)
    const slashed = await slash(mkt.actors.bystander, created.requestId)
    const orderId = slashOrderId({ chainId: MARKETPLACE_CHAIN, mirror, taskId: created.requestId })
    expect(slashed.queued).toEqual({ orderId, vault, amount: PENALTY, captureTimestamp: capture })
    await mkt.test.mine({ blocks: FINALITY })
    await drive(rs, 'slashRound', 'slash executed', async () => (await middlewareState(orderId)) === EXECUTED)
    const [executed] = await ethPublic.getContractEvents({
      address: middleware,
      abi: cairnNetworkMiddlewareAbi,
      eventName: 'SlashExecuted',
      args: { orderId },
      fromBlock: 0n,
    })
    expect(executed?.args).toEqual({ orderId, vault, operator, amount: PENALTY })
    expect(await ethPublic.readContract({ address: vault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(
      DEPOSIT - 2n * PENALTY,
    )

    // Executed after the mirror's capture: held until a later snapshot, then final on the mirror.
    await ethTest.mine({ blocks: FINALITY })
    for (const r of rs) {
      expect(await r.outcomeRound()).toEqual({ status: 'idle', reason: 'executions wait for a later snapshot' })
    }
    expect(await getQueuedSlash(mkt.reader, { mirror, orderId })).toMatchObject({ status: 'Queued', penalty: PENALTY })
    await nextEpoch()
    await drive(rs, 'outcomeRound', 'execution reported back', async () => (await mirrorStatus(orderId)) === EXECUTED)
    expect(await getQueuedSlash(mkt.reader, { mirror, orderId })).toEqual({
      orderId,
      prover,
      vault,
      penalty: PENALTY,
      status: 'Executed',
    })
  })
})
