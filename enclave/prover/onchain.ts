/**
 * The runner's own chain calls, each simulated first (a revert is thrown decoded, nothing sent) and then sent as the
 * operator account: registration, capacity, listings, stake, enclave keys, and the invalid-input attestation.
 */
import type { Logger } from 'pino'
import { type Address, zeroAddress } from 'viem'
import type { CairnClient, CairnReader } from '../../ts/client.js'
import type { EnclaveAttestation } from '../../ts/enclave-config.js'
import { iSignedRequestsAbi, proofMarketplaceAbi, proverRegistryAbi } from '../../ts/generated.js'
import {
  cancelLeave,
  stake as depositStake,
  list,
  register,
  requestLeave,
  setCapacity,
  updateListing,
} from '../../ts/prover.js'
import { getListing, getProver, getStake } from '../../ts/readers.js'
import type { SignedRequest } from '../../ts/signed-requests.js'
import { registerEnclaveKey, type TeeClient } from '../../ts/tee.js'
import { balanceOf } from '../../ts/tokens.js'
import { enumName, type ListingState, listingStates, type RequestStatus, requestStatuses } from '../../ts/types.js'
import type { MarketConfig } from './config.js'
import type { EnclaveKey } from './keys.js'

/** Registers the operator as a prover machine, or sets its capacity to the configured one (announcing the start). */
export async function ensureRegistered(
  client: CairnClient,
  params: { capacity: number; rewardAddress?: Address },
  log: Logger,
): Promise<void> {
  const prover = await getProver(client, client.wallet.account.address)
  if (!prover.registered) {
    await register(client, {
      capacity: params.capacity,
      ...(params.rewardAddress ? { rewardAddress: params.rewardAddress } : {}),
    })
    log.info({ capacity: params.capacity }, 'registered in the prover registry')
    return
  }
  // Sent even at an unchanged capacity: CapacityUpdated is the runner's announcement that it is up. A matcher that
  // saw this prover leave tasks unanswered (a crash) assigns to it again only on such a sign of life
  // (enclave/matcher/liveness.ts); one transaction per start is what it costs.
  await setCapacity(client, { capacity: params.capacity })
  if (prover.capacity !== params.capacity) log.info({ from: prover.capacity, to: params.capacity }, 'capacity updated')
  else log.info({ capacity: params.capacity }, 'announced on chain (capacity re-set): matchers may assign again')
}

/**
 * Deposits whatever the operator's NativeStaking stake lacks of `amount`, from its stake-token balance: all of it,
 * or as much as it holds (a warning says what is missing; a short stake is no reason not to serve the tasks it has).
 */
export async function ensureStake(client: CairnClient, amount: bigint, log: Logger): Promise<void> {
  const me = client.wallet.account.address
  const { staked } = await getStake(client, me)
  if (staked >= amount) return
  const missing = amount - staked
  const held = await balanceOf(client, client.deployment.contracts.stakeToken, me)
  let deposit = missing
  if (held < missing) {
    // bigints: Math.min does not take them.
    deposit = held
    log.warn(
      { staked: staked.toString(), wanted: amount.toString(), held: held.toString() },
      'not enough stake tokens to top the stake up fully',
    )
  }
  if (deposit === 0n) return
  await depositStake(client, { amount: deposit })
  log.info({ deposited: deposit.toString(), staked: (staked + deposit).toString() }, 'stake topped up')
}

/**
 * Lists the operator in a market at the configured offer, or updates a listing that differs. A leaving listing is
 * brought back (cancelLeave) unless `leaving` is asked for, in which case an active one is put on leave.
 */
export async function ensureListing(
  client: CairnClient,
  market: MarketConfig,
  params: { leaving: boolean },
  log: Logger,
): Promise<ListingState> {
  const me = client.wallet.account.address
  const { marketId, price, provingTime, computePerRequest } = market
  const listing = await getListing(client, me, marketId)
  let state = enumName(listingStates, listing.state, 'ListingState')
  const mlog = log.child({ marketId: marketId.toString() })
  if (state === 'None') {
    await list(client, { marketId, price, provingTime, computePerRequest })
    mlog.info({ price: price.toString(), provingTime }, 'listed')
    state = 'Active'
  } else if (
    listing.price !== price ||
    listing.provingTime !== provingTime ||
    listing.computePerRequest !== computePerRequest
  ) {
    await updateListing(client, { marketId, price, provingTime, computePerRequest })
    mlog.info({ price: price.toString(), provingTime, computePerRequest }, 'listing updated')
  }
  if (params.leaving && state === 'Active') {
    await requestLeave(client, { marketId })
    mlog.warn('listing put on leave: no new assignments')
    return 'Leaving'
  }
  if (!params.leaving && state === 'Leaving') {
    await cancelLeave(client, { marketId })
    mlog.info('leave cancelled: assignments resume')
    return 'Active'
  }
  return state
}

/** Attests and registers an enclave key for a market, bound to the operator; returns its chain times. */
export async function registerKey(
  client: TeeClient,
  key: EnclaveKey,
  enclave: EnclaveAttestation,
): Promise<{ registeredAt: number; expiresAt: number }> {
  const registered = await registerEnclaveKey(client, {
    enclave,
    marketId: key.marketId,
    signer: key.signer,
    eciesPublicKey: key.eciesPublicKey,
  })
  const block = await client.public.getBlock({ blockNumber: registered.receipt.blockNumber })
  return { registeredAt: Number(block.timestamp), expiresAt: Number(registered.expiresAt) }
}

/** The request's stored status (the SDK's getRequestStatus, at a fixed block when given). */
export async function requestStatusOf(
  reader: CairnReader,
  requestId: bigint,
  blockNumber?: bigint,
): Promise<RequestStatus> {
  const status = await reader.public.readContract({
    address: reader.deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    functionName: 'requestStatus',
    args: [requestId],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  })
  return enumName(requestStatuses, status, 'RequestStatus')
}

/** Whether the prover may take a task in the market now: listed and active, with room in its capacity. */
export function isAvailable(reader: CairnReader, prover: Address, marketId: bigint): Promise<boolean> {
  return reader.public.readContract({
    address: reader.deployment.contracts.proverRegistry,
    abi: proverRegistryAbi,
    functionName: 'isAvailable',
    args: [prover, marketId],
  })
}

/** Whether the requester's nonce of a signed request is spent (used on any path, or invalidated). */
export async function signedNonceSpent(reader: CairnReader, request: SignedRequest): Promise<boolean> {
  const word = await reader.public.readContract({
    address: reader.deployment.contracts.proofMarketplace,
    abi: iSignedRequestsAbi,
    functionName: 'nonceBitmap',
    args: [request.requester, request.nonce >> 8n],
  })
  return ((word >> (request.nonce & 255n)) & 1n) === 1n
}

/** Whether the marketplace has a prover-key registry (rejectInputs reverts EnclaveKeysNotSet without one). */
export async function enclaveKeysSet(reader: CairnReader): Promise<boolean> {
  const keys = await reader.public.readContract({
    address: reader.deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    functionName: 'enclaveKeys',
  })
  return keys !== zeroAddress
}
