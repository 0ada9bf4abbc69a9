import type { Address, TypedDataDomain } from 'viem'

/**
 * The EIP-712 domain names of Cairn's signing contracts, each the name its `_domainNameAndVersion()` returns (a test
 * reads the contracts to keep the two equal). Every domain is version "1".
 */
export const eip712DomainNames = {
  proofMarketplace: 'Cairn ProofMarketplace',
  teeProofVerifier: 'Cairn TeeProofVerifier',
  networkMiddleware: 'Cairn NetworkMiddleware',
  stakeMirror: 'Cairn StakeMirror',
  slashInbox: 'Cairn SlashInbox',
} as const

export type SigningContract = keyof typeof eip712DomainNames

/** The EIP-712 domain of a Cairn contract deployed at `address` on chain `chainId`. */
export function cairnDomain(
  contract: SigningContract,
  at: { chainId: number; address: Address },
): TypedDataDomain & { name: string; version: '1'; chainId: number; verifyingContract: Address } {
  return { name: eip712DomainNames[contract], version: '1', chainId: at.chainId, verifyingContract: at.address }
}
