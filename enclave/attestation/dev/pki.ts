import { createHash, randomBytes } from 'node:crypto'
import { p256 } from '@noble/curves/p256'
import { bytesToBigInt, concat, fromHex, sha256, utf8 } from '../bytes.js'
import {
  bitString,
  boolean,
  enumerated,
  explicit,
  implicit,
  integer,
  octetString,
  oid,
  printableString,
  sequence,
  set,
  time,
  utf8String,
} from './der.js'

/**
 * A development PKI shaped like Intel's SGX/TDX PKI: root CA → PCK Platform CA → PCK leaf (with the Intel SGX
 * extension), root CA → TCB Signing, plus the QE attestation key and both CRLs. Every certificate uses the same
 * algorithms, extension set, extension order, criticality and string types as Intel's, so parsers written against
 * real quotes accept it; only the names, keys and dates differ. Never trust this root outside development.
 */

export type Seed = string | Uint8Array

/** A P-256 key: `publicKey` is the raw x‖y (64 bytes) as DCAP quotes carry it. */
export type DevKey = { privateKey: Uint8Array; publicKey: Uint8Array }

export type DistinguishedName = {
  commonName: string
  organization: string
  locality: string
  state: string
  country: string
}

export type DevCertificate = {
  der: Uint8Array
  pem: string
  name: DistinguishedName
  serialNumber: bigint
  /** sha1 of the subject public key (RFC 5280 §4.2.1.2 method 1); the issuer's AKI of everything it signs. */
  subjectKeyId: Uint8Array
  key: DevKey
  notBefore: Date
  notAfter: Date
}

export type DevCrl = {
  der: Uint8Array
  issuer: DevCertificate
  thisUpdate: Date
  nextUpdate: Date
  revokedSerials: bigint[]
  crlNumber: bigint
}

/** The values a PCK certificate's Intel SGX extension (1.2.840.113741.1.13.1) carries; reference §3. */
export type PckPlatform = {
  ppid: Uint8Array // 16 bytes
  /** The 16 SGX TCB component SVNs (CPUSVN, one byte each). */
  cpuSvn: number[]
  pceSvn: number
  pceId: Uint8Array // 2 bytes
  fmspc: Uint8Array // 6 bytes
  /** 0 Standard, 1 Scalable, 2 Scalable with integrity. */
  sgxType: number
  /** Present in certificates issued by the Platform CA (16 bytes). */
  platformInstanceId: Uint8Array
  configuration: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean }
}

export type SerialInput = bigint | Uint8Array | string

export type DevPkiOptions = {
  /** Reference time for all default windows (rounded down to whole seconds). Default: the current time. */
  now?: Date
  /** Validity of every certificate. Default: now − 1 day … now + 10 years. */
  certificateValidity?: { notBefore: Date; notAfter: Date }
  /** Window of both CRLs. Default: now − 1 day … now + 30 days. */
  crlValidity?: { thisUpdate: Date; nextUpdate: Date }
  /** Serials the root CA CRL lists (e.g. a Platform CA or TCB Signing serial). */
  revokedRootSerials?: SerialInput[]
  /** Serials the PCK Platform CA CRL lists (PCK leaves). */
  revokedPckSerials?: SerialInput[]
  /** Overrides of the PCK extension values; defaults mirror the real sample's platform (FMSPC B0C06F000000). */
  pck?: Partial<PckPlatform>
}

export type DevPki = {
  seed: Uint8Array
  now: Date
  root: DevCertificate
  platformCa: DevCertificate
  pckLeaf: DevCertificate
  tcbSigning: DevCertificate
  /** The TD_QE attestation key: signs quotes; its hash is bound into the QE report. */
  attestationKey: DevKey
  pck: PckPlatform
  rootCaCrl: DevCrl
  pckCrl: DevCrl
  /** PCK leaf, Platform CA, root: the type-5 certification data of a quote (without its trailing NUL). */
  pckChainPem: string
  /** Platform CA, root: `pck_crl_issuer_chain`. */
  pckCrlIssuerChainPem: string
  /** TCB Signing, root: `tcb_info_issuer_chain` and `qe_identity_issuer_chain`. */
  tcbSigningChainPem: string
}

export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1'
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'
const DAY = 86_400_000

const DEV_NAME = { organization: 'Cairn Dev', locality: 'Localhost', state: 'CA', country: 'US' } as const
export const DEV_NAMES = {
  root: { commonName: 'Cairn Dev SGX Root CA', ...DEV_NAME },
  platformCa: { commonName: 'Cairn Dev SGX PCK Platform CA', ...DEV_NAME },
  pckLeaf: { commonName: 'Cairn Dev SGX PCK Certificate', ...DEV_NAME },
  tcbSigning: { commonName: 'Cairn Dev SGX TCB Signing', ...DEV_NAME },
} as const satisfies Record<string, DistinguishedName>

const CRL_BASE = 'https://dev.cairn.invalid/sgx/certification/v4'
const ROOT_CRL_URL = `${CRL_BASE}/rootcacrl`
const PCK_CRL_URL = `${CRL_BASE}/pckcrl?ca=platform&encoding=der`

// ---------------------------------------------------------------------------------------------------------------
// Keys and signatures

const toSeed = (seed: Seed): Uint8Array => (typeof seed === 'string' ? utf8(seed) : seed)

/** Deterministic key: sha256(seed ‖ label) reduced into [1, n−1] (never zero, so every digest gives a valid key). */
export const deriveKey = (seed: Seed, label: string): DevKey => {
  const n = p256.CURVE.n
  const d = (bytesToBigInt(sha256(toSeed(seed), utf8(label))) % (n - 1n)) + 1n
  const privateKey = fromHex(d.toString(16).padStart(64, '0'))
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false).subarray(1) }
}

/** ECDSA-P256 over sha256(message), raw r‖s (64 bytes). RFC 6979 nonces: same key and message, same signature. */
export const signRaw = (key: DevKey, message: Uint8Array): Uint8Array =>
  p256.sign(sha256(message), key.privateKey).toCompactRawBytes()

/** The same signature as an X.509 ECDSA-Sig-Value (DER SEQUENCE { r, s }). */
export const signDer = (key: DevKey, message: Uint8Array): Uint8Array =>
  p256.sign(sha256(message), key.privateKey).toDERRawBytes()

/** 20-byte positive serial whose first byte is 0x01–0x7f: always exactly 20 content bytes, like Intel's. */
const deriveSerial = (seed: Uint8Array, label: string): bigint => {
  const bytes = sha256(seed, utf8(`serial:${label}`)).slice(0, 20)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01
  return bytesToBigInt(bytes)
}

export const toSerial = (serial: SerialInput): bigint =>
  typeof serial === 'bigint' ? serial : bytesToBigInt(typeof serial === 'string' ? fromHex(serial) : serial)

// ---------------------------------------------------------------------------------------------------------------
// Certificates

/** Intel's Name layout: CN, O, L, ST (UTF8String), C (PrintableString), one attribute per RDN. */
const encodeName = (name: DistinguishedName): Uint8Array =>
  sequence(
    set(sequence(oid('2.5.4.3'), utf8String(name.commonName))),
    set(sequence(oid('2.5.4.10'), utf8String(name.organization))),
    set(sequence(oid('2.5.4.7'), utf8String(name.locality))),
    set(sequence(oid('2.5.4.8'), utf8String(name.state))),
    set(sequence(oid('2.5.4.6'), printableString(name.country))),
  )

const extension = (id: string, value: Uint8Array, critical = false): Uint8Array =>
  sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value))

const authorityKeyId = (keyId: Uint8Array): Uint8Array => extension('2.5.29.35', sequence(implicit(0, keyId)))
const subjectKeyId = (keyId: Uint8Array): Uint8Array => extension('2.5.29.14', octetString(keyId))
const crlDistributionPoint = (url: string): Uint8Array =>
  extension('2.5.29.31', sequence(sequence(explicit(0, explicit(0, implicit(6, utf8(url)))))))
/** keyCertSign + cRLSign (03 02 01 06) for CAs; digitalSignature + nonRepudiation (03 02 06 c0) otherwise. */
const keyUsage = (ca: boolean): Uint8Array =>
  extension('2.5.29.15', ca ? bitString(Uint8Array.of(0x06), 1) : bitString(Uint8Array.of(0xc0), 6), true)
const basicConstraints = (pathLength: number | undefined): Uint8Array =>
  extension('2.5.29.19', pathLength === undefined ? sequence() : sequence(boolean(true), integer(pathLength)), true)

const sgxArc = (suffix: string): Uint8Array => oid(`${SGX_EXTENSION_OID}.${suffix}`)

/** The Intel SGX extension, element for element as in Intel's Platform-CA-issued PCK certificates. */
export const encodeSgxExtension = (pck: PckPlatform): Uint8Array => {
  if (pck.cpuSvn.length !== 16) throw new RangeError('cpuSvn must have 16 components')
  const tcb = sequence(
    ...pck.cpuSvn.map((svn, i) => sequence(sgxArc(`2.${i + 1}`), integer(svn))),
    sequence(sgxArc('2.17'), integer(pck.pceSvn)),
    sequence(sgxArc('2.18'), octetString(Uint8Array.from(pck.cpuSvn))),
  )
  const { dynamicPlatform, cachedKeys, smtEnabled } = pck.configuration
  return sequence(
    sequence(sgxArc('1'), octetString(pck.ppid)),
    sequence(sgxArc('2'), tcb),
    sequence(sgxArc('3'), octetString(pck.pceId)),
    sequence(sgxArc('4'), octetString(pck.fmspc)),
    sequence(sgxArc('5'), enumerated(pck.sgxType)),
    sequence(sgxArc('6'), octetString(pck.platformInstanceId)),
    sequence(
      sgxArc('7'),
      sequence(
        sequence(sgxArc('7.1'), boolean(dynamicPlatform)),
        sequence(sgxArc('7.2'), boolean(cachedKeys)),
        sequence(sgxArc('7.3'), boolean(smtEnabled)),
      ),
    ),
  )
}

export const toPem = (der: Uint8Array): string => {
  const base64 = Buffer.from(der).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

const keyIdOf = (key: DevKey): Uint8Array =>
  new Uint8Array(
    createHash('sha1')
      .update(concat(Uint8Array.of(4), key.publicKey))
      .digest(),
  )

type CertificateSpec = {
  name: DistinguishedName
  serialNumber: bigint
  key: DevKey
  /** Absent: self-signed. */
  issuer?: DevCertificate
  validity: { notBefore: Date; notAfter: Date }
  /** Extensions after AKI (Intel's order: AKI, CRL DP, SKI, KeyUsage, BasicConstraints, SGX). */
  crlUrl: string
  pathLength?: number
  extra?: Uint8Array[]
}

const issueCertificate = (spec: CertificateSpec): DevCertificate => {
  const keyId = keyIdOf(spec.key)
  const issuerName = spec.issuer?.name ?? spec.name
  const issuerKeyId = spec.issuer?.subjectKeyId ?? keyId
  const signer = spec.issuer?.key ?? spec.key
  const algorithm = sequence(oid(ECDSA_WITH_SHA256))
  const publicKeyInfo = sequence(
    sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')),
    bitString(concat(Uint8Array.of(4), spec.key.publicKey)),
  )
  const extensions = [
    authorityKeyId(issuerKeyId),
    crlDistributionPoint(spec.crlUrl),
    subjectKeyId(keyId),
    keyUsage(spec.pathLength !== undefined),
    basicConstraints(spec.pathLength),
    ...(spec.extra ?? []),
  ]
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(spec.serialNumber),
    algorithm,
    encodeName(issuerName),
    sequence(time(spec.validity.notBefore), time(spec.validity.notAfter)),
    encodeName(spec.name),
    publicKeyInfo,
    explicit(3, sequence(...extensions)),
  )
  const der = sequence(tbs, algorithm, bitString(signDer(signer, tbs)))
  return {
    der,
    pem: toPem(der),
    name: spec.name,
    serialNumber: spec.serialNumber,
    subjectKeyId: keyId,
    key: spec.key,
    ...spec.validity,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CRLs

export type DevCrlOptions = {
  thisUpdate: Date
  nextUpdate: Date
  revokedSerials?: SerialInput[]
  crlNumber?: bigint | number
}

/**
 * A v2 CRL shaped like Intel's: version 1, ecdsa-with-SHA256, issuer Name, thisUpdate, nextUpdate, the revoked
 * entries (omitted entirely when empty, as in Intel's empty Processor CRL) each with revocationDate = thisUpdate and
 * reason keyCompromise, then extensions CRL Number and AKI = issuer SKI.
 */
export const issueDevCrl = (issuer: DevCertificate, options: DevCrlOptions): DevCrl => {
  const revokedSerials = (options.revokedSerials ?? []).map(toSerial)
  const crlNumber = BigInt(options.crlNumber ?? 1)
  const algorithm = sequence(oid(ECDSA_WITH_SHA256))
  const entries = revokedSerials.map((serial) =>
    sequence(
      integer(serial),
      time(options.thisUpdate),
      sequence(extension('2.5.29.21', enumerated(1))), // reasonCode keyCompromise
    ),
  )
  const tbs = sequence(
    integer(1),
    algorithm,
    encodeName(issuer.name),
    time(options.thisUpdate),
    time(options.nextUpdate),
    ...(entries.length > 0 ? [sequence(...entries)] : []),
    explicit(0, sequence(extension('2.5.29.20', integer(crlNumber)), authorityKeyId(issuer.subjectKeyId))),
  )
  const der = sequence(tbs, algorithm, bitString(signDer(issuer.key, tbs)))
  return {
    der,
    issuer,
    thisUpdate: options.thisUpdate,
    nextUpdate: options.nextUpdate,
    revokedSerials,
    crlNumber,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The PKI

/** The real sample's platform (tdx_quote): TCB [3,3,2,2,4,1,0,5,0…], PCESVN 11, FMSPC B0C06F000000, Scalable. */
const defaultPck = (seed: Uint8Array): PckPlatform => ({
  ppid: sha256(seed, utf8('ppid')).slice(0, 16),
  cpuSvn: [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
  pceSvn: 11,
  pceId: fromHex('0000'),
  fmspc: fromHex('b0c06f000000'),
  sgxType: 1,
  platformInstanceId: sha256(seed, utf8('platform-instance-id')).slice(0, 16),
  configuration: { dynamicPlatform: true, cachedKeys: true, smtEnabled: true },
})

const wholeSeconds = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000)

/**
 * Builds the dev PKI. With a seed every key, serial and identifier is derived from it and every signature uses
 * RFC 6979 nonces, so the same seed and `now` give byte-identical certificates, CRLs and quotes. Without a seed a
 * random one is drawn.
 */
export const createDevPki = (seed?: Seed, options: DevPkiOptions = {}): DevPki => {
  const seedBytes = seed === undefined ? new Uint8Array(randomBytes(32)) : toSeed(seed)
  const now = wholeSeconds(options.now ?? new Date())
  const validity = options.certificateValidity ?? {
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3652 * DAY),
  }
  const crlValidity = options.crlValidity ?? {
    thisUpdate: new Date(now.getTime() - DAY),
    nextUpdate: new Date(now.getTime() + 30 * DAY),
  }
  const pck = { ...defaultPck(seedBytes), ...options.pck }

  const root = issueCertificate({
    name: DEV_NAMES.root,
    serialNumber: deriveSerial(seedBytes, 'root-ca'),
    key: deriveKey(seedBytes, 'root-ca'),
    validity,
    crlUrl: ROOT_CRL_URL,
    pathLength: 1,
  })
  const platformCa = issueCertificate({
    name: DEV_NAMES.platformCa,
    serialNumber: deriveSerial(seedBytes, 'pck-platform-ca'),
    key: deriveKey(seedBytes, 'pck-platform-ca'),
    issuer: root,
    validity,
    crlUrl: ROOT_CRL_URL,
    pathLength: 0,
  })
  const pckLeaf = issueCertificate({
    name: DEV_NAMES.pckLeaf,
    serialNumber: deriveSerial(seedBytes, 'pck-leaf'),
    key: deriveKey(seedBytes, 'pck-leaf'),
    issuer: platformCa,
    validity,
    crlUrl: PCK_CRL_URL,
    extra: [extension(SGX_EXTENSION_OID, encodeSgxExtension(pck))],
  })
  const tcbSigning = issueCertificate({
    name: DEV_NAMES.tcbSigning,
    serialNumber: deriveSerial(seedBytes, 'tcb-signing'),
    key: deriveKey(seedBytes, 'tcb-signing'),
    issuer: root,
    validity,
    crlUrl: ROOT_CRL_URL,
  })

  return {
    seed: seedBytes,
    now,
    root,
    platformCa,
    pckLeaf,
    tcbSigning,
    attestationKey: deriveKey(seedBytes, 'qe-attestation-key'),
    pck,
    rootCaCrl: issueDevCrl(root, { ...crlValidity, revokedSerials: options.revokedRootSerials ?? [] }),
    pckCrl: issueDevCrl(platformCa, { ...crlValidity, revokedSerials: options.revokedPckSerials ?? [] }),
    pckChainPem: pckLeaf.pem + platformCa.pem + root.pem,
    pckCrlIssuerChainPem: platformCa.pem + root.pem,
    tcbSigningChainPem: tcbSigning.pem + root.pem,
  }
}

/**
 * Another TCB Signing certificate under `pki`'s root, with the same name and validity as `pki.tcbSigning` but its own
 * key and serial (derived from the PKI's seed and `label`): Intel's replacement signer once a root CRL revokes the
 * first one.
 */
export const issueDevTcbSigning = (pki: DevPki, label: string): DevCertificate =>
  issueCertificate({
    name: DEV_NAMES.tcbSigning,
    serialNumber: deriveSerial(pki.seed, label),
    key: deriveKey(pki.seed, label),
    issuer: pki.root,
    validity: { notBefore: pki.tcbSigning.notBefore, notAfter: pki.tcbSigning.notAfter },
    crlUrl: ROOT_CRL_URL,
  })
