/**
 * The contracts the TypeScript side knows, once: wagmi.config.ts binds each artifact (ts/generated.ts), errors.ts
 * decodes reverts against those marked `decodesErrors`, deployment.ts validates the `contracts` keys of the deployment
 * files. A test (test-ts/contracts-manifest.test.ts) holds it to the deploy scripts. wagmi.config.ts reads this file
 * before ts/generated.ts exists, so it imports nothing.
 */

/** The deployment files (format: deployments/README.md) and the scripts that write them. */
export const deploymentFiles = {
  /** deployments/<chainId>.json, script/Deploy.s.sol */
  marketplace: { script: 'Deploy.s.sol' },
  /** deployments/<chainId>.attestation.json, script/DeployAttestation.s.sol */
  attestation: { script: 'DeployAttestation.s.sol' },
  /** deployments/<marketplace chainId>.restaking.json, script/DeployRestaking.s.sol MODE=MARKETPLACE */
  restakingMarketplace: { script: 'DeployRestaking.s.sol' },
  /** deployments/<ethereum chainId>.restaking.json, script/DeployRestaking.s.sol MODE=ETHEREUM */
  restakingEthereum: { script: 'DeployRestaking.s.sol' },
} as const

export type DeploymentFile = keyof typeof deploymentFiles

export type ContractEntry = {
  /** The forge artifact, out/<artifact>.sol/<artifact>.json; its binding is `<artifact, camelCased>Abi`. */
  readonly artifact: string
  /** The `contracts.<key>` entries of each deployment file that hold an instance of it. */
  readonly deployedAs?: { readonly [file in DeploymentFile]?: readonly string[] }
  /**
   * Whether reverts are decoded against its custom errors: those of every contract a Cairn call can reach, since
   * the marketplace bubbles up the registry's, stake source's and verifier's errors verbatim.
   */
  readonly decodesErrors: boolean
}

export const contractsManifest = [
  // The marketplace (script/Deploy.s.sol), in the order of its deployment file.
  { artifact: 'ProofMarketplace', deployedAs: { marketplace: ['proofMarketplace'] }, decodesErrors: true },
  { artifact: 'ProverRegistry', deployedAs: { marketplace: ['proverRegistry'] }, decodesErrors: true },
  { artifact: 'NativeStaking', deployedAs: { marketplace: ['nativeStaking'] }, decodesErrors: true },
  { artifact: 'OwnedMatcherAuthority', deployedAs: { marketplace: ['matcherAuthority'] }, decodesErrors: true },
  {
    artifact: 'DevToken',
    // The restaking collateral is the CREATE2 dev token unless COLLATERAL names another ERC20.
    deployedAs: { marketplace: ['paymentToken', 'stakeToken'], restakingEthereum: ['collateral'] },
    decodesErrors: true,
  },
  // The snarkjs export reverts without custom errors; the adapter in front of it has them.
  {
    artifact: 'PoseidonPreimageGroth16Verifier',
    deployedAs: { marketplace: ['groth16Verifier'] },
    decodesErrors: false,
  },
  // The devnet Groth16 market's verifier: the verifying key as data, proofs checked in batches (fulfilBatch).
  { artifact: 'Groth16BatchVerifier', deployedAs: { marketplace: ['groth16Adapter'] }, decodesErrors: true },
  // The generated verifier's adapter, for markets created before the batch verifier.
  { artifact: 'Groth16VerifierAdapter', decodesErrors: true },
  // The devnet Noir market (noir/poseidon2_preimage, DEV CRS): bb.js' ZK UltraHonk verifier, deployed from its
  // artifact (ZKTranscriptLib linked), and the adapter in front of it, which turns the verifier's reverts into false.
  {
    artifact: 'Poseidon2PreimageDevZkHonkVerifier',
    deployedAs: { marketplace: ['noirHonkVerifier'] },
    decodesErrors: false,
  },
  { artifact: 'UltraHonkVerifierAdapter', deployedAs: { marketplace: ['noirAdapter'] }, decodesErrors: true },
  { artifact: 'RequestLens', deployedAs: { marketplace: ['requestLens'] }, decodesErrors: true },
  // Deployed by the ProofMarketplace constructor and run by its fallback: its functions, events and errors
  // (ISignedRequests, IPrivateClaims, IInputRejections) are served at the marketplace's address.
  { artifact: 'SignedRequestModule', decodesErrors: true },
  // Deployed by script/Deploy.s.sol just before the marketplace (which it is given to) and run by its fallback: the
  // signed path's fast lane (ISignedFulfilments), served at the marketplace's address.
  {
    artifact: 'SignedFulfilmentModule',
    deployedAs: { marketplace: ['signedFulfilmentModule'] },
    decodesErrors: true,
  },
  // Only for its custom errors (TransferFromFailed, ...), which solady raises from assembly inside the Cairn
  // contracts and therefore never appear in their ABIs.
  { artifact: 'SafeTransferLib', decodesErrors: true },

  // Attestation (script/DeployAttestation.s.sol): the DCAP collateral store and quote verifier, the TEE key registry;
  // the registry bubbles up the verifier's errors, and those of the collateral it reads.
  { artifact: 'DcapCollateral', deployedAs: { attestation: ['dcapCollateral'] }, decodesErrors: true },
  { artifact: 'DcapTdxVerifier', deployedAs: { attestation: ['dcapTdxVerifier'] }, decodesErrors: true },
  { artifact: 'TeeRegistry', deployedAs: { attestation: ['teeRegistry'] }, decodesErrors: true },
  // TEE-proof verifiers, one per market (ts/devnet/deploy.ts): the marketplace bubbles up a TEE market's verifier's.
  { artifact: 'TeeProofVerifier', decodesErrors: true },
  { artifact: 'MultiProofVerifier', decodesErrors: true },

  // Restaking (script/DeployRestaking.s.sol): the stake mirror on the marketplace chain; Cairn's Symbiotic network
  // and its slash inbox on Ethereum.
  { artifact: 'StakeMirror', deployedAs: { restakingMarketplace: ['stakeMirror'] }, decodesErrors: true },
  { artifact: 'CairnNetworkMiddleware', deployedAs: { restakingEthereum: ['middleware'] }, decodesErrors: true },
  { artifact: 'SlashInbox', deployedAs: { restakingEthereum: ['slashInbox'] }, decodesErrors: true },
  // The Symbiotic core interfaces operators, curators and stakers call (vault deposits, opt-ins, registration). The
  // vaults are made by Symbiotic's factory; the core's own addresses sit apart, under `contracts.symbiotic`.
  { artifact: 'IVault', deployedAs: { restakingEthereum: ['vault', 'vetoVault'] }, decodesErrors: true },
  { artifact: 'IOperatorRegistry', decodesErrors: true },
  { artifact: 'IOptInService', decodesErrors: true },
  // The veto slasher's resolver vetoes Cairn's slash requests; the relayer reads their veto deadlines.
  { artifact: 'IVetoSlasher', decodesErrors: true },

  // Cairn's interfaces, for bindings only: the contracts implementing them have the same errors.
  { artifact: 'IProofMarketplace', decodesErrors: false },
  { artifact: 'ISignedRequests', decodesErrors: false },
  { artifact: 'ISignedFulfilments', decodesErrors: false },
  { artifact: 'IPrivateClaims', decodesErrors: false },
  { artifact: 'IInputRejections', decodesErrors: false },
  { artifact: 'IProverRegistry', decodesErrors: false },
  { artifact: 'INativeStaking', decodesErrors: false },
  { artifact: 'IStakeSource', decodesErrors: false },
  { artifact: 'IProofVerifier', decodesErrors: false },
  { artifact: 'IGroth16BatchVerifier', decodesErrors: false },
  { artifact: 'IMatcherAuthority', decodesErrors: false },
  { artifact: 'IEnclaveKeys', decodesErrors: false },
] as const satisfies readonly ContractEntry[]

type Manifest = typeof contractsManifest
type ManifestEntry = Manifest[number]

/** The artifact of every contract whose errors are decoded, in manifest order. */
export type DecodedArtifact = Extract<ManifestEntry, { decodesErrors: true }>['artifact']

type KeysIn<entry, file extends DeploymentFile> = entry extends {
  deployedAs: { [f in file]: readonly (infer key extends string)[] }
}
  ? key
  : never

/** The `contracts` keys of a deployment file. */
export type DeploymentKey<file extends DeploymentFile> = KeysIn<ManifestEntry, file>

/** The `contracts` keys of a deployment file, in manifest order. */
export function deploymentKeys<file extends DeploymentFile>(file: file): DeploymentKey<file>[] {
  return contractsManifest.flatMap(
    (entry: ContractEntry) => (entry.deployedAs?.[file] ?? []) as readonly DeploymentKey<file>[],
  )
}

/** The artifacts whose errors are decoded, in manifest order. */
export function decodedArtifacts(): DecodedArtifact[] {
  return contractsManifest.filter((entry) => entry.decodesErrors).map((entry) => entry.artifact as DecodedArtifact)
}

/** The name wagmi gives an artifact's ABI in ts/generated.ts (camelCase: the artifacts' names start with a capital). */
export type BindingName<artifact extends string> = `${Uncapitalize<artifact>}Abi`

export function bindingName<const artifact extends string>(artifact: artifact): BindingName<artifact> {
  return `${artifact.charAt(0).toLowerCase()}${artifact.slice(1)}Abi` as BindingName<artifact>
}

/** wagmi's `include` pattern of an artifact: forge writes `out/<File>.sol/<Contract>.json`. */
export function artifactPath(artifact: string): string {
  return `${artifact}.sol/${artifact}.json`
}
