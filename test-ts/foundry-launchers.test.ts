import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startAnvil } from '../ts/devnet/anvil.js'

const forgeBin = fileURLToPath(new URL('../bin/forge', import.meta.url))

/** Whether nothing listens on 127.0.0.1:`port` any more: binding it succeeds. */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer()
  server.listen(port, '127.0.0.1')
  const outcome = await Promise.race([
    once(server, 'listening').then(() => true),
    once(server, 'error').then(() => false),
  ])
  if (outcome) await new Promise<void>((resolve) => server.close(() => resolve()))
  return outcome
}

// bin/forge, bin/anvil and bin/cast exec the real binaries: a signal sent to the launcher's pid reaches the tool
// itself (a kill -9 of a node wrapper used to leave the real anvil holding its port), and exit codes are the tool's.
describe('foundry launchers', () => {
  it('a kill -9 of bin/anvil frees its port', async () => {
    const anvil = await startAnvil()
    const exited = once(anvil.process, 'exit')
    anvil.process.kill('SIGKILL')
    await exited
    expect(await portIsFree(anvil.port)).toBe(true)
  })

  it('exits with the tool’s own status', () => {
    const run = spawnSync(forgeBin, ['no-such-command'], { encoding: 'utf8' })
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('no-such-command')
  })
})
