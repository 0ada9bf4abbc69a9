import type { DcapCollateral } from '../../../ts/attestation.js'
import { toHex, utf8 } from '../bytes.js'
import { TD_QE } from './defaults.js'
import { type DevCrl, type DevPki, signRaw } from './pki.js'

/**
 * Dev collateral in the exact shape of `test/fixtures/dcap/tdx_quote_collateral.json` (dcap-qvl's `Collateral`):
 * the TCB info and QE identity are compact JSON text with Intel's key order, signed as UTF-8 bytes by the dev TCB
 * Signing key (raw r‖s hex); CRLs are hex DER; issuer chains are PEM.
 */

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked'

export type TcbComponent = { svn: number; category?: string; type?: string }

export type TdxTcbLevel = {
  tcb: { sgxtcbcomponents: TcbComponent[]; pcesvn: number; tdxtcbcomponents: TcbComponent[] }
  tcbDate: string
  tcbStatus: TcbStatus
  advisoryIDs?: string[]
}

export type IsvTcbLevel = { tcb: { isvsvn: number }; tcbDate: string; tcbStatus: TcbStatus; advisoryIDs?: string[] }

export type TdxModule = { mrsigner: string; attributes: string; attributesMask: string }

export type TdxModuleIdentity = TdxModule & { id: string; tcbLevels: IsvTcbLevel[] }

export type TdxTcbInfo = {
  id: 'TDX'
  version: 3
  issueDate: string
  nextUpdate: string
  fmspc: string
  pceId: string
  tcbType: 0
  tcbEvaluationDataNumber: number
  tdxModule: TdxModule
  /** Optional in Intel's format: without it only version-0 modules can be evaluated (by `tdxModule` and the levels). */
  tdxModuleIdentities?: TdxModuleIdentity[]
  tcbLevels: TdxTcbLevel[]
}

export type TdQeIdentity = {
  id: 'TD_QE'
  version: 2
  issueDate: string
  nextUpdate: string
  tcbEvaluationDataNumber: number
  miscselect: string
  miscselectMask: string
  attributes: string
  attributesMask: string
  mrsigner: string
  isvprodid: number
  tcbLevels: IsvTcbLevel[]
}

export type { DcapCollateral }

/** A platform TCB level in compact form; expanded with Intel's component labels. */
export type DevTcbLevel = {
  sgxSvns: number[]
  pceSvn: number
  tdxSvns: number[]
  tcbDate: string
  tcbStatus: TcbStatus
  advisoryIDs?: string[]
}

export type DevIsvLevel = { isvsvn: number; tcbDate: string; tcbStatus: TcbStatus; advisoryIDs?: string[] }

export type DevModuleIdentity = TdxModule & { id: string; tcbLevels: DevIsvLevel[] }

export type DevQeIdentityOptions = {
  miscselect?: string
  miscselectMask?: string
  attributes?: string
  attributesMask?: string
  mrsigner?: string
  isvprodid?: number
  tcbLevels?: DevIsvLevel[]
}

export type DevCollateralOptions = {
  /** Default: the PKI's PCK FMSPC / PCE-ID. */
  fmspc?: Uint8Array
  pceId?: Uint8Array
  /** Default: pki.now − 1 day … pki.now + 30 days (both TCB info and QE identity). */
  issueDate?: Date
  nextUpdate?: Date
  tcbEvaluationDataNumber?: number
  /** Newest first. Default: the sample's two levels (UpToDate, then OutOfDate). */
  tcbLevels?: DevTcbLevel[]
  tdxModule?: TdxModule
  /** Default: the sample's TDX_03 and TDX_01. `null` leaves the field out (Intel treats it as optional). */
  tdxModuleIdentities?: DevModuleIdentity[] | null
  qeIdentity?: DevQeIdentityOptions
  /** Default: the PKI's CRLs. */
  rootCaCrl?: DevCrl
  pckCrl?: DevCrl
}

const DAY = 86_400_000

/** Intel's labels for the components the sample's TCB info names (index → category/type). */
const SGX_LABELS: Record<number, Omit<TcbComponent, 'svn'>> = {
  0: { category: 'BIOS', type: 'Early Microcode Update' },
  1: { category: 'OS/VMM', type: 'SGX Late Microcode Update' },
  2: { category: 'OS/VMM', type: 'TXT SINIT' },
  3: { category: 'BIOS' },
  4: { category: 'BIOS' },
  5: { category: 'BIOS' },
  7: { category: 'OS/VMM', type: 'SEAMLDR ACM' },
}
const TDX_LABELS: Record<number, Omit<TcbComponent, 'svn'>> = {
  0: { category: 'OS/VMM', type: 'TDX Module' },
  1: { category: 'OS/VMM', type: 'TDX Module' },
  2: { category: 'OS/VMM', type: 'TDX Late Microcode Update' },
}

const SAMPLE_ADVISORIES = [
  'INTEL-SA-00106',
  'INTEL-SA-00115',
  'INTEL-SA-00135',
  'INTEL-SA-00203',
  'INTEL-SA-00220',
  'INTEL-SA-00233',
  'INTEL-SA-00270',
  'INTEL-SA-00293',
  'INTEL-SA-00320',
  'INTEL-SA-00329',
  'INTEL-SA-00381',
  'INTEL-SA-00389',
  'INTEL-SA-00477',
  'INTEL-SA-00837',
]

const SAMPLE_SGX_SVNS = [2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]
const SAMPLE_TDX_SVNS = [5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

export const DEFAULT_TCB_LEVELS: DevTcbLevel[] = [
  {
    sgxSvns: SAMPLE_SGX_SVNS,
    pceSvn: 11,
    tdxSvns: SAMPLE_TDX_SVNS,
    tcbDate: '2024-03-13T00:00:00Z',
    tcbStatus: 'UpToDate',
  },
  {
    sgxSvns: SAMPLE_SGX_SVNS,
    pceSvn: 5,
    tdxSvns: SAMPLE_TDX_SVNS,
    tcbDate: '2018-01-04T00:00:00Z',
    tcbStatus: 'OutOfDate',
    advisoryIDs: SAMPLE_ADVISORIES,
  },
]

/** Intel's module: MRSIGNERSEAM zero (48 bytes), SEAMATTRIBUTES zero, full mask. */
export const INTEL_TDX_MODULE: TdxModule = {
  mrsigner: '0'.repeat(96),
  attributes: '0000000000000000',
  attributesMask: 'FFFFFFFFFFFFFFFF',
}

export const DEFAULT_MODULE_IDENTITIES: DevModuleIdentity[] = [
  {
    id: 'TDX_03',
    ...INTEL_TDX_MODULE,
    tcbLevels: [{ isvsvn: 3, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
  },
  {
    id: 'TDX_01',
    ...INTEL_TDX_MODULE,
    tcbLevels: [
      { isvsvn: 4, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' },
      { isvsvn: 2, tcbDate: '2023-08-09T00:00:00Z', tcbStatus: 'OutOfDate' },
    ],
  },
]

/** The sample's TD_QE identity values (hex upper-case as Intel serves them). */
export const DEFAULT_QE_IDENTITY: Required<DevQeIdentityOptions> = {
  miscselect: '00000000',
  miscselectMask: 'FFFFFFFF',
  attributes: '11000000000000000000000000000000',
  attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
  mrsigner: toHex(TD_QE.mrSigner).toUpperCase(),
  isvprodid: TD_QE.isvProdId,
  tcbLevels: [{ isvsvn: 4, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
}

/** Intel's timestamp style: ISO 8601, whole seconds, 'Z'. */
export const intelDate = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z')

// Builders fix the key order (JSON.stringify keeps insertion order), whatever order the caller's objects use.
const component = (svn: number, label: Omit<TcbComponent, 'svn'> | undefined): TcbComponent => ({
  svn,
  ...(label?.category === undefined ? {} : { category: label.category }),
  ...(label?.type === undefined ? {} : { type: label.type }),
})

const components = (svns: number[], labels: Record<number, Omit<TcbComponent, 'svn'>>): TcbComponent[] => {
  if (svns.length !== 16) throw new RangeError('a TCB level needs 16 component SVNs')
  return svns.map((svn, i) => component(svn, labels[i]))
}

const advisories = (ids: string[] | undefined): { advisoryIDs?: string[] } =>
  ids === undefined ? {} : { advisoryIDs: [...ids] }

const tdxLevel = (level: DevTcbLevel): TdxTcbLevel => ({
  tcb: {
    sgxtcbcomponents: components(level.sgxSvns, SGX_LABELS),
    pcesvn: level.pceSvn,
    tdxtcbcomponents: components(level.tdxSvns, TDX_LABELS),
  },
  tcbDate: level.tcbDate,
  tcbStatus: level.tcbStatus,
  ...advisories(level.advisoryIDs),
})

const isvLevel = (level: DevIsvLevel): IsvTcbLevel => ({
  tcb: { isvsvn: level.isvsvn },
  tcbDate: level.tcbDate,
  tcbStatus: level.tcbStatus,
  ...advisories(level.advisoryIDs),
})

const tdxModule = (module: TdxModule): TdxModule => ({
  mrsigner: module.mrsigner,
  attributes: module.attributes,
  attributesMask: module.attributesMask,
})

export const buildDevCollateral = (pki: DevPki, options: DevCollateralOptions = {}): DcapCollateral => {
  const issueDate = intelDate(options.issueDate ?? new Date(pki.now.getTime() - DAY))
  const nextUpdate = intelDate(options.nextUpdate ?? new Date(pki.now.getTime() + 30 * DAY))
  const tcbEvaluationDataNumber = options.tcbEvaluationDataNumber ?? 17
  const identities = options.tdxModuleIdentities === undefined ? DEFAULT_MODULE_IDENTITIES : options.tdxModuleIdentities

  const tcbInfo: TdxTcbInfo = {
    id: 'TDX',
    version: 3,
    issueDate,
    nextUpdate,
    fmspc: toHex(options.fmspc ?? pki.pck.fmspc).toUpperCase(),
    pceId: toHex(options.pceId ?? pki.pck.pceId).toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber,
    tdxModule: tdxModule(options.tdxModule ?? INTEL_TDX_MODULE),
    ...(identities === null
      ? {}
      : {
          tdxModuleIdentities: identities.map((identity) => ({
            id: identity.id,
            ...tdxModule(identity),
            tcbLevels: identity.tcbLevels.map(isvLevel),
          })),
        }),
    tcbLevels: (options.tcbLevels ?? DEFAULT_TCB_LEVELS).map(tdxLevel),
  }

  const qe = { ...DEFAULT_QE_IDENTITY, ...options.qeIdentity }
  const qeIdentity: TdQeIdentity = {
    id: 'TD_QE',
    version: 2,
    issueDate,
    nextUpdate,
    tcbEvaluationDataNumber,
    miscselect: qe.miscselect,
    miscselectMask: qe.miscselectMask,
    attributes: qe.attributes,
    attributesMask: qe.attributesMask,
    mrsigner: qe.mrsigner,
    isvprodid: qe.isvprodid,
    tcbLevels: qe.tcbLevels.map(isvLevel),
  }

  const tcbInfoText = JSON.stringify(tcbInfo)
  const qeIdentityText = JSON.stringify(qeIdentity)
  return {
    pck_crl_issuer_chain: pki.pckCrlIssuerChainPem,
    root_ca_crl: toHex((options.rootCaCrl ?? pki.rootCaCrl).der),
    pck_crl: toHex((options.pckCrl ?? pki.pckCrl).der),
    tcb_info_issuer_chain: pki.tcbSigningChainPem,
    tcb_info: tcbInfoText,
    tcb_info_signature: toHex(signRaw(pki.tcbSigning.key, utf8(tcbInfoText))),
    qe_identity_issuer_chain: pki.tcbSigningChainPem,
    qe_identity: qeIdentityText,
    qe_identity_signature: toHex(signRaw(pki.tcbSigning.key, utf8(qeIdentityText))),
  }
}

/** The sample file's formatting: two-space indented JSON. */
export const serializeCollateral = (collateral: DcapCollateral): string => `${JSON.stringify(collateral, null, 2)}\n`
