/**
 * What the enclave services need from the TEE: a quote binding 64 bytes of report data (a key hash, a nonce) to the
 * TD's measurements. Real hardware (configfs-tsm) and the dev PKI implement the same shape, so callers and tests
 * cannot tell them apart except by the root the quote chains to.
 */
export type { AttestationProvider } from '../../ts/attestation.js'

export const REPORT_DATA_LENGTH = 64

export class AttestationError extends Error {
  override name = 'AttestationError'
}

export class ReportDataLengthError extends AttestationError {
  override name = 'ReportDataLengthError'
  constructor(readonly length: number) {
    super(`report data must be exactly ${REPORT_DATA_LENGTH} bytes, got ${length}`)
  }
}

/** No configfs-tsm report interface: not Linux ≥ 6.7, not a TD, configfs not mounted, or a paravisor (Azure). */
export class ConfigfsTsmUnavailableError extends AttestationError {
  override name = 'ConfigfsTsmUnavailableError'
  constructor(
    readonly root: string,
    options?: { cause?: unknown },
  ) {
    super(`configfs-tsm report interface unavailable at ${root}`, options)
  }
}

/** Another writer touched the report entry between our write and read: the outblob may not be for our inblob. */
export class GenerationMismatchError extends AttestationError {
  override name = 'GenerationMismatchError'
  constructor(
    readonly expected: number,
    readonly actual: number,
    readonly attempts: number,
  ) {
    super(`configfs-tsm generation ${actual}, expected ${expected} (gave up after ${attempts} attempts)`)
  }
}

export class UnsupportedTsmProviderError extends AttestationError {
  override name = 'UnsupportedTsmProviderError'
  constructor(
    readonly provider: string,
    readonly expected: string,
  ) {
    super(`configfs-tsm provider is '${provider}', expected '${expected}'`)
  }
}

export class EmptyQuoteError extends AttestationError {
  override name = 'EmptyQuoteError'
  constructor() {
    super('the attestation provider returned an empty quote')
  }
}

export const assertReportData = (reportData: Uint8Array): void => {
  if (!(reportData instanceof Uint8Array) || reportData.length !== REPORT_DATA_LENGTH) {
    throw new ReportDataLengthError(reportData instanceof Uint8Array ? reportData.length : -1)
  }
}
