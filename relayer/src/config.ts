import { parseArgs } from 'node:util'
import { isHex } from 'viem'
import { z } from 'zod'

const privateKey = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, 'expected a 0x-prefixed 32-byte hex key')
  .transform((value) => value as `0x${string}`)
const count = z.coerce.number().int().nonnegative()

export const configSchema = z
  .object({
    ethereumRpcUrl: z.url(),
    marketplaceRpcUrl: z.url(),
    /** deployments/<ethereum chainId>.restaking.json (DeployRestaking.s.sol, MODE=ETHEREUM). */
    ethereumDeployment: z.string().min(1),
    /** deployments/<marketplace chainId>.restaking.json (DeployRestaking.s.sol, MODE=MARKETPLACE). */
    marketplaceDeployment: z.string().min(1),
    /** This relayer's attested Relayer-role key: it signs snapshots and batches and pays for submissions. */
    privateKey,
    /**
     * The account of the operator this relayer runs for: governance admitted it as a relayer operator on both chains'
     * TeeRegistry, and it sends this relayer's key registrations (quorums count operators, not keys).
     */
    operatorPrivateKey: privateKey,
    /** Where quotes come from: the TD's configfs-tsm interface, or the dev PKI (devnets and tests only). */
    attestation: z.enum(['configfs', 'dev']).default('configfs'),
    /** Dev PKI seed and reference time (unix seconds): those the chains' dev collateral was built from. */
    devPkiSeed: z.string().min(1).optional(),
    devPkiTime: count.optional(),
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
  .superRefine((config, context) => {
    if (config.attestation !== 'dev') return
    for (const key of ['devPkiSeed', 'devPkiTime'] as const) {
      if (config[key] === undefined) {
        context.addIssue({ code: 'custom', path: [key], message: `required with attestation 'dev'` })
      }
    }
  })

export type RelayerConfig = z.infer<typeof configSchema>
export type RelayerConfigInput = z.input<typeof configSchema>

const flags = {
  'ethereum-rpc-url': 'ethereumRpcUrl',
  'marketplace-rpc-url': 'marketplaceRpcUrl',
  'ethereum-deployment': 'ethereumDeployment',
  'marketplace-deployment': 'marketplaceDeployment',
  'private-key': 'privateKey',
  'operator-private-key': 'operatorPrivateKey',
  attestation: 'attestation',
  'dev-pki-seed': 'devPkiSeed',
  'dev-pki-time': 'devPkiTime',
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

/** The environment variable of a flag: --operator-private-key → RELAYER_OPERATOR_PRIVATE_KEY. */
export function envName(flag: keyof typeof flags): string {
  return `RELAYER_${flag.toUpperCase().replaceAll('-', '_')}`
}

/** The flag that sets a config field, with its environment variable: for errors that tell what to fix. */
export function flagOf(key: keyof RelayerConfig): string {
  const flag = Object.entries(flags).find(([, field]) => field === key)?.[0] as keyof typeof flags | undefined
  return flag === undefined ? key : `--${flag} (${envName(flag)})`
}

/** Flags win over RELAYER_* environment variables (e.g. --epoch-length or RELAYER_EPOCH_LENGTH). */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): RelayerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(flags).map((flag) => [flag, { type: 'string' }])),
    strict: true,
  })
  const raw: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(flags)) {
    const value = values[flag] ?? env[envName(flag as keyof typeof flags)]
    if (value === undefined || value === '') continue
    raw[key] =
      key === 'peers'
        ? String(value)
            .split(',')
            .map((peer) => peer.trim())
            .filter(Boolean)
        : value
  }
  return parseConfig(raw)
}

/** Validates a config given as an object (in-process use: tests). Errors name the field, never echo a key. */
export function parseConfig(input: RelayerConfigInput | Record<string, unknown>): RelayerConfig {
  const parsed = configSchema.safeParse(input)
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
