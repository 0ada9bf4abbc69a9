import type { Logger } from 'pino'
import type { Address } from 'viem'
import type { ChainClient, ChainReader } from '../../ts/client.js'
import { decodeCairnError } from '../../ts/errors.js'
import { stakeMirrorAbi } from '../../ts/generated.js'
import { type EthereumRestaking, loadEthereumRestaking, proveStakeLeaves, StakeProofError } from '../../ts/restaking.js'
import { connectReader } from '../../ts/service/chain.js'
import type { TxLane } from './settle.js'

/*
 * A proven leaf backs new tasks in the StakeMirror only while its own capture can still be slashed in time (its
 * slashing window, less the slash delay), and each task must end within that window, so the newest capture backs the
 * longest tasks; the relayers commit a new epoch on their own schedule. The keeper proves this prover's leaves in
 * each new snapshot as soon as the runner's poll sees it, so the stake always sits on the newest capture. What is
 * proven is read back from the mirror, so a restarted runner simply carries on.
 */

export type StakeKeeper = {
  /** The StakeMirror whose snapshots the keeper follows (on the marketplace chain). */
  mirror: Address
  /** Starts a round in the background unless one runs: proves the leaves of a snapshot not yet proven. */
  poke(): void
  /** Resolves once the round in progress (if any) has ended. */
  settled(): Promise<void>
}

/** Connects to Ethereum and the restaking deployment named by the runner's config. */
export async function connectRestaking(params: {
  ethereumRpcUrl: string
  restakingDeployment: string
  pollInterval: number
}): Promise<{ ethereum: ChainReader; restaking: EthereumRestaking }> {
  const restaking = await loadEthereumRestaking(params.restakingDeployment)
  const ethereum = await connectReader({
    chainId: restaking.chainId,
    rpcUrl: params.ethereumRpcUrl,
    pollingInterval: params.pollInterval,
    name: `Ethereum (chain ${restaking.chainId})`,
    source: { rpcFlag: '--ethereum-rpc-url', expectedFrom: `--restaking-deployment ${params.restakingDeployment}` },
  })
  return { ethereum, restaking }
}

export function createStakeKeeper(params: {
  /** The prover's account on the marketplace chain. */
  client: ChainClient
  ethereum: ChainReader
  restaking: EthereumRestaking
  /** The runner's transaction lane: the proofs are sent from the prover's account, like everything else. */
  lane: TxLane
  logger: Logger
  onFailure?: (error: unknown) => void
}): StakeKeeper {
  const { client, ethereum, restaking, lane } = params
  const mirror = restaking.sourceMirror
  const logger = params.logger.child({ mirror })
  /** The last epoch whose leaves are all proven; zero after a (re)start, when the mirror says what is left. */
  let provenEpoch = 0n
  let round: Promise<void> | undefined

  async function proveNewSnapshot(): Promise<void> {
    const epoch = await client.public.readContract({
      address: mirror,
      abi: stakeMirrorAbi,
      functionName: 'currentEpoch',
    })
    if (epoch === 0n || epoch <= provenEpoch) return
    const result = await proveStakeLeaves(client, {
      ethereum,
      middleware: restaking.contracts.middleware,
      mirror,
      fromBlock: restaking.deployBlock,
      send: lane,
    })
    provenEpoch = result.epoch
    if (result.proven.length > 0) {
      const vaults = result.proven.map(({ vault, counted }) => ({ vault, stake: counted.toString() }))
      logger.info({ epoch: Number(result.epoch), vaults }, 'restaked stake proven for the new snapshot')
    } else {
      logger.debug({ epoch: Number(result.epoch) }, 'no unproven stake leaf in the snapshot')
    }
  }

  function poke(): void {
    round ??= proveNewSnapshot()
      .catch((error: unknown) => {
        params.onFailure?.(error)
        // A newer snapshot landing between the read and the proof is a normal race: the next poll proves that one.
        const name = error instanceof StakeProofError ? error.code : decodeCairnError(error)?.name
        logger.warn(
          { err: error, reason: name },
          'proving the restaked stake leaves failed; retrying on the next poll (restaked markets have no lockable stake until then)',
        )
      })
      .finally(() => {
        round = undefined
      })
  }

  return { mirror, poke, settled: async () => round }
}
