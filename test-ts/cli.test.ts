import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  bytesToHex,
  concat,
  formatEther,
  type Hex,
  isAddressEqual,
  keccak256,
  parseEther,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadSignedRequest, saveSignedRequest } from '../ts/cli/kit/signed-store.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { freePort } from '../ts/devnet/anvil.js'
import { prepareDevAttestation } from '../ts/devnet/attestation.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { preimageStatement } from '../ts/devnet/scenario.js'
import { type Devnet, startDevnet } from '../ts/devnet/stack.js'
import {
  allowMeasurement,
  chainTime,
  deposit,
  eciesPublicKeyOf,
  fastAssignmentTypedData,
  fulfil,
  fulfilSigned,
  getMarket,
  getProver,
  getRequestStatus,
  loadRequest,
  mintDevToken,
  openPrivateInputs,
  provePoseidonPreimage,
  register,
  registerEnclaveKey,
  signAssignments,
  signRequest,
  submitAssignments,
  ultraHonkVerifierAdapterAbi,
  unwrapFromEnvelope,
  withListedTerms,
} from '../ts/index.js'
import { NOIR_FIELD_MODULUS, poseidon2Hash } from '../ts/noir.js'
import { cairnJson, startCairn } from './cairn.js'
import { eventually } from './eventually.js'

let devnet: Devnet | undefined
let deploymentFile = ''
let attestationFile = ''
let scratch = ''
/**
 * A guard for the two tests that run a dozen CLI processes each (a node start apiece): tens of seconds on an idle
 * machine, several times that on a loaded one, which the 60 s default does not allow for.
 */
const LONG_CLI_TEST_MS = 240_000
/** The attested matcher's ECIES key: the test decrypts what the CLI encrypted to it. */
const MATCHER_ECIES_KEY = keccak256(toHex('cairn cli test matcher ecies'))
const matcherSigner = privateKeyToAccount(keccak256(toHex('cairn cli test matcher signer')))

const current = (): Devnet => {
  if (!devnet) throw new Error('devnet not started')
  return devnet
}

type CliOptions = { role?: keyof typeof devRoles; env?: NodeJS.ProcessEnv }

/** Runs `cairn` against the test devnet, as the `role` account when given. */
function start(args: readonly string[], options: CliOptions = {}) {
  return startCairn(args, cliEnv(options))
}

function cliEnv(options: CliOptions): NodeJS.ProcessEnv {
  return {
    CAIRN_RPC_URL: current().anvil.rpcUrl,
    CAIRN_DEPLOYMENT: deploymentFile,
    // Signed requests are saved under the CLI's home: the test's own, never the user's.
    CAIRN_HOME: join(scratch, 'home'),
    ...(options.role === undefined ? {} : { CAIRN_PRIVATE_KEY: anvilAccount(devRoles[options.role]).privateKey }),
    ...options.env,
  }
}

const run = (args: readonly string[], options: CliOptions = {}) => start(args, options).done

const json = (args: readonly string[], options: CliOptions = {}) => cairnJson(args, cliEnv(options))

beforeAll(async () => {
  const port = await freePort()
  const out = `deployments/e2e-${port}.json`
  devnet = await startDevnet({ port, deploymentOut: out, throwaway: true })
  deploymentFile = join(repoRoot, out)
  scratch = await mkdtemp(join(tmpdir(), 'cairn-cli-'))
  const { actors, deployment } = devnet
  // An attestation stack with one attested matcher key, for private inputs.
  const attestationOut = `deployments/e2e-${port}.attestation.json`
  attestationFile = join(repoRoot, attestationOut)
  // The deployer runs the attested matcher here: governance admits it as the matcher operator.
  const { owner, measurement, enclave } = await prepareDevAttestation(devnet, {
    seed: 'cairn cli test',
    out: attestationOut,
    matcherOperators: [actors.deployer.wallet.account.address],
  })
  await allowMeasurement(owner, { role: 'Matcher', measurement })
  await registerEnclaveKey(owner, {
    enclave: enclave('Matcher'),
    signer: matcherSigner.address,
    eciesPublicKey: eciesPublicKeyOf(MATCHER_ECIES_KEY),
  })
  await mintDevToken(
    actors.requester,
    deployment.contracts.paymentToken,
    actors.requester.wallet.account.address,
    parseEther('1000'),
  )
  await mintDevToken(
    actors.prover,
    deployment.contracts.stakeToken,
    actors.prover.wallet.account.address,
    parseEther('1000'),
  )
}, 120_000)

afterAll(async () => {
  await devnet?.stop()
  if (attestationFile) await rm(attestationFile, { force: true })
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

describe('the cairn CLI against an anvil devnet', () => {
  it('prints usage with --help (exit 0), on every level', async () => {
    const top = await run(['--help'])
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('usage: cairn [global flags] <command> [flags]')
    expect(top.stdout).toMatch(/market create\s+create a market/)
    expect(top.stdout).toMatch(/restake bind\s+as the operator/)
    const group = await run(['market', '--help'])
    expect(group).toMatchObject({ code: 0 })
    expect(group.stdout).toContain('usage: cairn market <subcommand> [flags]')
    const sub = await run(['request', '--help'])
    expect(sub.code).toBe(0)
    expect(sub.stdout).toContain('usage: cairn request [flags]')
    expect(sub.stdout).toContain('--max-reward <amount>')
    expect(sub.stdout).toContain('--rpc-url <url>')
    const daemon = await run(['relayer', 'run', '--help'])
    expect(daemon.code).toBe(0)
    expect(daemon.stdout).toContain('relayer/src/main.ts')
  })

  it(
    'market create → prover set-up → request → status, all as JSON; --wait follows the request to its proof',
    async () => {
      const created = await json(
        ['market', 'create', '--stake-per-task', '100', '--slash-penalty', '50', '--metadata-uri', 'ipfs://cli'],
        { role: 'deployer' },
      )
      expect(created).toMatchObject({ marketId: '1', creationFee: '0' })
      expect(created.transactionHash).toMatch(/^0x[0-9a-f]{64}$/)
      const shown = await json(['market', 'show', '1'])
      expect(shown).toMatchObject({
        marketId: '1',
        metadataURI: 'ipfs://cli',
        stakePerTask: parseEther('100').toString(),
        stakePerTaskFormatted: '100 cSTK',
        requestCount: 0,
      })
      expect((await json(['market', 'list'])).markets).toEqual([
        expect.objectContaining({ marketId: '1', metadataURI: 'ipfs://cli' }),
      ])

      await json(['prover', 'register', '--capacity', '2'], { role: 'prover' })
      await json(['stake', 'deposit', '--amount', '500'], { role: 'prover' })
      await json(['prover', 'list', '--market', '1', '--price', '25', '--proving-time', '10m'], { role: 'prover' })
      const prover = anvilAccount(devRoles.prover).account.address
      expect(await json(['prover', 'status', prover])).toMatchObject({
        registered: true,
        capacity: 2,
        listings: [{ marketId: '1', state: 'Active', price: parseEther('25').toString(), provingTime: 600 }],
        nativeStake: { staked: parseEther('500').toString(), stakedFormatted: '500 cSTK' },
      })

      const { publicInputs } = await preimageStatement()
      const requested = await json(
        ['request', '--market', '1', '--inputs-hex', publicInputs, '--max-reward', '40', '--proving-time', '10m'],
        { role: 'requester' },
      )
      expect(requested).toMatchObject({
        marketId: '1',
        maxReward: parseEther('40').toString(),
        maxRewardFormatted: '40 cUSD',
        provingTime: 600,
        escrowSource: 'transferFrom',
      })
      const requestId = requested.requestId as string
      expect(await json(['status', requestId])).toMatchObject({
        requestId,
        state: 'Open',
        status: 'Open',
        privateInputs: false,
      })
      // Human output goes to stdout too, as key: value lines.
      const text = await run(['status', requestId])
      expect(text.code).toBe(0)
      expect(text.stdout).toContain('state: Open')
      // In human units: the amount in tokens, times as UTC dates, durations in units; --json keeps raw values.
      expect(text.stdout).toContain('maxReward: 40 cUSD')
      expect(text.stdout).toContain('provingTime: 10m')
      expect(text.stdout).toMatch(/createdAt: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/)
      expect(text.stdout).toMatch(/matchingExpiry: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/)
      expect(await json(['status', requestId])).toMatchObject({
        provingTime: 600,
        maxReward: parseEther('40').toString(),
      })

      // A second request, waited on: the matcher assigns it and the prover fulfils while the CLI follows.
      const second = await preimageStatement()
      const waiting = start(
        [
          'request',
          '--market',
          '1',
          '--inputs-hex',
          second.publicInputs,
          '--max-reward',
          '40',
          '--proving-time',
          '10m',
          '--wait',
          '--poll-interval',
          '100',
        ],
        { role: 'requester' },
      )
      const { actors, reader } = current()
      const secondId = BigInt(requestId) + 1n
      await eventually(`request ${secondId} posted`, () => requestExists(secondId))
      const batch = await signAssignments(actors.matcher, {
        assignments: await withListedTerms(reader, [{ requestId: secondId, prover }]),
        validUntil: (await chainTime(reader)) + 300n,
      })
      const [task] = (await submitAssignments(actors.bystander, batch)).assigned
      if (!task) throw new Error('not assigned')
      const proof = await provePoseidonPreimage(second.preimage, second.context)
      await fulfil(actors.prover, { ...task, publicInputs: proof.publicInputs, proof: proof.proof })
      const waited = await waiting.done
      expect(waited.code).toBe(0)
      expect(waited.stderr).toContain(`posted request ${secondId}`)
      expect(waited.stderr).toContain(`assigned to ${prover} at 25 cUSD`)
      expect(waited.stderr).toContain(`fulfilled by ${prover}`)
      expect(waited.stdout).toContain(`proof: ${proof.proof}`)

      // The proof in the fulfilling calldata verifies again through the market's verifier; an open request has none.
      expect(await json(['verify', secondId.toString()])).toMatchObject({
        requestId: secondId.toString(),
        valid: true,
        prover,
      })
      const open = await run(['verify', requestId])
      expect(open.code).toBe(1)
      expect(open.stderr).toContain(`request ${requestId} is not fulfilled yet`)
    },
    LONG_CLI_TEST_MS,
  )

  it('text output is in human units: amounts in tokens, times as dates, durations in units (raw in --json)', async () => {
    const prover = anvilAccount(devRoles.prover).account.address
    const market = await run(['market', 'show', '1'])
    expect(market.code).toBe(0)
    expect(market.stdout).toContain('stakePerTask: 100 cSTK')
    expect(market.stdout).toContain('slashPenalty: 50 cSTK')
    expect(market.stdout).toContain('fallbackDelay: 30s')
    expect(market.stdout).not.toContain('Formatted')
    const status = await run(['prover', 'status', prover])
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/price: 25 cUSD\n\s+provingTime: 10m/)
    expect(status.stdout).toContain('staked: 500 cSTK')
    expect(status.stdout).not.toContain(parseEther('25').toString())
    const stake = await run(['stake', 'show', prover])
    expect(stake.stdout).toContain('available: 500 cSTK')
    expect(stake.stdout).toContain('unbonding: 0 cSTK')
    expect(stake.stdout).toContain('unbondingAvailableAt: -')
    expect(await json(['stake', 'show', prover])).toMatchObject({ staked: parseEther('500').toString() })
  })

  it('prover leave and stake unbond, each undone with --cancel', async () => {
    const prover = anvilAccount(devRoles.prover).account.address
    const leaving = await json(['prover', 'leave', '--market', '1'], { role: 'prover' })
    expect(leaving).toMatchObject({ marketId: '1', leaving: true })
    expect((await json(['prover', 'status', prover])).listings).toEqual([
      expect.objectContaining({ state: 'Leaving', leaveAvailableAt: leaving.availableAt }),
    ])
    const early = await run(['prover', 'leave', '--market', '1', '--complete'], { role: 'prover' })
    expect(early.code).toBe(1)
    expect(early.stderr).toContain(`LeaveNotYetAvailable(availableAt=${leaving.availableAt})`)
    await json(['prover', 'leave', '--market', '1', '--cancel'], { role: 'prover' })

    expect(await json(['stake', 'unbond', '--amount', '100'], { role: 'prover' })).toMatchObject({
      unbonding: parseEther('100').toString(),
      unbondingFormatted: '100 cSTK',
    })
    expect(await json(['stake', 'show', prover])).toMatchObject({
      staked: parseEther('400').toString(),
      unbonding: parseEther('100').toString(),
    })
    expect(await json(['stake', 'unbond', '--cancel'], { role: 'prover' })).toMatchObject({
      restaked: parseEther('100').toString(),
    })
    expect((await json(['prover', 'status', prover])).listings).toEqual([expect.objectContaining({ state: 'Active' })])
  })

  it('request --private-inputs encrypts the file to the attested matcher, inline or behind a URI', async () => {
    const secret = join(scratch, 'secret.bin')
    await writeFile(secret, 'the preimage is 42')
    const { publicInputs } = await preimageStatement()
    const base = [
      'request',
      '--market',
      '1',
      '--inputs-hex',
      publicInputs,
      '--max-reward',
      '1',
      '--proving-time',
      '10m',
    ]
    const inline = await json([...base, '--private-inputs', secret, '--attestation', attestationFile], {
      role: 'requester',
    })
    expect(inline.privateInputs).toMatchObject({ matchers: [matcherSigner.address] })
    const requestId = BigInt(inline.requestId as string)
    expect(await json(['status', requestId.toString()])).toMatchObject({ privateInputs: true })
    // The matcher's enclave opens what was posted, under this request: chain, marketplace, market, the poster as
    // requester and the public inputs.
    const posted = await loadRequest(current().reader, requestId)
    expect(keccak256(posted.privateInputs.data)).toBe((inline.privateInputs as { digest: Hex }).digest)
    expect(posted.requester).toBe(anvilAccount(devRoles.requester).account.address)
    const context = {
      chainId: foundry.id,
      marketplace: current().deployment.contracts.proofMarketplace,
      marketId: 1n,
      requester: posted.requester,
      publicInputsDigest: keccak256(publicInputs),
    }
    const opened = openPrivateInputs({ envelope: posted.privateInputs.data, privateKey: MATCHER_ECIES_KEY, context })
    expect(Buffer.from(opened).toString()).toBe('the preimage is 42')

    // Behind a URI: only the digest is posted, the envelope is written where the requester will store it.
    const envelope = join(scratch, 'envelope.bin')
    const remote = await json(
      [...base, '--private-inputs', secret, '--private-inputs-uri', 'ipfs://envelope', '--envelope-out', envelope],
      { role: 'requester', env: { CAIRN_ATTESTATION: attestationFile } },
    )
    const written = bytesToHex(await readFile(envelope))
    expect(remote.privateInputs).toMatchObject({ uri: 'ipfs://envelope', digest: keccak256(written) })
    const record = await loadRequest(current().reader, BigInt(remote.requestId as string))
    expect(record.privateInputs).toEqual({ data: '0x', uri: 'ipfs://envelope', digest: keccak256(written) })

    const missing = await run([...base, '--private-inputs', secret, '--attestation', join(scratch, 'none.json')], {
      role: 'requester',
    })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no attestation deployment for chain 31337')
  })

  it('market create --noir wraps the deployed UltraHonk verifier; request --noir-inputs is checked against the ABI before anything is sent', async () => {
    const { deployment, reader } = current()
    const program = join(repoRoot, 'noir/build/poseidon2_preimage.json')
    const marketFlags = ['--stake-per-task', '100', '--slash-penalty', '50']
    const created = await json(
      ['market', 'create', '--noir', program, '--honk-verifier', deployment.contracts.noirHonkVerifier, ...marketFlags],
      { role: 'deployer' },
    )
    const noir = created.noir as { verifier: Address; publicInputCount: string; proofLength: string }
    // The program's ABI has two public inputs; the ZK verifier expects 186-field proofs (asked of the verifier).
    expect(noir).toMatchObject({ publicInputCount: '2', proofLength: '5952' })
    const marketId = BigInt(created.marketId as string)
    const market = await getMarket(reader, marketId)
    expect(isAddressEqual(market.verifier, noir.verifier)).toBe(true)
    const programHash = createHash('sha256')
      .update(await readFile(program))
      .digest('hex')
    expect(await json(['market', 'show', marketId.toString()])).toMatchObject({
      metadataURI: `noir:sha256:${programHash}`,
    })
    // The market's adapter accepts a real ZK proof of the circuit (a committed fixture) and refuses it for other inputs.
    const [fixture] = (
      JSON.parse(await readFile(join(repoRoot, 'noir/build/poseidon2_preimage.zk.fixtures.json'), 'utf8')) as {
        fixtures: { publicInputs: Hex; proof: Hex }[]
      }
    ).fixtures as [{ publicInputs: Hex; proof: Hex }]
    const verify = (publicInputs: Hex) =>
      reader.public.readContract({
        address: noir.verifier,
        abi: ultraHonkVerifierAdapterAbi,
        functionName: 'verify',
        args: [publicInputs, fixture.proof, { requestId: 0n, prover: zeroAddress, inputsDigest: zeroHash }],
      })
    expect(await verify(fixture.publicInputs)).toBe(true)
    expect(await verify(`${fixture.publicInputs.slice(0, 66)}${'00'.repeat(32)}` as Hex)).toBe(false)
    // Anything but a bb.js UltraHonk verifier is refused before a market is created.
    const notHonk = await run(
      ['market', 'create', '--noir', program, '--honk-verifier', deployment.contracts.groth16Adapter, ...marketFlags],
      { role: 'deployer' },
    )
    expect(notHonk.code).toBe(1)
    expect(notHonk.stderr).toContain(`${deployment.contracts.groth16Adapter} is not a bb.js UltraHonk verifier`)

    const preimage = 0x2an
    const digest = await poseidon2Hash([preimage])
    const request = async (inputs: Record<string, unknown>, asJson: boolean) => {
      const file = join(scratch, 'noir-inputs.json')
      await writeFile(file, JSON.stringify(inputs))
      const args = [
        'request',
        '--market',
        marketId.toString(),
        '--noir-program',
        program,
        '--noir-inputs',
        file,
        '--max-reward',
        '1',
        '--proving-time',
        '10m',
        '--attestation',
        attestationFile,
      ]
      return asJson ? json(args, { role: 'requester' }) : run(args, { role: 'requester' })
    }
    const good = { digest: toHex(digest), context: '7', preimage: toHex(preimage) }
    const bad: [Record<string, unknown>, string][] = [
      [{ ...good, preimge: '1' }, 'Noir input preimge: the circuit has no parameter preimge'],
      [{ digest: good.digest, preimage: good.preimage }, 'Noir input context: missing (a Field)'],
      [{ ...good, preimage: 'forty-two' }, 'Noir input preimage: "forty-two" is not a Field'],
      [{ ...good, digest: '-1' }, 'Noir input digest: -1 is negative'],
      [{ ...good, digest: NOIR_FIELD_MODULUS.toString() }, 'Noir input digest: is not below the BN254 scalar field'],
    ]
    for (const [inputs, message] of bad) {
      const refused = (await request(inputs, false)) as Awaited<ReturnType<typeof run>>
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain(`--noir-inputs: ${message}`)
    }
    // Nothing was posted for them.
    expect((await getMarket(reader, marketId)).requestCount).toBe(0)

    // Valid inputs: the public ones posted as the adapter's words, the private ones encrypted to the matcher.
    const posted = (await request(good, true)) as Record<string, unknown>
    const record = await loadRequest(reader, BigInt(posted.requestId as string))
    const publicInputs = concat([toHex(digest, { size: 32 }), toHex(7n, { size: 32 })])
    expect(record.publicInputs.data).toBe(publicInputs)
    expect(record.privateInputs.data.toLowerCase()).not.toContain(toHex(preimage, { size: 32 }).slice(2))
    const opened = openPrivateInputs({
      envelope: record.privateInputs.data,
      privateKey: MATCHER_ECIES_KEY,
      context: {
        chainId: foundry.id,
        marketplace: deployment.contracts.proofMarketplace,
        marketId,
        requester: record.requester,
        publicInputsDigest: keccak256(publicInputs),
      },
    })
    expect(JSON.parse(Buffer.from(opened).toString())).toEqual({ preimage: toHex(preimage) })
  })

  it('request --private-inputs never prints the data key, in text or --json, on stdout or stderr', async () => {
    const secret = join(scratch, 'secret-for-leak.bin')
    await writeFile(secret, 'the preimage is 42')
    const { publicInputs } = await preimageStatement()
    const args = [
      'request',
      '--market',
      '1',
      '--inputs-hex',
      publicInputs,
      '--max-reward',
      '1',
      '--proving-time',
      '10m',
      '--private-inputs',
      secret,
      '--attestation',
      attestationFile,
    ]
    for (const format of [[], ['--json']]) {
      const printed = await run([...args, ...format], { role: 'requester' })
      expect(printed.code).toBe(0)
      const requestId = /"?requestId"?:\s*"?(\d+)/.exec(printed.stdout)?.[1]
      expect(requestId).toBeDefined()
      const posted = await loadRequest(current().reader, BigInt(requestId as string))
      // The matcher's key opens the posted envelope: this is the data key the CLI generated for this request.
      const dataKey = unwrapFromEnvelope(posted.privateInputs.data, MATCHER_ECIES_KEY).slice(2).toLowerCase()
      expect(dataKey).toHaveLength(64)
      const everything = `${printed.stdout}\n${printed.stderr}`.toLowerCase()
      expect(everything).not.toContain(dataKey)
      expect(everything).not.toContain('datakey')
    }
  })

  it('names the dead RPC, the wrong chain, the malformed deployment field and a token without code, without a stack', async () => {
    const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /)
    const deadUrl = `http://127.0.0.1:${await freePort()}`
    const dead = await run(['status', '1'], { env: { CAIRN_RPC_URL: deadUrl } })
    expect(dead.code).toBe(1)
    expect(dead.stderr).toContain(`cannot reach the RPC at ${deadUrl}`)
    expect(dead.stderr).toContain('`npm run devnet`')
    noStack(dead.stderr)

    const wrongChain = await run(['status', '1', '--chain-id', '1'])
    expect(wrongChain.code).toBe(1)
    expect(wrongChain.stderr).toContain(`the RPC at ${current().anvil.rpcUrl} is on chain 31337, not chain 1`)
    noStack(wrongChain.stderr)

    const file = JSON.parse(await readFile(deploymentFile, 'utf8')) as { chainId: number; contracts: object }
    const otherChain = join(scratch, 'other-chain.json')
    await writeFile(otherChain, JSON.stringify({ ...file, chainId: 1 }))
    const mismatch = await run(['status', '1'], { env: { CAIRN_DEPLOYMENT: otherChain } })
    expect(mismatch.stderr).toContain(`the RPC at ${current().anvil.rpcUrl} is on chain 31337, but ${otherChain}`)
    const badField = join(scratch, 'bad-field.json')
    await writeFile(badField, JSON.stringify({ ...file, contracts: { ...file.contracts, paymentToken: 'nope' } }))
    const malformed = await run(['status', '1'], { env: { CAIRN_DEPLOYMENT: badField } })
    expect(malformed.code).toBe(1)
    expect(malformed.stderr).toContain(`${badField}: contracts.paymentToken: expected an address, got "nope"`)
    noStack(malformed.stderr)
    const notJson = join(scratch, 'not-json.json')
    await writeFile(notJson, '{"chainId": 31337,')
    const broken = await run(['status', '1'], { env: { CAIRN_DEPLOYMENT: notJson } })
    expect(broken.stderr).toContain(`${notJson} is not valid JSON`)
    noStack(broken.stderr)

    const nowhere = '0x000000000000000000000000000000000000dEaD'
    const noCode = await run(['deposit', '--amount', '1', '--token', nowhere], { role: 'requester' })
    expect(noCode.code).toBe(1)
    expect(noCode.stderr).toContain(`no contract at token address ${nowhere} on chain 31337`)
    noStack(noCode.stderr)
  })

  it(
    'request: signed to the matcher when one is known, posted on chain when it is down, --onchain forced; status and cancel of a signed request not used yet',
    async () => {
      const { publicInputs } = await preimageStatement()
      const base = [
        'request',
        '--market',
        '1',
        '--inputs-hex',
        publicInputs,
        '--max-reward',
        '1',
        '--proving-time',
        '10m',
      ]
      const closed = `http://127.0.0.1:${await freePort()}`
      // CAIRN_MATCHER_URL names a matcher, --onchain overrides it: createRequest as before.
      const onchain = await json([...base, '--onchain'], { role: 'requester', env: { CAIRN_MATCHER_URL: closed } })
      expect(onchain).toMatchObject({ path: 'onchain' })
      expect(onchain.transactionHash).toMatch(/^0x[0-9a-f]{64}$/)

      // The matcher is down: the signed request is posted on chain under its own id, from the deposit.
      const posted = await json([...base, '--matcher-url', closed], { role: 'requester' })
      expect(posted).toMatchObject({ path: 'posted', escrowSource: 'deposit' })
      expect(posted.matcherUnavailable).toContain(`the matcher at ${closed} is unavailable (ECONNREFUSED)`)
      const postedId = BigInt(posted.requestId as string)
      expect(postedId & (1n << 63n)).toBe(1n << 63n)
      expect(await getRequestStatus(current().reader, postedId)).toBe('Open')
      expect(await json(['status', postedId.toString()])).toMatchObject({ state: 'Open' })
      const saved = await loadSignedRequest(posted.savedTo as string, current().reader)
      expect(saved?.requestId).toBe(postedId)
      // Text output names the path.
      const text = await run([...base, '--matcher-url', closed], { role: 'requester' })
      expect(text.code).toBe(0)
      expect(text.stdout).toMatch(/path:\s+posted/)

      // A signed request nobody used yet (signed with the SDK, saved where `cairn request` saves): status, then cancel.
      const now = Number(await chainTime(current().reader))
      const signed = await signRequest(current().actors.requester, {
        marketId: 1,
        maxReward: 1n,
        provingTime: 600,
        matchingExpiry: now + 600,
        deadline: now + 1_200,
        speedPreferenceBps: 5_000,
        refundAddress: anvilAccount(devRoles.requester).account.address,
        publicInputs: { data: publicInputs, uri: '', digest: zeroHash },
        privateInputs: { data: '0x', uri: '', digest: zeroHash },
      })
      const file = join(scratch, 'pending.json')
      await saveSignedRequest(file, current().reader, signed)
      const id = signed.requestId.toString()
      expect(await json(['status', id, '--signed', file])).toMatchObject({
        requestId: id,
        state: 'Signed',
        onChain: 'unused',
        nonce: signed.request.nonce.toString(),
      })
      const unknown = await run(['status', id])
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain(`request ${id} is not on chain, and no signed request is saved at`)
      expect(unknown.stderr).toContain('--signed <file>')
      const other = await run(['cancel', id, '--signed', file], { role: 'prover' })
      expect(other.code).toBe(1)
      expect(other.stderr).toContain('only its requester can cancel its nonce')
      const cancelled = await json(['cancel', id, '--signed', file], { role: 'requester' })
      expect(cancelled).toMatchObject({ requestId: id, state: 'nonceSpent' })
      expect(await json(['status', id, '--signed', file])).toMatchObject({ onChain: 'nonceSpent' })
      // By nonce alone; both or neither is a usage error.
      expect(await json(['cancel', '--nonce', '0x1234'], { role: 'requester' })).toMatchObject({ nonce: '4660' })
      expect((await run(['cancel'], { role: 'requester' })).code).toBe(2)
      expect((await run(['cancel', id, '--nonce', '1'], { role: 'requester' })).code).toBe(2)
    },
    LONG_CLI_TEST_MS,
  )

  it('status and wait show a signed request fulfilled on the fast lane: who proved it, at what price, the proof', async () => {
    const { actors, deployment, reader } = current()
    // The prover the set-up test registered (a later test registers the bystander itself).
    const prover = actors.prover.wallet.account.address
    if (!(await getProver(reader, prover)).registered) await register(actors.prover, { capacity: 1 })
    await deposit(actors.requester, deployment.contracts.paymentToken, 10n)
    const now = Number(await chainTime(reader))
    const statement = await preimageStatement()
    const signed = await signRequest(actors.requester, {
      marketId: 1,
      maxReward: 10n,
      provingTime: 600,
      matchingExpiry: now + 600,
      deadline: now + 1_200,
      speedPreferenceBps: 5_000,
      refundAddress: actors.requester.wallet.account.address,
      publicInputs: { data: statement.publicInputs, uri: '', digest: zeroHash },
      privateInputs: { data: '0x', uri: '', digest: zeroHash },
    })
    const assignment = { requestId: signed.requestId, prover, price: 5n, validUntil: BigInt(now + 300) }
    const matcherSignature = await actors.matcher.wallet.signTypedData({
      account: actors.matcher.wallet.account,
      ...fastAssignmentTypedData(deployment, assignment),
    })
    const { proof } = await provePoseidonPreimage(statement.preimage, statement.context)
    const offer = { ...assignment, request: signed.request, signature: signed.signature, matcherSignature }
    const { receipt } = await fulfilSigned(actors.prover, offer, proof)

    // No saved signed request needed: its SignedRequestFulfilled log is found by id.
    const id = signed.requestId.toString()
    expect(await json(['status', id])).toMatchObject({
      requestId: id,
      state: 'Fulfilled',
      lane: 'fast',
      prover,
      price: '5',
      transactionHash: receipt.transactionHash,
    })
    expect(await json(['wait', id, '--timeout', '30s'])).toMatchObject({
      requestId: id,
      lane: 'fast',
      prover,
      price: '5',
      proof,
      publicInputs: statement.publicInputs,
      transactionHash: receipt.transactionHash,
    })
    const text = await run(['status', id])
    expect(text.stdout).toContain(`fulfilled on the fast lane by ${prover}`)
  })

  it('deposit, balance and withdraw move the marketplace balance, amounts parsed in token units', async () => {
    const requester = anvilAccount(devRoles.requester).account.address
    const before = await json([
      'balance',
      '--account',
      requester,
      '--token',
      current().deployment.contracts.paymentToken,
    ])
    const [row] = before.balances as { marketplace: string; wallet: string }[]
    const deposited = await json(['deposit', '--amount', '2.5'], { role: 'requester' })
    expect(deposited).toMatchObject({ amount: parseEther('2.5').toString(), amountFormatted: '2.5 cUSD' })
    const after = await json(['balance'], { role: 'requester' })
    expect((after.balances as unknown[])[0]).toMatchObject({
      marketplace: (BigInt(row?.marketplace ?? 0) + parseEther('2.5')).toString(),
      wallet: (BigInt(row?.wallet ?? 0) - parseEther('2.5')).toString(),
      symbol: 'cUSD',
    })
    const held = BigInt(row?.marketplace ?? 0) + parseEther('2.5')
    // Part of it, in token units with the symbol; the text names what moved and what is left, in tokens.
    const part = await run(['withdraw', '--amount', '1.25', '--token', 'cUSD'], { role: 'requester' })
    expect(part.code).toBe(0)
    expect(part.stdout).toContain(`withdrew 1.25 cUSD to ${requester}`)
    expect(part.stdout).toContain(`marketplace balance left: ${formatEther(held - parseEther('1.25'))} cUSD`)
    const tooMuch = await run(['withdraw', '--amount', '1000000'], { role: 'requester' })
    expect(tooMuch.code).toBe(1)
    expect(tooMuch.stderr).toContain(
      `--amount 1000000 cUSD is more than the marketplace balance of ${formatEther(held - parseEther('1.25'))} cUSD`,
    )
    const zero = await run(['withdraw', '--amount', '0'], { role: 'requester' })
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('--amount: give more than 0')
    // Without --amount, the rest.
    const withdrawn = await json(['withdraw'], { role: 'requester' })
    expect(withdrawn).toMatchObject({
      amount: (held - parseEther('1.25')).toString(),
      balanceLeft: '0',
      balanceLeftFormatted: '0 cUSD',
    })
    const empty = await run(['withdraw'], { role: 'requester' })
    expect(empty.code).toBe(1)
    expect(empty.stderr).toContain(`nothing to withdraw: the marketplace balance of ${requester} in cUSD is 0`)
  })

  it('reports a contract revert with its decoded name and exit 1', async () => {
    // Registering twice: the registry refuses with AlreadyRegistered.
    await json(['prover', 'register', '--capacity', '1'], { role: 'bystander' })
    const again = await run(['prover', 'register', '--capacity', '1'], { role: 'bystander' })
    expect(again.code).toBe(1)
    const bystander = anvilAccount(devRoles.bystander).account.address
    expect(again.stderr).toContain(`error: the contract reverted with AlreadyRegistered(prover=${bystander})`)
    // With --json the error is a JSON document on stderr, stdout stays empty.
    const asJson = await run(['cancel', '1', '--json'], { role: 'bystander' })
    expect(asJson.code).toBe(1)
    expect(asJson.stdout).toBe('')
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { name: 'RequestNotFoundError' } })
    // An invalid value the SDK refuses before sending is a usage error.
    const bps = await run(['market', 'create', '--stake-per-task', '1', '--slash-penalty', '2'], { role: 'bystander' })
    expect(bps.code).toBe(2)
    expect(bps.stderr).toContain(
      'error: slashPenalty: the penalty (2000000000000000000) cannot exceed the stake locked per task (1000000000000000000)',
    )
  })

  it('exits 2 with a readable message on unknown commands, flags and bad arguments (market 1 exists by now)', async () => {
    const unknown = await run(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('error: unknown command "frobnicate"')
    expect(unknown.stderr).toContain('run `cairn --help` for usage')
    const unknownSub = await run(['market', 'destroy'])
    expect(unknownSub.code).toBe(2)
    expect(unknownSub.stderr).toContain('unknown subcommand "destroy" of market (create, show, list)')
    const unknownFlag = await run(['status', '1', '--colour'])
    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr).toContain("unknown option '--colour'")
    expect(unknownFlag.stderr).toContain('run `cairn status --help` for usage')
    const missing = await run(['status'])
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('missing <requestId>') })

    const badAmount = await run(
      ['request', '--market', '1', '--inputs-hex', '0x01', '--max-reward', 'lots', '--proving-time', '10m'],
      { role: 'requester' },
    )
    expect(badAmount.code).toBe(2)
    expect(badAmount.stderr).toContain('--max-reward: expected an amount such as 40 or 2.5')
    const badSpeed = await run(
      [
        'request',
        '--market',
        '1',
        '--inputs-hex',
        '0x01',
        '--max-reward',
        '1',
        '--proving-time',
        '10m',
        '--speed',
        '20000',
      ],
      { role: 'requester' },
    )
    expect(badSpeed.code).toBe(2)
    expect(badSpeed.stderr).toContain('error: speedPreferenceBps: expected 0 to 10000 basis points, got 20000')
    const noKey = await run(['deposit', '--amount', '1'])
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toContain('deposit sends a transaction: give --private-key or set CAIRN_PRIVATE_KEY')
  })
})

describe('the cairn CLI: slash and the devnet faucet (last: they move chain time)', () => {
  it('faucet mints both DevTokens to an address; --token takes a symbol', async () => {
    const to = privateKeyToAccount(keccak256(toHex('cairn cli faucet recipient'))).address
    const minted = await json(['faucet', to, '--amount', '7.5'], { role: 'bystander' })
    expect(minted).toMatchObject({
      to,
      minted: [
        { symbol: 'cUSD', amount: parseEther('7.5').toString(), amountFormatted: '7.5 cUSD' },
        { symbol: 'cSTK', amount: parseEther('7.5').toString(), amountFormatted: '7.5 cSTK' },
      ],
    })
    const stake = await json(['balance', '--account', to, '--token', 'cstk'])
    expect(stake.balances).toEqual([
      expect.objectContaining({
        token: current().deployment.contracts.stakeToken,
        wallet: parseEther('7.5').toString(),
      }),
    ])
    const unknown = await run(['balance', '--account', to, '--token', 'DOGE'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain(
      '--token: no token with symbol "DOGE" in this deployment: known symbols are cUSD, cSTK, ETH',
    )
  })

  it('slash takes the penalty from the stake of a prover past its deadline, refused before it', async () => {
    const { actors, reader } = current()
    const prover = anvilAccount(devRoles.prover).account.address
    const statement = await preimageStatement()
    const requested = await json(
      [
        'request',
        '--market',
        '1',
        '--inputs-hex',
        statement.publicInputs,
        '--max-reward',
        '40',
        '--proving-time',
        '10m',
      ],
      { role: 'requester' },
    )
    const requestId = BigInt(requested.requestId as string)
    const batch = await signAssignments(actors.matcher, {
      assignments: await withListedTerms(reader, [{ requestId, prover }]),
      validUntil: (await chainTime(reader)) + 300n,
    })
    const [task] = (await submitAssignments(actors.bystander, batch)).assigned
    if (!task) throw new Error('not assigned')
    const early = await run(['slash', requestId.toString()], { role: 'bystander' })
    expect(early.code).toBe(1)
    expect(early.stderr).toContain('error: the contract reverted with')
    // Past the task's deadline by chain time.
    await reader.public.request({ method: 'evm_increaseTime' as never, params: [3600] as never })
    await reader.public.request({ method: 'evm_mine' as never })
    const slashed = await json(['slash', requestId.toString()], { role: 'bystander' })
    expect(slashed).toMatchObject({
      requestId: requestId.toString(),
      prover,
      penalty: parseEther('50').toString(),
      penaltyFormatted: '50 cSTK',
    })
    expect(await json(['status', requestId.toString()])).toMatchObject({ state: 'Slashed' })
  })
})

async function requestExists(requestId: bigint): Promise<boolean> {
  return (await getRequestStatus(current().reader, requestId)) !== 'None'
}
