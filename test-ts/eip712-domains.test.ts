// The SDK's and the relayers' EIP-712 domains come from one table (ts/eip712-domains.ts); this keeps the table equal
// to what each contract's _domainNameAndVersion() returns, so a renamed domain fails here instead of as a rejected
// signature in an end-to-end run.
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cairnDomain, eip712DomainNames, type SigningContract } from '../ts/eip712-domains.js'
import { repoRoot } from '../ts/root.js'

const sources: Record<SigningContract, string> = {
  // Declared by the marketplace's base, shared with the signed-request module that runs under its address.
  proofMarketplace: 'src/MarketplaceBase.sol',
  teeProofVerifier: 'src/verifiers/TeeProofVerifier.sol',
  networkMiddleware: 'src/restaking/CairnNetworkMiddleware.sol',
  stakeMirror: 'src/restaking/StakeMirror.sol',
  slashInbox: 'src/restaking/SlashInbox.sol',
}

/** The (name, version) a contract's _domainNameAndVersion() returns, read from its source. */
async function domainOf(path: string): Promise<[string, string]> {
  const text = await readFile(join(repoRoot, path), 'utf8')
  const match = /function _domainNameAndVersion\(\)[^{]*\{\s*return \("([^"]+)", "([^"]+)"\);/.exec(text)
  if (!match) throw new Error(`${path} declares no _domainNameAndVersion returning two string literals`)
  return [match[1] as string, match[2] as string]
}

describe('EIP-712 domains', () => {
  it.each(Object.entries(sources))('%s: the name and version its contract signs under', async (contract, path) => {
    const [name, version] = await domainOf(path)
    expect(eip712DomainNames[contract as SigningContract]).toBe(name)
    expect(version).toBe('1')
  })

  it('covers every contract that declares a domain', () => {
    const declaring = execFileSync('grep', ['-rl', 'function _domainNameAndVersion', 'src'], { cwd: repoRoot })
      .toString()
      .trim()
      .split('\n')
      .sort()
    expect(declaring).toEqual(Object.values(sources).sort())
  })

  it('builds the domain for a deployment', () => {
    const address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
    expect(cairnDomain('stakeMirror', { chainId: 31337, address })).toEqual({
      name: 'Cairn StakeMirror',
      version: '1',
      chainId: 31337,
      verifyingContract: address,
    })
  })
})
