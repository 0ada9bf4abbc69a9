// The README's second CLI block, a proof end to end, pasted into a shell against the devnet's network with its
// matcher and prover runner running (as `npm run devnet` leaves them), each line checked for what the README says.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEther } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { createDevMarkets, fundActors, startMatcher, startProver } from '../ts/devnet/launch.js'
import { type Network, startNetwork } from '../ts/devnet/network.js'
import { repoRoot } from '../ts/devnet/paths.js'
import type { Service } from '../ts/devnet/services.js'

let network: Network | undefined
let dir = ''
const services: Service[] = []
let teeMarket = 0n

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-readme-proof-'))
  const launch = { logDir: join(dir, 'logs'), stateDir: join(dir, 'state') }
  network = await startNetwork({})
  await fundActors(network)
  teeMarket = (await createDevMarkets(network)).teeWasm
  const offer = { marketId: teeMarket, backend: 'tee-wasm' as const, price: parseEther('10'), provingTime: 20 }
  services.push(
    ...(await Promise.all([startMatcher(network, launch), startProver(network, { ...launch, markets: [offer] })])),
  )
}, 300_000)

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()))
  await network?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
}, 120_000)

/** The README block after the `cli-example-proof` marker, continuation lines joined: the commands a user pastes. */
async function proofExample(): Promise<string[]> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8')
  const block = /<!-- cli-example-proof:[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error('README.md has no <!-- cli-example-proof --> sh block')
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '')
}

async function shell(command: string, env: NodeJS.ProcessEnv) {
  const child = spawn('sh', ['-c', command], { cwd: dir, env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr }
}

describe('the README’s proof example', () => {
  it('posts the TEE-WASM request, waits for its proof and verifies it, as pasted', async () => {
    if (!network) throw new Error('network not started')
    // The README names the devnet's TEE-WASM market by the id `npm run devnet` gives it.
    expect(/--market (\d+)/.exec((await proofExample()).join('\n'))?.[1]).toBe(teeMarket.toString())
    // As the README's first block sets them: the devnet's RPC URL and the requester's dev key; the deployment files
    // are this network's (`npm run devnet` writes them where the CLI looks by default).
    const env = {
      CAIRN_RPC_URL: network.marketplace.anvil.rpcUrl,
      CAIRN_PRIVATE_KEY: anvilAccount(devRoles.requester).privateKey,
      CAIRN_DEPLOYMENT: network.files.marketplace,
      CAIRN_ATTESTATION: network.files.marketplaceAttestation,
    }
    let requestId: string | undefined
    for (const line of await proofExample()) {
      const [code, comment] = line.split(/\s+#\s/, 2) as [string, string | undefined]
      const prints = comment?.startsWith('→ ') ? comment.slice(2).trim() : undefined
      // `npx cairn` is this checkout's bin/cairn; the placeholder is the id the request printed.
      const command = code
        .replace(/^npx cairn /, `'${join(repoRoot, 'bin', 'cairn')}' `)
        .replace('<the requestId it printed>', requestId ?? '<none printed>')
      const ran = await shell(command, env)
      expect({ line, code: ran.code, stderr: ran.stderr }).toMatchObject({ code: 0 })
      if (prints !== undefined) expect(ran.stdout, line).toContain(prints)
      requestId ??= /^requestId: (\d+)$/m.exec(ran.stdout)?.[1]
    }
    expect(requestId).toBeDefined()
  }, 300_000)
})
