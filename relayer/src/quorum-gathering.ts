import { type Address, type Hex, isAddressEqual } from 'viem'
import { slashInboxAbi, stakeMirrorAbi } from '../../ts/generated.js'
import { admittedOperatorCount, getActiveOperator } from '../../ts/tee.js'
import type { ChainName, RelayerContext } from './context.js'
import { type OperatorSignature, operatorCount, operatorQuorum, requiredOperators } from './quorum.js'
import {
  fetchPeerSignatures,
  mySubmitTurn,
  type SignatureKind,
  type SignatureStore,
  type SignedDigest,
} from './signatures.js'

/*
 * Gathering a quorum for a digest: this relayer's own signature (kept in the store its peers read) plus its peers',
 * each counted under the operator the *target* chain's registry says its key belongs to, read by the relayer itself
 * at one block (never a peer's word). Deciding from those reads is pure (`decideQuorum`); `createQuorumGathering`
 * makes the reads.
 */

/** What a digest's signatures and the target chain (at one block) say. */
export type QuorumView = {
  me: Address
  /** This relayer's own signature first (it wins over another key of its operator), then its peers'. */
  candidates: readonly SignedDigest[]
  /** The operator the registry holds each candidate's key active for; undefined where it is not an active key. */
  operators: readonly (Address | undefined)[]
  admittedOperators: number
  /** The target contract's threshold. */
  threshold: number
  /** When this relayer first signed the digest (wall-clock ms). */
  firstSeen: number
  /** How long a relayer that is not the quorum's first signer waits before submitting itself. */
  submitDelay: number
}

export type QuorumDecision = {
  /** The signatures to submit, in the order the contract checks them; undefined while too few operators signed. */
  signed: OperatorSignature[] | undefined
  /** How many distinct operators signed. */
  count: number
  /** Whether this relayer submits now. */
  myTurn: boolean
  /** Peers' keys the registry holds as active relayer keys: who else relays, for turns no quorum orders. */
  peerKeys: Address[]
  /** Whether the target chain holds this relayer's own key as an active relayer key. */
  ownKeyActive: boolean
}

/** Whether to submit a digest, and which signatures: only keys the target chain holds active count (any other would revert the quorum). */
export function decideQuorum(view: QuorumView): QuorumDecision {
  const counted: OperatorSignature[] = view.candidates.flatMap((signed, i) => {
    const operator = view.operators[i]
    return operator === undefined ? [] : [{ ...signed, operator }]
  })
  const signed = operatorQuorum(counted, requiredOperators(view.threshold, view.admittedOperators))
  const myTurn =
    signed !== undefined &&
    mySubmitTurn({
      me: view.me,
      signers: signed.map((s) => s.signer),
      firstSeen: view.firstSeen,
      delayMs: view.submitDelay,
    })
  return {
    signed,
    count: operatorCount(counted),
    myTurn,
    peerKeys: counted.filter((s) => !isAddressEqual(s.signer, view.me)).map((s) => s.signer),
    ownKeyActive: view.operators[0] !== undefined,
  }
}

/** Where a kind of digest is submitted, and so whose registry counts its signers. */
export const targetChain = (kind: SignatureKind): ChainName => (kind === 'slashBatch' ? 'ethereum' : 'marketplace')

/** Signs `digest` (once: a digest signed before keeps its signature and first-seen time) and gathers its quorum. */
export type Gather = (kind: SignatureKind, digest: Hex, sign: () => Promise<Hex>) => Promise<QuorumDecision>

export function createQuorumGathering(
  ctx: RelayerContext,
  signatures: SignatureStore,
): { gather: Gather; knownRelayers: ReadonlySet<Address> } {
  // Relayer keys seen signing (peers' active keys): who goes first where no quorum orders the turn (finalize).
  const knownRelayers = new Set<Address>()

  async function gather(kind: SignatureKind, digest: Hex, sign: () => Promise<Hex>): Promise<QuorumDecision> {
    const { account, config, log } = ctx
    const own =
      signatures.get(digest) ?? signatures.put({ kind, digest, signer: account.address, signature: await sign() })
    const firstSeen = signatures.put(own).firstSeen
    const fetched = await fetchPeerSignatures(config.peers, digest, log)
    const chain = targetChain(kind)
    const registry = ctx.registries[chain]
    const blockNumber = await registry.public.getBlockNumber({ cacheTime: 0 })
    const candidates = [own, ...fetched]
    const [operators, admittedOperators, threshold] = await Promise.all([
      Promise.all(
        candidates.map((signed) =>
          getActiveOperator(registry, { role: 'Relayer', signer: signed.signer, blockNumber }),
        ),
      ),
      admittedOperatorCount(registry, 'Relayer', { blockNumber }),
      kind === 'slashBatch'
        ? ctx.eth.public.readContract({
            address: ctx.inbox.address,
            abi: slashInboxAbi,
            functionName: 'threshold',
            blockNumber,
          })
        : ctx.mkt.public.readContract({
            address: ctx.mirror.address,
            abi: stakeMirrorAbi,
            functionName: 'threshold',
            blockNumber,
          }),
    ])
    const decision = decideQuorum({
      me: account.address,
      candidates,
      operators,
      admittedOperators,
      threshold,
      firstSeen,
      submitDelay: config.submitDelay,
    })
    for (const key of decision.peerKeys) knownRelayers.add(key)
    if (!decision.ownKeyActive) log.warn({ chain, digest }, 'own key is not an active relayer key there')
    return decision
  }

  return { gather, knownRelayers }
}
