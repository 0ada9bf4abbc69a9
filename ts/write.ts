import type {
  Abi,
  ContractEventName,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionParameters,
  GetValue,
  ParseEventLogsReturnType,
  SimulateContractParameters,
  TransactionReceipt,
} from 'viem'
import { type ChainClient, sent, simulated } from './client.js'
import { eventOf } from './events.js'
import type { SendOptions } from './sending.js'

/** The functions a write may call. */
export type WriteMutability = 'nonpayable' | 'payable'

/**
 * One contract write, as viem's writeContract takes it less what the client brings (account, chain); `gas` overrides
 * the node's estimate.
 */
export type WriteParameters<
  abi extends Abi = Abi,
  functionName extends ContractFunctionName<abi, WriteMutability> = ContractFunctionName<abi, WriteMutability>,
  args extends ContractFunctionArgs<abi, WriteMutability, functionName> = ContractFunctionArgs<
    abi,
    WriteMutability,
    functionName
  >,
> = ContractFunctionParameters<abi, WriteMutability, functionName, args> &
  GetValue<abi, functionName> & { gas?: bigint }

/** The decoded log of `eventName`, args typed from the abi. */
export type WrittenEvent<abi extends Abi, eventName extends ContractEventName<abi>> = ParseEventLogsReturnType<
  abi,
  eventName,
  true
>[number]

/**
 * Simulates a write as the client's account, sends it and follows it to its receipt. A revert in the simulation is
 * thrown decoded (CairnContractError) before anything is sent; after sending, see `sent` (SendOptions: deadline,
 * onSent, timeoutMs, ...; TransactionRevertedError for a reverted receipt, TransactionDroppedError). With an
 * `eventName`, also returns that event of the receipt, emitted by `address` (its absence throws: the SDK and the
 * contract disagree).
 */
export function write<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, WriteMutability>,
  args extends ContractFunctionArgs<abi, WriteMutability, functionName>,
  eventName extends ContractEventName<abi>,
>(
  client: ChainClient,
  parameters: WriteParameters<abi, functionName, args> & { eventName: eventName },
  options?: SendOptions,
): Promise<{ receipt: TransactionReceipt; event: WrittenEvent<abi, eventName> }>
export function write<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, WriteMutability>,
  args extends ContractFunctionArgs<abi, WriteMutability, functionName>,
>(
  client: ChainClient,
  parameters: WriteParameters<abi, functionName, args>,
  options?: SendOptions,
): Promise<TransactionReceipt>
export async function write(
  client: ChainClient,
  parameters: WriteParameters & { eventName?: string },
  options: SendOptions = {},
): Promise<TransactionReceipt | { receipt: TransactionReceipt; event: unknown }> {
  const { eventName, ...call } = parameters
  // The call is checked against its abi at the signature; viem's simulate cannot narrow a generic function name.
  const { request } = await simulated(() =>
    client.public.simulateContract({ account: client.wallet.account, ...(call as SimulateContractParameters) }),
  )
  const receipt = await sent(client, () => client.wallet.writeContract(request), options)
  if (eventName === undefined) return receipt
  return { receipt, event: eventOf(receipt, call.address, call.abi, eventName) }
}
