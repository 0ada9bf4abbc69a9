import { z } from 'zod'
import type { ServiceCli } from '../../ts/service/config.js'
import { count, logLevel, positive } from '../../ts/service/schemas.js'

export const configSchema = z.object({
  rpcUrl: z.url(),
  /** Checked against the RPC; read from it when not given. */
  chainId: positive.optional(),
  /** deployments/<chainId>.json by default. */
  deployment: z.string().min(1).optional(),
  /** deployments/<chainId>.attestation.json by default, when it exists: the TeeRegistry whose keys are shown. */
  attestationDeployment: z.string().min(1).optional(),
  /** deployments/<chainId>.restaking.json (MODE=MARKETPLACE) by default, when it exists: the StakeMirror shown. */
  restakingDeployment: z.string().min(1).optional(),
  /** 0 picks a free port. */
  port: count.default(8750),
  /** Loopback by default; 0.0.0.0 to serve other machines (the explorer only reads). */
  host: z.string().default('127.0.0.1'),
  /** Blocks per eth_getLogs call. */
  logRange: positive.default(5_000),
  /** Milliseconds between polls of the chain head. */
  pollInterval: positive.default(1_000),
  logLevel,
})

export type ExplorerConfig = z.infer<typeof configSchema>
export type ExplorerConfigInput = z.input<typeof configSchema>

/** `cairn explorer`: every flag with its EXPLORER_* variable; `--help` lists them with the schema's defaults. */
export const explorerCli = {
  command: 'cairn explorer',
  entry: 'explorer/src/main.ts',
  summary: 'the read-only web explorer: markets, requests, provers, live, served from an index of the chain’s logs',
  envPrefix: 'EXPLORER_',
  schema: configSchema,
  flags: {
    'rpc-url': { field: 'rpcUrl', value: '<url>', help: 'JSON-RPC URL of the marketplace chain' },
    'chain-id': { field: 'chainId', value: '<id>', help: 'chain id the RPC must serve (default: what it says)' },
    deployment: { field: 'deployment', value: '<path>', help: 'deployment file (default deployments/<chainId>.json)' },
    'attestation-deployment': {
      field: 'attestationDeployment',
      value: '<path>',
      help: 'attestation deployment file, for enclave keys (default deployments/<chainId>.attestation.json if present)',
    },
    'restaking-deployment': {
      field: 'restakingDeployment',
      value: '<path>',
      help: 'marketplace restaking deployment file, for the StakeMirror (default deployments/<chainId>.restaking.json if present)',
    },
    port: { field: 'port', value: '<port>', help: 'port the explorer serves on' },
    host: { field: 'host', value: '<host>', help: 'interface the explorer listens on' },
    'log-range': { field: 'logRange', value: '<blocks>', help: 'blocks per eth_getLogs call' },
    'poll-interval': { field: 'pollInterval', value: '<ms>', help: 'pause between polls of the chain head' },
    'log-level': { field: 'logLevel', value: '<level>', help: 'log verbosity' },
  },
  notes: [
    'The explorer holds no key and sends no transaction. It indexes the deployment from its deployment block at every',
    'start (in memory), then follows new blocks; /live streams changes to open pages, /healthz and /metrics are served too.',
  ],
} satisfies ServiceCli<typeof configSchema>
