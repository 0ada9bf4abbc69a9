import { type Address, decodeFunctionData, type Hash, type Hex, isAddressEqual, parseEventLogs } from 'viem'
import { blockRanges } from './block-ranges.js'
import type { CairnReader } from './client.js'
import { iSignedFulfilmentsAbi, proofMarketplaceAbi } from './generated.js'
import { type SignedRequest, signedRequestId } from './signed-requests.js'

/*
 * Reading a fast-lane fulfilment back (ISignedFulfilments): it leaves no request record, only the spent nonce and its
 * SignedRequestFulfilled log, indexed by request id. Found by that id over bounded block ranges (never from genesis:
 * from the caller's starting block, else the deployment's), and its proof read from the calldata of the transaction
 * that carried it (fulfilSigned or fulfilSignedBatch).
 */

/** Most blocks per eth_getLogs call when looking a fast fulfilment up. */
export const FAST_FULFILMENT_LOG_RANGE = 5_000

/** A SignedRequestFulfilled log: who proved the signed request, at what price, in which transaction. */
export type FastFulfilment = {
  requestId: bigint
  requester: Address
  prover: Address
  nonce: bigint
  price: bigint
  transactionHash: Hash
  blockNumber: bigint
  logIndex: number
}

export type FastFulfilmentSearch = {
  /** First block searched (default: the deployment block): the block the request was signed at is enough. */
  fromBlock?: bigint
  /** Last block searched (default: the latest). */
  toBlock?: bigint
  /** Most blocks per eth_getLogs call (default FAST_FULFILMENT_LOG_RANGE). */
  logRange?: number
}

/** The fast-lane fulfilment of `requestId`, searched backwards from `toBlock`; undefined when there is none. */
export async function findFastFulfilment(
  reader: CairnReader,
  requestId: bigint,
  search: FastFulfilmentSearch = {},
): Promise<FastFulfilment | undefined> {
  const fromBlock = search.fromBlock ?? reader.deployment.deployBlock
  const toBlock = search.toBlock ?? (await reader.public.getBlockNumber({ cacheTime: 0 }))
  // Newest first: a fulfilment the caller asks about is most likely recent.
  for (const range of blockRanges(fromBlock, toBlock, search.logRange ?? FAST_FULFILMENT_LOG_RANGE).reverse()) {
    const [log] = await reader.public.getContractEvents({
      address: reader.deployment.contracts.proofMarketplace,
      abi: iSignedFulfilmentsAbi,
      eventName: 'SignedRequestFulfilled',
      args: { requestId },
      ...range,
      strict: true,
    })
    if (log)
      return { ...log.args, transactionHash: log.transactionHash, blockNumber: log.blockNumber, logIndex: log.logIndex }
  }
  return undefined
}

/** The proof a fast fulfilment carried, as its transaction sent it. */
export type FastProofData = {
  request: SignedRequest
  /** The public inputs the proof is for: the request's inline inputs, or the bytes behind its URI as sent. */
  publicInputs: Hex
  proof: Hex
  /** The fast assignment's validUntil. */
  validUntil: bigint
}

/**
 * The proof of `fulfilment`'s request in its transaction's calldata (fulfilSigned, or the item of fulfilSignedBatch
 * that settled it); undefined when the transaction is not a direct call of either (e.g. through another contract).
 */
export async function fastProofOf(reader: CairnReader, fulfilment: FastFulfilment): Promise<FastProofData | undefined> {
  const marketplace = reader.deployment.contracts.proofMarketplace
  const transaction = await reader.public.getTransaction({ hash: fulfilment.transactionHash })
  if (!transaction.to || !isAddressEqual(transaction.to, marketplace)) return undefined
  let items: readonly FastItem[]
  try {
    const call = decodeFunctionData({ abi: iSignedFulfilmentsAbi, data: transaction.input })
    if (call.functionName === 'fulfilSigned') items = [call.args[0]]
    else if (call.functionName === 'fulfilSignedBatch') items = call.args[0]
    else return undefined
  } catch {
    return undefined
  }
  const same = items.filter((item) => signedRequestId(reader.deployment, item.request) === fulfilment.requestId)
  const item = same.length <= 1 ? same[0] : same[await settledIndex(reader, fulfilment)]
  if (item === undefined || !isAddressEqual(item.prover, fulfilment.prover)) return undefined
  return {
    request: item.request,
    publicInputs: item.publicInputs === '0x' ? item.request.publicInputs.data : item.publicInputs,
    proof: item.proof,
    validUntil: item.validUntil,
  }
}

type FastItem = {
  request: SignedRequest
  prover: Address
  validUntil: bigint
  publicInputs: Hex
  proof: Hex
}

/**
 * Which of a batch's items for one request settled it (a batch may carry a request twice: the other is skipped).
 * Every item ends in exactly one log, in item order: FulfilmentSkipped or SignedRequestFulfilled; so the settled
 * item's position among the request's items is its log's position among the request's logs.
 */
async function settledIndex(reader: CairnReader, fulfilment: FastFulfilment): Promise<number> {
  const receipt = await reader.public.getTransactionReceipt({ hash: fulfilment.transactionHash })
  const marketplace = reader.deployment.contracts.proofMarketplace
  const logs = receipt.logs.filter((log) => isAddressEqual(log.address, marketplace))
  const outcomes = [
    ...parseEventLogs({ abi: proofMarketplaceAbi, logs, eventName: 'FulfilmentSkipped', strict: true }),
    ...parseEventLogs({ abi: iSignedFulfilmentsAbi, logs, eventName: 'SignedRequestFulfilled', strict: true }),
  ]
    .filter((log) => log.args.requestId === fulfilment.requestId)
    .sort((a, b) => a.logIndex - b.logIndex)
  return outcomes.findIndex((log) => log.logIndex === fulfilment.logIndex)
}
