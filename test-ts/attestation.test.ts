import { execFileSync } from 'node:child_process'
import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { concat, hexToBytes, keccak256 } from 'viem'
import { describe, expect, it } from 'vitest'
import { children, content, decodeOid, readNode } from '../enclave/attestation/dev/der.js'
import {
  type AttestationProvider,
  buildDevCollateral,
  buildDevQuote,
  ConfigfsTsmUnavailableError,
  checkQuoteConfiguration,
  createConfigfsTsmProvider,
  createDevPki,
  createDevProvider,
  type DcapCollateral,
  devEnclaveAttestation,
  evaluateTdxTcb,
  GenerationMismatchError,
  issueDevCrl,
  p256PublicKey,
  parseCertificate,
  parseCrl,
  parseSgxExtension,
  parseTdxQuote,
  parseTdxQuoteV4,
  QuoteFormatError,
  QuoteReportDataError,
  ReportDataLengthError,
  SGX_EXTENSION_OID,
  splitPemChain,
  TdConfigurationError,
  type TsmFs,
  tdConfigOfQuote,
  UnsupportedTsmProviderError,
  VerificationError,
  verifyCollateral,
  verifyCrl,
  verifyP256Raw,
  verifyTdxQuote,
} from '../enclave/attestation/dev/index.js'
import { buildDevFixtures } from '../enclave/attestation/dev/write-dev-fixtures.js'
import { type EnclaveConfig, mrConfigIdOf, tdConfigOf } from '../ts/enclave-config.js'

const root = join(import.meta.dirname, '..')
const read = (path: string) => new Uint8Array(readFileSync(join(root, path)))
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest())

// The real Intel sample and the time its collateral is valid at (reference §12).
const realQuote = read('test/fixtures/dcap/tdx_quote')
const realCollateral = JSON.parse(readFileSync(join(root, 'test/fixtures/dcap/tdx_quote_collateral.json'), 'utf8'))
const intelRoot = read('test/fixtures/dcap/TrustedRootCA.der')
const REAL_NOW = new Date(1750377600 * 1000)
// The real v5 sample (TD report 1.5 body) and the time its collateral is valid at.
const realV5Quote = read('test/fixtures/dcap/tdx_quote_outdated')
const realV5Collateral = JSON.parse(
  readFileSync(join(root, 'test/fixtures/dcap/tdx_quote_outdated_collateral.json'), 'utf8'),
)
const REAL_V5_NOW = new Date(1772323200 * 1000)

const NOW = new Date('2026-01-01T00:00:00Z')
const pki = createDevPki('attestation-test', { now: NOW })
const reportData = sha256(new TextEncoder().encode('report data')).map((b, i) => b ^ i)
const reportData64 = new Uint8Array([...reportData, ...reportData.map((b) => b ^ 0xff)])
const devQuote = buildDevQuote(pki, reportData64)
const devCollateral = buildDevCollateral(pki)
const crlsOf = (c: DcapCollateral) => ({
  rootCaCrl: Buffer.from(c.root_ca_crl, 'hex'),
  pckCrl: Buffer.from(c.pck_crl, 'hex'),
})

/** Reads the v4 TDX layout with absolute offsets only (independent of parseTdxQuoteV4). */
const rawLayout = (quote: Uint8Array) => {
  const view = new DataView(quote.buffer, quote.byteOffset, quote.byteLength)
  const s = 636
  const authSize = view.getUint16(s + 582, true)
  const inner = s + 584 + authSize
  const pemSize = view.getUint32(inner + 2, true)
  const pemStart = inner + 6
  const pem = quote.subarray(pemStart, pemStart + pemSize)
  return {
    version: view.getUint16(0, true),
    keyType: view.getUint16(2, true),
    teeType: view.getUint32(4, true),
    reserved: view.getUint32(8, true),
    vendor: hex(quote.subarray(12, 28)),
    signatureDataLength: view.getUint32(632, true),
    certificationType: view.getUint16(s + 128, true),
    certificationSize: view.getUint32(s + 130, true),
    authSize,
    innerType: view.getUint16(inner, true),
    pemStart,
    pemSize,
    pemEndsWithNul: pem.at(-1) === 0,
    certificates: new TextDecoder().decode(pem).match(/-----BEGIN CERTIFICATE-----/g)?.length,
    end: pemStart + pemSize,
  }
}

describe('dev quote layout matches the real v4 TDX sample (a)', () => {
  const real = rawLayout(realQuote)
  const dev = rawLayout(devQuote)

  it('reads the real sample as the reference describes it', () => {
    expect(real).toMatchObject({
      version: 4,
      keyType: 2,
      teeType: 0x81,
      signatureDataLength: 4300,
      certificationType: 6,
      certificationSize: 4166,
      authSize: 32,
      innerType: 5,
      pemStart: 1258,
      pemSize: 3678,
      pemEndsWithNul: true,
      certificates: 3,
      end: 4936,
    })
  })

  it('has the same fields at the same offsets', () => {
    const sameFields = ['version', 'keyType', 'teeType', 'reserved', 'vendor', 'certificationType', 'authSize'] as const
    for (const key of [...sameFields, 'innerType', 'pemStart', 'pemEndsWithNul', 'certificates'] as const) {
      expect(dev[key], key).toEqual(real[key])
    }
    expect(dev.vendor).toBe('939a7233f79c4ca9940a0db3957f0607')
  })

  it('obeys the type-6 size rule and ends the signature data at the PEM end', () => {
    for (const layout of [real, dev]) {
      expect(layout.end - (636 + 134)).toBe(layout.certificationSize)
      expect(636 + layout.signatureDataLength).toBe(layout.end)
    }
    expect(devQuote.length).toBe(dev.end) // no padding unless asked
  })

  it('parses both with the shared parser at identical offsets', () => {
    const a = parseTdxQuoteV4(realQuote)
    const b = parseTdxQuoteV4(devQuote)
    for (const key of ['qeReportOffset', 'pemOffset', 'certificationDataType', 'innerCertificationDataType'] as const) {
      expect(b[key], key).toBe(a[key])
    }
    expect(b.qeAuthData.length).toBe(a.qeAuthData.length)
    expect(hex(b.body.reportData)).toBe(hex(reportData64))
    expect(hex(devQuote.subarray(568, 632))).toBe(hex(reportData64))
    // Same TD attributes as the sample: SEPT_VE_DISABLE only, not debug.
    expect(hex(b.body.tdAttributes)).toBe(hex(a.body.tdAttributes))
    expect(hex(b.body.teeTcbSvn)).toBe(hex(a.body.teeTcbSvn))
    expect(b.qeReportFields.isvSvn).toBe(a.qeReportFields.isvSvn)
    expect(hex(b.qeReportFields.mrSigner)).toBe(hex(a.qeReportFields.mrSigner))
  })

  it('carries a strict PEM chain: 64-character lines, 3 certificates, trailing NUL', () => {
    for (const quote of [realQuote, devQuote]) {
      const { pem } = parseTdxQuoteV4(quote)
      const text = new TextDecoder().decode(pem.subarray(0, -1))
      expect(text.endsWith('-----END CERTIFICATE-----\n')).toBe(true)
      for (const line of text.split('\n').filter((l) => !l.startsWith('-----') && l !== '')) {
        expect(line.length).toBeLessThanOrEqual(64)
      }
      expect(splitPemChain(pem)).toHaveLength(3)
    }
  })

  it('sets the debug bit, measurements and padding on request', () => {
    const mrTd = new Uint8Array(48).fill(0xab)
    const rtmr3 = new Uint8Array(48).fill(0xcd)
    const quote = buildDevQuote(pki, reportData64, { debug: true, mrTd, rtmr3, padTo: 8000 })
    expect(quote.length).toBe(8000)
    const parsed = parseTdxQuoteV4(quote)
    expect(hex(parsed.body.tdAttributes)).toBe('0100001000000000')
    expect(hex(parsed.body.mrTd)).toBe(hex(mrTd))
    expect(hex(parsed.body.rtmr[3])).toBe(hex(rtmr3))
    expect(parsed.end).toBe(rawLayout(quote).end)
    expect(() => buildDevQuote(pki, reportData64, { mrTd: new Uint8Array(32) })).toThrow(RangeError)
  })
})

describe('dev quote signatures and chain verify with node:crypto (b)', () => {
  it('passes the full quote check (signatures, QE binding, chain to the dev root, CRLs)', () => {
    const verified = verifyTdxQuote(devQuote, { trustedRoot: pki.root.der, now: NOW, crls: crlsOf(devCollateral) })
    expect(verified.chain.map((c) => c.x509.subject.split('\n')[0])).toEqual([
      'CN=Cairn Dev SGX PCK Certificate',
      'CN=Cairn Dev SGX PCK Platform CA',
      'CN=Cairn Dev SGX Root CA',
    ])
    expect(hex(verified.pck.fmspc)).toBe('b0c06f000000')
  })

  it('verifies each signature directly', () => {
    const q = parseTdxQuoteV4(devQuote)
    const [leaf, ca, rootCert] = splitPemChain(q.pem).map((der) => new X509Certificate(der)) as X509Certificate[]
    const attestationKey = p256PublicKey(q.attestationKey)
    const p1363 = (key: typeof attestationKey | X509Certificate['publicKey']) => ({
      key,
      dsaEncoding: 'ieee-p1363' as const,
    })
    expect(cryptoVerify('sha256', devQuote.subarray(0, 632), p1363(attestationKey), q.signature)).toBe(true)
    expect(cryptoVerify('sha256', q.qeReport, p1363((leaf as X509Certificate).publicKey), q.qeReportSignature)).toBe(
      true,
    )
    expect(hex(q.qeReportFields.reportData)).toBe(hex(sha256(q.attestationKey, q.qeAuthData)) + '00'.repeat(32))
    expect(leaf?.verify((ca as X509Certificate).publicKey)).toBe(true)
    expect(ca?.verify((rootCert as X509Certificate).publicKey)).toBe(true)
    expect(rootCert?.verify((rootCert as X509Certificate).publicKey)).toBe(true)
    expect(leaf?.checkIssued(ca as X509Certificate)).toBe(true)
    expect(hex(q.attestationKey)).toBe(hex(pki.attestationKey.publicKey))
  })

  it('rejects a flipped byte anywhere a signature covers, but not in padding', () => {
    const check = (quote: Uint8Array) => verifyTdxQuote(quote, { trustedRoot: pki.root.der, now: NOW })
    const q = parseTdxQuoteV4(devQuote)
    for (const offset of [5 + 7, 48 + 200, 600, 636 + 10, 636 + 70, q.qeReportOffset + 100, q.qeReportOffset + 400]) {
      const mutated = devQuote.slice()
      mutated[offset] = (mutated[offset] as number) ^ 1
      expect(() => check(mutated), `offset ${offset}`).toThrow()
    }
    expect(() => check(buildDevQuote(pki, reportData64, { padTo: 6000 }))).not.toThrow()
  })

  it('rejects a chain that does not end in the trusted root', () => {
    expect(() => verifyTdxQuote(devQuote, { trustedRoot: intelRoot })).toThrow(VerificationError)
    const other = createDevPki('another seed', { now: NOW })
    expect(() => verifyTdxQuote(devQuote, { trustedRoot: other.root.der })).toThrow(/trusted root/)
  })

  it('mirrors Intel certificate shapes: extension order, criticality, SGX extension structure', () => {
    const [realLeaf, realCa, realRoot] = splitPemChain(parseTdxQuoteV4(realQuote).pem).map(parseCertificate)
    const realTcbSigning = splitPemChain(realCollateral.tcb_info_issuer_chain).map(parseCertificate)[0]
    const shape = (der: Uint8Array) =>
      [...parseCertificate(der).extensions].map(([id, e]) => `${id}${e.critical ? '!' : ''}`)
    expect(shape(pki.pckLeaf.der)).toEqual(shape(realLeaf?.der as Uint8Array))
    expect(shape(pki.platformCa.der)).toEqual(shape(realCa?.der as Uint8Array))
    expect(shape(pki.root.der)).toEqual(shape(realRoot?.der as Uint8Array))
    expect(shape(pki.tcbSigning.der)).toEqual(shape(realTcbSigning?.der as Uint8Array))
    for (const [dev, real] of [
      [pki.pckLeaf.der, realLeaf],
      [pki.tcbSigning.der, realTcbSigning],
      [pki.root.der, realRoot],
    ] as const) {
      const a = parseCertificate(dev)
      expect([...a.extensions.values()].map((e) => hex(e.value).slice(0, 2))).toEqual(
        [...(real?.extensions.values() ?? [])].map((e) => hex(e.value).slice(0, 2)),
      )
      expect(a.isCa).toBe(real?.isCa)
    }

    // The SGX extension: same OIDs, tags and order as Intel's, recursively.
    const outline = (value: Uint8Array): string[] => {
      const walk = (offset: number, end: number): string[] => {
        const out: string[] = []
        for (let at = offset; at < end; ) {
          const node = readNode(value, at, end)
          if (node.tag === 0x06) out.push(decodeOid(content(value, node)))
          else if (node.tag === 0x30) out.push('{', ...walk(node.contentStart, node.end), '}')
          else out.push(`tag${node.tag}`)
          at = node.end
        }
        return out
      }
      return walk(0, value.length)
    }
    const devExtension = parseCertificate(pki.pckLeaf.der).extensions.get(SGX_EXTENSION_OID)?.value as Uint8Array
    const realExtension = realLeaf?.extensions.get(SGX_EXTENSION_OID)?.value as Uint8Array
    expect(outline(devExtension)).toEqual(outline(realExtension))
    expect(devExtension.length).toBe(realExtension.length)
    expect(parseSgxExtension(devExtension)).toMatchObject({
      cpuSvn: pki.pck.cpuSvn,
      pceSvn: pki.pck.pceSvn,
      fmspc: pki.pck.fmspc,
      pceId: pki.pck.pceId,
      ppid: pki.pck.ppid,
      sgxType: 1,
      configuration: { dynamicPlatform: true, cachedKeys: true, smtEnabled: true },
    })
    expect(parseSgxExtension(realExtension).cpuSvn).toEqual([3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0])
  })
})

describe('dev collateral (c)', () => {
  it('has the sample file shape: same keys in the same order, compact signed JSON', () => {
    expect(Object.keys(devCollateral)).toEqual(Object.keys(realCollateral))
    for (const c of [devCollateral, realCollateral as DcapCollateral]) {
      expect(JSON.stringify(JSON.parse(c.tcb_info))).toBe(c.tcb_info)
      expect(JSON.stringify(JSON.parse(c.qe_identity))).toBe(c.qe_identity)
      expect(c.tcb_info_signature).toMatch(/^[0-9a-f]{128}$/)
      expect(c.root_ca_crl).toMatch(/^[0-9a-f]+$/)
    }
  })

  it('mirrors the key order of Intel TCB info and QE identity at every level', () => {
    // Key paths in document order (array elements merged): dev must equal real where real has the key.
    const keyOrder = (value: unknown, path = ''): string[] => {
      if (Array.isArray(value)) return [...new Set(value.flatMap((item) => keyOrder(item, `${path}[]`)))]
      if (value === null || typeof value !== 'object') return []
      return Object.entries(value).flatMap(([key, item]) => [`${path}.${key}`, ...keyOrder(item, `${path}.${key}`)])
    }
    expect(keyOrder(JSON.parse(devCollateral.tcb_info))).toEqual(keyOrder(JSON.parse(realCollateral.tcb_info)))
    expect(keyOrder(JSON.parse(devCollateral.qe_identity))).toEqual(keyOrder(JSON.parse(realCollateral.qe_identity)))
  })

  it('verifies: signatures by the TCB signing key, chains, CRLs, validity windows', () => {
    const verified = verifyCollateral(devCollateral, { trustedRoot: pki.root.der, now: NOW })
    expect(verified.tcbInfo).toMatchObject({ id: 'TDX', version: 3, fmspc: 'B0C06F000000', pceId: '0000' })
    expect(verified.qeIdentity).toMatchObject({ id: 'TD_QE', version: 2, isvprodid: 2 })
    const signer = new X509Certificate(pki.tcbSigning.der).publicKey
    const p1363 = { key: signer, dsaEncoding: 'ieee-p1363' as const }
    const ok = (text: string, sig: string) => cryptoVerify('sha256', Buffer.from(text), p1363, Buffer.from(sig, 'hex'))
    expect(ok(devCollateral.tcb_info, devCollateral.tcb_info_signature)).toBe(true)
    expect(ok(devCollateral.qe_identity, devCollateral.qe_identity_signature)).toBe(true)
    expect(ok(devCollateral.tcb_info.replace('"UpToDate"', '"OutOfDate"'), devCollateral.tcb_info_signature)).toBe(
      false,
    )
  })

  it('evaluates the dev quote exactly as the real quote evaluates (UpToDate everywhere)', () => {
    const devVerified = verifyCollateral(devCollateral, { trustedRoot: pki.root.der, now: NOW })
    const dev = evaluateTdxTcb(
      verifyTdxQuote(devQuote, { trustedRoot: pki.root.der, now: NOW }),
      devVerified.tcbInfo,
      devVerified.qeIdentity,
    )
    const realVerified = verifyCollateral(realCollateral, { trustedRoot: intelRoot, now: REAL_NOW })
    const real = evaluateTdxTcb(
      verifyTdxQuote(realQuote, { trustedRoot: intelRoot, now: REAL_NOW }),
      realVerified.tcbInfo,
      realVerified.qeIdentity,
    )
    expect(dev).toEqual(real)
    expect(dev.status).toBe('UpToDate')
  })

  it('lets tests choose TCB levels, QE identity and windows', () => {
    const collateral = buildDevCollateral(pki, {
      tcbLevels: [
        {
          sgxSvns: [9, 9, 9, 9, 9, 9, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0],
          pceSvn: 13,
          tdxSvns: Array(16).fill(0),
          tcbDate: '2025-01-01T00:00:00Z',
          tcbStatus: 'UpToDate',
        },
      ],
      qeIdentity: { isvprodid: 3 },
      issueDate: new Date('2026-02-01T00:00:00Z'),
      nextUpdate: new Date('2026-03-01T00:00:00Z'),
    })
    const verified = verifyCollateral(collateral, { trustedRoot: pki.root.der })
    const quote = verifyTdxQuote(devQuote, { trustedRoot: pki.root.der })
    expect(() => evaluateTdxTcb(quote, verified.tcbInfo, { ...verified.qeIdentity, isvprodid: 2 })).toThrow(
      /no matching TCB level/,
    )
    expect(() => evaluateTdxTcb(quote, verified.tcbInfo, verified.qeIdentity)).toThrow(/ISVPRODID/)
    expect(() => verifyCollateral(collateral, { trustedRoot: pki.root.der, now: NOW })).toThrow(/not valid/)
  })
})

describe('the same checker accepts the real Intel sample (d)', () => {
  it('verifies the real quote: signatures, QE binding, chain to the pinned Intel root, CRLs', () => {
    const fingerprint = new X509Certificate(intelRoot).fingerprint256
    expect(fingerprint).toBe(
      '44:A0:19:6B:2B:99:F8:89:B8:E1:49:E9:5B:80:7A:35:0E:74:24:96:43:99:E8:85:A7:CB:B8:CC:FA:B6:74:D3',
    )
    const verified = verifyTdxQuote(realQuote, { trustedRoot: intelRoot, now: REAL_NOW, crls: crlsOf(realCollateral) })
    expect(hex(verified.pck.fmspc)).toBe('b0c06f000000')
    expect(verified.pck.pceSvn).toBe(11)
  })

  it('verifies the real collateral signatures and windows', () => {
    const verified = verifyCollateral(realCollateral, { trustedRoot: intelRoot, now: REAL_NOW })
    expect(verified.pckCrl.revokedSerials).toHaveLength(44)
    expect(() => verifyCollateral(realCollateral, { trustedRoot: intelRoot, now: NOW })).toThrow(/not valid/)
    const tampered = {
      ...realCollateral,
      qe_identity: realCollateral.qe_identity.replace('"isvprodid":2', '"isvprodid":3'),
    }
    expect(() => verifyCollateral(tampered, { trustedRoot: intelRoot })).toThrow(/QE identity signature invalid/)
  })

  it('rejects the real quote under the dev root and the dev quote under the Intel root', () => {
    expect(() => verifyTdxQuote(realQuote, { trustedRoot: pki.root.der })).toThrow(/trusted root/)
    expect(() => verifyTdxQuote(devQuote, { trustedRoot: intelRoot })).toThrow(/trusted root/)
  })
})

describe('CRLs (e)', () => {
  const opensslAvailable = (() => {
    try {
      execFileSync('openssl', ['version'])
      return true
    } catch {
      return false
    }
  })()

  it('parse and verify, with Intel-shaped structure', () => {
    const rootCert = parseCertificate(pki.root.der)
    const caCert = parseCertificate(pki.platformCa.der)
    const rootCrl = parseCrl(pki.rootCaCrl.der)
    const pckCrl = parseCrl(pki.pckCrl.der)
    verifyCrl(rootCrl, rootCert, NOW)
    verifyCrl(pckCrl, caCert, NOW)
    expect(rootCrl.thisUpdate.toISOString()).toBe('2025-12-31T00:00:00.000Z')
    expect(rootCrl.nextUpdate.toISOString()).toBe('2026-01-31T00:00:00.000Z')
    expect(rootCrl.crlNumber).toBe(1n)
    expect(hex(rootCrl.authorityKeyId as Uint8Array)).toBe(hex(pki.root.subjectKeyId))
    expect(() => verifyCrl(rootCrl, rootCert, new Date('2026-02-01T00:00:00Z'))).toThrow(/not valid/)
    expect(() => verifyCrl(pckCrl, rootCert)).toThrow(VerificationError)

    // Same top-level TBS layout as Intel's root CRL (no entries): version, alg, issuer, this, next, [0] extensions.
    const tbsTags = (der: Uint8Array) => children(der, children(der, readNode(der, 0))[0] as never).map((n) => n.tag)
    expect(tbsTags(pki.rootCaCrl.der)).toEqual(tbsTags(Buffer.from(realCollateral.root_ca_crl, 'hex')))
    expect(tbsTags(pki.rootCaCrl.der)).toEqual([0x02, 0x30, 0x30, 0x17, 0x17, 0xa0])
  })

  it('list revoked serials, and a revoked PCK leaf fails the quote check', () => {
    const revoking = createDevPki('attestation-test', {
      now: NOW,
      revokedPckSerials: [pki.pckLeaf.serialNumber, 0x1234n],
      revokedRootSerials: ['00ff'],
    })
    expect(parseCrl(revoking.pckCrl.der).revokedSerials).toEqual([pki.pckLeaf.serialNumber, 0x1234n])
    expect(parseCrl(revoking.rootCaCrl.der).revokedSerials).toEqual([0xffn])
    // Same seed: same certificates, so the listed leaf is the dev quote's leaf.
    expect(hex(revoking.pckLeaf.der)).toBe(hex(pki.pckLeaf.der))
    const crls = { rootCaCrl: revoking.rootCaCrl.der, pckCrl: revoking.pckCrl.der }
    expect(() => verifyTdxQuote(devQuote, { trustedRoot: pki.root.der, now: NOW, crls })).toThrow(
      /PCK certificate revoked/,
    )
    // Intel-shaped entries: serial, revocationDate, reasonCode keyCompromise.
    const crl = revoking.pckCrl.der
    const tbs = children(crl, readNode(crl, 0))[0] as never
    const entry = children(crl, children(crl, children(crl, tbs)[5] as never)[0] as never)
    expect(entry.map((n) => n.tag)).toEqual([0x02, 0x17, 0x30])

    const revokedCa = issueDevCrl(pki.root, { ...pki.rootCaCrl, revokedSerials: [pki.platformCa.serialNumber] })
    const caCrls = { rootCaCrl: revokedCa.der, pckCrl: pki.pckCrl.der }
    expect(() => verifyTdxQuote(devQuote, { trustedRoot: pki.root.der, now: NOW, crls: caCrls })).toThrow(
      /PCK CA certificate revoked/,
    )
  })

  it.runIf(opensslAvailable)('cross-checks with openssl (chain, CRL signatures, revocation)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dcap-'))
    const file = (name: string, data: string | Uint8Array) => {
      writeFileSync(join(dir, name), data)
      return join(dir, name)
    }
    const rootPem = file('root.pem', pki.root.pem)
    const caPem = file('ca.pem', pki.platformCa.pem)
    const leafPem = file('leaf.pem', pki.pckLeaf.pem)
    const run = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' })
    expect(run('verify', '-x509_strict', '-CAfile', rootPem, '-untrusted', caPem, leafPem)).toContain('OK')
    for (const [name, crl, issuer] of [
      ['root.crl', pki.rootCaCrl.der, rootPem],
      ['pck.crl', pki.pckCrl.der, caPem],
    ] as const) {
      const out = execFileSync(
        'openssl',
        ['crl', '-inform', 'DER', '-in', file(name, crl), '-CAfile', issuer, '-noout'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      expect(out).toBe('')
    }
    const revoking = issueDevCrl(pki.platformCa, { ...pki.pckCrl, revokedSerials: [pki.pckLeaf.serialNumber] })
    const crlPem = file('revoking.pem', run('crl', '-inform', 'DER', '-in', file('revoking.crl', revoking.der)))
    const chain = file('chain.pem', pki.root.pem + pki.platformCa.pem)
    expect(() => run('verify', '-crl_check', '-CRLfile', crlPem, '-CAfile', chain, leafPem)).toThrow(/revoked/)
  })
})

describe('determinism (f)', () => {
  it('gives byte-identical PKI, collateral and quotes for the same seed and time', () => {
    const again = createDevPki('attestation-test', { now: NOW })
    expect(hex(again.root.der)).toBe(hex(pki.root.der))
    expect(hex(again.pckCrl.der)).toBe(hex(pki.pckCrl.der))
    expect(hex(buildDevQuote(again, reportData64))).toBe(hex(devQuote))
    expect(buildDevCollateral(again)).toEqual(devCollateral)
  })

  it('differs across seeds, and draws a random seed when none is given', () => {
    expect(hex(createDevPki('other', { now: NOW }).attestationKey.publicKey)).not.toBe(
      hex(pki.attestationKey.publicKey),
    )
    expect(hex(createDevPki(undefined, { now: NOW }).root.der)).not.toBe(
      hex(createDevPki(undefined, { now: NOW }).root.der),
    )
  })

  it('keeps test/fixtures/dcap-dev current (regenerate with write-dev-fixtures.ts)', () => {
    for (const [name, data] of buildDevFixtures()) {
      const expected = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)
      expect(Buffer.from(read(`test/fixtures/dcap-dev/${name}`)).equals(expected), name).toBe(true)
    }
    const fixtureRoot = read('test/fixtures/dcap-dev/TrustedRootCA.der')
    const quote = read('test/fixtures/dcap-dev/tdx_quote')
    const collateral = JSON.parse(readFileSync(join(root, 'test/fixtures/dcap-dev/tdx_quote_collateral.json'), 'utf8'))
    const now = new Date('2026-01-01T00:00:00Z')
    const verified = verifyCollateral(collateral, { trustedRoot: fixtureRoot, now })
    const quoteCheck = verifyTdxQuote(quote, { trustedRoot: fixtureRoot, now, crls: crlsOf(collateral) })
    expect(evaluateTdxTcb(quoteCheck, verified.tcbInfo, verified.qeIdentity).status).toBe('UpToDate')
    const revoked = JSON.parse(
      readFileSync(join(root, 'test/fixtures/dcap-dev/tdx_quote_collateral_pck_revoked.json'), 'utf8'),
    )
    expect(() => verifyTdxQuote(quote, { trustedRoot: fixtureRoot, now, crls: crlsOf(revoked) })).toThrow(/revoked/)
  })
})

describe('report data length (g)', () => {
  const providers: AttestationProvider[] = [
    createDevProvider(pki),
    createConfigfsTsmProvider({ root: '/nonexistent/tsm/report' }),
  ]
  for (const provider of providers) {
    it(`${provider.name} rejects report data that is not 64 bytes`, async () => {
      for (const length of [0, 32, 63, 65]) {
        await expect(provider.getQuote(new Uint8Array(length))).rejects.toBeInstanceOf(ReportDataLengthError)
      }
    })
  }

  it('the dev provider returns a verifiable quote for 64 bytes', async () => {
    const quote = await createDevProvider(pki).getQuote(reportData64)
    expect(hex(quote)).toBe(hex(devQuote))
  })
})

/** configfs-tsm emulated in memory: per-entry provider, generation, inblob → outblob, as the kernel behaves. */
const fakeConfigfs = (options: {
  root: string
  provider?: string
  /** Extra generation bumps from a "concurrent writer" on the n-th inblob write (0-based). */
  interfere?: (write: number) => boolean
  outblob?: (inblob: Uint8Array) => Promise<Uint8Array>
}) => {
  const entries = new Map<string, { generation: number; inblob?: Uint8Array }>()
  const log: string[] = []
  let writes = 0
  const entryOf = (path: string) => {
    const entry = entries.get(dirname(path))
    if (!entry) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    return entry
  }
  const fs: TsmFs = {
    async mkdir(path) {
      if (dirname(path) !== options.root) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      if (entries.has(path)) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' })
      entries.set(path, { generation: 7 })
      log.push('mkdir')
    },
    async rmdir(path) {
      entries.delete(path)
      log.push('rmdir')
    },
    async readFile(path) {
      const entry = entryOf(path)
      log.push(`read ${basename(path)}`)
      switch (basename(path)) {
        case 'provider':
          return new TextEncoder().encode(`${options.provider ?? 'tdx_guest'}\n`)
        case 'generation':
          return new TextEncoder().encode(`${entry.generation}\n`)
        case 'outblob':
          if (!entry.inblob) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' })
          return (options.outblob ?? (async (data) => buildDevQuote(pki, data)))(entry.inblob)
        default:
          throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      }
    },
    async writeFile(path, data) {
      const entry = entryOf(path)
      if (basename(path) !== 'inblob') throw new Error(`unexpected write ${path}`)
      log.push('write inblob')
      entry.inblob = new Uint8Array(data)
      entry.generation += 1
      if (options.interfere?.(writes++)) entry.generation += 1
    },
  }
  return { fs, entries, log }
}

describe('configfs-tsm provider (file protocol, emulated)', () => {
  const tsmRoot = '/sys/kernel/config/tsm/report'

  it('runs mkdir, provider, generation, inblob, outblob, generation, rmdir and returns the quote', async () => {
    const fake = fakeConfigfs({ root: tsmRoot })
    const provider = createConfigfsTsmProvider({ fs: fake.fs })
    const quote = await provider.getQuote(reportData64)
    expect(hex(parseTdxQuoteV4(quote).body.reportData)).toBe(hex(reportData64))
    verifyTdxQuote(quote, { trustedRoot: pki.root.der, now: NOW })
    expect(fake.log).toEqual([
      'mkdir',
      'read provider',
      'read generation',
      'write inblob',
      'read outblob',
      'read generation',
      'rmdir',
    ])
    expect(fake.entries.size).toBe(0)
  })

  it('retries when a concurrent writer bumps generation, with a fresh entry each time', async () => {
    const fake = fakeConfigfs({ root: tsmRoot, interfere: (write) => write === 0 })
    const quote = await createConfigfsTsmProvider({ fs: fake.fs }).getQuote(reportData64)
    expect(quote.length).toBeGreaterThan(1020)
    expect(fake.log.filter((l) => l === 'mkdir')).toHaveLength(2)
    expect(fake.log.filter((l) => l === 'rmdir')).toHaveLength(2)
    expect(fake.entries.size).toBe(0)
  })

  it('gives up with GenerationMismatchError and still removes every entry', async () => {
    const fake = fakeConfigfs({ root: tsmRoot, interfere: () => true })
    const error = await createConfigfsTsmProvider({ fs: fake.fs, attempts: 4 })
      .getQuote(reportData64)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GenerationMismatchError)
    expect(error).toMatchObject({ expected: 8, actual: 9, attempts: 4 })
    expect(fake.log.filter((l) => l === 'rmdir')).toHaveLength(4)
    expect(fake.entries.size).toBe(0)
  })

  it('rejects other TSM providers and removes the entry', async () => {
    const fake = fakeConfigfs({ root: tsmRoot, provider: 'sev_guest' })
    await expect(createConfigfsTsmProvider({ fs: fake.fs }).getQuote(reportData64)).rejects.toBeInstanceOf(
      UnsupportedTsmProviderError,
    )
    expect(fake.log).toEqual(['mkdir', 'read provider', 'rmdir'])
  })

  it('removes the entry when reading the quote fails, surfacing the original error', async () => {
    const fake = fakeConfigfs({
      root: tsmRoot,
      outblob: async () => {
        throw Object.assign(new Error('EIO: quote generation failed'), { code: 'EIO' })
      },
    })
    await expect(createConfigfsTsmProvider({ fs: fake.fs }).getQuote(reportData64)).rejects.toThrow(/EIO/)
    expect(fake.log.at(-1)).toBe('rmdir')
    expect(fake.entries.size).toBe(0)
  })

  it('reports ConfigfsTsmUnavailableError without a tsm/report directory (real node:fs)', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'cairn-tsm-')), 'tsm', 'report')
    await expect(createConfigfsTsmProvider({ root: missing }).getQuote(reportData64)).rejects.toBeInstanceOf(
      ConfigfsTsmUnavailableError,
    )
  })

  it('checks the signature helper against node:crypto on a raw key', () => {
    const q = parseTdxQuoteV4(devQuote)
    expect(verifyP256Raw(p256PublicKey(q.attestationKey), q.signedBytes, q.signature)).toBe(true)
    expect(verifyP256Raw(p256PublicKey(q.attestationKey), q.qeReport, q.signature)).toBe(false)
  })
})

/** A copy of `quote` with a little-endian integer of `bytes` bytes overwritten at `offset`. */
const withUint = (quote: Uint8Array, offset: number, bytes: 2 | 4, value: number): Uint8Array => {
  const mutated = quote.slice()
  const view = new DataView(mutated.buffer)
  if (bytes === 2) view.setUint16(offset, value, true)
  else view.setUint32(offset, value, true)
  return mutated
}

describe('v5 quotes (TDX 1.5): one parser for v4 and v5, dev quotes with either TD report (h)', () => {
  const mrServiceTd = new Uint8Array(48).fill(0x5e)
  const td10 = buildDevQuote(pki, reportData64, { version: 5, bodyType: 2 })
  const td15 = buildDevQuote(pki, reportData64, { version: 5, bodyType: 3, mrServiceTd })
  const v4Body = devQuote.subarray(48, 632)

  it('reads the real v5 sample where TdxQuote.sol reads it, and verifies it under the Intel root', () => {
    const view = new DataView(realV5Quote.buffer, realV5Quote.byteOffset, realV5Quote.byteLength)
    // Header version 5, then the body descriptor: type 3 (TD report 1.5), 648 bytes.
    expect([view.getUint16(0, true), view.getUint16(48, true), view.getUint32(50, true)]).toEqual([5, 3, 648])
    const q = parseTdxQuote(realV5Quote)
    expect(q).toMatchObject({ version: 5, bodyType: 3, bodyOffset: 54, signatureDataLength: view.getUint32(702, true) })
    // What the attestation key signs: header ‖ descriptor ‖ body (DcapTdxVerifierOutdatedTest.test_parse_v5Td15Body).
    expect(hex(q.signedBytes)).toBe(hex(realV5Quote.subarray(0, 702)))
    const at = (offset: number, length: number) => hex(realV5Quote.subarray(54 + offset, 54 + offset + length))
    expect(hex(q.body.teeTcbSvn)).toBe(at(0, 16))
    expect(hex(q.body.xfam)).toBe(at(128, 8))
    expect(hex(q.body.mrConfigId)).toBe(at(184, 48))
    expect(hex(q.body.rtmr[3])).toBe(at(472, 48))
    expect(hex(q.body.reportData)).toBe(at(520, 64))
    expect(hex(q.body.teeTcbSvn2)).toBe(at(584, 16))
    expect(hex(q.body.teeTcbSvn2)).toBe('0d010300000000000000000000000000')
    expect(hex(q.body.mrServiceTd)).toBe(at(600, 48))
    expect(q.qeReportOffset).toBe(702 + 4 + 134)
    const verified = verifyTdxQuote(realV5Quote, {
      trustedRoot: intelRoot,
      now: REAL_V5_NOW,
      crls: crlsOf(realV5Collateral),
    })
    expect(hex(verified.pck.fmspc)).toBe('90c06f000000')
  })

  it('builds v5 dev quotes: the v4 TD report 1.0 after a type-2 descriptor, or 1.5 with TEE_TCB_SVN2 and MRSERVICETD', () => {
    expect(hex(td10.subarray(0, 2))).toBe('0500')
    expect(hex(td10.subarray(2, 48))).toBe(hex(devQuote.subarray(2, 48)))
    expect(hex(td10.subarray(48, 54))).toBe('020048020000') // type 2, 584 bytes
    expect(hex(td10.subarray(54, 638))).toBe(hex(v4Body))
    expect(hex(td15.subarray(0, 48))).toBe(hex(td10.subarray(0, 48)))
    expect(hex(td15.subarray(48, 54))).toBe('030088020000') // type 3, 648 bytes
    expect(hex(td15.subarray(54, 638))).toBe(hex(v4Body))
    // TEE_TCB_SVN2 defaults to TEE_TCB_SVN: the TDX module was not updated since the TD launched.
    expect(hex(td15.subarray(638, 654))).toBe(hex(devQuote.subarray(48, 64)))
    expect(hex(td15.subarray(654, 702))).toBe(hex(mrServiceTd))
    const svn2 = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 9 : 0))
    expect(hex(parseTdxQuote(buildDevQuote(pki, reportData64, { version: 5, teeTcbSvn2: svn2 })).body.teeTcbSvn2)).toBe(
      hex(svn2),
    )

    const collateral = verifyCollateral(devCollateral, { trustedRoot: pki.root.der, now: NOW })
    for (const [quote, bodyType, serviceTd] of [
      [td10, 2, new Uint8Array(48)],
      [td15, 3, mrServiceTd],
    ] as const) {
      const q = parseTdxQuote(quote)
      expect(q).toMatchObject({ version: 5, bodyType, bodyOffset: 54, end: quote.length })
      expect(hex(q.body.reportData)).toBe(hex(reportData64))
      expect(hex(q.body.mrServiceTd)).toBe(hex(serviceTd))
      // Signed like v4 quotes: the attestation key over everything up to the signature data, QE report, PCK chain.
      const verified = verifyTdxQuote(quote, { trustedRoot: pki.root.der, now: NOW, crls: crlsOf(devCollateral) })
      expect(evaluateTdxTcb(verified, collateral.tcbInfo, collateral.qeIdentity).status).toBe('UpToDate')
      for (const offset of [0, 48, 50, 54 + 600, q.signedBytes.length - 1]) {
        const mutated = quote.slice()
        mutated[offset] = (mutated[offset] as number) ^ 0x40
        expect(() => verifyTdxQuote(mutated, { trustedRoot: pki.root.der, now: NOW }), `offset ${offset}`).toThrow()
      }
    }
    // v4 remains the default, byte for byte (test/fixtures/dcap-dev is checked in (f)).
    expect(hex(buildDevQuote(pki, reportData64, { version: 4 }))).toBe(hex(devQuote))
    expect(parseTdxQuote(devQuote)).toMatchObject({ version: 4, bodyType: 2, bodyOffset: 48 })
    expect(hex(parseTdxQuote(devQuote).body.mrServiceTd)).toBe('00'.repeat(48))
  })

  it('refuses TD report 1.5 fields for a quote without a TD report 1.5 body', () => {
    expect(() => buildDevQuote(pki, reportData64, { mrServiceTd })).toThrow(/mrServiceTd.*TD report 1\.5/)
    expect(() => buildDevQuote(pki, reportData64, { version: 5, bodyType: 2, mrServiceTd })).toThrow(
      /mrServiceTd.*TD report 1\.5/,
    )
    expect(() => buildDevQuote(pki, reportData64, { teeTcbSvn2: new Uint8Array(16) })).toThrow(/teeTcbSvn2/)
    expect(() => buildDevQuote(pki, reportData64, { version: 4, bodyType: 3 })).toThrow(/v4 quote.*TD report 1\.0/)
  })

  it('refuses other versions, body types and body sizes with a QuoteFormatError naming what it found', () => {
    const cases: [Uint8Array, RegExp][] = [
      [withUint(devQuote, 0, 2, 3), /quote version 3/],
      [withUint(td15, 0, 2, 6), /quote version 6/],
      [withUint(td15, 48, 2, 1), /body type 1, 648 bytes/], // an SGX enclave report's type
      [withUint(td15, 48, 2, 4), /body type 4, 648 bytes/],
      [withUint(td15, 50, 4, 584), /body type 3, 584 bytes/],
      [withUint(td10, 48, 2, 3), /body type 3, 584 bytes/],
      [withUint(td10, 50, 4, 648), /body type 2, 648 bytes/],
    ]
    for (const [quote, message] of cases) {
      const error = (() => {
        try {
          parseTdxQuote(quote)
        } catch (caught) {
          return caught
        }
      })()
      expect(error, String(message)).toBeInstanceOf(QuoteFormatError)
      expect((error as Error).message).toMatch(message)
    }
    expect(() => parseTdxQuote(withUint(td15, 48, 2, 4))).toThrow(/expected type 2 \(584 bytes.*type 3 \(648 bytes/)
    // The v4-only reader says what to use instead.
    expect(() => parseTdxQuoteV4(td15)).toThrow(QuoteFormatError)
    expect(() => parseTdxQuoteV4(td15)).toThrow(/v5 quote.*parseTdxQuote/)
  })
})

describe('the enclave checks v5 quotes as it checks v4 quotes (10.1, TDX 1.5 platforms)', () => {
  const registry = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
  const config: EnclaveConfig = { role: 'Prover', registries: [{ chainId: 31337, registry }] }
  // The same registry address on another chain: another registry.
  const elsewhere: EnclaveConfig = { role: 'Prover', registries: [{ chainId: 1, registry }] }
  const mrServiceTd = new Uint8Array(48).fill(0x5e)
  const formats = [
    { version: 5, bodyType: 2 },
    { version: 5, bodyType: 3, mrServiceTd },
  ] as const

  for (const format of formats) {
    it(`passes a v5 type-${format.bodyType} quote of a TD launched for the configuration, for its report data only`, async () => {
      const enclave = devEnclaveAttestation(pki, config, format)
      const quote = await enclave.provider.getQuote(reportData64)
      expect(parseTdxQuote(quote)).toMatchObject({ version: 5, bodyType: format.bodyType })
      expect(() => enclave.checkQuote(quote, reportData64)).not.toThrow()
      expect(() => checkQuoteConfiguration(quote, reportData64, config)).not.toThrow()

      const otherReportData = reportData64.map((byte) => byte ^ 1)
      expect(() => checkQuoteConfiguration(quote, otherReportData, config)).toThrow(QuoteReportDataError)

      const launchedElsewhere = createDevProvider(pki, { ...format, mrConfigId: hexToBytes(mrConfigIdOf(elsewhere)) })
      const foreign = await launchedElsewhere.getQuote(reportData64)
      const refused = (() => {
        try {
          checkQuoteConfiguration(foreign, reportData64, config)
        } catch (error) {
          return error
        }
      })()
      expect(refused).toBeInstanceOf(TdConfigurationError)
      expect(refused).toMatchObject({ launchedFor: mrConfigIdOf(elsewhere), configuredFor: mrConfigIdOf(config) })
    })
  }

  it('runs its checks on a real v5 quote (the sample TD was launched for no configuration: refused as such)', () => {
    const sample = parseTdxQuote(realV5Quote)
    expect(() => checkQuoteConfiguration(realV5Quote, sample.body.reportData, config)).toThrow(TdConfigurationError)
    expect(() => checkQuoteConfiguration(realV5Quote, reportData64, config)).toThrow(QuoteReportDataError)
  })

  it('tdConfigOfQuote is keccak256(XFAM ‖ MRCONFIGID ‖ MROWNER ‖ MROWNERCONFIG ‖ MRSERVICETD), MRSERVICETD zero for TD 1.0', () => {
    const options = { mrConfigId: hexToBytes(mrConfigIdOf(config)), mrOwner: new Uint8Array(48).fill(0x0e) }
    const v4 = buildDevQuote(pki, reportData64, options)
    const type2 = buildDevQuote(pki, reportData64, { ...options, version: 5, bodyType: 2 })
    const type3 = buildDevQuote(pki, reportData64, { ...options, version: 5, bodyType: 3, mrServiceTd })
    const type3NoServiceTd = buildDevQuote(pki, reportData64, { ...options, version: 5, bodyType: 3 })
    // Read from absolute offsets, independently of the parser: body at 54, XFAM +128, MRCONFIGID +184, MROWNER +232,
    // MROWNERCONFIG +280, MRSERVICETD +600.
    const raw = (offset: number, length: number) => type3.subarray(54 + offset, 54 + offset + length)
    const expected = keccak256(concat([raw(128, 8), raw(184, 48), raw(232, 48), raw(280, 48), raw(600, 48)]))
    expect(tdConfigOfQuote(type3)).toBe(expected)
    expect(hex(raw(600, 48))).toBe(hex(mrServiceTd))
    expect(tdConfigOfQuote(type3)).not.toBe(tdConfigOfQuote(v4))
    // Without a service TD, a TD's tdConfig is the same whatever the quote format.
    expect(tdConfigOfQuote(type2)).toBe(tdConfigOfQuote(v4))
    expect(tdConfigOfQuote(type3NoServiceTd)).toBe(tdConfigOfQuote(v4))
    expect(tdConfigOfQuote(v4)).toBe(
      tdConfigOf({
        xfam: `0x${hex(parseTdxQuote(v4).body.xfam)}`,
        mrConfigId: mrConfigIdOf(config),
        mrOwner: `0x${'0e'.repeat(48)}`,
      }),
    )
    // The real sample (TD report 1.5, zero MRSERVICETD).
    const sample = (offset: number, length: number) => realV5Quote.subarray(54 + offset, 54 + offset + length)
    expect(tdConfigOfQuote(realV5Quote)).toBe(
      keccak256(concat([sample(128, 8), sample(184, 48), sample(232, 48), sample(280, 48), sample(600, 48)])),
    )
  })
})
