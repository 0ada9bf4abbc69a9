// `cairn market create --noir <program.json>` without --honk-verifier: the CLI generates the program's UltraHonk
// verifier (noir/honk-verifier.mjs), compiles it with solc-js, deploys it (with its ZKTranscriptLib for ZK), wraps it
// in an UltraHonkVerifierAdapter and creates the market. Checked against a devnet (anvil on a free port) with fresh
// proofs from the prover runner's Noir backend on the same (development) CRS; and its refusals.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, concat, type Hex, isAddressEqual, numberToHex, stringToBytes, zeroAddress, zeroHash } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createNoirBackend,
  INSECURE_DEV_CRS,
  type NoirBackend,
  poseidon2PreimageProgram,
  readNoirProgram,
} from '../enclave/prover/backends/noir.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { freePort } from '../ts/devnet/anvil.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { type Devnet, startDevnet } from '../ts/devnet/stack.js'
import { getMarket, ultraHonkVerifierAdapterAbi } from '../ts/index.js'
import { NOIR_FIELD_MODULUS, poseidon2Hash } from '../ts/noir.js'
import { cairnJson, startCairn } from './cairn.js'

/** Generating, compiling (solc-js, when not cached) and deploying a verifier takes tens of seconds on a loaded machine. */
const CREATE_TEST_MS = 300_000

let devnet: Devnet | undefined
let deploymentFile = ''
let scratch = ''

const current = (): Devnet => {
  if (!devnet) throw new Error('devnet not started')
  return devnet
}

const env = (): NodeJS.ProcessEnv => ({
  CAIRN_RPC_URL: current().anvil.rpcUrl,
  CAIRN_DEPLOYMENT: deploymentFile,
  CAIRN_HOME: join(scratch, 'home'),
  CAIRN_PRIVATE_KEY: anvilAccount(devRoles.deployer).privateKey,
})

const program = join(repoRoot, 'noir/build/poseidon2_preimage.json')
const marketFlags = ['--stake-per-task', '100', '--slash-penalty', '50']

beforeAll(async () => {
  const port = await freePort()
  const out = `deployments/e2e-${port}.json`
  devnet = await startDevnet({ port, deploymentOut: out, throwaway: true })
  deploymentFile = join(repoRoot, out)
  scratch = await mkdtemp(join(tmpdir(), 'cairn-noir-market-'))
}, 240_000)

afterAll(async () => {
  await devnet?.stop()
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

type NoirOutput = {
  verifier: Address
  adapter: Address
  honkVerifier: Address
  transcriptLib?: Address
  flavour: string
  crs: string
  warning?: string
  publicInputCount: string
  proofLength: string
  honkVerifierRuntimeSize: number
  compileCached: boolean
  timingsMs: { generateMs: number; compileMs: number; deployMs: number }
}

/** A fresh statement of noir/poseidon2_preimage: its public input words and its private inputs' JSON. */
async function statement(seed: bigint) {
  const preimage = (seed * 7919n + 13n) % NOIR_FIELD_MODULUS
  const digest = await poseidon2Hash([preimage])
  const publicInputs = concat([numberToHex(digest, { size: 32 }), numberToHex(900_000n + seed, { size: 32 })])
  return { publicInputs, privateInputs: stringToBytes(JSON.stringify({ preimage: numberToHex(preimage) })) }
}

/** The adapter's verify, as the marketplace calls it. */
function verify(adapter: Address, publicInputs: Hex, proof: Hex) {
  return current().reader.public.readContract({
    address: adapter,
    abi: ultraHonkVerifierAdapterAbi,
    functionName: 'verify',
    args: [publicInputs, proof, { requestId: 0n, prover: zeroAddress, inputsDigest: zeroHash }],
  })
}

/** Creates a Noir market with a generated dev-CRS verifier; checks it takes the runner backend's fresh proofs. */
async function createAndCheck(flavour: 'zk' | 'no-zk') {
  const started = performance.now()
  const created = await cairnJson(
    ['market', 'create', '--noir', program, '--insecure-dev-crs', '--flavour', flavour, ...marketFlags],
    env(),
  )
  const wallMs = Math.round(performance.now() - started)
  const noir = created.noir as NoirOutput
  console.log(`[noir-market-cli] ${flavour}: cairn market create ${wallMs} ms`, noir.timingsMs, {
    cached: noir.compileCached,
    runtimeSize: noir.honkVerifierRuntimeSize,
  })
  expect(noir).toMatchObject({ flavour, crs: 'insecure-dev', publicInputCount: '2' })
  expect(noir.warning).toMatch(/^INSECURE: .*forge proofs/)
  expect(noir.honkVerifierRuntimeSize).toBeLessThanOrEqual(24_576)
  const market = await getMarket(current().reader, BigInt(created.marketId as string))
  expect(isAddressEqual(market.verifier, noir.adapter)).toBe(true)
  expect(noir.verifier).toBe(noir.adapter)
  const code = (address: Address) => current().reader.public.getCode({ address })
  expect((await code(noir.honkVerifier))?.length).toBe(2 + 2 * noir.honkVerifierRuntimeSize)
  if (flavour === 'zk') {
    expect(noir.proofLength).toBe('5952')
    expect(noir.transcriptLib).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect((await code(noir.transcriptLib as Address))?.length).toBeGreaterThan(2)
  } else {
    expect(noir.proofLength).toBe('5216')
    expect(noir.transcriptLib).toBeUndefined()
  }

  // A real proof from the prover runner's backend, on the same CRS and flavour, verifies on chain; it does not for
  // another statement.
  let backend: NoirBackend | undefined
  try {
    backend = await createNoirBackend({
      program: await readNoirProgram(poseidon2PreimageProgram),
      flavour,
      crs: INSECURE_DEV_CRS,
    })
    const job = await statement(flavour === 'zk' ? 1n : 2n)
    const { proof } = await backend.prove({
      requestId: 1n,
      marketId: 1n,
      statement: { requestId: 1n, prover: zeroAddress, inputsDigest: zeroHash },
      ...job,
    })
    expect(await verify(noir.adapter, job.publicInputs, proof)).toBe(true)
    const other = await statement(3n)
    expect(await verify(noir.adapter, other.publicInputs, proof)).toBe(false)
  } finally {
    await backend?.destroy()
  }
  return noir
}

describe('cairn market create --noir, verifier generated', () => {
  it(
    'ZK on the dev CRS: generates, compiles, deploys and links the verifier; a runner proof verifies; a second run reuses the compiled output',
    async () => {
      const first = await createAndCheck('zk')
      // Again, as a person reads it: the INSECURE warning and the steps on stderr, the compile taken from the cache.
      const second = await startCairn(
        ['market', 'create', '--noir', program, '--insecure-dev-crs', ...marketFlags],
        env(),
      ).done
      expect(second.code, second.stderr).toBe(0)
      expect(second.stderr).toContain('warning: INSECURE: this verifier is built on the development CRS')
      expect(second.stderr).toContain('generating the zk UltraHonk verifier with bb.js on the INSECURE development CRS')
      expect(second.stderr).toContain('deploying ZKTranscriptLib')
      expect(second.stdout).toContain('compileCached: true')
      expect(second.stdout).toContain('crs: insecure-dev')
      const honkVerifier = second.stdout.match(/honkVerifier: (0x[0-9a-fA-F]{40})/)?.[1]
      console.log('[noir-market-cli] zk again (cached compile):', second.stdout.match(/timingsMs:[\s\S]*$/)?.[0])
      expect(honkVerifier).toMatch(/^0x/)
      expect(honkVerifier).not.toBe(first.honkVerifier)
      // --honk-verifier keeps working: a market over the verifier the first run deployed.
      const reused = await cairnJson(
        ['market', 'create', '--noir', program, '--honk-verifier', first.honkVerifier, ...marketFlags],
        env(),
      )
      expect(reused.noir).toMatchObject({
        honkVerifier: first.honkVerifier,
        publicInputCount: '2',
        proofLength: '5952',
      })
      expect((reused.noir as NoirOutput).adapter).not.toBe(first.adapter)
    },
    CREATE_TEST_MS,
  )

  it('non-ZK on the dev CRS: no library; a runner proof verifies', () => createAndCheck('no-zk'), CREATE_TEST_MS)

  it('refuses, before anything is sent: no CRS, two CRSs, a CRS with --honk-verifier, a missing CRS, a bad flavour, CRS flags without --noir', async () => {
    const refused = async (args: readonly string[], message: string) => {
      const result = await startCairn(['market', 'create', ...args, ...marketFlags], env()).done
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).toContain(message)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    }
    const honk = current().deployment.contracts.noirHonkVerifier
    const missing = join(scratch, 'no-such-crs')
    const bareDir = join(scratch, 'empty-crs')
    await writeFile(join(scratch, 'not-a-crs.txt'), 'x')
    await Promise.all([
      refused(['--noir', program], 'there is no default'),
      refused(
        ['--noir', program, '--crs', missing, '--insecure-dev-crs'],
        '--crs and --insecure-dev-crs name two CRSs',
      ),
      refused(
        ['--noir', program, '--honk-verifier', honk, '--insecure-dev-crs'],
        '--honk-verifier names a verifier already deployed, whose CRS and flavour are fixed: drop --insecure-dev-crs',
      ),
      refused(['--noir', program, '--honk-verifier', honk, '--crs', missing], 'drop --crs'),
      refused(
        ['--noir', program, '--crs', missing],
        `--crs: ${missing} does not exist: put Aztec's Ignition CRS there`,
      ),
      refused(['--noir', program, '--crs', join(scratch, 'not-a-crs.txt')], 'is neither a CRS folder nor its'),
      refused(['--noir', program, '--insecure-dev-crs', '--flavour', 'fast'], '--flavour: "fast" is not zk or no-zk'),
      refused(['--insecure-dev-crs'], '--insecure-dev-crs needs --noir'),
    ])
    // A folder without the files names the file it lacks and where to get it.
    await mkdir(bareDir)
    await refused(['--noir', program, '--crs', bareDir], `--crs: ${bareDir} has no bn254_g1.dat`)
    await writeFile(join(bareDir, 'bn254_g1.dat'), Buffer.alloc(64 * 100))
    await writeFile(join(bareDir, 'bn254_g2.dat'), Buffer.alloc(128))
    await refused(['--noir', program, '--crs', bareDir], 'holds 100 points, the circuit needs 513')
    // Enough points, but not Ignition's [x]G2 (a zero G2 here): refused by the production opener, still before sending.
    await writeFile(join(bareDir, 'bn254_g1.dat'), Buffer.alloc(64 * 513))
    await refused(['--noir', program, '--crs', join(bareDir, 'bn254_g1.dat')], "is not Aztec's Ignition [x]G2")
  }, 120_000)
})
