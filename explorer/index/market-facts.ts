/**
 * What a market's logs do not say but its contracts do, read once when the market is indexed (all of it is fixed at
 * creation): which kind of verifier it uses, whether its stake source is native staking or restaked stake, and its
 * payment token's symbol and decimals.
 */
import { type Address, type Chain, isAddressEqual, type PublicClient, type Transport } from 'viem'
import type { Deployment } from '../../ts/deployment.js'
import {
  groth16BatchVerifierAbi,
  multiProofVerifierAbi,
  stakeMirrorAbi,
  teeProofVerifierAbi,
  ultraHonkVerifierAdapterAbi,
} from '../../ts/generated.js'
import { tokenInfo } from '../../ts/tokens.js'
import type { MarketEntry, StakeSourceKind, VerifierKind } from './model.js'

type Client = PublicClient<Transport, Chain>

/** Whether a view answers at `address` (a verifier of another kind reverts or has no such function). */
async function answers(run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run()
    return true
  } catch {
    return false
  }
}

export async function verifierKindOf(client: Client, deployment: Deployment, verifier: Address): Promise<VerifierKind> {
  const { groth16Adapter, groth16Verifier } = deployment.contracts
  if (isAddressEqual(verifier, groth16Adapter) || isAddressEqual(verifier, groth16Verifier)) return 'Groth16'
  const probes: [VerifierKind, () => Promise<unknown>][] = [
    [
      'MultiProof',
      () => client.readContract({ address: verifier, abi: multiProofVerifierAbi, functionName: 'teeVerifier' }),
    ],
    ['TEE', () => client.readContract({ address: verifier, abi: teeProofVerifierAbi, functionName: 'programId' })],
    [
      'Noir (UltraHonk)',
      () => client.readContract({ address: verifier, abi: ultraHonkVerifierAdapterAbi, functionName: 'honkVerifier' }),
    ],
    [
      'Groth16',
      () => client.readContract({ address: verifier, abi: groth16BatchVerifierAbi, functionName: 'publicSignalCount' }),
    ],
  ]
  for (const [kind, probe] of probes) if (await answers(probe)) return kind
  return 'unknown'
}

export async function stakeSourceKindOf(
  client: Client,
  deployment: Deployment,
  source: Address,
): Promise<StakeSourceKind> {
  if (isAddressEqual(source, deployment.contracts.nativeStaking)) return 'native'
  const mirror = () => client.readContract({ address: source, abi: stakeMirrorAbi, functionName: 'currentEpoch' })
  return (await answers(mirror)) ? 'restaked' : 'other'
}

/** Fills in a market's verifier kind, stake source kind and token; a failed read leaves that field for next time. */
export async function readMarketFacts(client: Client, deployment: Deployment, market: MarketEntry): Promise<void> {
  const { verifier, stakeSource, paymentToken } = market.params
  const [verifierKind, stakeSourceKind, token] = await Promise.all([
    market.verifierKind ?? verifierKindOf(client, deployment, verifier),
    market.stakeSourceKind ?? stakeSourceKindOf(client, deployment, stakeSource),
    market.token ?? tokenInfo({ public: client }, paymentToken),
  ])
  market.verifierKind = verifierKind
  market.stakeSourceKind = stakeSourceKind
  market.token = { symbol: token.symbol, decimals: token.decimals }
}
