import type { Account, Address, Chain, Hex, PublicClient, Transport } from 'viem'
import { parseEventLogs } from 'viem'
import { cairnNetworkMiddlewareAbi } from '../../ts/generated.js'

/*
 * Gas for the calls that hand slashes to Symbiotic (SlashInbox.deliver, CairnNetworkMiddleware.finalizeSlash). The
 * middleware catches a vault's refusal and records the order as Failed for good. A gas limit that starves a call deep
 * inside the vault looks the same to it: Symbiotic's token transfer runs out of gas inside OpenZeppelin's Address,
 * which reverts with FailedInnerCall() (data, so not the empty revert the middleware treats as out of gas). And a gas
 * estimate finds the least gas with which the *transaction* succeeds, which can be exactly such a limit. So a limit is
 * only used once a simulation with it records what a simulation with ample gas records (eth_simulateV1, by the
 * middleware's events); otherwise it doubles. A node without eth_simulateV1 gets the ample limit itself.
 */

/** What the middleware records for each order in a simulated call: `SlashExecuted:0x…`, `SlashFailed:0x…`, … */
export type Recorded = string[]

const RECORDING_EVENTS = new Set(['SlashExecuted', 'SlashRequested', 'SlashVetoed', 'SlashFailed'])
const DOUBLINGS = 4

/** The middleware's records in `logs`, sorted: two runs of a call agree when these are equal. */
export function recordedBy(logs: readonly { address: Address; topics: readonly Hex[]; data: Hex }[]): Recorded {
  return parseEventLogs({
    abi: cairnNetworkMiddlewareAbi,
    logs: logs.map((log) => ({ ...log, topics: [...log.topics] })) as never,
  })
    .filter((event) => RECORDING_EVENTS.has(event.eventName))
    .map((event) => `${event.eventName}:${(event.args as { orderId: Hex }).orderId}`)
    .sort()
}

/**
 * The gas limit to send `call` with: the estimate plus a quarter, doubled until the middleware records the same as
 * with ample gas (half the latest block's gas limit), and never more than that.
 */
export async function gasForFullOutcome(
  client: PublicClient<Transport, Chain>,
  call: { account: Account; to: Address; data: Hex },
): Promise<{ gas: bigint; ample: bigint; checked: boolean }> {
  const block = await client.getBlock({ blockTag: 'latest' })
  const ample = block.gasLimit / 2n
  const estimate = await client.estimateGas({ account: call.account, to: call.to, data: call.data })
  let gas = estimate + estimate / 4n
  if (gas >= ample) return { gas: ample, ample, checked: false }
  const simulate = async (limit: bigint) => {
    const [result] = await client.simulateBlocks({
      blockNumber: block.number,
      blocks: [{ calls: [{ account: call.account, to: call.to, data: call.data, gas: limit }] }],
    })
    const outcome = result?.calls[0]
    if (outcome === undefined || outcome.status !== 'success') return undefined
    return recordedBy(outcome.logs ?? []).join(',')
  }
  let target: string | undefined
  try {
    target = await simulate(ample)
  } catch {
    // No eth_simulateV1 here: send with ample gas (only the gas used is paid).
    return { gas: ample, ample, checked: false }
  }
  if (target === undefined) return { gas, ample, checked: false }
  for (let i = 0; i < DOUBLINGS && gas < ample; i++) {
    if ((await simulate(gas)) === target) return { gas, ample, checked: true }
    gas *= 2n
  }
  return { gas: ample, ample, checked: true }
}
