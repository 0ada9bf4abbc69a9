import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test-ts/**/*.test.ts'],
    // The browser test (test-ts/explorer.browser.test.ts) is included: it needs Chromium (`apt-get install -y chromium`,
    // or CHROMIUM_PATH) and fails saying so when there is none.
    // Each e2e file runs its own anvil and real Groth16 proving; a few seconds per test is normal.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two files at a time: most of an e2e file's time is spent waiting on blocks, epochs and services, not on a core.
    // Files share nothing: each has its own anvil on a free port, deployment file, key and state directories, and
    // forge script run (ts/devnet/deploy.ts gives each its own cache and broadcast directory).
    fileParallelism: true,
    maxWorkers: 2,
  },
})
