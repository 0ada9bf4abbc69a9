import { concat, equalBytes, field, readU16le, readU32le, sha256, u16le, u32le, utf8 } from './bytes.js'
import {
  DEFAULT_MR_SEAM,
  DEFAULT_QE_AUTH_DATA,
  DEFAULT_TEE_TCB_SVN,
  DEFAULT_XFAM,
  devMeasurement,
  INTEL_QE_VENDOR_ID,
  SEPT_VE_DISABLE_BIT,
  SEPT_VE_DISABLE_BYTE,
  TD_QE,
} from './defaults.js'
import type { DevPki } from './pki.js'
import { signRaw } from './pki.js'
import { type AttestationProvider, assertReportData } from './provider.js'

/**
 * Byte-exact DCAP quote v4 with a TDX TD report 1.0 body (reference §1): 48-byte header, 584-byte body, u32
 * signature-data length, then signature, attestation key and certification data type 6 (QE report, its PCK
 * signature, QE auth data, and type 5: the PEM PCK chain with a trailing NUL). Integers are little-endian.
 */

export const HEADER_LENGTH = 48
export const TD_REPORT_LENGTH = 584
export const SIGNED_LENGTH = HEADER_LENGTH + TD_REPORT_LENGTH // 632: what the attestation key signs
export const SIGNATURE_DATA_OFFSET = SIGNED_LENGTH + 4 // 636
export const QE_REPORT_LENGTH = 384
export const TEE_TYPE_TDX = 0x81
export const REPORT_DATA_OFFSET = 568

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

export const encodeTdReport = (fields: TdReportFields, reportData: Uint8Array): Uint8Array =>
  concat(
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

/** Builds a complete signed v4 TDX quote for `reportData` from the dev PKI. Deterministic for a seeded PKI. */
export const buildDevQuote = (pki: DevPki, reportData: Uint8Array, options: DevQuoteOptions = {}): Uint8Array => {
  assertReportData(reportData)
  const userData = field(
    'userData',
    options.userData ?? concat(sha256(pki.seed, utf8('qe-id')).slice(0, 16), new Uint8Array(4)),
    20,
  )
  const header = concat(
    u16le(4), // version
    u16le(2), // attestation key type: ECDSA-256 with P-256
    u32le(TEE_TYPE_TDX),
    new Uint8Array(4), // reserved in v4
    INTEL_QE_VENDOR_ID,
    userData,
  )
  const body = encodeTdReport(options, reportData)
  const signed = concat(header, body)
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

// ---------------------------------------------------------------------------------------------------------------
// Parsing (the same rules as src/attestation/libraries/TdxQuoteV4.sol)

export class QuoteFormatError extends Error {
  override name = 'QuoteFormatError'
}

export type ParsedTdxQuote = {
  version: number
  attestationKeyType: number
  teeType: number
  qeVendorId: Uint8Array
  userData: Uint8Array
  body: {
    teeTcbSvn: Uint8Array
    mrSeam: Uint8Array
    mrSignerSeam: Uint8Array
    seamAttributes: Uint8Array
    tdAttributes: Uint8Array
    xfam: Uint8Array
    mrTd: Uint8Array
    mrConfigId: Uint8Array
    mrOwner: Uint8Array
    mrOwnerConfig: Uint8Array
    rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    reportData: Uint8Array
  }
  /** header ‖ body: what the attestation key signed. */
  signedBytes: Uint8Array
  signatureDataLength: number
  signature: Uint8Array
  attestationKey: Uint8Array
  certificationDataType: number
  certificationDataSize: number
  qeReportOffset: number
  qeReport: Uint8Array
  qeReportFields: {
    cpuSvn: Uint8Array
    miscselect: number
    attributes: Uint8Array
    mrEnclave: Uint8Array
    mrSigner: Uint8Array
    isvProdId: number
    isvSvn: number
    reportData: Uint8Array
  }
  qeReportSignature: Uint8Array
  qeAuthData: Uint8Array
  innerCertificationDataType: number
  pemOffset: number
  pemSize: number
  /** The PEM chain bytes as carried (including any trailing NUL). */
  pem: Uint8Array
  /** End of the signature data: quote[0:end] is the content; anything after is padding. */
  end: number
}

const slice = (quote: Uint8Array, offset: number, length: number): Uint8Array => {
  if (offset + length > quote.length) throw new QuoteFormatError(`quote truncated at ${offset + length}`)
  return quote.subarray(offset, offset + length)
}

export const parseTdxQuoteV4 = (quote: Uint8Array): ParsedTdxQuote => {
  const s = SIGNATURE_DATA_OFFSET
  if (quote.length < s + 134) throw new QuoteFormatError(`quote too short: ${quote.length}`)
  const version = readU16le(quote, 0)
  const attestationKeyType = readU16le(quote, 2)
  const teeType = readU32le(quote, 4)
  if (version !== 4) throw new QuoteFormatError(`unsupported quote version ${version}`)
  if (attestationKeyType !== 2) throw new QuoteFormatError(`unsupported attestation key type ${attestationKeyType}`)
  if (teeType !== TEE_TYPE_TDX) throw new QuoteFormatError(`not a TDX quote (tee type ${teeType})`)
  if (!equalBytes(quote.subarray(12, 28), INTEL_QE_VENDOR_ID)) throw new QuoteFormatError('QE vendor is not Intel')

  const b = HEADER_LENGTH
  const at = (offset: number, length: number) => slice(quote, b + offset, length)
  const signatureDataLength = readU32le(quote, SIGNED_LENGTH)
  const end = s + signatureDataLength
  if (end > quote.length) throw new QuoteFormatError('signature data overruns the quote')

  const certificationDataType = readU16le(quote, s + 128)
  if (certificationDataType !== 6) throw new QuoteFormatError(`certification data type ${certificationDataType}`)
  const certificationDataSize = readU32le(quote, s + 130)
  const qeReportOffset = s + 134
  const qeReport = slice(quote, qeReportOffset, QE_REPORT_LENGTH)
  const qeView = new DataView(qeReport.buffer, qeReport.byteOffset, qeReport.byteLength)
  let cursor = qeReportOffset + QE_REPORT_LENGTH
  const qeReportSignature = slice(quote, cursor, 64)
  cursor += 64
  const qeAuthSize = readU16le(quote, cursor)
  const qeAuthData = slice(quote, cursor + 2, qeAuthSize)
  cursor += 2 + qeAuthSize
  const innerCertificationDataType = readU16le(quote, cursor)
  if (innerCertificationDataType !== 5) {
    throw new QuoteFormatError(`inner certification data type ${innerCertificationDataType}`)
  }
  const pemSize = readU32le(quote, cursor + 2)
  const pemOffset = cursor + 6
  const pem = slice(quote, pemOffset, pemSize)
  if (pemOffset + pemSize - qeReportOffset !== certificationDataSize) {
    throw new QuoteFormatError('type-6 size does not match its content')
  }
  if (pemOffset + pemSize !== end) throw new QuoteFormatError('signature data length does not match its content')

  return {
    version,
    attestationKeyType,
    teeType,
    qeVendorId: slice(quote, 12, 16),
    userData: slice(quote, 28, 20),
    body: {
      teeTcbSvn: at(0, 16),
      mrSeam: at(16, 48),
      mrSignerSeam: at(64, 48),
      seamAttributes: at(112, 8),
      tdAttributes: at(120, 8),
      xfam: at(128, 8),
      mrTd: at(136, 48),
      mrConfigId: at(184, 48),
      mrOwner: at(232, 48),
      mrOwnerConfig: at(280, 48),
      rtmr: [at(328, 48), at(376, 48), at(424, 48), at(472, 48)],
      reportData: at(520, 64),
    },
    signedBytes: slice(quote, 0, SIGNED_LENGTH),
    signatureDataLength,
    signature: slice(quote, s, 64),
    attestationKey: slice(quote, s + 64, 64),
    certificationDataType,
    certificationDataSize,
    qeReportOffset,
    qeReport,
    qeReportFields: {
      cpuSvn: qeReport.subarray(0, 16),
      miscselect: qeView.getUint32(16, true),
      attributes: qeReport.subarray(48, 64),
      mrEnclave: qeReport.subarray(64, 96),
      mrSigner: qeReport.subarray(128, 160),
      isvProdId: qeView.getUint16(256, true),
      isvSvn: qeView.getUint16(258, true),
      reportData: qeReport.subarray(320, 384),
    },
    qeReportSignature,
    qeAuthData,
    innerCertificationDataType,
    pemOffset,
    pemSize,
    pem,
    end,
  }
}
