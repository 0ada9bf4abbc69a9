// Writes the deterministic dev DCAP fixture set to test/fixtures/dcap-dev/ (or checks it with --check):
//   npx tsx enclave/attestation/write-dev-fixtures.ts [--check]
// Everything derives from a fixed seed and a fixed time, so the output is byte-identical on every run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { keccak256 } from 'viem'
import { toHex } from './bytes.js'
import { buildDevCollateral, intelDate, serializeCollateral } from './collateral.js'
import { createDevPki, issueDevCrl } from './pki.js'
import { buildDevQuote, parseTdxQuoteV4, REPORT_DATA_OFFSET } from './quote.js'

export const FIXTURE_SEED = 'cairn-dev-dcap-fixtures-v1'
/** 2026-01-01T00:00:00Z: collateral is valid 2025-12-31T00:00:00Z … 2026-01-31T00:00:00Z. */
export const FIXTURE_NOW = new Date('2026-01-01T00:00:00Z')
/** REPORTDATA of the fixture quotes: bytes 0x00..0x3f. */
export const FIXTURE_REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => i)

const DAY = 86_400_000

export const buildDevFixtures = (): Map<string, string | Uint8Array> => {
  const pki = createDevPki(FIXTURE_SEED, { now: FIXTURE_NOW })
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
  }

  return new Map<string, string | Uint8Array>([
    ['tdx_quote', quote],
    ['tdx_quote_debug', debugQuote],
    ['tdx_quote_collateral.json', serializeCollateral(collateral)],
    ['tdx_quote_collateral_pck_revoked.json', serializeCollateral(revokedCollateral)],
    ['TrustedRootCA.der', pki.root.der],
    ['manifest.json', `${JSON.stringify(manifest, null, 2)}\n`],
    ['README.md', readme(manifest, new Date(FIXTURE_NOW.getTime() + 15 * DAY))],
  ])
}

const readme = (m: { nowUnix: number; collateralNextUpdateUnix: number; crlNextUpdateUnix: number }, mid: Date) =>
  `# Dev DCAP fixtures (generated — do not edit)

Written by \`npx tsx enclave/attestation/write-dev-fixtures.ts\` (\`--check\` verifies they are current) from the
dev PKI in \`enclave/attestation/\`, seed \`${FIXTURE_SEED}\`, time ${intelDate(FIXTURE_NOW)}. Same formats as
\`../dcap/\` (real Intel samples), but everything chains to the **Cairn Dev SGX Root CA** in \`TrustedRootCA.der\`,
never to Intel's root: a verifier pinned to Intel's root key must reject these quotes.

| file | content |
|---|---|
| \`tdx_quote\` | v4 TDX quote, REPORTDATA = bytes 0x00..0x3f, not debug, no padding |
| \`tdx_quote_debug\` | the same with TDATTRIBUTES.DEBUG set (must fail a production policy) |
| \`tdx_quote_collateral.json\` | its collateral (dcap-qvl \`Collateral\` JSON, as \`../dcap/tdx_quote_collateral.json\`) |
| \`tdx_quote_collateral_pck_revoked.json\` | the same, but the PCK CRL lists the quote's PCK leaf |
| \`TrustedRootCA.der\` | the dev root certificate |
| \`manifest.json\` | seed, time windows (unix seconds), serials, keys, offsets and measurements |

Validity: collateral (TCB info, QE identity) and both CRLs from one day before to 30 days after
${intelDate(FIXTURE_NOW)}; certificates for ten years. Warp to \`${m.nowUnix}\` (or any time up to
\`${Math.min(m.collateralNextUpdateUnix, m.crlNextUpdateUnix)}\`, e.g. ${intelDate(mid)}). Expected evaluation:
platform, TDX module (TDX_01) and TD_QE all **UpToDate**, no advisories — the same as the real \`tdx_quote\`,
whose TCB values, TD_QE measurements and TCB levels these mirror.
`

const main = (): void => {
  const directory = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/dcap-dev')
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
