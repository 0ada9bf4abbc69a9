import {
  type Address,
  bytesToHex,
  type ContractFunctionArgs,
  concat,
  encodeAbiParameters,
  encodePacked,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddressEqual,
  isHex,
  keccak256,
  type LocalAccount,
  sha256,
  size,
  type TransactionReceipt,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { DcapCollateral } from './attestation.js'
import { type CairnClient, type CairnReader, type ChainClient, type ChainReader, sent, simulated } from './client.js'
import type { AttestationDeployment } from './deployment.js'
import {
  describeEnclaveConfig,
  type EnclaveAttestation,
  type EnclaveConfig,
  type RegistryRef,
} from './enclave-config.js'
import { decodeCairnError } from './errors.js'
import { eventOf, eventsOf } from './events.js'
import { dcapCollateralAbi, proofMarketplaceAbi, teeRegistryAbi } from './generated.js'
import { cairnTypedData, type SignedTypedData } from './typed-data.js'
import { enumName, type TeeRole, teeRoles } from './types.js'
import { write } from './write.js'

/** A reader that also knows the attestation contracts (deployments/<chainId>.attestation.json). */
export type TeeReader = CairnReader & { attestation: AttestationDeployment }
/** A client that also knows the attestation contracts. */
export type TeeClient = CairnClient & { attestation: AttestationDeployment }

/**
 * What the key-registry functions need: any chain's clients (relayers register on Ethereum too, which has no
 * marketplace) and the registry's address. A TeeReader / TeeClient is one.
 */
export type RegistryReader = ChainReader & { attestation: { contracts: { teeRegistry: Address } } }
export type RegistryClient = ChainClient & { attestation: { contracts: { teeRegistry: Address } } }

/** Binds an attestation deployment to a reader or client, for the functions of this module. */
export function withAttestation<client extends CairnReader>(
  client: client,
  attestation: AttestationDeployment,
): client & { attestation: AttestationDeployment } {
  return { ...client, attestation }
}

// ---------------------------------------------------------------------------------------------------------------
// Collateral

/** The DER of every certificate in a PEM chain, in order. */
export function pemCertificates(pem: string): Hex[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)]
  return blocks.map(([, body = '']) => bytesToHex(Buffer.from(body.replace(/\s+/g, ''), 'base64')))
}

function firstCertificate(pem: string, what: string): Hex {
  const [first] = pemCertificates(pem)
  if (first === undefined) throw new Error(`${what}: no PEM certificate`)
  return first
}

/** dcap-qvl writes hex without a prefix; accept either. */
function hexField(value: string, what: string): Hex {
  const hex = value.startsWith('0x') ? value : `0x${value}`
  if (!isHex(hex) || hex.length % 2 !== 0) throw new Error(`${what}: expected hex, got ${value.slice(0, 20)}…`)
  return hex
}

type CrlAccepted = { issuerHash: Hex; thisUpdate: bigint; nextUpdate: bigint; revokedCount: bigint }

export type SubmittedCollateral = {
  rootCrl: CrlAccepted
  pckCrl: CrlAccepted
  /** The PCK CA registered with its CRL; absent when it was already known. */
  pckCa: { pemBodyHash: Hex; subjectHash: Hex; serialNumber: bigint } | undefined
  tcbInfo: { fmspc: Hex; issueDate: bigint; nextUpdate: bigint; evaluationDataNumber: number }
  qeIdentity: { issueDate: bigint; nextUpdate: bigint; evaluationDataNumber: number }
  receipts: TransactionReceipt[]
}

/**
 * Submits DCAP collateral in dcap-qvl's JSON shape (what the dev attestation provider's buildDevCollateral returns,
 * and what Intel's PCS serves) to the collateral store; anyone may. Order matters: the root CRL first, since every
 * later certificate is checked against it. The contract takes each issuer chain's first certificate (the issuing CA
 * or signing certificate) as DER: it knows the root already.
 */
export async function submitCollateral(client: TeeClient, collateral: DcapCollateral): Promise<SubmittedCollateral> {
  const collateralStore = { address: client.attestation.contracts.dcapCollateral, abi: dcapCollateralAbi } as const

  const rootCrl = hexField(collateral.root_ca_crl, 'root_ca_crl')
  const {
    receipt: rootReceipt,
    event: { args: rootAccepted },
  } = await write(client, {
    ...collateralStore,
    functionName: 'submitRootCrl',
    args: [rootCrl],
    eventName: 'CrlAccepted',
  })

  const platformCa = firstCertificate(collateral.pck_crl_issuer_chain, 'pck_crl_issuer_chain')
  const pckCrl = hexField(collateral.pck_crl, 'pck_crl')
  const {
    receipt: pckReceipt,
    event: { args: pckAccepted },
  } = await write(client, {
    ...collateralStore,
    functionName: 'submitPckCrl',
    args: [platformCa, pckCrl],
    eventName: 'CrlAccepted',
  })
  const [caRegistered] = eventsOf(pckReceipt, collateralStore.address, dcapCollateralAbi, 'CaRegistered')

  const tcbSigning = firstCertificate(collateral.tcb_info_issuer_chain, 'tcb_info_issuer_chain')
  const tcbSignature = hexField(collateral.tcb_info_signature, 'tcb_info_signature')
  const {
    receipt: tcbReceipt,
    event: { args: tcbAccepted },
  } = await write(client, {
    ...collateralStore,
    functionName: 'submitTcbInfo',
    args: [tcbSigning, collateral.tcb_info, tcbSignature],
    eventName: 'TcbInfoAccepted',
  })

  const qeSigning = firstCertificate(collateral.qe_identity_issuer_chain, 'qe_identity_issuer_chain')
  const qeSignature = hexField(collateral.qe_identity_signature, 'qe_identity_signature')
  const {
    receipt: qeReceipt,
    event: { args: qeAccepted },
  } = await write(client, {
    ...collateralStore,
    functionName: 'submitQeIdentity',
    args: [qeSigning, collateral.qe_identity, qeSignature],
    eventName: 'QeIdentityAccepted',
  })

  return {
    rootCrl: rootAccepted,
    pckCrl: pckAccepted,
    pckCa: caRegistered?.args,
    tcbInfo: tcbAccepted,
    qeIdentity: qeAccepted,
    receipts: [rootReceipt, pckReceipt, tcbReceipt, qeReceipt],
  }
}

/** The dev attestation provider's collateral goes through the same checks as Intel's: only the pinned root differs. */
export const submitDevCollateral = submitCollateral

// ---------------------------------------------------------------------------------------------------------------
// Policy

export type KeyBinding = ContractFunctionArgs<typeof teeRegistryAbi, 'nonpayable', 'register'>[1]

export type KeyRef = {
  role: TeeRole
  /** The market a prover key serves; zero (the default) for matcher and relayer keys. */
  marketId?: bigint
  signer: Address
}

const roleIndex = (role: TeeRole): number => teeRoles.indexOf(role)

/** The policy measurement of a TD: keccak256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2 ‖ RTMR3), as TeeRegistry.measurementOf. */
export function measurementOf(td: { mrTd: Hex; rtmr0: Hex; rtmr1: Hex; rtmr2: Hex; rtmr3: Hex }): Hex {
  for (const [name, value] of Object.entries(td)) {
    if (size(value) !== 48) throw new RangeError(`${name} must be 48 bytes, got ${size(value)}`)
  }
  return keccak256(concat([td.mrTd, td.rtmr0, td.rtmr1, td.rtmr2, td.rtmr3]))
}

/** Allows (or, with allowed: false, disallows) a measurement for a role and market; the role's admin only. */
export async function allowMeasurement(
  client: RegistryClient,
  params: { role: TeeRole; marketId?: bigint; measurement: Hex; allowed?: boolean },
): Promise<{ measurement: Hex; allowed: boolean; receipt: TransactionReceipt }> {
  const address = client.attestation.contracts.teeRegistry
  const { receipt, event } = await write(client, {
    address,
    abi: teeRegistryAbi,
    functionName: 'setMeasurementAllowed',
    args: [roleIndex(params.role), params.marketId ?? 0n, params.measurement, params.allowed ?? true],
    eventName: 'MeasurementAllowed',
  })
  return { measurement: event.args.measurement, allowed: event.args.allowed, receipt }
}

/**
 * Pins the TD configuration (TdxReport.tdConfig, see tdConfigOf in enclave-config.ts) keys of a role and market must
 * show, or unpins it with zero; the role's admin only. Pinning the tdConfig of a TD launched for this chain and
 * registry (its MRCONFIGID names them) means no TD launched for anything else registers keys here.
 */
export async function pinTdConfig(
  client: RegistryClient,
  params: { role: TeeRole; marketId?: bigint; tdConfig: Hex },
): Promise<{ tdConfig: Hex; receipt: TransactionReceipt }> {
  const address = client.attestation.contracts.teeRegistry
  const { receipt, event } = await write(client, {
    address,
    abi: teeRegistryAbi,
    functionName: 'setTdConfigPinned',
    args: [roleIndex(params.role), params.marketId ?? 0n, params.tdConfig],
    eventName: 'TdConfigPinned',
  })
  return { tdConfig: event.args.tdConfig, receipt }
}

/** The TD configuration pinned for a role and market, or undefined when none is. */
export async function getPinnedTdConfig(
  reader: RegistryReader,
  params: { role: TeeRole; marketId?: bigint },
): Promise<Hex | undefined> {
  const pinned = await reader.public.readContract({
    address: reader.attestation.contracts.teeRegistry,
    abi: teeRegistryAbi,
    functionName: 'pinnedTdConfig',
    args: [roleIndex(params.role), params.marketId ?? 0n],
  })
  return pinned === zeroHash ? undefined : pinned
}

/**
 * Whether `signer` holds an active key for the role and market: registered, unexpired, unrevoked and, for matcher
 * and relayer keys, registered by an operator that is still admitted.
 */
export async function isActiveKey(reader: RegistryReader, key: KeyRef): Promise<boolean> {
  return reader.public.readContract({
    address: reader.attestation.contracts.teeRegistry,
    abi: teeRegistryAbi,
    functionName: 'isActive',
    args: [roleIndex(key.role), key.marketId ?? 0n, key.signer],
  })
}

/**
 * The operator an active key works for, or undefined when the key is not active (see isActiveKey). Quorums count
 * these operators, never keys. `blockNumber` reads it as of that block.
 */
export async function getActiveOperator(
  reader: RegistryReader,
  key: KeyRef & { blockNumber?: bigint },
): Promise<Address | undefined> {
  const operator = await reader.public.readContract({
    address: reader.attestation.contracts.teeRegistry,
    abi: teeRegistryAbi,
    functionName: 'activeOperator',
    args: [roleIndex(key.role), key.marketId ?? 0n, key.signer],
    ...(key.blockNumber === undefined ? {} : { blockNumber: key.blockNumber }),
  })
  return operator === zeroAddress ? undefined : operator
}

// ---------------------------------------------------------------------------------------------------------------
// Operators of the matcher and relayer roles

/** The roles whose keys belong to governance-admitted operators (prover keys belong to their prover). */
export type OperatorRole = Exclude<TeeRole, 'Prover'>

/**
 * Admits (or, with admitted: false, removes) an operator of the matcher or relayer role; the role's admin only.
 * Removing an operator deactivates every key it registered at once.
 */
export async function setOperatorAdmitted(
  client: RegistryClient,
  params: { role: OperatorRole; operator: Address; admitted?: boolean },
): Promise<{ operator: Address; admitted: boolean; admittedCount: number; receipt: TransactionReceipt }> {
  const registry = client.attestation.contracts.teeRegistry
  const { receipt, event } = await write(client, {
    address: registry,
    abi: teeRegistryAbi,
    functionName: 'setOperatorAdmitted',
    args: [roleIndex(params.role), params.operator, params.admitted ?? true],
    eventName: 'OperatorAdmissionSet',
  })
  return {
    operator: event.args.operator,
    admitted: event.args.admitted,
    admittedCount: event.args.admittedCount,
    receipt,
  }
}

/** Whether `operator` is admitted for the matcher or relayer role. */
export async function isAdmittedOperator(
  reader: RegistryReader,
  params: { role: OperatorRole; operator: Address; blockNumber?: bigint },
): Promise<boolean> {
  return reader.public.readContract({
    address: reader.attestation.contracts.teeRegistry,
    abi: teeRegistryAbi,
    functionName: 'isAdmittedOperator',
    args: [roleIndex(params.role), params.operator],
    ...(params.blockNumber === undefined ? {} : { blockNumber: params.blockNumber }),
  })
}

/** How many operators are admitted for the role: a relayer quorum needs a strict majority of them. */
export async function admittedOperatorCount(
  reader: RegistryReader,
  role: OperatorRole,
  options: { blockNumber?: bigint } = {},
): Promise<number> {
  return reader.public.readContract({
    address: reader.attestation.contracts.teeRegistry,
    abi: teeRegistryAbi,
    functionName: 'admittedOperatorCount',
    args: [roleIndex(role)],
    ...(options.blockNumber === undefined ? {} : { blockNumber: options.blockNumber }),
  })
}

/**
 * A matcher or relayer key cannot be registered: its operator (the sending account) is not admitted for the role.
 * Services catch it to name the flag that sets the operator's account.
 */
export class OperatorNotAdmittedError extends Error {
  override readonly name = 'OperatorNotAdmittedError'
  constructor(
    readonly role: OperatorRole,
    readonly operator: Address,
    readonly registry: Address,
  ) {
    super(
      `operator ${operator} is not admitted for the ${role} role in the TeeRegistry at ${registry}: ` +
        `the role's admin must admit it (setOperatorAdmitted(${role}, ${operator}, true)) before it registers keys`,
    )
  }
}

export function isOperatorNotAdmittedError(error: unknown): error is OperatorNotAdmittedError {
  return error instanceof OperatorNotAdmittedError
}

/**
 * Points the marketplace's matcher authority at `authority` (e.g. the TEE registry, so only attested matcher keys
 * sign assignments); the marketplace owner only.
 */
export async function setMatcherAuthority(client: CairnClient, authority: Address): Promise<TransactionReceipt> {
  return write(client, {
    address: client.deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    functionName: 'setMatcherAuthority',
    args: [authority],
  })
}

/**
 * Points the marketplace at the registry of prover enclave keys (the TEE registry), which opens the invalid-input
 * attestation path (rejectInputs); the marketplace owner only.
 */
export async function setEnclaveKeys(client: CairnClient, registry: Address): Promise<TransactionReceipt> {
  return write(client, {
    address: client.deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    functionName: 'setEnclaveKeys',
    args: [registry],
  })
}

/** The operator's current prover enclave key in a market and its ECIES key, or undefined when none is active. */
export async function getProverEnclave(
  reader: TeeReader,
  marketId: bigint,
  operator: Address,
): Promise<{ signer: Address; eciesPublicKey: Hex } | undefined> {
  const [signer, eciesPublicKey] = await reader.public.readContract({
    address: reader.attestation.contracts.teeRegistry,
    abi: teeRegistryAbi,
    functionName: 'proverEnclave',
    args: [marketId, operator],
  })
  return signer === zeroAddress ? undefined : { signer, eciesPublicKey }
}

/** An attested matcher enclave's key as the registry holds it now. */
export type MatcherKey = { signer: Address; eciesPublicKey: Hex; expiresAt: bigint }

/**
 * The matcher keys active now with their ECIES keys: the recipients private inputs are encrypted to. Found from the
 * registry's KeyRegistered logs for the Matcher role, each checked against the registry's state at the head (a
 * re-registered signer counts once, with its latest key). The registry's eciesPublicKey view is empty unless
 * isActive(Matcher, 0, signer) holds: registered, unexpired, unrevoked, and its operator still admitted, so a key of
 * a removed operator is never a recipient. Sorted by signer.
 */
export async function getActiveMatcherKeys(
  reader: TeeReader,
  options: { fromBlock?: bigint; blockNumber?: bigint } = {},
): Promise<MatcherKey[]> {
  const registry = { address: reader.attestation.contracts.teeRegistry, abi: teeRegistryAbi } as const
  const blockNumber = options.blockNumber ?? (await reader.public.getBlockNumber({ cacheTime: 0 }))
  const logs = await reader.public.getContractEvents({
    ...registry,
    eventName: 'KeyRegistered',
    args: { role: roleIndex('Matcher') },
    fromBlock: options.fromBlock ?? reader.attestation.deployBlock,
    toBlock: blockNumber,
    strict: true,
  })
  const latest = new Map(logs.map(({ args }) => [args.signer, BigInt(args.expiresAt)]))
  const keys = await Promise.all(
    [...latest].map(async ([signer, expiresAt]): Promise<MatcherKey | undefined> => {
      // The registry's own view: empty unless the key is active (expired, revoked or its operator removed: empty).
      const eciesPublicKey = await reader.public.readContract({
        ...registry,
        functionName: 'eciesPublicKey',
        args: [roleIndex('Matcher'), 0n, signer],
        blockNumber,
      })
      return eciesPublicKey === '0x' ? undefined : { signer, eciesPublicKey, expiresAt }
    }),
  )
  return keys.filter((key) => key !== undefined).sort((a, b) => a.signer.localeCompare(b.signer))
}

// ---------------------------------------------------------------------------------------------------------------
// Registration

export type EnclaveKeyParams = KeyRef & {
  /** The enclave's secp256k1 public key for ECIES, x ‖ y (64 bytes, no 0x04 prefix). */
  eciesPublicKey: Hex
  /**
   * The account the enclave works for, which must submit the registration itself: the prover's marketplace address
   * for a prover key, an operator the role's admin admitted for a matcher or relayer key.
   */
  operator: Address
}

/**
 * The binding for a key at the chain head. It names the head's parent, not the head itself: an eth_call runs with
 * block.number = head on most nodes, and the registry wants a block strictly before the current one, whose hash
 * both the simulation and the mined transaction can see.
 */
export async function keyBindingAtHead(reader: ChainReader, params: EnclaveKeyParams): Promise<KeyBinding> {
  if (size(params.eciesPublicKey) !== 64) {
    throw new RangeError(`eciesPublicKey must be 64 bytes (x ‖ y), got ${size(params.eciesPublicKey)}`)
  }
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  if (head.number === 0n) throw new Error('the chain has no block before its head to bind to')
  return {
    role: roleIndex(params.role),
    marketId: params.marketId ?? 0n,
    signer: params.signer,
    eciesPublicKey: params.eciesPublicKey,
    operator: params.operator,
    blockNumber: head.number - 1n,
    blockHash: head.parentHash,
  }
}

/** TeeRegistry's BINDING_TYPEHASH preimage (src/attestation/TeeRegistry.sol), verbatim. */
export const KEY_BINDING_TYPE =
  'CairnTeeKeyBinding(uint8 role,uint256 marketId,address signer,bytes32 eciesPublicKeyHash,address operator,uint256 chainId,address registry,uint256 blockNumber,bytes32 blockHash)'

/**
 * The 64 bytes an enclave puts in its quote's report data to register `binding` at the registry `at`, computed as
 * TeeRegistry._reportData does: keccak256(abi.encode(BINDING_TYPEHASH, role, marketId, signer,
 * keccak256(eciesPublicKey), operator, chainId, registry, blockNumber, blockHash)) ‖ 32 zero bytes. An enclave computes
 * it itself: an answer from a node its host runs could be the digest of any binding.
 */
export function keyBindingReportData(binding: KeyBinding, at: RegistryRef): Hex {
  const hash = keccak256(
    encodeAbiParameters(
      [
        { type: 'bytes32' },
        { type: 'uint8' },
        { type: 'uint256' },
        { type: 'address' },
        { type: 'bytes32' },
        { type: 'address' },
        { type: 'uint256' },
        { type: 'address' },
        { type: 'uint256' },
        { type: 'bytes32' },
      ],
      [
        keccak256(toHex(KEY_BINDING_TYPE)),
        binding.role,
        binding.marketId,
        binding.signer,
        keccak256(binding.eciesPublicKey),
        binding.operator,
        BigInt(at.chainId),
        at.registry,
        binding.blockNumber,
        binding.blockHash,
      ],
    ),
  )
  return concat([hash, zeroHash])
}

export type RegisteredKey = {
  role: TeeRole
  marketId: bigint
  signer: Address
  /** The account the enclave works for: the prover, or the admitted operator that registered it. */
  operator: Address
  eciesPublicKey: Hex
  measurement: Hex
  expiresAt: bigint
  /** The quote's id (a hash of its signed content): a quote registers once, whatever padding it carries. */
  quoteId: Hex
  receipt: TransactionReceipt
}

/** Registers `binding` with a quote that carries its report data; anyone may submit. */
export async function registerQuote(
  client: RegistryClient,
  params: { quote: Hex | Uint8Array; binding: KeyBinding },
): Promise<RegisteredKey> {
  const address = client.attestation.contracts.teeRegistry
  const quote = typeof params.quote === 'string' ? params.quote : bytesToHex(params.quote)
  const { request } = await simulated(() =>
    client.public.simulateContract({
      account: client.wallet.account,
      address,
      abi: teeRegistryAbi,
      functionName: 'register',
      args: [quote, params.binding],
    }),
  )
  // Quote verification hands precompiles all the gas left: an exact estimate leaves no room for the block it lands in.
  const gas = await simulated(() => client.public.estimateContractGas(request))
  const receipt = await sent(client, () => client.wallet.writeContract({ ...request, gas: gas + gas / 5n }))
  const { args } = eventOf(receipt, address, teeRegistryAbi, 'KeyRegistered')
  return {
    role: enumName(teeRoles, args.role, 'TeeRole'),
    marketId: args.marketId,
    signer: args.signer,
    operator: args.operator,
    eciesPublicKey: args.eciesPublicKey,
    measurement: args.measurement,
    expiresAt: BigInt(args.expiresAt),
    quoteId: args.quoteId,
    receipt,
  }
}

/**
 * The enclave is asked to register at a registry its measured configuration does not name: its client was built
 * from a deployment or chain id its TD was not launched for.
 */
export class RegistryNotConfiguredError extends Error {
  override readonly name = 'RegistryNotConfiguredError'
  constructor(
    readonly config: EnclaveConfig,
    readonly at: RegistryRef,
  ) {
    super(
      `this enclave attests for ${describeEnclaveConfig(config)}, not registry ${at.registry} on chain ` +
        `${at.chainId}: give it the chain id and deployment its TD was launched for, or launch a TD for this one`,
    )
  }
}

/** The RPC serves another chain than the one the enclave's configuration names: nothing is quoted for it. */
export class RpcChainMismatchError extends Error {
  override readonly name = 'RpcChainMismatchError'
  constructor(
    readonly configured: RegistryRef,
    readonly served: number,
  ) {
    super(
      `the RPC serves chain ${served}, but this enclave registers at ${configured.registry} on chain ` +
        `${configured.chainId}: point it at a node of chain ${configured.chainId}`,
    )
  }
}

/**
 * Where a registration through `client` lands, if the enclave's configuration names it: the client's chain (as
 * configured, not as its RPC claims) and registry.
 */
function configuredRegistry(client: RegistryClient, config: EnclaveConfig): RegistryRef {
  const at = { chainId: client.public.chain.id, registry: client.attestation.contracts.teeRegistry }
  const named = config.registries.some(
    (entry) => entry.chainId === at.chainId && isAddressEqual(entry.registry, at.registry),
  )
  if (!named) throw new RegistryNotConfiguredError(config, at)
  return at
}

/**
 * Registers an enclave key end to end, for the role of the enclave's configuration. Everything that goes into the
 * quote is the enclave's own: its keys, the operator (the submitting account, which the registry requires: the
 * prover for a prover key, an admitted operator for a matcher or relayer key, else OperatorNotAdmittedError before
 * any quote), and the chain id and registry of its measured configuration (RegistryNotConfiguredError otherwise).
 * The host only supplies a recent block number and hash, which the registry checks. The RPC must serve the
 * configured chain (RpcChainMismatchError before any quote), the report data is computed here, never read from the
 * chain, and the enclave checks the quote it gets back (its report data, its MRCONFIGID) before it is submitted.
 * Returns the KeyRegistered data with the quote, binding and report data used.
 */
export async function registerEnclaveKey(
  client: RegistryClient,
  params: Omit<EnclaveKeyParams, 'operator' | 'role'> & { enclave: EnclaveAttestation },
): Promise<RegisteredKey & { quote: Hex; binding: KeyBinding; reportData: Hex }> {
  const { enclave } = params
  const role = enclave.config.role
  const at = configuredRegistry(client, enclave.config)
  const served = await client.public.getChainId()
  if (served !== at.chainId) throw new RpcChainMismatchError(at, served)
  const operator = client.wallet.account.address
  if (role !== 'Prover' && !(await isAdmittedOperator(client, { role, operator }))) {
    throw new OperatorNotAdmittedError(role, operator, at.registry)
  }
  const binding = await keyBindingAtHead(client, { ...params, role, operator })
  const reportData = keyBindingReportData(binding, at)
  const quoteBytes = await enclave.provider.getQuote(hexToBytes(reportData))
  enclave.checkQuote(quoteBytes, hexToBytes(reportData))
  const quote = bytesToHex(quoteBytes)
  try {
    return { ...(await registerQuote(client, { quote, binding })), quote, binding, reportData }
  } catch (error) {
    // Removed between the check and the registration.
    if (role !== 'Prover' && decodeCairnError(error)?.name === 'OperatorNotAdmitted') {
      throw new OperatorNotAdmittedError(role, operator, at.registry)
    }
    throw error
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TEE proofs (src/verifiers/TeeProofVerifier.sol)

/**
 * EIP-712 over the verifier's domain: binds the chain and the verifier, and in the message the marketplace, the
 * request, its inputs digest, its assigned prover, the program and the public values.
 */
export const TEE_DIGEST_EIP712 = 0
/**
 * sp1-tee-prover layout: keccak256(sha256(programId ‖ committed public values)), signed without any prefix, where the
 * committed public values are teeProofBindingWord(statement) ‖ publicValues.
 */
export const TEE_DIGEST_SP1 = 1
export type TeeDigestKind = typeof TEE_DIGEST_EIP712 | typeof TEE_DIGEST_SP1

/**
 * What a TEE proof states: this program, run in the assigned prover's attested enclave on the request's inputs,
 * output these public values. TeeProofVerifier accepts it only for that request, inputs digest and prover, on that
 * chain, verifier and marketplace.
 */
export type TeeProofStatement = {
  /** The market's TeeProofVerifier. */
  verifier: Address
  chainId: number
  /** The marketplace the verifier serves (TeeProofVerifier.marketplace). */
  marketplace: Address
  /** The request the proof fulfils. */
  requestId: bigint
  /** The prover the request is assigned to: the signing key must be one of its enclave keys in the market. */
  prover: Address
  /**
   * The request's inputsDigest, keccak256(keccak256(public inputs) ‖ private-inputs digest). An enclave computes it
   * from the bytes it evaluated, never takes it from its host: the signature states which inputs it ran.
   */
  inputsDigest: Hex
  programId: Hex
  publicValues: Hex
}

/** The EIP-712 typed data of a TEE proof (src/types/TeeProof.sol), under its verifier's domain. */
export function teeProofTypedData(statement: TeeProofStatement): SignedTypedData<'teeProof'> {
  return cairnTypedData(
    'teeProof',
    { chainId: statement.chainId, address: statement.verifier },
    {
      marketplace: statement.marketplace,
      requestId: statement.requestId,
      prover: statement.prover,
      inputsDigest: statement.inputsDigest,
      programId: statement.programId,
      publicValuesHash: keccak256(statement.publicValues),
    },
  )
}

/**
 * The 32 bytes that lead the public values an enclave commits in the sp1-tee-prover layout, as
 * TeeProofVerifier.bindingWord computes them: keccak256(abi.encode(chainId, verifier, marketplace, requestId, prover,
 * inputsDigest)).
 */
export function teeProofBindingWord(statement: Omit<TeeProofStatement, 'programId' | 'publicValues'>): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'address' },
        { type: 'address' },
        { type: 'uint256' },
        { type: 'address' },
        { type: 'bytes32' },
      ],
      [
        BigInt(statement.chainId),
        statement.verifier,
        statement.marketplace,
        statement.requestId,
        statement.prover,
        statement.inputsDigest,
      ],
    ),
  )
}

/** The digest an enclave signs, as TeeProofVerifier.digest(kind, publicValues, context) computes it. */
export function teeProofDigest(kind: TeeDigestKind, statement: TeeProofStatement): Hex {
  if (kind === TEE_DIGEST_EIP712) return hashTypedData(teeProofTypedData(statement))
  const committed = concat([teeProofBindingWord(statement), statement.publicValues])
  return keccak256(sha256(encodePacked(['bytes32', 'bytes'], [statement.programId, committed])))
}

/**
 * A TEE proof for a market's TeeProofVerifier: abi.encode(uint8 kind, bytes32 programId, bytes signature) with a
 * 65-byte r ‖ s ‖ v signature by an enclave key of the statement's prover in the market (a local account or its
 * private key: the digest is signed as is, so a wallet that prefixes messages cannot produce it).
 */
export async function signTeeProof(
  signer: LocalAccount | Hex,
  statement: TeeProofStatement & { kind: TeeDigestKind },
): Promise<Hex> {
  const account = typeof signer === 'string' ? privateKeyToAccount(signer) : signer
  const signature =
    statement.kind === TEE_DIGEST_EIP712
      ? await account.signTypedData(teeProofTypedData(statement))
      : await signRawDigest(account, teeProofDigest(statement.kind, statement))
  return encodeAbiParameters(
    [{ type: 'uint8' }, { type: 'bytes32' }, { type: 'bytes' }],
    [statement.kind, statement.programId, signature],
  )
}

async function signRawDigest(account: LocalAccount, hash: Hex): Promise<Hex> {
  if (!account.sign) throw new Error(`account ${account.address} cannot sign a raw digest`)
  return account.sign({ hash })
}
