// Prints a dev TDX quote (0x-hex) for the given 64-byte report data, from the same deterministic dev PKI as
// test/fixtures/dcap-dev, so its collateral verifies it. Used by forge tests through vm.ffi:
//   node bin/run.mjs enclave/attestation/dev/dev-quote-cli.ts <reportData hex> [--debug] [--mrtd <48-byte hex>]
//     [--td-attributes <8-byte hex>] [--mr-owner <48-byte hex>]
import { fromHex, toHex } from '../bytes.js'
import { createFixturePki } from './fixture-pki.js'
import { buildDevQuote } from './quote.js'

const [reportDataHex, ...flags] = process.argv.slice(2)
if (reportDataHex === undefined) {
  process.stderr.write(
    'usage: dev-quote-cli.ts <reportData hex> [--debug] [--mrtd <hex>] [--td-attributes <hex>] [--mr-owner <hex>]\n',
  )
  process.exit(2)
}
/** The bytes given after `flag`, when it is present. */
const bytesFlag = (flag: string): Uint8Array | undefined => {
  const at = flags.indexOf(flag)
  return at >= 0 ? fromHex(flags[at + 1] ?? '') : undefined
}
const mrTd = bytesFlag('--mrtd')
const tdAttributes = bytesFlag('--td-attributes')
const mrOwner = bytesFlag('--mr-owner')
const pki = createFixturePki()
const quote = buildDevQuote(pki, fromHex(reportDataHex), {
  debug: flags.includes('--debug'),
  ...(mrTd ? { mrTd } : {}),
  ...(tdAttributes ? { tdAttributes } : {}),
  ...(mrOwner ? { mrOwner } : {}),
})
process.stdout.write(`0x${toHex(quote)}`)
