import type { OrderChainView } from './order-checks.js'
import type { OrderEntry } from './order-store.js'

/**
 * Which of `entries` (one requester's pending orders) the chain shows with their nonce spent: used (assignSigned,
 * postSignedRequest, the fast lane) or cancelled, in blocks this matcher's follow loop may not have reached yet. Their
 * payment is already out of the requester's balance, so the deposit rule must not count them again: a requester that
 * tops up after a refusal would otherwise be refused twice for one order. One read per nonce word.
 */
export async function spentOrders(
  chain: Pick<OrderChainView, 'nonceWord'>,
  entries: OrderEntry[],
): Promise<Set<bigint>> {
  const words = new Map<string, bigint>()
  const spent = new Set<bigint>()
  for (const entry of entries) {
    const { requester, nonce } = entry.order.request
    const key = `${requester.toLowerCase()}:${nonce >> 8n}`
    const word = words.get(key) ?? (await chain.nonceWord(requester, nonce >> 8n))
    words.set(key, word)
    if ((word >> (nonce & 255n)) & 1n) spent.add(entry.requestId)
  }
  return spent
}
