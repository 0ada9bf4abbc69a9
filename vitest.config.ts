import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test-ts/**/*.test.ts'],
    // Each e2e file runs its own anvil and real Groth16 proving; a few seconds per test is normal.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file deploys with its own forge script run; concurrent runs would race on forge's cache/ and broadcast/.
    fileParallelism: false,
  },
})
