import {
  type Address,
  concat,
  encodeAbiParameters,
  getAddress,
  type Hex,
  keccak256,
  size,
  toHex,
  zeroAddress,
} from 'viem'
import type { AttestationProvider } from './attestation.js'
import { type TeeRole, teeRoles } from './types.js'

/*
 * An enclave's measured configuration: what it attests for. A TD gets its configuration from the host at launch,
 * so the chain and registry an enclave binds into its keys' report data are only as trustworthy as the proof that the
 * TD was launched for them. TDX's proof is MRCONFIGID: 48 bytes the host sets at launch, fixed for the TD's life and
 * in every quote (and in TdxReport.tdConfig, which a TeeRegistry pins per role and market with setTdConfigPinned).
 * Cairn's convention: MRCONFIGID = enclaveConfigId(config) ‖ 16 zero bytes. The enclave refuses to use a quote whose
 * MRCONFIGID is not the id of the configuration it acts on, and a registry that pins the matching tdConfig accepts
 * keys only from TDs launched for it.
 */

/** A TeeRegistry on a chain: where an enclave registers its keys. */
export type RegistryRef = { chainId: number; registry: Address }

export type EnclaveConfig = {
  /** The role of every key it registers. */
  role: TeeRole
  /** Every registry it registers keys on: one for a matcher or a prover, one per chain for a relayer. */
  registries: readonly RegistryRef[]
}

/**
 * The attestation side of an enclave: the configuration its TD was launched for, its quote source, and its own check
 * of every quote before anything uses it (enclave/attestation's enclaveAttestation builds one).
 */
export type EnclaveAttestation = {
  config: EnclaveConfig
  provider: AttestationProvider
  /** Throws unless `quote` carries exactly `reportData` and a MRCONFIGID naming `config`. */
  checkQuote(quote: Uint8Array, reportData: Uint8Array): void
}

/** The domain tag hashed into every config id: the layout of the abi-encoded record it is followed by. */
export const ENCLAVE_CONFIG_DOMAIN = 'CairnEnclaveConfig(uint8 role,(uint256 chainId,address registry)[] registries)'

const registryTuples = [
  {
    type: 'tuple[]',
    components: [
      { name: 'chainId', type: 'uint256' },
      { name: 'registry', type: 'address' },
    ],
  },
] as const

type Entry = { chainId: bigint; registry: Address }

function byChainThenRegistry(a: Entry, b: Entry): number {
  if (a.chainId !== b.chainId) return a.chainId < b.chainId ? -1 : 1
  return a.registry.toLowerCase().localeCompare(b.registry.toLowerCase())
}

/** The registries in one canonical order (chain id, then address), so the id does not depend on how they are listed. */
function canonicalRegistries(registries: readonly RegistryRef[]): Entry[] {
  if (registries.length === 0) throw new RangeError('an enclave configuration names at least one registry')
  const sorted = registries
    .map(({ chainId, registry }) => {
      if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new RangeError(`chain id ${chainId} is not positive`)
      if (registry === zeroAddress) throw new RangeError(`chain ${chainId}: the registry address is zero`)
      return { chainId: BigInt(chainId), registry: getAddress(registry) }
    })
    .sort(byChainThenRegistry)
  sorted.forEach((entry, i) => {
    const previous = sorted[i - 1]
    if (previous && previous.chainId === entry.chainId && previous.registry === entry.registry) {
      throw new RangeError(`registry ${entry.registry} on chain ${entry.chainId} is listed twice`)
    }
  })
  return sorted
}

/**
 * keccak256(abi.encode(keccak256(ENCLAVE_CONFIG_DOMAIN), uint8 role, (uint256 chainId, address registry)[] registries))
 * with the registries in canonical order.
 */
export function enclaveConfigId(config: EnclaveConfig): Hex {
  const role = teeRoles.indexOf(config.role)
  if (role < 0) throw new RangeError(`unknown role ${config.role}`)
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'uint8' }, ...registryTuples],
      [keccak256(toHex(ENCLAVE_CONFIG_DOMAIN)), role, canonicalRegistries(config.registries)],
    ),
  )
}

/** The 48-byte MRCONFIGID a TD is launched with to attest for `config`: its id ‖ 16 zero bytes. */
export function mrConfigIdOf(config: EnclaveConfig): Hex {
  return concat([enclaveConfigId(config), toHex(0, { size: 16 })])
}

/** A readable summary of a configuration, for error messages. */
export function describeEnclaveConfig(config: EnclaveConfig): string {
  const where = config.registries.map(({ chainId, registry }) => `registry ${registry} on chain ${chainId}`)
  return `${config.role} keys at ${where.join(' and ')}`
}

export type TdConfigFields = {
  xfam: Hex
  mrConfigId: Hex
  /** Zero unless the TD was launched with an owner. */
  mrOwner?: Hex
  mrOwnerConfig?: Hex
  /** Zero for TD 1.0 reports. */
  mrServiceTd?: Hex
}

const ZERO_48 = toHex(0, { size: 48 })

/**
 * A TD's configuration beyond its measurement, as the quote verifiers report it (TdxReport.tdConfig) and a registry
 * pins it: keccak256(XFAM ‖ MRCONFIGID ‖ MROWNER ‖ MROWNERCONFIG ‖ MRSERVICETD).
 */
export function tdConfigOf(fields: TdConfigFields): Hex {
  const parts: [string, Hex, number][] = [
    ['xfam', fields.xfam, 8],
    ['mrConfigId', fields.mrConfigId, 48],
    ['mrOwner', fields.mrOwner ?? ZERO_48, 48],
    ['mrOwnerConfig', fields.mrOwnerConfig ?? ZERO_48, 48],
    ['mrServiceTd', fields.mrServiceTd ?? ZERO_48, 48],
  ]
  for (const [name, value, length] of parts) {
    if (size(value) !== length) throw new RangeError(`${name} must be ${length} bytes, got ${size(value)}`)
  }
  return keccak256(concat(parts.map(([, value]) => value)))
}
