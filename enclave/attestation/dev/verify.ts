import { createPublicKey, verify as cryptoVerify, type KeyObject, X509Certificate } from 'node:crypto'
import { bytesToBigInt, equalBytes, fromHex, sha256, toHex, utf8 } from '../bytes.js'
import { INTEL_QE_VENDOR_ID, type ParsedTdxQuote, parseTdxQuote } from '../quote.js'
import type { DcapCollateral, TcbStatus, TdQeIdentity, TdxModuleIdentity, TdxTcbInfo } from './collateral.js'
import { children, content, type DerNode, decodeOid, expectTag, readNode, readTime, Tag, whole } from './der.js'
import { SGX_EXTENSION_OID } from './pki.js'

/**
 * Off-chain DCAP checks on node:crypto (OpenSSL), independent of the dev PKI's signer (noble): used by the tests to
 * check dev quotes and collateral against the same rules Intel's real samples pass, and usable by tooling to sanity
 * check a quote before submitting it. The on-chain verifier stays the authority.
 */

export class VerificationError extends Error {
  override name = 'VerificationError'
}

const fail = (message: string): never => {
  throw new VerificationError(message)
}

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

/** A P-256 public key from raw x‖y (64 bytes, as in quotes). */
export const p256PublicKey = (xy: Uint8Array): KeyObject => {
  if (xy.length !== 64) fail(`P-256 key must be 64 bytes, got ${xy.length}`)
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: base64url(xy.subarray(0, 32)), y: base64url(xy.subarray(32)) },
    format: 'jwk',
  })
}

/** ECDSA-P256-SHA256 with a raw r‖s signature (quotes, TCB info, QE identity). */
export const verifyP256Raw = (key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean =>
  signature.length === 64 && cryptoVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature)

// ---------------------------------------------------------------------------------------------------------------
// PEM

/**
 * Splits a PEM chain strictly as the on-chain PemCertificates/Base64Strict libraries do: "-----BEGIN CERTIFICATE-----"
 * blocks with 64-character base64 lines separated by '\n', canonical base64, optional trailing NUL bytes.
 */
export const splitPemChain = (pem: string | Uint8Array): Uint8Array[] => {
  let text = typeof pem === 'string' ? pem : new TextDecoder().decode(pem)
  const nul = text.indexOf('\0')
  if (nul >= 0) {
    if (!/^\0*$/.test(text.slice(nul))) fail('bytes after the PEM terminating NUL')
    text = text.slice(0, nul)
  }
  const block = /-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+?)\n?-----END CERTIFICATE-----/g
  const ders: Uint8Array[] = []
  let last = 0
  for (const match of text.matchAll(block)) {
    if (!/^[\n\r ]*$/.test(text.slice(last, match.index))) fail('junk between PEM blocks')
    const lines = (match[1] ?? '').split('\n')
    if (lines.slice(0, -1).some((line) => line.length !== 64) || (lines.at(-1)?.length ?? 0) > 64) {
      fail('PEM lines must be 64 characters')
    }
    const body = lines.join('')
    const der = new Uint8Array(Buffer.from(body, 'base64'))
    if (Buffer.from(der).toString('base64') !== body) fail('non-canonical base64 in PEM')
    ders.push(der)
    last = (match.index ?? 0) + match[0].length
  }
  if (!/^[\n\r ]*$/.test(text.slice(last))) fail('junk after the last PEM block')
  return ders
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates

export type Extension = { critical: boolean; value: Uint8Array }

export type CertificateInfo = {
  der: Uint8Array
  x509: X509Certificate
  tbs: Uint8Array
  serialNumber: bigint
  issuer: Uint8Array
  subject: Uint8Array
  notBefore: Date
  notAfter: Date
  publicKey: Uint8Array
  authorityKeyId?: Uint8Array
  subjectKeyId?: Uint8Array
  isCa: boolean
  extensions: Map<string, Extension>
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'

const requireEcdsaSha256 = (der: Uint8Array, algorithm: DerNode | undefined): void => {
  const [id, ...rest] = children(der, expectTag(algorithm, Tag.SEQUENCE, 'algorithm'))
  if (rest.length > 0 || decodeOid(content(der, expectTag(id, Tag.OID, 'algorithm oid'))) !== ECDSA_WITH_SHA256) {
    fail('signature algorithm must be ecdsa-with-SHA256 without parameters')
  }
}

const readExtensions = (der: Uint8Array, list: DerNode): Map<string, Extension> => {
  const extensions = new Map<string, Extension>()
  for (const entry of children(der, expectTag(list, Tag.SEQUENCE, 'extensions'))) {
    const [id, second, third] = children(der, entry)
    const critical = second?.tag === Tag.BOOLEAN && content(der, second)[0] !== 0
    const value = expectTag(second?.tag === Tag.BOOLEAN ? third : second, Tag.OCTET_STRING, 'extension value')
    extensions.set(decodeOid(content(der, expectTag(id, Tag.OID, 'extension id'))), {
      critical,
      value: content(der, value),
    })
  }
  return extensions
}

/** keyIdentifier [0] of an AuthorityKeyIdentifier extension value. */
const authorityKeyIdOf = (value: Uint8Array | undefined): Uint8Array | undefined => {
  if (!value) return undefined
  const [keyId] = children(value, readNode(value, 0))
  return keyId?.tag === 0x80 ? content(value, keyId) : undefined
}

/** Parses an X.509 v3 ECDSA P-256 certificate the way src/attestation/libraries/X509.sol accepts it. */
export const parseCertificate = (der: Uint8Array): CertificateInfo => {
  const root = readNode(der, 0)
  if (root.end !== der.length) fail('trailing bytes after certificate')
  const [tbsNode, algorithm, signature] = children(der, root)
  const tbs = expectTag(tbsNode, Tag.SEQUENCE, 'tbsCertificate')
  requireEcdsaSha256(der, algorithm)
  expectTag(signature, Tag.BIT_STRING, 'signature')
  const fields = children(der, tbs)
  const [version, serial, innerAlgorithm, issuer, validity, subject, spki, extensions] = fields
  if (version?.tag !== 0xa0 || bytesToBigInt(content(der, children(der, version)[0] as DerNode)) !== 2n) {
    fail('certificate must be X.509 v3')
  }
  requireEcdsaSha256(der, innerAlgorithm)
  const [notBefore, notAfter] = children(der, expectTag(validity, Tag.SEQUENCE, 'validity'))
  const [keyAlgorithm, keyBits] = children(der, expectTag(spki, Tag.SEQUENCE, 'subjectPublicKeyInfo'))
  const [keyType, curve] = children(der, expectTag(keyAlgorithm, Tag.SEQUENCE, 'key algorithm'))
  if (
    decodeOid(content(der, expectTag(keyType, Tag.OID, 'key type'))) !== '1.2.840.10045.2.1' ||
    decodeOid(content(der, expectTag(curve, Tag.OID, 'curve'))) !== '1.2.840.10045.3.1.7'
  ) {
    fail('public key must be EC P-256')
  }
  const point = content(der, expectTag(keyBits, Tag.BIT_STRING, 'public key'))
  if (point.length !== 66 || point[0] !== 0 || point[1] !== 4) fail('public key must be an uncompressed point')
  if (extensions?.tag !== 0xa3 || fields.length !== 8) fail('certificate must carry extensions [3] last')
  const extensionMap = readExtensions(der, children(der, extensions as DerNode)[0] as DerNode)
  const ski = extensionMap.get('2.5.29.14')?.value
  const constraints = extensionMap.get('2.5.29.19')?.value
  const [caFlag] = constraints ? children(constraints, readNode(constraints, 0)) : []
  return {
    der,
    x509: new X509Certificate(der),
    tbs: whole(der, tbs),
    serialNumber: bytesToBigInt(content(der, expectTag(serial, Tag.INTEGER, 'serial'))),
    issuer: whole(der, expectTag(issuer, Tag.SEQUENCE, 'issuer')),
    subject: whole(der, expectTag(subject, Tag.SEQUENCE, 'subject')),
    notBefore: readTime(der, notBefore as DerNode),
    notAfter: readTime(der, notAfter as DerNode),
    publicKey: point.subarray(2),
    authorityKeyId: authorityKeyIdOf(extensionMap.get('2.5.29.35')?.value),
    subjectKeyId: ski ? content(ski, readNode(ski, 0)) : undefined,
    isCa: caFlag?.tag === Tag.BOOLEAN && constraints !== undefined && content(constraints, caFlag)[0] !== 0,
    extensions: extensionMap,
  }
}

const checkTime = (what: string, now: Date | undefined, from: Date, to: Date): void => {
  if (now && (now < from || now > to)) fail(`${what} not valid at ${now.toISOString()}`)
}

/**
 * Verifies `chain` (leaf first, root last): each certificate signed by the next (OpenSSL via X509Certificate),
 * AKI = issuer SKI (both present), issuer Name = issuer subject, CA flags on issuers, root self-signed and equal
 * to `trustedRoot`, validity covering `now` when given.
 */
export const verifyChain = (chain: CertificateInfo[], trustedRoot: Uint8Array, now?: Date): void => {
  const root = chain.at(-1) ?? fail('empty certificate chain')
  if (!equalBytes(root.der, trustedRoot)) fail('chain does not end in the trusted root')
  chain.forEach((cert, i) => {
    const issuer = chain[i + 1] ?? cert
    if (!cert.x509.verify(issuer.x509.publicKey)) fail(`certificate ${i} signature invalid`)
    if (!cert.authorityKeyId || !issuer.subjectKeyId || !equalBytes(cert.authorityKeyId, issuer.subjectKeyId)) {
      fail(`certificate ${i}: AKI does not match its issuer's SKI`)
    }
    if (!equalBytes(cert.issuer, issuer.subject)) fail(`certificate ${i}: issuer name mismatch`)
    if (i + 1 < chain.length && !chain[i + 1]?.isCa) fail(`certificate ${i + 1} is not a CA`)
    checkTime(`certificate ${i}`, now, cert.notBefore, cert.notAfter)
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Intel SGX extension

export type SgxExtensionValues = {
  ppid: Uint8Array
  cpuSvn: number[]
  pceSvn: number
  /** The .2.18 CPUSVN octet string (must equal cpuSvn). */
  cpuSvnBytes: Uint8Array
  pceId: Uint8Array
  fmspc: Uint8Array
  sgxType: number
  platformInstanceId?: Uint8Array
  configuration?: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean }
}

export const parseSgxExtension = (value: Uint8Array): SgxExtensionValues => {
  const entries = new Map<string, DerNode>()
  for (const entry of children(value, readNode(value, 0))) {
    const [id, item] = children(value, entry)
    entries.set(decodeOid(content(value, expectTag(id, Tag.OID, 'sgx oid'))), item as DerNode)
  }
  const get = (suffix: string, tag: number) =>
    expectTag(entries.get(`${SGX_EXTENSION_OID}.${suffix}`), tag, `sgx extension .${suffix}`)
  const tcb = new Map<string, DerNode>()
  for (const entry of children(value, get('2', Tag.SEQUENCE))) {
    const [id, item] = children(value, entry)
    tcb.set(decodeOid(content(value, expectTag(id, Tag.OID, 'tcb oid'))), item as DerNode)
  }
  const tcbInt = (n: number) =>
    Number(bytesToBigInt(content(value, expectTag(tcb.get(`${SGX_EXTENSION_OID}.2.${n}`), Tag.INTEGER, `tcb .${n}`))))
  const cpuSvn = Array.from({ length: 16 }, (_, i) => tcbInt(i + 1))
  const cpuSvnBytes = content(value, expectTag(tcb.get(`${SGX_EXTENSION_OID}.2.18`), Tag.OCTET_STRING, 'cpusvn'))
  const instance = entries.get(`${SGX_EXTENSION_OID}.6`)
  const config = entries.get(`${SGX_EXTENSION_OID}.7`)
  const flags = config
    ? children(value, config).map((entry) => content(value, children(value, entry)[1] as DerNode)[0] !== 0)
    : []
  return {
    ppid: content(value, get('1', Tag.OCTET_STRING)),
    cpuSvn,
    pceSvn: tcbInt(17),
    cpuSvnBytes,
    pceId: content(value, get('3', Tag.OCTET_STRING)),
    fmspc: content(value, get('4', Tag.OCTET_STRING)),
    sgxType: Number(bytesToBigInt(content(value, get('5', Tag.ENUMERATED)))),
    platformInstanceId: instance ? content(value, instance) : undefined,
    configuration: config
      ? { dynamicPlatform: flags[0] ?? false, cachedKeys: flags[1] ?? false, smtEnabled: flags[2] ?? false }
      : undefined,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CRLs

export type CrlInfo = {
  der: Uint8Array
  tbs: Uint8Array
  signature: Uint8Array
  issuer: Uint8Array
  thisUpdate: Date
  nextUpdate: Date
  revokedSerials: bigint[]
  crlNumber?: bigint
  authorityKeyId?: Uint8Array
}

export const parseCrl = (der: Uint8Array): CrlInfo => {
  const root = readNode(der, 0)
  if (root.end !== der.length) fail('trailing bytes after CRL')
  const [tbsNode, algorithm, signature] = children(der, root)
  const tbs = expectTag(tbsNode, Tag.SEQUENCE, 'tbsCertList')
  requireEcdsaSha256(der, algorithm)
  const fields = children(der, tbs)
  if (fields[0]?.tag !== Tag.INTEGER || bytesToBigInt(content(der, fields[0])) !== 1n) fail('CRL must be v2')
  const [, innerAlgorithm, issuer, thisUpdate, nextUpdate, ...rest] = fields
  requireEcdsaSha256(der, innerAlgorithm)
  const revoked = rest[0]?.tag === Tag.SEQUENCE ? children(der, rest[0]) : []
  const extensionsNode = rest.find((node) => node.tag === 0xa0)
  const extensions = extensionsNode ? readExtensions(der, children(der, extensionsNode)[0] as DerNode) : new Map()
  const crlNumber = extensions.get('2.5.29.20')?.value
  const bits = content(der, expectTag(signature, Tag.BIT_STRING, 'CRL signature'))
  return {
    der,
    tbs: whole(der, tbs),
    signature: bits.subarray(1),
    issuer: whole(der, expectTag(issuer, Tag.SEQUENCE, 'CRL issuer')),
    thisUpdate: readTime(der, thisUpdate ?? fail('CRL without thisUpdate')),
    // Optional in RFC 5280, but Intel always sets it and freshness depends on it.
    nextUpdate: readTime(der, nextUpdate ?? fail('CRL without nextUpdate')),
    revokedSerials: revoked.map((entry) =>
      bytesToBigInt(content(der, expectTag(children(der, entry)[0], Tag.INTEGER, 'revoked serial'))),
    ),
    crlNumber: crlNumber ? bytesToBigInt(content(crlNumber, readNode(crlNumber, 0))) : undefined,
    authorityKeyId: authorityKeyIdOf(extensions.get('2.5.29.35')?.value),
  }
}

/** Signature by `issuer`, issuer Name and AKI = issuer SKI, and (given `now`) thisUpdate ≤ now ≤ nextUpdate. */
export const verifyCrl = (crl: CrlInfo, issuer: CertificateInfo, now?: Date): void => {
  if (!cryptoVerify('sha256', crl.tbs, issuer.x509.publicKey, crl.signature)) fail('CRL signature invalid')
  if (!equalBytes(crl.issuer, issuer.subject)) fail('CRL issuer name mismatch')
  if (!crl.authorityKeyId || !issuer.subjectKeyId || !equalBytes(crl.authorityKeyId, issuer.subjectKeyId)) {
    fail('CRL AKI does not match its issuer SKI')
  }
  checkTime('CRL', now, crl.thisUpdate, crl.nextUpdate)
}

// ---------------------------------------------------------------------------------------------------------------
// Quotes

export type VerifiedQuote = {
  quote: ParsedTdxQuote
  /** PCK leaf, Platform/Processor CA, root. */
  chain: CertificateInfo[]
  pck: SgxExtensionValues
}

export type QuoteCheckOptions = {
  trustedRoot: Uint8Array
  now?: Date
  /** When given: the intermediate must not be on the root CA CRL, the leaf not on the PCK CRL; both CRLs verified. */
  crls?: { rootCaCrl: Uint8Array; pckCrl: Uint8Array }
}

/** Reference §2 steps 1–5, 7 and 8 on a v4 or v5 quote: everything that needs no TCB info or QE identity. */
export const verifyTdxQuote = (bytes: Uint8Array, options: QuoteCheckOptions): VerifiedQuote => {
  const quote = parseTdxQuote(bytes)
  if (!equalBytes(quote.qeVendorId, INTEL_QE_VENDOR_ID)) fail('QE vendor is not Intel')
  const ders = splitPemChain(quote.pem)
  if (ders.length !== 3) fail(`PCK chain must hold 3 certificates, found ${ders.length}`)
  const chain = ders.map(parseCertificate)
  const [leaf, intermediate, root] = chain as [CertificateInfo, CertificateInfo, CertificateInfo]

  if (!verifyP256Raw(p256PublicKey(quote.attestationKey), quote.signedBytes, quote.signature)) {
    fail('quote signature invalid')
  }
  if (!verifyP256Raw(leaf.x509.publicKey, quote.qeReport, quote.qeReportSignature)) fail('QE report signature invalid')
  const binding = sha256(quote.attestationKey, quote.qeAuthData)
  const qeReportData = quote.qeReportFields.reportData
  if (!equalBytes(qeReportData.subarray(0, 32), binding)) fail('QE report does not bind the attestation key')
  if (qeReportData.subarray(32).some((b) => b !== 0)) fail('QE report data upper half is not zero')

  verifyChain(chain, options.trustedRoot, options.now)
  const extension = leaf.extensions.get(SGX_EXTENSION_OID) ?? fail('PCK leaf lacks the SGX extension')
  const pck = parseSgxExtension(extension.value)
  if (!equalBytes(pck.cpuSvnBytes, Uint8Array.from(pck.cpuSvn))) fail('PCK CPUSVN disagrees with its components')

  if (options.crls) {
    const rootCrl = parseCrl(options.crls.rootCaCrl)
    const pckCrl = parseCrl(options.crls.pckCrl)
    verifyCrl(rootCrl, root, options.now)
    verifyCrl(pckCrl, intermediate, options.now)
    if (rootCrl.revokedSerials.includes(intermediate.serialNumber)) fail('PCK CA certificate revoked')
    if (pckCrl.revokedSerials.includes(leaf.serialNumber)) fail('PCK certificate revoked')
  }
  return { quote, chain, pck }
}

// ---------------------------------------------------------------------------------------------------------------
// Collateral

export type VerifiedCollateral = {
  tcbInfo: TdxTcbInfo
  qeIdentity: TdQeIdentity
  tcbSigningChain: CertificateInfo[]
  pckCrlIssuerChain: CertificateInfo[]
  rootCaCrl: CrlInfo
  pckCrl: CrlInfo
}

const verifySignedJson = (
  what: string,
  text: string,
  signatureHex: string,
  chainPem: string,
  trustedRoot: Uint8Array,
  rootCrl: CrlInfo,
  now?: Date,
): CertificateInfo[] => {
  const chain = splitPemChain(chainPem).map(parseCertificate)
  if (chain.length !== 2) fail(`${what} issuer chain must hold 2 certificates`)
  verifyChain(chain, trustedRoot, now)
  const signer = chain[0] as CertificateInfo
  if (rootCrl.revokedSerials.includes(signer.serialNumber)) fail(`${what} signer revoked`)
  if (!verifyP256Raw(signer.x509.publicKey, utf8(text), fromHex(signatureHex))) fail(`${what} signature invalid`)
  return chain
}

/** Signatures, chains and CRLs of a collateral set; with `now`, also every validity window. */
export const verifyCollateral = (
  collateral: DcapCollateral,
  options: { trustedRoot: Uint8Array; now?: Date },
): VerifiedCollateral => {
  const { trustedRoot, now } = options
  const rootCert = parseCertificate(trustedRoot)
  const rootCaCrl = parseCrl(fromHex(collateral.root_ca_crl))
  verifyCrl(rootCaCrl, rootCert, now)

  const tcbSigningChain = verifySignedJson(
    'TCB info',
    collateral.tcb_info,
    collateral.tcb_info_signature,
    collateral.tcb_info_issuer_chain,
    trustedRoot,
    rootCaCrl,
    now,
  )
  verifySignedJson(
    'QE identity',
    collateral.qe_identity,
    collateral.qe_identity_signature,
    collateral.qe_identity_issuer_chain,
    trustedRoot,
    rootCaCrl,
    now,
  )

  const pckCrlIssuerChain = splitPemChain(collateral.pck_crl_issuer_chain).map(parseCertificate)
  verifyChain(pckCrlIssuerChain, trustedRoot, now)
  const pckCrlIssuer = pckCrlIssuerChain[0] ?? fail('empty PCK CRL issuer chain')
  if (rootCaCrl.revokedSerials.includes(pckCrlIssuer.serialNumber)) fail('PCK CRL issuer revoked')
  const pckCrl = parseCrl(fromHex(collateral.pck_crl))
  verifyCrl(pckCrl, pckCrlIssuer, now)

  const tcbInfo = JSON.parse(collateral.tcb_info) as TdxTcbInfo
  const qeIdentity = JSON.parse(collateral.qe_identity) as TdQeIdentity
  if (tcbInfo.id !== 'TDX' || tcbInfo.version !== 3) fail('TCB info must be TDX version 3')
  if (qeIdentity.id !== 'TD_QE' || qeIdentity.version !== 2) fail('QE identity must be TD_QE version 2')
  for (const [what, item] of [
    ['TCB info', tcbInfo],
    ['QE identity', qeIdentity],
  ] as const) {
    checkTime(what, now, new Date(item.issueDate), new Date(item.nextUpdate))
  }
  return { tcbInfo, qeIdentity, tcbSigningChain, pckCrlIssuerChain, rootCaCrl, pckCrl }
}

// ---------------------------------------------------------------------------------------------------------------
// TCB evaluation (reference §2 steps 6, 9, 10)

export type TcbEvaluation = {
  status: TcbStatus
  platform: TcbStatus
  tdxModule: TcbStatus
  qe: TcbStatus
  advisoryIDs: string[]
}

const masked = (value: Uint8Array, maskHex: string, expectedHex: string): boolean => {
  const mask = fromHex(maskHex)
  const expected = fromHex(expectedHex)
  return mask.length === value.length && value.every((byte, i) => (byte & (mask[i] ?? 0)) === expected[i])
}

/** OutOfDate of the TDX module or QE downgrades the platform status (Automata's convergence). */
const converge = (platform: TcbStatus, other: TcbStatus): TcbStatus => {
  if (other === 'Revoked') return 'Revoked'
  if (other !== 'OutOfDate') return platform
  if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate'
  if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') {
    return 'OutOfDateConfigurationNeeded'
  }
  return platform
}

export const evaluateTdxTcb = (
  verified: VerifiedQuote,
  tcbInfo: TdxTcbInfo,
  qeIdentity: TdQeIdentity,
): TcbEvaluation => {
  const { quote, pck } = verified
  const qe = quote.qeReportFields
  if (!masked(quote.qeReport.subarray(16, 20), qeIdentity.miscselectMask, qeIdentity.miscselect)) {
    fail('QE MISCSELECT mismatch')
  }
  if (!masked(qe.attributes, qeIdentity.attributesMask, qeIdentity.attributes)) fail('QE ATTRIBUTES mismatch')
  if (toHex(qe.mrSigner) !== qeIdentity.mrsigner.toLowerCase()) fail('QE MRSIGNER mismatch')
  if (qe.isvProdId !== qeIdentity.isvprodid) fail('QE ISVPRODID mismatch')
  const qeLevel = qeIdentity.tcbLevels.find((level) => level.tcb.isvsvn <= qe.isvSvn) ?? fail('no QE TCB level')

  if (toHex(pck.fmspc) !== tcbInfo.fmspc.toLowerCase()) fail('FMSPC mismatch')
  if (toHex(pck.pceId) !== tcbInfo.pceId.toLowerCase()) fail('PCE-ID mismatch')
  const teeTcbSvn = quote.body.teeTcbSvn
  const level =
    tcbInfo.tcbLevels.find(
      ({ tcb }) =>
        tcb.sgxtcbcomponents.every((c, i) => c.svn <= (pck.cpuSvn[i] ?? 0)) &&
        tcb.pcesvn <= pck.pceSvn &&
        tcb.tdxtcbcomponents.every((c, i) => c.svn <= (teeTcbSvn[i] ?? 0)),
    ) ?? fail('no matching TCB level')

  let tdxModule: TcbStatus = 'UpToDate'
  const moduleVersion = teeTcbSvn[1] ?? 0
  const module =
    moduleVersion === 0
      ? tcbInfo.tdxModule
      : ((tcbInfo.tdxModuleIdentities ?? []).find(
          (identity) => identity.id === `TDX_${moduleVersion.toString(16).padStart(2, '0').toUpperCase()}`,
        ) ?? fail(`no TDX module identity for version ${moduleVersion}`))
  if (toHex(quote.body.mrSignerSeam) !== module.mrsigner.toLowerCase()) fail('TDX module MRSIGNER mismatch')
  if (!masked(quote.body.seamAttributes, module.attributesMask, module.attributes)) fail('SEAM attributes mismatch')
  if ('tcbLevels' in module) {
    const isvSvn = teeTcbSvn[0] ?? 0
    const moduleLevel = (module as TdxModuleIdentity).tcbLevels.find((l) => l.tcb.isvsvn <= isvSvn)
    tdxModule = (moduleLevel ?? fail('no TDX module TCB level')).tcbStatus
  }
  const status = converge(converge(level.tcbStatus, tdxModule), qeLevel.tcbStatus)
  if (status === 'Revoked') fail('TCB revoked')
  return {
    status,
    platform: level.tcbStatus,
    tdxModule,
    qe: qeLevel.tcbStatus,
    advisoryIDs: [...new Set([...(level.advisoryIDs ?? []), ...(qeLevel.advisoryIDs ?? [])])],
  }
}
