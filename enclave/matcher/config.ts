import { parseArgs } from 'node:util'
import { isHex } from 'viem'
import { z } from 'zod'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../../ts/input-uris.js'

const privateKey = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, 'expected a 0x-prefixed 32-byte hex key')
  .transform((value) => value as `0x${string}`)
const count = z.coerce.number().int().nonnegative()
const positive = count.pipe(z.number().positive())
const flag = z.union([z.boolean(), z.stringbool()])

export const configSchema = z
  .object({
    rpcUrl: z.url(),
    chainId: positive,
    /** deployments/<chainId>.json (script/Deploy.s.sol) by default. */
    deployment: z.string().min(1).optional(),
    /** deployments/<chainId>.attestation.json (script/DeployAttestation.s.sol) by default. */
    attestationDeployment: z.string().min(1).optional(),
    /** The enclave's key state: one secp256k1 key that signs batches and receives ECIES wraps. Created if absent. */
    keyFile: z.string().min(1),
    /**
     * The matcher operator's account, which governance admitted for the Matcher role: it registers the enclave key
     * (becoming its operator: removing the operator deactivates the key) and sends the assign transactions.
     */
    submitterPrivateKey: privateKey,
    /** Where quotes come from: the TD's configfs-tsm interface, or the dev PKI (devnets and tests only). */
    attestation: z.enum(['configfs', 'dev']).default('configfs'),
    /** Dev PKI seed and reference time (unix seconds): must be those the chain's dev collateral was built from. */
    devPkiSeed: z.string().min(1).optional(),
    devPkiTime: count.optional(),
    /** Most items per assign transaction. */
    maxBatch: positive.default(50),
    /** Seconds a signed batch stays valid (validUntil = chain time + this). */
    signatureValidity: positive.default(120),
    /** Seconds a batch may take to land: requests whose matching expiry is nearer are left alone. */
    minTimeToExpiry: count.default(5),
    /** Milliseconds between polls of the chain head. */
    pollInterval: positive.default(250),
    /** Blocks per eth_getLogs call. */
    logRange: positive.default(2_000),
    /** First block to index (default: the earlier of the two deployments' deploy blocks). */
    fromBlock: count.transform(BigInt).optional(),
    /**
     * Milliseconds one read of inputs behind a URI may take. No more than the prover runners' (the same default):
     * a request is assigned only once its inputs loaded here, and a prover that cannot load them is slashed.
     */
    fetchTimeout: positive.default(DEFAULT_INPUT_TIMEOUT_MS),
    /**
     * Most bytes of inputs behind one URI (public inputs or a private envelope). No more than the prover runners'
     * --max-input-bytes (the same default), for the same reason.
     */
    maxInputBytes: positive.default(DEFAULT_MAX_INPUT_BYTES),
    /**
     * Seconds past its listed proving time a prover has to answer a task (fulfil or reject its inputs) before the
     * matcher takes it for gone and stops assigning to it, until it shows a sign of life on chain.
     */
    livenessGrace: count.default(60),
    /** Read file: URIs from this machine's disk (devnets and tests only; a requester picks the path). */
    allowFileUris: flag.default(false),
    /** 0 picks a free port. */
    metricsPort: count.default(9465),
    metricsHost: z.string().default('127.0.0.1'),
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

export type MatcherConfig = z.infer<typeof configSchema>
export type MatcherConfigInput = z.input<typeof configSchema>

const flags = {
  'rpc-url': 'rpcUrl',
  'chain-id': 'chainId',
  deployment: 'deployment',
  'attestation-deployment': 'attestationDeployment',
  'key-file': 'keyFile',
  'submitter-private-key': 'submitterPrivateKey',
  attestation: 'attestation',
  'dev-pki-seed': 'devPkiSeed',
  'dev-pki-time': 'devPkiTime',
  'max-batch': 'maxBatch',
  'signature-validity': 'signatureValidity',
  'min-time-to-expiry': 'minTimeToExpiry',
  'poll-interval': 'pollInterval',
  'log-range': 'logRange',
  'from-block': 'fromBlock',
  'fetch-timeout': 'fetchTimeout',
  'max-input-bytes': 'maxInputBytes',
  'allow-file-uris': 'allowFileUris',
  'liveness-grace': 'livenessGrace',
  'metrics-port': 'metricsPort',
  'metrics-host': 'metricsHost',
  'log-level': 'logLevel',
} as const satisfies Record<string, keyof MatcherConfig>

/** The environment variable of a flag: --key-file → MATCHER_KEY_FILE. */
export function envName(flag: keyof typeof flags): string {
  return `MATCHER_${flag.toUpperCase().replaceAll('-', '_')}`
}

/** Flags win over MATCHER_* environment variables (e.g. --max-batch or MATCHER_MAX_BATCH). */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): MatcherConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(flags).map((flag) => [flag, { type: 'string' }])),
    strict: true,
  })
  const raw: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(flags)) {
    const value = values[flag] ?? env[envName(flag as keyof typeof flags)]
    if (value !== undefined && value !== '') raw[key] = value
  }
  return parseConfig(raw)
}

/** Validates a config given as an object (in-process use: devnets, tests, benches). */
export function parseConfig(input: MatcherConfigInput | Record<string, unknown>): MatcherConfig {
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) throw new Error(`invalid matcher config:\n${z.prettifyError(parsed.error)}`)
  return parsed.data
}
