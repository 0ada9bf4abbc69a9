import {
  type Address,
  BaseError,
  CallExecutionError,
  type Chain,
  concat,
  ExecutionRevertedError,
  encodeAbiParameters,
  type Hex,
  type PublicClient,
  slice,
  type Transport,
  zeroAddress,
} from 'viem'
import type { Deployment } from '../../ts/deployment.js'
import { iProofVerifierAbi, iSignedRequestsAbi, proofMarketplaceAbi } from '../../ts/generated.js'
import { ERC1271_MAGIC_WORD, type OrderChainView } from './order-checks.js'

/*
 * The chain as the intake checks read it (OrderChainView), at one block: the latest one the RPC serves, not the
 * matcher's synced head, which may be a block behind: a requester that deposits (or a creator that makes a market) and
 * sends its order right after the receipt must not be refused for a block the matcher has not indexed yet. A contract
 * wallet's ERC-1271 check is an eth_call from the marketplace's address (as the marketplace's staticcall makes it)
 * capped at ERC1271_GAS_CAP gas: a wallet that needs more, or burns it all, is refused at intake.
 */

/** Gas an ERC-1271 wallet's isValidSignature may use: SignedRequestModule.ERC1271_GAS_LIMIT, at intake as on chain. */
export const ERC1271_GAS_CAP = 250_000n

/** isValidSignature(bytes32,bytes)'s selector: the first 4 bytes of the magic value it returns. */
const IS_VALID_SIGNATURE: Hex = slice(ERC1271_MAGIC_WORD, 0, 4)

/** A call that failed in the EVM (reverted, out of gas), as opposed to a transport failure (thrown on). */
function failedInEvm(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false
  if (error.walk((cause) => cause instanceof ExecutionRevertedError) !== null) return true
  return error instanceof CallExecutionError && /out of gas|revert|invalid opcode/i.test(error.details ?? error.message)
}

export function orderChainView(
  client: PublicClient<Transport, Chain>,
  deployment: Pick<Deployment, 'contracts'>,
  at: { blockNumber: bigint } | { blockTag: 'latest' } = { blockTag: 'latest' },
): OrderChainView {
  const marketplace = deployment.contracts.proofMarketplace
  return {
    async market(marketId) {
      const market = await client.readContract({
        address: marketplace,
        abi: proofMarketplaceAbi,
        functionName: 'market',
        args: [marketId],
        ...at,
      })
      if (market.verifier === zeroAddress) return undefined
      return { verifier: market.verifier, paymentToken: market.paymentToken }
    },
    async validatePublicInputs(verifier: Address, data: Hex) {
      try {
        return await client.readContract({
          address: verifier,
          abi: iProofVerifierAbi,
          functionName: 'validatePublicInputs',
          args: [data],
          ...at,
        })
      } catch (error) {
        if (failedInEvm(error)) return false
        throw error
      }
    },
    async hasCode(account) {
      const code = await client.getCode({ address: account, ...at })
      return code !== undefined && code !== '0x'
    },
    async isValidSignature(wallet, digest, signature) {
      const data = concat([
        IS_VALID_SIGNATURE,
        encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes' }], [digest, signature]),
      ])
      try {
        const result = await client.call({ account: marketplace, to: wallet, data, gas: ERC1271_GAS_CAP, ...at })
        return result.data ?? '0x'
      } catch (error) {
        if (failedInEvm(error)) return undefined
        throw error
      }
    },
    nonceWord: (requester, wordPos) =>
      client.readContract({
        address: marketplace,
        abi: iSignedRequestsAbi,
        functionName: 'nonceBitmap',
        args: [requester, wordPos],
        ...at,
      }),
    requestStatus: (requestId) =>
      client.readContract({
        address: marketplace,
        abi: proofMarketplaceAbi,
        functionName: 'requestStatus',
        args: [requestId],
        ...at,
      }),
    balance: (account, token) =>
      client.readContract({
        address: marketplace,
        abi: proofMarketplaceAbi,
        functionName: 'balanceOf',
        args: [account, token],
        ...at,
      }),
  }
}
