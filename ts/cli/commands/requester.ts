import { readFile, writeFile } from 'node:fs/promises'
import { bytesToHex, type Hex, isHex, zeroAddress } from 'viem'
import type { CairnClient, CairnReader } from '../../client.js'
import { type FastFulfilment, findFastFulfilment } from '../../fast-fulfilments.js'
import { NoirInputError, type NoirProgram, noirRequestInputs, parseNoirProgram } from '../../noir.js'
import { getOrderStatus, OrderRejectedError } from '../../order-stream.js'
import { getBalance, getBalances, getMarket, getRequestStatus, type LoadedRequest, loadRequest } from '../../readers.js'
import { type ProofRequest, requestProof, type SignedProofRequest } from '../../request-proof.js'
import { cancel, deposit } from '../../requests.js'
import { withdraw } from '../../settlement.js'
import { cancelSignedRequest, type SignedRequestWithSignature, signedRequestState } from '../../signed-requests.js'
import type { SignedWaitOptions } from '../../signed-wait.js'
import { type TokenInfo, tokenInfo } from '../../tokens.js'
import { marketIdOf } from '../../types.js'
import { unassignedReason } from '../../unassigned-reason.js'
import { type ProgressDetails, type ProofFulfilment, type ProofStage, waitForProof } from '../../wait.js'
import {
  amountFlag,
  durationFlag,
  type Flags,
  integerFlag,
  requiredFlag,
  stringFlag,
  timeFlag,
  UsageError,
} from '../kit/args.js'
import { type CommandContext, tokenAddressFlag, usageAddress } from '../kit/context.js'
import { takeCliNonce } from '../kit/nonce-store.js'
import { formatAmount, formatDuration, formatTime, toText } from '../kit/output.js'
import { loadSignedRequest, saveSignedRequest, signedRequestPath } from '../kit/signed-store.js'
import { command } from '../kit/spec.js'

export const requestIdPositional = [{ name: 'requestId', description: 'the request id (decimal or 0x hex)' }] as const

export function requestIdOf(ctx: CommandContext): bigint {
  const value = ctx.positionals[0] as string
  if (!/^(\d+|0x[0-9a-fA-F]+)$/.test(value)) {
    throw new UsageError(`<requestId>: expected a decimal or 0x-hex integer, got ${JSON.stringify(value)}`, ctx.command)
  }
  return BigInt(value)
}

const matcherUrlOption = {
  'matcher-url': {
    type: 'string',
    value: '<url>',
    description: "the matcher service's URL (or CAIRN_MATCHER_URL; the devnet prints it)",
  },
} as const

const signedFileOption = {
  signed: {
    type: 'string',
    value: '<file>',
    description: 'a signed request not used yet: the file `cairn request` saved (default: under $CAIRN_HOME/signed)',
  },
} as const

/** --matcher-url, else CAIRN_MATCHER_URL. */
function matcherUrlOf(ctx: CommandContext): string | undefined {
  return stringFlag(ctx.flags, 'matcher-url') ?? (ctx.env.CAIRN_MATCHER_URL || undefined)
}

/** The saved signed request of `requestId` (--signed, else the default file), with the path looked at. */
async function savedSignedRequest(ctx: CommandContext, reader: CairnReader, requestId: bigint) {
  const path = stringFlag(ctx.flags, 'signed') ?? signedRequestPath(ctx.env, reader.deployment.chainId, requestId)
  const saved = await loadSignedRequest(path, reader)
  if (saved !== undefined && saved.requestId !== requestId) {
    throw new UsageError(`--signed: ${path} is signed request ${saved.requestId}, not ${requestId}`, ctx.command)
  }
  return { path, saved }
}

/** The wait's options for a signed request not used yet: report it, post it when it stays unused. */
function signedWait(
  ctx: CommandContext,
  signed: SignedRequestWithSignature,
  client: CairnClient | undefined,
): SignedWaitOptions {
  const matcherUrl = matcherUrlOf(ctx)
  const postAfter = stringFlag(ctx.flags, 'post-after')
  return {
    signed,
    ...(client === undefined ? {} : { client }),
    ...(matcherUrl === undefined ? {} : { matcherUrl }),
    ...(postAfter === undefined ? {} : { postAfterSeconds: durationFlag(postAfter, 'post-after', ctx.command) }),
    onPending: ({ order, matcherError }) =>
      ctx.progress.note(
        order === undefined
          ? `signed request ${signed.requestId}: not used yet${matcherError ? ` (${matcherError})` : matcherUrl ? ' (the matcher does not hold it)' : ''}`
          : `signed request ${signed.requestId}: acknowledged by the matcher (${order.state}${order.reason ? `: ${order.reason}` : ''}), not used yet`,
      ),
    onPosted: ({ receipt }) =>
      ctx.progress.note(`not used in time: posted it on chain yourself (transaction ${receipt.transactionHash})`),
  }
}

async function readBytes(path: string, flag: string, command: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`, command)
  }
}

async function publicInputsOf(ctx: CommandContext): Promise<Hex> {
  const file = stringFlag(ctx.flags, 'inputs')
  const hex = stringFlag(ctx.flags, 'inputs-hex')
  if ((file === undefined) === (hex === undefined)) {
    throw new UsageError(
      'give the public inputs with exactly one of --inputs <file> or --inputs-hex <0x…>',
      ctx.command,
    )
  }
  if (file !== undefined) return bytesToHex(await readBytes(file, 'inputs', ctx.command))
  if (!isHex(hex, { strict: true }) || (hex as string).length % 2 !== 0 || hex === '0x') {
    throw new UsageError('--inputs-hex: expected 0x-prefixed hex of whole bytes, not empty', ctx.command)
  }
  return hex as Hex
}

/**
 * A Noir request's public inputs and private inputs plaintext from --noir-program and --noir-inputs, checked against
 * the circuit's ABI (a field that does not fit is named); undefined without --noir-program.
 */
async function noirInputsOf(
  ctx: CommandContext,
): Promise<{ publicInputs: Hex; privateInputs?: Uint8Array } | undefined> {
  const { flags, command: name } = ctx
  const programFile = stringFlag(flags, 'noir-program')
  const inputsFile = stringFlag(flags, 'noir-inputs')
  if (programFile === undefined) {
    if (inputsFile !== undefined) throw new UsageError('--noir-inputs needs --noir-program <program.json>', name)
    return undefined
  }
  for (const flag of ['inputs', 'inputs-hex', 'private-inputs']) {
    if (stringFlag(flags, flag) !== undefined) {
      throw new UsageError(`--noir-program takes the inputs from --noir-inputs: drop --${flag}`, name)
    }
  }
  const parse = (bytes: Uint8Array, flag: string): unknown => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes))
    } catch (error) {
      throw new UsageError(`--${flag}: not JSON: ${error instanceof Error ? error.message : String(error)}`, name)
    }
  }
  let program: NoirProgram
  try {
    program = parseNoirProgram(parse(await readBytes(programFile, 'noir-program', name), 'noir-program'), programFile)
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(`--noir-program: ${error instanceof Error ? error.message : String(error)}`, name)
  }
  const inputs = parse(await readBytes(requiredFlag(flags, 'noir-inputs', name), 'noir-inputs', name), 'noir-inputs')
  try {
    return noirRequestInputs(program.abi, inputs)
  } catch (error) {
    if (error instanceof NoirInputError) throw new UsageError(`--noir-inputs: ${error.message}`, name)
    throw error
  }
}

/** Prints waitForProof's steps as progress. */
function showProgress(ctx: CommandContext, token: TokenInfo) {
  return (stage: ProofStage, details: ProgressDetails) => {
    const price = details.price === undefined ? '' : ` at ${formatAmount(details.price, token)}`
    const lines: Partial<Record<ProofStage, string>> = {
      open: `request ${details.requestId} is open, waiting for a prover`,
      'assignment-skipped': `an assignment to ${details.prover} was skipped: ${details.reason?.message}`,
      assigned: `assigned to ${details.prover}${price}, due by ${details.task ? formatTime(details.task.deadline) : '-'}`,
      'input-key-released': `private-input key released to ${details.prover}'s enclave`,
      'fulfilment-skipped': `a fulfilment was skipped: ${details.reason?.message}`,
      fulfilled:
        details.lane === 'fast'
          ? `fulfilled on the fast lane by ${details.prover}${price} (transaction ${details.transactionHash})`
          : `fulfilled by ${details.prover}${price}`,
    }
    const line = lines[stage]
    if (line === undefined) return
    ctx.progress.note(line)
    if (stage === 'open' || stage === 'assigned' || stage === 'assignment-skipped')
      ctx.progress.step('waiting for the proof')
  }
}

function waitOptions(ctx: CommandContext, token: TokenInfo) {
  const timeout = stringFlag(ctx.flags, 'timeout')
  const interval = stringFlag(ctx.flags, 'poll-interval')
  return {
    onProgress: showProgress(ctx, token),
    ...(timeout === undefined ? {} : { timeoutMs: durationFlag(timeout, 'timeout', ctx.command) * 1000 }),
    ...(interval === undefined ? {} : { pollIntervalMs: Number(integerFlag(interval, 'poll-interval', ctx.command)) }),
  }
}

async function paymentTokenOf(ctx: CommandContext, reader: CairnReader, marketId: bigint): Promise<TokenInfo> {
  const market = await getMarket(reader, marketId)
  if (market.verifier === zeroAddress) throw new UsageError(`--market: no market ${marketId}`, ctx.command)
  return ctx.token(reader, market.paymentToken)
}

function fulfilmentResult(fulfilment: ProofFulfilment, token: TokenInfo) {
  return {
    requestId: fulfilment.requestId,
    lane: fulfilment.lane,
    prover: fulfilment.prover,
    price: fulfilment.price,
    priceFormatted: formatAmount(fulfilment.price, token),
    refund: fulfilment.refund,
    refundFormatted: formatAmount(fulfilment.refund, token),
    publicInputs: fulfilment.publicInputs,
    proof: fulfilment.proof,
    privateInputsDigest: fulfilment.privateInputsDigest,
    transactionHash: fulfilment.transactionHash,
    blockNumber: fulfilment.blockNumber,
  }
}

function createdResult(created: ProofRequest | SignedProofRequest, token: TokenInfo, savedTo?: string) {
  const { params, encrypted } = created
  return {
    path: created.path,
    requestId: created.requestId,
    marketId: created.marketId,
    maxReward: params.maxReward,
    maxRewardFormatted: formatAmount(params.maxReward, token),
    provingTime: params.provingTime,
    provingTimeFormatted: formatDuration(params.provingTime),
    matchingExpiry: params.matchingExpiry,
    matchingExpiryFormatted: formatTime(params.matchingExpiry),
    deadline: params.deadline,
    deadlineFormatted: formatTime(params.deadline),
    speedPreferenceBps: params.speedPreferenceBps,
    refundAddress: params.refundAddress,
    ...pathResult(created, token, savedTo),
    ...(encrypted === undefined
      ? {}
      : {
          privateInputs: {
            digest: encrypted.digest,
            matchers: encrypted.matchers.map(({ signer }) => signer),
            // Never the data key: whoever reads the output (a CI log, a shared terminal) could open the inputs.
            ...(encrypted.uri === undefined ? {} : { uri: encrypted.uri }),
          },
        }),
  }
}

/** What each path adds: the transaction, or the signed request's nonce, file and what the matcher said. */
function pathResult(created: ProofRequest | SignedProofRequest, token: TokenInfo, savedTo: string | undefined) {
  if (created.path === 'onchain') {
    return { escrowSource: created.escrowSource, transactionHash: created.receipt.transactionHash }
  }
  return {
    escrowSource: 'deposit',
    nonce: created.signed.request.nonce,
    ...(savedTo === undefined ? {} : { savedTo }),
    ...(created.accepted === undefined ? {} : { acknowledged: true, duplicate: created.accepted.duplicate }),
    ...(created.used === undefined ? {} : { usedOnChain: created.used }),
    ...(created.unavailable === undefined ? {} : { matcherUnavailable: created.unavailable.message }),
    ...(created.posted === undefined ? {} : { transactionHash: created.posted.receipt.transactionHash }),
    ...(created.deposited === undefined
      ? {}
      : {
          deposited: created.deposited.amount,
          depositedFormatted: formatAmount(created.deposited.amount, token),
        }),
  }
}

/** The progress line naming the path taken. */
function pathNote(created: ProofRequest | SignedProofRequest): string {
  const id = created.requestId
  switch (created.path) {
    case 'onchain':
      return `posted request ${id} on chain`
    case 'posted':
      return `${created.unavailable?.message}: posted signed request ${id} on chain instead`
    case 'signed':
      return created.accepted === undefined
        ? `signed request ${id} is on chain already (${created.used})`
        : `signed request ${id}: acknowledged by the matcher, used when it assigns it`
  }
}

export const request = command({
  description:
    'With a matcher URL (--matcher-url or CAIRN_MATCHER_URL) the request is signed off chain and sent to the matcher: nothing is sent on chain, and the escrow is taken from your marketplace deposit when the matcher assigns it (a shortfall is deposited from your wallet first). If the matcher does not acknowledge within --ack-timeout, the same signed request is posted on chain; with --wait it is also posted when it stays unused for --post-after of chain time. The signed request is saved (--save-signed, default under $CAIRN_HOME/signed) for `cairn status`, `wait` and `cancel`. Without a matcher URL, or with --onchain, it is posted with createRequest: the escrow from your marketplace balance first, the rest from your wallet (approving when needed). The schedule defaults from chain time: assignable for --matching-window (10m), then the whole --proving-time. Private inputs are encrypted to every active attested matcher key (needs the attestation deployment), on both paths.',
  options: {
    market: { type: 'string', value: '<id>', description: 'market id (required)' },
    inputs: { type: 'string', value: '<file>', description: 'public inputs: the file’s bytes' },
    'inputs-hex': { type: 'string', value: '<0x…>', description: 'public inputs as hex' },
    'private-inputs': { type: 'string', value: '<file>', description: 'private inputs to encrypt: the file’s bytes' },
    'noir-program': {
      type: 'string',
      value: '<program.json>',
      description: 'a Noir market: its circuit’s compiled program; inputs then come from --noir-inputs',
    },
    'noir-inputs': {
      type: 'string',
      value: '<file.json>',
      description:
        'with --noir-program: the circuit’s inputs by ABI name, public and private together ({"digest": "0x…", "preimage": "0x…"}); checked against the ABI before anything is encrypted or sent',
    },
    'private-inputs-uri': {
      type: 'string',
      value: '<uri>',
      description: 'post only the envelope’s digest and this URI (store the envelope there: see --envelope-out)',
    },
    'envelope-out': { type: 'string', value: '<file>', description: 'write the encrypted envelope to this file' },
    'max-reward': {
      type: 'string',
      value: '<amount>',
      description: 'escrow, in the payment token (e.g. 40 or 40000wei)',
    },
    'proving-time': { type: 'string', value: '<duration>', description: 'seconds the prover gets (e.g. 600, 10m)' },
    deadline: { type: 'string', value: '<time>', description: 'unix time or +<duration> from now' },
    'matching-expiry': { type: 'string', value: '<time>', description: 'unix time or +<duration> from now' },
    'matching-window': { type: 'string', value: '<duration>', description: 'assignable for this long (default 10m)' },
    speed: { type: 'string', value: '<bps>', description: '0 = cheapest prover … 10000 = fastest (default 5000)' },
    'refund-address': { type: 'string', value: '<address>', description: 'receives refunds (default: you)' },
    ...matcherUrlOption,
    onchain: { type: 'boolean', description: 'post with createRequest even with a matcher URL' },
    'ack-timeout': {
      type: 'string',
      value: '<duration>',
      description: 'signed: post on chain when the matcher has not acknowledged in this long (default 5s)',
    },
    'post-after': {
      type: 'string',
      value: '<duration>',
      description: 'signed, with --wait: post on chain when still unused after this much chain time (default ≤ 60s)',
    },
    'save-signed': {
      type: 'string',
      value: '<file>',
      description: 'signed: save the signed request here (default $CAIRN_HOME/signed/<chain>-<id>.json)',
    },
    wait: { type: 'boolean', description: 'wait for the proof, showing progress' },
    timeout: { type: 'string', value: '<duration>', description: 'with --wait: give up after this long' },
    'poll-interval': { type: 'string', value: '<ms>', description: 'with --wait: between log polls' },
  },
  examples: [
    'cairn request --market 1 --inputs-hex 0x… --max-reward 40 --proving-time 10m --wait',
    'cairn request --market 1 --inputs-hex 0x… --max-reward 40 --proving-time 10m --matcher-url http://127.0.0.1:PORT',
    'cairn request --market 1 --inputs-hex 0x… --max-reward 40 --proving-time 10m --onchain',
    'cairn request --market 2 --inputs public.bin --private-inputs secret.bin --max-reward 5 --proving-time 1h',
    'cairn request --market 4 --noir-program noir/build/poseidon2_preimage.json --noir-inputs inputs.json --max-reward 40 --proving-time 10m',
  ],
  run: async (ctx) => {
    const { flags, command: name } = ctx
    const marketId = integerFlag(requiredFlag(flags, 'market', name), 'market', name)
    const privateFile = stringFlag(flags, 'private-inputs')
    // A Noir request's inputs are checked against the circuit's ABI first: nothing is read from or sent to a chain
    // (let alone encrypted) for inputs that do not fit it.
    const noir = await noirInputsOf(ctx)
    const hasPrivate = privateFile !== undefined || noir?.privateInputs !== undefined
    // Only private inputs need the attestation deployment (to find the matcher keys).
    const client = hasPrivate ? await ctx.teeClient() : await ctx.client()
    const token = await paymentTokenOf(ctx, client, marketId)
    const now = (await client.public.getBlock({ blockTag: 'latest' })).timestamp
    const uri = stringFlag(flags, 'private-inputs-uri')
    if (uri !== undefined && !hasPrivate) {
      throw new UsageError('--private-inputs-uri needs private inputs (--private-inputs, or a Noir circuit’s)', name)
    }
    const matcherUrl = flags.onchain === true ? undefined : matcherUrlOf(ctx)
    const ackTimeout = stringFlag(flags, 'ack-timeout')
    const fromBlock = await client.public.getBlockNumber({ cacheTime: 0 })
    ctx.progress.step(matcherUrl === undefined ? 'posting the request' : 'signing and sending to the matcher')
    // Signed: the next nonce of this machine's word for the requester, so that it rewrites a nonce slot in use.
    const nonce =
      matcherUrl === undefined
        ? undefined
        : await takeCliNonce(
            ctx.env,
            client.deployment.chainId,
            client.deployment.contracts.proofMarketplace,
            client.wallet.account.address,
          )
    const created = await requestProof(client, {
      marketId,
      ...(nonce === undefined ? {} : { nonce }),
      maxReward: amountFlag(requiredFlag(flags, 'max-reward', name), token.decimals, 'max-reward', name),
      provingTime: durationFlag(requiredFlag(flags, 'proving-time', name), 'proving-time', name),
      ...scheduleFlags(flags, name, now),
      publicInputs: noir?.publicInputs ?? (await publicInputsOf(ctx)),
      ...(privateFile === undefined ? {} : { privateInputs: await readBytes(privateFile, 'private-inputs', name) }),
      ...(noir?.privateInputs === undefined ? {} : { privateInputs: noir.privateInputs }),
      ...(uri === undefined ? {} : { privateInputsUri: uri }),
      ...(matcherUrl === undefined ? {} : { matcherUrl }),
      ...(ackTimeout === undefined ? {} : { ackTimeoutMs: durationFlag(ackTimeout, 'ack-timeout', name) * 1000 }),
    }).catch((error: unknown) => {
      if (!(error instanceof OrderRejectedError)) throw error
      throw new Error(`${error.message} (nothing was sent on chain; fix the request, or post it with --onchain)`)
    })
    let savedTo: string | undefined
    if (created.path !== 'onchain') {
      savedTo =
        stringFlag(flags, 'save-signed') ?? signedRequestPath(ctx.env, client.deployment.chainId, created.requestId)
      await saveSignedRequest(savedTo, client, created.signed)
    }
    const envelopeOut = stringFlag(flags, 'envelope-out')
    if (envelopeOut !== undefined && created.encrypted) {
      await writeFile(envelopeOut, Buffer.from(created.encrypted.envelope.slice(2), 'hex'))
    }
    ctx.progress.done()
    const result = createdResult(created, token, savedTo)
    if (!flags.wait) return result
    ctx.progress.note(pathNote(created))
    try {
      const fulfilment = await waitForProof(client, created.requestId, {
        ...waitOptions(ctx, token),
        ...(created.path === 'onchain'
          ? { fromBlock: created.receipt.blockNumber }
          : created.path === 'posted' && created.posted !== undefined
            ? { fromBlock: created.posted.receipt.blockNumber }
            : { fromBlock, signed: signedWait(ctx, created.signed, client) }),
      })
      return { ...result, fulfilment: fulfilmentResult(fulfilment, token) }
    } finally {
      ctx.progress.done()
    }
  },
})

function scheduleFlags(flags: Flags, name: string, now: bigint) {
  const deadline = stringFlag(flags, 'deadline')
  const expiry = stringFlag(flags, 'matching-expiry')
  const window = stringFlag(flags, 'matching-window')
  const speed = stringFlag(flags, 'speed')
  const refund = stringFlag(flags, 'refund-address')
  return {
    ...(deadline === undefined ? {} : { deadline: timeFlag(deadline, 'deadline', name, now) }),
    ...(expiry === undefined ? {} : { matchingExpiry: timeFlag(expiry, 'matching-expiry', name, now) }),
    ...(window === undefined ? {} : { matchingWindow: durationFlag(window, 'matching-window', name) }),
    ...(speed === undefined ? {} : { speedPreferenceBps: Number(integerFlag(speed, 'speed', name)) }),
    ...(refund === undefined ? {} : { refundAddress: usageAddress(refund, 'refund-address', name) }),
  }
}

export const wait = command({
  description:
    'Follows the request through its marketplace logs. Exits 1 when it is cancelled, slashed, its inputs rejected, it expires or misses its deadline, or --timeout passes. A signed request not used yet (its file saved by `cairn request`) is watched until it is used; with a --private-key it is posted on chain when it stays unused for --post-after of chain time.',
  positionals: requestIdPositional,
  options: {
    timeout: { type: 'string', value: '<duration>', description: 'give up after this long (e.g. 10m)' },
    'poll-interval': { type: 'string', value: '<ms>', description: 'between log polls' },
    ...matcherUrlOption,
    ...signedFileOption,
    'post-after': {
      type: 'string',
      value: '<duration>',
      description: 'a signed request: post it when still unused after this much chain time (default ≤ 60s)',
    },
  },
  run: async (ctx) => {
    const requestId = requestIdOf(ctx)
    const reader = await ctx.reader()
    const token = await ctx.token(reader, (await getMarket(reader, marketIdOf(requestId))).paymentToken)
    let signed: SignedWaitOptions | undefined
    let fromBlock: bigint | undefined
    if ((await getRequestStatus(reader, requestId)) === 'None') {
      const { path, saved } = await savedSignedRequest(ctx, reader, requestId)
      // Without its file, a signed request proven on the fast lane is still known by its log.
      const fast = saved === undefined ? await findFastFulfilment(reader, requestId) : undefined
      if (saved === undefined && fast === undefined) throw notOnChain(requestId, path)
      if (fast !== undefined) fromBlock = fast.blockNumber
      const canPost = (stringFlag(ctx.flags, 'private-key') ?? ctx.env.CAIRN_PRIVATE_KEY) !== undefined
      if (saved !== undefined) signed = signedWait(ctx, saved, canPost ? await ctx.client() : undefined)
    }
    ctx.progress.step(`waiting for request ${requestId}`)
    try {
      const options = {
        ...waitOptions(ctx, token),
        ...(signed === undefined ? {} : { signed }),
        ...(fromBlock === undefined ? {} : { fromBlock }),
      }
      return fulfilmentResult(await waitForProof(reader, requestId, options), token)
    } finally {
      ctx.progress.done()
    }
  },
})

/** A request id with no record on chain and no saved signed request. */
/** An id the chain does not know and no saved signed request explains: reported as RequestNotFoundError, as before. */
function notOnChain(requestId: bigint, path: string): Error {
  const error = new Error(
    `request ${requestId} is not on chain, and no signed request is saved at ${path}: if it is a signed request not used yet, give the file \`cairn request\` saved (--signed <file>) or ask its matcher (--matcher-url); otherwise check the id`,
  )
  error.name = 'RequestNotFoundError'
  return error
}

function statusResult(loaded: LoadedRequest, token: TokenInfo) {
  return {
    requestId: loaded.requestId,
    marketId: loaded.marketId,
    requester: loaded.requester,
    state: loaded.state,
    status: loaded.status,
    maxReward: loaded.request.maxReward,
    maxRewardFormatted: formatAmount(loaded.request.maxReward, token),
    createdAt: loaded.request.createdAt,
    matchingExpiry: loaded.request.matchingExpiry,
    provingTime: loaded.request.provingTime,
    deadline: loaded.deadline,
    speedPreferenceBps: loaded.speedPreferenceBps,
    refundAddress: loaded.request.refundAddress,
    privateInputs: loaded.privateInputs.data.length > 2 || loaded.privateInputs.uri !== '',
    ...(loaded.task === undefined
      ? {}
      : {
          task: {
            prover: loaded.task.prover,
            price: loaded.task.price,
            priceFormatted: formatAmount(loaded.task.price, token),
            deadline: loaded.task.deadline,
            byMatcher: loaded.byMatcher,
          },
        }),
    blockNumber: loaded.blockNumber,
  }
}

/** A signed request not used yet: what the chain (from its saved file) and the matcher say of it. */
async function signedStatus(ctx: CommandContext, reader: CairnReader, requestId: bigint, token: TokenInfo) {
  const { path, saved } = await savedSignedRequest(ctx, reader, requestId)
  const matcherUrl = matcherUrlOf(ctx)
  // The fast lane leaves no record, only its log: found from the saved request's spent nonce, or by id without it.
  const state = saved === undefined ? undefined : await signedRequestState(reader, saved.request)
  const fast = state === undefined ? await findFastFulfilment(reader, requestId) : fastOf(state)
  if (fast !== undefined) return fastStatusResult(fast, token)
  if (saved === undefined && matcherUrl === undefined) throw notOnChain(requestId, path)
  const onChain = state?.state
  let order: Awaited<ReturnType<typeof getOrderStatus>>
  let matcherError: string | undefined
  if (matcherUrl !== undefined) {
    try {
      order = await getOrderStatus(matcherUrl, requestId)
    } catch (error) {
      matcherError = (error as Error).message
    }
  }
  if (onChain === 'used') return { signedRequest: requestId.toString(), message: 'used just now: ask again' }
  const matcherSays =
    order === undefined
      ? matcherUrl === undefined
        ? 'no matcher asked (--matcher-url)'
        : (matcherError ?? 'the matcher does not hold it')
      : `acknowledged by the matcher (${order.state}${order.reason ? `: ${order.reason}` : ''})`
  const message =
    onChain === 'nonceSpent'
      ? 'signed, cancelled: its nonce is spent, it can never be used (nothing was escrowed)'
      : `signed, not used yet; ${matcherSays}`
  return {
    requestId,
    state: 'Signed',
    onChain: onChain ?? 'unknown (no saved signed request)',
    ...(saved === undefined
      ? {}
      : {
          requester: saved.request.requester,
          nonce: saved.request.nonce,
          matchingExpiry: saved.request.matchingExpiry,
          savedAt: path,
        }),
    ...(order === undefined ? {} : { order }),
    message,
  }
}

function fastOf(state: Awaited<ReturnType<typeof signedRequestState>>): FastFulfilment | undefined {
  return state.state === 'fulfilled' ? state.fulfilment : undefined
}

/** A signed request proven on the fast lane (fulfilSigned): who proved it, at what price, in which transaction. */
function fastStatusResult(fast: FastFulfilment, token: TokenInfo) {
  return {
    requestId: fast.requestId,
    state: 'Fulfilled',
    lane: 'fast',
    requester: fast.requester,
    nonce: fast.nonce,
    prover: fast.prover,
    price: fast.price,
    priceFormatted: formatAmount(fast.price, token),
    transactionHash: fast.transactionHash,
    blockNumber: fast.blockNumber,
    message: `fulfilled on the fast lane by ${fast.prover} at ${formatAmount(fast.price, token)} in transaction ${fast.transactionHash} (block ${fast.blockNumber}); \`cairn wait ${fast.requestId}\` prints the proof`,
  }
}

export const status = command({
  description:
    'A request on chain: its records and state. A signed request proven on the fast lane: who proved it, at what price, in which transaction. A signed request not used yet: its state from the file `cairn request` saved (nonce spent or not) and, with a matcher URL, what the matcher says of it.',
  positionals: requestIdPositional,
  options: {
    'matcher-url': {
      type: 'string',
      value: '<url>',
      description:
        "the matcher (or CAIRN_MATCHER_URL): why an open request is not assigned yet, or where a signed one stands (the devnet's matcher service URL)",
    },
    ...signedFileOption,
  },
  run: async (ctx) => {
    const reader = await ctx.reader()
    const requestId = requestIdOf(ctx)
    if ((await getRequestStatus(reader, requestId)) === 'None') {
      const token = await ctx.token(reader, (await getMarket(reader, marketIdOf(requestId))).paymentToken)
      return signedStatus(ctx, reader, requestId, token)
    }
    const loaded = await loadRequest(reader, requestId)
    const result = statusResult(
      loaded,
      await ctx.token(reader, (await getMarket(reader, loaded.marketId)).paymentToken),
    )
    const matcherUrl = matcherUrlOf(ctx)
    if (matcherUrl === undefined || loaded.state !== 'Open') return result
    const unassigned = await unassignedReason(matcherUrl, loaded.requestId)
    return unassigned === undefined ? result : { ...result, unassigned }
  },
  // Amounts in tokens, times as dates and durations; --json keeps the raw values (and adds the formatted amounts).
  text: (result) =>
    'message' in result
      ? toText(result)
      : toText({
          ...result,
          maxReward: result.maxRewardFormatted,
          maxRewardFormatted: undefined,
          createdAt: formatTime(result.createdAt),
          matchingExpiry: formatTime(result.matchingExpiry),
          provingTime: formatDuration(result.provingTime),
          deadline: formatTime(result.deadline),
          task:
            result.task === undefined
              ? undefined
              : {
                  ...result.task,
                  price: result.task.priceFormatted,
                  priceFormatted: undefined,
                  deadline: formatTime(result.task.deadline),
                },
        }),
})

export const cancelRequest = command({
  description:
    'A request on chain: cancels it once its matching expiry passed unassigned (anyone may), refunding the escrow. A signed request not used yet (by its id, with the file `cairn request` saved, or by --nonce): invalidates its nonce so it can never be used; nothing was escrowed.',
  positionals: [{ ...requestIdPositional[0], optional: true }],
  options: {
    nonce: { type: 'string', value: '<n>', description: 'cancel your signed request of this nonce (decimal or 0x)' },
    ...signedFileOption,
  },
  examples: ['cairn cancel 18446744073709551617', 'cairn cancel 0x1800…', 'cairn cancel --nonce 0x5e1f…'],
  run: async (ctx) => {
    const client = await ctx.client()
    const nonceText = stringFlag(ctx.flags, 'nonce')
    if ((nonceText === undefined) === (ctx.positionals[0] === undefined)) {
      throw new UsageError('give the request id, or --nonce <n> for a signed request not used yet', ctx.command)
    }
    if (nonceText !== undefined) {
      if (!/^(\d+|0x[0-9a-fA-F]{1,64})$/.test(nonceText)) {
        throw new UsageError(
          `--nonce: expected a decimal or 0x-hex uint256, got ${JSON.stringify(nonceText)}`,
          ctx.command,
        )
      }
      return cancelNonce(ctx, client, BigInt(nonceText), undefined)
    }
    const requestId = requestIdOf(ctx)
    if ((await getRequestStatus(client, requestId)) === 'None') {
      const { path, saved } = await savedSignedRequest(ctx, client, requestId)
      if (saved === undefined) throw notOnChain(requestId, path)
      if (saved.request.requester !== client.wallet.account.address) {
        throw new Error(
          `signed request ${requestId} is ${saved.request.requester}'s: only its requester can cancel its nonce (--private-key)`,
        )
      }
      return cancelNonce(ctx, client, saved.request.nonce, saved)
    }
    ctx.progress.step('cancelling')
    const cancelled = await cancel(client, requestId)
    ctx.progress.done()
    const token = await ctx.token(client, (await getMarket(client, marketIdOf(requestId))).paymentToken)
    return {
      requestId: cancelled.requestId,
      refund: cancelled.refund,
      refundFormatted: formatAmount(cancelled.refund, token),
      transactionHash: cancelled.receipt.transactionHash,
    }
  },
})

/** Invalidates one nonce of the account's signed requests; with the request, shows its state after. */
async function cancelNonce(
  ctx: CommandContext,
  client: CairnClient,
  nonce: bigint,
  signed: SignedRequestWithSignature | undefined,
) {
  if (nonce >= 1n << 256n) throw new UsageError('--nonce: at most 2^256 - 1', ctx.command)
  ctx.progress.step('invalidating the nonce')
  const { receipt } = await cancelSignedRequest(client, nonce)
  ctx.progress.done()
  const after = signed === undefined ? undefined : await signedRequestState(client, signed.request)
  return {
    nonce,
    ...(after === undefined ? {} : { requestId: after.requestId, state: after.state }),
    ...(after?.state === 'used'
      ? {
          message: `it was used before the cancellation (${after.status}): cancel it like any request once its matching expiry passed`,
        }
      : after?.state === 'fulfilled'
        ? {
            message: `it was proven on the fast lane before the cancellation, by ${after.fulfilment.prover} in ${after.fulfilment.transactionHash}: nothing to cancel`,
          }
        : { message: 'cancelled: a signed request of this nonce can never be used; nothing was escrowed' }),
    transactionHash: receipt.transactionHash,
  }
}

const tokenOption = {
  token: {
    type: 'string',
    value: '<address|symbol>',
    description:
      'token by address or symbol, e.g. cUSD (default: the deployment’s payment token; ETH or 0x0…0: native)',
  },
} as const

export const balance = command({
  options: {
    account: { type: 'string', value: '<address>', description: 'whose (default: the --private-key account)' },
    token: { type: 'string', value: '<address|symbol>', description: 'only this token (address or symbol, e.g. cUSD)' },
  },
  run: async (ctx) => {
    const reader = await ctx.reader()
    const account = ctx.subject()
    const only = stringFlag(ctx.flags, 'token')
    const balances = await getBalances(
      reader,
      account,
      only === undefined
        ? undefined
        : [await tokenAddressFlag(reader, only, 'token', ctx.command, { allowZero: true })],
    )
    const rows = await Promise.all(
      balances.map(async (row) => {
        const info = await tokenInfo(reader, row.token)
        return {
          ...row,
          symbol: info.symbol,
          decimals: info.decimals,
          marketplaceFormatted: formatAmount(row.marketplace, info),
          walletFormatted: formatAmount(row.wallet, info),
        }
      }),
    )
    return { account, balances: rows }
  },
  text: (result) =>
    [
      `account ${result.account}`,
      ...result.balances.map(
        (row) =>
          `${row.symbol.padEnd(8)} marketplace ${row.marketplaceFormatted.padEnd(24)} wallet ${row.walletFormatted}`,
      ),
    ].join('\n'),
})

export const depositCommand = command({
  options: {
    amount: { type: 'string', value: '<amount>', description: 'how much, in the token (required)' },
    ...tokenOption,
  },
  run: async (ctx) => {
    const client = await ctx.client()
    const tokenFlag = stringFlag(ctx.flags, 'token')
    const token = await ctx.token(
      client,
      tokenFlag === undefined
        ? client.deployment.contracts.paymentToken
        : await tokenAddressFlag(client, tokenFlag, 'token', ctx.command),
    )
    const amount = amountFlag(requiredFlag(ctx.flags, 'amount', ctx.command), token.decimals, 'amount', ctx.command)
    ctx.progress.step('depositing')
    const deposited = await deposit(client, token.address, amount)
    ctx.progress.done()
    return {
      token: token.address,
      amount: deposited.amount,
      amountFormatted: formatAmount(deposited.amount, token),
      approved: deposited.approval !== undefined,
      transactionHash: deposited.receipt.transactionHash,
    }
  },
})

export const withdrawCommand = command({
  description:
    'Without --amount, the whole balance. The balance is checked first, so asking for more than it holds names both in tokens.',
  options: {
    amount: {
      type: 'string',
      value: '<amount>',
      description: 'how much, in the token (e.g. 12.5 or 12500wei; default: the whole balance)',
    },
    ...tokenOption,
    to: { type: 'string', value: '<address>', description: 'recipient (default: you)' },
  },
  examples: ['cairn withdraw', 'cairn withdraw --amount 12.5 --token cUSD'],
  run: async (ctx) => {
    const client = await ctx.client()
    const tokenFlag = stringFlag(ctx.flags, 'token')
    const token = await ctx.token(
      client,
      tokenFlag === undefined
        ? client.deployment.contracts.paymentToken
        : await tokenAddressFlag(client, tokenFlag, 'token', ctx.command, { allowZero: true }),
    )
    const amountText = stringFlag(ctx.flags, 'amount')
    const amount = amountText === undefined ? undefined : amountFlag(amountText, token.decimals, 'amount', ctx.command)
    if (amount === 0n)
      throw new UsageError('--amount: give more than 0 (or no --amount: the whole balance)', ctx.command)
    const to = stringFlag(ctx.flags, 'to')
    const recipient = to === undefined ? client.wallet.account.address : usageAddress(to, 'to', ctx.command)
    const held = await getBalance(client, client.wallet.account.address, token.address)
    if (held === 0n) {
      throw new Error(
        `nothing to withdraw: the marketplace balance of ${client.wallet.account.address} in ${token.symbol} is 0 (see \`cairn balance\`)`,
      )
    }
    if (amount !== undefined && amount > held) {
      throw new Error(
        `--amount ${formatAmount(amount, token)} is more than the marketplace balance of ${formatAmount(held, token)}: withdraw at most that (or leave out --amount for all of it)`,
      )
    }
    ctx.progress.step('withdrawing')
    const withdrawn = await withdraw(client, token.address, {
      to: recipient,
      ...(amount === undefined ? {} : { amount }),
    })
    ctx.progress.done()
    const left = await getBalance(client, client.wallet.account.address, token.address)
    return {
      token: token.address,
      symbol: token.symbol,
      to: recipient,
      amount: withdrawn.amount,
      amountFormatted: formatAmount(withdrawn.amount, token),
      balanceLeft: left,
      balanceLeftFormatted: formatAmount(left, token),
      transactionHash: withdrawn.receipt.transactionHash,
    }
  },
  text: (result) =>
    [
      `withdrew ${result.amountFormatted} to ${result.to}`,
      `marketplace balance left: ${result.balanceLeftFormatted}`,
      `transaction ${result.transactionHash}`,
    ].join('\n'),
})
