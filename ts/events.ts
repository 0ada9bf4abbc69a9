import type { Abi, Address, ContractEventName, ParseEventLogsReturnType, TransactionReceipt } from 'viem'
import { isAddressEqual, parseEventLogs } from 'viem'
import { proofMarketplaceAbi } from './generated.js'
import type { RequestCreation, TaskAssignment } from './types.js'

/** The `eventName` logs that `address` emitted in `receipt` (a token or stake source may emit same-named events). */
export function eventsOf<const abi extends Abi, eventName extends ContractEventName<abi>>(
  receipt: TransactionReceipt,
  address: Address,
  abi: abi,
  eventName: eventName,
): ParseEventLogsReturnType<abi, eventName, true> {
  const logs = receipt.logs.filter((log) => isAddressEqual(log.address, address))
  return parseEventLogs({ abi, logs, eventName, strict: true })
}

/** The single `eventName` log of a receipt; its absence means the SDK and the contracts disagree. */
export function eventOf<const abi extends Abi, eventName extends ContractEventName<abi>>(
  receipt: TransactionReceipt,
  address: Address,
  abi: abi,
  eventName: eventName,
): ParseEventLogsReturnType<abi, eventName, true>[number] {
  const [event] = eventsOf(receipt, address, abi, eventName)
  if (!event) throw new Error(`no ${String(eventName)} event from ${address} in ${receipt.transactionHash}`)
  return event
}

/** The request a createRequest receipt posted, as its RequestCreated event gives it. */
export function requestCreationOf(receipt: TransactionReceipt, marketplace: Address): RequestCreation {
  return eventOf(receipt, marketplace, proofMarketplaceAbi, 'RequestCreated').args
}

/** The tasks an assign or claim receipt created, as their TaskAssigned events give them, in log order. */
export function taskAssignmentsOf(receipt: TransactionReceipt, marketplace: Address): TaskAssignment[] {
  return eventsOf(receipt, marketplace, proofMarketplaceAbi, 'TaskAssigned').map(({ args }) => args)
}
