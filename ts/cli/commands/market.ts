import { zeroAddress } from 'viem'
import { iStakeSourceAbi } from '../../generated.js'
import { createMarket, getMarketDetails, listMarkets, MAX_FALLBACK_DELAY } from '../../market.js'
import { amountFlag, durationFlag, integerFlag, requiredFlag, stringFlag, UsageError } from '../kit/args.js'
import { usageAddress } from '../kit/context.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'

export const marketCreate = command({
  description:
    'The verifier, payment token and stake source default to the deployment’s Groth16 adapter, payment token and native staking. Stake amounts are in the stake source’s token.',
  options: {
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
  examples: ['cairn market create --stake-per-task 100 --slash-penalty 50 --metadata-uri ipfs://…'],
  run: async (ctx) => {
    const { flags, command: name } = ctx
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
    ctx.progress.step('creating the market')
    const { marketId, fee, receipt } = await createMarket(client, {
      verifier: addressFlag('verifier', contracts.groth16Adapter),
      paymentToken: addressFlag('payment-token', contracts.paymentToken),
      stakeSource,
      stakePerTask: amountFlag(requiredFlag(flags, 'stake-per-task', name), decimals, 'stake-per-task', name),
      slashPenalty: amountFlag(requiredFlag(flags, 'slash-penalty', name), decimals, 'slash-penalty', name),
      requesterCompensationBps: bps === undefined ? 5_000 : Number(integerFlag(bps, 'compensation-bps', name)),
      fallbackDelay: delay === undefined ? 30 : durationFlag(delay, 'fallback-delay', name),
      metadataURI: stringFlag(flags, 'metadata-uri') ?? '',
    })
    ctx.progress.done()
    const native = await ctx.token(client, zeroAddress)
    return {
      marketId,
      creationFee: fee,
      creationFeeFormatted: formatAmount(fee, native),
      transactionHash: receipt.transactionHash,
    }
  },
})

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
