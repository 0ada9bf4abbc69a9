import { equalBytes, fromHex, readU16le, readU32le } from './bytes.js'

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

/** The QE vendor id of Intel's quoting enclaves: every genuine DCAP quote carries it. */
export const INTEL_QE_VENDOR_ID = fromHex('939a7233f79c4ca9940a0db3957f0607')

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
