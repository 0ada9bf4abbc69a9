// The prover runner's public surface, for the devnet and tests that run it in-process (main.ts runs it standalone).
export * from './backends/backend.js'
export { POSEIDON_PREIMAGE } from './backends/groth16.js'
export { type ProverBackendKind, proverBackends } from './backends/registry.js'
export { SHA256_PREIMAGE } from './backends/tee-wasm.js'
export {
  configSchema,
  envName,
  loadConfig,
  type MarketConfig,
  type ProverRunnerConfig,
  type ProverRunnerConfigInput,
  parseConfig,
} from './config.js'
export { type EnclaveKey, type Keyring, openKeyring } from './keys.js'
export { type ProverRunner, proverEnclaveConfig, startProverRunner } from './runner.js'
