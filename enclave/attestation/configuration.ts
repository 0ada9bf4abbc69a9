import {
  describeEnclaveConfig,
  type EnclaveAttestation,
  type EnclaveConfig,
  mrConfigIdOf,
  tdConfigOf,
} from '../../ts/enclave-config.js'
import { equalBytes, fromHex, toHex } from './bytes.js'
import { AttestationError, type AttestationProvider } from './provider.js'
import { parseTdxQuote } from './quote.js'

/*
 * The enclave's side of its measured configuration (ts/enclave-config.ts): before any quote is used, the enclave
 * checks that the quote is its TD's answer for the report data it asked for, from a TD launched (MRCONFIGID) for
 * the configuration it acts on. The same check runs on configfs-tsm quotes on hardware and on dev quotes, v4 and v5
 * (TDX 1.5 platforms) alike: every quote the on-chain verifier takes.
 */

const hex = (bytes: Uint8Array): `0x${string}` => `0x${toHex(bytes)}`

/** The TD was launched for another configuration than the one the enclave was given: it must not register. */
export class TdConfigurationError extends AttestationError {
  override name = 'TdConfigurationError'
  constructor(
    /** The MRCONFIGID the quote shows: what the TD was launched for. */
    readonly launchedFor: `0x${string}`,
    /** The MRCONFIGID of the configuration the enclave was given. */
    readonly configuredFor: `0x${string}`,
    readonly config: EnclaveConfig,
  ) {
    super(
      `this TD was launched for configuration ${launchedFor}, not ${configuredFor} (${describeEnclaveConfig(config)}): ` +
        'relaunch the TD with that MRCONFIGID, or give the enclave the chain id and deployment it was launched for',
    )
  }
}

/** The quote source answered with a quote for other report data: not the quote this registration asked for. */
export class QuoteReportDataError extends AttestationError {
  override name = 'QuoteReportDataError'
  constructor(
    readonly expected: `0x${string}`,
    readonly actual: `0x${string}`,
  ) {
    super(
      `the attestation provider returned a quote for report data ${actual}, not ${expected}: ` +
        'the quote source is not this TD or not this request; refusing to use it',
    )
  }
}

/**
 * Throws unless `quote` carries `reportData` and the MRCONFIGID of `config` (its config id ‖ 16 zero bytes).
 * Checked on every quote the enclave takes, before anything uses it.
 */
export function checkQuoteConfiguration(quote: Uint8Array, reportData: Uint8Array, config: EnclaveConfig): void {
  const body = parseTdxQuote(quote).body
  if (!equalBytes(body.reportData, reportData)) throw new QuoteReportDataError(hex(reportData), hex(body.reportData))
  const expected = fromHex(mrConfigIdOf(config))
  if (!equalBytes(body.mrConfigId, expected)) {
    throw new TdConfigurationError(hex(body.mrConfigId), hex(expected), config)
  }
}

/** An enclave's attestation: `provider`'s quotes, each checked against the configuration the TD was launched for. */
export function enclaveAttestation(provider: AttestationProvider, config: EnclaveConfig): EnclaveAttestation {
  return {
    config,
    provider,
    checkQuote: (quote, reportData) => checkQuoteConfiguration(quote, reportData, config),
  }
}

/**
 * The tdConfig a registry sees in `quote`, v4 or v5 (MRSERVICETD is the TD report 1.5's, zero in a TD report 1.0, as
 * TdxQuote.readReport takes it): what to pin for TDs like it.
 */
export function tdConfigOfQuote(quote: Uint8Array): `0x${string}` {
  const body = parseTdxQuote(quote).body
  return tdConfigOf({
    xfam: hex(body.xfam),
    mrConfigId: hex(body.mrConfigId),
    mrOwner: hex(body.mrOwner),
    mrOwnerConfig: hex(body.mrOwnerConfig),
    mrServiceTd: hex(body.mrServiceTd),
  })
}
