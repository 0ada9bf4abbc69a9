// The layer check (script/check-layers.mjs) on small trees: it passes a one-way stack and names every import against
// the direction, every import between peers and every folder cycle.
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { repoRoot } from '../ts/root.js'

let tree = ''

afterEach(async () => {
  if (tree) await rm(tree, { recursive: true, force: true })
})

/** Writes `files` (path → source) into a fresh tree and runs the check on it. */
async function check(files: Record<string, string>) {
  tree = await mkdtemp(join(tmpdir(), 'cairn-layers-'))
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(tree, dirname(path)), { recursive: true })
    await writeFile(join(tree, path), text)
  }
  const run = spawnSync(process.execPath, [join(repoRoot, 'script/check-layers.mjs'), '--root', tree], {
    encoding: 'utf8',
  })
  return { code: run.status, out: run.stdout, err: run.stderr }
}

describe('the layer check', () => {
  it('passes imports that point down the stack, static, re-exported, side-effect and dynamic', async () => {
    const result = await check({
      'ts/client.ts': 'export const client = 1\n',
      'ts/service/kit.ts': "export { client } from '../client.js'\n",
      'enclave/prover/main.ts': "import { client } from '../../ts/client.js'\nimport '../../ts/service/kit.js'\n",
      'ts/cli/main.ts': "const lazy = () => import('../client.js')\n",
      'ts/devnet/network.ts': "import {\n  x,\n} from '../../enclave/prover/main.js'\n",
    })
    expect(result.err).toBe('')
    expect(result.code).toBe(0)
    expect(result.out).toContain('layers: 5 files, no import against the direction, no folder or area cycle')
  })

  it('names an import against the direction, with its line and both layers', async () => {
    const result = await check({
      'ts/client.ts': "\nimport { startDevnet } from './devnet/stack.js'\n",
      'ts/devnet/stack.ts': 'export const startDevnet = 1\n',
    })
    expect(result.code).toBe(1)
    expect(result.err).toContain('ts/client.ts:2 imports ts/devnet/stack.ts: the SDK may not import the devnet')
  })

  it('names an import between peers (one service importing another)', async () => {
    const result = await check({
      'enclave/matcher/engine.ts': 'export const engine = 1\n',
      'relayer/src/relayer.ts': "import { engine } from '../../enclave/matcher/engine.js'\n",
    })
    expect(result.code).toBe(1)
    expect(result.err).toContain('the relayer and the matcher are peers')
  })

  it('names a folder cycle inside one layer and the imports that make it', async () => {
    const result = await check({
      'enclave/prover/markets.ts': "import { groth16 } from './backends/groth16.js'\n",
      'enclave/prover/backend.ts': 'export type Backend = {}\n',
      'enclave/prover/backends/groth16.ts': "import type { Backend } from '../backend.js'\nexport const groth16 = 1\n",
    })
    expect(result.code).toBe(1)
    expect(result.err).toContain('folders import each other: enclave/prover/ ⇄ enclave/prover/backends/')
    expect(result.err).toContain('enclave/prover/backends/groth16.ts:1 → enclave/prover/backend.ts')
    expect(result.err).toContain('enclave/prover/markets.ts:1 → enclave/prover/backends/groth16.ts')
  })

  it('names two areas that import each other through different folders (a service, the kit, the providers)', async () => {
    const result = await check({
      'enclave/attestation/provider.ts': 'export type Provider = {}\n',
      'ts/service/attestation.ts': "import type { Provider } from '../../enclave/attestation/provider.js'\n",
      'enclave/matcher/config.ts': "import '../../ts/service/attestation.js'\n",
    })
    expect(result.code).toBe(1)
    expect(result.err).toContain('areas import each other: enclave ⇄ ts/service')
    expect(result.err).toContain('ts/service/attestation.ts:1 → enclave/attestation/provider.ts')
    expect(result.err).toContain('enclave/matcher/config.ts:1 → ts/service/attestation.ts')
  })
})
