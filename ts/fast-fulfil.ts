import type { Address, ContractFunctionArgs, Hex, TransactionReceipt } from 'viem'
import { type CairnClient, resent, simulated } from './client.js'
import { type CairnContractError, decodeSkipReason } from './errors.js'
import { eventOf, eventsOf } from './events.js'
import { type FastAssignmentOffer, type OpenOffer, openFulfilment, signedFulfilment } from './fast-assignments.js'
import { iSignedFulfilmentsAbi, proofMarketplaceAbi } from './generated.js'
import type { SendOptions } from './sending.js'

/*
 * The prover's side of the fast lane (ISignedFulfilments, served at the marketplace's address): a fast assignment
 * the matcher signed (fast-assignments.ts) is used and settled with its proof in one transaction, by the assigned
 * prover only. Simulated first, so a failing check is thrown decoded (NotAssignedProver, FastAssignmentExpired,
 * NonceUsed, InsufficientDeposit, InvalidProof, ...) before anything is sent; sent like fulfil (`resent`: the same
 * nonce again if the node drops it), followed at most until the assignment expires.
 */

/** fulfilSigned's argument, as the generated bindings type it. */
export type SignedFulfilmentArgs = ContractFunctionArgs<typeof iSignedFulfilmentsAbi, 'nonpayable', 'fulfilSigned'>[0]

/** One proof for the fast lane: the offer, the proof, and the bytes behind the request's input URI (if it has one). */
export type FastProof = {
  offer: FastAssignmentOffer
  proof: Hex
  /** The bytes behind the request's input URI; omitted for inline inputs (the contract reads them from the request). */
  publicInputs?: Hex
}

/** What SignedRequestFulfilled records. */
export type FastFulfilled = { requestId: bigint; requester: Address; prover: Address; nonce: bigint; price: bigint }

export type FastFulfilmentOutcome = {
  fulfilled: FastFulfilled[]
  /** Items the contract skipped, with the error fulfilSigned would have reverted with. */
  skipped: { requestId: bigint; reason: CairnContractError }[]
  receipt: TransactionReceipt
}

/** The last chain second the offer can be used: the earlier of its validUntil and the request's deadline. */
export function fastAssignmentExpiry(offer: Pick<FastAssignmentOffer, 'validUntil' | 'request'>): bigint {
  const deadline = BigInt(offer.request.deadline)
  return offer.validUntil < deadline ? offer.validUntil : deadline
}

/**
 * Uses a fast assignment to the client's account with its proof (fulfilSigned): the request's nonce is spent and
 * the assigned price paid from the requester's deposit to the prover's reward address. `publicInputs`: the bytes
 * behind the request's input URI, omitted when it carries them inline. Unless `options.deadline` says otherwise, the
 * transaction is followed until the assignment expires.
 */
export async function fulfilSigned(
  client: CairnClient,
  offer: FastAssignmentOffer,
  proof: Hex,
  publicInputs?: Hex,
  options: SendOptions = {},
): Promise<FastFulfilled & { receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const args = [signedFulfilment(offer, proof, publicInputs)] as const
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: iSignedFulfilmentsAbi,
      functionName: 'fulfilSigned',
      args,
    }),
  )
  const receipt = await resent(
    client,
    (slot) =>
      client.wallet.writeContract({ address, abi: iSignedFulfilmentsAbi, functionName: 'fulfilSigned', args, ...slot }),
    { deadline: fastAssignmentExpiry(offer), ...options },
  )
  const { args: fulfilled } = eventOf(receipt, address, iSignedFulfilmentsAbi, 'SignedRequestFulfilled')
  return { ...fulfilled, receipt }
}

/**
 * Several fast proofs of the client's account in one transaction (fulfilSignedBatch): an item failing any check is
 * skipped on chain and reported decoded; the call reverts (thrown decoded) only for an empty batch or a gas
 * shortfall. Followed until the earliest of the items' expiries unless `options.deadline` says otherwise.
 */
export async function fulfilSignedBatch(
  client: CairnClient,
  items: readonly FastProof[],
  options: SendOptions = {},
): Promise<FastFulfilmentOutcome> {
  const address = client.deployment.contracts.proofMarketplace
  const args = [items.map((item) => signedFulfilment(item.offer, item.proof, item.publicInputs))] as const
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: iSignedFulfilmentsAbi,
      functionName: 'fulfilSignedBatch',
      args,
    }),
  )
  // Chain seconds: well inside a double.
  const deadline = BigInt(Math.min(...items.map((item) => Number(fastAssignmentExpiry(item.offer)))))
  const receipt = await resent(
    client,
    (slot) =>
      client.wallet.writeContract({
        address,
        abi: iSignedFulfilmentsAbi,
        functionName: 'fulfilSignedBatch',
        args,
        ...slot,
      }),
    { deadline, ...options },
  )
  return {
    fulfilled: eventsOf(receipt, address, iSignedFulfilmentsAbi, 'SignedRequestFulfilled').map(({ args }) => args),
    skipped: eventsOf(receipt, address, proofMarketplaceAbi, 'FulfilmentSkipped').map(({ args }) => ({
      requestId: args.requestId,
      reason: decodeSkipReason(args.reason),
    })),
    receipt,
  }
}

/** The last chain second an open offer can be used: the earlier of its validUntil and the request's matching expiry. */
export function openOfferExpiry(offer: Pick<OpenOffer, 'validUntil' | 'record'>): bigint {
  const expiry = BigInt(offer.record.matchingExpiry)
  return offer.validUntil < expiry ? offer.validUntil : expiry
}

/** What RequestFulfilled records. */
export type OpenFulfilled = { requestId: bigint; prover: Address; price: bigint; refund: bigint }

/**
 * Settles an on-chain request still Open with the matcher's fast assignment and its proof (fulfilOpen), without an
 * assign transaction: the price is paid from the request's escrow, the rest refunded. `publicInputs`: the request's
 * public input bytes (inline or behind its URI; the contract checks them against the record's inputs digest).
 * Simulated first, so a failing check is thrown decoded (RequestNotOpen once the request was assigned or claimed,
 * RecordMismatch, FastAssignmentExpired, WrongInputs, NotMatcher, InvalidProof, ...); followed until the offer
 * expires unless `options.deadline` says otherwise.
 */
export async function fulfilOpen(
  client: CairnClient,
  offer: OpenOffer,
  publicInputs: Hex,
  proof: Hex,
  options: SendOptions = {},
): Promise<OpenFulfilled & { receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const args = [openFulfilment(offer, publicInputs, proof)] as const
  await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: iSignedFulfilmentsAbi,
      functionName: 'fulfilOpen',
      args,
    }),
  )
  const receipt = await resent(
    client,
    (slot) =>
      client.wallet.writeContract({ address, abi: iSignedFulfilmentsAbi, functionName: 'fulfilOpen', args, ...slot }),
    { deadline: openOfferExpiry(offer), ...options },
  )
  const { args: fulfilled } = eventOf(receipt, address, proofMarketplaceAbi, 'RequestFulfilled')
  return { ...fulfilled, receipt }
}
