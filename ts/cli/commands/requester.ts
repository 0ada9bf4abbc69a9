import { readFile, writeFile } from 'node:fs/promises'
import { bytesToHex, type Hex, isHex, zeroAddress } from 'viem'
import type { CairnReader } from '../../client.js'
import { getBalance, getBalances, getMarket, type LoadedRequest, loadRequest } from '../../readers.js'
import { type ProofRequest, requestProof } from '../../request-proof.js'
import { cancel, deposit } from '../../requests.js'
import { withdraw } from '../../settlement.js'
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
import { formatAmount, formatDuration, formatTime, toText } from '../kit/output.js'
import { command } from '../kit/spec.js'

export const requestIdPositional = [{ name: 'requestId', description: 'the request id (decimal or 0x hex)' }] as const

export function requestIdOf(ctx: CommandContext): bigint {
  const value = ctx.positionals[0] as string
  if (!/^(\d+|0x[0-9a-fA-F]+)$/.test(value)) {
    throw new UsageError(`<requestId>: expected a decimal or 0x-hex integer, got ${JSON.stringify(value)}`, ctx.command)
  }
  return BigInt(value)
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
      fulfilled: `fulfilled by ${details.prover}${price}`,
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

function createdResult(created: ProofRequest, token: TokenInfo) {
  const { params, encrypted } = created
  return {
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
    escrowSource: created.escrowSource,
    transactionHash: created.receipt.transactionHash,
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

export const request = command({
  description:
    'Escrows --max-reward from your marketplace balance first, the rest from your wallet (approving the marketplace when needed). The schedule defaults from chain time: assignable for --matching-window (10m), then the whole --proving-time. Private inputs are encrypted to every active attested matcher key (needs the attestation deployment).',
  options: {
    market: { type: 'string', value: '<id>', description: 'market id (required)' },
    inputs: { type: 'string', value: '<file>', description: 'public inputs: the file’s bytes' },
    'inputs-hex': { type: 'string', value: '<0x…>', description: 'public inputs as hex' },
    'private-inputs': { type: 'string', value: '<file>', description: 'private inputs to encrypt: the file’s bytes' },
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
    wait: { type: 'boolean', description: 'wait for the proof, showing progress' },
    timeout: { type: 'string', value: '<duration>', description: 'with --wait: give up after this long' },
    'poll-interval': { type: 'string', value: '<ms>', description: 'with --wait: between log polls' },
  },
  examples: [
    'cairn request --market 1 --inputs-hex 0x… --max-reward 40 --proving-time 10m --wait',
    'cairn request --market 2 --inputs public.bin --private-inputs secret.bin --max-reward 5 --proving-time 1h',
  ],
  run: async (ctx) => {
    const { flags, command: name } = ctx
    const marketId = integerFlag(requiredFlag(flags, 'market', name), 'market', name)
    const privateFile = stringFlag(flags, 'private-inputs')
    // Only private inputs need the attestation deployment (to find the matcher keys).
    const client = privateFile === undefined ? await ctx.client() : await ctx.teeClient()
    const token = await paymentTokenOf(ctx, client, marketId)
    const now = (await client.public.getBlock({ blockTag: 'latest' })).timestamp
    const uri = stringFlag(flags, 'private-inputs-uri')
    if (uri !== undefined && privateFile === undefined) {
      throw new UsageError('--private-inputs-uri needs --private-inputs', name)
    }
    ctx.progress.step('posting the request')
    const created = await requestProof(client, {
      marketId,
      maxReward: amountFlag(requiredFlag(flags, 'max-reward', name), token.decimals, 'max-reward', name),
      provingTime: durationFlag(requiredFlag(flags, 'proving-time', name), 'proving-time', name),
      ...scheduleFlags(flags, name, now),
      publicInputs: await publicInputsOf(ctx),
      ...(privateFile === undefined ? {} : { privateInputs: await readBytes(privateFile, 'private-inputs', name) }),
      ...(uri === undefined ? {} : { privateInputsUri: uri }),
    })
    const envelopeOut = stringFlag(flags, 'envelope-out')
    if (envelopeOut !== undefined && created.encrypted) {
      await writeFile(envelopeOut, Buffer.from(created.encrypted.envelope.slice(2), 'hex'))
    }
    ctx.progress.done()
    const result = createdResult(created, token)
    if (!flags.wait) return result
    ctx.progress.note(`posted request ${created.requestId}`)
    try {
      const fulfilment = await waitForProof(client, created.requestId, {
        ...waitOptions(ctx, token),
        fromBlock: created.receipt.blockNumber,
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
    'Follows the request through its marketplace logs. Exits 1 when it is cancelled, slashed, its inputs rejected, it expires or misses its deadline, or --timeout passes.',
  positionals: requestIdPositional,
  options: {
    timeout: { type: 'string', value: '<duration>', description: 'give up after this long (e.g. 10m)' },
    'poll-interval': { type: 'string', value: '<ms>', description: 'between log polls' },
  },
  run: async (ctx) => {
    const requestId = requestIdOf(ctx)
    const reader = await ctx.reader()
    const token = await ctx.token(reader, (await getMarket(reader, marketIdOf(requestId))).paymentToken)
    ctx.progress.step(`waiting for request ${requestId}`)
    try {
      return fulfilmentResult(await waitForProof(reader, requestId, waitOptions(ctx, token)), token)
    } finally {
      ctx.progress.done()
    }
  },
})

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

export const status = command({
  positionals: requestIdPositional,
  options: {
    'matcher-url': {
      type: 'string',
      value: '<url>',
      description:
        "for an open request, ask this matcher why it is not assigned yet (the devnet's matcher service URL)",
    },
  },
  run: async (ctx) => {
    const reader = await ctx.reader()
    const loaded = await loadRequest(reader, requestIdOf(ctx))
    const result = statusResult(
      loaded,
      await ctx.token(reader, (await getMarket(reader, loaded.marketId)).paymentToken),
    )
    const matcherUrl = stringFlag(ctx.flags, 'matcher-url')
    if (matcherUrl === undefined || loaded.state !== 'Open') return result
    const unassigned = await unassignedReason(matcherUrl, loaded.requestId)
    return unassigned === undefined ? result : { ...result, unassigned }
  },
  // Amounts in tokens, times as dates and durations; --json keeps the raw values (and adds the formatted amounts).
  text: (result) =>
    toText({
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
  positionals: requestIdPositional,
  run: async (ctx) => {
    const client = await ctx.client()
    const requestId = requestIdOf(ctx)
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
