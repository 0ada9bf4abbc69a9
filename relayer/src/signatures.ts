import type { Logger } from 'pino'
import { type Address, getAddress, type Hex, isAddressEqual, isHex, recoverAddress } from 'viem'

export type SignatureKind = 'snapshot' | 'slashBatch' | 'slashOutcomes'
export type SignedDigest = { kind: SignatureKind; digest: Hex; signer: Address; signature: Hex }

/**
 * The signatures this relayer made, served to its peers at GET /signatures/:digest. Relayers have no channel to one
 * another besides HTTP: each collects the others' signatures for the digest it computed itself, so a peer that read
 * different chain state simply has nothing to offer for that digest.
 */
export function createSignatureStore() {
  const byDigest = new Map<string, SignedDigest & { firstSeen: number }>()
  return {
    put(signed: SignedDigest): SignedDigest & { firstSeen: number } {
      const key = signed.digest.toLowerCase()
      const existing = byDigest.get(key)
      if (existing) return existing
      const entry = { ...signed, firstSeen: Date.now() }
      byDigest.set(key, entry)
      return entry
    },
    get(digest: string): SignedDigest | undefined {
      const entry = byDigest.get(digest.toLowerCase())
      if (!entry) return undefined
      const { firstSeen: _, ...signed } = entry
      return signed
    },
    /** Keeps the store bounded: digests of rounds already settled on chain are never asked for again. */
    prune(keep: (signed: SignedDigest) => boolean): void {
      for (const [key, entry] of byDigest) if (!keep(entry)) byDigest.delete(key)
    },
  }
}

export type SignatureStore = ReturnType<typeof createSignatureStore>

/** Peers' signatures of `digest` that recover to the signer they claim; unreachable peers are skipped. */
export async function fetchPeerSignatures(
  peers: readonly string[],
  digest: Hex,
  logger: Logger,
  timeoutMs = 2_000,
): Promise<SignedDigest[]> {
  const answers = await Promise.all(
    peers.map(async (peer): Promise<SignedDigest | undefined> => {
      try {
        const response = await fetch(new URL(`/signatures/${digest}`, peer), { signal: AbortSignal.timeout(timeoutMs) })
        if (response.status === 404) return undefined
        if (!response.ok) throw new Error(`HTTP ${response.status}`)
        const body = (await response.json()) as Partial<SignedDigest>
        if (typeof body.signature !== 'string' || !isHex(body.signature) || typeof body.signer !== 'string') {
          throw new Error('malformed answer')
        }
        const recovered = await recoverAddress({ hash: digest, signature: body.signature })
        if (!isAddressEqual(recovered, body.signer as Address)) throw new Error(`signature is not ${body.signer}'s`)
        return { kind: body.kind ?? 'snapshot', digest, signer: getAddress(body.signer), signature: body.signature }
      } catch (error) {
        logger.debug({ peer, digest, err: (error as Error).message }, 'no signature from peer')
        return undefined
      }
    }),
  )
  return answers.filter((answer) => answer !== undefined)
}

/**
 * Whether this relayer submits now: the first signer of the quorum (the key of the lowest operator) goes first;
 * everyone else waits `delayMs` after first signing, so a crashed or slow first signer delays the round instead of
 * stalling it.
 */
export function mySubmitTurn(params: { me: Address; signers: readonly Address[]; firstSeen: number; delayMs: number }) {
  const lowest = params.signers[0]
  if (lowest !== undefined && isAddressEqual(lowest, params.me)) return true
  return Date.now() - params.firstSeen >= params.delayMs
}
