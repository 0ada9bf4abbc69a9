import { parseArgs } from 'node:util'
import { isHex } from 'viem'
import { z } from 'zod'

const privateKey = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, 'expected a 0x-prefixed 32-byte hex key')
  .transform((value) => value as `0x${string}`)
const count = z.coerce.number().int().nonnegative()

export const configSchema = z.object({
  ethereumRpcUrl: z.url(),
  marketplaceRpcUrl: z.url(),
  /** deployments/<ethereum chainId>.restaking.json (DeployRestaking.s.sol, MODE=ETHEREUM). */
  ethereumDeployment: z.string().min(1),
  /** deployments/<marketplace chainId>.restaking.json (DeployRestaking.s.sol, MODE=MARKETPLACE). */
  marketplaceDeployment: z.string().min(1),
  /** This relayer's attested Relayer-role key: it signs snapshots and batches and pays for submissions. */
  privateKey,
  /** Snapshots capture stake at multiples of this many seconds of Ethereum time. */
  epochLength: count.pipe(z.number().positive()).default(3600),
  /** Blocks behind the head a block must be to count as final (Ethereum and the marketplace chain). */
  finalityDepth: count.default(12),
  /** 0 picks a free port. */
  metricsPort: count.default(9464),
  metricsHost: z.string().default('127.0.0.1'),
  /** Milliseconds between rounds. */
  pollInterval: count.pipe(z.number().positive()).default(5_000),
  /** Other relayers' HTTP servers, polled for their signatures. */
  peers: z.array(z.url()).default([]),
  /** Milliseconds a relayer that is not the lowest signer waits before submitting a quorum itself. */
  submitDelay: count.default(30_000),
  /** Most slashes per delivered batch. */
  maxBatch: count.pipe(z.number().positive()).default(50),
  /** Pairs read per stakesAt page. */
  pageSize: count.pipe(z.number().positive()).default(200),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type RelayerConfig = z.infer<typeof configSchema>
export type RelayerConfigInput = z.input<typeof configSchema>

const flags = {
  'ethereum-rpc-url': 'ethereumRpcUrl',
  'marketplace-rpc-url': 'marketplaceRpcUrl',
  'ethereum-deployment': 'ethereumDeployment',
  'marketplace-deployment': 'marketplaceDeployment',
  'private-key': 'privateKey',
  'epoch-length': 'epochLength',
  'finality-depth': 'finalityDepth',
  'metrics-port': 'metricsPort',
  'metrics-host': 'metricsHost',
  'poll-interval': 'pollInterval',
  peers: 'peers',
  'submit-delay': 'submitDelay',
  'max-batch': 'maxBatch',
  'page-size': 'pageSize',
  'log-level': 'logLevel',
} as const satisfies Record<string, keyof RelayerConfig>

/** Flags win over RELAYER_* environment variables (e.g. --epoch-length or RELAYER_EPOCH_LENGTH). */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): RelayerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(flags).map((flag) => [flag, { type: 'string' }])),
    strict: true,
  })
  const raw: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(flags)) {
    const value = values[flag] ?? env[`RELAYER_${flag.toUpperCase().replaceAll('-', '_')}`]
    if (value === undefined || value === '') continue
    raw[key] =
      key === 'peers'
        ? String(value)
            .split(',')
            .map((peer) => peer.trim())
            .filter(Boolean)
        : value
  }
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) throw new Error(`invalid relayer config:\n${z.prettifyError(parsed.error)}`)
  return parsed.data
}

// The restaking deployment files are the SDK's (ts/restaking.ts): provers and operators read them too.
export {
  type EthereumRestaking,
  ethereumDeploymentSchema,
  loadEthereumRestaking,
  loadMarketplaceRestaking,
  type MarketplaceRestaking,
  marketplaceDeploymentSchema,
} from '../../ts/restaking.js'
