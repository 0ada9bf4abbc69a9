import { z } from 'zod'
import {
  envVariable,
  inputBoundFlags,
  loadServiceConfig,
  marketplaceChainFlags,
  operationFlags,
  parseServiceConfig,
  type ServiceCli,
} from '../../ts/service/config.js'
import {
  booleanFlag,
  count,
  inputBoundFields,
  marketplaceChainFields,
  operationFields,
  positive,
  privateKey,
} from '../../ts/service/schemas.js'
import { attestationFields, attestationFlags, requireDevPki } from '../quote-source/index.js'
import { DEFAULT_FAST_LANE_MARGIN } from './fast-policy.js'

export const configSchema = z
  .object({
    ...marketplaceChainFields,
    /** The enclave's key state: one secp256k1 key that signs batches and receives ECIES wraps. Created if absent. */
    keyFile: z.string().min(1),
    /**
     * The matcher operator's account, which governance admitted for the Matcher role: it registers the enclave key
     * (becoming its operator: removing the operator deactivates the key) and sends the assign transactions.
     */
    submitterPrivateKey: privateKey,
    /**
     * The order stream's journal (acknowledged signed orders, append-only, fsync'd before each acknowledgement).
     * Default: orders.jsonl next to the key file.
     */
    ordersFile: z.string().min(1).optional(),
    ...attestationFields,
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
    /** No more than the prover runners' bounds (the same defaults): see inputBoundFields. */
    ...inputBoundFields,
    /**
     * Seconds past its listed proving time a prover has to answer a task (fulfil or reject its inputs) before the
     * matcher takes it for gone and stops assigning to it, until it shows a sign of life on chain.
     */
    livenessGrace: count.default(60),
    /**
     * Offer public signed orders to their prover off chain (a FastAssignment used with the proof in one transaction)
     * when their schedule leaves room for assignSigned after the window (fast-policy.ts); off: assignSigned only.
     */
    fastLane: booleanFlag.default(true),
    /** Seconds a fast assignment's window leaves past the prover's listed proving time for its transaction. */
    fastLaneMargin: count.default(DEFAULT_FAST_LANE_MARGIN),
    ...operationFields(9465),
  })
  .superRefine(requireDevPki)

export type MatcherConfig = z.infer<typeof configSchema>
export type MatcherConfigInput = z.input<typeof configSchema>

/** `cairn matcher run`: every flag with its MATCHER_* variable and meaning; `--help` lists them with the schema's defaults. */
export const matcherCli = {
  command: 'cairn matcher run',
  entry: 'enclave/matcher/main.ts',
  summary: 'the matcher: assigns open requests to listed provers, signed by its attested enclave key',
  envPrefix: 'MATCHER_',
  schema: configSchema,
  flags: {
    ...marketplaceChainFlags,
    'key-file': { field: 'keyFile', value: '<path>', help: 'the enclave key state (created when absent)' },
    'submitter-private-key': {
      field: 'submitterPrivateKey',
      value: '<0x…>',
      help: 'key of the admitted matcher operator: registers the enclave key, sends the assignments',
    },
    'orders-file': {
      field: 'ordersFile',
      value: '<path>',
      help: 'journal of acknowledged signed orders (default: orders.jsonl next to the key file)',
    },
    ...attestationFlags,
    'max-batch': { field: 'maxBatch', value: '<n>', help: 'most assignments per transaction' },
    'signature-validity': { field: 'signatureValidity', value: '<seconds>', help: 'how long a signed batch is valid' },
    'min-time-to-expiry': {
      field: 'minTimeToExpiry',
      value: '<seconds>',
      help: 'leave requests whose matching expiry is nearer than this',
    },
    'poll-interval': { field: 'pollInterval', value: '<ms>', help: 'between polls of the chain head' },
    'log-range': { field: 'logRange', value: '<blocks>', help: 'blocks per eth_getLogs call' },
    'from-block': { field: 'fromBlock', value: '<block>', help: 'first block indexed (default: the deploy blocks)' },
    ...inputBoundFlags,
    'liveness-grace': {
      field: 'livenessGrace',
      value: '<seconds>',
      help: "past a task's listed proving time before its silence counts as the prover gone",
    },
    'fast-lane': {
      field: 'fastLane',
      value: '<true|false>',
      help: 'offer public signed orders off chain (fulfilSigned: one transaction) when assignSigned still fits after',
    },
    'fast-lane-margin': {
      field: 'fastLaneMargin',
      value: '<seconds>',
      help: "beyond the prover's listed proving time in a fast assignment's window, for its transaction",
    },
    'metrics-port': { field: 'metricsPort', value: '<port>', help: 'HTTP port of /healthz and /metrics (0: any free)' },
    ...operationFlags,
  },
} as const satisfies ServiceCli<typeof configSchema>

/** The environment variable of a flag: --key-file → MATCHER_KEY_FILE. */
export function envName(flag: keyof typeof matcherCli.flags): string {
  return envVariable(matcherCli, flag)
}

/** Flags win over MATCHER_* environment variables (e.g. --max-batch or MATCHER_MAX_BATCH); a ConfigError names the flag. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): MatcherConfig {
  return loadServiceConfig(matcherCli, argv, env)
}

/** Validates a config given as an object (in-process use: devnets, tests, benches). */
export function parseConfig(input: MatcherConfigInput | Record<string, unknown>): MatcherConfig {
  return parseServiceConfig(matcherCli, 'matcher', input)
}
