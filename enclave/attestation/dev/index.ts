// The dev DCAP stack for tests and devnets: a deterministic PKI, collateral, byte-exact v4 and v5 TDX quotes signed
// by it, the dev TD provider, and off-chain verification of all of it. Never trusted outside development: a verifier
// pinned to Intel's root rejects every quote it makes. Re-exports the production providers, so a devnet or a test
// imports one module. See ../README.md.
export * from '../index.js'
export * from './collateral.js'
export * from './configuration.js'
export * from './defaults.js'
export * from './pki.js'
export * from './quote.js'
export * from './verify.js'
