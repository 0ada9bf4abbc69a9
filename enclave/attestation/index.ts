// Attestation providers for the enclave services: Linux configfs-tsm on TDX hardware, and a dev DCAP stack (PKI,
// collateral, byte-exact v4 and v5 TDX quotes) for tests and devnets. See README.md.
export * from './collateral.js'
export * from './configfs-tsm.js'
export * from './configuration.js'
export * from './defaults.js'
export * from './pki.js'
export * from './provider.js'
export * from './quote.js'
export * from './verify.js'
