import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
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
  type PublicClient,
  parseEther,
  slice,
  type TestClient,
  type Transport,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildDevCollateral,
  buildDevQuote,
  createDevPki,
  createDevProvider,
  parseTdxQuoteV4,
} from '../enclave/attestation/index.js'
import { ethereumDeploymentSchema, marketplaceDeploymentSchema, type RelayerConfig } from '../relayer/src/config.js'
import { proofFor, stakeLeafHash, stakeTree } from '../relayer/src/merkle.js'
import { createRelayer, type Relayer } from '../relayer/src/relayer.js'
import { slashBatchDigest, slashOutcomesDigest } from '../relayer/src/slashes.js'
import { snapshotDigest } from '../relayer/src/snapshots.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { type Anvil, freePort, startAnvil } from '../ts/devnet/anvil.js'
import { deployAttestationWithForge, deployRestakingWithForge } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { preimageRequest, preimageStatement } from '../ts/devnet/scenario.js'
import { advanceTime, type Devnet, startDevnet } from '../ts/devnet/stack.js'
import {
  type AttestationDeployment,
  allowMeasurement,
  cairnNetworkMiddlewareAbi,
  chainTime,
  createMarket,
  createRequest,
  devTokenAbi,
  iOperatorRegistryAbi,
  iOptInServiceAbi,
  iVaultAbi,
  iVetoSlasherAbi,
  list,
  measurementOf,
  mintDevToken,
  register,
  registerEnclaveKey,
  signAssignments,
  slash,
  slashInboxAbi,
  stakeMirrorAbi,
  submitAssignments,
  submitDevCollateral,
  type TeeClient,
  withListedTerms,
} from '../ts/index.js'

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
/** Relayer keys live in enclaves; fixed here so failures reproduce. */
const relayerKeys = ['A', 'B'].map((label) => keccak256(toHex(`cairn restaking e2e relayer ${label}`)))
const eciesKeyOf = (label: string): Hex =>
  slice(privateKeyToAccount(keccak256(toHex(`cairn restaking e2e ecies ${label}`))).publicKey, 1)

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
}

let setup: Setup | undefined
const written: string[] = []
const relayers: Relayer[] = []

const current = (): Setup => {
  if (!setup) throw new Error('not set up')
  return setup
}

/** Simulates, sends and waits for a write on Ethereum from `account`. */
async function ethSend<const abi extends Abi, name extends ContractFunctionName<abi, 'nonpayable'>>(
  account: Account,
  call: {
    address: Address
    abi: abi
    functionName: name
    args: ContractFunctionArgs<abi, 'nonpayable', name>
    gas?: bigint
  },
) {
  const { ethPublic, eth } = current()
  const wallet = createWalletClient({ account, chain: ethereumChain, transport: http(eth.rpcUrl) })
  // biome-ignore lint/suspicious/noExplicitAny: viem's generic simulate/write pair does not narrow through a wrapper
  const { request } = await ethPublic.simulateContract({ account, ...(call as any) })
  const hash = await wallet.writeContract(request)
  const receipt = await ethPublic.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** Registers the relayer enclave keys as Relayer-role keys on one chain, through its real DCAP verifier. */
async function attestRelayers(params: {
  rpcUrl: string
  chainId: number
  out: string
  client: Omit<TeeClient, 'attestation'>
}): Promise<AttestationDeployment> {
  const head = await params.client.public.getBlock({ blockTag: 'latest' })
  const pki = createDevPki(SEED, { now: new Date(Number(head.timestamp) * 1000) })
  const attestation = await deployAttestationWithForge({
    rpcUrl: params.rpcUrl,
    chainId: params.chainId,
    deployerKey,
    rootDer: bytesToHex(pki.root.der),
    out: params.out,
  })
  written.push(params.out)
  const owner = { ...params.client, attestation }
  await submitDevCollateral(owner, buildDevCollateral(pki))
  const td = parseTdxQuoteV4(buildDevQuote(pki, new Uint8Array(64))).body
  const measurement = measurementOf({
    mrTd: bytesToHex(td.mrTd),
    rtmr0: bytesToHex(td.rtmr[0]),
    rtmr1: bytesToHex(td.rtmr[1]),
    rtmr2: bytesToHex(td.rtmr[2]),
    rtmr3: bytesToHex(td.rtmr[3]),
  })
  await allowMeasurement(owner, { role: 'Relayer', measurement })
  const provider = createDevProvider(pki)
  for (const [i, key] of relayerKeys.entries()) {
    await registerEnclaveKey(owner, {
      provider,
      role: 'Relayer',
      signer: privateKeyToAccount(key).address,
      eciesPublicKey: eciesKeyOf(String(i)),
    })
  }
  return attestation
}

function relayerConfig(index: number): RelayerConfig {
  const { eth, mkt, files, relayerPorts } = current()
  return {
    ethereumRpcUrl: eth.rpcUrl,
    marketplaceRpcUrl: mkt.anvil.rpcUrl,
    ethereumDeployment: join(repoRoot, files.ethereum),
    marketplaceDeployment: join(repoRoot, files.marketplace),
    privateKey: relayerKeys[index] as Hex,
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

async function startRelayer(index: number, options: { loop?: boolean } = {}): Promise<Relayer> {
  const relayer = await createRelayer(relayerConfig(index))
  relayers.push(relayer)
  if (options.loop ?? true) relayer.start()
  return relayer
}

async function stopRelayer(relayer: Relayer): Promise<void> {
  await relayer.stop()
  relayers.splice(relayers.indexOf(relayer), 1)
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Both chains move forward together (relayer keys stay attested for an hour; captures must be past on both). */
async function advanceBoth(seconds: number): Promise<void> {
  const { ethTest, mkt } = current()
  await ethTest.increaseTime({ seconds })
  await ethTest.mine({ blocks: FINALITY + 1 })
  await advanceTime(mkt, seconds)
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

  // Attestation on both chains: one TeeRegistry per chain, the same two relayer keys registered on each.
  const mktAttestation = await attestRelayers({
    rpcUrl: mkt.anvil.rpcUrl,
    chainId: MARKETPLACE_CHAIN,
    out: `deployments/e2e-${mktPort}.attestation.json`,
    client: mkt.actors.deployer,
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
  const ethAttestation = await attestRelayers({
    rpcUrl: eth.rpcUrl,
    chainId: ETHEREUM_CHAIN,
    out: `deployments/e2e-${eth.port}.attestation.json`,
    client: ethDeployer,
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
  setup = { ...setup, ethereum, marketplace, files } as Setup

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
const [QUEUED, EXECUTED, VETOED] = [1, 2, 3]
const [REQUESTED] = [1]

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
  await until(what, async () => {
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
    await until('epoch 1', async () =>
      (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) === 1n ? true : undefined,
    )
    const [capture, root] = await readMirror().readContract({ ...mirrorOf(), functionName: 'epochs', args: [1n] })
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
      stakeRoot: leaf,
      totalStake: DEPOSIT,
      leafCount: 1,
    })
    // What the relayers signed is what the mirror checks.
    const snapshot = { epoch: 1n, captureTimestamp: capture, stakeRoot: leaf, totalStake: DEPOSIT, leafCount: 1 }
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
    await mintDevToken(
      mkt.actors.requester,
      mkt.deployment.contracts.paymentToken,
      mkt.actors.requester.wallet.account.address,
      MAX_REWARD,
    )
    const { preimage: _, ...statement } = await preimageStatement()
    const created = await createRequest(
      mkt.actors.requester,
      preimageRequest({
        marketId,
        now: await chainTime(mkt.reader),
        publicInputs: statement.publicInputs,
        maxReward: MAX_REWARD,
        refundAddress: mkt.actors.requester.wallet.account.address,
        schedule: { provingTime: PROVING_TIME },
      }),
    )
    const batch = await signAssignments(mkt.actors.matcher, {
      assignments: await withListedTerms(mkt.reader, [
        { requestId: created.requestId, prover, request: created.request },
      ]),
      validUntil: (await chainTime(mkt.reader)) + 300n,
    })
    const assigned = await submitAssignments(mkt.actors.bystander, batch)
    expect(assigned.skipped).toEqual([])
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'locks', args: [created.requestId] }),
    ).toEqual([vault, STAKE_PER_TASK])
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
    await until('slash executed', async () => {
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

    // Once the execution is final on Ethereum, the relayers report it back: the slash is final on the mirror too.
    await ethTest.mine({ blocks: FINALITY })
    await until('executed outcome recorded', async () =>
      (await mirrorStatus(orderId)) === EXECUTED ? true : undefined,
    )
    const settled = await mkt.reader.public.getContractEvents({
      address: mirror,
      abi: stakeMirrorAbi,
      eventName: 'SlashSettled',
      fromBlock: 0n,
    })
    expect(settled.map((e) => e.args)).toEqual([
      { orderId, prover, vault, status: EXECUTED, slashed: PENALTY, proven: DEPOSIT - PENALTY },
    ])
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'slashDebt', args: [prover, vault] }),
    ).toEqual([0n, 0n])

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
    const signers = relayerKeys
      .map((key) => privateKeyToAccount(key))
      .sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1))
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
    expect(metrics).toContain('cairn_relayer_last_epoch 1')
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

    // The next epoch mirrors both vaults; the prover proves only the veto vault's leaf, so it backs the next tasks.
    const before = await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })
    await advanceBoth(2 * EPOCH_LENGTH)
    await drive(
      rs,
      'snapshotRound',
      'next epoch',
      async () => (await readMirror().readContract({ ...mirrorOf(), functionName: 'currentEpoch' })) === before + 1n,
    )
    const [, root] = await readMirror().readContract({ ...mirrorOf(), functionName: 'epochs', args: [before + 1n] })
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
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT,
    )

    // Two tasks locked in the veto vault, both missed and slashed.
    await mintDevToken(
      mkt.actors.requester,
      mkt.deployment.contracts.paymentToken,
      mkt.actors.requester.wallet.account.address,
      2n * MAX_REWARD,
    )
    const { preimage: _, ...statement } = await preimageStatement()
    const created = []
    for (let i = 0; i < 2; i++)
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
    for (const c of created)
      expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'locks', args: [c.requestId] })).toEqual([
        vetoVault,
        STAKE_PER_TASK,
      ])
    await advanceTime(mkt, PROVING_TIME + 1)
    for (const c of created) expect((await slash(mkt.actors.bystander, c.requestId)).penalty).toBe(0n)
    await mkt.test.mine({ blocks: FINALITY })
    const [vetoed, executed] = created.map((c) => orderIdOf(c.requestId)) as [Hex, Hex]
    expect(await readMirror().readContract({ ...mirrorOf(), functionName: 'availableStake', args: [prover] })).toBe(
      DEPOSIT - 2n * PENALTY,
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
      DEPOSIT - PENALTY,
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
      proven: DEPOSIT - PENALTY,
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
    const outcome = { orderId: vetoed, vault: vetoVault, vetoed: true, slashed: 0n, settledAt }
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'slashOutcomesDigest', args: [[outcome]] }),
    ).toBe(slashOutcomesDigest([outcome], { chainId: MARKETPLACE_CHAIN, address: mirror }))

    // The second is not vetoed: once its window has passed the relayers execute it and report it back, final.
    await advanceBoth(VETO_DURATION)
    await drive(
      rs,
      'outcomeRound',
      'execution reported back',
      async () => (await mirrorStatus(executed)) === EXECUTED,
      mineEth,
    )
    expect(await middlewareState(executed)).toBe(EXECUTED)
    expect(await ethPublic.readContract({ address: vetoVault, abi: iVaultAbi, functionName: 'activeStake' })).toBe(
      DEPOSIT - PENALTY,
    )
    const [, proven] = await readMirror().readContract({
      ...mirrorOf(),
      functionName: 'vaultStake',
      args: [prover, vetoVault],
    })
    expect(proven).toBe(DEPOSIT - PENALTY)
    expect(
      await readMirror().readContract({ ...mirrorOf(), functionName: 'slashDebt', args: [prover, vetoVault] }),
    ).toEqual([0n, 0n])

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
})
