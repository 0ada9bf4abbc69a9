// Writes the deterministic dev DCAP fixture set to test/fixtures/dcap-dev/ (or checks it with --check):
//   npx tsx enclave/attestation/dev/write-dev-fixtures.ts [--check]
// Everything derives from a fixed seed and a fixed time, so the output is byte-identical on every run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { keccak256 } from 'viem'
import { repoRoot } from '../../../ts/root.js'
import { toHex } from '../bytes.js'
import { parseTdxQuoteV4, REPORT_DATA_OFFSET } from '../quote.js'
import {
  buildDevCollateral,
  DEFAULT_QE_IDENTITY,
  DEFAULT_TCB_LEVELS,
  type DevTcbLevel,
  intelDate,
  serializeCollateral,
} from './collateral.js'
import { createFixturePki, FIXTURE_NOW, FIXTURE_REPORT_DATA, FIXTURE_SEED } from './fixture-pki.js'
import { type DevCertificate, type DevPki, issueDevCrl, issueDevTcbSigning } from './pki.js'
import { buildDevQuote } from './quote.js'

const DAY = 86_400_000

export const buildDevFixtures = (): Map<string, string | Uint8Array> => {
  const pki = createFixturePki()
  const quote = buildDevQuote(pki, FIXTURE_REPORT_DATA)
  const debugQuote = buildDevQuote(pki, FIXTURE_REPORT_DATA, { debug: true })
  const collateral = buildDevCollateral(pki)
  // Same collateral, but the Platform CA's CRL lists the PCK leaf.
  const revokedPckCrl = issueDevCrl(pki.platformCa, {
    thisUpdate: pki.pckCrl.thisUpdate,
    nextUpdate: pki.pckCrl.nextUpdate,
    revokedSerials: [pki.pckLeaf.serialNumber],
  })
  const revokedCollateral = buildDevCollateral(pki, { pckCrl: revokedPckCrl })

  // Collateral ordering (evaluation number first, then issue date). Eval 18 is stricter than the default eval 17:
  // its UpToDate platform level needs PCESVN 12 (the PCK has 11) and its UpToDate TD_QE level ISVSVN 7 (the QE has
  // 6), so the quote is OutOfDate. Eval 16 is as lenient as eval 17 but issued a day later.
  const strictLevels: DevTcbLevel[] = DEFAULT_TCB_LEVELS.map((level) =>
    level.tcbStatus === 'UpToDate' ? { ...level, pceSvn: level.pceSvn + 1 } : level,
  )
  const strictQe = {
    tcbLevels: [
      { isvsvn: 7, tcbDate: '2025-06-11T00:00:00Z', tcbStatus: 'UpToDate' as const },
      ...DEFAULT_QE_IDENTITY.tcbLevels.map((level) => ({ ...level, tcbStatus: 'OutOfDate' as const })),
    ],
  }
  const eval16Collateral = buildDevCollateral(pki, { tcbEvaluationDataNumber: 16, issueDate: FIXTURE_NOW })
  const eval18Collateral = buildDevCollateral(pki, {
    tcbEvaluationDataNumber: 18,
    tcbLevels: strictLevels,
    qeIdentity: strictQe,
  })
  const eval18Reissued = buildDevCollateral(pki, {
    tcbEvaluationDataNumber: 18,
    issueDate: FIXTURE_NOW,
    tcbLevels: strictLevels,
    qeIdentity: strictQe,
  })

  // A TCB info without tdxModuleIdentities (optional in Intel's format): only version-0 TDX modules can be evaluated
  // against it, through `tdxModule` and the levels' tdxtcbcomponents from index 0 (the module's own SVN included).
  // Its UpToDate level takes a module SVN of 5, its OutOfDate one 3. Issued a day after the default, so it replaces it.
  const noModuleIdentities = buildDevCollateral(pki, {
    issueDate: FIXTURE_NOW,
    tdxModuleIdentities: null,
    tcbLevels: DEFAULT_TCB_LEVELS.map((level) =>
      level.tcbStatus === 'UpToDate'
        ? level
        : { ...level, tdxSvns: level.tdxSvns.map((svn, i) => (i === 0 ? 3 : svn)) },
    ),
  })
  const moduleV0Quote = buildDevQuote(pki, FIXTURE_REPORT_DATA, { teeTcbSvn: teeTcbSvn(6, 0, 3) })
  const moduleV0OutdatedQuote = buildDevQuote(pki, FIXTURE_REPORT_DATA, { teeTcbSvn: teeTcbSvn(4, 0, 3) })

  // The TCB Signing key rotated: a root CRL issued at FIXTURE_NOW revokes the first TCB Signing certificate, and the
  // TCB info and QE identity are re-issued (same evaluation, issued at FIXTURE_NOW) under a new one.
  const rotatedSigning = issueDevTcbSigning(pki, 'tcb-signing-2')
  const rotatedRootCrl = issueDevCrl(pki.root, {
    thisUpdate: FIXTURE_NOW,
    nextUpdate: pki.rootCaCrl.nextUpdate,
    revokedSerials: [pki.tcbSigning.serialNumber],
    crlNumber: 2,
  })
  const rotatedCollateral = buildDevCollateral(withTcbSigning(pki, rotatedSigning), {
    issueDate: FIXTURE_NOW,
    rootCaCrl: rotatedRootCrl,
  })
  const parsed = parseTdxQuoteV4(quote)
  const rootKey = pki.root.key.publicKey
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000)
  const tcbInfo = JSON.parse(collateral.tcb_info) as { issueDate: string; nextUpdate: string }

  const manifest = {
    seed: FIXTURE_SEED,
    now: intelDate(FIXTURE_NOW),
    nowUnix: seconds(FIXTURE_NOW),
    collateralIssueDateUnix: seconds(new Date(tcbInfo.issueDate)),
    collateralNextUpdateUnix: seconds(new Date(tcbInfo.nextUpdate)),
    crlThisUpdateUnix: seconds(pki.pckCrl.thisUpdate),
    crlNextUpdateUnix: seconds(pki.pckCrl.nextUpdate),
    certificatesNotBeforeUnix: seconds(pki.root.notBefore),
    certificatesNotAfterUnix: seconds(pki.root.notAfter),
    expectedTcbStatus: 'UpToDate',
    quoteLength: quote.length,
    signatureDataLength: parsed.signatureDataLength,
    pemOffset: parsed.pemOffset,
    pemSize: parsed.pemSize,
    reportData: `0x${toHex(FIXTURE_REPORT_DATA)}`,
    reportDataOffset: REPORT_DATA_OFFSET,
    fmspc: `0x${toHex(pki.pck.fmspc)}`,
    pceId: `0x${toHex(pki.pck.pceId)}`,
    teeTcbSvn: `0x${toHex(parsed.body.teeTcbSvn)}`,
    tdAttributes: `0x${toHex(parsed.body.tdAttributes)}`,
    mrTd: `0x${toHex(parsed.body.mrTd)}`,
    rtmr0: `0x${toHex(parsed.body.rtmr[0])}`,
    rtmr1: `0x${toHex(parsed.body.rtmr[1])}`,
    rtmr2: `0x${toHex(parsed.body.rtmr[2])}`,
    rtmr3: `0x${toHex(parsed.body.rtmr[3])}`,
    mrConfigId: `0x${toHex(parsed.body.mrConfigId)}`,
    attestationKey: `0x${toHex(pki.attestationKey.publicKey)}`,
    rootPublicKey: `0x${toHex(rootKey)}`,
    rootPublicKeyHash: keccak256(rootKey),
    rootSerial: `0x${pki.root.serialNumber.toString(16)}`,
    platformCaSerial: `0x${pki.platformCa.serialNumber.toString(16)}`,
    pckLeafSerial: `0x${pki.pckLeaf.serialNumber.toString(16)}`,
    tcbSigningSerial: `0x${pki.tcbSigning.serialNumber.toString(16)}`,
    rotatedTcbSigningSerial: `0x${rotatedSigning.serialNumber.toString(16)}`,
    rotatedRootCrlThisUpdateUnix: seconds(rotatedRootCrl.thisUpdate),
  }

  return new Map<string, string | Uint8Array>([
    ['tdx_quote', quote],
    ['tdx_quote_debug', debugQuote],
    ['tdx_quote_collateral.json', serializeCollateral(collateral)],
    ['tdx_quote_collateral_pck_revoked.json', serializeCollateral(revokedCollateral)],
    ['tdx_quote_collateral_eval16.json', serializeCollateral(eval16Collateral)],
    ['tdx_quote_collateral_eval18.json', serializeCollateral(eval18Collateral)],
    ['tdx_quote_collateral_eval18_reissued.json', serializeCollateral(eval18Reissued)],
    ['tdx_quote_collateral_no_module_identities.json', serializeCollateral(noModuleIdentities)],
    ['tdx_quote_collateral_tcb_signing_rotated.json', serializeCollateral(rotatedCollateral)],
    ['tdx_quote_module_v0', moduleV0Quote],
    ['tdx_quote_module_v0_outdated', moduleV0OutdatedQuote],
    ['TrustedRootCA.der', pki.root.der],
    ['manifest.json', `${JSON.stringify(manifest, null, 2)}\n`],
    ['README.md', readme(manifest, new Date(FIXTURE_NOW.getTime() + 15 * DAY))],
  ])
}

/** TEE_TCB_SVN with the TDX module's SVN and version and the late microcode SVN; the rest zero. */
const teeTcbSvn = (moduleSvn: number, moduleVersion: number, microcodeSvn: number): Uint8Array => {
  const svn = new Uint8Array(16)
  svn.set([moduleSvn, moduleVersion, microcodeSvn])
  return svn
}

/** The same PKI with another TCB Signing certificate signing the TCB info and QE identity. */
const withTcbSigning = (pki: DevPki, signing: DevCertificate): DevPki => ({
  ...pki,
  tcbSigning: signing,
  tcbSigningChainPem: signing.pem + pki.root.pem,
})

const readme = (m: { nowUnix: number; collateralNextUpdateUnix: number; crlNextUpdateUnix: number }, mid: Date) =>
  `# Dev DCAP fixtures (generated — do not edit)

Written by \`npx tsx enclave/attestation/dev/write-dev-fixtures.ts\` (\`--check\` verifies they are current) from the
dev PKI in \`enclave/attestation/\`, seed \`${FIXTURE_SEED}\`, time ${intelDate(FIXTURE_NOW)}. Same formats as
\`../dcap/\` (real Intel samples), but everything chains to the **Cairn Dev SGX Root CA** in \`TrustedRootCA.der\`,
never to Intel's root: a verifier pinned to Intel's root key must reject these quotes.

| file | content |
|---|---|
| \`tdx_quote\` | v4 TDX quote, REPORTDATA = bytes 0x00..0x3f, not debug, no padding |
| \`tdx_quote_debug\` | the same with TDATTRIBUTES.DEBUG set (must fail a production policy) |
| \`tdx_quote_collateral.json\` | its collateral (dcap-qvl \`Collateral\` JSON, as \`../dcap/tdx_quote_collateral.json\`) |
| \`tdx_quote_collateral_pck_revoked.json\` | the same, but the PCK CRL lists the quote's PCK leaf |
| \`tdx_quote_collateral_eval16.json\` | TCB evaluation 16 (as lenient as 17), issued a day later than the default: a rollback attempt |
| \`tdx_quote_collateral_eval18.json\` | TCB evaluation 18, stricter: the platform needs PCESVN 12 and the TD_QE ISVSVN 7, so the quote is OutOfDate |
| \`tdx_quote_collateral_eval18_reissued.json\` | the same evaluation 18, issued a day later |
| \`tdx_quote_collateral_no_module_identities.json\` | TCB info without \`tdxModuleIdentities\` (evaluation 17, issued a day later); its OutOfDate level takes TDX module SVN 3 |
| \`tdx_quote_collateral_tcb_signing_rotated.json\` | a root CRL revoking the TCB Signing certificate; TCB info and QE identity re-signed by a new one |
| \`tdx_quote_module_v0\` | \`tdx_quote\` with TEE_TCB_SVN 06 00 03: a version-0 TDX module (judged without a module identity) |
| \`tdx_quote_module_v0_outdated\` | the same with TDX module SVN 4 (TEE_TCB_SVN 04 00 03) |
| \`TrustedRootCA.der\` | the dev root certificate |
| \`manifest.json\` | seed, time windows (unix seconds), serials, keys, offsets and measurements |

Validity: collateral (TCB info, QE identity) and both CRLs from one day before to 30 days after
${intelDate(FIXTURE_NOW)}; certificates for ten years. Warp to \`${m.nowUnix}\` (or any time up to
\`${Math.min(m.collateralNextUpdateUnix, m.crlNextUpdateUnix)}\`, e.g. ${intelDate(mid)}). Expected evaluation:
platform, TDX module (TDX_01) and TD_QE all **UpToDate**, no advisories — the same as the real \`tdx_quote\`,
whose TCB values, TD_QE measurements and TCB levels these mirror.
`

const main = (): void => {
  const directory = join(repoRoot, 'test/fixtures/dcap-dev')
  const check = process.argv.includes('--check')
  const stale: string[] = []
  if (!check) mkdirSync(directory, { recursive: true })
  for (const [name, data] of buildDevFixtures()) {
    const path = join(directory, name)
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)
    if (!check) {
      writeFileSync(path, bytes)
      continue
    }
    let current: Buffer | undefined
    try {
      current = readFileSync(path)
    } catch {}
    if (!current?.equals(bytes)) stale.push(name)
  }
  if (stale.length > 0) {
    console.error(`dev DCAP fixtures out of date: ${stale.join(', ')}`)
    process.exit(1)
  }
  console.log(check ? 'dev DCAP fixtures are current' : `wrote ${directory}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()
