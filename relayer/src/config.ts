import { z } from 'zod'
import { attestationFields, attestationFlags, requireDevPki } from '../../enclave/quote-source/index.js'
import {
  envVariable,
  flagOfField,
  loadServiceConfig,
  operationFlags,
  parseServiceConfig,
  type ServiceCli,
} from '../../ts/service/config.js'
import { count, operationFields, positive, privateKey } from '../../ts/service/schemas.js'

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
    ...attestationFields,
    /** Snapshots capture stake at multiples of this many seconds of Ethereum time. */
    epochLength: positive.default(3600),
    /** Blocks behind the head a block must be to count as final (Ethereum and the marketplace chain). */
    finalityDepth: count.default(12),
    /** Milliseconds between rounds. */
    pollInterval: positive.default(5_000),
    /** Other relayers' HTTP servers, polled for their signatures. */
    peers: z.array(z.url()).default([]),
    /** Milliseconds a relayer that is not the lowest signer waits before submitting a quorum itself. */
    submitDelay: count.default(30_000),
    /** Most slashes per delivered batch. */
    maxBatch: positive.default(50),
    /** Pairs read per stakesAt page. */
    pageSize: positive.default(200),
    ...operationFields(9464),
  })
  .superRefine(requireDevPki)

export type RelayerConfig = z.infer<typeof configSchema>
export type RelayerConfigInput = z.input<typeof configSchema>

/** `cairn relayer run`: every flag with its RELAYER_* variable and meaning; `--help` lists them with the schema's defaults. */
export const relayerCli = {
  command: 'cairn relayer run',
  entry: 'relayer/src/main.ts',
  summary: 'a stake relayer: commits Ethereum stake snapshots to the StakeMirror and delivers slashes back',
  envPrefix: 'RELAYER_',
  schema: configSchema,
  flags: {
    'ethereum-rpc-url': { field: 'ethereumRpcUrl', value: '<url>', help: 'JSON-RPC URL of Ethereum (the middleware)' },
    'marketplace-rpc-url': {
      field: 'marketplaceRpcUrl',
      value: '<url>',
      help: 'JSON-RPC URL of the marketplace chain (the StakeMirror)',
    },
    'ethereum-deployment': {
      field: 'ethereumDeployment',
      value: '<path>',
      help: 'deployments/<ethereum chainId>.restaking.json (DeployRestaking.s.sol, MODE=ETHEREUM)',
    },
    'marketplace-deployment': {
      field: 'marketplaceDeployment',
      value: '<path>',
      help: 'deployments/<marketplace chainId>.restaking.json (DeployRestaking.s.sol, MODE=MARKETPLACE)',
    },
    'private-key': {
      field: 'privateKey',
      value: '<0x…>',
      help: 'this relayer’s attested key: signs snapshots and batches, pays for submissions',
    },
    'operator-private-key': {
      field: 'operatorPrivateKey',
      value: '<0x…>',
      help: 'key of the admitted relayer operator: registers this relayer’s key',
    },
    ...attestationFlags,
    'epoch-length': { field: 'epochLength', value: '<seconds>', help: 'snapshots capture stake at multiples of this' },
    'finality-depth': { field: 'finalityDepth', value: '<blocks>', help: 'blocks behind the head that count as final' },
    'metrics-port': {
      field: 'metricsPort',
      value: '<port>',
      help: 'HTTP port of /healthz, /metrics, peers (0: any free)',
    },
    'poll-interval': { field: 'pollInterval', value: '<ms>', help: 'between rounds' },
    peers: { field: 'peers', value: '<url,url>', help: 'other relayers’ HTTP servers, comma-separated' },
    'submit-delay': {
      field: 'submitDelay',
      value: '<ms>',
      help: 'a relayer that is not the lowest signer waits this long before submitting',
    },
    'max-batch': { field: 'maxBatch', value: '<n>', help: 'most slashes per delivered batch' },
    'page-size': { field: 'pageSize', value: '<n>', help: 'pairs read per stakesAt page' },
    ...operationFlags,
  },
  decode: {
    peers: (text: string) =>
      text
        .split(',')
        .map((peer) => peer.trim())
        .filter(Boolean),
  },
} as const satisfies ServiceCli<typeof configSchema>

/** The environment variable of a flag: --operator-private-key → RELAYER_OPERATOR_PRIVATE_KEY. */
export function envName(flag: keyof typeof relayerCli.flags): string {
  return envVariable(relayerCli, flag)
}

/** The flag that sets a config field, with its environment variable: for errors that tell what to fix. */
export function flagOf(key: keyof RelayerConfig): string {
  return flagOfField(relayerCli, key)
}

/** Flags win over RELAYER_* environment variables (e.g. --epoch-length or RELAYER_EPOCH_LENGTH); a ConfigError names the flag. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): RelayerConfig {
  return loadServiceConfig(relayerCli, argv, env)
}

/** Validates a config given as an object (in-process use: tests). Errors name the field, never echo a key. */
export function parseConfig(input: RelayerConfigInput | Record<string, unknown>): RelayerConfig {
  return parseServiceConfig(relayerCli, 'relayer', input)
}
