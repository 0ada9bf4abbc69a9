import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { describe, expect, it } from 'vitest'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { startAnvil } from '../ts/devnet/anvil.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { useDevnet } from './anvil.js'
import { startCairn } from './cairn.js'

const devnet = useDevnet(async () => undefined)

/** The devnet's deployment file: useDevnet writes deployments/e2e-<port>.json, `npm run devnet` the default path. */
const deploymentFile = () => join(repoRoot, `deployments/e2e-${devnet().devnet.anvil.port}.json`)

/** The lines of the README block after the `cli-example` marker: what a user pastes, in order. */
async function readmeExample(): Promise<string[]> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8')
  const block = /<!-- cli-example:[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error('README.md has no <!-- cli-example --> sh block')
  return block.split('\n').filter((line) => line.trim() !== '')
}

/** A pasted line: `export NAME=value` or `npx cairn …`, with what it prints after `# →` and any other comment dropped. */
function parseLine(line: string): { command: string; prints?: string } {
  const [code, comment] = line.split(/\s+#\s/, 2) as [string, string | undefined]
  const prints = comment?.startsWith('→ ') ? comment.slice(2).trim() : undefined
  return { command: code.trim(), ...(prints === undefined ? {} : { prints }) }
}

describe('the README’s CLI example', () => {
  it('succeeds line by line when pasted against a devnet, printing what the README says', async () => {
    const { anvil } = devnet().devnet
    const lines = await readmeExample()
    expect(lines.length).toBeGreaterThan(3)
    // The README tells users to take the RPC URL from the devnet's summary (PORT) and gives the requester's dev key.
    const env: NodeJS.ProcessEnv = { CAIRN_DEPLOYMENT: deploymentFile() }
    let commands = 0
    for (const line of lines) {
      const { command, prints } = parseLine(line)
      const exported = /^export (\w+)=(\S+)$/.exec(command)
      if (exported) {
        const [, name, value] = exported as unknown as [string, string, string]
        env[name] = value.replace('http://127.0.0.1:PORT', anvil.rpcUrl)
        continue
      }
      expect(command, line).toMatch(/^npx cairn /)
      // `npx cairn` runs this checkout's bin/cairn (the package's bin): the same file, without npx's lookup.
      const args = command.replace(/^npx cairn /, '').split(/\s+/)
      const ran = await startCairn(args, env).done
      expect({ line, code: ran.code, stderr: ran.stderr }).toMatchObject({ code: 0 })
      if (prints !== undefined) expect(ran.stdout, line).toContain(prints)
      commands++
    }
    expect(commands).toBeGreaterThanOrEqual(4)
    expect(env.CAIRN_RPC_URL).toBe(anvil.rpcUrl)
    expect(env.CAIRN_PRIVATE_KEY).toBe(anvilAccount(devRoles.requester).privateKey)
  })
})

describe('cairn faucet', () => {
  it('refuses on a chain that is not a devnet, naming the chain, and mints nothing', async () => {
    // Another chain (id 1) with the devnet's contracts named in its deployment file: the rule is the chain's id.
    const mainnet = await startAnvil({ chainId: 1 })
    const file = join(repoRoot, `deployments/e2e-${mainnet.port}-chain1.json`)
    try {
      const deployment = JSON.parse(await readFile(deploymentFile(), 'utf8')) as Record<string, unknown>
      await writeFile(file, JSON.stringify({ ...deployment, chainId: 1 }))
      const refused = await startCairn(['faucet', '--amount', '5'], {
        CAIRN_RPC_URL: mainnet.rpcUrl,
        CAIRN_DEPLOYMENT: file,
        CAIRN_PRIVATE_KEY: anvilAccount(devRoles.requester).privateKey,
      }).done
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain(
        'error: the faucet only mints on a devnet (chain 31337 or 31338); this deployment is on chain 1',
      )
      expect(refused.stdout).toBe('')
      // Nothing was sent: the requester's nonce on that chain is still 0.
      const nonce = await createPublicClient({ transport: http(mainnet.rpcUrl) }).getTransactionCount({
        address: anvilAccount(devRoles.requester).account.address,
      })
      expect(nonce).toBe(0)
    } finally {
      await rm(file, { force: true })
      await mainnet.stop()
    }
  })
})
