// The whole network end to end, everything real: both anvils with the forge deployments (real Symbiotic core, TEE
// registry as matcher authority and enclave-key registry), and the matcher and the prover runner as child processes
// run from their entry points, configured as an operator would. Only TDX hardware is replaced, by the dev
// attestation provider. The tests run in order: some kill a service and restart it for the ones after.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  bytesToHex,
  concat,
  erc20Abi,
  type Hex,
  isAddressEqual,
  parseEther,
  sha256,
  size,
  stringToBytes,
  toHex,
  zeroAddress,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { poseidon2PreimageProgram, readNoirProgram } from '../enclave/prover/backends/noir.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import {
  createDevMarkets,
  type DevMarkets,
  fundActors,
  type LaunchOptions,
  type ProverMarketOffer,
  proverOperatorTokenFile,
  SLASH_PENALTY,
  STAKE_PER_TASK,
  startMatcher,
  startProver,
} from '../ts/devnet/launch.js'
import { type Network, startNetwork } from '../ts/devnet/network.js'
import { repoRoot } from '../ts/devnet/paths.js'
import { preimageStatement, randomFieldElement } from '../ts/devnet/scenario.js'
import { type Service, tail } from '../ts/devnet/services.js'
import { advanceTime } from '../ts/devnet/stack.js'
import {
  decryptWithInputKey,
  eciesPublicKeyOf,
  findWrap,
  generateEciesPrivateKey,
  getActiveMatcherKeys,
  getBalance,
  getListing,
  getOrderStatus,
  getProverEnclave,
  getRequestState,
  getRequestStatus,
  getStake,
  groth16BatchVerifierAbi,
  type Inputs,
  inputsDigest,
  listingStates,
  loadRequest,
  openPrivateInputs,
  type PrivateInputsContext,
  type ProofFulfilment,
  type ProofRequest,
  ProofRequestFailedError,
  type ProofStage,
  parseEnvelope,
  proofContextOf,
  proofMarketplaceAbi,
  type RequesterClient,
  recipientIdOf,
  requestProof,
  type SignedProofRequest,
  signedRequestState,
  slash,
  ultraHonkVerifierAdapterAbi,
  unwrapDataKey,
  waitForProof,
} from '../ts/index.js'
import { noirRequestInputs, poseidon2Hash } from '../ts/noir.js'
import { eventually as waitFor } from './eventually.js'

const GROTH16_PRICE = parseEther('25')
const TEE_PRICE = parseEther('10')
const NOIR_PRICE = parseEther('15')
const MAX_REWARD = parseEther('40')
/** What the runner lists as its proving time in both markets: a request must allow at least this much. */
const LISTED_PROVING_TIME = 20
/** Requests that are meant to be proven leave plenty of time. */
const PROVING_TIME = 600
/** The dev markets' fallback delay and compensation share (ts/devnet/launch.ts). */
const FALLBACK_DELAY = 20
const COMPENSATION_BPS = 5_000n
const SLASHER_REWARD_BPS = 500n
/** Generous: a proof takes about a second here, assignment one block. */
const WAIT_MS = 90_000

type Setup = {
  network: Network
  markets: DevMarkets
  dir: string
  launch: LaunchOptions
  offers: ProverMarketOffer[]
  /** The requester's client with the attestation deployment, which private inputs need. */
  requester: RequesterClient
  prover: Address
}

let setup: Setup | undefined
/** The services running now; tests that kill one put its successor here, afterAll stops whatever is left. */
const services: { matcher?: Service; prover?: Service } = {}

function current(): Setup {
  if (!setup) throw new Error('the network is not set up')
  return setup
}

function running(name: keyof typeof services): Service {
  const service = services[name]
  if (!service) throw new Error(`no ${name} running`)
  return service
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-network-e2e-'))
  const launch: LaunchOptions = { logDir: join(dir, 'logs'), stateDir: join(dir, 'state') }
  const network = await startNetwork({})
  setup = {
    network,
    markets: { groth16Restaked: 0n, groth16Native: 0n, teeWasm: 0n, noir: 0n },
    dir,
    launch,
    offers: [],
    requester: { ...network.marketplace.actors.requester, attestation: network.attestation.marketplace },
    prover: network.marketplace.actors.prover.wallet.account.address,
  }
  await fundActors(network)
  const markets = await createDevMarkets(network)
  const offers: ProverMarketOffer[] = [
    { marketId: markets.groth16Native, backend: 'groth16', price: GROTH16_PRICE, provingTime: LISTED_PROVING_TIME },
    { marketId: markets.teeWasm, backend: 'tee-wasm', price: TEE_PRICE, provingTime: LISTED_PROVING_TIME },
    { marketId: markets.noir, backend: 'noir', price: NOIR_PRICE, provingTime: LISTED_PROVING_TIME },
  ]
  setup = { ...setup, markets, offers }
  const [matcher, prover] = await Promise.all([
    startMatcher(network, matcherLaunch(launch)),
    startProver(network, { ...launch, markets: offers }),
  ])
  services.matcher = matcher
  services.prover = prover
}, 300_000)

afterAll(async () => {
  await Promise.all(Object.values(services).map((service) => service?.stop()))
  await setup?.network.stop()
  if (setup) await rm(setup.dir, { recursive: true, force: true })
}, 120_000)

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** The tails of both services' logs, appended to a failure so that it explains itself. */
async function serviceLogs(): Promise<string> {
  const { launch } = current()
  const parts: string[] = []
  for (const name of ['matcher', 'prover']) {
    parts.push(`--- ${name} log (last lines) ---\n${await tail(join(launch.logDir, `${name}.log`), 40)}`)
  }
  return parts.join('\n')
}

async function diagnosed<T>(work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    throw new Error(`${message}\n${await serviceLogs()}`, { cause: error })
  }
}

/** Polls `probe` until it returns a value; a failing test reports the services' logs. */
function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitFor(what, probe, { intervalMs: 250, explain: serviceLogs })
}

/** waitForProof with a generous timeout, recording every stage the request went through. */
async function proofOf(requestId: bigint): Promise<{ proof: ProofFulfilment; stages: ProofStage[] }> {
  const stages: ProofStage[] = []
  const proof = await diagnosed(
    waitForProof(current().network.marketplace.reader, requestId, {
      timeoutMs: WAIT_MS,
      pollIntervalMs: 250,
      onProgress: (stage) => stages.push(stage),
    }),
  )
  return { proof, stages }
}

/** The ProofRequestFailedError a request ends with; anything else (a proof, a timeout) fails with the logs. */
async function failureOf(requestId: bigint): Promise<ProofRequestFailedError> {
  const outcome = await waitForProof(current().network.marketplace.reader, requestId, {
    timeoutMs: WAIT_MS,
    pollIntervalMs: 250,
  }).then(
    (proof) => proof,
    (error: unknown) => error,
  )
  if (outcome instanceof ProofRequestFailedError) return outcome
  const seen = outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : `a proof in ${String(outcome)}`
  throw new Error(`request ${requestId} was expected to fail, got ${seen}\n${await serviceLogs()}`)
}

/** A Poseidon-preimage request whose preimage travels encrypted (UTF-8 JSON, what the Groth16 backend reads). */
async function postPrivateGroth16(options: { wrongPreimage?: boolean; provingTime?: number } = {}) {
  const { requester, markets } = current()
  const statement = await preimageStatement()
  const preimage = options.wrongPreimage ? statement.preimage + 1n : statement.preimage
  const plaintext = stringToBytes(JSON.stringify({ preimage: preimage.toString() }))
  const posted = await requestProof(requester, {
    marketId: markets.groth16Native,
    maxReward: MAX_REWARD,
    provingTime: options.provingTime ?? PROVING_TIME,
    publicInputs: statement.publicInputs,
    privateInputs: plaintext,
  })
  return { posted, statement, plaintext }
}

/**
 * A Poseidon2-preimage statement for the Noir market (noir/poseidon2_preimage): inputs by ABI name, checked against
 * the circuit's ABI before anything is encrypted; the preimage private.
 */
async function postPrivateNoir(options: { wrongPreimage?: boolean } = {}) {
  const { requester, markets } = current()
  const program = await readNoirProgram(poseidon2PreimageProgram)
  const preimage = randomFieldElement()
  const context = randomFieldElement()
  const digest = await poseidon2Hash([preimage])
  const inputs = noirRequestInputs(program.abi, {
    digest: toHex(digest),
    context: toHex(context),
    preimage: toHex(options.wrongPreimage ? preimage + 1n : preimage),
  })
  if (inputs.privateInputs === undefined) throw new Error('the Noir circuit has no private inputs')
  const posted = await requestProof(requester, {
    marketId: markets.noir,
    maxReward: MAX_REWARD,
    provingTime: PROVING_TIME,
    publicInputs: inputs.publicInputs,
    privateInputs: inputs.privateInputs,
  })
  return { posted, preimage, publicInputs: inputs.publicInputs, plaintext: inputs.privateInputs }
}

/** A sha256-preimage statement for the TEE-WASM program: public context ‖ sha256(preimage), the preimage private. */
async function postPrivateTee() {
  const { requester, markets } = current()
  const preimage = new Uint8Array(randomBytes(48))
  const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256(preimage)])
  const posted = await requestProof(requester, {
    marketId: markets.teeWasm,
    maxReward: MAX_REWARD,
    provingTime: PROVING_TIME,
    publicInputs,
    privateInputs: preimage,
  })
  return { posted, publicInputs, preimage }
}

/** A public TEE-WASM statement the program proves with no private input at all: sha256 of the empty string. */
async function postPublicTee() {
  const { requester, markets } = current()
  const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
  const posted = await requestProof(requester, {
    marketId: markets.teeWasm,
    maxReward: MAX_REWARD,
    provingTime: PROVING_TIME,
    publicInputs,
  })
  return { posted, publicInputs }
}

/** The matcher's HTTP origin, where its order stream is served. */
function matcherUrl(): string {
  return new URL(running('matcher').healthUrl).origin
}

/**
 * A request signed off chain and sent to the order stream at `url`: a private Groth16 preimage or a public TEE-WASM
 * statement. Nothing is on chain until it is used.
 */
async function sendSigned(kind: 'privateGroth16' | 'publicTee', url: string): Promise<SignedProofRequest> {
  const { requester, markets } = current()
  const common = { maxReward: MAX_REWARD, provingTime: PROVING_TIME, matcherUrl: url }
  if (kind === 'publicTee') {
    const publicInputs = concat([toHex(randomFieldElement(), { size: 32 }), sha256('0x')])
    return signedPath(await requestProof(requester, { ...common, marketId: markets.teeWasm, publicInputs }))
  }
  const statement = await preimageStatement()
  const privateInputs = stringToBytes(JSON.stringify({ preimage: statement.preimage.toString() }))
  return signedPath(
    await requestProof(requester, {
      ...common,
      marketId: markets.groth16Native,
      publicInputs: statement.publicInputs,
      privateInputs,
    }),
  )
}

function signedPath(sent: ProofRequest | SignedProofRequest): SignedProofRequest {
  if (sent.path === 'onchain') throw new Error('requestProof took the on-chain path although a matcher URL was given')
  return sent
}

/**
 * waitForProof for a signed request: it waits for the request's use first (no log scan meanwhile). With `postAfter`,
 * the requester's wait posts it on chain itself once it stays unused that many seconds of chain time.
 */
async function signedProofOf(
  sent: SignedProofRequest,
  options: { postAfter?: number; releaseKey?: boolean } = {},
): Promise<{ proof: ProofFulfilment; stages: ProofStage[] }> {
  const { network, requester } = current()
  const stages: ProofStage[] = []
  const post = options.postAfter === undefined ? {} : { client: requester, postAfterSeconds: options.postAfter }
  const dataKey = sent.encrypted?.dataKey
  // A private request claimed through the fallback waits for its requester to release the data key to the claimant.
  const client = { ...requester, attestation: network.attestation.marketplace }
  const release = options.releaseKey && dataKey !== undefined ? { releaseKey: { client, dataKey } } : {}
  const proof = await diagnosed(
    waitForProof(network.marketplace.reader, sent.requestId, {
      timeoutMs: WAIT_MS,
      pollIntervalMs: 250,
      onProgress: (stage) => stages.push(stage),
      signed: { signed: sent.signed, ...post },
      ...release,
    }),
  )
  return { proof, stages }
}

async function taskAssignedLogs(requestId: bigint) {
  const { reader, deployment } = current().network.marketplace
  return reader.public.getContractEvents({
    address: deployment.contracts.proofMarketplace,
    abi: proofMarketplaceAbi,
    eventName: 'TaskAssigned',
    args: { requestId },
    fromBlock: deployment.deployBlock,
    strict: true,
  })
}

/** The requester's payment tokens: its marketplace deposit plus its wallet. */
async function requesterFunds(): Promise<bigint> {
  const { network, requester } = current()
  const { reader, deployment } = network.marketplace
  const account = requester.wallet.account.address
  const token = deployment.contracts.paymentToken
  const wallet = await reader.public.readContract({
    address: token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [account],
  })
  return wallet + (await getBalance(reader, account, token))
}

/** The prover runner's health body (200 or 503, JSON either way). */
async function proverHealth(): Promise<{ status: number; body: { ready?: boolean; breaker?: string } }> {
  const response = await fetch(running('prover').healthUrl)
  return { status: response.status, body: (await response.json()) as { ready?: boolean; breaker?: string } }
}

/** A sample of one Prometheus counter or gauge of the prover runner (no labels). */
async function proverMetric(name: string): Promise<number> {
  const text = await (await fetch(running('prover').healthUrl.replace(/\/healthz$/, '/metrics'))).text()
  const line = text.split('\n').find((row) => row.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no metric ${name} in the prover's /metrics`)
  return Number(line.slice(name.length + 1))
}

/** The prover enclave's private ECIES key for `eciesPublicKey`, from its sealed keyring file. */
async function proverEnclaveEciesKey(marketId: bigint, eciesPublicKey: Hex): Promise<Hex> {
  const path = join(current().launch.stateDir, 'prover.keyring.json')
  const keyring = JSON.parse(await readFile(path, 'utf8')) as { keys: { marketId: string; eciesKey: Hex }[] }
  const key = keyring.keys.find(
    (k) => k.marketId === marketId.toString() && eciesPublicKeyOf(k.eciesKey) === eciesPublicKey.toLowerCase(),
  )
  if (!key) throw new Error(`the prover keyring at ${path} has no ECIES key ${eciesPublicKey} for market ${marketId}`)
  return key.eciesKey
}

async function matcherKeyFile(): Promise<Hex> {
  const path = join(current().launch.stateDir, 'matcher.key.json')
  return (JSON.parse(await readFile(path, 'utf8')) as { privateKey: Hex }).privateKey
}

function caught(work: () => unknown): unknown {
  try {
    work()
  } catch (error) {
    return error
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------

/** The README block after the `cli-example-proof` marker, continuation lines joined: the commands a user pastes. */
async function readmeProofExample(): Promise<string[]> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8')
  const block = /<!-- cli-example-proof:[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error('README.md has no <!-- cli-example-proof --> sh block')
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '')
}

/** Runs one pasted line in a shell, in the test's directory, as a user's terminal would. */
async function shell(command: string, env: NodeJS.ProcessEnv) {
  const child = spawn('sh', ['-c', command], { cwd: current().dir, env: { ...process.env, ...env } })
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

// Each test waits on chain state and service output, never on a time budget; the guard only ends a hang. Tests that
// stop, kill and restart the matcher and runner processes and prove several requests took over 60 s on a 2-core
// machine with other work on both cores.
describe('the Cairn network end to end: matcher and prover runner as processes on both chains', {
  timeout: 240_000,
}, () => {
  // The README's second CLI block, pasted into a shell against this network (as `npm run devnet` leaves it), each
  // line checked for what the README says it prints. Here rather than in a file of its own: one network start-up.
  it('the README’s proof example: posts the TEE-WASM request, waits for its proof and verifies it, as pasted', async () => {
    const { network, markets } = current()
    // The README names the devnet's TEE-WASM market by the id `npm run devnet` gives it.
    expect(/--market (\d+)/.exec((await readmeProofExample()).join('\n'))?.[1]).toBe(markets.teeWasm.toString())
    // As the README's first block sets them: the devnet's RPC URL and the requester's dev key; the deployment files
    // are this network's (`npm run devnet` writes them where the CLI looks by default).
    const env = {
      CAIRN_RPC_URL: network.marketplace.anvil.rpcUrl,
      CAIRN_PRIVATE_KEY: anvilAccount(devRoles.requester).privateKey,
      CAIRN_DEPLOYMENT: network.files.marketplace,
      CAIRN_ATTESTATION: network.files.marketplaceAttestation,
    }
    let requestId: string | undefined
    for (const line of await readmeProofExample()) {
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

  it('proves a private-input Groth16 request that only the assigned prover enclave can decrypt', async () => {
    const { network, markets, prover } = current()
    const { reader, deployment } = network.marketplace
    const { posted, statement, plaintext } = await postPrivateGroth16()
    const encrypted = posted.encrypted
    if (!encrypted) throw new Error('requestProof did not encrypt the private inputs')

    const { proof, stages } = await proofOf(posted.requestId)
    expect(stages).toEqual(['open', 'assigned', 'input-key-released', 'fulfilled'])
    expect(proof.publicInputs).toBe(statement.publicInputs)
    expect(proof.request).toEqual(posted.request)
    expect(proof.privateInputsDigest).toBe(encrypted.digest)
    expect(isAddressEqual(proof.prover, prover)).toBe(true)
    expect(proof.price).toBe(GROTH16_PRICE)
    expect(proof.refund).toBe(MAX_REWARD - GROTH16_PRICE)
    // The proof the prover posted is a real Groth16 proof of the requested statement.
    const verifies = await reader.public.readContract({
      address: deployment.contracts.groth16Adapter,
      abi: groth16BatchVerifierAbi,
      functionName: 'verify',
      args: [proof.publicInputs, proof.proof, proofContextOf(proof)],
    })
    expect(verifies).toBe(true)
    const loaded = await loadRequest(reader, posted.requestId)
    expect(loaded.byMatcher).toBe(true)
    expect(loaded.state).toBe('Fulfilled')

    // On chain: an envelope, not the plaintext, wrapped to the matcher keys only.
    const envelope = loaded.privateInputs.data
    expect(envelope).toBe(encrypted.envelope)
    expect(envelope.toLowerCase()).not.toContain(bytesToHex(plaintext).slice(2))
    expect(envelope.toLowerCase()).not.toContain(toHex(statement.preimage, { size: 32 }).slice(2))
    expect(parseEnvelope(envelope).wraps.map((wrap) => wrap.recipient)).toEqual(
      encrypted.matchers.map((matcher) => recipientIdOf(matcher.eciesPublicKey)),
    )
    const requesterKey = anvilAccount(devRoles.requester).privateKey
    expect(
      caught(() => openPrivateInputs({ envelope, privateKey: requesterKey, context: contextOf(markets, loaded) })),
    ).toMatchObject({
      name: 'PrivateInputsError',
      code: 'NoWrapForRecipient',
    })

    // The released input key is addressed to the prover's registered enclave key, and opens under it alone.
    const released = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'InputKeyReleased',
      args: { requestId: posted.requestId },
      fromBlock: deployment.deployBlock,
      strict: true,
    })
    expect(released).toHaveLength(1)
    const [{ args }] = released as [(typeof released)[number]]
    expect(isAddressEqual(args.prover, prover)).toBe(true)
    const enclave = await getProverEnclave(
      { ...reader, attestation: network.attestation.marketplace },
      markets.groth16Native,
      prover,
    )
    if (!enclave) throw new Error('the prover has no active enclave key in the Groth16 market')
    expect(findWrap(envelope, enclave.eciesPublicKey)).toBeUndefined()
    const enclaveKey = await proverEnclaveEciesKey(markets.groth16Native, enclave.eciesPublicKey)
    expect(unwrapDataKey(args.inputKey, enclaveKey)).toBe(encrypted.dataKey)
    expect(
      decryptWithInputKey({
        envelope,
        inputKey: args.inputKey,
        privateKey: enclaveKey,
        context: contextOf(markets, loaded),
      }),
    ).toEqual(plaintext)
    const wrongKeys = {
      fresh: generateEciesPrivateKey(),
      requester: requesterKey,
      bystander: anvilAccount(devRoles.bystander).privateKey,
      matcher: await matcherKeyFile(),
    }
    for (const [who, key] of Object.entries(wrongKeys)) {
      expect(
        caught(() => unwrapDataKey(args.inputKey, key)),
        who,
      ).toMatchObject({
        name: 'PrivateInputsError',
        code: 'UnwrapFailed',
      })
    }
  })

  it('proves a TEE-WASM request with a private preimage', async () => {
    const { network, prover } = current()
    const { posted, publicInputs } = await postPrivateTee()
    const { proof, stages } = await proofOf(posted.requestId)
    expect(stages).toEqual(['open', 'assigned', 'input-key-released', 'fulfilled'])
    expect(proof.publicInputs).toBe(publicInputs)
    expect(proof.request).toEqual(posted.request)
    expect(isAddressEqual(proof.prover, prover)).toBe(true)
    expect(proof.price).toBe(TEE_PRICE)
    expect(proof.refund).toBe(MAX_REWARD - TEE_PRICE)
    expect(await getRequestState(network.marketplace.reader, posted.requestId)).toBe('Fulfilled')
  })

  it('proves a private-input Noir request (UltraHonk ZK) only the prover enclave could read; the preimage never goes on chain in clear', async () => {
    const { network, markets, prover } = current()
    const { reader, deployment } = network.marketplace
    const { posted, preimage, publicInputs, plaintext } = await postPrivateNoir()
    const encrypted = posted.encrypted
    if (!encrypted) throw new Error('requestProof did not encrypt the private inputs')

    const { proof, stages } = await proofOf(posted.requestId)
    expect(stages).toEqual(['open', 'assigned', 'input-key-released', 'fulfilled'])
    expect(proof.publicInputs).toBe(publicInputs)
    expect(proof.privateInputsDigest).toBe(encrypted.digest)
    expect(isAddressEqual(proof.prover, prover)).toBe(true)
    expect(proof.price).toBe(NOIR_PRICE)
    expect(await getRequestState(reader, posted.requestId)).toBe('Fulfilled')
    // A real ZK UltraHonk proof of the requested statement, through the market's adapter.
    expect(size(proof.proof)).toBe(5952)
    const verifies = await reader.public.readContract({
      address: deployment.contracts.noirAdapter,
      abi: ultraHonkVerifierAdapterAbi,
      functionName: 'verify',
      args: [proof.publicInputs, proof.proof, proofContextOf(proof)],
    })
    expect(verifies).toBe(true)

    // The preimage is nowhere on chain in clear: not in the request's envelope, not in the fulfilling transaction
    // (public inputs and proof), not in any of the request's marketplace events.
    const preimageWord = toHex(preimage, { size: 32 }).slice(2)
    const loaded = await loadRequest(reader, posted.requestId)
    const envelope = loaded.privateInputs.data
    expect(envelope).toBe(encrypted.envelope)
    const fulfil = await reader.public.getTransaction({ hash: proof.transactionHash })
    const logs = await reader.public.getLogs({
      address: deployment.contracts.proofMarketplace,
      fromBlock: deployment.deployBlock,
    })
    for (const [where, data] of [
      ['envelope', envelope],
      ['fulfil calldata', fulfil.input],
      ['marketplace logs', logs.map((log) => log.data).join('')],
    ] as const) {
      expect(data.toLowerCase(), where).not.toContain(preimageWord)
      expect(data.toLowerCase(), where).not.toContain(bytesToHex(plaintext).slice(2))
    }
    // The data key was released to the prover's enclave key in the Noir market, which alone opens the plaintext.
    const enclave = await getProverEnclave(
      { ...reader, attestation: network.attestation.marketplace },
      markets.noir,
      prover,
    )
    if (!enclave) throw new Error('the prover has no active enclave key in the Noir market')
    const released = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'InputKeyReleased',
      args: { requestId: posted.requestId },
      fromBlock: deployment.deployBlock,
      strict: true,
    })
    const [{ args }] = released as [(typeof released)[number]]
    const enclaveKey = await proverEnclaveEciesKey(markets.noir, enclave.eciesPublicKey)
    const context = contextOf(markets, loaded, markets.noir)
    expect(decryptWithInputKey({ envelope, inputKey: args.inputKey, privateKey: enclaveKey, context })).toEqual(
      plaintext,
    )
    expect(
      caught(() => openPrivateInputs({ envelope, privateKey: anvilAccount(devRoles.requester).privateKey, context })),
    ).toMatchObject({ name: 'PrivateInputsError', code: 'NoWrapForRecipient' })
  })

  it('rejects a private Noir preimage that fails the circuit assertion by enclave attestation: paid, refunded', async () => {
    const { network, prover } = current()
    const { posted } = await postPrivateNoir({ wrongPreimage: true })
    const failure = await failureOf(posted.requestId)
    expect(failure.outcome).toBe('InputsRejected')
    expect(failure.details.price).toBe(NOIR_PRICE)
    expect(failure.details.refund).toBe(MAX_REWARD - NOIR_PRICE)
    expect(isAddressEqual(failure.details.prover as Address, prover)).toBe(true)
    expect(await getRequestState(network.marketplace.reader, posted.requestId)).toBe('InputsRejected')
  })

  it('rejects a private preimage that does not match the digest by enclave attestation: paid, refunded, no slash', async () => {
    const { network, prover } = current()
    const { reader, deployment } = network.marketplace
    const { paymentToken } = deployment.contracts
    const requesterAddress = network.marketplace.actors.requester.wallet.account.address
    const stakeBefore = await getStake(reader, prover)
    const { posted } = await postPrivateGroth16({ wrongPreimage: true })
    // After the escrow left the requester's balance (requestProof spends the marketplace balance first).
    const requesterBefore = await getBalance(reader, requesterAddress, paymentToken)
    const proverBefore = await getBalance(reader, prover, paymentToken)

    const failure = await failureOf(posted.requestId)
    expect(failure.outcome).toBe('InputsRejected')
    expect(failure.details.price).toBe(GROTH16_PRICE)
    expect(failure.details.refund).toBe(MAX_REWARD - GROTH16_PRICE)
    expect(isAddressEqual(failure.details.prover as Address, prover)).toBe(true)
    expect(await getRequestState(reader, posted.requestId)).toBe('InputsRejected')
    expect(await getBalance(reader, prover, paymentToken)).toBe(proverBefore + GROTH16_PRICE)
    expect(await getBalance(reader, requesterAddress, paymentToken)).toBe(requesterBefore + MAX_REWARD - GROTH16_PRICE)
    // Not slashed: the stake is whole and unlocked again, and no TaskSlashed was ever emitted for the request.
    expect(await getStake(reader, prover)).toEqual(stakeBefore)
    const slashes = await reader.public.getContractEvents({
      address: deployment.contracts.proofMarketplace,
      abi: proofMarketplaceAbi,
      eventName: 'TaskSlashed',
      args: { requestId: posted.requestId },
      fromBlock: deployment.deployBlock,
    })
    expect(slashes).toEqual([])
  })

  it('a signed public request and a signed private request go through the order stream and are fulfilled', async () => {
    const { network, prover } = current()
    const { reader } = network.marketplace
    const url = matcherUrl()
    const sent = [await sendSigned('privateGroth16', url), await sendSigned('publicTee', url)]
    for (const request of sent) {
      // Acknowledged: the matcher persisted it; nothing is on chain until its signed batch uses it.
      expect(request.path).toBe('signed')
      expect(request.accepted).toEqual({ requestId: request.requestId.toString(), duplicate: false })
    }
    const done = await Promise.all(sent.map((request) => signedProofOf(request)))
    for (const [i, request] of sent.entries()) {
      const { proof, stages } = done[i] as (typeof done)[number]
      expect(stages).toContain('fulfilled')
      expect(isAddressEqual(proof.prover, prover)).toBe(true)
      const loaded = await loadRequest(reader, request.requestId)
      expect(loaded.byMatcher).toBe(true)
      expect(loaded.state).toBe('Fulfilled')
      expect(await taskAssignedLogs(request.requestId)).toHaveLength(1)
      expect(await getOrderStatus(url, request.requestId)).toMatchObject({ state: 'used' })
    }
    // The private one's data key went to the prover's enclave in the same signed batch that recorded it.
    expect(done[0]?.stages).toContain('input-key-released')
    expect(done[1]?.stages).not.toContain('input-key-released')
  })

  it('slashes a crashed prover past its deadline and compensates the requester; the breaker trips and resets', async () => {
    const { network, launch, offers, prover } = current()
    const { reader, deployment, actors } = network.marketplace
    const { paymentToken, stakeToken } = deployment.contracts
    const requesterAddress = actors.requester.wallet.account.address
    const bystander = actors.bystander.wallet.account.address

    // The prover crashes with the request posted: the matcher cannot tell and assigns it to the dead prover.
    const { posted } = await postPrivateGroth16({ provingTime: LISTED_PROVING_TIME })
    await running('prover').kill()
    const task = await eventually('TaskAssigned to the crashed prover', async () => {
      const loaded = await loadRequest(reader, posted.requestId)
      return loaded.task
    })
    expect(isAddressEqual(task.prover, prover)).toBe(true)
    expect(await getStake(reader, prover)).toMatchObject({ locked: STAKE_PER_TASK })

    // Past the deadline the requester's wait ends; nobody proved it.
    await advanceTime(network.marketplace, LISTED_PROVING_TIME + 1)
    const missed = await failureOf(posted.requestId)
    expect(missed.outcome).toBe('DeadlineMissed')

    // The operator restarts the prover with the same keyring: the task is past its deadline, so it is given up.
    services.prover = await startProver(network, { ...launch, markets: offers })
    expect(await getRequestState(reader, posted.requestId)).toBe('DeadlineMissed')

    const requesterBefore = {
      payment: await getBalance(reader, requesterAddress, paymentToken),
      stake: await getBalance(reader, requesterAddress, stakeToken),
    }
    const bystanderBefore = await getBalance(reader, bystander, stakeToken)
    const stakeBefore = await getStake(reader, prover)
    const slashed = await diagnosed(slash(actors.bystander, posted.requestId))
    expect(isAddressEqual(slashed.prover, prover)).toBe(true)
    expect(slashed.penalty).toBe(SLASH_PENALTY)
    expect(slashed.compensation).toBe((SLASH_PENALTY * COMPENSATION_BPS) / 10_000n)
    expect(slashed.slasherReward).toBe((SLASH_PENALTY * SLASHER_REWARD_BPS) / 10_000n)
    expect(await getRequestState(reader, posted.requestId)).toBe('Slashed')
    // The requester gets the whole escrow back, plus its share of the penalty in the stake token.
    expect(await getBalance(reader, requesterAddress, paymentToken)).toBe(requesterBefore.payment + MAX_REWARD)
    expect(await getBalance(reader, requesterAddress, stakeToken)).toBe(requesterBefore.stake + slashed.compensation)
    expect(await getBalance(reader, bystander, stakeToken)).toBe(bystanderBefore + slashed.slasherReward)
    expect(await getStake(reader, prover)).toEqual({
      staked: stakeBefore.staked - SLASH_PENALTY,
      locked: stakeBefore.locked - STAKE_PER_TASK,
    })

    // The runner sees its slash and trips its breaker: it leaves its markets until the operator resets it.
    const tripped = await eventually('the prover circuit breaker to trip', async () => {
      const health = await proverHealth()
      return health.body.breaker === 'tripped' ? health : undefined
    })
    expect(tripped.status).toBe(503)
    expect(await proverMetric('cairn_prover_breaker_tripped')).toBe(1)
    await eventually('the prover to leave its markets', async () => {
      const listing = await getListing(reader, prover, posted.marketId)
      return listingStates[listing.state] === 'Leaving' ? listing : undefined
    })
    const resetUrl = running('prover').healthUrl.replace(/\/healthz$/, '/reset')
    // An operator action: without the operator token the runner refuses it.
    expect((await fetch(resetUrl, { method: 'POST' })).status).toBe(401)
    const token = (await readFile(proverOperatorTokenFile(launch), 'utf8')).trim()
    const reset = await fetch(resetUrl, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(reset.status).toBe(200)
    expect(await reset.json()).toEqual({ breaker: 'closed', wasTripped: true })
    const healthy = await eventually('the prover to report healthy again', async () => {
      const health = await proverHealth()
      return health.status === 200 ? health : undefined
    })
    expect(healthy.body).toMatchObject({ ready: true, breaker: 'closed' })
    for (const { marketId } of offers) {
      expect(listingStates[(await getListing(reader, prover, marketId)).state]).toBe('Active')
    }
  })

  it('with the matcher dead, a prover claims a public request through the fallback', async () => {
    const { network, launch, offers, prover } = current()
    const { reader } = network.marketplace
    await running('matcher').kill()
    await running('prover').stop()
    services.prover = await startProver(network, { ...launch, markets: offers, claimFallback: true })
    const claimsBefore = await proverMetric('cairn_prover_fallback_claims_total')

    const { posted, publicInputs } = await postPublicTee()
    // Nobody may take it before the fallback delay, and the matcher is gone.
    expect(await getRequestState(reader, posted.requestId)).toBe('Open')
    await advanceTime(network.marketplace, FALLBACK_DELAY + 1)

    const { proof, stages } = await proofOf(posted.requestId)
    expect(stages).toEqual(['open', 'assigned', 'fulfilled'])
    expect(proof.publicInputs).toBe(publicInputs)
    expect(isAddressEqual(proof.prover, prover)).toBe(true)
    expect(proof.price).toBe(TEE_PRICE)
    const loaded = await loadRequest(reader, posted.requestId)
    expect(loaded.byMatcher).toBe(false)
    expect(loaded.state).toBe('Fulfilled')
    expect(await proverMetric('cairn_prover_fallback_claims_total')).toBe(claimsBefore + 1)
  })

  it('with the matcher dead, signed public and private requests are posted by their requester and claimed through the fallback', async () => {
    const { network, launch, offers, prover } = current()
    const { reader } = network.marketplace
    // The matcher was killed above: its port answers nothing, so the SDK posts the same signed requests on chain.
    const sent = [await sendSigned('publicTee', matcherUrl()), await sendSigned('privateGroth16', matcherUrl())]
    for (const request of sent) {
      expect(request.path).toBe('posted')
      expect(request.unavailable?.kind).toBe('unreachable')
      expect(await getRequestState(reader, request.requestId)).toBe('Open')
    }
    await advanceTime(network.marketplace, FALLBACK_DELAY + 1)

    // The private one is claimed with claimPrivate; the requester's wait wraps its data key to the claimant's
    // attested enclave key and publishes it on chain; only then can the prover's enclave read the inputs.
    const [publicDone, privateDone] = await Promise.all(
      sent.map((request) => signedProofOf(request, { releaseKey: true })),
    )
    expect(publicDone?.stages).toEqual(['open', 'assigned', 'fulfilled'])
    expect(privateDone?.stages).toEqual(['open', 'assigned', 'input-key-released', 'fulfilled'])
    for (const request of sent) {
      const loaded = await loadRequest(reader, request.requestId)
      expect(loaded.byMatcher).toBe(false)
      expect(loaded.state).toBe('Fulfilled')
      expect(isAddressEqual(loaded.task?.prover ?? zeroAddress, prover)).toBe(true)
    }

    // Back to a runner that only proves what the matcher assigns, so the next test's requests can only be the
    // restarted matcher's.
    await running('prover').stop()
    services.prover = await startProver(network, { ...launch, markets: offers })
  })

  it('a restarted matcher assigns every request posted while it was down exactly once, and all are proven', async () => {
    const { network, launch } = current()
    const { reader } = network.marketplace
    const teeReader = { ...reader, attestation: network.attestation.marketplace }
    const [keyBefore] = await getActiveMatcherKeys(teeReader)
    if (!keyBefore) throw new Error('no active matcher key')

    // The matcher is still down (killed above); its registered key stays active, so requesters encrypt to it.
    const privates: ProofRequest[] = [
      (await postPrivateGroth16()).posted,
      (await postPrivateGroth16()).posted,
      (await postPrivateTee()).posted,
    ]
    const publicRequest = (await postPublicTee()).posted
    for (const posted of privates) expect(await getRequestState(reader, posted.requestId)).toBe('Open')

    services.matcher = await startMatcher(network, matcherLaunch(launch))
    // Same key file, same key: the envelopes wrapped to the crashed matcher still open.
    expect(await getActiveMatcherKeys(teeReader)).toEqual([
      expect.objectContaining({ signer: keyBefore.signer, eciesPublicKey: keyBefore.eciesPublicKey }),
    ])
    expect(eciesPublicKeyOf(await matcherKeyFile())).toBe(keyBefore.eciesPublicKey.toLowerCase())

    const all = [...privates, publicRequest]
    const proofs = await Promise.all(all.map((posted) => proofOf(posted.requestId)))
    for (const [i, posted] of all.entries()) {
      const { proof } = proofs[i] as (typeof proofs)[number]
      expect(proof.request).toEqual(posted.request)
      const assigned = await taskAssignedLogs(posted.requestId)
      expect(assigned, `TaskAssigned logs of request ${posted.requestId}`).toHaveLength(1)
      expect(await getRequestState(reader, posted.requestId)).toBe('Fulfilled')
    }
    // Private requests can only have come from the matcher (a fallback claim releases no input key); the public one
    // may have gone either way, but only once.
    for (const posted of privates) expect((await loadRequest(reader, posted.requestId)).byMatcher).toBe(true)
  })
  it('a matcher killed with acknowledged signed requests pending assigns each exactly once after its restart', async () => {
    const { network, launch, offers, prover } = current()
    const { reader } = network.marketplace
    // With the prover stopped its listings are on leave: the matcher acknowledges orders but has nobody to give them.
    await running('prover').stop()
    for (const { marketId } of offers) {
      expect(listingStates[(await getListing(reader, prover, marketId)).state]).toBe('Leaving')
    }
    const url = matcherUrl()
    const pending = [
      await sendSigned('privateGroth16', url),
      await sendSigned('publicTee', url),
      await sendSigned('publicTee', url),
    ]
    // Censored: acknowledged, then never assigned (the matcher dies); its requester's wait posts it on chain.
    const censored = await sendSigned('publicTee', url)
    for (const request of [...pending, censored]) {
      expect(request.path).toBe('signed')
      expect(await getOrderStatus(url, request.requestId)).toMatchObject({ state: 'pending' })
      expect(await getRequestStatus(reader, request.requestId)).toBe('None')
    }

    await running('matcher').kill()
    const censoredProof = signedProofOf(censored, { postAfter: 5 })
    await eventually('the censored request posted on chain by its requester', async () => {
      const status = await getRequestStatus(reader, censored.requestId)
      return status === 'Open' ? status : undefined
    })

    // The same key and orders file: the acknowledged orders come back from its journal, the chain says none is used.
    services.matcher = await startMatcher(network, matcherLaunch(launch))
    services.prover = await startProver(network, { ...launch, markets: offers, claimFallback: true })
    const proofs = await Promise.all([...pending.map((request) => signedProofOf(request)), censoredProof])
    for (const [i, request] of [...pending, censored].entries()) {
      expect(proofs[i]?.stages).toContain('fulfilled')
      expect(await getRequestState(reader, request.requestId)).toBe('Fulfilled')
      const assigned = await taskAssignedLogs(request.requestId)
      expect(assigned, `TaskAssigned logs of request ${request.requestId}`).toHaveLength(1)
    }
    for (const request of pending) expect((await loadRequest(reader, request.requestId)).byMatcher).toBe(true)
    expect(await getOrderStatus(matcherUrl(), censored.requestId)).toMatchObject({ state: 'used' })
  })

  it('on the fast lane, a signed and an on-chain public request are each settled in one transaction; a private one is not', async () => {
    const { network, launch, offers, prover } = current()
    const { reader } = network.marketplace
    // The matcher with its fast lane on (the default), and a runner that polls it for offers.
    await Promise.all([running('matcher').stop(), running('prover').stop()])
    services.matcher = await startMatcher(network, launch)
    services.prover = await startProver(network, { ...launch, markets: offers, matcherUrl: matcherUrl() })
    const fromBlock = await reader.public.getBlockNumber()
    const fundsBefore = await requesterFunds()

    const signedPublic = await sendSigned('publicTee', matcherUrl())
    const signedPrivate = await sendSigned('privateGroth16', matcherUrl())
    const onchainPublic = (await postPublicTee()).posted
    const [fastSigned, privateProof, fastOpen] = await Promise.all([
      signedProofOf(signedPublic),
      signedProofOf(signedPrivate),
      proofOf(onchainPublic.requestId),
    ])

    for (const { proof } of [fastSigned, fastOpen]) {
      expect(proof.lane).toBe('fast')
      expect(isAddressEqual(proof.prover, prover)).toBe(true)
      expect(proof.price).toBe(TEE_PRICE)
    }
    // One transaction each, and no assignment ever written: no task, no stake lock.
    expect(await taskAssignedLogs(signedPublic.requestId)).toEqual([])
    expect(await taskAssignedLogs(onchainPublic.requestId)).toEqual([])
    expect(await getRequestStatus(reader, signedPublic.requestId)).toBe('None')
    expect(await signedRequestState(reader, signedPublic.signed.request, { fromBlock })).toMatchObject({
      state: 'fulfilled',
    })
    expect(await getRequestState(reader, onchainPublic.requestId)).toBe('Fulfilled')
    expect(await getOrderStatus(matcherUrl(), signedPublic.requestId)).toMatchObject({ state: 'used' })
    // Private inputs never take the fast lane: the data key goes to the enclave of a stake-backed assignment.
    expect(privateProof.proof.lane).toBe('assigned')
    expect(privateProof.stages).toContain('input-key-released')
    expect(await taskAssignedLogs(signedPrivate.requestId)).toHaveLength(1)
    // The requester paid the three prices and nothing else (deposit and wallet together: requestProof tops the deposit
    // up from the wallet; the on-chain request's escrow above its price was refunded).
    const paid = fastSigned.proof.price + fastOpen.proof.price + privateProof.proof.price
    expect(fundsBefore - (await requesterFunds())).toBe(paid)
  })
})

/** The request an enclave opens the private inputs for, from the request's own logged fields. */
function contextOf(
  markets: DevMarkets,
  request: { requester: Address; publicInputs: Inputs },
  marketId = markets.groth16Native,
): PrivateInputsContext {
  const { deployment } = current().network.marketplace
  return {
    chainId: deployment.chainId,
    marketplace: deployment.contracts.proofMarketplace,
    marketId,
    requester: request.requester,
    publicInputsDigest: inputsDigest(request.publicInputs),
  }
}

/**
 * The matcher of these tests runs without the fast lane: its prover runners are started without the matcher's URL
 * (some tests restart the matcher on a new port), so an off-chain offer could only lapse. The fast lane has its own
 * tests with real processes (matcher-fast-orders, matcher-fast-open-chain, prover-fast-lane-anvil).
 */
function matcherLaunch(launch: LaunchOptions): LaunchOptions {
  return { ...launch, env: { ...launch.env, MATCHER_FAST_LANE: 'false' } }
}
