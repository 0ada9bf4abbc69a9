/**
 * Raw logs to the events the explorer applies, by the contract that emitted them: the marketplace (with the events its
 * modules emit at its address), the prover registry, native staking and, when known, the TEE registry. Logs from any
 * other address are ignored; the result is in chain order.
 */
import { type Address, isAddressEqual, type Log, parseEventLogs } from 'viem'
import {
  iPrivateClaimsAbi,
  iSignedFulfilmentsAbi,
  iSignedRequestsAbi,
  nativeStakingAbi,
  proofMarketplaceAbi,
  proverRegistryAbi,
  stakeMirrorAbi,
  teeRegistryAbi,
} from '../../ts/generated.js'

export type WatchedContracts = {
  marketplace: Address
  registry: Address
  nativeStaking: Address
  teeRegistry: Address | undefined
  /** The StakeMirror of a restaking deployment, if any. */
  stakeMirror?: Address | undefined
}

export type MarketplaceLog = ReturnType<typeof parseEventLogs<typeof proofMarketplaceAbi>>[number]
export type ModuleLog =
  | ReturnType<typeof parseEventLogs<typeof iSignedRequestsAbi, true, 'SignedRequestUsed'>>[number]
  | ReturnType<typeof parseEventLogs<typeof iSignedFulfilmentsAbi, true, 'SignedRequestFulfilled'>>[number]
  | ReturnType<typeof parseEventLogs<typeof iPrivateClaimsAbi>>[number]
export type RegistryLog = ReturnType<typeof parseEventLogs<typeof proverRegistryAbi>>[number]
export type StakingLog = ReturnType<typeof parseEventLogs<typeof nativeStakingAbi>>[number]
export type TeeLog = ReturnType<typeof parseEventLogs<typeof teeRegistryAbi>>[number]
export type MirrorLog = ReturnType<typeof parseEventLogs<typeof stakeMirrorAbi>>[number]

export type ExplorerEvent =
  | { source: 'marketplace'; log: MarketplaceLog }
  | { source: 'module'; log: ModuleLog }
  | { source: 'registry'; log: RegistryLog }
  | { source: 'staking'; log: StakingLog }
  | { source: 'tee'; log: TeeLog }
  | { source: 'mirror'; log: MirrorLog }

export function watchedAddresses(contracts: WatchedContracts): Address[] {
  const { marketplace, registry, nativeStaking, teeRegistry, stakeMirror } = contracts
  return [marketplace, registry, nativeStaking, teeRegistry, stakeMirror].filter((address) => address !== undefined)
}

export function decodeLogs(logs: readonly Log[], contracts: WatchedContracts): ExplorerEvent[] {
  const of = (address: Address | undefined) =>
    address === undefined ? [] : logs.filter((log) => isAddressEqual(log.address, address))
  const marketplaceLogs = of(contracts.marketplace)
  const events: ExplorerEvent[] = [
    ...parseEventLogs({ abi: proofMarketplaceAbi, logs: marketplaceLogs }).map(
      (log) => ({ source: 'marketplace', log }) as const,
    ),
    ...parseEventLogs({ abi: iSignedRequestsAbi, eventName: 'SignedRequestUsed', logs: marketplaceLogs }).map(
      (log) => ({ source: 'module', log }) as const,
    ),
    ...parseEventLogs({ abi: iSignedFulfilmentsAbi, eventName: 'SignedRequestFulfilled', logs: marketplaceLogs }).map(
      (log) => ({ source: 'module', log }) as const,
    ),
    ...parseEventLogs({ abi: iPrivateClaimsAbi, logs: marketplaceLogs }).map(
      (log) => ({ source: 'module', log }) as const,
    ),
    ...parseEventLogs({ abi: proverRegistryAbi, logs: of(contracts.registry) }).map(
      (log) => ({ source: 'registry', log }) as const,
    ),
    ...parseEventLogs({ abi: nativeStakingAbi, logs: of(contracts.nativeStaking) }).map(
      (log) => ({ source: 'staking', log }) as const,
    ),
    ...parseEventLogs({ abi: teeRegistryAbi, logs: of(contracts.teeRegistry) }).map(
      (log) => ({ source: 'tee', log }) as const,
    ),
    ...parseEventLogs({ abi: stakeMirrorAbi, logs: of(contracts.stakeMirror) }).map(
      (log) => ({ source: 'mirror', log }) as const,
    ),
  ]
  return events.sort(
    (a, b) =>
      compare(a.log.blockNumber ?? 0n, b.log.blockNumber ?? 0n) || (a.log.logIndex ?? 0) - (b.log.logIndex ?? 0),
  )
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}
