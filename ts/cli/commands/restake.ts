import { type Address, type Hex, isHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { ChainReader } from '../../client.js'
import {
  bindOperator,
  depositToVault,
  type EthereumRestaking,
  getBinding,
  getMiddlewareStakes,
  getMirroredStake,
  getQueuedSlash,
  getStakeLock,
  loadEthereumRestaking,
  loadMarketplaceRestaking,
  optIn,
  optInVault,
  proveStakeLeaf,
  registerOperator,
  signOperatorBinding,
  slashOrderId,
  symbioticOf,
} from '../../restaking.js'
import { amountFlag, durationFlag, integerFlag, requiredFlag, stringFlag, timeFlag, UsageError } from '../kit/args.js'
import { type CommandContext, usageAddress } from '../kit/context.js'
import { formatAmount } from '../kit/output.js'
import { command } from '../kit/spec.js'

/** Options every restake command takes: the Ethereum side's deployment file and RPC. */
const ethereumOptions = {
  restaking: {
    type: 'string',
    value: '<path>',
    description: 'Ethereum restaking deployment (MODE=ETHEREUM output; env CAIRN_RESTAKING) (required)',
  },
  'ethereum-rpc-url': {
    type: 'string',
    value: '<url>',
    description: 'Ethereum JSON-RPC (env CAIRN_ETHEREUM_RPC_URL; default: --rpc-url)',
  },
} as const

type Ethereum = { deployment: EthereumRestaking; rpcUrl: string; reader: ChainReader }

async function ethereum(ctx: CommandContext): Promise<Ethereum> {
  const path = stringFlag(ctx.flags, 'restaking') ?? (ctx.env.CAIRN_RESTAKING || undefined)
  if (path === undefined) throw new UsageError('--restaking <path> is required (or set CAIRN_RESTAKING)', ctx.command)
  const deployment = await loadEthereumRestaking(path)
  const rpcUrl =
    stringFlag(ctx.flags, 'ethereum-rpc-url') ??
    (ctx.env.CAIRN_ETHEREUM_RPC_URL || undefined) ??
    stringFlag(ctx.flags, 'rpc-url') ??
    (ctx.env.CAIRN_RPC_URL || 'http://127.0.0.1:8545')
  const reader = await ctx.chain(rpcUrl)
  if (reader.public.chain.id !== deployment.chainId) {
    throw new UsageError(
      `${path} is a deployment on chain ${deployment.chainId}, the Ethereum RPC is chain ${reader.public.chain.id}`,
      ctx.command,
    )
  }
  return { deployment, rpcUrl, reader }
}

/** A vault flag: an address, or `vault` / `veto-vault` for the deployment's two vaults. */
function vaultFlag(ctx: CommandContext, deployment: EthereumRestaking, required: boolean): Address | undefined {
  const value = stringFlag(ctx.flags, 'vault')
  if (value === undefined) {
    if (required) throw new UsageError('--vault is required', ctx.command)
    return undefined
  }
  if (value === 'vault') return deployment.contracts.vault
  if (value === 'veto-vault') return deployment.contracts.vetoVault
  return usageAddress(value, 'vault', ctx.command)
}

const vaultOption = {
  vault: {
    type: 'string',
    value: '<address>',
    description: 'a vault address, or `vault` / `veto-vault` for the deployment’s two',
  },
} as const

export const restakeDeposit = command({
  options: {
    ...ethereumOptions,
    ...vaultOption,
    amount: { type: 'string', value: '<amount>', description: 'in the vault’s collateral (required)' },
    'on-behalf-of': { type: 'string', value: '<address>', description: 'whose deposit (default: you)' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const vault = vaultFlag(ctx, eth.deployment, true) as Address
    const client = await ctx.chainClient(eth.rpcUrl)
    const collateral = await ctx.token(eth.reader, eth.deployment.contracts.collateral)
    const amount = amountFlag(
      requiredFlag(ctx.flags, 'amount', ctx.command),
      collateral.decimals,
      'amount',
      ctx.command,
    )
    const onBehalfOf = stringFlag(ctx.flags, 'on-behalf-of')
    ctx.progress.step('depositing into the vault')
    const deposited = await depositToVault(client, {
      vault,
      amount,
      ...(onBehalfOf === undefined ? {} : { onBehalfOf: usageAddress(onBehalfOf, 'on-behalf-of', ctx.command) }),
    })
    ctx.progress.done()
    return {
      vault,
      amount: deposited.depositedAmount,
      amountFormatted: formatAmount(deposited.depositedAmount, collateral),
      shares: deposited.mintedShares,
      transactionHash: deposited.receipt.transactionHash,
    }
  },
})

export const restakeRegisterOperator = command({
  options: ethereumOptions,
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const client = await ctx.chainClient(eth.rpcUrl)
    ctx.progress.step('registering the operator')
    const receipt = await registerOperator(client, { operatorRegistry: symbioticOf(eth.deployment).operatorRegistry })
    ctx.progress.done()
    return { operator: client.wallet.account.address, transactionHash: receipt.transactionHash }
  },
})

export const restakeOptIn = command({
  options: {
    ...ethereumOptions,
    ...vaultOption,
    network: { type: 'boolean', description: 'the operator opts in to Cairn’s network (the middleware)' },
    curator: { type: 'boolean', description: 'with --vault: the vault’s owner opts the vault in to Cairn’s network' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const { middleware } = eth.deployment.contracts
    const vault = vaultFlag(ctx, eth.deployment, false)
    const network = ctx.flags.network === true
    if (network === (vault !== undefined)) throw new UsageError('give exactly one of --network or --vault', ctx.command)
    if (ctx.flags.curator && vault === undefined) throw new UsageError('--curator needs --vault', ctx.command)
    const client = await ctx.chainClient(eth.rpcUrl)
    ctx.progress.step('opting in')
    try {
      if (ctx.flags.curator && vault !== undefined) {
        const { collateral, slasherType, receipt } = await optInVault(client, { middleware, vault })
        return { vault, network: middleware, collateral, slasherType, transactionHash: receipt.transactionHash }
      }
      const core = symbioticOf(eth.deployment)
      const service = network ? core.operatorNetworkOptInService : core.operatorVaultOptInService
      const where = vault ?? middleware
      const receipt = await optIn(client, { service, where })
      return { operator: client.wallet.account.address, optedInTo: where, transactionHash: receipt.transactionHash }
    } finally {
      ctx.progress.done()
    }
  },
})

function deadlineFlag(ctx: CommandContext, now: bigint): bigint {
  const value = stringFlag(ctx.flags, 'deadline')
  return value === undefined
    ? now + BigInt(durationFlag('1h', 'deadline', ctx.command))
    : timeFlag(value, 'deadline', ctx.command, now)
}

function signatureFlag(value: string, name: string, command: string): Hex {
  if (!isHex(value, { strict: true }) || value.length !== 132) {
    throw new UsageError(`--${name}: expected a 65-byte 0x-hex signature`, command)
  }
  return value as Hex
}

export const restakeSignBinding = command({
  options: {
    ...ethereumOptions,
    operator: { type: 'string', value: '<address>', description: 'the Symbiotic operator (required)' },
    deadline: { type: 'string', value: '<time>', description: 'unix time or +<duration> (default +1h)' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const operator = usageAddress(requiredFlag(ctx.flags, 'operator', ctx.command), 'operator', ctx.command)
    const now = (await eth.reader.public.getBlock({ blockTag: 'latest' })).timestamp
    const deadline = deadlineFlag(ctx, now)
    const prover = ctx.account()
    const signature = await signOperatorBinding(prover, eth.reader, {
      middleware: eth.deployment.contracts.middleware,
      operator,
      prover: prover.address,
      deadline,
    })
    return { operator, prover: prover.address, deadline, signature }
  },
})

export const restakeBind = command({
  description:
    'The prover signs with --prover-key here, or beforehand with `cairn restake sign-binding` (pass --prover-signature and the same --deadline).',
  options: {
    ...ethereumOptions,
    prover: { type: 'string', value: '<address>', description: 'the marketplace prover (required)' },
    'prover-key': { type: 'string', value: '<0x…>', description: 'the prover’s key, to sign its half here' },
    'prover-signature': { type: 'string', value: '<0x…>', description: 'the prover’s signature from sign-binding' },
    deadline: { type: 'string', value: '<time>', description: 'unix time or +<duration> (default +1h)' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const { middleware } = eth.deployment.contracts
    const prover = usageAddress(requiredFlag(ctx.flags, 'prover', ctx.command), 'prover', ctx.command)
    const key = stringFlag(ctx.flags, 'prover-key')
    const given = stringFlag(ctx.flags, 'prover-signature')
    if ((key === undefined) === (given === undefined)) {
      throw new UsageError('give exactly one of --prover-key or --prover-signature', ctx.command)
    }
    if (given !== undefined && stringFlag(ctx.flags, 'deadline') === undefined) {
      throw new UsageError('--prover-signature needs the --deadline it was signed with', ctx.command)
    }
    const now = (await eth.reader.public.getBlock({ blockTag: 'latest' })).timestamp
    const deadline = deadlineFlag(ctx, now)
    const operator = ctx.account()
    const binding = { middleware, operator: operator.address, prover, deadline }
    let proverSignature: Hex
    if (key !== undefined) {
      if (!isHex(key) || key.length !== 66)
        throw new UsageError('--prover-key: expected a 0x-prefixed 32-byte key', ctx.command)
      proverSignature = await signOperatorBinding(privateKeyToAccount(key as Hex), eth.reader, binding)
    } else {
      proverSignature = signatureFlag(given as string, 'prover-signature', ctx.command)
    }
    const operatorSignature = await signOperatorBinding(operator, eth.reader, binding)
    const client = await ctx.chainClient(eth.rpcUrl)
    ctx.progress.step('binding')
    const bound = await bindOperator(client, { ...binding, operatorSignature, proverSignature })
    ctx.progress.done()
    return {
      operator: operator.address,
      prover,
      // An operator moving from another prover backs nobody until then (the middleware's maxVaultEpochDuration).
      effectiveAt: bound.effectiveAt,
      effective: new Date(bound.effectiveAt * 1000).toISOString(),
      transactionHash: bound.receipt.transactionHash,
    }
  },
})

export const restakeStakes = command({
  options: {
    ...ethereumOptions,
    at: { type: 'string', value: '<time>', description: 'capture time: unix time (default: now on Ethereum)' },
    'page-size': { type: 'string', value: '<n>', description: 'pairs read per call (default 200)' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const at = stringFlag(ctx.flags, 'at')
    const pageSize = stringFlag(ctx.flags, 'page-size')
    const now = (await eth.reader.public.getBlock({ blockTag: 'latest' })).timestamp
    const stakes = await getMiddlewareStakes(eth.reader, {
      middleware: eth.deployment.contracts.middleware,
      timestamp: Number(at === undefined ? now : timeFlag(at, 'at', ctx.command, now)),
      ...(pageSize === undefined ? {} : { pageSize: Number(integerFlag(pageSize, 'page-size', ctx.command)) }),
    })
    return {
      middleware: eth.deployment.contracts.middleware,
      stakes: await Promise.all(
        stakes.map(async (entry) => ({
          ...entry,
          stakeFormatted: formatAmount(entry.stake, await ctx.token(eth.reader, entry.collateral)),
        })),
      ),
    }
  },
})

export const restakeBinding = command({
  options: {
    ...ethereumOptions,
    operator: { type: 'string', value: '<address>', description: 'the operator' },
    prover: { type: 'string', value: '<address>', description: 'the prover' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const operator = stringFlag(ctx.flags, 'operator')
    const prover = stringFlag(ctx.flags, 'prover')
    if ((operator === undefined) === (prover === undefined)) {
      throw new UsageError('give exactly one of --operator or --prover', ctx.command)
    }
    const binding = await getBinding(eth.reader, {
      middleware: eth.deployment.contracts.middleware,
      fromBlock: eth.deployment.deployBlock,
      ...(operator === undefined ? {} : { operator: usageAddress(operator, 'operator', ctx.command) }),
      ...(prover === undefined ? {} : { prover: usageAddress(prover, 'prover', ctx.command) }),
    })
    return {
      ...binding,
      ...(binding.effectiveAt === undefined ? {} : { effective: new Date(binding.effectiveAt * 1000).toISOString() }),
    }
  },
})

export const restakeMirrored = command({
  options: {
    mirror: {
      type: 'string',
      value: '<path>',
      description: 'marketplace restaking deployment (MODE=MARKETPLACE output; env CAIRN_MIRROR) (required)',
    },
    prover: { type: 'string', value: '<address>', description: 'whose stake (default: you)' },
    task: { type: 'string', value: '<id>', description: 'also show this task’s lock and slash' },
  },
  run: async (ctx) => {
    const path = stringFlag(ctx.flags, 'mirror') ?? (ctx.env.CAIRN_MIRROR || undefined)
    if (path === undefined) throw new UsageError('--mirror <path> is required (or set CAIRN_MIRROR)', ctx.command)
    const deployment = await loadMarketplaceRestaking(path)
    const reader = await ctx.reader()
    if (reader.deployment.chainId !== deployment.chainId) {
      throw new UsageError(
        `${path} is on chain ${deployment.chainId}, the marketplace is on ${reader.deployment.chainId}`,
        ctx.command,
      )
    }
    const prover = ctx.subject('prover')
    const mirror = deployment.contracts.stakeMirror
    const token = await ctx.token(reader, deployment.token)
    const stake = await getMirroredStake(reader, { mirror, prover })
    const amount = (value: bigint) => formatAmount(value, token)
    const task = stringFlag(ctx.flags, 'task')
    const taskId = task === undefined ? undefined : integerFlag(task, 'task', ctx.command)
    const lock = taskId === undefined ? undefined : await getStakeLock(reader, { mirror, prover, taskId })
    const slash =
      taskId === undefined
        ? undefined
        : await getQueuedSlash(reader, {
            mirror,
            orderId: slashOrderId({ chainId: deployment.chainId, mirror, taskId }),
          })
    return {
      mirror,
      prover,
      epoch: stake.currentEpoch,
      available: amount(stake.available),
      latestDeadline: stake.latestDeadline,
      ...(stake.latestDeadline === 0n
        ? {}
        : { latestDeadlineAt: new Date(Number(stake.latestDeadline) * 1000).toISOString() }),
      vaults: stake.vaults.map((v) => ({
        vault: v.vault,
        epoch: v.epoch,
        leaf: amount(v.leaf),
        floor: amount(v.floor),
        locked: amount(v.locked),
        pending: amount(v.pending),
        free: amount(v.free),
        latestDeadline: v.latestDeadline,
      })),
      ...(taskId === undefined
        ? {}
        : {
            task: {
              id: taskId,
              lock:
                lock === undefined
                  ? 'none'
                  : { vault: lock.vault, amount: amount(lock.amount), captureTimestamp: lock.captureTimestamp },
              slash:
                slash === undefined
                  ? 'none'
                  : {
                      orderId: slash.orderId,
                      vault: slash.vault,
                      penalty: amount(slash.penalty),
                      status: slash.status,
                    },
            },
          }),
    }
  },
})

export const restakeProve = command({
  options: {
    ...ethereumOptions,
    ...vaultOption,
    mirror: {
      type: 'string',
      value: '<path>',
      description: 'marketplace restaking deployment (MODE=MARKETPLACE output; env CAIRN_MIRROR) (required)',
    },
    prover: { type: 'string', value: '<address>', description: 'whose leaf (default: you)' },
  },
  run: async (ctx) => {
    const eth = await ethereum(ctx)
    const path = stringFlag(ctx.flags, 'mirror') ?? (ctx.env.CAIRN_MIRROR || undefined)
    if (path === undefined) throw new UsageError('--mirror <path> is required (or set CAIRN_MIRROR)', ctx.command)
    const mirror = await loadMarketplaceRestaking(path)
    const client = await ctx.client()
    if (client.deployment.chainId !== mirror.chainId) {
      throw new UsageError(
        `${path} is on chain ${mirror.chainId}, the marketplace is on ${client.deployment.chainId}`,
        ctx.command,
      )
    }
    const prover = stringFlag(ctx.flags, 'prover')
    ctx.progress.step('rebuilding the snapshot and proving the leaf')
    const proven = await proveStakeLeaf(client, {
      ethereum: eth.reader,
      middleware: eth.deployment.contracts.middleware,
      mirror: mirror.contracts.stakeMirror,
      vault: vaultFlag(ctx, eth.deployment, true) as Address,
      fromBlock: eth.deployment.deployBlock,
      ...(prover === undefined ? {} : { prover: usageAddress(prover, 'prover', ctx.command) }),
    })
    ctx.progress.done()
    const token = await ctx.token(client, mirror.token)
    return {
      epoch: proven.epoch,
      stake: proven.stake,
      stakeFormatted: formatAmount(proven.stake, token),
      proof: proven.proof,
      transactionHash: proven.receipt.transactionHash,
    }
  },
})
