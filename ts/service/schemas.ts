/**
 * The field schemas Cairn's services build their configs from. Each parses the text of a flag or an environment
 * variable as well as a value given in-process (devnets, tests), and none echoes the value in its message: a
 * malformed key must never end up in a log.
 */
import { isHex } from 'viem'
import { z } from 'zod'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../input-uris.js'

/** A 0x-prefixed 32-byte private key. */
export const privateKey = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, 'expected a 0x-prefixed 32-byte hex key')
  .transform((value) => value as `0x${string}`)

/** A non-negative integer. */
export const count = z.coerce.number().int().nonnegative()

/** A positive integer. */
export const positive = count.pipe(z.number().positive())

/** true or false, also as the text `true`, `false`, `1`, `0`, `yes`, `no`. */
export const booleanFlag = z.union([z.boolean(), z.stringbool()])

/** A point in time as unix seconds, given as unix seconds or as an ISO 8601 date with its offset. */
export const unixSeconds = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/), z.iso.datetime({ offset: true })])
  .transform((value) =>
    typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Math.floor(Date.parse(value) / 1000),
  )

/** How much a service logs (pino's levels). */
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')

/** Where a service's HTTP server (/healthz, /metrics and its own routes) listens, and how much it logs. */
export function operationFields(defaultPort: number) {
  return {
    /** 0 picks a free port. */
    metricsPort: count.default(defaultPort),
    /** Loopback by default: the operator's routes are served here too. */
    metricsHost: z.string().default('127.0.0.1'),
    logLevel,
  }
}

/** The marketplace chain a service works on: the RPC, the chain id it must serve, and the chain's deployment files. */
export const marketplaceChainFields = {
  rpcUrl: z.url(),
  chainId: positive,
  /** deployments/<chainId>.json (script/Deploy.s.sol) by default. */
  deployment: z.string().min(1).optional(),
  /** deployments/<chainId>.attestation.json (script/DeployAttestation.s.sol) by default. */
  attestationDeployment: z.string().min(1).optional(),
}

/**
 * How a service reads inputs behind URIs (the flags are `inputBoundFlags`). The matcher and the prover runners share
 * the defaults, and a runner must not go below the matchers' bounds: a request is assigned only once its inputs loaded
 * at the matcher, so a runner that cannot load them within its own bounds is slashed for them.
 */
export const inputBoundFields = {
  /** Milliseconds one read of inputs behind a URI may take. */
  fetchTimeout: positive.default(DEFAULT_INPUT_TIMEOUT_MS),
  /** Most bytes of inputs behind one URI (public inputs or a private envelope). */
  maxInputBytes: positive.default(DEFAULT_MAX_INPUT_BYTES),
  /** Read file: URIs from this machine's disk (devnets and tests only; a requester picks the path). */
  allowFileUris: booleanFlag.default(false),
}
