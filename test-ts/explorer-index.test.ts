/**
 * The explorer's indexing over log fixtures, without a chain: each fixture is a log as a node returns it (topics and
 * data encoded from the generated ABIs), decoded and applied exactly as the indexer does after eth_getLogs.
 */
import {
  type Abi,
  type Address,
  type Chain,
  type ContractEventName,
  encodeAbiParameters,
  encodeEventTopics,
  type GetEventArgs,
  type Hex,
  keccak256,
  type Log,
  type PublicClient,
  pad,
  parseEther,
  ResponseBodyTooLargeError,
  type Transport,
  toHex,
  zeroHash,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { applyEvents } from '../explorer/index/apply.js'
import { decodeLogs, type WatchedContracts } from '../explorer/index/decode.js'
import { createIndexer, tooLarge } from '../explorer/index/indexer.js'
import { type ExplorerIndex, emptyIndex } from '../explorer/index/model.js'
import { crossedByTime, proverKeyAt, stateOf, summarizeMarket, timeToProof } from '../explorer/index/stats.js'
import { attestationPage } from '../explorer/pages/attestation.js'
import { marketPage } from '../explorer/pages/market.js'
import { proverPage } from '../explorer/pages/prover.js'
import { requestPage } from '../explorer/pages/request.js'
import { restakingPage } from '../explorer/pages/restaking.js'
import { resolve } from '../ts/cli/main.js'
import type { Deployment } from '../ts/deployment.js'
import {
  iPrivateClaimsAbi,
  iSignedFulfilmentsAbi,
  iSignedRequestsAbi,
  nativeStakingAbi,
  proofMarketplaceAbi,
  proverRegistryAbi,
  stakeMirrorAbi,
  teeRegistryAbi,
} from '../ts/generated.js'
import { type Request, requestIdOf, type Task } from '../ts/types.js'

const address = (n: number): Address => pad(toHex(n), { size: 20 })
const contracts: WatchedContracts = {
  marketplace: address(0xa1),
  registry: address(0xa2),
  nativeStaking: address(0xa3),
  teeRegistry: address(0xa4),
  stakeMirror: address(0xa5),
}
const prover = address(0x1001)
const requester = address(0x2001)
const slasher = address(0x3001)
const MARKET = 1n
/** Block n is mined at 1000 + 2n: a two-second chain. */
const timeOf = (block: number) => 1_000 + 2 * block

let logIndex = 0
/** A log as eth_getLogs returns it, encoded from the ABI: indexed arguments in topics, the rest in data. */
function chainLog<const abi extends Abi, name extends ContractEventName<abi>>(
  at: Address,
  abi: abi,
  eventName: name,
  args: GetEventArgs<abi, name, { EnableUnion: false; IndexedOnly: false; Required: true }>,
  block: number,
  tx: Hex = keccak256(toHex(`tx-${block}`)),
): Log {
  const event = (abi as Abi).find((item) => item.type === 'event' && item.name === eventName)
  if (event?.type !== 'event') throw new Error(`no event ${eventName}`)
  const values = args as Record<string, unknown>
  const topics = encodeEventTopics({ abi: [event], eventName, args: values } as never) as Hex[]
  const data = encodeAbiParameters(
    event.inputs.filter((input) => !input.indexed),
    event.inputs.filter((input) => !input.indexed).map((input) => values[input.name as string]),
  )
  return {
    address: at,
    topics: topics as [Hex, ...Hex[]],
    data,
    blockNumber: BigInt(block),
    blockHash: keccak256(toHex(`block-${block}`)),
    blockTimestamp: BigInt(timeOf(block)),
    transactionHash: tx,
    transactionIndex: 0,
    logIndex: logIndex++,
    removed: false,
  } as Log
}

function index(logs: Log[], into: ExplorerIndex = emptyIndex()): ExplorerIndex {
  applyEvents(into, decodeLogs(logs, contracts), () => {
    throw new Error('every fixture log carries its block time')
  })
  return into
}

const marketCreated = (block: number) =>
  chainLog(
    contracts.marketplace,
    proofMarketplaceAbi,
    'MarketCreated',
    {
      marketId: MARKET,
      creator: address(0x9001),
      params: {
        verifier: address(0xb1),
        paymentToken: address(0xb2),
        stakeSource: contracts.nativeStaking,
        stakePerTask: parseEther('100'),
        slashPenalty: parseEther('50'),
        requesterCompensationBps: 5_000,
        fallbackDelay: 30,
        metadataURI: 'ipfs://market',
      },
    },
    block,
  )

const record = (createdAt: number, overrides: Partial<Request> = {}): Request => ({
  refundAddress: requester,
  maxReward: parseEther('40'),
  createdAt,
  matchingExpiry: createdAt + 600,
  provingTime: 600,
  inputsDigest: keccak256('0x01'),
  ...overrides,
})

const noInputs = { data: '0x', uri: '', digest: zeroHash } as const

function requestCreated(index: bigint, block: number, options: { private?: boolean } = {}) {
  const requestId = requestIdOf(MARKET, index)
  const request = record(timeOf(block))
  const log = chainLog(
    contracts.marketplace,
    proofMarketplaceAbi,
    'RequestCreated',
    {
      requestId,
      marketId: MARKET,
      requester,
      request,
      deadline: request.matchingExpiry + 600,
      speedPreferenceBps: 5_000,
      publicInputs: { data: '0x1234', uri: '', digest: zeroHash },
      privateInputs: options.private ? { data: '0x', uri: 'https://inputs/x', digest: keccak256('0x02') } : noInputs,
    },
    block,
  )
  return { requestId, request, log }
}

function taskAssigned(requestId: bigint, block: number, byMatcher: boolean, price = parseEther('25')) {
  const task: Task = { prover, price, deadline: timeOf(block) + 600, compute: 2 }
  return {
    task,
    log: chainLog(
      contracts.marketplace,
      proofMarketplaceAbi,
      'TaskAssigned',
      { requestId, prover, task, byMatcher },
      block,
    ),
  }
}

/** A TeeRegistry KeyRegistered log: a prover enclave key in MARKET, valid until block 10,000, unless overridden. */
const keyRegistered = (block: number, key: { signer: Address; role?: number; marketId?: bigint; operator?: Address }) =>
  chainLog(
    contracts.teeRegistry as Address,
    teeRegistryAbi,
    'KeyRegistered',
    {
      role: key.role ?? 1,
      marketId: key.marketId ?? MARKET,
      signer: key.signer,
      operator: key.operator ?? prover,
      eciesPublicKey: '0x04',
      measurement: keccak256('0x0e'),
      expiresAt: BigInt(timeOf(10_000)),
      quoteId: zeroHash,
    },
    block,
  )

const registered = (block: number) => [
  chainLog(
    contracts.registry,
    proverRegistryAbi,
    'ProverRegistered',
    { prover, rewardAddress: prover, capacity: 4 },
    block,
  ),
  chainLog(
    contracts.registry,
    proverRegistryAbi,
    'Listed',
    { prover, marketId: MARKET, price: parseEther('25'), provingTime: 600, computePerRequest: 2 },
    block,
  ),
]

describe('explorer indexing', () => {
  it('records a request matched, proven and paid: its timeline, price, refund, and the market figures', () => {
    const created = requestCreated(1n, 12)
    const assigned = taskAssigned(created.requestId, 13, true)
    const explorer = index([marketCreated(10), ...registered(11), created.log, assigned.log])

    const mid = explorer.requests.get(created.requestId)
    expect(mid?.task).toEqual(assigned.task)
    expect(mid?.byMatcher).toBe(true)
    expect(explorer.provers.get(prover.toLowerCase())?.computeInUse).toBe(2)
    expect(stateOf(mid as never, timeOf(13))).toBe('Assigned')

    index(
      [
        chainLog(
          contracts.marketplace,
          proofMarketplaceAbi,
          'RequestFulfilled',
          { requestId: created.requestId, prover, price: parseEther('25'), refund: parseEther('15') },
          20,
        ),
      ],
      explorer,
    )
    const entry = explorer.requests.get(created.requestId)
    if (entry === undefined) throw new Error('request not indexed')
    expect(entry.posted).toMatchObject({
      blockNumber: 12n,
      time: timeOf(12),
      transactionHash: keccak256(toHex('tx-12')),
    })
    expect(entry.assigned).toMatchObject({ blockNumber: 13n, time: timeOf(13) })
    expect(entry.ending).toMatchObject({
      kind: 'Fulfilled',
      lane: 'assigned',
      price: parseEther('25'),
      refund: parseEther('15'),
      at: { blockNumber: 20n, time: timeOf(20) },
    })
    expect(timeToProof(entry)).toBe(timeOf(20) - timeOf(12))
    const machine = explorer.provers.get(prover.toLowerCase())
    expect(machine).toMatchObject({ computeInUse: 0, capacity: 4, requestIds: [created.requestId] })

    const market = explorer.markets.get(MARKET)
    if (market === undefined) throw new Error('market not indexed')
    expect(market.requestIds).toEqual([created.requestId])
    const summary = summarizeMarket(explorer, market, timeOf(20))
    expect(summary.counts.Fulfilled).toBe(1)
    expect(summary.medianTimeToProof).toBe(16)
    expect(summary.priceRange).toEqual({ min: parseEther('25'), max: parseEther('25') })
    expect(summary.provingTimeRange).toEqual({ min: 600, max: 600 })
    expect(explorer.activity.map(({ what }) => what)).toEqual(['posted', 'assigned by the matcher', 'fulfilled'])
  })

  it('derives Expired and DeadlineMissed from chain time, then records the cancel and the slash', () => {
    const open = requestCreated(1n, 12)
    const claimed = requestCreated(2n, 12)
    const assigned = taskAssigned(claimed.requestId, 50, false)
    const explorer = index([marketCreated(10), ...registered(11), open.log, claimed.log, assigned.log])
    const openEntry = explorer.requests.get(open.requestId)
    const claimedEntry = explorer.requests.get(claimed.requestId)
    if (openEntry === undefined || claimedEntry === undefined) throw new Error('requests not indexed')
    // The contract's rule: past matchingExpiry (strictly) an open request is Expired.
    expect(stateOf(openEntry, open.request.matchingExpiry)).toBe('Open')
    expect(stateOf(openEntry, open.request.matchingExpiry + 1)).toBe('Expired')
    expect(stateOf(claimedEntry, assigned.task.deadline)).toBe('Assigned')
    expect(stateOf(claimedEntry, assigned.task.deadline + 1)).toBe('DeadlineMissed')
    expect(claimedEntry.byMatcher).toBe(false)
    // Chain time passing either time, with no log, marks the request, its market and its task's prover as changed
    // (what makes an open page refresh live); a stretch that crosses neither marks nothing.
    const crossed = () => ({
      requests: new Set<bigint>(),
      markets: new Set<bigint>(),
      provers: new Set<string>(),
      topics: new Set<string>(),
    })
    const expiry = open.request.matchingExpiry
    const nothing = crossed()
    crossedByTime(explorer, expiry - 10, expiry, nothing)
    expect(nothing.requests.size + nothing.markets.size + nothing.provers.size).toBe(0)
    const expired = crossed()
    crossedByTime(explorer, expiry, expiry + 1, expired)
    expect(expired).toEqual({
      requests: new Set([open.requestId]),
      markets: new Set([MARKET]),
      provers: new Set(),
      topics: new Set(),
    })
    const overdue = crossed()
    crossedByTime(explorer, assigned.task.deadline, assigned.task.deadline + 12, overdue)
    expect(overdue.requests.has(claimed.requestId)).toBe(true)
    expect(overdue.provers).toEqual(new Set([prover.toLowerCase()]))

    index(
      [
        chainLog(
          contracts.marketplace,
          proofMarketplaceAbi,
          'RequestCancelled',
          { requestId: open.requestId, refund: parseEther('40') },
          400,
        ),
        chainLog(
          contracts.marketplace,
          proofMarketplaceAbi,
          'TaskSlashed',
          {
            requestId: claimed.requestId,
            prover,
            penalty: parseEther('50'),
            compensation: parseEther('25'),
            slasherReward: parseEther('2.5'),
            slasher,
          },
          401,
        ),
      ],
      explorer,
    )
    expect(openEntry.ending).toMatchObject({ kind: 'Cancelled', refund: parseEther('40'), abandonedClaim: false })
    expect(claimedEntry.ending).toMatchObject({
      kind: 'Slashed',
      penalty: parseEther('50'),
      compensation: parseEther('25'),
      slasher,
    })
    expect(stateOf(claimedEntry, 10_000)).toBe('Slashed')
    expect(explorer.provers.get(prover.toLowerCase())?.computeInUse).toBe(0)
    const summary = summarizeMarket(explorer, explorer.markets.get(MARKET) as never, 10_000)
    expect(summary.counts).toMatchObject({ Cancelled: 1, Slashed: 1, Open: 0 })
    expect(summary.medianTimeToProof).toBeUndefined()
  })

  it('tells the fast lanes apart: an on-chain request settled by fulfilOpen, a signed one that only left its fulfilment', () => {
    const open = requestCreated(1n, 12)
    const signedId = requestIdOf(MARKET, 7n)
    const explorer = index([
      marketCreated(10),
      open.log,
      chainLog(
        contracts.marketplace,
        proofMarketplaceAbi,
        'RequestFulfilled',
        { requestId: open.requestId, prover, price: parseEther('20'), refund: parseEther('20') },
        14,
      ),
      chainLog(
        contracts.marketplace,
        iSignedFulfilmentsAbi,
        'SignedRequestFulfilled',
        { requestId: signedId, requester, prover, nonce: 9n, price: parseEther('30') },
        15,
      ),
    ])
    expect(explorer.requests.get(open.requestId)?.ending).toMatchObject({ kind: 'Fulfilled', lane: 'fast-open' })
    const signed = explorer.requests.get(signedId)
    expect(signed).toMatchObject({ signed: true, requester, request: undefined, posted: undefined })
    expect(signed?.ending).toMatchObject({
      kind: 'Fulfilled',
      lane: 'fast-signed',
      price: parseEther('30'),
      refund: undefined,
    })
    expect(timeToProof(signed as never)).toBeUndefined()
    expect(explorer.provers.get(prover.toLowerCase())?.requestIds).toEqual([open.requestId, signedId])
    expect(explorer.markets.get(MARKET)?.requestIds).toEqual([open.requestId, signedId])
  })

  it('follows a private request: the claim, the key released to the attested enclave key, and an abandoned claim', () => {
    const enclaveKey = address(0x7001)
    const created = requestCreated(1n, 12, { private: true })
    const rejected = requestCreated(2n, 12)
    const claimTx = keccak256('0xc1')
    const assigned = taskAssigned(created.requestId, 40, false)
    const abandonTx = keccak256('0xab')
    const explorer = index([
      marketCreated(10),
      ...registered(11),
      keyRegistered(11, { signer: enclaveKey }),
      created.log,
      rejected.log,
      chainLog(
        contracts.marketplace,
        iPrivateClaimsAbi,
        'PrivateClaimed',
        { requestId: created.requestId, prover, keyDueBy: timeOf(40) + 300 },
        40,
        claimTx,
      ),
      { ...assigned.log, transactionHash: claimTx },
      chainLog(
        contracts.marketplace,
        proofMarketplaceAbi,
        'InputKeyReleased',
        { requestId: created.requestId, prover, inputKey: '0xbeef' },
        41,
      ),
      chainLog(
        contracts.marketplace,
        iPrivateClaimsAbi,
        'UnkeyedClaimAbandoned',
        { requestId: created.requestId, prover },
        500,
        abandonTx,
      ),
      chainLog(
        contracts.marketplace,
        proofMarketplaceAbi,
        'RequestCancelled',
        { requestId: created.requestId, refund: parseEther('40') },
        500,
        abandonTx,
      ),
      ...(() => {
        const task = taskAssigned(rejected.requestId, 60, true)
        return [
          task.log,
          chainLog(
            contracts.marketplace,
            proofMarketplaceAbi,
            'InputsRejected',
            { requestId: rejected.requestId, prover, price: parseEther('25'), refund: parseEther('15') },
            61,
          ),
        ]
      })(),
    ])
    const entry = explorer.requests.get(created.requestId)
    if (entry === undefined) throw new Error('request not indexed')
    expect(entry.privateInputs).toBe(true)
    expect(entry.privateClaim).toMatchObject({ blockNumber: 40n, keyDueBy: timeOf(40) + 300 })
    const [release] = entry.keyReleases
    if (release === undefined) throw new Error('no key release')
    expect(proverKeyAt(explorer, prover, MARKET, release)?.signer).toBe(enclaveKey)
    expect(entry.ending).toMatchObject({ kind: 'Cancelled', refund: parseEther('40'), abandonedClaim: true })
    expect(explorer.requests.get(rejected.requestId)?.ending).toMatchObject({
      kind: 'InputsRejected',
      refund: parseEther('15'),
    })
    expect(explorer.requests.get(rejected.requestId)?.privateInputs).toBe(false)
    // Both tasks' compute is freed once each.
    expect(explorer.provers.get(prover.toLowerCase())?.computeInUse).toBe(0)
  })

  it('decodes only the watched contracts, in chain order, and keeps listings current', () => {
    const created = requestCreated(1n, 12)
    const foreign = { ...created.log, address: address(0xdead) }
    const stakeLog = chainLog(
      contracts.nativeStaking,
      nativeStakingAbi,
      'Deposited',
      { prover, from: prover, amount: 5n },
      13,
    )
    const signedUse = chainLog(
      contracts.marketplace,
      iSignedRequestsAbi,
      'SignedRequestUsed',
      { requestId: created.requestId, requester, nonce: 3n },
      12,
    )
    const logs = [
      chainLog(
        contracts.registry,
        proverRegistryAbi,
        'LeaveRequested',
        { prover, marketId: MARKET, availableAt: 5_000 },
        30,
      ),
      stakeLog,
      signedUse,
      foreign,
      created.log,
      ...registered(11),
      marketCreated(10),
    ]
    const events = decodeLogs(logs, contracts)
    expect(events.map(({ log }) => log.eventName)).toEqual([
      'MarketCreated',
      'ProverRegistered',
      'Listed',
      // As SignedRequestModule emits them: the creation, then the signed request's use.
      'RequestCreated',
      'SignedRequestUsed',
      'Deposited',
      'LeaveRequested',
    ])
    const explorer = emptyIndex()
    const changes = applyEvents(explorer, events, () => 0)
    expect([...changes.stakeMoved]).toEqual([prover])
    expect(explorer.requests.get(created.requestId)?.signed).toBe(true)
    expect([...explorer.listings.values()]).toMatchObject([{ prover, state: 'Leaving', leaveAvailableAt: 5_000 }])
    index([chainLog(contracts.registry, proverRegistryAbi, 'Delisted', { prover, marketId: MARKET }, 40)], explorer)
    expect(explorer.listings.size).toBe(0)
  })
})

/** A chain of `length` blocks two seconds apart; `fork` changes the hashes from that height on (another branch). */
function chainOf(length: number, fork?: { from: number; salt: string }) {
  const hashOf = (n: number) =>
    keccak256(toHex(fork !== undefined && n >= fork.from ? `${fork.salt}-${n}` : `block-${n}`)) as Hex
  return Array.from({ length: length + 1 }, (_, n) => ({
    number: BigInt(n),
    hash: hashOf(n),
    parentHash: n === 0 ? zeroHash : hashOf(n - 1),
    timestamp: BigInt(timeOf(n)),
  }))
}

/** A node serving `chain` and `logs`; getLogs over more than `maxBlocks` blocks answers as providers cap results. */
function fakeNode(state: { chain: ReturnType<typeof chainOf>; logs: Log[]; maxBlocks?: number }) {
  const calls: { fromBlock: bigint; toBlock: bigint }[] = []
  const client = {
    async getLogs({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) {
      calls.push({ fromBlock, toBlock })
      if (state.maxBlocks !== undefined && toBlock - fromBlock + 1n > BigInt(state.maxBlocks)) {
        throw new Error('query returned more than 10000 results')
      }
      return state.logs.filter((log) => (log.blockNumber ?? -1n) >= fromBlock && (log.blockNumber ?? -1n) <= toBlock)
    },
    async getBlock({ blockNumber }: { blockNumber?: bigint }) {
      const block = state.chain[Number(blockNumber ?? BigInt(state.chain.length - 1))]
      if (block === undefined) throw new Error(`no block ${blockNumber}`)
      return block
    },
    async readContract() {
      throw new Error('no contract code in this fake node')
    },
  }
  return { client: client as unknown as PublicClient<Transport, Chain>, calls }
}

const fakeDeployment = {
  chainId: 31337,
  deployBlock: 1n,
  contracts: {
    proofMarketplace: contracts.marketplace,
    proverRegistry: contracts.registry,
    nativeStaking: contracts.nativeStaking,
    groth16Adapter: address(0xb1),
    groth16Verifier: address(0xb5),
    stakeToken: address(0xb6),
  },
} as unknown as Deployment

async function syncTo(indexer: ReturnType<typeof createIndexer>, head: ReturnType<typeof chainOf>[number]) {
  const results = []
  do results.push(await indexer.sync(head))
  while (indexer.index.block?.hash !== head.hash)
  return results
}

describe('the explorer indexer', () => {
  it('catches up in bounded syncs and ranges, splitting a range whose answer is too large', async () => {
    const chain = chainOf(30)
    const logs = [marketCreated(3), requestCreated(1n, 12).log, requestCreated(2n, 25).log]
    const node = fakeNode({ chain, logs, maxBlocks: 2 })
    const indexer = createIndexer({ client: node.client, deployment: fakeDeployment, logRange: 4n, maxSyncBlocks: 8n })
    const results = await syncTo(indexer, chain[30] as never)
    expect(results.map(({ from, to }) => [from, to])).toEqual([
      [1n, 8n],
      [9n, 16n],
      [17n, 24n],
      [25n, 30n],
    ])
    // Every range asked for at most logRange blocks; those over the node's cap were split down to what it answers.
    expect(node.calls.every(({ fromBlock, toBlock }) => toBlock - fromBlock < 4n)).toBe(true)
    expect(node.calls.some(({ fromBlock, toBlock }) => toBlock - fromBlock === 3n)).toBe(true)
    expect([...indexer.index.requests.keys()]).toEqual([requestIdOf(MARKET, 1n), requestIdOf(MARKET, 2n)])
    expect(indexer.index.markets.get(MARKET)?.requestIds).toHaveLength(2)
    // A failing read of a market's facts leaves them unknown; the index itself is complete.
    expect(indexer.index.markets.get(MARKET)?.verifierKind).toBeUndefined()
    expect(tooLarge(new ResponseBodyTooLargeError({ maxSize: 10, size: 20 }))).toBe(true)
    expect(tooLarge(new Error('fetch failed'))).toBe(false)
  })

  it('rebuilds from the deployment block when the chain it indexed was replaced', async () => {
    const state = {
      chain: chainOf(30),
      logs: [marketCreated(3), requestCreated(1n, 12).log, requestCreated(2n, 29).log],
    }
    const node = fakeNode(state)
    const indexer = createIndexer({ client: node.client, deployment: fakeDeployment, logRange: 100n })
    await syncTo(indexer, state.chain[30] as never)
    expect(indexer.index.requests.size).toBe(2)

    // A reorg from block 28: request 2 never happened there, request 3 did.
    state.chain = chainOf(31, { from: 28, salt: 'fork' })
    state.logs = [marketCreated(3), requestCreated(1n, 12).log, requestCreated(3n, 30).log]
    const [first] = await syncTo(indexer, state.chain[31] as never)
    expect(first?.rebuilt).toBe(true)
    expect([...indexer.index.requests.keys()]).toEqual([requestIdOf(MARKET, 1n), requestIdOf(MARKET, 3n)])
    expect(indexer.index.block?.hash).toBe(state.chain[31]?.hash)
  })
})

describe('explorer pages from an index', () => {
  const enclaveKey = address(0x7001)
  function privateFixture() {
    const created = requestCreated(1n, 12, { private: true })
    const assigned = taskAssigned(created.requestId, 13, true)
    const market = marketCreated(10)
    const explorer = index([
      market,
      chainLog(
        contracts.marketplace,
        proofMarketplaceAbi,
        'MarketMetadataUpdated',
        { marketId: MARKET, metadataURI: '<script>alert(1)</script>' },
        10,
      ),
      ...registered(11),
      // The registry's policy when the key registers: UpToDate only; widened afterwards.
      chainLog(contracts.teeRegistry as Address, teeRegistryAbi, 'AcceptedTcbStatusesSet', { mask: 1n }, 11),
      keyRegistered(11, { signer: enclaveKey }),
      chainLog(contracts.teeRegistry as Address, teeRegistryAbi, 'AcceptedTcbStatusesSet', { mask: 3n }, 12),
      // A matcher key registered under the wider policy: its quote's status was one of two, and the registry kept neither.
      keyRegistered(12, { role: 0, marketId: 0n, signer: address(0x7001), operator: address(0x7002) }),
      created.log,
      assigned.log,
      chainLog(
        contracts.marketplace,
        proofMarketplaceAbi,
        'InputKeyReleased',
        { requestId: created.requestId, prover, inputKey: '0xbeef' },
        13,
      ),
    ])
    const context = {
      index: explorer,
      rpc: { ok: true } as const,
      chainId: 31337,
      teeRegistry: contracts.teeRegistry,
      stakeMirror: address(0xa5),
      now: timeOf(14),
    }
    return { created, context }
  }

  it('says which attested enclave key a private request’s data key went to, and never renders chain text as markup', () => {
    const { created, context } = privateFixture()
    const request = requestPage(context, String(created.requestId))
    expect(request.status).toBe(200)
    expect(request.body.html).toContain('encrypted (AES-256-GCM envelope); data key released')
    expect(request.body.html).toContain(`title="${enclaveKey}"`)
    expect(request.body.html).toContain('data-state="Assigned"')
    const market = marketPage(context, '1')
    expect(market.body.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(market.body.html).not.toContain('<script>alert')
    const attestation = attestationPage(context)
    expect(attestation.body.html).toContain(`data-key="${enclaveKey}"`)
    expect(attestation.body.html).toMatch(/data-field="key-status">active</)
    // Its TCB status: the one status the registry accepted when it registered, not the wider policy since.
    expect(attestation.body.html).toContain('data-field="tcb">UpToDate<')
    expect(attestation.body.html).toContain('It accepts one of UpToDate, SWHardeningNeeded now.')
    expect(attestation.body.html).toContain(`data-key="${address(0x7001)}"`)
    expect(attestation.body.html).toContain(
      'data-field="tcb">one of UpToDate, SWHardeningNeeded (which one is not recorded)<',
    )
    // Chain time passing the key's expiry, with no log, refreshes the attestation page and the prover's.
    const changes = {
      requests: new Set<bigint>(),
      markets: new Set<bigint>(),
      provers: new Set<string>(),
      topics: new Set<string>(),
    }
    crossedByTime(context.index, timeOf(10_000) - 1, timeOf(10_000), changes)
    expect(changes.topics).toEqual(new Set())
    crossedByTime(context.index, timeOf(10_000), timeOf(10_000) + 1, changes)
    expect(changes.topics).toEqual(new Set(['attestation']))
    expect(changes.provers.has(prover.toLowerCase())).toBe(true)
  })

  it('answers unknown and malformed ids with not-found pages', () => {
    const { context } = privateFixture()
    expect(requestPage(context, '12345')).toMatchObject({ status: 404 })
    expect(requestPage(context, 'nope').body.html).toContain('is not a request id')
    expect(marketPage(context, '7')).toMatchObject({ status: 404 })
    expect(proverPage(context, '0x12').body.html).toContain('is not an address')
    expect(proverPage(context, address(0x4444))).toMatchObject({ status: 404 })
    expect(proverPage(context, prover)).toMatchObject({ status: 200 })
  })
})

describe('the StakeMirror in the explorer', () => {
  it('indexes epochs, proven leaves, the quorum and a slash queued for Ethereum with its outcome', () => {
    const mirror = contracts.stakeMirror as Address
    const vault = address(0x5001)
    const orderId = keccak256('0x0a')
    const created = requestCreated(1n, 12)
    const explorer = index([
      marketCreated(10),
      chainLog(
        contracts.teeRegistry as Address,
        teeRegistryAbi,
        'OperatorAdmissionSet',
        { role: 2, operator: address(0x6001), admitted: true, admittedCount: 1 },
        10,
      ),
      chainLog(
        contracts.teeRegistry as Address,
        teeRegistryAbi,
        'OperatorAdmissionSet',
        { role: 2, operator: address(0x6002), admitted: true, admittedCount: 2 },
        10,
      ),
      chainLog(mirror, stakeMirrorAbi, 'ThresholdSet', { threshold: 2 }, 10),
      chainLog(
        mirror,
        stakeMirrorAbi,
        'SnapshotCommitted',
        {
          epoch: 7n,
          captureTimestamp: 900,
          slashingWindow: 5_000,
          stakeRoot: keccak256('0x0f'),
          totalStake: 1_000n,
          leafCount: 1,
        },
        11,
      ),
      chainLog(mirror, stakeMirrorAbi, 'StakeProven', { epoch: 7n, prover, vault, stake: 1_000n, counted: 1_000n }, 11),
      created.log,
      chainLog(
        mirror,
        stakeMirrorAbi,
        'SlashQueued',
        { orderId, taskId: created.requestId, prover, vault, amount: 50n, captureTimestamp: 900 },
        30,
      ),
      chainLog(
        mirror,
        stakeMirrorAbi,
        'SlashSettled',
        { orderId, prover, vault, status: 2, slashed: 50n, leaf: 950n },
        40,
      ),
    ])
    expect(explorer.mirror.epochs).toMatchObject([{ epoch: 7n, totalStake: 1_000n, leafCount: 1 }])
    expect(explorer.mirror.threshold).toBe(2)
    expect(explorer.mirror.slashes.get(orderId)?.settled).toMatchObject({
      status: 'Executed',
      slashed: 50n,
      leaf: 950n,
    })
    const context = {
      index: explorer,
      rpc: { ok: true } as const,
      chainId: 31337,
      teeRegistry: contracts.teeRegistry,
      stakeMirror: mirror,
      now: timeOf(41),
    }
    // Amounts in the marketplace's stake token (its facts, read once by the indexer).
    explorer.stakeToken = { symbol: 'cSTK', decimals: 2 }
    const page = restakingPage(context).body.html
    expect(page).toContain('data-field="quorum">2 operators of 2 admitted<')
    expect(page).toContain('data-epoch="7"')
    expect(page).toContain('<td>10 cSTK</td>')
    expect(page).toMatch(/data-field="outcome">Executed: 0.5 cSTK slashed/)
    const request = requestPage(context, String(created.requestId)).body.html
    expect(request).toContain('data-step="slash queued for Ethereum"')
    expect(request).toContain('0.5 cSTK of vault')
    expect(request).toContain('data-step="slash executed on Ethereum"')
    const proverHtml = proverPage(context, prover).body.html
    expect(proverHtml).toContain(`data-vault="${vault}"`)
    expect(proverHtml).toContain('<td>10 cSTK</td><td>10 cSTK</td>')
    // The leaf now: the proven stake less the execution reported back since.
    expect(proverHtml).toContain('<td>9.5 cSTK</td>')
    expect(proverHtml).toContain('data-field="restaked-slashes">Executed<')
    // Outcomes are the relayers' reports, and the pages say so.
    expect(page).toContain('data-field="outcome-source"')
    expect(request).toContain('as the relayer quorum reported it back')
  })
})

describe('cairn explorer', () => {
  it('is a top-level daemon: every flag goes to the explorer, global flags before it included', () => {
    expect(resolve(['explorer', '--rpc-url', 'http://127.0.0.1:8545', '--port', '8750'])).toMatchObject({
      kind: 'daemon',
      name: 'explorer',
      spec: { daemon: 'explorer/src/main.ts' },
      tokens: ['--rpc-url', 'http://127.0.0.1:8545', '--port', '8750'],
    })
  })
})
