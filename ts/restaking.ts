/**
 * Restaked security through Symbiotic, for stakers, operators and vault curators on Ethereum, and for provers
 * proving their mirrored stake on the marketplace chain. Functions take a ChainReader/ChainClient of the chain the
 * contract lives on: Ethereum for vaults, registries, opt-in services and Cairn's middleware; the marketplace chain
 * for the StakeMirror.
 */
import { readFile } from 'node:fs/promises'
import {
  type Address,
  encodeAbiParameters,
  type Hex,
  isAddressEqual,
  keccak256,
  type LocalAccount,
  type TransactionReceipt,
  zeroAddress,
} from 'viem'
import { z } from 'zod'
import type { ChainClient, ChainReader } from './client.js'
import {
  cairnNetworkMiddlewareAbi,
  iOperatorRegistryAbi,
  iOptInServiceAbi,
  iVaultAbi,
  stakeMirrorAbi,
} from './generated.js'
import { proofFor, type StakeLeaf, stakeTree } from './stake-tree.js'
import { ensureAllowance } from './tokens.js'
import { cairnTypedData, type SignedTypedData } from './typed-data.js'
import { enumName, type MirrorSlashStatus, mirrorSlashStatuses } from './types.js'
import { address, InvalidParameterError, uint } from './validation.js'
import { write } from './write.js'

// ---------------------------------------------------------------------------------------------------------------
// Deployment files (script/DeployRestaking.s.sol, format: deployments/README.md)

const addressSchema = z
  .string()
  .refine((value) => /^0x[0-9a-fA-F]{40}$/.test(value), 'expected an address')
  .transform((value) => address('address', value, { allowZero: true }))
const count = z.coerce.number().int().nonnegative()

const common = {
  chainId: count,
  deployBlock: count.transform(BigInt),
  owner: addressSchema,
  relayerRegistry: addressSchema,
  threshold: count,
}

/** The Symbiotic core the Ethereum side was deployed against. */
export const symbioticCoreSchema = z.object({
  vaultFactory: addressSchema,
  operatorRegistry: addressSchema,
  networkRegistry: addressSchema,
  networkMiddlewareService: addressSchema,
  operatorVaultOptInService: addressSchema,
  operatorNetworkOptInService: addressSchema,
})

/** deployments/<ethereum chainId>.restaking.json (MODE=ETHEREUM). */
export const ethereumDeploymentSchema = z.object({
  ...common,
  mode: z.literal('ETHEREUM'),
  sourceChainId: count,
  sourceMirror: addressSchema,
  /** The veto vault's veto window (seconds) and who may veto Cairn's slashes on it. */
  vetoDuration: count,
  resolver: addressSchema,
  contracts: z.object({
    collateral: addressSchema,
    middleware: addressSchema,
    /** Instant-slasher vault. */
    vault: addressSchema,
    /** Veto-slasher vault. */
    vetoVault: addressSchema,
    slashInbox: addressSchema,
    /** Absent from files written before the deploy script recorded it. */
    symbiotic: symbioticCoreSchema.optional(),
  }),
})

/** deployments/<marketplace chainId>.restaking.json (MODE=MARKETPLACE). */
export const marketplaceDeploymentSchema = z.object({
  ...common,
  mode: z.literal('MARKETPLACE'),
  marketplace: addressSchema,
  token: addressSchema,
  /** Seconds a slash needs from a task's deadline to its execution on Ethereum (StakeMirror.slashDelay). */
  slashDelay: count,
  contracts: z.object({ stakeMirror: addressSchema }),
})

export type EthereumRestaking = z.infer<typeof ethereumDeploymentSchema>
export type MarketplaceRestaking = z.infer<typeof marketplaceDeploymentSchema>
export type SymbioticCore = z.infer<typeof symbioticCoreSchema>

async function loadJson<schema extends z.ZodType>(path: string, schema: schema): Promise<z.infer<schema>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new Error(`no restaking deployment at ${path}: run script/DeployRestaking.s.sol first`, { cause })
  }
  const parsed = schema.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

export const loadEthereumRestaking = (path: string): Promise<EthereumRestaking> =>
  loadJson(path, ethereumDeploymentSchema)
export const loadMarketplaceRestaking = (path: string): Promise<MarketplaceRestaking> =>
  loadJson(path, marketplaceDeploymentSchema)

/** The Symbiotic core addresses of an Ethereum restaking deployment; a readable error when the file has none. */
export function symbioticOf(deployment: EthereumRestaking): SymbioticCore {
  const core = deployment.contracts.symbiotic
  if (core === undefined) {
    throw new Error('the restaking deployment does not record the Symbiotic core: redeploy with DeployRestaking.s.sol')
  }
  return core
}

// ---------------------------------------------------------------------------------------------------------------
// Stakers: Symbiotic vaults (IVault)

/**
 * Deposits `amount` of the vault's collateral into a Symbiotic vault for `onBehalfOf` (default: the client's
 * account), approving the vault first when the allowance is short.
 */
export async function depositToVault(
  client: ChainClient,
  params: { vault: Address; amount: bigint; onBehalfOf?: Address },
): Promise<{
  depositedAmount: bigint
  mintedShares: bigint
  receipt: TransactionReceipt
  approval: TransactionReceipt | undefined
}> {
  const vault = address('vault', params.vault)
  const amount = uint('amount', params.amount, 256, 1n)
  const onBehalfOf = address('onBehalfOf', params.onBehalfOf ?? client.wallet.account.address)
  const collateral = await client.public.readContract({ address: vault, abi: iVaultAbi, functionName: 'collateral' })
  const approval = await ensureAllowance(client, collateral, vault, amount)
  const { receipt, event } = await write(client, {
    address: vault,
    abi: iVaultAbi,
    functionName: 'deposit',
    args: [onBehalfOf, amount],
    eventName: 'Deposit',
  })
  return { depositedAmount: event.args.amount, mintedShares: event.args.shares, receipt, approval }
}

/**
 * Withdraws `amount` of the client's active stake from a vault: it becomes claimable by `claimer` (default: the
 * client's account) after the vault's next epoch (claimFromVault).
 */
export async function withdrawFromVault(
  client: ChainClient,
  params: { vault: Address; amount: bigint; claimer?: Address },
): Promise<{ burnedShares: bigint; mintedShares: bigint; receipt: TransactionReceipt }> {
  const vault = address('vault', params.vault)
  const { receipt, event } = await write(client, {
    address: vault,
    abi: iVaultAbi,
    functionName: 'withdraw',
    args: [address('claimer', params.claimer ?? client.wallet.account.address), uint('amount', params.amount, 256, 1n)],
    eventName: 'Withdraw',
  })
  return { burnedShares: event.args.burnedShares, mintedShares: event.args.mintedShares, receipt }
}

/** Claims what the client withdrew in vault epoch `epoch`, to `recipient` (default: itself). */
export async function claimFromVault(
  client: ChainClient,
  params: { vault: Address; epoch: bigint; recipient?: Address },
): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
  const vault = address('vault', params.vault)
  const { receipt, event } = await write(client, {
    address: vault,
    abi: iVaultAbi,
    functionName: 'claim',
    args: [address('recipient', params.recipient ?? client.wallet.account.address), params.epoch],
    eventName: 'Claim',
  })
  return { amount: event.args.amount, receipt }
}

export type VaultInfo = {
  vault: Address
  collateral: Address
  epoch: bigint
  epochDuration: number
  activeStake: bigint
  /** `account`'s active balance in the vault, when an account was given. */
  activeBalance?: bigint
}

/** A vault's collateral, epoch and active stake (and `account`'s active balance in it). */
export async function getVaultInfo(reader: ChainReader, vault: Address, account?: Address): Promise<VaultInfo> {
  const contract = { address: address('vault', vault), abi: iVaultAbi } as const
  const [collateral, epoch, epochDuration, activeStake, activeBalance] = await Promise.all([
    reader.public.readContract({ ...contract, functionName: 'collateral' }),
    reader.public.readContract({ ...contract, functionName: 'currentEpoch' }),
    reader.public.readContract({ ...contract, functionName: 'epochDuration' }),
    reader.public.readContract({ ...contract, functionName: 'activeStake' }),
    account === undefined
      ? undefined
      : reader.public.readContract({ ...contract, functionName: 'activeBalanceOf', args: [account] }),
  ])
  return {
    vault: contract.address,
    collateral,
    epoch,
    epochDuration,
    activeStake,
    ...(activeBalance === undefined ? {} : { activeBalance }),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Operators: Symbiotic registration and opt-ins

/** Registers the client's account as a Symbiotic operator in the OperatorRegistry. */
export async function registerOperator(
  client: ChainClient,
  params: { operatorRegistry: Address },
): Promise<TransactionReceipt> {
  return write(client, {
    address: address('operatorRegistry', params.operatorRegistry),
    abi: iOperatorRegistryAbi,
    functionName: 'registerOperator',
  })
}

/** Whether `operator` is registered in the OperatorRegistry. */
export async function isOperator(
  reader: ChainReader,
  params: { operatorRegistry: Address; operator: Address },
): Promise<boolean> {
  return reader.public.readContract({
    address: params.operatorRegistry,
    abi: iOperatorRegistryAbi,
    functionName: 'isEntity',
    args: [params.operator],
  })
}

/**
 * Opts the client's account (an operator) in through a Symbiotic opt-in service: the operator-network service with
 * Cairn's middleware (the network) as `where`, or the operator-vault service with a vault.
 */
export async function optIn(
  client: ChainClient,
  params: { service: Address; where: Address },
): Promise<TransactionReceipt> {
  return write(client, {
    address: address('service', params.service),
    abi: iOptInServiceAbi,
    functionName: 'optIn',
    args: [address('where', params.where)],
  })
}

/** The operator opts in to Cairn's network (the middleware is the network). */
export const optInToNetwork = (client: ChainClient, core: SymbioticCore, middleware: Address) =>
  optIn(client, { service: core.operatorNetworkOptInService, where: middleware })

/** The operator opts in to a vault. */
export const optInToVault = (client: ChainClient, core: SymbioticCore, vault: Address) =>
  optIn(client, { service: core.operatorVaultOptInService, where: vault })

export async function isOptedIn(
  reader: ChainReader,
  params: { service: Address; who: Address; where: Address },
): Promise<boolean> {
  return reader.public.readContract({
    address: params.service,
    abi: iOptInServiceAbi,
    functionName: 'isOptedIn',
    args: [params.who, params.where],
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Cairn's middleware: operator ↔ prover binding, vault opt-in, stakes

export type OperatorBinding = { operator: Address; prover: Address; nonce: bigint; deadline: bigint }

/**
 * What an operator and a prover each sign to bind the operator's Symbiotic stake to the prover, each with its own
 * nonce (bindingNonce). `chainId` is Ethereum's: the middleware's domain.
 */
export function operatorBindingTypedData(
  middleware: { chainId: number; address: Address },
  binding: OperatorBinding,
): SignedTypedData<'operatorBinding'> {
  return cairnTypedData('operatorBinding', middleware, binding)
}

/** The middleware's binding nonce of `account` (operator or prover): what its next binding signature must carry. */
export async function bindingNonce(reader: ChainReader, middleware: Address, account: Address): Promise<bigint> {
  return reader.public.readContract({
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'bindingNonce',
    args: [account],
  })
}

/**
 * Signs a binding as `signer` (the operator or the prover), with the signer's current nonce read from the
 * middleware on `ethereum`. A prover whose key lives elsewhere runs this there and hands the signature over.
 */
export async function signOperatorBinding(
  signer: LocalAccount,
  ethereum: ChainReader,
  params: { middleware: Address; operator: Address; prover: Address; deadline: bigint },
): Promise<Hex> {
  if (!isAddressEqual(signer.address, params.operator) && !isAddressEqual(signer.address, params.prover)) {
    throw new InvalidParameterError('signer', `${signer.address} is neither the operator nor the prover of the binding`)
  }
  const nonce = await bindingNonce(ethereum, params.middleware, signer.address)
  return signer.signTypedData(
    operatorBindingTypedData(
      { chainId: ethereum.public.chain.id, address: params.middleware },
      { operator: params.operator, prover: params.prover, nonce, deadline: params.deadline },
    ),
  )
}

/**
 * Binds a registered operator to a marketplace prover with both signatures; anyone may submit. An operator's first
 * binding holds at once; an operator moving from another prover backs nobody until `effectiveAt` (the middleware's
 * maxVaultEpochDuration later), so no capture of its old binding can still be slashed by then.
 */
export async function bindOperator(
  client: ChainClient,
  params: {
    middleware: Address
    operator: Address
    prover: Address
    deadline: bigint
    operatorSignature: Hex
    proverSignature: Hex
  },
): Promise<{ operator: Address; prover: Address; effectiveAt: number; receipt: TransactionReceipt }> {
  const middleware = address('middleware', params.middleware)
  const { receipt, event } = await write(client, {
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'bindOperator',
    args: [
      address('operator', params.operator),
      address('prover', params.prover),
      params.deadline,
      params.operatorSignature,
      params.proverSignature,
    ],
    eventName: 'OperatorBound',
  })
  return { operator: event.args.operator, prover: event.args.prover, effectiveAt: event.args.effectiveAt, receipt }
}

export type Binding = {
  operator: Address
  prover: Address
  /**
   * Ethereum time from which the operator backs the prover (absent when unbound). Later than now while an operator
   * that moved from another prover waits out the middleware's maxVaultEpochDuration: it backs nobody until then.
   */
  effectiveAt?: number
  /** Whether the binding holds now (a capture now would show the operator's stake for the prover). */
  active: boolean
}

/**
 * The latest binding of an operator (or of a prover): whom it names, from when, and whether it holds now. Reads the
 * middleware's OperatorBound events from `fromBlock` (default 0; the restaking deployment's deployBlock).
 */
export async function getBinding(
  reader: ChainReader,
  params: { middleware: Address; operator?: Address; prover?: Address; fromBlock?: bigint },
): Promise<Binding> {
  const contract = { address: params.middleware, abi: cairnNetworkMiddlewareAbi } as const
  if (params.operator === undefined && params.prover === undefined) {
    throw new InvalidParameterError('operator', 'give the operator or the prover')
  }
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const blockNumber = head.number
  const [operator, prover] =
    params.operator !== undefined
      ? [
          params.operator,
          await reader.public.readContract({
            ...contract,
            functionName: 'proverOf',
            args: [params.operator],
            blockNumber,
          }),
        ]
      : [
          await reader.public.readContract({
            ...contract,
            functionName: 'operatorOf',
            args: [params.prover as Address],
            blockNumber,
          }),
          params.prover as Address,
        ]
  if (isAddressEqual(operator, zeroAddress) || isAddressEqual(prover, zeroAddress)) {
    return { operator, prover, active: false }
  }
  const bound = await reader.public.getContractEvents({
    ...contract,
    eventName: 'OperatorBound',
    args: { operator, prover },
    fromBlock: params.fromBlock ?? 0n,
    toBlock: blockNumber,
    strict: true,
  })
  const effectiveAt = bound.at(-1)?.args.effectiveAt
  if (effectiveAt === undefined) return { operator, prover, active: false }
  return { operator, prover, effectiveAt, active: effectiveAt <= Number(head.timestamp) }
}

/** The vault's curator (its owner) opts the vault in to Cairn's network. */
export async function optInVault(
  client: ChainClient,
  params: { middleware: Address; vault: Address },
): Promise<{ collateral: Address; slasherType: bigint; receipt: TransactionReceipt }> {
  const middleware = address('middleware', params.middleware)
  const { receipt, event } = await write(client, {
    address: middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'optInVault',
    args: [address('vault', params.vault)],
    eventName: 'VaultOptedIn',
  })
  return { collateral: event.args.collateral, slasherType: BigInt(event.args.slasherType), receipt }
}

/** Takes a vault out of Cairn's network: its curator (the vault's owner) or the middleware's owner. */
export async function optOutVault(
  client: ChainClient,
  params: { middleware: Address; vault: Address },
): Promise<TransactionReceipt> {
  return write(client, {
    address: address('middleware', params.middleware),
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'optOutVault',
    args: [address('vault', params.vault)],
  })
}

/**
 * The middleware's slashing window: how long after a capture every opted-in vault's stake can still be slashed (the
 * shortest window among the vaults; zero when none is opted in). Relayers sign it into each snapshot, read at the
 * capture block, and the mirror refuses tasks that would outlive it. `blockNumber` reads it as of that block.
 */
export async function getSlashingWindow(
  reader: ChainReader,
  params: { middleware: Address; blockNumber?: bigint },
): Promise<number> {
  return reader.public.readContract({
    address: params.middleware,
    abi: cairnNetworkMiddlewareAbi,
    functionName: 'slashingWindow',
    ...(params.blockNumber === undefined ? {} : { blockNumber: params.blockNumber }),
  })
}

/** The vaults opted in to Cairn's network. */
export async function getNetworkVaults(reader: ChainReader, middleware: Address): Promise<readonly Address[]> {
  return reader.public.readContract({ address: middleware, abi: cairnNetworkMiddlewareAbi, functionName: 'vaults' })
}

export type MiddlewareStake = {
  operator: Address
  /** The prover the operator was bound to at the capture; zero when it backed nobody then. */
  prover: Address
  vault: Address
  collateral: Address
  stake: bigint
}

/**
 * Every (operator, vault) stake the middleware reports at `timestamp` (default: now on the chain), read page by
 * page (stakesAt), optionally as of `blockNumber` so the operator and vault lists are those of that block.
 */
export async function getMiddlewareStakes(
  reader: ChainReader,
  params: { middleware: Address; timestamp?: number; pageSize?: number; blockNumber?: bigint },
): Promise<MiddlewareStake[]> {
  const timestamp = params.timestamp ?? Number((await reader.public.getBlock({ blockTag: 'latest' })).timestamp)
  const page = BigInt(params.pageSize ?? 200)
  const stakes: MiddlewareStake[] = []
  for (let offset = 0n, total = 1n; offset < total; offset += page) {
    const [entries, count] = await reader.public.readContract({
      address: params.middleware,
      abi: cairnNetworkMiddlewareAbi,
      functionName: 'stakesAt',
      args: [timestamp, offset, page],
      ...(params.blockNumber === undefined ? {} : { blockNumber: params.blockNumber }),
    })
    total = count
    stakes.push(...entries)
  }
  return stakes
}

/**
 * The leaves of a stake snapshot, as relayers build them: every (prover, vault) stake at `captureTimestamp` in
 * `token`, read as of `blockNumber` so relayers reading at different times see the same lists.
 */
export async function readStakeLeaves(
  reader: ChainReader,
  params: { middleware: Address; token: Address; captureTimestamp: number; blockNumber: bigint; pageSize: number },
): Promise<StakeLeaf[]> {
  return stakeLeavesOf(
    await getMiddlewareStakes(reader, { ...params, timestamp: params.captureTimestamp }),
    params.token,
  )
}

/**
 * The middleware's entries that make a leaf: bound to a prover at the capture, in `token`, with stake. An operator
 * that backed nobody at the capture (unbound, or moving to a new prover) makes none: nothing may lock or slash that
 * stake for a prover, and a leaf of the zero address would only confuse provers' proofs.
 */
export function stakeLeavesOf(entries: readonly MiddlewareStake[], token: Address): StakeLeaf[] {
  return entries
    .filter((entry) => entry.stake !== 0n && !isAddressEqual(entry.prover, zeroAddress))
    .filter((entry) => isAddressEqual(entry.collateral, token))
    .map(({ prover, vault, stake }) => ({ prover, vault, stake }))
}

/** The latest block in [low, high] whose timestamp is at most `target`, by binary search; undefined if none. */
export async function lastBlockAtOrBefore(
  reader: ChainReader | ChainReader['public'],
  params: { target: bigint; low: bigint; high: bigint },
): Promise<{ number: bigint; timestamp: bigint } | undefined> {
  const client = 'public' in reader ? reader.public : reader
  const timestampOf = async (number: bigint) => (await client.getBlock({ blockNumber: number })).timestamp
  let { low, high } = params
  if ((await timestampOf(low)) > params.target) return undefined
  while (low < high) {
    const mid = (low + high + 1n) / 2n
    if ((await timestampOf(mid)) <= params.target) low = mid
    else high = mid - 1n
  }
  return { number: low, timestamp: await timestampOf(low) }
}

// ---------------------------------------------------------------------------------------------------------------
// The StakeMirror (marketplace chain)

export type MirroredVaultStake = {
  vault: Address
  /** Epoch of the latest proven leaf (it backs new tasks while its capture's slashing window allows). */
  epoch: bigint
  /** The latest leaf's stake, less executions settled after its capture. */
  leaf: bigint
  /**
   * The least stake among the captures of outstanding locks and queued slashes and the latest leaf: what they may
   * all be slashed from. The leaf itself when nothing is outstanding.
   */
  floor: bigint
  /** Locked by unfinished tasks. */
  locked: bigint
  /** Penalties queued for Ethereum whose outcome has not come back. */
  pending: bigint
  /** What can back a new task now: the floor less locked and pending (zero past the latest deadline). */
  free: bigint
  /**
   * The latest deadline a task backed by this leaf may have (unix seconds): its capture plus that epoch's slashing
   * window, less the slash delay. Zero when no leaf is proven. Prove the current epoch's leaf to extend it.
   */
  latestDeadline: bigint
}

export type MirroredStake = {
  /** What can back new tasks now: every vault's free stake, each leaf until its own latest deadline. */
  available: bigint
  currentEpoch: bigint
  /**
   * The latest deadline a leaf of the current epoch gives a task (unix seconds; zero before the first snapshot):
   * what proving a vault's leaf now would give it. Each vault's own is in `vaults`.
   */
  latestDeadline: bigint
  vaults: MirroredVaultStake[]
}

/** A prover's stake as the mirror holds it: per vault it has proven a leaf for, and what is available now. */
export async function getMirroredStake(
  reader: ChainReader,
  params: { mirror: Address; prover: Address },
): Promise<MirroredStake> {
  const contract = { address: params.mirror, abi: stakeMirrorAbi } as const
  const blockNumber = await reader.public.getBlockNumber({ cacheTime: 0 })
  const at = { blockNumber } as const
  const [available, currentEpoch, latestDeadline, vaults] = await Promise.all([
    reader.public.readContract({ ...contract, ...at, functionName: 'availableStake', args: [params.prover] }),
    reader.public.readContract({ ...contract, ...at, functionName: 'currentEpoch' }),
    reader.public.readContract({ ...contract, ...at, functionName: 'latestDeadline' }),
    reader.public.readContract({ ...contract, ...at, functionName: 'proverVaults', args: [params.prover] }),
  ])
  const stakes = await Promise.all(
    vaults.map(async (vault): Promise<MirroredVaultStake> => {
      const args = [params.prover, vault] as const
      const [[epoch, leaf, floor, locked, pending], free, latestDeadline] = await Promise.all([
        reader.public.readContract({ ...contract, ...at, functionName: 'vaultStake', args }),
        reader.public.readContract({ ...contract, ...at, functionName: 'freeStake', args }),
        reader.public.readContract({ ...contract, ...at, functionName: 'latestDeadlineOf', args }),
      ])
      return { vault, epoch, leaf: BigInt(leaf), floor: BigInt(floor), locked, pending, free, latestDeadline }
    }),
  )
  return { available, currentEpoch, latestDeadline, vaults: stakes }
}

export type StakeLock = {
  taskId: bigint
  /** The vault whose stake backs the task: where its slash lands on Ethereum. */
  vault: Address
  amount: bigint
  /** Capture of the snapshot the stake was proven in: the slash is taken from the vault as of this time. */
  captureTimestamp: number
}

/** The mirror's lock of a task of `prover`, or undefined when the task holds none (never locked, or ended). */
export async function getStakeLock(
  reader: ChainReader,
  params: { mirror: Address; prover: Address; taskId: bigint },
): Promise<StakeLock | undefined> {
  const contract = { address: params.mirror, abi: stakeMirrorAbi } as const
  const blockNumber = await reader.public.getBlockNumber({ cacheTime: 0 })
  const [captureTimestamp, vaultIndex, amount] = await reader.public.readContract({
    ...contract,
    functionName: 'locks',
    args: [params.taskId],
    blockNumber,
  })
  if (captureTimestamp === 0) return undefined
  const vaults = await reader.public.readContract({
    ...contract,
    functionName: 'proverVaults',
    args: [params.prover],
    blockNumber,
  })
  const vault = vaults[vaultIndex]
  if (vault === undefined)
    throw new Error(
      `the lock of task ${params.taskId} names vault #${vaultIndex} of ${params.prover}, who has ${vaults.length}`,
    )
  return { taskId: params.taskId, vault, amount: BigInt(amount), captureTimestamp }
}

/** The id the mirror queues a task's slash under, as the inbox recomputes it: keccak256(abi.encode(chainId, mirror, taskId)). */
export function slashOrderId(params: { chainId: number; mirror: Address; taskId: bigint }): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'address' }, { type: 'uint256' }],
      [BigInt(params.chainId), params.mirror, params.taskId],
    ),
  )
}

export type QueuedSlash = {
  orderId: Hex
  prover: Address
  vault: Address
  penalty: bigint
  /** Queued: held back until its outcome on Ethereum comes back; then Executed (final), Vetoed or Failed (released). */
  status: MirrorSlashStatus
}

/** A slash the mirror queued for Ethereum and where it stands, or undefined for an unknown order. */
export async function getQueuedSlash(
  reader: ChainReader,
  params: { mirror: Address; orderId: Hex },
): Promise<QueuedSlash | undefined> {
  const [prover, penalty, vault, status] = await reader.public.readContract({
    address: params.mirror,
    abi: stakeMirrorAbi,
    functionName: 'slashes',
    args: [params.orderId],
  })
  const name = enumName(mirrorSlashStatuses, status, 'StakeMirror.SlashStatus')
  if (name === 'None') return undefined
  return { orderId: params.orderId, prover, vault, penalty: BigInt(penalty), status: name }
}

export type StakeProofErrorCode = 'NoSnapshot' | 'NoCaptureBlock' | 'RootMismatch' | 'NoLeaf'

/** A stake leaf cannot be proven: why in `code`. */
export class StakeProofError extends Error {
  override readonly name = 'StakeProofError'
  constructor(
    readonly code: StakeProofErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`)
  }
}

/** Submits a proven leaf (prover, vault, stake) of the mirror's current snapshot; anyone may. */
export async function proveStake(
  client: ChainClient,
  params: { mirror: Address; prover: Address; vault: Address; stake: bigint; proof: readonly Hex[] },
): Promise<{ epoch: bigint; stake: bigint; counted: bigint; receipt: TransactionReceipt }> {
  const mirror = address('mirror', params.mirror)
  const { receipt, event } = await write(client, {
    address: mirror,
    abi: stakeMirrorAbi,
    functionName: 'proveStake',
    args: [address('prover', params.prover), address('vault', params.vault), params.stake, params.proof],
    eventName: 'StakeProven',
  })
  return { epoch: event.args.epoch, stake: event.args.stake, counted: event.args.counted, receipt }
}

/** Where a snapshot's tree is rebuilt from: the middleware on Ethereum, as the relayers read it. */
export type SnapshotSource = {
  ethereum: ChainReader
  middleware: Address
  mirror: Address
  /** First Ethereum block to search for the capture block (default 0; the restaking deployment's deployBlock). */
  fromBlock?: bigint
  pageSize?: number
}

/**
 * The tree of the mirror's current snapshot, rebuilt the way the relayers did: the Ethereum block at the snapshot's
 * capture time, the middleware's stakes as of that block, the leaves sorted by hash. The rebuilt root must be the
 * committed one (else RootMismatch: the relayers saw other stakes). `reader` is on the marketplace chain.
 */
export async function currentStakeTree(
  reader: ChainReader,
  params: SnapshotSource,
): Promise<{ epoch: bigint; tree: ReturnType<typeof stakeTree> }> {
  const mirror = { address: address('mirror', params.mirror), abi: stakeMirrorAbi } as const
  const [epoch, token] = await Promise.all([
    reader.public.readContract({ ...mirror, functionName: 'currentEpoch' }),
    reader.public.readContract({ ...mirror, functionName: 'stakeToken' }),
  ])
  if (epoch === 0n) throw new StakeProofError('NoSnapshot', 'the mirror has no committed snapshot yet')
  const [captureTimestamp, , stakeRoot] = await reader.public.readContract({
    ...mirror,
    functionName: 'epochs',
    args: [epoch],
  })
  const head = await params.ethereum.public.getBlockNumber({ cacheTime: 0 })
  const capture = await lastBlockAtOrBefore(params.ethereum, {
    target: BigInt(captureTimestamp),
    low: params.fromBlock ?? 0n,
    high: head,
  })
  if (!capture) throw new StakeProofError('NoCaptureBlock', `no Ethereum block at or before ${captureTimestamp}`)
  const leaves = await readStakeLeaves(params.ethereum, {
    middleware: params.middleware,
    token,
    captureTimestamp,
    blockNumber: capture.number,
    pageSize: params.pageSize ?? 200,
  })
  const tree = stakeTree(leaves, token)
  if (tree.root !== stakeRoot) {
    throw new StakeProofError(
      'RootMismatch',
      `the stakes at Ethereum block ${capture.number} give root ${tree.root}, epoch ${epoch} committed ${stakeRoot}`,
    )
  }
  return { epoch, tree }
}

/**
 * Proves `prover`'s leaf for `vault` in the mirror's current snapshot (see currentStakeTree). `client` is on the
 * marketplace chain, `ethereum` reads the middleware.
 */
export async function proveStakeLeaf(
  client: ChainClient,
  params: SnapshotSource & {
    vault: Address
    /** Default: the client's account. */
    prover?: Address
  },
): Promise<{ epoch: bigint; stake: bigint; counted: bigint; proof: Hex[]; receipt: TransactionReceipt }> {
  const prover = address('prover', params.prover ?? client.wallet.account.address)
  const mirror = { address: address('mirror', params.mirror), abi: stakeMirrorAbi } as const
  const { epoch, tree } = await currentStakeTree(client, params)
  const leaf = proofFor(tree, prover, params.vault)
  if (!leaf) throw new StakeProofError('NoLeaf', `epoch ${epoch} has no stake of ${prover} in vault ${params.vault}`)
  const proven = await proveStake(client, { mirror: mirror.address, prover, vault: params.vault, ...leaf })
  return { ...proven, proof: leaf.proof }
}

/**
 * Proves every leaf of `prover` in the mirror's current snapshot that is not proven in this epoch yet: a leaf backs
 * new tasks only within its own capture's slashing window, so re-proving each epoch keeps a prover's stake on the
 * newest capture (the longest window). Leaves with no stake are
 * left out (they back nothing). Safe to repeat and to resume after a crash: what is proven is read from the mirror.
 */
export async function proveStakeLeaves(
  client: ChainClient,
  params: SnapshotSource & {
    /** Default: the client's account. */
    prover?: Address
    /** Sends each proof (default: directly); a caller with one transaction lane per account passes its lane. */
    send?: <result>(work: () => Promise<result>) => Promise<result>
  },
): Promise<{ epoch: bigint; proven: { vault: Address; stake: bigint; counted: bigint }[] }> {
  const prover = address('prover', params.prover ?? client.wallet.account.address)
  const mirror = { address: address('mirror', params.mirror), abi: stakeMirrorAbi } as const
  const send = params.send ?? ((work) => work())
  const { epoch, tree } = await currentStakeTree(client, params)
  const proven: { vault: Address; stake: bigint; counted: bigint }[] = []
  for (const entry of tree.entries) {
    if (entry.stake === 0n || entry.prover.toLowerCase() !== prover.toLowerCase()) continue
    const [provenEpoch] = await client.public.readContract({
      ...mirror,
      functionName: 'vaultStake',
      args: [prover, entry.vault],
    })
    if (provenEpoch >= epoch) continue
    const leaf = proofFor(tree, prover, entry.vault)
    if (!leaf) continue
    const done = await send(() => proveStake(client, { mirror: mirror.address, prover, vault: entry.vault, ...leaf }))
    proven.push({ vault: entry.vault, stake: done.stake, counted: done.counted })
  }
  return { epoch, proven }
}
