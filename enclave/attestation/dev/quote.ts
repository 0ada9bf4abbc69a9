import { concat, field, sha256, u16le, u32le, utf8 } from '../bytes.js'
import { type AttestationProvider, assertReportData } from '../provider.js'
import { INTEL_QE_VENDOR_ID, QE_REPORT_LENGTH, type TdxBodyType, type TdxQuoteVersion, TEE_TYPE_TDX } from '../quote.js'
import {
  DEFAULT_MR_SEAM,
  DEFAULT_QE_AUTH_DATA,
  DEFAULT_TEE_TCB_SVN,
  DEFAULT_XFAM,
  devMeasurement,
  SEPT_VE_DISABLE_BIT,
  SEPT_VE_DISABLE_BYTE,
  TD_QE,
} from './defaults.js'
import type { DevPki } from './pki.js'
import { signRaw } from './pki.js'

// The dev side of quotes: byte-exact v4 and v5 TDX quotes signed by the dev PKI, in the layout ../quote.ts parses.

export type TdReportFields = {
  teeTcbSvn?: Uint8Array // 16
  mrSeam?: Uint8Array // 48
  mrSignerSeam?: Uint8Array // 48
  seamAttributes?: Uint8Array // 8
  /** Overrides `debug` when given (8 bytes, little-endian u64). */
  tdAttributes?: Uint8Array
  /** TDATTRIBUTES bit 0. Default false; SEPT_VE_DISABLE (bit 28) is always set in the default attributes. */
  debug?: boolean
  xfam?: Uint8Array // 8
  mrTd?: Uint8Array // 48
  mrConfigId?: Uint8Array // 48
  mrOwner?: Uint8Array // 48
  mrOwnerConfig?: Uint8Array // 48
  rtmr0?: Uint8Array // 48
  rtmr1?: Uint8Array // 48
  rtmr2?: Uint8Array // 48
  rtmr3?: Uint8Array // 48
  /** TD report 1.5 only (16): the TDX module's TEE_TCB_SVN now, after any TD-preserving update. Default: teeTcbSvn. */
  teeTcbSvn2?: Uint8Array
  /** TD report 1.5 only (48): the service TD bound to this TD. Default zero (none bound). */
  mrServiceTd?: Uint8Array
}

/** The TD_QE's own SGX report; defaults are Intel's TD_QE values that the default dev QE identity accepts. */
export type QeReportFields = {
  cpuSvn?: Uint8Array // 16
  miscselect?: number
  attributes?: Uint8Array // 16
  mrEnclave?: Uint8Array // 32
  mrSigner?: Uint8Array // 32
  isvProdId?: number
  isvSvn?: number
}

export type DevQuoteOptions = TdReportFields & {
  /** Default 4 (TD report 1.0 body). 5: as TDX 1.5 platforms quote, with a body descriptor. */
  version?: TdxQuoteVersion
  /** v5 only. Default 3 (TD report 1.5, what TDX 1.5 modules report); 2 for a TD report 1.0. */
  bodyType?: TdxBodyType
  qe?: QeReportFields
  /** Default: 0x00..0x1f (32 bytes), as in the sample. */
  qeAuthData?: Uint8Array
  /** Header user data (20 bytes; the first 16 are the QE id). Default: derived from the PKI seed. */
  userData?: Uint8Array
  /** Zero-pad the quote to this many bytes, as real quote buffers often are (no signature covers the padding). */
  padTo?: number
}

const tdAttributesFor = (debug: boolean): Uint8Array => {
  const attributes = new Uint8Array(8)
  attributes[SEPT_VE_DISABLE_BYTE] = SEPT_VE_DISABLE_BIT
  if (debug) attributes[0] = 0x01
  return attributes
}

const TD15_ONLY_FIELDS = ['teeTcbSvn2', 'mrServiceTd'] as const

/** A TD report 1.0 (body type 2, 584 bytes) or 1.5 (body type 3, 648 bytes) for `reportData`. */
export const encodeTdReport = (
  fields: TdReportFields,
  reportData: Uint8Array,
  bodyType: TdxBodyType = 2,
): Uint8Array => {
  const td10 = concat(
    field('teeTcbSvn', fields.teeTcbSvn ?? DEFAULT_TEE_TCB_SVN, 16),
    field('mrSeam', fields.mrSeam ?? DEFAULT_MR_SEAM, 48),
    field('mrSignerSeam', fields.mrSignerSeam, 48),
    field('seamAttributes', fields.seamAttributes, 8),
    field('tdAttributes', fields.tdAttributes ?? tdAttributesFor(fields.debug ?? false), 8),
    field('xfam', fields.xfam ?? DEFAULT_XFAM, 8),
    field('mrTd', fields.mrTd ?? devMeasurement('mrtd'), 48),
    field('mrConfigId', fields.mrConfigId, 48),
    field('mrOwner', fields.mrOwner, 48),
    field('mrOwnerConfig', fields.mrOwnerConfig, 48),
    field('rtmr0', fields.rtmr0 ?? devMeasurement('rtmr0'), 48),
    field('rtmr1', fields.rtmr1 ?? devMeasurement('rtmr1'), 48),
    field('rtmr2', fields.rtmr2 ?? devMeasurement('rtmr2'), 48),
    field('rtmr3', fields.rtmr3, 48),
    field('reportData', reportData, 64),
  )
  if (bodyType === 3) {
    return concat(
      td10,
      field('teeTcbSvn2', fields.teeTcbSvn2 ?? fields.teeTcbSvn ?? DEFAULT_TEE_TCB_SVN, 16),
      field('mrServiceTd', fields.mrServiceTd, 48),
    )
  }
  // A field the body has no room for would be silently dropped: the caller meant another quote.
  for (const name of TD15_ONLY_FIELDS) {
    if (fields[name] !== undefined) {
      throw new RangeError(`${name} is a TD report 1.5 field: build a v5 quote with body type 3 to carry it`)
    }
  }
  return td10
}

/** The body a dev quote carries: a v4 quote a TD report 1.0, a v5 quote the type asked for (default TD report 1.5). */
const bodyTypeOf = (options: DevQuoteOptions): TdxBodyType => {
  const version = options.version ?? 4
  if (version !== 4 && version !== 5) throw new RangeError(`quote version must be 4 or 5, got ${version}`)
  if (version === 4) {
    if (options.bodyType === 3) {
      throw new RangeError('a v4 quote carries a TD report 1.0 (body type 2): use version 5 for a TD report 1.5')
    }
    return 2
  }
  const bodyType = options.bodyType ?? 3
  if (bodyType !== 2 && bodyType !== 3) {
    throw new RangeError(`v5 body type must be 2 (TD report 1.0) or 3 (TD report 1.5), got ${bodyType}`)
  }
  return bodyType
}

/** SGX report layout (reference §1.2); reserved ranges stay zero. */
export const encodeQeReport = (fields: QeReportFields, reportData: Uint8Array): Uint8Array => {
  const report = new Uint8Array(QE_REPORT_LENGTH)
  const view = new DataView(report.buffer)
  report.set(field('cpuSvn', fields.cpuSvn ?? TD_QE.cpuSvn, 16), 0)
  view.setUint32(16, fields.miscselect ?? TD_QE.miscselect, true)
  report.set(field('attributes', fields.attributes ?? TD_QE.attributes, 16), 48)
  report.set(field('mrEnclave', fields.mrEnclave ?? TD_QE.mrEnclave, 32), 64)
  report.set(field('mrSigner', fields.mrSigner ?? TD_QE.mrSigner, 32), 128)
  view.setUint16(256, fields.isvProdId ?? TD_QE.isvProdId, true)
  view.setUint16(258, fields.isvSvn ?? TD_QE.isvSvn, true)
  report.set(field('qe reportData', reportData, 64), 320)
  return report
}

/**
 * Builds a complete signed TDX quote (v4 unless `options.version` is 5) for `reportData` from the dev PKI.
 * Deterministic for a seeded PKI.
 */
export const buildDevQuote = (pki: DevPki, reportData: Uint8Array, options: DevQuoteOptions = {}): Uint8Array => {
  assertReportData(reportData)
  const userData = field(
    'userData',
    options.userData ?? concat(sha256(pki.seed, utf8('qe-id')).slice(0, 16), new Uint8Array(4)),
    20,
  )
  const bodyType = bodyTypeOf(options)
  const version = options.version ?? 4
  const header = concat(
    u16le(version),
    u16le(2), // attestation key type: ECDSA-256 with P-256
    u32le(TEE_TYPE_TDX),
    new Uint8Array(4), // reserved in v4 and v5
    INTEL_QE_VENDOR_ID,
    userData,
  )
  const body = encodeTdReport(options, reportData, bodyType)
  const descriptor = version === 5 ? concat(u16le(bodyType), u32le(body.length)) : new Uint8Array(0)
  const signed = concat(header, descriptor, body)
  const attestationKey = pki.attestationKey.publicKey

  // The QE vouches for the attestation key by putting sha256(key ‖ auth data) in its own report data.
  const qeAuthData = options.qeAuthData ?? DEFAULT_QE_AUTH_DATA
  const qeReport = encodeQeReport(options.qe ?? {}, concat(sha256(attestationKey, qeAuthData), new Uint8Array(32)))
  const pem = concat(utf8(pki.pckChainPem), Uint8Array.of(0)) // Intel's quotes end the PEM with a NUL
  const qeCertificationData = concat(
    qeReport,
    signRaw(pki.pckLeaf.key, qeReport),
    u16le(qeAuthData.length),
    qeAuthData,
    u16le(5), // PCK certificate chain, PEM
    u32le(pem.length),
    pem,
  )
  const signatureData = concat(
    signRaw(pki.attestationKey, signed),
    attestationKey,
    u16le(6), // QE report certification data
    u32le(qeCertificationData.length),
    qeCertificationData,
  )
  const quote = concat(signed, u32le(signatureData.length), signatureData)
  if (options.padTo === undefined || options.padTo <= quote.length) return quote
  return concat(quote, new Uint8Array(options.padTo - quote.length))
}

export type DevProviderOptions = DevQuoteOptions & { name?: string }

export const createDevProvider = (pki: DevPki, options: DevProviderOptions = {}): AttestationProvider => ({
  name: options.name ?? 'dev-dcap',
  getQuote: async (reportData) => buildDevQuote(pki, reportData, options),
})
