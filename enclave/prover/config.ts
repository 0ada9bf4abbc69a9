import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { getAddress, isAddress, isHex } from 'viem'
import { z } from 'zod'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../../ts/input-uris.js'

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), 'expected an address')
  .transform((value) => getAddress(value))
const privateKey = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, 'expected a 0x-prefixed 32-byte hex key')
  .transform((value) => value as `0x${string}`)
const count = z.coerce.number().int().nonnegative()
const positive = count.pipe(z.number().positive())
/** Token amounts in wei: a decimal string (safe for any size) or a safe integer. */
const wei = z
  .union([z.string().regex(/^\d+$/, 'expected an integer amount in wei'), z.number().int().nonnegative(), z.bigint()])
  .transform((value) => BigInt(value))
  .pipe(z.bigint().max((1n << 96n) - 1n, 'exceeds uint96'))
const flag = z.union([z.boolean(), z.stringbool()])

/** The dev circuit circuits/poseidon_preimage.circom, with snarkjs's public signal order. */
export const POSEIDON_PREIMAGE = 'poseidon-preimage'
/** The sample program programs/sha256_preimage.wasm. */
export const SHA256_PREIMAGE = 'sha256-preimage'

const groth16Circuit = z.union([
  z.literal(POSEIDON_PREIMAGE),
  z.object({
    /** Witness generator (.wasm), relative to the working directory. */
    wasm: z.string().min(1),
    /** Proving key (.zkey). */
    zkey: z.string().min(1),
    /** Public signal names in snarkjs order: the circuit's outputs, then its public inputs. */
    publicSignals: z.object({ outputs: z.array(z.string()), inputs: z.array(z.string()) }),
  }),
])

const teeWasmProgram = z.union([
  z.literal(SHA256_PREIMAGE),
  z.object({
    /** The program's WASM module, relative to the working directory. */
    module: z.string().min(1),
    /** The market's TeeProofVerifier; default: the market's verifier as stored on chain. */
    verifier: address.optional(),
    /** 0: EIP-712 (binds chain and verifier), 1: sp1-tee-prover compatible. */
    digestKind: z.union([z.literal(0), z.literal(1)]).default(0),
    /** Wall-clock limit of one run of the program. */
    timeoutMs: positive.optional(),
    /** Most elements the program's tables may declare in all (default 65536): tables live on the V8 heap. */
    maxTableElements: positive.optional(),
    /** V8 heap of the program's sandbox process, in MiB (default 128). */
    maxHeapMiB: positive.optional(),
  }),
])

const offer = {
  marketId: count.pipe(z.number().positive()).transform(BigInt),
  /** Price per proof, in wei of the market's payment token. */
  price: wei,
  /** Seconds this machine needs per proof: only requests allowing at least this long are assigned. */
  provingTime: positive,
  /** Compute units one task of this market holds (≤ capacity). */
  computePerRequest: positive.default(1),
}

export const marketSchema = z.discriminatedUnion('backend', [
  z.object({ ...offer, backend: z.literal('groth16'), groth16: groth16Circuit.default(POSEIDON_PREIMAGE) }),
  z.object({ ...offer, backend: z.literal('tee-wasm'), teeWasm: teeWasmProgram.default(SHA256_PREIMAGE) }),
])

export type MarketConfig = z.infer<typeof marketSchema>

export const configSchema = z
  .object({
    rpcUrl: z.url(),
    chainId: positive,
    /** deployments/<chainId>.json (script/Deploy.s.sol); default that path under the repo's deployments/. */
    deployment: z.string().min(1).optional(),
    /** deployments/<chainId>.attestation.json (script/DeployAttestation.s.sol); default likewise. */
    attestationDeployment: z.string().min(1).optional(),
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
    /** Quote source: the Linux configfs-tsm interface of a TDX guest, or the dev DCAP PKI (devnets and tests). */
    attestation: z.enum(['configfs', 'dev']).default('configfs'),
    /** Seed of the dev PKI: the one the devnet's collateral and root were built from. */
    devPkiSeed: z.string().min(1).optional(),
    /**
     * Reference time of the dev PKI (ISO 8601 or unix seconds): the `now` the devnet built its collateral with.
     * The certificates' validity windows depend on it, so a different time yields certificates the chain rejects.
     */
    devPkiTime: z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d+$/), z.number().int()]).optional(),
    /** configfs-tsm report directory (default /sys/kernel/config/tsm/report). */
    configfsRoot: z.string().min(1).optional(),
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
    /** 0 picks a free port. */
    metricsPort: count.default(9465),
    /** Loopback by default; POST /reset is served here too, behind the operator token. */
    metricsHost: z.string().default('127.0.0.1'),
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
    /**
     * Largest inputs (public inputs or private envelope) fetched from a URI, in bytes. Matchers assign requests whose
     * inputs loaded within their own limit (the same default): below it, this prover may be assigned inputs it cannot
     * read, and is slashed for them.
     */
    maxInputBytes: positive.default(DEFAULT_MAX_INPUT_BYTES),
    /** Milliseconds one read of inputs behind a URI may take (below the matchers' default: the same risk). */
    fetchTimeout: positive.default(DEFAULT_INPUT_TIMEOUT_MS),
    /** Read file: inputs URIs from this machine's disk (devnets and tests only; a requester picks the path). */
    allowFileUris: flag.default(false),
    /** Claim public-input requests the matcher left unassigned past their market's fallback delay. */
    claimFallback: flag.default(false),
    /** Share of a key's attested validity after which it is rotated (a fresh key with a fresh quote). */
    rotationFraction: z.coerce
      .number()
      .gt(0)
      .lt(1)
      .default(2 / 3),
    /** Seconds an expired enclave key is kept for inputs a matcher wrapped to it just before its expiry. */
    keyRetention: count.default(86_400),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((config, context) => {
    if (config.attestation === 'dev' && config.devPkiSeed === undefined) {
      context.addIssue({ code: 'custom', path: ['devPkiSeed'], message: 'required with attestation "dev"' })
    }
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
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) throw new Error(`invalid prover runner config:\n${z.prettifyError(parsed.error)}`)
  return parsed.data
}

const flags = {
  'rpc-url': 'rpcUrl',
  'chain-id': 'chainId',
  deployment: 'deployment',
  'attestation-deployment': 'attestationDeployment',
  'private-key': 'privateKey',
  'reward-address': 'rewardAddress',
  'key-file': 'keyFile',
  'breaker-file': 'breakerFile',
  'operator-token-file': 'operatorTokenFile',
  attestation: 'attestation',
  'dev-pki-seed': 'devPkiSeed',
  'dev-pki-time': 'devPkiTime',
  'configfs-root': 'configfsRoot',
  markets: 'markets',
  capacity: 'capacity',
  stake: 'stake',
  'ethereum-rpc-url': 'ethereumRpcUrl',
  'restaking-deployment': 'restakingDeployment',
  'metrics-port': 'metricsPort',
  'metrics-host': 'metricsHost',
  'poll-interval': 'pollInterval',
  confirmations: 'confirmations',
  'log-range': 'logRange',
  'from-block': 'fromBlock',
  'batch-window': 'batchWindow',
  'max-batch': 'maxBatch',
  'max-concurrent-proofs': 'maxConcurrentProofs',
  'submit-margin': 'submitMargin',
  'max-input-bytes': 'maxInputBytes',
  'fetch-timeout': 'fetchTimeout',
  'allow-file-uris': 'allowFileUris',
  'claim-fallback': 'claimFallback',
  'rotation-fraction': 'rotationFraction',
  'key-retention': 'keyRetention',
  'log-level': 'logLevel',
} as const satisfies Record<string, keyof ProverRunnerConfig>

/** The environment variable of a flag: PROVER_ and the flag in upper snake case (--key-file → PROVER_KEY_FILE). */
export function envName(flag: string): string {
  return `PROVER_${flag.toUpperCase().replaceAll('-', '_')}`
}

/**
 * Flags win over PROVER_* environment variables. `--markets` (PROVER_MARKETS) is a JSON array, inline or `@path`
 * to a JSON file.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ProverRunnerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(flags).map((name) => [name, { type: 'string' }])),
    strict: true,
  })
  const raw: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(flags)) {
    const value = values[name] ?? env[envName(name)]
    if (value === undefined || value === '') continue
    raw[key] = key === 'markets' ? parseMarkets(String(value)) : value
  }
  return parseConfig(raw)
}

function parseMarkets(value: string): unknown {
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Error(`markets: not JSON (${(error as Error).message})`)
  }
}
