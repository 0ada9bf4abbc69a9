import { type Address, bytesToBigInt, type Hex, hashTypedData, type TransactionReceipt, zeroAddress } from 'viem'
import type { CairnClient, CairnReader } from './client.js'
import type { Deployment } from './deployment.js'
import { requestCreationOf } from './events.js'
import { type FastFulfilment, type FastFulfilmentSearch, findFastFulfilment } from './fast-fulfilments.js'
import { iSignedRequestsAbi } from './generated.js'
import { nextNonce } from './nonces.js'
import { getMarket, getRequestStatus } from './readers.js'
import { checkRequestParams } from './request-params.js'
import { cairnTypedData, type SignedMessage, type SignedTypedData } from './typed-data.js'
import type { RequestCreation, RequestParams, RequestStatus } from './types.js'
import { InvalidParameterError } from './validation.js'
import { write } from './write.js'

/*
 * Requests signed off chain (ISignedRequests, served at the marketplace's address). A requester signs an EIP-712
 * SignedRequest: nothing is sent or stored until it is used, by the matcher's signed batch (assignSigned) or by anyone
 * posting it on chain (postSignedRequest, the censorship fallback). Either use spends its nonce and takes the escrow
 * from the requester's marketplace balance (see `deposit`): keep enough deposited. Its request id is known before:
 * signedRequestId.
 */

/** A request as its requester signs it: RequestParams plus the requester and a nonce. */
export type SignedRequest = SignedMessage<'signedRequest'>

/** A signed request with its requester's signature (65-byte ECDSA, or whatever its ERC-1271 wallet accepts). */
export type SignedRequestWithSignature = { request: SignedRequest; signature: Hex; requestId: bigint }

/** Bit 63 of a request id's index marks a signed request (on-chain ids count from 1 in 48 bits). */
const SIGNED_ID_FLAG = 1n << 63n

/** The typed data a requester signs for `request` under this deployment's marketplace domain. */
export function signedRequestTypedData(
  deployment: Pick<Deployment, 'chainId' | 'contracts'>,
  request: SignedRequest,
): SignedTypedData<'signedRequest'> {
  return cairnTypedData(
    'signedRequest',
    { chainId: deployment.chainId, address: deployment.contracts.proofMarketplace },
    request,
  )
}

/**
 * The id `request` gets when used: marketId << 64 | 1 << 63 | the low 63 bits of its EIP-712 digest (so bound to
 * this chain and marketplace). Equal to the marketplace's signedRequestId view.
 */
export function signedRequestId(deployment: Pick<Deployment, 'chainId' | 'contracts'>, request: SignedRequest): bigint {
  const digest = BigInt(hashTypedData(signedRequestTypedData(deployment, request)))
  return (BigInt(request.marketId) << 64n) | SIGNED_ID_FLAG | (digest & (SIGNED_ID_FLAG - 1n))
}

/** A SignedRequest from RequestParams: the client's account requests, with `nonce` (see cancelSignedRequests). */
export function toSignedRequest(requester: Address, nonce: bigint, params: RequestParams): SignedRequest {
  return {
    requester,
    nonce,
    marketId: params.marketId,
    maxReward: params.maxReward,
    provingTime: params.provingTime,
    matchingExpiry: params.matchingExpiry,
    deadline: params.deadline,
    speedPreferenceBps: params.speedPreferenceBps,
    refundAddress: params.refundAddress,
    publicInputs: params.publicInputs,
    privateInputs: params.privateInputs,
  }
}

/**
 * A fresh nonce for a signed request, without a chain read or write: 256 random bits. Two requesters signing from the
 * same account at the same time (two processes, two machines) never pick the same one (a collision is a 2^-128
 * birthday event after 2^64 requests), whereas "the lowest unused bit of the bitmap" would hand both the same nonce,
 * and the second request would fail at use with NonceUsed. The price: nonces scatter over the bitmap, so cancelling
 * by nonce (cancelSignedRequests) costs one word write per nonce instead of one per 256 sequential ones.
 */
export function randomNonce(): bigint {
  return bytesToBigInt(crypto.getRandomValues(new Uint8Array(32)))
}

/**
 * Signs a request with the client's account (an EOA) as its requester; nothing is sent. createRequest's checks run
 * first (checkRequestParams at chain time, and the market exists), so a request that could never be used is refused
 * with InvalidParameterError instead of signed. `nonce` defaults to nextNonce (ts/nonces.ts: this process's random
 * word, counted through: cheaper to spend than randomNonce's, as safe across processes). Hand the result to the
 * matcher's order stream (submitOrder), or post it yourself with postSignedRequest. A contract wallet (ERC-1271)
 * signs the typed data of signedRequestTypedData its own way instead, with `requester` its address.
 */
export async function signRequest(
  client: CairnClient,
  params: RequestParams,
  nonce?: bigint,
): Promise<SignedRequestWithSignature> {
  if (nonce !== undefined && (nonce < 0n || nonce >= 1n << 256n)) {
    throw new InvalidParameterError('nonce', `expected a uint256, got ${nonce}`)
  }
  const now = (await client.public.getBlock({ blockTag: 'latest' })).timestamp
  checkRequestParams(params, now)
  const market = await getMarket(client, BigInt(params.marketId))
  if (market.verifier === zeroAddress) throw new InvalidParameterError('marketId', `no market ${params.marketId}`)
  const requester = client.wallet.account.address
  const chosen = nonce ?? nextNonce(client.deployment.chainId, client.deployment.contracts.proofMarketplace, requester)
  const request = toSignedRequest(requester, chosen, params)
  const signature = await client.wallet.signTypedData({
    account: client.wallet.account,
    ...signedRequestTypedData(client.deployment, request),
  })
  return { request, signature, requestId: signedRequestId(client.deployment, request) }
}

/**
 * Posts a signed request on chain as an Open request; anyone may (the censorship fallback when the matcher does not
 * take it). The escrow comes from the requester's marketplace balance. Returns its id and record as emitted.
 */
export async function postSignedRequest(
  client: CairnClient,
  signed: Pick<SignedRequestWithSignature, 'request' | 'signature'>,
): Promise<RequestCreation & { receipt: TransactionReceipt }> {
  const address = client.deployment.contracts.proofMarketplace
  const receipt = await write(client, {
    address,
    abi: iSignedRequestsAbi,
    functionName: 'postSignedRequest',
    args: [signed.request, signed.signature],
  })
  return { ...requestCreationOf(receipt, address), receipt }
}

/**
 * Invalidates the client's unused signed requests of these nonces (any number, grouped by 256-nonce word: one
 * transaction per word). A request already used is not affected: cancel it like any request once expired.
 */
export async function cancelSignedRequests(
  client: CairnClient,
  nonces: readonly bigint[],
): Promise<{ wordPos: bigint; mask: bigint; receipt: TransactionReceipt }[]> {
  const words = new Map<bigint, bigint>()
  for (const nonce of nonces) words.set(nonce >> 8n, (words.get(nonce >> 8n) ?? 0n) | (1n << (nonce & 255n)))
  const done: { wordPos: bigint; mask: bigint; receipt: TransactionReceipt }[] = []
  for (const [wordPos, mask] of words) {
    const { receipt } = await write(client, {
      address: client.deployment.contracts.proofMarketplace,
      abi: iSignedRequestsAbi,
      functionName: 'invalidateNonces',
      args: [wordPos, mask],
      eventName: 'NoncesInvalidated',
    })
    done.push({ wordPos, mask, receipt })
  }
  return done
}

/** Invalidates one unused signed request of the client's (by its nonce). */
export async function cancelSignedRequest(
  client: CairnClient,
  nonce: bigint,
): Promise<{ wordPos: bigint; mask: bigint; receipt: TransactionReceipt }> {
  const [done] = await cancelSignedRequests(client, [nonce])
  return done as { wordPos: bigint; mask: bigint; receipt: TransactionReceipt }
}

/**
 * Where a signed request stands: `unused` (it may still be used), `nonceSpent` (never usable: its nonce was
 * invalidated, or spent by another request of the requester signed with the same nonce), `used` (posted or
 * assigned: its request id and stored status; follow it like any request from there), or `fulfilled` (proven on the
 * fast lane, fulfilSigned: no request record, its SignedRequestFulfilled log says who proved it, at what price, in
 * which transaction).
 */
export type SignedRequestState =
  | { state: 'unused'; requestId: bigint }
  | { state: 'nonceSpent'; requestId: bigint }
  | { state: 'used'; requestId: bigint; status: RequestStatus }
  | { state: 'fulfilled'; requestId: bigint; fulfilment: FastFulfilment }

/**
 * `search` bounds the look-up of a fast-lane fulfilment, made only for a spent nonce without a request record: give
 * the block the request was signed at (or acknowledged) as `fromBlock`; the default is the deployment block.
 */
export async function signedRequestState(
  reader: CairnReader,
  request: SignedRequest,
  search: FastFulfilmentSearch = {},
): Promise<SignedRequestState> {
  const requestId = signedRequestId(reader.deployment, request)
  // The nonce word first, the status after: a use sets both in one transaction, so a use landing between the two
  // reads shows as `used` (status read after it), never as a spent nonce without a use.
  const word = await reader.public.readContract({
    address: reader.deployment.contracts.proofMarketplace,
    abi: iSignedRequestsAbi,
    functionName: 'nonceBitmap',
    args: [request.requester, request.nonce >> 8n],
  })
  const status = await getRequestStatus(reader, requestId)
  if (status !== 'None') return { state: 'used', requestId, status }
  if (((word >> (request.nonce & 255n)) & 1n) === 0n) return { state: 'unused', requestId }
  // Spent without a record: cancelled, or used on the fast lane, which leaves only its log (read after the nonce, so
  // a fulfilment that spent it is in the blocks searched).
  const fulfilment = await findFastFulfilment(reader, requestId, search)
  return fulfilment === undefined ? { state: 'nonceSpent', requestId } : { state: 'fulfilled', requestId, fulfilment }
}
