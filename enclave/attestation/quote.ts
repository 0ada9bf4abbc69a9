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
 * Byte-exact DCAP TDX quotes (reference §1), v4 and v5: 48-byte header; in v5 a 6-byte body descriptor (u16 body
 * type ‖ u32 body size); the body, a TD report 1.0 (584 bytes: every v4 body, v5 type 2) or 1.5 (648 bytes: the 1.0
 * fields, TEE_TCB_SVN2 and MRSERVICETD; v5 type 3); u32 signature-data length, then signature, attestation key and
 * certification data type 6 (QE report, its PCK signature, QE auth data, and type 5: the PEM PCK chain with a
 * trailing NUL). Integers are little-endian. The attestation key signs everything before the signature data. The
 * layout rules are src/attestation/libraries/TdxQuote.sol's.
 */

/** DCAP quote versions with a TDX body: 4, and 5 (TDX 1.5 platforms). */
export type TdxQuoteVersion = 4 | 5
/** Body types of v5 quotes: 2 = TD report 1.0, 3 = TD report 1.5. A v4 body is a TD report 1.0 (type 2). */
export type TdxBodyType = 2 | 3

export const HEADER_LENGTH = 48
/** v5 only: u16 body type ‖ u32 body size, between the header and the body. */
export const BODY_DESCRIPTOR_LENGTH = 6
export const TD10_BODY_LENGTH = 584
export const TD15_BODY_LENGTH = 648
export const QE_REPORT_LENGTH = 384
export const TEE_TYPE_TDX = 0x81
/** Offset of REPORTDATA in a TD report (either version). */
export const TD_REPORT_DATA = 520

// Absolute offsets in a v4 quote (the dev fixtures' layout). A v5 quote's are 6 bytes later, and a TD 1.5 body's
// signature data another 64: take them from parseTdxQuote (bodyOffset, signedBytes) for any quote.
export const SIGNED_LENGTH = HEADER_LENGTH + TD10_BODY_LENGTH // 632: what the attestation key signs
export const SIGNATURE_DATA_OFFSET = SIGNED_LENGTH + 4 // 636
export const REPORT_DATA_OFFSET = HEADER_LENGTH + TD_REPORT_DATA // 568

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

// ---------------------------------------------------------------------------------------------------------------
// Parsing (the same rules as src/attestation/libraries/TdxQuote.sol)

export class QuoteFormatError extends Error {
  override name = 'QuoteFormatError'
}

export type ParsedTdxQuote = {
  version: TdxQuoteVersion
  /** 2: TD report 1.0 (every v4 quote), 3: TD report 1.5 (v5 only). */
  bodyType: TdxBodyType
  /** Offset of the TD report: 48 in v4, 54 in v5 (after the body descriptor). */
  bodyOffset: number
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
    /** TD report 1.5; 16 zero bytes for a TD report 1.0, which has none. */
    teeTcbSvn2: Uint8Array
    /** TD report 1.5; 48 zero bytes for a TD report 1.0, as the verifiers' tdConfig takes it. */
    mrServiceTd: Uint8Array
  }
  /** header ‖ (v5) body descriptor ‖ body: what the attestation key signed. */
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

/** The smallest quote with a header, a TD report 1.0 and the fixed part of the signature data (TdxQuote.MIN_LENGTH). */
const MIN_QUOTE_LENGTH = HEADER_LENGTH + TD10_BODY_LENGTH + 4 + 134

type BodyLayout = { bodyType: TdxBodyType; bodyOffset: number; bodyLength: number }

/** Where the TD report is and which one: a v4 quote has a TD report 1.0 after the header, a v5 quote says so. */
const bodyLayoutOf = (quote: Uint8Array, version: TdxQuoteVersion): BodyLayout => {
  if (version === 4) return { bodyType: 2, bodyOffset: HEADER_LENGTH, bodyLength: TD10_BODY_LENGTH }
  const bodyType = readU16le(quote, HEADER_LENGTH)
  const bodySize = readU32le(quote, HEADER_LENGTH + 2)
  const bodyOffset = HEADER_LENGTH + BODY_DESCRIPTOR_LENGTH
  if (bodyType === 2 && bodySize === TD10_BODY_LENGTH) return { bodyType, bodyOffset, bodyLength: bodySize }
  if (bodyType === 3 && bodySize === TD15_BODY_LENGTH) return { bodyType, bodyOffset, bodyLength: bodySize }
  throw new QuoteFormatError(
    `unsupported v5 quote body type ${bodyType}, ${bodySize} bytes: expected type 2 (${TD10_BODY_LENGTH} bytes, ` +
      `TD report 1.0) or type 3 (${TD15_BODY_LENGTH} bytes, TD report 1.5)`,
  )
}

/** Parses a v4 or v5 TDX quote and checks its layout as TdxQuote.sol does (no signature is checked here). */
export const parseTdxQuote = (quote: Uint8Array): ParsedTdxQuote => {
  if (quote.length < MIN_QUOTE_LENGTH) throw new QuoteFormatError(`quote too short: ${quote.length}`)
  const version = readU16le(quote, 0)
  const attestationKeyType = readU16le(quote, 2)
  const teeType = readU32le(quote, 4)
  if (version !== 4 && version !== 5) {
    throw new QuoteFormatError(`unsupported quote version ${version}: expected 4 or 5 (DCAP TDX quotes)`)
  }
  if (attestationKeyType !== 2) throw new QuoteFormatError(`unsupported attestation key type ${attestationKeyType}`)
  if (teeType !== TEE_TYPE_TDX) throw new QuoteFormatError(`not a TDX quote (tee type ${teeType})`)
  if (!equalBytes(quote.subarray(12, 28), INTEL_QE_VENDOR_ID)) throw new QuoteFormatError('QE vendor is not Intel')

  const { bodyType, bodyOffset, bodyLength } = bodyLayoutOf(quote, version)
  const signedLength = bodyOffset + bodyLength
  const s = signedLength + 4
  if (quote.length < s + 134) throw new QuoteFormatError(`quote too short: ${quote.length}`)
  const at = (offset: number, length: number) => slice(quote, bodyOffset + offset, length)
  const signatureDataLength = readU32le(quote, signedLength)
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

  const td15 = bodyType === 3
  return {
    version,
    bodyType,
    bodyOffset,
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
      reportData: at(TD_REPORT_DATA, 64),
      teeTcbSvn2: td15 ? at(584, 16) : new Uint8Array(16),
      mrServiceTd: td15 ? at(600, 48) : new Uint8Array(48),
    },
    signedBytes: slice(quote, 0, signedLength),
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

/** parseTdxQuote for callers that rely on the v4 layout (the absolute offsets above, the dev fixtures). */
export const parseTdxQuoteV4 = (quote: Uint8Array): ParsedTdxQuote => {
  const parsed = parseTdxQuote(quote)
  if (parsed.version !== 4) {
    throw new QuoteFormatError(`a v${parsed.version} quote where a v4 quote is expected: read it with parseTdxQuote`)
  }
  return parsed
}
