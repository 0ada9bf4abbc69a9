import type { TransactionReceipt } from 'viem'
import type { CairnClient } from '../../client.js'
import {
  cancelLeave,
  cancelUnstake,
  completeLeave,
  deregister,
  list,
  register,
  requestLeave,
  setCapacity,
  stake,
  unstake,
  updateListing,
  withdrawStake,
} from '../../prover.js'
import { getMarket, getNativeStake, getProver, getProverListings, type NativeStake } from '../../readers.js'
import type { TokenInfo } from '../../tokens.js'
import { amountFlag, durationFlag, type Flags, integerFlag, requiredFlag, stringFlag, UsageError } from '../kit/args.js'
import type { CommandContext } from '../kit/context.js'
import { usageAddress } from '../kit/context.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'

/** Runs one write as the --private-key account with a progress step; returns its transaction hash. */
async function send(ctx: CommandContext, what: string, write: (client: CairnClient) => Promise<TransactionReceipt>) {
  const client = await ctx.client()
  ctx.progress.step(what)
  const receipt = await write(client)
  ctx.progress.done()
  return { transactionHash: receipt.transactionHash }
}

const marketOption = { market: { type: 'string', value: '<id>', description: 'market id (required)' } } as const
const listingOptions = {
  ...marketOption,
  price: {
    type: 'string',
    value: '<amount>',
    description: 'price per proof, in the market’s payment token (required)',
  },
  'proving-time': { type: 'string', value: '<duration>', description: 'seconds you need per proof (required)' },
  compute: { type: 'string', value: '<units>', description: 'compute units one task holds (default 1)' },
} as const

function marketFlag(ctx: CommandContext): bigint {
  return integerFlag(requiredFlag(ctx.flags, 'market', ctx.command), 'market', ctx.command)
}

async function listingFlags(ctx: CommandContext, client: CairnClient) {
  const { flags, command: name } = ctx
  const marketId = marketFlag(ctx)
  const market = await getMarket(client, marketId)
  const { decimals } = await ctx.token(client, market.paymentToken)
  const compute = stringFlag(flags, 'compute')
  return {
    marketId,
    price: amountFlag(requiredFlag(flags, 'price', name), decimals, 'price', name),
    provingTime: durationFlag(requiredFlag(flags, 'proving-time', name), 'proving-time', name),
    ...(compute === undefined ? {} : { computePerRequest: Number(integerFlag(compute, 'compute', name)) }),
  }
}

function capacityFlag(flags: Flags, name: string): number {
  return Number(integerFlag(requiredFlag(flags, 'capacity', name), 'capacity', name))
}

export const proverRegister = command({
  options: {
    capacity: { type: 'string', value: '<units>', description: 'compute units shared by all your markets (required)' },
    'reward-address': { type: 'string', value: '<address>', description: 'receives your earnings (default: you)' },
  },
  run: async (ctx) => {
    const reward = stringFlag(ctx.flags, 'reward-address')
    const capacity = capacityFlag(ctx.flags, ctx.command)
    return send(ctx, 'registering', (client) =>
      register(client, {
        capacity,
        ...(reward === undefined ? {} : { rewardAddress: usageAddress(reward, 'reward-address', ctx.command) }),
      }),
    )
  },
})

export const proverList = command({
  options: listingOptions,
  run: async (ctx) => {
    const client = await ctx.client()
    const params = await listingFlags(ctx, client)
    return { ...params, ...(await send(ctx, 'listing', (c) => list(c, params))) }
  },
})

export const proverUpdate = command({
  options: listingOptions,
  run: async (ctx) => {
    const client = await ctx.client()
    const params = await listingFlags(ctx, client)
    return { ...params, ...(await send(ctx, 'updating the listing', (c) => updateListing(c, params))) }
  },
})

export const proverLeave = command({
  options: {
    ...marketOption,
    complete: { type: 'boolean', description: 'remove the listing (once the exit delay has passed)' },
    cancel: { type: 'boolean', description: 'return a leaving listing to active' },
  },
  run: async (ctx) => {
    const marketId = marketFlag(ctx)
    if (ctx.flags.complete && ctx.flags.cancel)
      throw new UsageError('give --complete or --cancel, not both', ctx.command)
    if (ctx.flags.complete) {
      return { marketId, left: true, ...(await send(ctx, 'leaving', (c) => completeLeave(c, { marketId }))) }
    }
    if (ctx.flags.cancel) {
      return {
        marketId,
        leaving: false,
        ...(await send(ctx, 'cancelling the leave', (c) => cancelLeave(c, { marketId }))),
      }
    }
    const client = await ctx.client()
    ctx.progress.step('requesting to leave')
    const { availableAt, receipt } = await requestLeave(client, { marketId })
    ctx.progress.done()
    return { marketId, leaving: true, availableAt, transactionHash: receipt.transactionHash }
  },
})

export const proverDeregister = command({
  run: async (ctx) => send(ctx, 'deregistering', (client) => deregister(client)),
})

export const proverCapacity = command({
  options: { capacity: { type: 'string', value: '<units>', description: 'compute units (required)' } },
  run: async (ctx) => {
    const capacity = capacityFlag(ctx.flags, ctx.command)
    return { capacity, ...(await send(ctx, 'setting the capacity', (c) => setCapacity(c, { capacity }))) }
  },
})

export const proverStatus = command({
  positionals: [{ name: 'address', description: 'the prover (default: the --private-key account)', optional: true }],
  run: async (ctx) => {
    const reader = await ctx.reader()
    const given = ctx.positionals[0]
    const prover = given === undefined ? ctx.subject() : usageAddress(given, 'address', ctx.command)
    const [registration, listings, native] = await Promise.all([
      getProver(reader, prover),
      getProverListings(reader, prover),
      getNativeStake(reader, prover),
    ])
    const stakeToken = await ctx.token(reader, reader.deployment.contracts.stakeToken)
    const paymentTokens = await Promise.all(
      listings.map(async ({ marketId }) => ctx.token(reader, (await getMarket(reader, marketId)).paymentToken)),
    )
    return {
      prover,
      registered: registration.registered,
      rewardAddress: registration.rewardAddress,
      capacity: registration.capacity,
      computeInUse: registration.computeInUse,
      listings: listings.map(({ marketId, price, provingTime, computePerRequest, state, leaveAvailableAt }, i) => ({
        marketId,
        state,
        price,
        priceFormatted: formatAmount(price, paymentTokens[i] as TokenInfo),
        provingTime,
        computePerRequest,
        ...(state === 'Leaving' ? { leaveAvailableAt } : {}),
      })),
      nativeStake: { ...native, ...stakeFormatted(native, stakeToken) },
    }
  },
})

// ---------------------------------------------------------------------------------------------------------------
// Native stake

/** Every amount of a NativeStake in the stake token, for text output. */
function stakeFormatted(native: NativeStake, token: TokenInfo) {
  return {
    stakedFormatted: formatAmount(native.staked, token),
    lockedFormatted: formatAmount(native.locked, token),
    availableFormatted: formatAmount(native.available, token),
    unbondingFormatted: formatAmount(native.unbonding, token),
  }
}

export const stakeDeposit = command({
  options: {
    amount: { type: 'string', value: '<amount>', description: 'in the stake token (required)' },
    prover: { type: 'string', value: '<address>', description: 'whose stake (default: you)' },
  },
  run: async (ctx) => {
    const client = await ctx.client()
    const token = await ctx.token(client, client.deployment.contracts.stakeToken)
    const amount = amountFlag(requiredFlag(ctx.flags, 'amount', ctx.command), token.decimals, 'amount', ctx.command)
    const prover = stringFlag(ctx.flags, 'prover')
    ctx.progress.step('staking')
    const { receipt, approval } = await stake(client, {
      amount,
      ...(prover === undefined ? {} : { prover: usageAddress(prover, 'prover', ctx.command) }),
    })
    ctx.progress.done()
    return {
      amount,
      amountFormatted: formatAmount(amount, token),
      approved: approval !== undefined,
      transactionHash: receipt.transactionHash,
    }
  },
})

export const stakeUnbond = command({
  options: {
    amount: { type: 'string', value: '<amount>', description: 'in the stake token' },
    cancel: { type: 'boolean', description: 'return everything unbonding to active stake' },
  },
  run: async (ctx) => {
    const client = await ctx.client()
    const token = await ctx.token(client, client.deployment.contracts.stakeToken)
    if (ctx.flags.cancel) {
      ctx.progress.step('cancelling the unbonding')
      const { amount, receipt } = await cancelUnstake(client)
      ctx.progress.done()
      return {
        restaked: amount,
        restakedFormatted: formatAmount(amount, token),
        transactionHash: receipt.transactionHash,
      }
    }
    const amount = amountFlag(requiredFlag(ctx.flags, 'amount', ctx.command), token.decimals, 'amount', ctx.command)
    ctx.progress.step('unbonding')
    const { unbonding, availableAt, receipt } = await unstake(client, { amount })
    ctx.progress.done()
    return {
      unbonding,
      unbondingFormatted: formatAmount(unbonding, token),
      availableAt,
      transactionHash: receipt.transactionHash,
    }
  },
})

export const stakeWithdraw = command({
  options: { to: { type: 'string', value: '<address>', description: 'recipient (default: you)' } },
  run: async (ctx) => {
    const client = await ctx.client()
    const token = await ctx.token(client, client.deployment.contracts.stakeToken)
    const to = stringFlag(ctx.flags, 'to')
    ctx.progress.step('withdrawing')
    const { amount, receipt } = await withdrawStake(
      client,
      to === undefined ? {} : { to: usageAddress(to, 'to', ctx.command) },
    )
    ctx.progress.done()
    return { amount, amountFormatted: formatAmount(amount, token), transactionHash: receipt.transactionHash }
  },
})

export const stakeShow = command({
  positionals: [{ name: 'address', description: 'the prover (default: the --private-key account)', optional: true }],
  run: async (ctx) => {
    const reader = await ctx.reader()
    const given = ctx.positionals[0]
    const prover = given === undefined ? ctx.subject() : usageAddress(given, 'address', ctx.command)
    const token = await ctx.token(reader, reader.deployment.contracts.stakeToken)
    const native = await getNativeStake(reader, prover)
    return { prover, token: token.address, ...native, ...stakeFormatted(native, token) }
  },
})
