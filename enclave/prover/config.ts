import { readFileSync } from 'node:fs'
import { getAddress, isAddress } from 'viem'
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
import { marketEntrySchema } from './backends/registry.js'

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), 'expected an address')
  .transform((value) => getAddress(value))
/** Token amounts in wei: a decimal string (safe for any size) or a safe integer. */
const wei = z
  .union([z.string().regex(/^\d+$/, 'expected an integer amount in wei'), z.number().int().nonnegative(), z.bigint()])
  .transform((value) => BigInt(value))
  .pipe(z.bigint().max((1n << 96n) - 1n, 'exceeds uint96'))

const offer = {
  marketId: count.pipe(z.number().positive()).transform(BigInt),
  /** Price per proof, in wei of the market's payment token. */
  price: wei,
  /** Seconds this machine needs per proof: only requests allowing at least this long are assigned. */
  provingTime: positive,
  /** Compute units one task of this market holds (≤ capacity). */
  computePerRequest: positive.default(1),
}

/** A market entry: the offer, and a backend (`backend` names it, backends/registry.ts lists them) with its fields. */
export const marketSchema = marketEntrySchema(offer)

export type MarketConfig = z.infer<typeof marketSchema>

export const configSchema = z
  .object({
    ...marketplaceChainFields,
    /** The prover's operator account: registers, lists, stakes, fulfils and pays gas. */
    privateKey,
    /** Where the rewards go on registration (default: the operator account). */
    rewardAddress: address.optional(),
    /** The enclave's keyring (sealed state): its signing and ECIES keys per market; created when absent. */
    keyFile: z.string().min(1),
    /** The circuit breaker's state; default `<keyFile>.breaker.json`. Deleting it resets the breaker. */
    breakerFile: z.string().min(1).optional(),
    /**
     * The bearer token POST /reset requires (mode 0600); default `<keyFile>.operator-token`, created with a random
     * token at the first start.
     */
    operatorTokenFile: z.string().min(1).optional(),
    ...attestationFields,
    markets: z.array(marketSchema).min(1),
    /** Compute units of this machine, shared by all its markets. */
    capacity: positive.default(4),
    /** Keep at least this much stake (wei of the stake token) deposited in NativeStaking: topped up at start. */
    stake: wei.optional(),
    /**
     * Ethereum RPC, where Cairn's restaking middleware is: with `restakingDeployment`, the runner proves its stake
     * leaves in every snapshot the relayers commit to the StakeMirror, so restaked markets keep lockable stake.
     */
    ethereumRpcUrl: z.url().optional(),
    /** deployments/<Ethereum chainId>.restaking.json (script/DeployRestaking.s.sol, MODE=ETHEREUM). */
    restakingDeployment: z.string().min(1).optional(),
    /** Milliseconds between chain polls. */
    pollInterval: positive.default(2_000),
    /** Blocks behind the head a log must be before it is acted on. */
    confirmations: count.default(0),
    /** Most blocks per eth_getLogs call. */
    logRange: positive.default(2_000),
    /** First block scanned at start (default: the marketplace's deploy block). */
    fromBlock: count.transform(BigInt).optional(),
    /** Milliseconds a ready proof waits for other proofs in progress, to share one fulfilBatch. */
    batchWindow: count.default(2_000),
    /** Most proofs per fulfilBatch. */
    maxBatch: positive.default(20),
    maxConcurrentProofs: positive.default(1),
    /** Seconds before a task's deadline when proving is abandoned (the submission needs them). */
    submitMargin: count.default(5),
    ...inputBoundFields,
    /** Claim public-input requests the matcher left unassigned past their market's fallback delay. */
    claimFallback: booleanFlag.default(false),
    /**
     * The matcher whose fast lane this runner serves (GET /provers/<address>/fast-assignments): its offers are proven
     * and fulfilled with fulfilSigned. Absent: no fast lane, only on-chain assignments.
     */
    matcherUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Milliseconds between polls of the matcher's fast assignments (with `matcherUrl`). */
    fastPollMs: positive.default(500),
    /** Share of a key's attested validity after which it is rotated (a fresh key with a fresh quote). */
    rotationFraction: z.coerce
      .number()
      .gt(0)
      .lt(1)
      .default(2 / 3),
    /** Seconds an expired enclave key is kept for inputs a matcher wrapped to it just before its expiry. */
    keyRetention: count.default(86_400),
    /** POST /reset is served on the HTTP server too, behind the operator token. */
    ...operationFields(9465),
  })
  .superRefine((config, context) => {
    requireDevPki(config, context)
    if ((config.ethereumRpcUrl === undefined) !== (config.restakingDeployment === undefined)) {
      const missing = config.ethereumRpcUrl === undefined ? 'ethereumRpcUrl' : 'restakingDeployment'
      context.addIssue({
        code: 'custom',
        path: [missing],
        message: 'restaked stake needs both the Ethereum RPC and the restaking deployment',
      })
    }
    const ids = config.markets.map((market) => market.marketId)
    if (new Set(ids).size !== ids.length) {
      context.addIssue({ code: 'custom', path: ['markets'], message: 'a market is configured twice' })
    }
    for (const [i, market] of config.markets.entries()) {
      if (market.computePerRequest > config.capacity) {
        context.addIssue({
          code: 'custom',
          path: ['markets', i, 'computePerRequest'],
          message: `exceeds the capacity ${config.capacity}`,
        })
      }
    }
  })

export type ProverRunnerConfig = z.infer<typeof configSchema>
export type ProverRunnerConfigInput = z.input<typeof configSchema>

/** Validates a config given as an object (in-process use, e.g. the devnet); throws with every problem listed. */
export function parseConfig(input: ProverRunnerConfigInput | Record<string, unknown>): ProverRunnerConfig {
  return parseServiceConfig(proverCli, 'prover runner', input)
}

/** `cairn prover run`: every flag with its PROVER_* variable and meaning; `--help` lists them with the schema's defaults. */
export const proverCli = {
  command: 'cairn prover run',
  entry: 'enclave/prover/main.ts',
  summary: 'the prover runner: registers, lists and stakes, then proves and fulfils the tasks it is assigned',
  envPrefix: 'PROVER_',
  schema: configSchema,
  flags: {
    ...marketplaceChainFlags,
    'private-key': {
      field: 'privateKey',
      value: '<0x…>',
      help: 'the operator account: registers, lists, stakes, fulfils, pays gas',
    },
    'reward-address': {
      field: 'rewardAddress',
      value: '<address>',
      help: 'receives the rewards (default: the operator)',
    },
    'key-file': { field: 'keyFile', value: '<path>', help: 'the enclave keyring (created when absent)' },
    'breaker-file': {
      field: 'breakerFile',
      value: '<path>',
      help: 'circuit-breaker state (default <key-file>.breaker.json)',
    },
    'operator-token-file': {
      field: 'operatorTokenFile',
      value: '<path>',
      help: 'bearer token of POST /reset (default <key-file>.operator-token, created at the first start)',
    },
    ...attestationFlags,
    markets: {
      field: 'markets',
      value: '<json|@file>',
      help: 'JSON array of { marketId, backend, price (wei), provingTime, … }, inline or @file.json',
    },
    capacity: { field: 'capacity', value: '<units>', help: 'compute units of this machine, shared by its markets' },
    stake: {
      field: 'stake',
      value: '<wei>',
      help: 'keep at least this much staked in NativeStaking, topped up at start',
    },
    'ethereum-rpc-url': {
      field: 'ethereumRpcUrl',
      value: '<url>',
      help: 'Ethereum RPC of the restaking middleware (with --restaking-deployment: keeps restaked stake live)',
    },
    'restaking-deployment': {
      field: 'restakingDeployment',
      value: '<path>',
      help: 'the Ethereum restaking deployment file (with --ethereum-rpc-url)',
    },
    'metrics-port': {
      field: 'metricsPort',
      value: '<port>',
      help: 'HTTP port of /healthz, /metrics, POST /reset (0: any free)',
    },
    'poll-interval': { field: 'pollInterval', value: '<ms>', help: 'between chain polls' },
    confirmations: {
      field: 'confirmations',
      value: '<blocks>',
      help: 'blocks behind the head before logs are acted on',
    },
    'log-range': { field: 'logRange', value: '<blocks>', help: 'most blocks per eth_getLogs call' },
    'from-block': {
      field: 'fromBlock',
      value: '<block>',
      help: 'first block read at start (default: the deploy block)',
    },
    'batch-window': {
      field: 'batchWindow',
      value: '<ms>',
      help: 'a ready proof waits this long to share a fulfilBatch',
    },
    'max-batch': { field: 'maxBatch', value: '<n>', help: 'most proofs per fulfilBatch' },
    'max-concurrent-proofs': { field: 'maxConcurrentProofs', value: '<n>', help: 'proofs computed at once' },
    'submit-margin': {
      field: 'submitMargin',
      value: '<seconds>',
      help: 'before a deadline, when proving is abandoned',
    },
    ...inputBoundFlags,
    'claim-fallback': {
      field: 'claimFallback',
      value: '<true|false>',
      help: 'claim public requests the matcher left unassigned past the fallback delay',
    },
    'matcher-url': {
      field: 'matcherUrl',
      value: '<url>',
      help: 'serve this matcher’s fast lane: poll its fast assignments, prove them and fulfil with fulfilSigned (absent: no fast lane)',
    },
    'fast-poll-ms': { field: 'fastPollMs', value: '<ms>', help: 'between polls of the matcher’s fast assignments' },
    'rotation-fraction': {
      field: 'rotationFraction',
      value: '<0..1>',
      help: 'share of a key’s attested validity after which it is rotated',
    },
    'key-retention': { field: 'keyRetention', value: '<seconds>', help: 'how long an expired enclave key is kept' },
    ...operationFlags,
  },
  decode: { markets: parseMarkets },
  notes: ['Market entries, backends and the keyring: enclave/prover/README.md.'],
} as const satisfies ServiceCli<typeof configSchema>

/** The environment variable of a flag: PROVER_ and the flag in upper snake case (--key-file → PROVER_KEY_FILE). */
export function envName(flag: string): string {
  return envVariable(proverCli, flag)
}

/**
 * Flags win over PROVER_* environment variables. `--markets` (PROVER_MARKETS) is a JSON array, inline or `@path`
 * to a JSON file. A ConfigError names each flag that is missing or malformed.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ProverRunnerConfig {
  return loadServiceConfig(proverCli, argv, env)
}

function parseMarkets(value: string): unknown {
  const path = value.startsWith('@') ? value.slice(1) : undefined
  let text = value
  if (path !== undefined) {
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      throw new Error(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error})`)
    }
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`)
  }
}
