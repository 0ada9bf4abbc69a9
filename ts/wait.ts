import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Address,
  concat,
  decodeFunctionData,
  encodeEventTopics,
  formatLog,
  type Hash,
  type Hex,
  isAddressEqual,
  keccak256,
  numberToHex,
  type ParseEventLogsReturnType,
  pad,
  parseEventLogs,
  zeroHash,
} from 'viem'
import type { CairnReader } from './client.js'
import { type CairnContractError, decodeSkipReason } from './errors.js'
import { type FastFulfilment, fastProofOf } from './fast-fulfilments.js'
import { iSignedFulfilmentsAbi, proofMarketplaceAbi } from './generated.js'
import { RequestNotFoundError } from './readers.js'
import type { SignedRequest } from './signed-requests.js'
import { type SignedWaitOptions, untilSignedRequestUsed } from './signed-wait.js'
import { type Fulfilment, type Request, requestInputsDigest, type Task } from './types.js'
import { type UnassignedReason, unassignedReason } from './unassigned-reason.js'
import { type KeyReleaseOptions, keyReleaseStep } from './wait-key-release.js'

/** Where a request stands, as waitForProof reports it; the last five end the wait with ProofRequestFailedError. */
export type ProofStage =
  | 'open'
  | 'assignment-skipped'
  | 'assigned'
  | 'input-key-released'
  | 'fulfilment-skipped'
  | 'fulfilled'
  | 'expired'
  | 'deadline-missed'
  | 'cancelled'
  | 'slashed'
  | 'inputs-rejected'

/** What waitForProof knows of a request: its records so far and the block it has read up to. */
export type WaitState = {
  requestId: bigint
  /** Undefined until the request's RequestCreated log is read. */
  stage: ProofStage | undefined
  request: Request | undefined
  task: Task | undefined
  /** The last block whose logs were read. */
  blockNumber: bigint
  /** That block's timestamp, once read. */
  chainTime: bigint | undefined
  /** The matcher's last word on why the request is not assigned (with `matcherUrl`). */
  unassigned?: UnassignedReason | undefined
}

export type ProgressDetails = {
  requestId: bigint
  /**
   * With `fulfilled`: `fast` for a request proven on the fast lane (a signed one with fulfilSigned, an on-chain one
   * with fulfilOpen), else `assigned`.
   */
  lane?: 'assigned' | 'fast'
  blockNumber: bigint
  transactionHash?: Hash
  request?: Request
  task?: Task
  prover?: Address
  price?: bigint
  refund?: bigint
  /** Why an assignment or a fulfilment of this request was skipped (the revert it would have raised). */
  reason?: CairnContractError
  /** The chain time that made the request expire or miss its deadline. */
  chainTime?: bigint
}

export type WaitForProofOptions = {
  /** Give up after this long with TimeoutError (default: wait until the request ends, at most its deadline). */
  timeoutMs?: number
  /** Between log polls (default: the reader's polling interval). */
  pollIntervalMs?: number
  /** Called once per event of the request and on the time-derived ends (expired, deadline-missed). */
  onProgress?: (stage: ProofStage, details: ProgressDetails) => void
  /** First block to read logs from (default: the deployment block). */
  fromBlock?: bigint
  /**
   * The matcher's HTTP base URL. While the request is unassigned, the wait asks it why at every poll and calls
   * `onUnassigned` when the answer changes; the last answer names the cause when the request expires unassigned.
   */
  matcherUrl?: string
  onUnassigned?: (reason: UnassignedReason, details: { requestId: bigint; blockNumber: bigint }) => void
  /**
   * For a private request: its data key and the refund address's client. When a prover claims the request with
   * claimPrivate (no matcher), the wait releases the key to that prover's enclave, once (see wait-key-release.ts).
   */
  releaseKey?: KeyReleaseOptions
  signal?: AbortSignal
  /**
   * The request is a signed one that may not be used yet: wait for its use first (no log scan meanwhile), posting
   * it on chain when it stays unused too long (see signed-wait.ts).
   */
  signed?: SignedWaitOptions
}

/**
 * A fulfilled request's proof, as its prover submitted it, with what the marketplace settled. `lane`: `assigned` (fulfil
 * or fulfilBatch of a task), or `fast`: an on-chain request settled with fulfilOpen (`task` is its fast assignment: the
 * prover, its price, the assignment's expiry as deadline, no compute), or a signed request proven on the fast lane
 * (fulfilSigned: nothing was escrowed,
 * so `refund` is 0; there is no record on chain, so `request` is the record the signed request would get, createdAt 0,
 * and `task` its fast assignment: the prover, its price, the assignment's expiry as deadline, no compute; `signed` is
 * the signed request and the assignment's validUntil).
 */
export type ProofFulfilment = {
  lane: 'assigned' | 'fast'
  requestId: bigint
  prover: Address
  price: bigint
  refund: bigint
  publicInputs: Hex
  proof: Hex
  privateInputsDigest: Hex
  request: Request
  task: Task
  transactionHash: Hash
  blockNumber: bigint
  signed?: { request: SignedRequest; validUntil: bigint }
}

export type RequestFailure = 'Expired' | 'DeadlineMissed' | 'Cancelled' | 'Slashed' | 'InputsRejected'

/** The request ended, or can no longer end, with a proof. `outcome` says how; `state` is what was known. */
export class ProofRequestFailedError extends Error {
  override readonly name = 'ProofRequestFailedError'
  constructor(
    readonly requestId: bigint,
    readonly outcome: RequestFailure,
    readonly state: WaitState,
    readonly details: ProgressDetails,
  ) {
    super(failureMessage(requestId, outcome, state, details))
  }
}

function failureMessage(requestId: bigint, outcome: RequestFailure, state: WaitState, details: ProgressDetails) {
  const id = `request ${requestId}`
  switch (outcome) {
    case 'Expired': {
      const why = state.unassigned === undefined ? '' : `; the matcher's last reason: ${state.unassigned.message}`
      return `${id} expired unassigned (matching expiry ${state.request?.matchingExpiry}, chain time ${details.chainTime})${why}; cancel it to get the escrow back (cairn cancel ${requestId}), then fix the cause and post it again`
    }
    case 'DeadlineMissed':
      return `prover ${state.task?.prover} missed the deadline ${state.task?.deadline} of ${id} (chain time ${details.chainTime}): slash it to get the escrow back (with compensation if the prover had an active enclave key to reject the inputs)`
    case 'Cancelled':
      return `${id} was cancelled and its escrow (${details.refund}) refunded`
    case 'Slashed':
      return `the prover of ${id} missed its deadline and was slashed; the escrow was refunded`
    case 'InputsRejected':
      return `the prover's enclave attested that the inputs of ${id} cannot be proven: it was paid ${details.price} for the check and ${details.refund} was refunded`
  }
}

/** No proof within the wait's timeout; `state` is the last thing known of the request. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
  constructor(
    readonly requestId: bigint,
    readonly timeoutMs: number,
    readonly state: WaitState,
  ) {
    const seen =
      state.stage === 'assigned'
        ? `assigned to ${state.task?.prover}, due by ${state.task?.deadline}`
        : (state.stage ?? 'not on chain (a signed request not used yet)')
    super(`no proof for request ${requestId} within ${timeoutMs} ms; last seen ${seen} at block ${state.blockNumber}`)
  }
}

/**
 * The request was fulfilled, but not by a direct fulfil/fulfilBatch (or fast-lane fulfilOpen/fulfilSigned/fulfilSignedBatch) call
 * whose calldata carries the proof.
 */
export class ProofDataUnavailableError extends Error {
  override readonly name = 'ProofDataUnavailableError'
  constructor(
    readonly requestId: bigint,
    readonly transactionHash: Hash,
    readonly settled: { prover: Address; price: bigint; refund: bigint },
  ) {
    super(
      `request ${requestId} was fulfilled in ${transactionHash}, but its calldata is not a marketplace fulfil, fulfilBatch, fulfilOpen, fulfilSigned or fulfilSignedBatch carrying the proof (a call through another contract?): read the proof from that transaction's trace`,
    )
  }
}

const requestEventNames = [
  'RequestCreated',
  'AssignmentSkipped',
  'TaskAssigned',
  'InputKeyReleased',
  'FulfilmentSkipped',
  'RequestFulfilled',
  'InputsRejected',
  'TaskSlashed',
  'RequestCancelled',
] as const

/**
 * Every event above carries the request id as its first indexed argument, and so does the fast lane's
 * SignedRequestFulfilled (emitted at the marketplace's address too): a signed request proven there has no other log.
 */
const eventSelectors: Hex[] = [
  ...requestEventNames.map((eventName) => encodeEventTopics({ abi: proofMarketplaceAbi, eventName })[0] as Hex),
  encodeEventTopics({ abi: iSignedFulfilmentsAbi, eventName: 'SignedRequestFulfilled' })[0] as Hex,
]

/** The request's marketplace events in blocks from..to, in chain order: one eth_getLogs with an OR of topics. */
async function requestEvents(reader: CairnReader, requestId: bigint, fromBlock: bigint, toBlock: bigint) {
  const logs = await reader.public.request({
    method: 'eth_getLogs',
    params: [
      {
        address: reader.deployment.contracts.proofMarketplace,
        fromBlock: numberToHex(fromBlock),
        toBlock: numberToHex(toBlock),
        topics: [eventSelectors, pad(numberToHex(requestId), { size: 32 })],
      },
    ],
  })
  const formatted = logs.map((log) => formatLog(log))
  const events: RequestEvent[] = [
    ...parseEventLogs({ abi: proofMarketplaceAbi, logs: formatted, strict: true }),
    ...parseEventLogs({
      abi: iSignedFulfilmentsAbi,
      logs: formatted,
      eventName: 'SignedRequestFulfilled',
      strict: true,
    }),
  ]
  return events.sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  )
}

type RequestEvent =
  | ParseEventLogsReturnType<typeof proofMarketplaceAbi, undefined, true>[number]
  | ParseEventLogsReturnType<typeof iSignedFulfilmentsAbi, 'SignedRequestFulfilled', true>[number]

/**
 * Waits until a request is fulfilled and returns the proof, read from the fulfilling transaction's calldata.
 * Follows the request through its marketplace logs (polled from the deployment block, then block by block), calling
 * `onProgress` on every step. Ends with ProofRequestFailedError when the request is cancelled, slashed or its
 * inputs rejected, and as soon as chain time shows it can no longer be fulfilled (expired unassigned, deadline
 * missed); with TimeoutError after `timeoutMs`; with RequestNotFoundError when the request does not exist.
 */
export async function waitForProof(
  reader: CairnReader,
  requestId: bigint,
  options: WaitForProofOptions = {},
): Promise<ProofFulfilment> {
  const started = Date.now()
  const interval = options.pollIntervalMs ?? reader.public.pollingInterval
  const fromBlock = await firstBlock(reader, requestId, options, started, interval)
  const state: WaitState = {
    requestId,
    stage: undefined,
    request: undefined,
    task: undefined,
    blockNumber: fromBlock,
    chainTime: undefined,
  }
  const report = (stage: ProofStage, details: Omit<ProgressDetails, 'requestId'>) => {
    state.stage = stage
    const full = { requestId, ...details }
    options.onProgress?.(stage, full)
    return full
  }
  const releaseKey = options.releaseKey === undefined ? undefined : keyReleaseStep(options.releaseKey)
  let cursor = fromBlock
  for (;;) {
    options.signal?.throwIfAborted()
    const head = await reader.public.getBlockNumber({ cacheTime: 0 })
    if (head >= cursor) {
      for (const event of await requestEvents(reader, requestId, cursor, head)) {
        const fulfilled = await applyEvent(reader, state, event, report)
        if (fulfilled) return fulfilled
      }
      cursor = head + 1n
      state.blockNumber = head
      if (state.request === undefined) throw new RequestNotFoundError(requestId, fromBlock, head)
      await checkTime(reader, state, head, report)
      await releaseKey?.(state)
    }
    // Every poll, not only at new blocks: the matcher's reason can change between blocks (inputs loaded, say).
    if (options.matcherUrl !== undefined && state.request !== undefined && state.task === undefined) {
      await askMatcher(options.matcherUrl, state, options.onUnassigned)
    }
    const remaining = options.timeoutMs === undefined ? interval : options.timeoutMs - (Date.now() - started)
    if (remaining <= 0) throw new TimeoutError(requestId, options.timeoutMs ?? 0, { ...state })
    await sleep(Math.min(interval, remaining), undefined, options.signal ? { signal: options.signal } : {})
  }
}

/** Where the logs start: the deployment block, or once a signed request is used, the block it was used after. */
async function firstBlock(
  reader: CairnReader,
  requestId: bigint,
  options: WaitForProofOptions,
  started: number,
  interval: number,
): Promise<bigint> {
  const fromBlock = options.fromBlock ?? reader.deployment.deployBlock
  if (options.signed === undefined) return fromBlock
  const until = options.timeoutMs === undefined ? undefined : started + options.timeoutMs
  const used = await untilSignedRequestUsed(reader, options.signed, {
    fromBlock,
    intervalMs: interval,
    until,
    signal: options.signal,
  })
  if (used !== undefined) return used
  const state = { requestId, stage: undefined, request: undefined, task: undefined, blockNumber: fromBlock }
  throw new TimeoutError(requestId, options.timeoutMs ?? 0, { ...state, chainTime: undefined })
}

type Report = (stage: ProofStage, details: Omit<ProgressDetails, 'requestId'>) => ProgressDetails

/** Applies one event; returns the fulfilment when it is the proof, throws when it ends the request otherwise. */
async function applyEvent(
  reader: CairnReader,
  state: WaitState,
  event: RequestEvent,
  report: Report,
): Promise<ProofFulfilment | undefined> {
  const at = { blockNumber: event.blockNumber, transactionHash: event.transactionHash }
  const fail = (outcome: RequestFailure, details: ProgressDetails): never => {
    throw new ProofRequestFailedError(state.requestId, outcome, { ...state }, details)
  }
  switch (event.eventName) {
    case 'RequestCreated':
      state.request = event.args.request
      report('open', { ...at, request: event.args.request })
      return undefined
    case 'AssignmentSkipped':
      report('assignment-skipped', { ...at, prover: event.args.prover, reason: decodeSkipReason(event.args.reason) })
      return undefined
    case 'TaskAssigned':
      state.task = event.args.task
      report('assigned', { ...at, task: event.args.task, prover: event.args.prover, price: event.args.task.price })
      return undefined
    case 'InputKeyReleased':
      report('input-key-released', { ...at, prover: event.args.prover })
      return undefined
    case 'FulfilmentSkipped':
      report('fulfilment-skipped', { ...at, reason: decodeSkipReason(event.args.reason) })
      return undefined
    case 'RequestFulfilled': {
      const { prover, price, refund } = event.args
      const { lane, ...fulfilment } = await fulfilmentOf(reader, state, event.transactionHash, {
        prover,
        price,
        refund,
      })
      report('fulfilled', { ...at, lane, prover, price, refund, task: fulfilment.task })
      return {
        lane,
        requestId: state.requestId,
        ...fulfilment,
        prover,
        price,
        refund,
        transactionHash: event.transactionHash,
        blockNumber: event.blockNumber,
      }
    }
    case 'SignedRequestFulfilled': {
      const fast = { ...event.args, ...at, logIndex: event.logIndex }
      const fulfilment = await fastFulfilmentOf(reader, fast)
      report('fulfilled', {
        ...at,
        lane: 'fast',
        prover: fast.prover,
        price: fast.price,
        refund: 0n,
        task: fulfilment.task,
      })
      return fulfilment
    }
    case 'InputsRejected': {
      const { prover, price, refund } = event.args
      return fail('InputsRejected', report('inputs-rejected', { ...at, prover, price, refund }))
    }
    case 'TaskSlashed':
      return fail('Slashed', report('slashed', { ...at, prover: event.args.prover }))
    case 'RequestCancelled':
      return fail('Cancelled', report('cancelled', { ...at, refund: event.args.refund }))
    default:
      return undefined
  }
}

/** Asks the matcher why the request is unassigned; reports the answer when it differs from the last one. */
async function askMatcher(
  matcherUrl: string,
  state: WaitState,
  onUnassigned: WaitForProofOptions['onUnassigned'],
): Promise<void> {
  const reason = await unassignedReason(matcherUrl, state.requestId)
  // Not open in the matcher's book: assigned or ended, which this wait reads from the chain next.
  if (reason === undefined || reason.message === state.unassigned?.message) return
  state.unassigned = reason
  onUnassigned?.(reason, { requestId: state.requestId, blockNumber: state.blockNumber })
}

/** Stages after which the request may still be fulfilled. */
const liveStages: ReadonlySet<ProofStage> = new Set([
  'open',
  'assignment-skipped',
  'assigned',
  'input-key-released',
  'fulfilment-skipped',
])

/** Ends the wait when chain time at `head` (whose logs are all read) rules a proof out. */
async function checkTime(reader: CairnReader, state: WaitState, head: bigint, report: Report): Promise<void> {
  if (state.stage === undefined || !liveStages.has(state.stage)) return
  const chainTime = (await reader.public.getBlock({ blockNumber: head })).timestamp
  state.chainTime = chainTime
  const at = { blockNumber: head, chainTime }
  if (state.task === undefined) {
    // No TaskAssigned up to a block past the matching expiry: no later block can assign it.
    if (state.request !== undefined && chainTime > BigInt(state.request.matchingExpiry)) {
      const details = report('expired', { ...at, request: state.request })
      throw new ProofRequestFailedError(state.requestId, 'Expired', { ...state }, details)
    }
    return
  }
  if (chainTime > BigInt(state.task.deadline)) {
    const details = report('deadline-missed', { ...at, task: state.task, prover: state.task.prover })
    throw new ProofRequestFailedError(state.requestId, 'DeadlineMissed', { ...state }, details)
  }
}

/**
 * The proof of `requestId` in the calldata of the transaction that fulfilled it: fulfil or fulfilBatch of its task
 * (lane `assigned`), or fulfilOpen, the fast lane of an on-chain request (lane `fast`: no task on chain, so `task` is
 * the fast assignment, as for a signed request).
 */
async function fulfilmentOf(
  reader: CairnReader,
  state: WaitState,
  hash: Hash,
  settled: { prover: Address; price: bigint; refund: bigint },
): Promise<
  Pick<Fulfilment, 'publicInputs' | 'proof' | 'privateInputsDigest' | 'request' | 'task'> & {
    lane: 'assigned' | 'fast'
  }
> {
  const unavailable = () => new ProofDataUnavailableError(state.requestId, hash, settled)
  const transaction = await reader.public.getTransaction({ hash })
  if (!transaction.to || !isAddressEqual(transaction.to, reader.deployment.contracts.proofMarketplace)) {
    throw unavailable()
  }
  const open = openFulfilmentIn(transaction.input)
  if (open !== undefined) {
    if (open.requestId !== state.requestId || !isAddressEqual(open.prover, settled.prover)) throw unavailable()
    const matchingExpiry = BigInt(open.request.matchingExpiry)
    const expiry = open.validUntil < matchingExpiry ? open.validUntil : matchingExpiry
    return {
      lane: 'fast',
      publicInputs: open.publicInputs,
      proof: open.proof,
      // fulfilOpen takes public requests only.
      privateInputsDigest: zeroHash,
      request: open.request,
      task: { prover: open.prover, price: open.price, deadline: Number(expiry), compute: 0 },
    }
  }
  let items: readonly Fulfilment[]
  try {
    const call = decodeFunctionData({ abi: proofMarketplaceAbi, data: transaction.input })
    if (call.functionName === 'fulfil') items = [call.args[0]]
    else if (call.functionName === 'fulfilBatch') items = call.args[0]
    else throw unavailable()
  } catch {
    throw unavailable()
  }
  // A batch may name the request twice (one item skipped): the one settled is the one whose inputs match the record.
  const inputsDigest = state.request?.inputsDigest
  const item = items.find(
    (f) =>
      f.requestId === state.requestId &&
      keccak256(concat([keccak256(f.publicInputs), f.privateInputsDigest])) === inputsDigest &&
      isAddressEqual(f.task.prover, settled.prover),
  )
  if (!item) throw unavailable()
  return {
    lane: 'assigned',
    publicInputs: item.publicInputs,
    proof: item.proof,
    privateInputsDigest: item.privateInputsDigest,
    request: item.request,
    task: item.task,
  }
}

/** The fulfilOpen argument in `data`, or undefined when it is another call. */
function openFulfilmentIn(data: Hex) {
  try {
    const call = decodeFunctionData({ abi: iSignedFulfilmentsAbi, data })
    return call.functionName === 'fulfilOpen' ? call.args[0] : undefined
  } catch {
    return undefined
  }
}

/** A fast-lane fulfilment with its proof, from the calldata of the transaction that carried it. */
async function fastFulfilmentOf(reader: CairnReader, fast: FastFulfilment): Promise<ProofFulfilment> {
  const { requestId, prover, price, transactionHash, blockNumber } = fast
  const data = await fastProofOf(reader, fast)
  if (data === undefined) throw new ProofDataUnavailableError(requestId, transactionHash, { prover, price, refund: 0n })
  const { request } = data
  const expiry = BigInt(request.deadline) < data.validUntil ? BigInt(request.deadline) : data.validUntil
  return {
    lane: 'fast',
    requestId,
    prover,
    price,
    refund: 0n,
    publicInputs: data.publicInputs,
    proof: data.proof,
    privateInputsDigest: zeroHash,
    request: {
      refundAddress: request.refundAddress,
      maxReward: request.maxReward,
      createdAt: 0,
      matchingExpiry: request.matchingExpiry,
      provingTime: request.provingTime,
      inputsDigest: requestInputsDigest(request.publicInputs, request.privateInputs),
    },
    task: { prover, price, deadline: Number(expiry), compute: 0 },
    transactionHash,
    blockNumber,
    signed: { request, validUntil: data.validUntil },
  }
}
