// Fails when the committed gas table (snapshots/) no longer matches the contracts, or a gas test fails. forge prints
// a snapshot difference under FORGE_SNAPSHOT_CHECK but still exits 0, so that verdict is taken from its output.
import { spawnSync } from 'node:child_process'
import { foundryBinary } from '../../bin/foundry.mjs'

const env = { ...process.env, FOUNDRY_PROFILE: 'gas', FORGE_SNAPSHOT_CHECK: 'true' }
delete env.TARGET_TOOL
const run = spawnSync(foundryBinary('forge'), ['test'], { env, encoding: 'utf8' })
process.stdout.write(run.stdout)
process.stderr.write(run.stderr)
const output = `${run.stdout}\n${run.stderr}`
if (run.status !== 0 || output.includes('Snapshots differ')) {
  console.error('gas table is stale: run `npm run gas` and commit snapshots/')
  process.exit(1)
}
