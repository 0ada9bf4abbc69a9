import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { freePort } from '../ts/devnet/anvil.js'
import { type Devnet, startDevnet } from '../ts/devnet/stack.js'

export { advanceTime } from '../ts/devnet/stack.js'

/**
 * One anvil (random free port) and one fresh deployment per test file, with its own deployment file so test files
 * and a running `npm run devnet` never overwrite each other's. `setup` runs once after deployment; every test then
 * starts from that state (evm_snapshot before, evm_revert after), so tests can move time and spend funds freely.
 */
export function useDevnet<T>(setup: (devnet: Devnet) => Promise<T>): () => { devnet: Devnet; fixture: T } {
  let devnet: Devnet | undefined
  let fixture: T
  let snapshot: `0x${string}` | undefined

  beforeAll(async () => {
    const port = await freePort()
    devnet = await startDevnet({ port, deploymentOut: `deployments/e2e-${port}.json`, throwaway: true })
    fixture = await setup(devnet)
  })
  afterAll(async () => {
    await devnet?.stop()
  })
  beforeEach(async () => {
    snapshot = await current().test.snapshot()
  })
  afterEach(async () => {
    if (snapshot) await current().test.revert({ id: snapshot })
  })

  function current(): Devnet {
    if (!devnet) throw new Error('devnet not started: call inside a test or hook')
    return devnet
  }
  return () => ({ devnet: current(), fixture })
}
