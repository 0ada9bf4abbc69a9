// Fails when the committed gas table (snapshots/) no longer matches the contracts. forge prints the difference
// under FORGE_SNAPSHOT_CHECK but still exits 0, so the verdict is taken from its output.
import { spawnSync } from 'node:child_process'

const env = { ...process.env, FOUNDRY_PROFILE: 'gas', FORGE_SNAPSHOT_CHECK: 'true' }
// The @foundry-rs npm wrapper exports TARGET_TOOL; a forge started from here must pick its own.
delete env.TARGET_TOOL
const run = spawnSync('forge', ['test'], { env, encoding: 'utf8' })
process.stdout.write(run.stdout)
process.stderr.write(run.stderr)
const output = `${run.stdout}\n${run.stderr}`
if (run.status !== 0 || output.includes('Snapshots differ')) {
  console.error('gas table is stale: run `npm run gas` and commit snapshots/')
  process.exit(1)
}
