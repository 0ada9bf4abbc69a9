import { type Logger, pino } from 'pino'
import type { AttestationProvider } from '../../enclave/attestation/index.js'
import { attestationOf } from '../../enclave/quote-source/index.js'
import { startHttpService } from '../../ts/service/http.js'
import { type PollLoop, startPollLoop } from '../../ts/service/poll-loop.js'
import type { RelayerConfig } from './config.js'
import { connectChains, type RelayerContext } from './context.js'
import { errorSummary } from './failures.js'
import { createRelayerKeys } from './keys.js'
import { createMetrics } from './metrics.js'
import { createOutcomeRound } from './outcome-round.js'
import { createQuorumGathering } from './quorum-gathering.js'
import { registerRelayerKey, relayerEnclaveConfig } from './registration.js'
import { ROUND_NAMES, type Round, type RoundName, type RoundOutcome } from './round.js'
import { createSignatureStore, type SignedDigest } from './signatures.js'
import { signaturesRoute } from './signatures-route.js'
import { createSlashQueue } from './slash-queue.js'
import { createSlashRound } from './slash-round.js'
import { createSnapshotRound } from './snapshot-round.js'

/**
 * A relayer, run for one operator: loads both deployment files, registers its key on both chains' TeeRegistry from
 * the operator's account, serves metrics and its signatures, and runs three rounds in a loop: snapshots (Ethereum →
 * marketplace chain), slashes (marketplace chain → Ethereum) and slash outcomes (veto requests finalized on Ethereum,
 * then every queued slash's outcome back to the marketplace chain). It keeps no state of its own worth saving: every
 * round starts from chain state, so a restart resumes exactly where the chains are.
 */
export async function createRelayer(
  config: RelayerConfig,
  options: { logger?: Logger; provider?: AttestationProvider } = {},
) {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'cairn-relayer' } })
  const chains = await connectChains(config)
  const { account, operator, ethereum, marketplace } = chains
  const log = logger.child({ relayer: account.address, operator: operator.address })
  const enclave = attestationOf(
    config,
    relayerEnclaveConfig([
      { chainId: ethereum.chainId, registry: ethereum.relayerRegistry },
      { chainId: marketplace.chainId, registry: marketplace.relayerRegistry },
    ]),
    options.provider,
  )
  const metrics = createMetrics()
  const signatures = createSignatureStore()
  const ctx: RelayerContext = { ...chains, config, metrics, log }

  const keys = createRelayerKeys({
    register: (chain) =>
      registerRelayerKey(chains.operatorClients[chain], {
        signerKey: config.privateKey,
        signer: account.address,
        enclave,
        chain,
      }),
    chainTime: async (chain) =>
      Number((await chains.registries[chain].public.getBlock({ blockTag: 'latest' })).timestamp),
    metrics,
    log,
  })
  // The key is registered on both chains before the relayer serves anything (its health probe included); an operator
  // that is not admitted stops the start with what to fix.
  await keys.registerAtStart()
  // GET /healthz answers 200 while the process runs: a relayer's rounds report their trouble in /metrics.
  const server = await startHttpService({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    health: () => ({ ok: true }),
    routes: [signaturesRoute(signatures)],
    logger: log,
  })

  const quorum = createQuorumGathering(ctx, signatures)
  const queue = createSlashQueue(ctx)
  const rounds: Record<RoundName, Round> = {
    keys: keys.round,
    snapshots: createSnapshotRound(ctx, quorum.gather),
    slashes: createSlashRound(ctx, queue, quorum.gather),
    outcomes: createOutcomeRound(ctx, queue, quorum),
  }
  const countError = (loop: string) => metrics.errors.inc({ loop })

  async function run(name: RoundName): Promise<RoundOutcome> {
    const outcome = await rounds[name]()
    log.debug({ loop: name, ...outcome }, 'round')
    return outcome
  }

  /** One round as the loop runs it (tests drive rounds one by one): a failure is counted and logged, never thrown. */
  async function guarded(name: RoundName): Promise<RoundOutcome | undefined> {
    try {
      return await run(name)
    } catch (error) {
      countError(name)
      log.error({ loop: name, err: errorSummary(error) }, 'round failed')
      return undefined
    }
  }

  let loop: PollLoop | undefined
  function start(): void {
    loop ??= startPollLoop({
      rounds: ROUND_NAMES.map((name) => ({
        name,
        run: async () => {
          await run(name)
        },
      })),
      intervalMs: config.pollInterval,
      countError,
      log,
      describeError: errorSummary,
    })
  }

  /** Stops the loop (after the round in flight) and the HTTP server. */
  async function stop(): Promise<void> {
    await loop?.stop()
    await server.close()
    log.info('stopped')
  }

  return {
    address: account.address,
    operator: operator.address,
    url: server.url,
    metrics,
    signatures: signatures as { get: (digest: string) => SignedDigest | undefined },
    registrations: keys.registrations,
    keyRound: () => guarded('keys'),
    snapshotRound: () => guarded('snapshots'),
    slashRound: () => guarded('slashes'),
    outcomeRound: () => guarded('outcomes'),
    start,
    stop,
  }
}

export type Relayer = Awaited<ReturnType<typeof createRelayer>>
