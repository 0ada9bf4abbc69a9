import { defineConfig } from '@wagmi/cli'
import { foundry } from '@wagmi/cli/plugins'

// Artifacts are `out/<File>.sol/<Contract>.json`; listing them one by one keeps forge-std, test and script
// artifacts out of the bindings.
const contracts = [
  'ProofMarketplace',
  'ProverRegistry',
  'NativeStaking',
  'OwnedMatcherAuthority',
  'Groth16VerifierAdapter',
  'PoseidonPreimageGroth16Verifier',
  'DevToken',
  'IProofMarketplace',
  'IProverRegistry',
  'INativeStaking',
  'IStakeSource',
  'IProofVerifier',
  'IMatcherAuthority',
  'IEnclaveKeys',
  'RequestLens',
  // Attestation: the DCAP collateral store and quote verifier, the TEE key registry, TEE-proof verifiers.
  'DcapCollateral',
  'DcapTdxVerifier',
  'TeeRegistry',
  'TeeProofVerifier',
  'MultiProofVerifier',
  // Restaking: Cairn's Symbiotic network on Ethereum, its slash inbox, and the stake mirror on the marketplace chain.
  'CairnNetworkMiddleware',
  'SlashInbox',
  'StakeMirror',
  // The Symbiotic core interfaces operators, curators and stakers call (vault deposits, opt-ins, registration).
  'IVault',
  'IOperatorRegistry',
  'IOptInService',
  // The veto slasher's resolver vetoes Cairn's slash requests; the relayer reads their veto deadlines.
  'IVetoSlasher',
  // Only for its custom errors (TransferFromFailed, ...), which solady raises from assembly inside the Cairn
  // contracts and therefore never appear in their ABIs.
  'SafeTransferLib',
]

export default defineConfig({
  out: 'ts/generated.ts',
  plugins: [
    foundry({
      project: '.',
      // `npm run build` runs `forge build` first; building here again would double the solc-js compile time.
      forge: { build: false, rebuild: false, path: 'node_modules/.bin/forge' },
      include: contracts.map((name) => `${name}.sol/${name}.json`),
    }),
  ],
})
