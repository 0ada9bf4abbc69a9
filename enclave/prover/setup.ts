/**
 * The runner's start on chain, in order: registered as a prover machine (its capacity set again: the sign of life
 * matchers wait for after a crash), stake topped up, every market read and its backend loaded, listings in line with
 * the breaker, and an attested enclave key registered in every market. Each step reads the chain first, so a
 * restart does only what is missing.
 */
import type { Logger } from 'pino'
import { type Address, isAddressEqual, zeroAddress } from 'viem'
import type { CairnClient } from '../../ts/client.js'
import { DEFAULT_INPUT_TIMEOUT_MS, DEFAULT_MAX_INPUT_BYTES } from '../../ts/input-uris.js'
import { INSECURE_DEV_CRS } from './backends/noir.js'
import type { Breaker } from './breaker.js'
import type { ProverRunnerConfig } from './config.js'
import type { KeyRotation } from './key-rotation.js'
import type { Listings } from './listings.js'
import { loadMarket, type MarketRuntime } from './markets.js'
import type { Metrics } from './metrics.js'
import { enclaveKeysSet, ensureRegistered, ensureStake } from './onchain.js'
import type { StakeKeeper } from './restaked.js'
import type { TxLane } from './settle.js'

/** Matchers assign requests whose inputs loaded within their bounds: tighter ones here risk slashes. */
export function tightInputBounds(bounds: { maxInputBytes: number; fetchTimeout: number }): boolean {
  return bounds.maxInputBytes < DEFAULT_MAX_INPUT_BYTES || bounds.fetchTimeout < DEFAULT_INPUT_TIMEOUT_MS
}

/**
 * The markets whose stake is neither native nor the mirror this runner keeps proven: they have lockable stake only
 * while someone else keeps it so.
 */
export function unkeptStake<market extends Pick<MarketRuntime, 'stakeSource'>>(
  markets: Iterable<market>,
  kept: { nativeStaking: Address; mirror: Address | undefined },
): market[] {
  return [...markets].filter(({ stakeSource: source }) => {
    if (source === zeroAddress || isAddressEqual(source, kept.nativeStaking)) return false
    return kept.mirror === undefined || !isAddressEqual(source, kept.mirror)
  })
}

export type SetupParams = {
  config: ProverRunnerConfig
  client: CairnClient
  lane: TxLane
  /** Filled here, one entry per configured market. */
  markets: Map<bigint, MarketRuntime>
  stakeKeeper: StakeKeeper | undefined
  breaker: Breaker
  listings: Listings
  keys: KeyRotation
  metrics: Pick<Metrics, 'breakerTripped'>
  logger: Logger
}

export async function setUp(params: SetupParams): Promise<void> {
  const { config, client, lane, markets, stakeKeeper, logger } = params
  if (tightInputBounds(config)) {
    logger.warn(
      {
        maxInputBytes: config.maxInputBytes,
        fetchTimeout: config.fetchTimeout,
        matcherDefaults: { maxInputBytes: DEFAULT_MAX_INPUT_BYTES, fetchTimeout: DEFAULT_INPUT_TIMEOUT_MS },
      },
      'inputs bounds below the matchers’ defaults: a task whose inputs the matcher loaded but this runner cannot is slashed; raise --max-input-bytes / --fetch-timeout to at least the defaults',
    )
  }
  const registration = {
    capacity: config.capacity,
    ...(config.rewardAddress ? { rewardAddress: config.rewardAddress } : {}),
  }
  await lane(() => ensureRegistered(client, registration, logger))
  if (config.stake !== undefined) await lane(() => ensureStake(client, config.stake as bigint, logger))
  for (const market of config.markets) {
    markets.set(market.marketId, await loadMarket(client, market))
    if (market.backend === 'noir' && market.noir.crs === INSECURE_DEV_CRS) {
      logger.warn(
        { marketId: market.marketId.toString() },
        'Noir market proven on the INSECURE DEVELOPMENT CRS (noir/dev-crs: public tau, every proof forgeable): devnets and tests only',
      )
    }
  }
  const kept = { nativeStaking: client.deployment.contracts.nativeStaking, mirror: stakeKeeper?.mirror }
  for (const market of unkeptStake(markets.values(), kept)) {
    logger.warn(
      { marketId: market.marketId.toString(), stakeSource: market.stakeSource },
      'the market locks restaked stake this runner does not keep proven: set --ethereum-rpc-url and --restaking-deployment (the Ethereum restaking deployment whose mirror it is)',
    )
  }
  stakeKeeper?.poke()
  params.metrics.breakerTripped.set(params.breaker.tripped() ? 1 : 0)
  await params.listings.sync()
  if (!(await enclaveKeysSet(client))) {
    logger.warn('the marketplace has no enclave key registry: invalid inputs cannot be attested (rejectInputs)')
  }
  for (const marketId of markets.keys()) await params.keys.ensure(marketId, true)
}
