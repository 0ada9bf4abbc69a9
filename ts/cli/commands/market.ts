import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { zeroAddress } from 'viem'
import { iStakeSourceAbi } from '../../generated.js'
import { createMarket, getMarketDetails, listMarkets, MAX_FALLBACK_DELAY } from '../../market.js'
import { type NoirProgram, noirPublicInputCount, parseNoirProgram } from '../../noir.js'
import { createNoirMarket, DEFAULT_NOIR_VERIFY_GAS } from '../../noir-market.js'
import { amountFlag, durationFlag, integerFlag, requiredFlag, stringFlag, UsageError } from '../kit/args.js'
import { type CommandContext, usageAddress } from '../kit/context.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'

export const marketCreate = command({
  description:
    'The verifier, payment token and stake source default to the deployment’s Groth16 adapter, payment token and native staking. Stake amounts are in the stake source’s token. A Noir market: --noir <compiled program .json> and --honk-verifier <address> (the bb.js UltraHonk verifier generated for that program, deployed) deploy an UltraHonkVerifierAdapter taking the program’s public inputs (from its ABI) and the verifier’s proof length (asked of the verifier), and create the market with it; its metadata URI defaults to noir:sha256:<program hash>.',
  options: {
    noir: {
      type: 'string',
      value: '<program.json>',
      description: 'a Noir circuit’s compiled program (nargo/noir_wasm JSON): create a Noir market for it',
    },
    'honk-verifier': {
      type: 'string',
      value: '<address>',
      description: 'with --noir: the deployed bb.js UltraHonk verifier of that program (required with --noir)',
    },
    'verify-gas': {
      type: 'string',
      value: '<gas>',
      description: `with --noir: gas the adapter gives each verification (default ${DEFAULT_NOIR_VERIFY_GAS})`,
    },
    verifier: {
      type: 'string',
      value: '<address>',
      description: 'IProofVerifier adapter (default: the deployment’s groth16Adapter)',
    },
    'payment-token': {
      type: 'string',
      value: '<address>',
      description: 'ERC20 requests escrow (default: the deployment’s)',
    },
    'stake-source': {
      type: 'string',
      value: '<address>',
      description: 'approved IStakeSource (default: native staking)',
    },
    'stake-per-task': { type: 'string', value: '<amount>', description: 'stake locked per task (required)' },
    'slash-penalty': {
      type: 'string',
      value: '<amount>',
      description: 'taken from it on a missed deadline (required)',
    },
    'compensation-bps': {
      type: 'string',
      value: '<bps>',
      description: 'requester’s share of a penalty (default 5000, max 9500)',
    },
    'fallback-delay': {
      type: 'string',
      value: '<duration>',
      description: `before provers may claim without the matcher (default 30s, max ${MAX_FALLBACK_DELAY / 3600}h)`,
    },
    'metadata-uri': {
      type: 'string',
      value: '<uri>',
      description: 'circuit, artifacts, input encoding (default empty)',
    },
  },
  examples: [
    'cairn market create --stake-per-task 100 --slash-penalty 50 --metadata-uri ipfs://…',
    'cairn market create --noir noir/build/poseidon2_preimage.json --honk-verifier 0x… --stake-per-task 100 --slash-penalty 50',
  ],
  run: async (ctx) => {
    const { flags, command: name } = ctx
    const noir = await noirFlags(ctx)
    const client = await ctx.client()
    const { contracts } = client.deployment
    const addressFlag = (flag: string, fallback: `0x${string}`) => {
      const value = stringFlag(flags, flag)
      return value === undefined ? fallback : usageAddress(value, flag, name)
    }
    const stakeSource = addressFlag('stake-source', contracts.nativeStaking)
    const stakeToken = await client.public.readContract({
      address: stakeSource,
      abi: iStakeSourceAbi,
      functionName: 'stakeToken',
    })
    const { decimals } = await ctx.token(client, stakeToken)
    const bps = stringFlag(flags, 'compensation-bps')
    const delay = stringFlag(flags, 'fallback-delay')
    const market = {
      paymentToken: addressFlag('payment-token', contracts.paymentToken),
      stakeSource,
      stakePerTask: amountFlag(requiredFlag(flags, 'stake-per-task', name), decimals, 'stake-per-task', name),
      slashPenalty: amountFlag(requiredFlag(flags, 'slash-penalty', name), decimals, 'slash-penalty', name),
      requesterCompensationBps: bps === undefined ? 5_000 : Number(integerFlag(bps, 'compensation-bps', name)),
      fallbackDelay: delay === undefined ? 30 : durationFlag(delay, 'fallback-delay', name),
      metadataURI: stringFlag(flags, 'metadata-uri') ?? (noir === undefined ? '' : `noir:sha256:${noir.hash}`),
    }
    const native = await ctx.token(client, zeroAddress)
    if (noir !== undefined) {
      ctx.progress.step('deploying the UltraHonk adapter and creating the Noir market')
      const created = await createNoirMarket(client, { ...noir, market })
      ctx.progress.done()
      return {
        marketId: created.marketId,
        creationFee: created.fee,
        creationFeeFormatted: formatAmount(created.fee, native),
        transactionHash: created.receipt.transactionHash,
        noir: {
          verifier: created.adapter,
          honkVerifier: noir.honkVerifier,
          publicInputCount: created.publicInputCount,
          proofLength: created.proofLength,
        },
      }
    }
    ctx.progress.step('creating the market')
    const { marketId, fee, receipt } = await createMarket(client, {
      ...market,
      verifier: addressFlag('verifier', contracts.groth16Adapter),
    })
    ctx.progress.done()
    return {
      marketId,
      creationFee: fee,
      creationFeeFormatted: formatAmount(fee, native),
      transactionHash: receipt.transactionHash,
    }
  },
})

/** A Noir market's flags, checked before anything is sent: the program read and its ABI checked, the verifier named. */
async function noirFlags(ctx: CommandContext) {
  const { flags, command: name } = ctx
  const path = stringFlag(flags, 'noir')
  if (path === undefined) {
    for (const flag of ['honk-verifier', 'verify-gas']) {
      if (stringFlag(flags, flag) !== undefined) throw new UsageError(`--${flag} needs --noir <program.json>`, name)
    }
    return undefined
  }
  if (stringFlag(flags, 'verifier') !== undefined) {
    throw new UsageError(
      '--noir deploys the market’s verifier (an adapter over --honk-verifier): drop --verifier',
      name,
    )
  }
  const honkVerifier = usageAddress(requiredFlag(flags, 'honk-verifier', name), 'honk-verifier', name)
  const gas = stringFlag(flags, 'verify-gas')
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--noir: cannot read ${path}: ${error.code ?? error}`, name)
  })
  let program: NoirProgram
  try {
    program = parseNoirProgram(JSON.parse(text), path)
  } catch (error) {
    throw new UsageError(`--noir: ${error instanceof Error ? error.message : String(error)}`, name)
  }
  if (noirPublicInputCount(program.abi) === 0) {
    throw new UsageError(`--noir: ${path} has no public inputs: nothing would bind a proof to a request`, name)
  }
  return {
    program,
    honkVerifier,
    hash: createHash('sha256').update(text).digest('hex'),
    ...(gas === undefined ? {} : { verifyGasLimit: integerFlag(gas, 'verify-gas', name) }),
  }
}

export const marketShow = command({
  positionals: [{ name: 'marketId', description: 'the market id' }],
  run: async (ctx) => {
    const marketId = integerFlag(ctx.positionals[0] as string, 'marketId', ctx.command)
    const reader = await ctx.reader()
    const details = await getMarketDetails(reader, marketId)
    if (details === undefined) throw new UsageError(`no market ${marketId}`, ctx.command)
    const { market } = details
    const [payment, stake] = await Promise.all([
      ctx.token(reader, market.paymentToken),
      reader.public
        .readContract({ address: market.stakeSource, abi: iStakeSourceAbi, functionName: 'stakeToken' })
        .then((token) => ctx.token(reader, token)),
    ])
    return {
      marketId,
      creator: details.creator,
      metadataURI: details.metadataURI,
      verifier: market.verifier,
      paymentToken: market.paymentToken,
      paymentSymbol: payment.symbol,
      stakeSource: market.stakeSource,
      stakePerTask: market.stakePerTask,
      stakePerTaskFormatted: formatAmount(market.stakePerTask, stake),
      slashPenalty: market.slashPenalty,
      slashPenaltyFormatted: formatAmount(market.slashPenalty, stake),
      requesterCompensationBps: market.requesterCompensationBps,
      fallbackDelay: market.fallbackDelay,
      requestCount: market.requestCount,
      createdInBlock: details.createdInBlock,
    }
  },
})

export const marketList = command({
  run: async (ctx) => {
    const markets = await listMarkets(await ctx.reader())
    return {
      markets: markets.map((m) => ({
        marketId: m.marketId,
        creator: m.creator,
        metadataURI: m.metadataURI,
        verifier: m.params.verifier,
        paymentToken: m.params.paymentToken,
        stakeSource: m.params.stakeSource,
        createdInBlock: m.createdInBlock,
      })),
    }
  },
  text: (result) =>
    result.markets.length === 0
      ? 'no markets'
      : result.markets
          .map((m) => `${String(m.marketId).padStart(4)}  ${m.creator}  ${m.metadataURI || '-'}`)
          .join('\n'),
})
