// The prover runner's public surface, for the devnet and tests that run it in-process (main.ts runs it standalone).
export * from './backends/backend.js'
export {
  configSchema,
  envName,
  loadConfig,
  type MarketConfig,
  POSEIDON_PREIMAGE,
  type ProverRunnerConfig,
  type ProverRunnerConfigInput,
  parseConfig,
  SHA256_PREIMAGE,
} from './config.js'
export { type EnclaveKey, type Keyring, openKeyring } from './keys.js'
export { type ProverRunner, proverEnclaveConfig, startProverRunner } from './runner.js'
