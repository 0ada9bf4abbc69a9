// Attestation providers for the enclave services: Linux configfs-tsm on TDX hardware, every quote checked against
// the service's measured configuration, and the quote parser. The dev DCAP stack (PKI, collateral, dev quotes) for
// tests and devnets is apart, in dev/. See README.md.
export * from './configfs-tsm.js'
export * from './configuration.js'
export * from './provider.js'
export * from './quote.js'
