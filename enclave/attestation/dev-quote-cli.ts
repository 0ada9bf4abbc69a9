// Prints a dev TDX quote (0x-hex) for the given 64-byte report data, from the same deterministic dev PKI as
// test/fixtures/dcap-dev, so its collateral verifies it. Used by forge tests through vm.ffi:
//   npx tsx enclave/attestation/dev-quote-cli.ts <reportData hex> [--debug] [--mrtd <48-byte hex>]
import { fromHex, toHex } from './bytes.js'
import { createDevPki } from './pki.js'
import { buildDevQuote } from './quote.js'
import { FIXTURE_NOW, FIXTURE_SEED } from './write-dev-fixtures.js'

const [reportDataHex, ...flags] = process.argv.slice(2)
if (reportDataHex === undefined) {
  process.stderr.write('usage: dev-quote-cli.ts <reportData hex> [--debug] [--mrtd <hex>]\n')
  process.exit(2)
}
const mrtdAt = flags.indexOf('--mrtd')
const pki = createDevPki(FIXTURE_SEED, { now: FIXTURE_NOW })
const quote = buildDevQuote(pki, fromHex(reportDataHex), {
  debug: flags.includes('--debug'),
  ...(mrtdAt >= 0 ? { mrTd: fromHex(flags[mrtdAt + 1] ?? '') } : {}),
})
process.stdout.write(`0x${toHex(quote)}`)
